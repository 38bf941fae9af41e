import type { Startable } from "../lifecycle.js";
import { ImmutableString } from "@automerge/automerge";
import type { Logger } from "pino";
import type { VerifiedView, VerifiedViews } from "../authority/index.js";
import {
  DocumentType,
  documentTypeOf,
  textOf,
  type DocumentEdit,
  type OwnedDocuments,
  type OwnedDocumentSpec,
} from "../documents/index.js";
import { alreadyExists, invalidArgument, notFound, permissionDenied, type FieldViolation } from "../errors.js";
import { ownedDocumentId, type Membership } from "../federation/index.js";
import type { CompetencyTree } from "../core/index.js";
import { shardOf } from "../documents/index.js";
import { Checker, quote, TextKind } from "../text.js";
import {
  CASE_LIMITS,
  decodeCase,
  decodeEndorsement,
  encodeCase,
  endorsementKey,
  validateCase,
  type CaseEndorsement,
  type CaseRecord,
  type RawCase,
} from "./model.js";
import { caseHits, CaseSearchIndex, type CaseFilters } from "./search.js";
import { SerialQueue } from "../serial-queue.js";

export const CASE_SHARDS = 16;
export const ENDORSEMENTS_KEY = "case-endorsements";
const shardKey = (n: number) => `cases/${n}`;

/**
 * One of the hub's case shards: a fixed number of them, so that 10,000 cases make documents of ~600
 * each. A shard is created with its first case: a hub without cases has no case documents.
 */
function caseSpec(n: number): OwnedDocumentSpec {
  return { key: shardKey(n), type: DocumentType.Cases, replicated: true, initial: { cases: {} } };
}

/** The secretariat's endorsements of hubs' cases (created with the first). */
function endorsementsSpec(): OwnedDocumentSpec {
  return {
    key: ENDORSEMENTS_KEY,
    type: DocumentType.CaseEndorsements,
    replicated: true,
    initial: { endorsements: {} },
  };
}

interface CasesDoc {
  cases?: Record<string, unknown>;
}

export interface CaseSearch extends CaseFilters {
  text: string;
}

export interface FoundCase {
  hub: string;
  record: CaseRecord;
  score: number;
  endorsement?: CaseEndorsement;
}

/**
 * The case repository: this hub's cases (authoring copies, sharded by id) and every other hub's as of
 * its latest verified checkpoint, in one full-text index kept up to date case by case — a case whose
 * stored text did not change is not re-indexed. Endorsements live in the secretariat's own document.
 */
export class Cases implements Startable {
  readonly #self: string;
  readonly #isSecretariat: boolean;
  readonly #documents: OwnedDocuments;
  readonly #views: VerifiedViews;
  readonly #membership: Membership;
  readonly #tree: () => CompetencyTree;
  readonly #log: Logger;
  readonly #index = new CaseSearchIndex();
  /** What is indexed, by `hub/id`: the record and its stored text. */
  readonly #indexed = new Map<string, { hub: string; record: CaseRecord; text: string; doc: string }>();
  readonly #idsByDocument = new Map<string, Set<string>>();
  #unsubscribe: (() => void) | undefined;
  #unsubscribeCommits: (() => void) | undefined;
  readonly #queue = new SerialQueue();

  constructor(
    init: { hubId: string; isSecretariat: boolean },
    components: {
      documents: OwnedDocuments;
      views: VerifiedViews;
      membership: Membership;
      tree: () => CompetencyTree;
      logger: Logger;
    },
  ) {
    this.#self = init.hubId;
    this.#isSecretariat = init.isSecretariat;
    this.#documents = components.documents;
    this.#views = components.views;
    this.#membership = components.membership;
    this.#tree = components.tree;
    this.#log = components.logger;
  }

  get indexed(): number {
    return this.#index.size;
  }

  start(): void {
    if (this.#unsubscribeCommits) return;
    this.#unsubscribeCommits = this.#documents.onCommit((keys) => {
      const shards = keys.filter((k) => k.startsWith("cases/"));
      if (shards.length > 0) void this.#enqueue(async () => this.#indexOwn(shards));
    });
    this.#unsubscribe = this.#views.onApplied((view) => {
      if (documentTypeOf(view.doc) === DocumentType.Cases) void this.#enqueue(async () => this.#indexView(view));
    });
    this.#indexOwn();
    for (const view of this.#views.views()) if (documentTypeOf(view.doc) === DocumentType.Cases) this.#indexView(view);
  }

  stop(): void {
    this.#unsubscribe?.();
    this.#unsubscribeCommits?.();
  }

  idle(): Promise<void> {
    return this.#queue.idle();
  }

  #enqueue(job: () => Promise<void>): Promise<void> {
    return this.#queue.run(job).catch((error: unknown) => this.#log.error({ err: error }, "indexing cases failed"));
  }

  #indexOwn(keys?: readonly string[]): void {
    for (let n = 0; n < CASE_SHARDS; n += 1) {
      const key = shardKey(n);
      if (keys && !keys.includes(key)) continue;
      if (!this.#documents.has(key)) continue;
      this.#indexDocument(this.#self, this.#documents.idOf(key), this.#documents.get<CasesDoc>(key).cases ?? {});
    }
  }

  #indexView(view: VerifiedView): void {
    this.#indexDocument(view.hub, view.documentId, (view.doc as CasesDoc).cases ?? {});
  }

  /** Re-indexes the cases of one document whose text changed, and drops those that left it. */
  #indexDocument(hub: string, documentId: string, cases: Record<string, unknown>): void {
    const now = new Set<string>();
    for (const [id, stored] of Object.entries(cases)) {
      const key = `${hub}/${id}`;
      now.add(key);
      const text = textOf(stored) ?? "";
      if (this.#indexed.get(key)?.text === text) continue;
      const record = decodeCase(stored);
      if (!record || record.id !== id) continue; // only what its owner signed gets here
      this.#index.upsert(key, record);
      this.#indexed.set(key, { hub, record, text, doc: documentId });
    }
    for (const key of this.#idsByDocument.get(documentId) ?? []) {
      if (now.has(key) || this.#indexed.get(key)?.doc !== documentId) continue;
      this.#index.remove(key);
      this.#indexed.delete(key);
    }
    this.#idsByDocument.set(documentId, now);
  }

  // -------------------------------------------------------------------------------------------
  // this hub's cases

  #shard(key: string): CasesDoc {
    return this.#documents.has(key) ? this.#documents.get<CasesDoc>(key) : {};
  }

  #stored(id: string): CaseRecord | undefined {
    return decodeCase(this.#shard(shardKey(shardOf(id, CASE_SHARDS))).cases?.[id]);
  }

  /** The writes of `records`, creating the shards they need that do not exist yet. */
  #plan(records: readonly CaseRecord[]): { edits: DocumentEdit[]; create: OwnedDocumentSpec[] } {
    const create = new Map<string, OwnedDocumentSpec>();
    const edits = records.map((record): DocumentEdit => {
      const n = shardOf(record.id, CASE_SHARDS);
      if (!this.#documents.has(shardKey(n))) create.set(shardKey(n), caseSpec(n));
      return {
        key: shardKey(n),
        subject: record.id,
        change: (doc) => ((doc.cases as Record<string, unknown>)[record.id] = encodeCase(record)),
      };
    });
    return { edits, create: [...create.values()] };
  }

  async add(operatorId: string, raw: RawCase): Promise<CaseRecord> {
    const { value, violations } = validateCase(raw);
    if (violations.length > 0) throw invalidArgument(violations);
    const record: CaseRecord = { ...value, updatedAt: new Date().toISOString(), updatedBy: operatorId };
    await this.#documents.transact({ operatorId, action: "case.add", subjects: [record.id] }, () => {
      if (this.#stored(record.id)) throw alreadyExists(`case '${record.id}' already exists (use update)`);
      return { ...this.#plan([record]), result: undefined };
    });
    await this.idle();
    return record;
  }

  async update(operatorId: string, raw: RawCase): Promise<CaseRecord> {
    const { value, violations } = validateCase(raw);
    if (violations.length > 0) throw invalidArgument(violations);
    const record: CaseRecord = { ...value, updatedAt: new Date().toISOString(), updatedBy: operatorId };
    await this.#documents.transact({ operatorId, action: "case.update", subjects: [record.id] }, () => {
      if (!this.#stored(record.id)) throw notFound(`case '${record.id}' is not in this hub's repository`);
      return { ...this.#plan([record]), result: undefined };
    });
    await this.idle();
    return record;
  }

  /**
   * Adds or replaces many cases in one transaction, all checked first: one bad case (or an id given
   * twice) and nothing is written. `dryRun` checks only.
   */
  async import(
    operatorId: string,
    raws: ReadonlyArray<{ source: string; raw: RawCase }>,
    dryRun: boolean,
  ): Promise<{ created: number; updated: number }> {
    const violations: FieldViolation[] = [];
    const records: CaseRecord[] = [];
    const seen = new Map<string, string>();
    const at = new Date().toISOString();
    for (const { source, raw } of raws) {
      const checked = validateCase(raw, source);
      violations.push(...checked.violations);
      const first = seen.get(checked.value.id);
      if (checked.value.id !== "" && first !== undefined)
        violations.push({ field: `${source}.id`, description: `'${checked.value.id}' is also the id of ${first}` });
      seen.set(checked.value.id, source);
      records.push({ ...checked.value, updatedAt: at, updatedBy: operatorId });
    }
    if (violations.length > 0)
      throw invalidArgument(
        violations,
        `${violations.length} problem(s) in ${raws.length} case(s); nothing was written:\n${violations.map((v) => `  ${v.field}: ${v.description}`).join("\n")}`,
      );
    const updated = records.filter((r) => this.#stored(r.id)).length;
    if (!dryRun && records.length > 0) {
      await this.#documents.transact({ operatorId, action: "case.import", subjects: records.map((r) => r.id) }, () => ({
        ...this.#plan(records),
        result: undefined,
      }));
      await this.idle();
    }
    return { created: records.length - updated, updated };
  }

  /** A case of this hub, or of another as of its latest verified checkpoint. */
  get(hub: string, id: string): { record: CaseRecord; endorsement?: CaseEndorsement } {
    const record = hub === this.#self ? this.#stored(id) : this.#indexed.get(`${hub}/${id}`)?.record;
    if (!record)
      throw notFound(
        hub === this.#self
          ? `case ${quote(id)} is not in this hub's repository`
          : `no case ${quote(id)} of hub ${quote(hub)} is known here (as of its latest verified checkpoint)`,
      );
    const endorsement = this.#endorsements().get(endorsementKey(hub, id));
    return { record, ...(endorsement ? { endorsement } : {}) };
  }

  /**
   * Whether an evaluation instrument exists as named: a case of kind evaluation-tool in that hub's
   * repository (this hub's, or another's as of its latest verified checkpoint) at that version.
   * Undefined when it does, else what is wrong.
   */
  instrumentProblem(ref: { hub: string; id: string; version: string }): string | undefined {
    const name = `${ref.hub}/${ref.id}@${ref.version}`;
    const record = ref.hub === this.#self ? this.#stored(ref.id) : this.#indexed.get(`${ref.hub}/${ref.id}`)?.record;
    if (!record)
      return `instrument ${quote(name)} does not exist: no case ${quote(ref.id)} of hub ${quote(ref.hub)} is known here`;
    if (record.kind !== "evaluation-tool")
      return `instrument ${quote(name)}: case ${quote(ref.id)} is a ${record.kind}, not an evaluation-tool`;
    if (record.version !== ref.version)
      return `instrument ${quote(name)} does not exist: ${quote(ref.id)} is at version ${quote(record.version)}`;
    return undefined;
  }

  /** Cases of one hub (this one by default), sorted by id. */
  list(hub = this.#self): CaseRecord[] {
    const out: CaseRecord[] = [];
    if (hub === this.#self) {
      for (let n = 0; n < CASE_SHARDS; n += 1) {
        for (const stored of Object.values(this.#shard(shardKey(n)).cases ?? {})) {
          const r = decodeCase(stored);
          if (r) out.push(r);
        }
      }
    } else {
      for (const { hub: h, record } of this.#indexed.values()) if (h === hub) out.push(record);
    }
    return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  // -------------------------------------------------------------------------------------------
  // endorsements (the secretariat's)

  async endorse(operatorId: string, hub: string, id: string, note: string): Promise<CaseEndorsement> {
    if (!this.#isSecretariat) throw permissionDenied("only the secretariat endorses cases");
    const text = new Checker();
    text.text("note", note, { max: CASE_LIMITS.summary, kind: TextKind.Multiline });
    if (text.violations.length > 0) throw invalidArgument(text.violations);
    this.get(hub, id); // known, as signed by its hub
    const endorsement: CaseEndorsement = { hub, caseId: id, by: operatorId, at: new Date().toISOString(), note };
    const key = endorsementKey(hub, id);
    await this.#documents.transact({ operatorId, action: "case.endorse", subjects: [key] }, () => ({
      create: this.#documents.has(ENDORSEMENTS_KEY) ? [] : [endorsementsSpec()],
      edits: [
        {
          key: ENDORSEMENTS_KEY,
          subject: key,
          change: (doc) => ((doc.endorsements as Record<string, unknown>)[key] = encodeEndorsement(endorsement)),
        },
      ],
      result: undefined,
    }));
    return endorsement;
  }

  /** The secretariat's endorsements: its own document here, its verified view elsewhere. */
  #endorsements(): Map<string, CaseEndorsement> {
    let doc: { endorsements?: Record<string, unknown> } | undefined;
    if (this.#isSecretariat)
      doc = this.#documents.has(ENDORSEMENTS_KEY) ? this.#documents.get(ENDORSEMENTS_KEY) : undefined;
    else {
      const secretariat = this.#membership.members().find((m) => m.role === "secretariat");
      doc = secretariat
        ? (this.#views.view(ownedDocumentId(secretariat.directoryId, ENDORSEMENTS_KEY))?.doc as typeof doc)
        : undefined;
    }
    const out = new Map<string, CaseEndorsement>();
    for (const [key, stored] of Object.entries(doc?.endorsements ?? {})) {
      const endorsement = decodeEndorsement(stored);
      if (endorsement) out.set(key, endorsement);
    }
    return out;
  }

  // -------------------------------------------------------------------------------------------
  // search

  /** Ranked full-text search over every hub's cases (this hub's live, the others' as signed), filtered. */
  async search(
    query: CaseSearch,
    page: { size: number; offset: number },
  ): Promise<{ cases: FoundCase[]; total: number }> {
    await this.idle();
    const hits = caseHits(this.#index, this.#indexed, query.text, query, this.#tree());
    const endorsements = this.#endorsements();
    const cases = hits.slice(page.offset, page.offset + page.size).map((h) => {
      const entry = this.#indexed.get(h.key) as { hub: string; record: CaseRecord };
      const endorsement = endorsements.get(h.key);
      return { hub: entry.hub, record: entry.record, score: h.score, ...(endorsement ? { endorsement } : {}) };
    });
    return { cases, total: hits.length };
  }
}

function encodeEndorsement(e: CaseEndorsement): ImmutableString {
  return new ImmutableString(
    JSON.stringify({ hub: e.hub, caseId: e.caseId, by: e.by, at: e.at, note: e.note } satisfies CaseEndorsement),
  );
}
