import type { Checkpointer, VerifiedViews } from "../authority/index.js";
import type { CoreSource, Curriculum } from "../core/index.js";
import type { Deliveries } from "../deliveries/index.js";
import { DocumentType, type OwnedDocuments, type OwnedDocumentSpec } from "../documents/index.js";
import { failedPrecondition, invalidArgument, notFound, type FieldViolation } from "../errors.js";
import { ownedDocumentId, type Membership } from "../federation/index.js";
import { Checker, quote, textViolationsIn } from "../text.js";
import {
  checkYear,
  draftIn,
  draftsIn,
  encodeDraft,
  encodeSigned,
  federationPlanOf,
  latestFor,
  planBytes,
  planFileShape,
  planFromCsv,
  planKey,
  PLANS_KEY,
  planVsActualOf,
  validatePlanLines,
  verifiedPlansIn,
  type FederationPlan,
  type PlanActualRow,
  type PlanContext,
  type PlanDraft,
  type PlanLines,
  type PlansDoc,
  type RawPlanLines,
  type RejectedPlan,
  type SignedPlan,
  type SignedPlanBody,
} from "./model.js";

export function plansSpec(): OwnedDocumentSpec {
  return { key: PLANS_KEY, type: DocumentType.AnnualPlans, replicated: true, initial: { drafts: {}, signed: {} } };
}

/** A plan as a node shows it: this hub's draft or latest signed version, another hub's latest signed one. */
export interface PlanView extends PlanLines {
  hub: string;
  year: number;
  version: number;
  status: "draft" | "signed";
  updatedAt: string;
  updatedBy: string;
  signedAt: string;
  signedBy: string;
  signer: string;
  signature: string;
  /** Versions signed so far, oldest first. */
  signedVersions: number[];
}

/** Where a plan comes from: a file's text (JSON or CSV) or lines. */
export type PlanSource = { json: string } | { csv: string } | { lines: RawPlanLines };

/**
 * Joint annual plans (model.ts): this hub edits a draft per year and signs versions of it; every
 * node reads other hubs' signed versions from their verified views, checks each signature against
 * the charter, and computes the federation's plan and plan beside actual from what verifies.
 */
export class Plans {
  readonly #self: string;
  readonly #federationId: string;
  readonly #peerId: string;
  readonly #sign: (data: Uint8Array) => Promise<Uint8Array>;
  readonly #documents: OwnedDocuments;
  readonly #views: VerifiedViews;
  readonly #membership: Membership;
  readonly #checkpointer: Checkpointer;
  readonly #curriculum: Curriculum;
  readonly #core: CoreSource;
  readonly #deliveries: Deliveries;

  constructor(
    init: { hubId: string; federationId: string; peerId: string },
    c: {
      sign: (data: Uint8Array) => Promise<Uint8Array>;
      documents: OwnedDocuments;
      views: VerifiedViews;
      membership: Membership;
      checkpointer: Checkpointer;
      curriculum: Curriculum;
      core: CoreSource;
      deliveries: Deliveries;
    },
  ) {
    this.#self = init.hubId;
    this.#federationId = init.federationId;
    this.#peerId = init.peerId;
    this.#sign = c.sign;
    this.#documents = c.documents;
    this.#views = c.views;
    this.#membership = c.membership;
    this.#checkpointer = c.checkpointer;
    this.#curriculum = c.curriculum;
    this.#core = c.core;
    this.#deliveries = c.deliveries;
  }

  async #competencies(): Promise<Array<{ id: string; code: string }>> {
    const content = await this.#core.content();
    return (content?.items ?? [])
      .filter((i) => i.type.toLowerCase() === "competency")
      .map((i) => ({ id: i.identifier, code: i.code }));
  }

  async #context(): Promise<PlanContext> {
    const modules = (await this.#curriculum.effective()).modules;
    return {
      modules: new Map(modules.map((m) => [m.id, m.competencies])),
      competencies: new Set((await this.#competencies()).map((c) => c.id)),
    };
  }

  #own(): PlansDoc | undefined {
    return this.#documents.has(PLANS_KEY) ? this.#documents.get<PlansDoc>(PLANS_KEY) : undefined;
  }

  /** A hub's plans document: this hub's own, another's as of its latest verified checkpoint. */
  #docOf(hub: string): PlansDoc | undefined {
    if (hub === this.#self) return this.#own();
    const member = this.#membership.member(hub);
    return member
      ? (this.#views.view(ownedDocumentId(member.directoryId, PLANS_KEY))?.doc as PlansDoc | undefined)
      : undefined;
  }

  /** A hub's signed versions that verify against the charter, and those that do not. */
  async verified(hub: string): Promise<{ plans: SignedPlan[]; rejected: RejectedPlan[] }> {
    const member = this.#membership.member(hub);
    if (!member) return { plans: [], rejected: [] };
    return verifiedPlansIn(this.#docOf(hub), this.#federationId, member);
  }

  #year(raw: number): number {
    const c = new Checker();
    const y = checkYear(c, "year", raw);
    if (c.violations.length > 0) throw invalidArgument(c.violations);
    return y;
  }

  /** The lines a new draft starts from, and the version it will be signed as. */
  async #base(year: number): Promise<{ lines: PlanLines; version: number }> {
    const draft = draftIn(this.#own(), year);
    const signed = latestFor((await this.verified(this.#self)).plans, year);
    const signedVersion = signed?.plan.version ?? 0;
    if (draft && draft.version > signedVersion) return { lines: draft, version: draft.version };
    const lines = signed?.plan ?? draft ?? { deliveries: [], trainers: [], support: [] };
    return { lines, version: Math.max(signedVersion, draft?.version ?? 0) + 1 };
  }

  async #writeDraft(operatorId: string, action: string, draft: PlanDraft): Promise<void> {
    const subject = String(draft.year);
    await this.#documents.transact({ operatorId, action, subjects: [subject] }, () => ({
      create: this.#documents.has(PLANS_KEY) ? [] : [plansSpec()],
      edits: [
        {
          key: PLANS_KEY,
          subject,
          change: (doc) => {
            doc.drafts ??= {};
            (doc.drafts as Record<string, unknown>)[subject] = encodeDraft(draft);
          },
        },
      ],
      result: undefined,
    }));
  }

  /** Sets the year's draft whole, from a JSON or CSV file's text or from lines; every problem is named. */
  async set(operatorId: string, rawYear: number, source: PlanSource): Promise<PlanView> {
    const year = this.#year(rawYear);
    const violations: FieldViolation[] = [];
    let lines: RawPlanLines = {};
    let names: Parameters<typeof validatePlanLines>[3] = {};
    if ("csv" in source) {
      const parsed = planFromCsv(source.csv);
      violations.push(...parsed.violations);
      lines = parsed.lines;
      names = parsed.names;
    } else if ("json" in source) {
      let value: unknown;
      try {
        value = JSON.parse(source.json);
      } catch (error) {
        throw invalidArgument([{ field: "plan", description: `is not JSON: ${(error as Error).message}` }]);
      }
      // Text the JSON escaped (\u001b) is checked once decoded, like any request's text.
      const hostile = textViolationsIn(value, "plan");
      if (hostile.length > 0) throw invalidArgument(hostile);
      const shape = planFileShape(value);
      violations.push(...shape.violations);
      lines = shape.lines;
      const fileYear = (value as { year?: unknown } | null)?.year;
      if (fileYear !== undefined && Number(fileYear) !== year)
        violations.push({
          field: "plan.year",
          description: `the file is the plan for ${String(fileYear)}, not ${year}`,
        });
    } else lines = source.lines;
    const checked = validatePlanLines(lines, await this.#context(), "plan", names);
    violations.push(...checked.violations);
    if (violations.length > 0) throw invalidArgument(violations);
    const { version } = await this.#base(year);
    await this.#writeDraft(operatorId, "plan.set", {
      year,
      version,
      ...checked.value,
      updatedAt: new Date().toISOString(),
      updatedBy: operatorId,
    });
    return this.get(year);
  }

  /** Adds lines to the year's draft (a signed plan: to a new draft version of it). */
  async add(operatorId: string, rawYear: number, lines: RawPlanLines): Promise<PlanView> {
    const year = this.#year(rawYear);
    const { lines: base, version } = await this.#base(year);
    const list = (v: unknown) => (Array.isArray(v) ? (v as unknown[]) : v === undefined || v === null ? [] : v);
    const c = new Checker();
    for (const section of ["deliveries", "trainers", "support"] as const)
      if (!Array.isArray(list(lines[section]))) c.fail(`lines.${section}`, "is not a list");
    if (c.violations.length > 0) throw invalidArgument(c.violations);
    const added = {
      deliveries: list(lines.deliveries) as unknown[],
      trainers: list(lines.trainers) as unknown[],
      support: list(lines.support) as unknown[],
    };
    if (added.deliveries.length + added.trainers.length + added.support.length === 0)
      throw invalidArgument([{ field: "lines", description: "has no line to add" }]);
    const strip = <T extends object>(xs: readonly T[]) => xs.map((x) => ({ ...x }) as Record<string, unknown>);
    const merged = {
      deliveries: [...strip(base.deliveries).map(({ competencies: _, ...d }) => d), ...added.deliveries],
      trainers: [...strip(base.trainers), ...added.trainers],
      support: [...strip(base.support), ...added.support],
    };
    const name = (section: "deliveries" | "trainers" | "support") => (i: number) =>
      i < base[section].length ? `plan.${section}[${i}]` : `lines.${section}[${i - base[section].length}]`;
    const checked = validatePlanLines(merged, await this.#context(), "plan", {
      deliveries: name("deliveries"),
      trainers: name("trainers"),
      support: name("support"),
    });
    if (checked.violations.length > 0) throw invalidArgument(checked.violations);
    await this.#writeDraft(operatorId, "plan.add", {
      year,
      version,
      ...checked.value,
      updatedAt: new Date().toISOString(),
      updatedBy: operatorId,
    });
    return this.get(year);
  }

  /**
   * Signs the year's draft: checked again against the curriculum and core as they are now, signed
   * with this node's key, stored as version N, and checkpointed at once so that other hubs see it.
   */
  async sign(operatorId: string, rawYear: number): Promise<PlanView> {
    const year = this.#year(rawYear);
    const draft = draftIn(this.#own(), year);
    if (!draft)
      throw notFound(`this hub has no plan for ${year}: set one first (concordat plans set ${year} --file …)`);
    const signed = latestFor((await this.verified(this.#self)).plans, year);
    if (signed && signed.plan.version >= draft.version)
      throw failedPrecondition(
        `version ${signed.plan.version} of ${year} is already signed; change the plan to make a new version to sign`,
      );
    const checked = validatePlanLines(
      { ...draft, deliveries: draft.deliveries.map(({ competencies: _, ...d }) => d) },
      await this.#context(),
    );
    if (checked.violations.length > 0) throw invalidArgument(checked.violations);
    const body: SignedPlanBody = {
      federationId: this.#federationId,
      hub: this.#self,
      year,
      version: draft.version,
      signedAt: new Date().toISOString(),
      signedBy: operatorId,
      ...checked.value,
    };
    const signature = Buffer.from(await this.#sign(planBytes(body))).toString("base64");
    const entry: SignedPlan = { plan: body, signer: this.#peerId, signature };
    const key = planKey(year, draft.version);
    await this.#documents.transact({ operatorId, action: "plan.sign", subjects: [key] }, () => ({
      create: this.#documents.has(PLANS_KEY) ? [] : [plansSpec()],
      edits: [
        {
          key: PLANS_KEY,
          subject: key,
          change: (doc) => {
            doc.signed ??= {};
            (doc.signed as Record<string, unknown>)[key] = encodeSigned(entry);
            // The draft becomes what was signed (the competencies as they are now).
            doc.drafts ??= {};
            (doc.drafts as Record<string, unknown>)[String(year)] = encodeDraft({
              ...draft,
              ...checked.value,
            });
          },
        },
      ],
      result: undefined,
    }));
    // Other hubs read only what a checkpoint signs: sign one now rather than at the next batch.
    await this.#checkpointer.flush();
    return this.get(year);
  }

  /**
   * A plan: this hub's draft when it is newer than its signed version, else its latest signed
   * version; another hub's latest signed version only (drafts are never shown for another hub).
   * Without a year: the latest year with a plan.
   */
  async get(rawYear = 0, hub = ""): Promise<PlanView> {
    const who = hub.trim() === "" ? this.#self : hub.trim();
    if (who !== this.#self && !this.#membership.member(who)) throw notFound(`no member ${quote(who)} in the charter`);
    const { plans } = await this.verified(who);
    const drafts = who === this.#self ? draftsIn(this.#own()) : [];
    const year =
      rawYear === 0 ? Math.max(0, ...plans.map((p) => p.plan.year), ...drafts.map((d) => d.year)) : this.#year(rawYear);
    const signed = latestFor(plans, year);
    const draft = drafts.find((d) => d.year === year);
    const signedVersions = plans.filter((p) => p.plan.year === year).map((p) => p.plan.version);
    if (draft && (!signed || draft.version > signed.plan.version))
      return {
        hub: who,
        year,
        version: draft.version,
        status: "draft",
        deliveries: draft.deliveries,
        trainers: draft.trainers,
        support: draft.support,
        updatedAt: draft.updatedAt,
        updatedBy: draft.updatedBy,
        signedAt: "",
        signedBy: "",
        signer: "",
        signature: "",
        signedVersions,
      };
    if (!signed)
      throw notFound(
        year === 0
          ? `${who === this.#self ? "this hub has" : `${quote(who)} has`} no plan ${who === this.#self ? "" : "signed (as verified here)"}`.trim()
          : who === this.#self
            ? `this hub has no plan for ${year}`
            : `${quote(who)} has no signed plan for ${year} (as verified here)`,
      );
    const p = signed.plan;
    return {
      hub: who,
      year,
      version: p.version,
      status: "signed",
      deliveries: p.deliveries,
      trainers: p.trainers,
      support: p.support,
      updatedAt: p.signedAt,
      updatedBy: p.signedBy,
      signedAt: p.signedAt,
      signedBy: p.signedBy,
      signer: signed.signer,
      signature: signed.signature,
      signedVersions,
    };
  }

  #members(): string[] {
    return this.#membership
      .members()
      .filter((m) => m.removedAt === undefined)
      .map((m) => m.hub);
  }

  /** Every member's latest signed plan for `year` that verifies, and what did not verify. */
  async #signedFor(year: number): Promise<{ plans: SignedPlanBody[]; rejected: RejectedPlan[] }> {
    const plans: SignedPlanBody[] = [];
    const rejected: RejectedPlan[] = [];
    for (const hub of this.#members()) {
      const v = await this.verified(hub);
      const latest = latestFor(v.plans, year);
      if (latest) plans.push(latest.plan);
      rejected.push(...v.rejected);
    }
    return { plans, rejected };
  }

  /** The federation's plan for a year: every member's latest signed plan, overlaps, gaps, support totals. */
  async federation(rawYear: number): Promise<FederationPlan & { rejected: RejectedPlan[] }> {
    const year = this.#year(rawYear);
    const { plans, rejected } = await this.#signedFor(year);
    // Every hub is expected to plan; the secretariat's own plan counts when it signs one.
    const hubs = this.#membership
      .members()
      .filter((m) => m.removedAt === undefined && m.role !== "secretariat")
      .map((m) => m.hub);
    return { ...federationPlanOf(year, plans, hubs, await this.#competencies()), rejected };
  }

  /** Plan beside actual for a year, per hub, module and quarter (one hub's when `hub` is given). */
  async actual(rawYear: number, hub = ""): Promise<PlanActualRow[]> {
    const year = this.#year(rawYear);
    const who = hub.trim();
    if (who !== "" && !this.#membership.member(who)) throw notFound(`no member ${quote(who)} in the charter`);
    const { plans } = await this.#signedFor(year);
    const hubs = this.#members()
      .filter((h) => who === "" || h === who)
      .map((h) => ({ hub: h, deliveries: this.#deliveries.list(h) }));
    return planVsActualOf(
      plans.filter((p) => who === "" || p.hub === who),
      hubs,
      { from: `${year}-01-01`, to: `${year}-12-31` },
    ).filter((r) => r.year === year);
  }
}
