import { randomBytes } from "node:crypto";
import type { VerifiedViews } from "../authority/index.js";
import { DocumentType, type OwnedDocuments, type OwnedDocumentSpec } from "../documents/index.js";
import { failedPrecondition, invalidArgument, notFound } from "../errors.js";
import { ownedDocumentId, type Membership } from "../federation/index.js";
import { Checker, quote } from "../text.js";
import {
  checkDay,
  checkNote,
  checkOutcome,
  decodeGrievance,
  decodePrivateGrievance,
  encodeGrievance,
  encodePrivateGrievance,
  GRIEVANCES_KEY,
  grievanceFigures,
  grievancesIn,
  MAX_NOTES,
  OUTCOMES_WITHOUT_INVESTIGATION,
  overdueAt,
  PRIVATE_GRIEVANCES_KEY,
  statusOf,
  today,
  validateGrievance,
  type Grievance,
  type GrievanceDraft,
  type GrievanceFigures,
  type GrievancesDoc,
  type InvestigationNote,
  type PrivateGrievance,
} from "./model.js";

/** The two documents: the replicated register (codes and days) and its private part (never replicated). */
export function grievancesSpecs(): OwnedDocumentSpec[] {
  return [
    { key: GRIEVANCES_KEY, type: DocumentType.Grievances, replicated: true, initial: { grievances: {} } },
    {
      key: PRIVATE_GRIEVANCES_KEY,
      type: DocumentType.PrivateGrievances,
      replicated: false,
      initial: { grievances: {} },
    },
  ];
}

/** A grievance as this hub's operators see it: the replicated record, and the private part when asked. */
export interface HeldGrievance extends Grievance {
  hub: string;
  status: ReturnType<typeof statusOf>;
  private?: PrivateGrievance;
}

/**
 * A hub's grievance register (model.ts). Every step writes the replicated record and its private
 * part in one transaction; another hub's register is read only as its verified view, and only its
 * replicated part exists anywhere but at its owner.
 */
export class Grievances {
  readonly #self: string;
  readonly #documents: OwnedDocuments;
  readonly #views: VerifiedViews;
  readonly #membership: Membership;
  readonly #today: () => string;

  constructor(
    init: { hubId: string; today?: () => string },
    c: { documents: OwnedDocuments; views: VerifiedViews; membership: Membership },
  ) {
    this.#self = init.hubId;
    this.#today = init.today ?? today;
    this.#documents = c.documents;
    this.#views = c.views;
    this.#membership = c.membership;
  }

  get hubId(): string {
    return this.#self;
  }

  #create(): OwnedDocumentSpec[] {
    return grievancesSpecs().filter((s) => !this.#documents.has(s.key));
  }

  #record(id: string): Grievance | undefined {
    if (!this.#documents.has(GRIEVANCES_KEY)) return undefined;
    return decodeGrievance(this.#documents.get<GrievancesDoc>(GRIEVANCES_KEY).grievances?.[id]);
  }

  #private(id: string): PrivateGrievance | undefined {
    if (!this.#documents.has(PRIVATE_GRIEVANCES_KEY)) return undefined;
    return decodePrivateGrievance(this.#documents.get<GrievancesDoc>(PRIVATE_GRIEVANCES_KEY).grievances?.[id]);
  }

  /** Records a grievance received: the node makes its opaque id. */
  async receive(operatorId: string, draft: GrievanceDraft): Promise<HeldGrievance> {
    const { value, violations } = validateGrievance(draft, this.#today());
    if (violations.length > 0) throw invalidArgument(violations);
    const id = `g-${randomBytes(8).toString("hex")}`;
    const record: Grievance = {
      id,
      category: value.category,
      source: value.source,
      receivedOn: value.receivedOn,
      acknowledgeBy: value.acknowledgeBy,
      resolveBy: value.resolveBy,
    };
    const personal: PrivateGrievance = {
      id,
      complainant: value.complainant,
      description: value.description,
      about: value.about,
      notes: [],
      receivedBy: operatorId,
    };
    await this.#write(operatorId, "grievance.receive", record, personal);
    return { ...record, hub: this.#self, status: statusOf(record), private: personal };
  }

  /** Acknowledges a received grievance, on `on` (default today). */
  acknowledge(operatorId: string, id: string, on: string): Promise<HeldGrievance> {
    return this.#step(operatorId, id, "acknowledge", (g, c) => {
      if (g.acknowledgedOn !== undefined)
        throw failedPrecondition(`grievance ${quote(g.id)} was already acknowledged on ${g.acknowledgedOn}`);
      const day = checkDay(c, "acknowledged_on", on, {
        latest: this.#today(),
        earliest: { day: g.receivedOn, what: "the day it was received" },
      });
      return { record: { ...g, acknowledgedOn: day } };
    });
  }

  /** Starts the investigation of an acknowledged grievance; a note goes to the private part. */
  investigate(operatorId: string, id: string, on: string, note: string): Promise<HeldGrievance> {
    return this.#step(operatorId, id, "investigate", (g, c) => {
      if (g.investigationStartedOn !== undefined || g.resolvedOn !== undefined)
        throw failedPrecondition(
          `grievance ${quote(g.id)} is ${statusOf(g)} already (since ${g.resolvedOn ?? g.investigationStartedOn}); states only move forward`,
        );
      if (g.acknowledgedOn === undefined)
        throw failedPrecondition(`grievance ${quote(g.id)} is not acknowledged yet: acknowledge it first`);
      const day = checkDay(c, "investigation_started_on", on, {
        latest: this.#today(),
        earliest: { day: g.acknowledgedOn, what: "the day it was acknowledged" },
      });
      return { record: { ...g, investigationStartedOn: day }, note: checkNote(c, "note", note) };
    });
  }

  /**
   * Resolves a grievance under investigation with an outcome (withdrawn or referred: also one only
   * acknowledged); a note goes to the private part.
   */
  resolve(operatorId: string, id: string, on: string, outcome: string, note: string): Promise<HeldGrievance> {
    return this.#step(operatorId, id, "resolve", (g, c) => {
      if (g.resolvedOn !== undefined)
        throw failedPrecondition(`grievance ${quote(g.id)} was already resolved on ${g.resolvedOn} (${g.outcome})`);
      const code = checkOutcome(c, "outcome", outcome);
      if (g.acknowledgedOn === undefined)
        throw failedPrecondition(`grievance ${quote(g.id)} is not acknowledged yet: acknowledge it first`);
      if (
        g.investigationStartedOn === undefined &&
        code !== undefined &&
        !OUTCOMES_WITHOUT_INVESTIGATION.includes(code)
      )
        throw failedPrecondition(
          `grievance ${quote(g.id)} was never investigated: only ${OUTCOMES_WITHOUT_INVESTIGATION.join(" or ")} may close it before an investigation starts`,
        );
      const previous = g.investigationStartedOn
        ? { day: g.investigationStartedOn, what: "the day its investigation started" }
        : { day: g.acknowledgedOn, what: "the day it was acknowledged" };
      const day = checkDay(c, "resolved_on", on, { latest: this.#today(), earliest: previous });
      return {
        record: { ...g, resolvedOn: day, ...(code === undefined ? {} : { outcome: code }) },
        note: checkNote(c, "note", note),
      };
    });
  }

  /** One step: checked against the record as it stands inside the transaction, so two steps never race. */
  async #step(
    operatorId: string,
    rawId: string,
    step: string,
    next: (g: Grievance, c: Checker) => { record: Grievance; note?: string },
  ): Promise<HeldGrievance> {
    const id = rawId.trim();
    if (id === "") throw invalidArgument([{ field: "id", description: "is required" }]);
    const done = await this.#documents.transact({ operatorId, action: `grievance.${step}`, subjects: [id] }, () => {
      const g = this.#record(id);
      const personal = this.#private(id);
      if (!g || !personal) throw notFound(`no grievance ${quote(id)} in this hub's register`);
      const c = new Checker();
      const { record, note } = next(g, c);
      if (c.violations.length > 0) throw invalidArgument(c.violations);
      const notes: InvestigationNote[] =
        note === undefined || note === ""
          ? personal.notes
          : [...personal.notes, { at: new Date().toISOString(), by: operatorId, step, text: note }];
      if (notes.length > MAX_NOTES)
        throw failedPrecondition(`grievance ${quote(id)} has ${MAX_NOTES} notes already: the register keeps no more`);
      const updated: PrivateGrievance = { ...personal, notes };
      return { ...this.#plan(record, updated), result: { record, personal: updated } };
    });
    return { ...done.record, hub: this.#self, status: statusOf(done.record), private: done.personal };
  }

  #plan(record: Grievance, personal: PrivateGrievance) {
    return {
      create: this.#create(),
      edits: [
        {
          key: GRIEVANCES_KEY,
          subject: record.id,
          change: (doc: Record<string, unknown>) => {
            doc.grievances ??= {};
            (doc.grievances as Record<string, unknown>)[record.id] = encodeGrievance(record);
          },
        },
        {
          key: PRIVATE_GRIEVANCES_KEY,
          subject: record.id,
          change: (doc: Record<string, unknown>) => {
            doc.grievances ??= {};
            (doc.grievances as Record<string, unknown>)[record.id] = encodePrivateGrievance(personal);
          },
        },
      ],
    };
  }

  async #write(operatorId: string, action: string, record: Grievance, personal: PrivateGrievance): Promise<void> {
    await this.#documents.transact({ operatorId, action, subjects: [record.id] }, () => ({
      ...this.#plan(record, personal),
      result: undefined,
    }));
  }

  /** A hub's replicated records: this hub's own, another's as of its latest verified checkpoint. */
  records(hub = this.#self): Grievance[] {
    if (hub === this.#self)
      return this.#documents.has(GRIEVANCES_KEY)
        ? grievancesIn(this.#documents.get<GrievancesDoc>(GRIEVANCES_KEY))
        : [];
    const member = this.#membership.members().find((m) => m.hub === hub);
    if (!member) throw notFound(`no member hub ${quote(hub)} in the charter`);
    return grievancesIn(this.#views.view(ownedDocumentId(member.directoryId, GRIEVANCES_KEY))?.doc as GrievancesDoc);
  }

  /**
   * A hub's grievances, in id order; the private part only of this hub's own and only when
   * `withPrivate` (the API decides who may see it). `overdueAt`: only those past a due date then.
   */
  list(options: { hub?: string; withPrivate: boolean; overdueAt?: string }): HeldGrievance[] {
    const hub = options.hub || this.#self;
    const own = hub === this.#self;
    return this.records(hub)
      .filter((g) => {
        if (options.overdueAt === undefined) return true;
        const o = overdueAt(g, options.overdueAt);
        return o.acknowledgement || o.resolution;
      })
      .map((g) => {
        const personal = own && options.withPrivate ? this.#private(g.id) : undefined;
        return { ...g, hub, status: statusOf(g), ...(personal ? { private: personal } : {}) };
      });
  }

  /** One of this hub's grievances (the private part when `withPrivate`). */
  get(rawId: string, withPrivate: boolean): HeldGrievance {
    const id = rawId.trim();
    const g = this.#record(id);
    if (!g) throw notFound(`no grievance ${quote(id)} in this hub's register`);
    const personal = withPrivate ? this.#private(id) : undefined;
    return { ...g, hub: this.#self, status: statusOf(g), ...(personal ? { private: personal } : {}) };
  }

  /** A hub's figures as of `at` (default today), from its replicated records only. */
  figures(hub = this.#self, at = ""): GrievanceFigures & { hub: string } {
    const c = new Checker();
    const day = checkDay(c, "at", at, { latest: "9999-12-31" });
    if (c.violations.length > 0) throw invalidArgument(c.violations);
    return {
      hub: hub || this.#self,
      ...grievanceFigures(this.records(hub || this.#self), at.trim() === "" ? this.#today() : day),
    };
  }
}
