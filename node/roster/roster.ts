import { ImmutableString } from "@automerge/automerge";
import type { Logger } from "pino";
import { alreadyExists, failedPrecondition, invalidArgument, notFound, type FieldViolation } from "../errors.js";
import {
  DocumentType,
  type ChangeRecord,
  type DocumentEdit,
  type OwnedDocuments,
  type OwnedDocumentSpec,
} from "../documents/index.js";
import { decodePrivate, decodeTrainer, encodePrivate, encodeTrainer, type StoredRecord } from "./records.js";
import { quote } from "../text.js";
import {
  LIMITS,
  shardOf,
  UPDATABLE_FIELDS,
  validateDeployment,
  validateLineage,
  validateTrainer,
  type Lineage,
  type RawDeployment,
  type Trainer,
  type TrainerPublic,
  type TrainerServiceHistory,
  type RawTrainerDraft,
  type TrainerDraft,
  type TrainerPrivate,
  type UpdatableField,
} from "./trainer.js";
import { yielder } from "../yielder.js";

interface RosterShardDoc {
  shard: number;
  shards: number;
  trainers: Record<string, StoredRecord>;
}

interface PrivateRosterDoc {
  trainers: Record<string, StoredRecord>;
}

const shardKey = (n: number): string => `roster/${n}`;
/** The private parts are sharded alike: shard n's personal data sits in private/roster/n. */
const privateKey = (n: number): string => `private/roster/${n}`;
/** Growth stops doubling here (65,536 documents); the Repo does not cope with more (automerge-repo #358). */
const MAX_SHARDS = 65_536;

/** Specs of shard documents `from` … `to - 1` (public and private) of a roster with `shards` shards. */
function shardSpecs(from: number, to: number, shards: number): OwnedDocumentSpec[] {
  const specs: OwnedDocumentSpec[] = [];
  for (let n = from; n < to; n += 1) {
    specs.push({
      key: shardKey(n),
      type: DocumentType.Roster,
      replicated: true,
      initial: { shard: n, shards, trainers: {} },
    });
    specs.push({ key: privateKey(n), type: DocumentType.PrivateRoster, replicated: false, initial: { trainers: {} } });
  }
  return specs;
}

export interface RosterInit {
  hubId: string;
  /** Number of roster shards a new roster starts with. */
  shards: number;
  /** A shard that would grow past this many trainers makes the roster double its shard count. */
  maxPerShard: number;
}

export interface RosterComponents {
  documents: OwnedDocuments;
  logger: Logger;
}

export interface ListOptions {
  pageSize: number;
  pageToken: string;
  includePrivate: boolean;
}

export interface ImportRowInput {
  line: number;
  trainer: RawTrainerDraft;
}

export interface ImportOptions {
  skipInvalid: boolean;
  dryRun: boolean;
  upsert: boolean;
}

export interface RowError {
  line: number;
  field: string;
  message: string;
}

export interface ImportOutcome {
  imported: number;
  skipped: number;
  errors: RowError[];
  committed: boolean;
}

const MAX_PAGE = 1000;

/** The fields only their own commands write, as a record holds them. */
function historyFields(t: TrainerPublic): TrainerServiceHistory {
  const out: TrainerServiceHistory = {};
  if (t.deployments) out.deployments = t.deployments;
  if (t.trainedBy) out.trainedBy = t.trainedBy;
  if (t.movedTo) out.movedTo = t.movedTo;
  if (t.movedFrom) out.movedFrom = t.movedFrom;
  return out;
}

/** A trainer released to another hub: their record here is frozen. */
function refuseMovedAway(t: TrainerPublic): void {
  if (t.movedTo)
    throw failedPrecondition(
      `trainer ${quote(t.id)} moved to ${t.movedTo.hub} on ${t.movedTo.on}; their record is ${t.movedTo.hub}'s now`,
    );
}

/** A lookup by an empty id is a bad request, not a missing trainer. */
function requireId(id: string, field = "id"): void {
  if (id === "") throw invalidArgument([{ field, description: "is required" }]);
}

/** Page tokens are `v1.` + the last id of the previous page, base64url-encoded. */
const PAGE_TOKEN_PREFIX = "v1.";
const EMPTY_PRIVATE: TrainerPrivate = { email: "", phone: "", nationalId: "", notes: "" };

/** The fields an update with an empty mask replaces: those the client set. */
function fieldsSetIn(patch: RawTrainerDraft): UpdatableField[] {
  const fields: UpdatableField[] = [];
  if (patch.displayName.trim() !== "") fields.push("display_name");
  if (patch.languages.length > 0) fields.push("languages");
  if (patch.regions.length > 0) fields.push("regions");
  if (patch.accreditations.length > 0) fields.push("accreditations");
  if (patch.availability.length > 0) fields.push("availability");
  if (patch.blackouts.length > 0) fields.push("blackouts");
  if (patch.private) fields.push("private");
  return fields;
}
const DEFAULT_PAGE = 100;

/** A write to the roster, once it is stored: which trainers it added, changed or removed. */
export interface RosterChange {
  action: "added" | "changed" | "removed" | "imported";
  ids: string[];
}

/**
 * The hub's trainer roster: the public records, sharded over documents by a hash of the trainer id,
 * and the private part in one document that is never replicated. Every write changes the shard and
 * the private document in one transaction, so they are persisted in one LevelDB batch.
 *
 * Documents stay bounded: when a write would put more than `maxPerShard` trainers in a shard, the
 * same transaction doubles the shard count (as often as needed), creating the new shard documents
 * and moving each record whose hash now points there. A record only ever moves from shard i to
 * shard i + n, since hash mod 2n is hash mod n or that plus n. The shard count is read from the
 * documents themselves, so it is never out of step with them.
 */
export class Roster {
  readonly #hubId: string;
  readonly #documents: OwnedDocuments;
  readonly #log: Logger;
  readonly #initialShards: number;
  readonly #maxPerShard: number;
  readonly #listeners = new Set<(change: RosterChange) => void>();

  constructor(init: RosterInit, components: RosterComponents) {
    this.#hubId = init.hubId;
    this.#initialShards = init.shards;
    this.#maxPerShard = init.maxPerShard;
    this.#documents = components.documents;
    this.#log = components.logger;
  }

  /** Calls `listener` after every stored write to the roster. Returns the unsubscribe. */
  onChange(listener: (change: RosterChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #changed(change: RosterChange): void {
    for (const listener of this.#listeners) {
      try {
        listener(change);
      } catch (error) {
        this.#log.error({ err: error }, "roster listener failed");
      }
    }
  }

  /** Documents the roster needs. Call after `documents.open()`: an existing roster keeps its shards. */
  documentSpecs(): OwnedDocumentSpec[] {
    const shards = this.#documents.has(shardKey(0)) ? this.shardCount : this.#initialShards;
    return shardSpecs(0, shards, shards);
  }

  get shardCount(): number {
    return this.#documents.get<RosterShardDoc>(shardKey(0)).shards;
  }

  #shardDoc(n: number): RosterShardDoc {
    return this.#documents.get<RosterShardDoc>(shardKey(n));
  }

  #shard(id: string): RosterShardDoc {
    return this.#shardDoc(shardOf(id, this.shardCount));
  }

  #private(id: string): PrivateRosterDoc {
    return this.#documents.get<PrivateRosterDoc>(privateKey(shardOf(id, this.shardCount)));
  }

  #exists(id: string): boolean {
    return Object.hasOwn(this.#shard(id).trainers, id);
  }

  /** Is `id` in this hub's roster? (False for an empty id.) */
  has(id: string): boolean {
    return id !== "" && this.#exists(id);
  }

  count(): number {
    let total = 0;
    for (let n = 0; n < this.shardCount; n += 1) total += Object.keys(this.#shardDoc(n).trainers).length;
    return total;
  }

  /** Trainers per shard, in shard order. */
  shardSizes(): number[] {
    return Array.from({ length: this.shardCount }, (_, n) => Object.keys(this.#shardDoc(n).trainers).length);
  }

  get(id: string, includePrivate: boolean): Trainer {
    requireId(id);
    const trainers = this.#shard(id).trainers;
    if (!Object.hasOwn(trainers, id)) throw notFound(`trainer ${quote(id)} is not in this hub's roster`);
    return this.#withPrivate(decodeTrainer(trainers[id]), includePrivate);
  }

  #withPrivate(trainer: Trainer, includePrivate: boolean): Trainer {
    if (!includePrivate) return trainer;
    const trainers = this.#private(trainer.id).trainers;
    return Object.hasOwn(trainers, trainer.id) ? { ...trainer, private: decodePrivate(trainers[trainer.id]) } : trainer;
  }

  /** All trainer ids in id order. */
  #ids(): string[] {
    const ids: string[] = [];
    for (let n = 0; n < this.shardCount; n += 1) ids.push(...Object.keys(this.#shardDoc(n).trainers));
    return ids;
  }

  #sortedIds(): string[] {
    return this.#ids().sort();
  }

  list(options: ListOptions): { trainers: Trainer[]; nextPageToken: string; total: number } {
    if (options.pageSize > MAX_PAGE) {
      throw invalidArgument([{ field: "page_size", description: `is ${options.pageSize}; at most ${MAX_PAGE}` }]);
    }
    const size = options.pageSize === 0 ? DEFAULT_PAGE : options.pageSize;
    let after = "";
    if (options.pageToken !== "") {
      const decoded = /^[A-Za-z0-9_-]+$/.test(options.pageToken)
        ? Buffer.from(options.pageToken, "base64url").toString("utf8")
        : "";
      if (!decoded.startsWith(PAGE_TOKEN_PREFIX) || decoded.length === PAGE_TOKEN_PREFIX.length) {
        throw invalidArgument([{ field: "page_token", description: "is not a token this node issued" }]);
      }
      after = decoded.slice(PAGE_TOKEN_PREFIX.length);
    }
    const ids = this.#sortedIds();
    const start = after === "" ? 0 : ids.findIndex((id) => id > after);
    const page = start < 0 ? [] : ids.slice(start, start + size);
    const last = page[page.length - 1];
    const more = start >= 0 && start + size < ids.length;
    return {
      trainers: page.map((id) => this.get(id, options.includePrivate)),
      nextPageToken: more && last ? Buffer.from(`${PAGE_TOKEN_PREFIX}${last}`, "utf8").toString("base64url") : "",
      total: ids.length,
    };
  }

  /**
   * Every trainer in id order, as of the moment of the call: the documents are immutable snapshots,
   * so writes made while a slow client reads the export neither break nor leak into it.
   */
  *exportAll(includePrivate: boolean): Generator<Trainer> {
    const shards = this.shardCount;
    const publicDocs = Array.from({ length: shards }, (_, n) => this.#shardDoc(n));
    const privateDocs = Array.from({ length: shards }, (_, n) => this.#documents.get<PrivateRosterDoc>(privateKey(n)));
    const ids = publicDocs.flatMap((d) => Object.keys(d.trainers)).sort();
    for (const id of ids) {
      const n = shardOf(id, shards);
      const trainer: Trainer = decodeTrainer((publicDocs[n] as RosterShardDoc).trainers[id]);
      const personal = (privateDocs[n] as PrivateRosterDoc).trainers;
      if (includePrivate && Object.hasOwn(personal, id)) trainer.private = decodePrivate(personal[id]);
      yield trainer;
    }
  }

  #editsFor(
    trainer: TrainerDraft,
    shards: number,
    operatorId: string,
    now: string,
    replacePrivate: boolean,
  ): DocumentEdit[] {
    const edits: DocumentEdit[] = [
      {
        key: shardKey(shardOf(trainer.id, shards)),
        subject: trainer.id,
        change: (doc) => {
          const trainers = (doc as unknown as RosterShardDoc).trainers;
          // Deployments, lineage and moves are written by their own commands only: an edit keeps them.
          const before = Object.hasOwn(trainers, trainer.id) ? historyFields(decodeTrainer(trainers[trainer.id])) : {};
          trainers[trainer.id] = encodeTrainer({
            ...trainer,
            ...before,
            homeHub: this.#hubId,
            updatedAt: now,
            updatedBy: operatorId,
          });
        },
      },
    ];
    const hadPrivate = () => Object.hasOwn(this.#private(trainer.id).trainers, trainer.id);
    if (trainer.private || (replacePrivate && hadPrivate())) {
      edits.push({
        key: privateKey(shardOf(trainer.id, shards)),
        subject: trainer.id,
        change: (doc) => {
          const trainers = (doc as unknown as PrivateRosterDoc).trainers;
          if (trainer.private) trainers[trainer.id] = encodePrivate(trainer.private);
          else delete trainers[trainer.id];
        },
      });
    }
    return edits;
  }

  /**
   * The shard count needed once `newIds` are added, and, if it grows, the documents to create and
   * the edits that move records into them (run inside the caller's transaction).
   */
  #growth(newIds: readonly string[]): { shards: number; create: OwnedDocumentSpec[]; edits: DocumentEdit[] } {
    const current = this.shardCount;
    const added = new Map<number, number>();
    for (const id of newIds) added.set(shardOf(id, current), (added.get(shardOf(id, current)) ?? 0) + 1);
    const fits = [...added].every(([n, k]) => Object.keys(this.#shardDoc(n).trainers).length + k <= this.#maxPerShard);
    if (fits) return { shards: current, create: [], edits: [] };

    const existing = this.#sortedIds();
    let shards = current;
    for (;;) {
      shards *= 2;
      const counts = new Map<number, number>();
      for (const id of [...existing, ...newIds])
        counts.set(shardOf(id, shards), (counts.get(shardOf(id, shards)) ?? 0) + 1);
      if ([...counts.values()].every((c) => c <= this.#maxPerShard) || shards >= MAX_SHARDS) break;
    }
    this.#log.info(
      { from: current, to: shards, trainers: existing.length + newIds.length },
      "roster grows: doubling its shards",
    );
    const edits: DocumentEdit[] = [];
    for (let n = 0; n < shards; n += 1) {
      edits.push({ key: shardKey(n), change: (doc) => void ((doc as unknown as RosterShardDoc).shards = shards) });
    }
    for (let n = 0; n < current; n += 1) {
      const trainers = this.#shardDoc(n).trainers;
      for (const id of Object.keys(trainers)) {
        const target = shardOf(id, shards);
        if (target === n) continue;
        // A move is bookkeeping, not a change to the trainer: it names no subject, so history skips it.
        const move = (from: string, to: string, record: StoredRecord) => {
          const copy = new ImmutableString(record.val);
          edits.push({ key: from, change: (doc) => void delete (doc as unknown as RosterShardDoc).trainers[id] });
          edits.push({ key: to, change: (doc) => void ((doc as unknown as RosterShardDoc).trainers[id] = copy) });
        };
        move(shardKey(n), shardKey(target), trainers[id] as StoredRecord);
        const personal = this.#documents.get<PrivateRosterDoc>(privateKey(n)).trainers;
        if (Object.hasOwn(personal, id)) move(privateKey(n), privateKey(target), personal[id] as StoredRecord);
      }
    }
    return { shards, create: shardSpecs(current, shards, shards), edits };
  }

  #validated(draft: RawTrainerDraft, prefix = "trainer"): TrainerDraft {
    const { value, violations } = validateTrainer(draft, prefix);
    if (violations.length > 0) throw invalidArgument(violations);
    return value;
  }

  async add(draft: RawTrainerDraft, operatorId: string): Promise<Trainer> {
    const trainer = this.#validated(draft);
    await this.#documents.transact({ operatorId, action: "trainer.add" }, () => {
      if (this.#exists(trainer.id)) throw alreadyExists(`trainer '${trainer.id}' already exists in this hub's roster`);
      const growth = this.#growth([trainer.id]);
      const edits = [
        ...growth.edits,
        ...this.#editsFor(trainer, growth.shards, operatorId, new Date().toISOString(), true),
      ];
      return { edits, create: growth.create, result: undefined };
    });
    this.#changed({ action: "added", ids: [trainer.id] });
    return this.get(trainer.id, true);
  }

  /**
   * Replaces the fields named in `mask`. An empty mask means "the fields that are set in `patch`":
   * non-empty text and lists, and the private part when given (AIP-134).
   */
  async update(patch: RawTrainerDraft, mask: readonly string[], operatorId: string): Promise<Trainer> {
    const unknown = mask.filter((m) => !(UPDATABLE_FIELDS as readonly string[]).includes(m));
    if (unknown.length > 0) {
      throw invalidArgument(
        unknown.map((m) => ({
          field: "update_mask",
          description: `${quote(m)} is not an updatable field (${UPDATABLE_FIELDS.join(", ")})`,
        })),
      );
    }
    const fields = new Set<UpdatableField>(mask.length > 0 ? (mask as UpdatableField[]) : fieldsSetIn(patch));
    const id = patch.id.trim();
    requireId(id, "trainer.id");
    await this.#documents.transact({ operatorId, action: "trainer.update" }, () => {
      if (!this.#exists(id)) throw notFound(`trainer ${quote(id)} is not in this hub's roster`);
      const current = this.get(id, true);
      refuseMovedAway(current);
      const merged: RawTrainerDraft = {
        id,
        displayName: fields.has("display_name") ? patch.displayName : current.displayName,
        languages: fields.has("languages") ? patch.languages : current.languages,
        regions: fields.has("regions") ? patch.regions : current.regions,
        accreditations: fields.has("accreditations") ? patch.accreditations : current.accreditations,
        availability: fields.has("availability") ? patch.availability : current.availability,
        blackouts: fields.has("blackouts") ? patch.blackouts : current.blackouts,
      };
      const before = current.private ?? EMPTY_PRIVATE;
      const given = patch.private ?? EMPTY_PRIVATE;
      const pick = (k: keyof TrainerPrivate, field: UpdatableField) =>
        fields.has("private") || fields.has(field) ? given[k] : before[k];
      merged.private = {
        email: pick("email", "private.email"),
        phone: pick("phone", "private.phone"),
        nationalId: pick("nationalId", "private.national_id"),
        notes: pick("notes", "private.notes"),
      };
      const trainer = this.#validated(merged);
      return {
        edits: this.#editsFor(trainer, this.shardCount, operatorId, new Date().toISOString(), true),
        result: undefined,
      };
    });
    this.#changed({ action: "changed", ids: [id] });
    return this.get(id, true);
  }

  async remove(id: string, operatorId: string): Promise<void> {
    requireId(id);
    await this.#documents.transact({ operatorId, action: "trainer.remove" }, () => {
      if (!this.#exists(id)) throw notFound(`trainer ${quote(id)} is not in this hub's roster`);
      const edits: DocumentEdit[] = [
        {
          key: shardKey(shardOf(id, this.shardCount)),
          subject: id,
          change: (doc) => void delete (doc as unknown as RosterShardDoc).trainers[id],
        },
      ];
      if (Object.hasOwn(this.#private(id).trainers, id)) {
        const key = privateKey(shardOf(id, this.shardCount));
        edits.push({
          key,
          subject: id,
          change: (doc) => void delete (doc as unknown as PrivateRosterDoc).trainers[id],
        });
      }
      return { edits, result: undefined };
    });
    this.#changed({ action: "removed", ids: [id] });
  }

  /**
   * Validates every row first (reporting all problems, with line numbers), then writes all valid rows
   * in one transaction — one LevelDB batch — or nothing if any row is bad and `skipInvalid` is off.
   */
  async import(rows: readonly ImportRowInput[], options: ImportOptions, operatorId: string): Promise<ImportOutcome> {
    // Validation needs no lock: do it first, yielding between slices so that the node keeps
    // answering. Only the checks against the roster's current content run inside the transaction.
    const checked: Array<{ line: number; value: TrainerDraft; violations: FieldViolation[] }> = [];
    const breathe = yielder();
    for (const row of rows) {
      const { value, violations } = validateTrainer(row.trainer, "");
      checked.push({ line: row.line, value, violations });
      await breathe();
    }
    let imported: string[] = [];
    const outcome = await this.#documents.transact<ImportOutcome>({ operatorId, action: "trainer.import" }, () => {
      const errors: RowError[] = [];
      const valid: TrainerDraft[] = [];
      const seen = new Map<string, number>();
      // One read of each shard's ids, not one lookup in the Automerge document per row.
      const existing = new Set(this.#ids());
      for (const { line, value, violations } of checked) {
        const rowErrors: FieldViolation[] = [...violations];
        const firstLine = seen.get(value.id);
        if (value.id !== "" && firstLine !== undefined) {
          rowErrors.push({ field: "id", description: `'${value.id}' also appears at line ${firstLine}` });
        } else if (value.id !== "" && !options.upsert && existing.has(value.id)) {
          rowErrors.push({
            field: "id",
            description: `trainer '${value.id}' already exists (use --upsert to replace)`,
          });
        }
        if (value.id !== "" && firstLine === undefined) seen.set(value.id, line);
        for (const v of rowErrors) errors.push({ line, field: v.field, message: v.description });
        if (rowErrors.length === 0) valid.push(value);
      }
      const skipped = rows.length - valid.length;
      const commit = !options.dryRun && valid.length > 0 && (errors.length === 0 || options.skipInvalid);
      if (!commit) {
        return { edits: [], result: { imported: 0, skipped, errors, committed: false } };
      }
      const now = new Date().toISOString();
      // A row without private columns leaves an existing trainer's private part as it is.
      const growth = this.#growth(valid.filter((t) => !existing.has(t.id)).map((t) => t.id));
      const edits = [
        ...growth.edits,
        ...valid.flatMap((t) => this.#editsFor(t, growth.shards, operatorId, now, false)),
      ];
      this.#log.info({ rows: rows.length, imported: valid.length, skipped }, "importing trainers");
      imported = valid.map((t) => t.id);
      return { edits, create: growth.create, result: { imported: valid.length, skipped, errors, committed: true } };
    });
    if (outcome.committed) this.#changed({ action: "imported", ids: imported });
    return outcome;
  }

  /**
   * Rewrites one trainer's public record with `next(current)`, in one transaction (the record is
   * read inside it, so two writes to one trainer never lose each other).
   */
  async #rewrite(
    id: string,
    operatorId: string,
    action: string,
    next: (current: TrainerPublic) => TrainerPublic,
  ): Promise<Trainer> {
    requireId(id);
    await this.#documents.transact({ operatorId, action }, () => {
      if (!this.#exists(id)) throw notFound(`trainer ${quote(id)} is not in this hub's roster`);
      const current = decodeTrainer(this.#shard(id).trainers[id]);
      const record = encodeTrainer({
        ...next(current),
        homeHub: this.#hubId,
        updatedAt: new Date().toISOString(),
        updatedBy: operatorId,
      });
      const edit: DocumentEdit = {
        key: shardKey(shardOf(id, this.shardCount)),
        subject: id,
        change: (doc) => void ((doc as unknown as RosterShardDoc).trainers[id] = record),
      };
      return { edits: [edit], result: undefined };
    });
    this.#changed({ action: "changed", ids: [id] });
    return this.get(id, true);
  }

  /** Records a deployment or engagement the trainer served. Every problem of it is named. */
  async addDeployment(id: string, raw: RawDeployment, operatorId: string): Promise<Trainer> {
    const { value, violations } = validateDeployment(raw);
    if (id.trim() === "") violations.unshift({ field: "id", description: "is required" });
    if (violations.length > 0) throw invalidArgument(violations);
    return this.#rewrite(id.trim(), operatorId, "trainer.deploy", (t) => {
      refuseMovedAway(t);
      const list = t.deployments ?? [];
      if (list.length >= LIMITS.deployments)
        throw invalidArgument([
          {
            field: "deployment",
            description: `trainer ${quote(t.id)} has ${list.length} deployments; at most ${LIMITS.deployments}`,
          },
        ]);
      const same = (d: typeof value) => JSON.stringify(d) === JSON.stringify(value);
      if (list.some(same)) throw alreadyExists(`this deployment of trainer ${quote(t.id)} is already recorded`);
      // Kept in date order, oldest first.
      const deployments = [...list, value].sort((a, b) => (a.from < b.from ? -1 : a.from > b.from ? 1 : 0));
      return { ...t, deployments };
    });
  }

  /** Records who trained the trainer as a trainer (train-the-trainer lineage). */
  async addLineage(id: string, raw: Lineage, operatorId: string): Promise<Trainer> {
    const trimmed = id.trim();
    const { value, violations } = validateLineage(raw, { hub: this.#hubId, id: trimmed });
    if (trimmed === "") violations.unshift({ field: "id", description: "is required" });
    if (violations.length > 0) throw invalidArgument(violations);
    return this.#rewrite(trimmed, operatorId, "trainer.lineage", (t) => {
      refuseMovedAway(t);
      const list = t.trainedBy ?? [];
      if (list.length >= LIMITS.lineage)
        throw invalidArgument([
          {
            field: "lineage",
            description: `trainer ${quote(t.id)} has ${list.length} lineage entries; at most ${LIMITS.lineage}`,
          },
        ]);
      if (list.some((l) => l.trainedBy === value.trainedBy && l.module === value.module))
        throw alreadyExists(
          `trainer ${quote(t.id)} already records being trained by ${value.trainedBy} for ${quote(value.module)}`,
        );
      return { ...t, trainedBy: [...list, value] };
    });
  }

  /**
   * Releases a trainer to `hub`: the record stays, frozen, saying moved to `hub` on today's date
   * (signed with this hub's next checkpoint); the availability search no longer offers them here.
   * `hub` is checked by the caller (a member, not this hub).
   */
  async release(id: string, hub: string, operatorId: string): Promise<Trainer> {
    return this.#rewrite(id.trim(), operatorId, "trainer.release", (t) => {
      refuseMovedAway(t);
      return { ...t, movedTo: { hub, on: new Date().toISOString().slice(0, 10) } };
    });
  }

  /**
   * Adds a trainer released to this hub by `from`: their public record as `from` signed it (read
   * by the caller from its verified view), with its history, marked moved from `from`. The
   * personal part never left `from`: this hub's operator enters it again (`update`). A trainer
   * this hub released to `from` earlier may come back: their frozen record here is replaced (the
   * personal part this hub kept stays).
   */
  async accept(from: string, released: TrainerPublic, operatorId: string): Promise<Trainer> {
    // What the other hub signed is checked as if entered here: this hub signs it next.
    const { value, violations } = validateTrainer({ ...released, private: undefined }, "released");
    const deployments = (released.deployments ?? []).map((d, i) => {
      const checked = validateDeployment(d, `released.deployments[${i}]`);
      violations.push(...checked.violations);
      return checked.value;
    });
    const trainedBy = (released.trainedBy ?? []).map((l, i) => {
      const checked = validateLineage(l, { hub: this.#hubId, id: released.id }, `released.trained_by[${i}]`);
      violations.push(...checked.violations);
      return checked.value;
    });
    if (violations.length > 0)
      throw invalidArgument(violations, `the record ${from} released does not pass this hub's checks`);
    const id = value.id;
    const record: TrainerPublic = {
      ...value,
      homeHub: this.#hubId,
      updatedAt: new Date().toISOString(),
      updatedBy: operatorId,
      ...(deployments.length > 0 ? { deployments } : {}),
      ...(trainedBy.length > 0 ? { trainedBy } : {}),
      movedFrom: { hub: from, id, on: new Date().toISOString().slice(0, 10) },
    };
    await this.#documents.transact({ operatorId, action: "trainer.accept" }, () => {
      if (this.#exists(id)) {
        // A trainer coming back: this hub's own frozen record, released to the hub they return from, is replaced.
        const here = decodeTrainer(this.#shard(id).trainers[id]);
        if (here.movedTo?.hub !== from) throw alreadyExists(`trainer '${id}' already exists in this hub's roster`);
      }
      const growth = this.#growth(this.#exists(id) ? [] : [id]);
      const edits: DocumentEdit[] = [
        ...growth.edits,
        {
          key: shardKey(shardOf(id, growth.shards)),
          subject: id,
          change: (doc) => void ((doc as unknown as RosterShardDoc).trainers[id] = encodeTrainer(record)),
        },
      ];
      return { edits, create: growth.create, result: undefined };
    });
    this.#changed({ action: "added", ids: [id] });
    return this.get(id, true);
  }

  /**
   * Who changed this trainer and how, oldest first, from the change messages of the roster shards
   * (every write to a trainer, private fields included, changes its shard record; a record that
   * moved when the roster grew has its earlier history in its earlier shard).
   */
  history(id: string): ChangeRecord[] {
    const records: ChangeRecord[] = [];
    for (let n = 0; n < this.shardCount; n += 1) {
      records.push(...this.#documents.history(shardKey(n)).filter((r) => r.subjects?.includes(id)));
    }
    return records.sort((a, b) => a.time - b.time);
  }
}
