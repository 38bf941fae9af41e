import { randomBytes } from "node:crypto";
import { ImmutableString } from "@automerge/automerge";
import type { VerifiedViews } from "../authority/index.js";
import type { Curriculum } from "../core/index.js";
import { DocumentType, textOf, type OwnedDocuments, type OwnedDocumentSpec } from "../documents/index.js";
import { failedPrecondition, invalidArgument, notFound } from "../errors.js";
import { quote } from "../text.js";
import { ownedDocumentId, type Membership } from "../federation/index.js";
import {
  DELIVERIES_KEY,
  decodeDelivery,
  deliveriesIn,
  encodeDelivery,
  validateDelivery,
  type Delivery,
  type RawDeliveryDraft,
} from "./model.js";
import { figures, fold, readStatements, type IngestState } from "./xapi.js";

const PRIVATE_KEY = "deliveries-private";

export function deliveriesSpecs(): OwnedDocumentSpec[] {
  return [
    { key: DELIVERIES_KEY, type: DocumentType.Deliveries, replicated: true, initial: { deliveries: {} } },
    // Never replicated: the pseudonym secret and, per delivery, hashes of ingested statements and pseudonyms.
    { key: PRIVATE_KEY, type: DocumentType.PrivateDeliveries, replicated: false, initial: { ingest: {} } },
  ];
}

interface DeliveriesDoc {
  deliveries?: Record<string, unknown>;
}

interface PrivateDoc {
  secret?: ImmutableString;
  /** Per delivery: statement hashes joined by ",", and pseudonym:state pairs joined by "," (one ImmutableString each). */
  ingest?: Record<string, { statements?: ImmutableString; learners?: ImmutableString }>;
}

/** Where an xAPI ingestion goes: an existing xAPI delivery, or a new one with these fields. */
export type IngestTarget = Omit<RawDeliveryDraft, "participants" | "completed" | "passed" | "evaluation">;

/**
 * A hub's course deliveries: recorded by hand (figures as reported) or folded from xAPI / cmi5
 * statements. Other hubs' deliveries are read as of their latest verified checkpoint (for reports).
 */
export class Deliveries {
  readonly #self: string;
  readonly #documents: OwnedDocuments;
  readonly #curriculum: Curriculum;
  readonly #views: VerifiedViews;
  readonly #membership: Membership;

  constructor(
    init: { hubId: string },
    components: { documents: OwnedDocuments; curriculum: Curriculum; views: VerifiedViews; membership: Membership },
  ) {
    this.#self = init.hubId;
    this.#documents = components.documents;
    this.#curriculum = components.curriculum;
    this.#views = components.views;
    this.#membership = components.membership;
  }

  async #modules(): Promise<Set<string>> {
    return new Set((await this.#curriculum.effective()).modules.map((m) => m.id));
  }

  #stored(id: string): Delivery | undefined {
    return decodeDelivery(this.#documents.get<DeliveriesDoc>(DELIVERIES_KEY).deliveries?.[id]);
  }

  /** Records (adds or replaces) a delivery's reported figures. */
  async record(operatorId: string, draft: RawDeliveryDraft): Promise<Delivery> {
    const { value, violations } = validateDelivery(draft, await this.#modules());
    if (violations.length > 0) throw invalidArgument(violations);
    const delivery: Delivery = {
      ...value,
      source: "manual",
      recordedAt: new Date().toISOString(),
      recordedBy: operatorId,
    };
    await this.#documents.transact({ operatorId, action: "delivery.record", subjects: [delivery.id] }, () => {
      if (this.#stored(delivery.id)?.source === "xapi")
        throw failedPrecondition(
          `delivery '${delivery.id}' is counted from xAPI statements; ingest into it, or record under another id`,
        );
      return {
        edits: [
          {
            key: DELIVERIES_KEY,
            subject: delivery.id,
            change: (doc) => ((doc.deliveries as Record<string, unknown>)[delivery.id] = encodeDelivery(delivery)),
          },
        ],
        result: undefined,
      };
    });
    return delivery;
  }

  /**
   * Folds a file of xAPI statements into delivery `target.id` (created with `target`'s fields when
   * new). Every statement is checked first; statements seen before count once; learners are counted
   * once each and kept only as pseudonyms in the private document, in the same batch as the figures.
   */
  async ingest(
    operatorId: string,
    target: IngestTarget,
    json: string,
  ): Promise<{ delivery: Delivery; added: number; duplicates: number }> {
    const { statements, violations } = readStatements(json);
    if (violations.length > 0)
      throw invalidArgument(
        violations.slice(0, 100),
        `${violations.length} problem(s) in the statements; nothing was counted:\n${violations
          .slice(0, 20)
          .map((v) => `  ${v.field}: ${v.description}`)
          .join("\n")}`,
      );
    const modules = await this.#modules();
    return this.#documents.transact({ operatorId, action: "delivery.ingest", subjects: [target.id] }, () => {
      const existing = this.#stored(target.id.trim());
      if (existing && existing.source !== "xapi")
        throw failedPrecondition(
          `delivery '${target.id}' was recorded by hand; ingest statements into another delivery id`,
        );
      const base: RawDeliveryDraft = existing ?? {
        ...target,
        participants: [],
        completed: 0,
        passed: 0,
        evaluation: { responses: 0, meanScore: 0 },
      };
      const priv = this.#documents.get<PrivateDoc>(PRIVATE_KEY);
      const secretHex = textOf(priv.secret) ?? randomBytes(32).toString("hex");
      const before = readState(priv.ingest?.[target.id.trim()]);
      const folded = fold(before, statements, Buffer.from(secretHex, "hex"), target.id.trim());
      const counts = figures(folded.state);
      const checked = validateDelivery(
        {
          ...base,
          participants: [{ category: "learners", female: 0, male: 0, unspecified: counts.learners }],
          completed: counts.completed,
          passed: counts.passed,
        },
        modules,
      );
      if (checked.violations.length > 0) throw invalidArgument(checked.violations);
      const delivery: Delivery = {
        ...checked.value,
        source: "xapi",
        recordedAt: new Date().toISOString(),
        recordedBy: operatorId,
      };
      const id = delivery.id;
      return {
        edits: [
          {
            key: DELIVERIES_KEY,
            subject: id,
            change: (doc) => ((doc.deliveries as Record<string, unknown>)[id] = encodeDelivery(delivery)),
          },
          {
            key: PRIVATE_KEY,
            subject: id,
            change: (doc) => {
              if (doc.secret === undefined) doc.secret = new ImmutableString(secretHex);
              (doc.ingest as Record<string, unknown>)[id] = writeState(folded.state);
            },
          },
        ],
        result: { delivery, added: folded.added, duplicates: folded.duplicates },
      };
    });
  }

  get(id: string): Delivery {
    const d = this.#stored(id);
    if (!d) throw notFound(`no delivery ${quote(id)} at this hub`);
    return d;
  }

  /** A hub's deliveries (this hub's live, another's as of its latest verified checkpoint), by start. */
  list(hub = this.#self): Delivery[] {
    let doc: DeliveriesDoc | undefined;
    if (hub === this.#self) doc = this.#documents.get<DeliveriesDoc>(DELIVERIES_KEY);
    else {
      const member = this.#membership.member(hub);
      doc = member
        ? (this.#views.view(ownedDocumentId(member.directoryId, DELIVERIES_KEY))?.doc as DeliveriesDoc | undefined)
        : undefined;
    }
    return deliveriesIn(doc);
  }
}

function readState(stored: { statements?: ImmutableString; learners?: ImmutableString } | undefined): IngestState {
  const statements = (textOf(stored?.statements) ?? "").split(",").filter((x) => x !== "");
  const learners = new Map<string, "" | "c" | "p">();
  for (const pair of (textOf(stored?.learners) ?? "").split(",")) {
    if (pair === "") continue;
    const [k, v = ""] = pair.split(":");
    learners.set(k as string, v === "p" || v === "c" ? v : "");
  }
  return { statements: new Set(statements), learners };
}

function writeState(state: IngestState): { statements: ImmutableString; learners: ImmutableString } {
  return {
    statements: new ImmutableString([...state.statements].join(",")),
    learners: new ImmutableString([...state.learners].map(([k, v]) => `${k}:${v}`).join(",")),
  };
}
