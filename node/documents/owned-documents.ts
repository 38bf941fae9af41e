import * as A from "@automerge/automerge";
import { changeGraph, changesUpTo } from "./history.js";
import {
  generateAutomergeUrl,
  parseAutomergeUrl,
  type DocHandle,
  type DocumentId,
  type Repo,
  type StorageAdapterInterface,
} from "@automerge/automerge-repo";
import type { Logger } from "pino";
import { failedPrecondition } from "../errors.js";
import type { NodeStore, StoreBatchOperation } from "../storage/node-store.js";
import { checkHeader, makeHeader, type DocumentType, type PlainHeader } from "./header.js";
import { SerialQueue } from "../serial-queue.js";

/** Who made a change and why; recorded as the Automerge change message of every change. */
export interface ChangeMeta {
  /** Operator id from the API credential, or `system` for the node's own bookkeeping. */
  operatorId: string;
  /** What was done, e.g. `trainer.add`. */
  action: string;
  /** The records concerned in this document, e.g. trainer ids (filled in from the edits). */
  subjects?: string[];
}

export interface ChangeRecord extends ChangeMeta {
  /** Milliseconds since the epoch. */
  time: number;
  documentKey: string;
}

/** One document this node owns, by a stable logical key such as `roster/3`. */
export interface OwnedDocumentSpec {
  key: string;
  /** A fixed document id (e.g. the directory's, derived from the peer id); random when absent. */
  id?: DocumentId;
  type: DocumentType;
  /** Published into the Repo (and so, later, replicated). Private documents never are. */
  replicated: boolean;
  /** Initial content (header excluded); use ImmutableString for ids, codes, names and dates. */
  initial: Record<string, unknown>;
  /**
   * `on-commit` (default): every committed change is published into the Repo. `on-release`: only
   * what `publishRelease` names (the secretariat's core: hubs never see drafts).
   */
  publish?: "on-commit" | "on-release";
}

interface RegistryEntry {
  key: string;
  id: DocumentId;
  type: DocumentType;
  replicated: boolean;
  /** Published only up to released heads. */
  releaseOnly?: boolean;
}

interface Owned {
  entry: RegistryEntry;
  doc: A.Doc<unknown>;
  /** Heads of what is persisted in LevelDB (equal to the doc's heads outside a transaction). */
  persistedHeads: A.Heads;
  /** Heads last published into the Repo copy. */
  publishedHeads: A.Heads;
  nextChunk: number;
  chunkCount: number;
  handle?: DocHandle<unknown>;
  /** For release-only documents: the heads published so far (persisted under `released/<key>`). */
  releasedHeads?: A.Heads;
  /** The Repo's copy refused a change: nothing more is published until the next start rebuilds it. */
  publishFailed?: boolean;
}

export interface OwnedDocumentsInit {
  /** Hub id of this node: the owner written into headers. */
  owner: string;
  /**
   * Key of the directory document: every replicated document is listed there (id → type, key),
   * in the transaction that creates it, so that peers learn what this node shares.
   */
  directoryKey?: string;
  /** Rewrite a document's chunks as one snapshot once it has this many. */
  compactAfterChunks?: number;
  /**
   * The id of a new document with this key when its spec gives none (ids that name their owner, see
   * federation/ids.ts); random when absent.
   */
  idFor?: (key: string) => DocumentId;
}

export interface OwnedDocumentsComponents {
  store: NodeStore;
  repo: Repo;
  /** The Repo's storage, to tell whether it already holds a copy of a document. */
  repoStorage: StorageAdapterInterface;
  logger: Logger;
}

/** One edit in a transaction: which document, the record it concerns, and a mutation of the document. */
export interface DocumentEdit {
  key: string;
  subject?: string;
  change: (doc: Record<string, unknown>) => void;
}

/** A side write that must land in the same LevelDB batch as the document changes. */
export type ExtraOperations = StoreBatchOperation[];

/** What a transaction does: documents to create, edits (also of those new documents), side writes. */
export interface TransactionPlan<R> {
  edits: DocumentEdit[];
  create?: readonly OwnedDocumentSpec[];
  extra?: ExtraOperations;
  result: R;
}

interface PendingTransaction {
  meta: ChangeMeta;
  plan: () => TransactionPlan<unknown>;
  resolve: (result: unknown) => void;
  reject: (error: unknown) => void;
}

/**
 * At most this many transactions in one group commit: the ones on one document each are applied
 * without yielding, so the group also bounds how long the event loop is held.
 */
const MAX_GROUP = 128;

const REGISTRY_KEY = "documents";

function releasedKey(key: string): string {
  return `released/${key}`;
}

/** The changes under a release-only document's released heads, as one loadable chunk. */
function releasedBytes(owned: Owned): Uint8Array {
  const changes = changesUpTo(changeGraph(owned.doc), owned.releasedHeads ?? []);
  return A.save(A.applyChanges(A.init<unknown>(), changes)[0]);
}
const CHUNK_DIGITS = 12;
const COMPACT_DELTA_BYTES = 64 * 1024;

function chunkKey(id: DocumentId, n: number): string {
  return `${id}/${String(n).padStart(CHUNK_DIGITS, "0")}`;
}

function parseMessage(message: string | null): ChangeMeta | undefined {
  if (!message) return undefined;
  try {
    const parsed = JSON.parse(message) as Partial<ChangeMeta>;
    if (typeof parsed.operatorId === "string" && typeof parsed.action === "string") {
      return {
        operatorId: parsed.operatorId,
        action: parsed.action,
        subjects: Array.isArray(parsed.subjects) ? parsed.subjects : [],
      };
    }
  } catch {
    // not one of ours
  }
  return undefined;
}

/**
 * The authoring copies of the documents this node owns (docs/architecture.md, "Documents and ownership").
 *
 * Only the node's own API changes them: every change is made here, persisted to LevelDB in one batch
 * (with any private data), and only then acknowledged and published into the Repo's copy with
 * `loadIncremental(saveSince(authoring, lastPublishedHeads))`. Whatever reaches the Repo's copy from
 * elsewhere never flows back here, so it is never signed.
 *
 * Transactions are serialised: one runs at a time, so a read-then-write sees no interleaving.
 */
export class OwnedDocuments {
  readonly #store: NodeStore;
  readonly #repo: Repo;
  readonly #repoStorage: StorageAdapterInterface;
  readonly #log: Logger;
  readonly #owner: string;
  readonly #compactAfter: number;
  readonly #directoryKey: string | undefined;
  readonly #docs = new Map<string, Owned>();
  /** Replicated documents by id. */
  readonly #replicated = new Map<string, Owned>();
  /** Release-only documents not released yet (asked on every share decision: kept, not searched). */
  readonly #unreleased = new Set<string>();
  readonly #idFor: ((key: string) => DocumentId) | undefined;
  readonly #commitListeners = new Set<(keys: string[]) => void>();
  readonly #queue = new SerialQueue();
  /** Transactions waiting for the next group commit, and whether one is queued to take them. */
  readonly #waiting: PendingTransaction[] = [];
  #groupScheduled = false;
  #batchesWritten = 0;
  /** While a transaction's plan runs: the documents as the transactions before it in its group left them. */
  #planning: { docs: ReadonlyMap<string, A.Doc<unknown>>; fresh: ReadonlyMap<string, Owned> } | undefined;

  constructor(init: OwnedDocumentsInit, components: OwnedDocumentsComponents) {
    this.#owner = init.owner;
    this.#compactAfter = init.compactAfterChunks ?? 256;
    this.#directoryKey = init.directoryKey;
    this.#idFor = init.idFor;
    this.#store = components.store;
    this.#repo = components.repo;
    this.#repoStorage = components.repoStorage;
    this.#log = components.logger;
  }

  /** Loads every registered document, checking its header and schema version. */
  async open(): Promise<void> {
    const registry = ((await this.#store.meta.get(REGISTRY_KEY)) as RegistryEntry[] | undefined) ?? [];
    for (const entry of registry) {
      const owned = await this.#load(entry);
      if (entry.releaseOnly) {
        const released = (await this.#store.meta.get(releasedKey(entry.key)).catch(() => undefined)) as
          | A.Heads
          | undefined;
        if (released) owned.releasedHeads = released;
      }
      this.#docs.set(entry.key, owned);
      if (entry.replicated) this.#replicated.set(entry.id, owned);
      if (entry.releaseOnly && !owned.releasedHeads) this.#unreleased.add(entry.id);
    }
  }

  /** Creates the documents of `specs` that do not exist yet, and publishes replicated ones into the Repo. */
  async ensure(specs: readonly OwnedDocumentSpec[]): Promise<void> {
    const missing = specs.filter((spec) => !this.#docs.has(spec.key));
    if (missing.length > 0) {
      await this.transact({ operatorId: "system", action: "document.create" }, () => ({
        edits: [],
        create: missing,
        result: undefined,
      }));
    }
    // Documents made before the directory existed are listed now.
    const unlisted = this.#unlisted([...this.#docs.values()]);
    if (unlisted.length > 0) {
      await this.transact({ operatorId: "system", action: "directory.list" }, () => ({
        edits: this.#listingEdits(unlisted),
        result: undefined,
      }));
    }
    for (const owned of this.#docs.values()) {
      if (owned.entry.replicated && !owned.handle) await this.#attach(owned);
    }
    this.#log.info({ documents: this.#docs.size, created: missing.length }, "owned documents ready");
  }

  async #load(entry: RegistryEntry): Promise<Owned> {
    const chunks: Uint8Array[] = [];
    let last = -1;
    for await (const [key, value] of this.#store.docs.iterator({ gt: `${entry.id}/`, lt: `${entry.id}/~` })) {
      chunks.push(value);
      last = Number(key.slice(entry.id.length + 1));
    }
    if (chunks.length === 0) {
      throw new Error(`document ${entry.key} (${entry.id}) is registered but has no stored chunks`);
    }
    // A.load reads a snapshot followed by incremental chunks in one pass, far faster than
    // loadIncremental chunk by chunk (which materialises every intermediate state).
    const doc = A.load<unknown>(Buffer.concat(chunks));
    const header = checkHeader(doc, entry.type, entry.id);
    if (header.owner !== this.#owner) {
      throw failedPrecondition(
        `this data directory holds the documents of hub '${header.owner}', but hub.id in the configuration is '${this.#owner}'; a hub's id cannot change`,
      );
    }
    const heads = A.getHeads(doc);
    return { entry, doc, persistedHeads: heads, publishedHeads: [], nextChunk: last + 1, chunkCount: chunks.length };
  }

  /** Replicated documents the directory does not list yet. */
  #unlisted(candidates: readonly Owned[]): Owned[] {
    const key = this.#directoryKey;
    if (!key || !this.#docs.has(key)) return [];
    const listed = (this.#docs.get(key)?.doc as { documents?: Record<string, unknown> } | undefined)?.documents ?? {};
    return candidates.filter((o) => o.entry.replicated && o.entry.key !== key && !Object.hasOwn(listed, o.entry.id));
  }

  /** Edits that list `owned` documents in the directory. */
  #listingEdits(owned: readonly Owned[]): DocumentEdit[] {
    const key = this.#directoryKey;
    if (!key || owned.length === 0) return [];
    return owned.map((o) => ({
      key,
      change: (doc: Record<string, unknown>) => {
        const documents = doc.documents as Record<string, unknown>;
        documents[o.entry.id] = { type: new A.ImmutableString(o.entry.type), key: new A.ImmutableString(o.entry.key) };
      },
    }));
  }

  /** A new document (not yet persisted) with its header and initial content, made by `system`. */
  #newDocument(spec: OwnedDocumentSpec): Owned {
    if (this.#docs.has(spec.key)) throw new Error(`document '${spec.key}' exists already`);
    const id = spec.id ?? this.#idFor?.(spec.key) ?? parseAutomergeUrl(generateAutomergeUrl()).documentId;
    const content: Record<string, unknown> = { header: makeHeader(spec.type, this.#owner), ...spec.initial };
    const message = JSON.stringify({
      operatorId: "system",
      action: "document.create",
      subjects: [spec.key],
    } satisfies ChangeMeta);
    const doc = A.change(A.init<Record<string, unknown>>(), { message }, (d) => {
      Object.assign(d, content);
    }) as A.Doc<unknown>;
    const entry: RegistryEntry = {
      key: spec.key,
      id,
      type: spec.type,
      replicated: spec.replicated,
      ...(spec.publish === "on-release" ? { releaseOnly: true } : {}),
    };
    return { entry, doc, persistedHeads: [], publishedHeads: [], nextChunk: 0, chunkCount: 0 };
  }

  /**
   * Gives the Repo a copy of `owned` built from the authoring copy (for a release-only document:
   * exactly the changes under its released heads, or nothing before the first release). Whatever
   * copy the Repo stored before is dropped first: the authoring copy is what a start trusts, so a
   * change that reached the Repo's copy some other way (or a save cut short by a crash) can neither
   * be published nor stop the node from starting.
   */
  async #attach(owned: Owned): Promise<void> {
    const id = owned.entry.id;
    if (owned.entry.releaseOnly && !owned.releasedHeads) return;
    // Only document chunks: the sync states stored under the id are the peers', and stay.
    await Promise.all([
      this.#repoStorage.removeRange([id, "snapshot"]),
      this.#repoStorage.removeRange([id, "incremental"]),
    ]);
    owned.handle = this.#repo.import<unknown>(owned.entry.releaseOnly ? releasedBytes(owned) : A.save(owned.doc), {
      docId: id,
    });
    owned.publishedHeads = owned.releasedHeads ?? owned.persistedHeads;
  }

  /** The batch operation that records a release-only document's released heads (with the release's signature). */
  releasedHeadsOperation(key: string, heads: readonly string[]): StoreBatchOperation {
    this.#require(key);
    return { type: "put", sublevel: this.#store.meta, key: releasedKey(key), value: [...heads] };
  }

  /** Publishes a release-only document up to `heads` (after `releasedHeadsOperation` was persisted). */
  async publishRelease(key: string, heads: readonly string[]): Promise<void> {
    const owned = this.#require(key);
    if (!owned.entry.releaseOnly) throw new Error(`document '${key}' is published on every commit, not by release`);
    owned.releasedHeads = [...heads];
    this.#unreleased.delete(owned.entry.id);
    if (!owned.handle) {
      await this.#attach(owned);
      return;
    }
    this.#publishInto(owned, releasedBytes(owned), [...heads]);
  }

  /** The heads last released of a release-only document (undefined before its first release). */
  releasedHeads(key: string): A.Heads | undefined {
    return this.#require(key).releasedHeads;
  }

  /**
   * The current authoring copy of a document (read-only; change it through `transact`). Inside a
   * transaction's plan: as the transactions before it in its group left it.
   */
  get<T>(key: string): A.Doc<T> {
    return (this.#planning?.docs.get(key) ?? this.#require(key).doc) as A.Doc<T>;
  }

  has(key: string): boolean {
    return this.#docs.has(key) || this.#planning?.fresh.has(key) === true;
  }

  /**
   * Calls `listener` after every transaction that changed documents, with their keys (once the
   * changes are persisted and published). Used to sign checkpoints and to re-index. Returns the
   * unsubscribe.
   */
  onCommit(listener: (keys: string[]) => void): () => void {
    this.#commitListeners.add(listener);
    return () => this.#commitListeners.delete(listener);
  }

  /** Is `documentId` one of this node's replicated documents (private ones never are)? */
  isReplicated(documentId: string): boolean {
    return this.#replicated.has(documentId);
  }

  /** Is `documentId` shared now: replicated, and (for a release-only document) released at least once? */
  isPublished(documentId: string): boolean {
    return this.#replicated.has(documentId) && !this.#unreleased.has(documentId);
  }

  /**
   * The heads this node signs for a sync message of its published document whose Repo copy is at
   * `heads`: those heads when they are in the authoring copy (its own history), else the heads it
   * published last (the Repo's copy then holds something that is not its own, which it never signs).
   */
  attestableHeads(documentId: string, heads: string[]): string[] | undefined {
    const owned = this.#replicated.get(documentId);
    if (!owned || this.#unreleased.has(documentId)) return undefined;
    if (A.hasHeads(owned.doc, heads)) return heads;
    const published = owned.releasedHeads ?? owned.publishedHeads;
    return published.length > 0 ? [...published].sort() : undefined;
  }

  /** The document id of a document this node owns. */
  idOf(key: string): DocumentId {
    return this.#require(key).entry.id;
  }

  describe(): Array<{
    key: string;
    id: DocumentId;
    header: PlainHeader;
    heads: A.Heads;
    replicated: boolean;
    releaseOnly: boolean;
  }> {
    const planning = this.#planning;
    const owned = planning ? [...this.#docs.values(), ...planning.fresh.values()] : [...this.#docs.values()];
    return owned.map((o) => ({
      key: o.entry.key,
      id: o.entry.id,
      header: checkHeader(planning?.docs.get(o.entry.key) ?? o.doc, o.entry.type, o.entry.id),
      heads: A.getHeads(planning?.docs.get(o.entry.key) ?? o.doc),
      replicated: o.entry.replicated,
      releaseOnly: o.entry.releaseOnly === true,
    }));
  }

  /** Is this document published only by release (so checkpointed only by release)? */
  isReleaseOnly(key: string): boolean {
    return this.#require(key).entry.releaseOnly === true;
  }

  #require(key: string): Owned {
    const owned = this.#docs.get(key) ?? this.#planning?.fresh.get(key);
    if (!owned) throw new Error(`no owned document '${key}'`);
    return owned;
  }

  /**
   * Runs `plan` exclusively: it reads the current documents and returns the edits to make (or throws
   * to refuse, changing nothing). The edits are applied to the authoring copies, persisted in one
   * LevelDB batch together with `extra` operations, and published. Resolves after the batch is
   * written: only then may the caller acknowledge.
   *
   * Group commit: transactions that arrive while a batch is being written wait, and are then planned
   * one after the other (each sees the documents as the ones before it left them), each as its own
   * Automerge change with its own operator and action, and written together in the next batch, with
   * one publish, one re-index and one checkpoint for all of them.
   */
  transact<R>(meta: ChangeMeta, plan: () => TransactionPlan<R>): Promise<R> {
    const done = new Promise<R>((resolve, reject) => {
      this.#waiting.push({ meta, plan, resolve: resolve as (result: unknown) => void, reject });
    });
    this.#scheduleGroup();
    return done;
  }

  /** Queues a group commit for the waiting transactions, unless one is queued already. */
  #scheduleGroup(): void {
    if (this.#groupScheduled) return;
    this.#groupScheduled = true;
    void this.#queue.run(async () => {
      this.#groupScheduled = false;
      const group = this.#waiting.splice(0, MAX_GROUP);
      if (this.#waiting.length > 0) this.#scheduleGroup();
      try {
        await this.#commitGroup(group);
      } catch (error) {
        // Not a refusal (those reject their own transaction): settle whatever is still waiting
        // (settled promises ignore it) rather than leave a caller hanging.
        this.#log.error({ err: error }, "a group commit failed");
        for (const tx of group) tx.reject(error);
      }
    });
  }

  /** Batches written (one per group of transactions), for tests and metrics. */
  get batchesWritten(): number {
    return this.#batchesWritten;
  }

  async #commitGroup(group: PendingTransaction[]): Promise<void> {
    if (group.length === 0) return;
    // Documents as changed by this group so far (authoring copies, not yet persisted), and the
    // documents it creates: registered, listed in the directory and persisted in the same batch.
    const docs = new Map<string, A.Doc<unknown>>();
    const fresh = new Map<string, Owned>();
    const extra: StoreBatchOperation[] = [];
    const accepted: Array<{ tx: PendingTransaction; result: unknown }> = [];
    const lookup = (key: string): Owned => fresh.get(key) ?? this.#require(key);
    const time = Math.floor(Date.now() / 1000);
    for (const [i, tx] of group.entries()) {
      let planned: TransactionPlan<unknown>;
      let created: Owned[];
      try {
        this.#planning = { docs, fresh };
        try {
          planned = tx.plan();
        } finally {
          this.#planning = undefined;
        }
        created = (planned.create ?? []).map((spec) => {
          if (fresh.has(spec.key)) throw new Error(`document '${spec.key}' exists already`);
          return this.#newDocument(spec);
        });
      } catch (error) {
        // Refused while planning: nothing of this transaction was applied.
        tx.reject(error);
        continue;
      }
      for (const owned of created) {
        fresh.set(owned.entry.key, owned);
        docs.set(owned.entry.key, owned.doc);
      }
      const edits = [
        ...planned.edits,
        ...this.#listingEdits(created.filter((o) => o.entry.replicated && o.entry.key !== this.#directoryKey)),
      ];
      // One Automerge change per document, whose message names the operator, the action and the
      // records it touched.
      const byDocument = new Map<string, DocumentEdit[]>();
      for (const edit of edits) {
        const list = byDocument.get(edit.key) ?? [];
        list.push(edit);
        byDocument.set(edit.key, list);
      }
      try {
        for (const [key, list] of byDocument) {
          const subjects = list.flatMap((e) => (e.subject === undefined ? [] : [e.subject]));
          const message = JSON.stringify({
            operatorId: tx.meta.operatorId,
            action: tx.meta.action,
            subjects,
          } satisfies ChangeMeta);
          const next = A.change(
            (docs.get(key) ?? lookup(key).doc) as A.Doc<Record<string, unknown>>,
            { message, time },
            (doc) => {
              for (const edit of list) edit.change(doc);
            },
          ) as A.Doc<unknown>;
          docs.set(key, next);
          // A bulk write spans many documents: let other calls run between them, so that the API
          // keeps answering during an import. Readers still see the previous state until the batch lands.
          if (byDocument.size > 1) await new Promise<void>((resolve) => setImmediate(resolve));
        }
      } catch (error) {
        // A.change rolls back the failing change, but this group's earlier changes may sit on a
        // document it replaced: reload every changed document from what is persisted, refuse this
        // transaction, and plan the others again from there.
        await this.#reload([...docs.keys()].filter((key) => !fresh.has(key)));
        tx.reject(error);
        return this.#commitGroup([...accepted.map((a) => a.tx), ...group.slice(i + 1)]);
      }
      extra.push(...(planned.extra ?? []));
      accepted.push({ tx, result: planned.result });
    }

    const ops: StoreBatchOperation[] = [...extra];
    const updates: Array<{ owned: Owned; doc: A.Doc<unknown>; compacted: boolean }> = [];
    for (const [key, doc] of docs) {
      const owned = lookup(key);
      const delta = A.saveSince(doc, owned.persistedHeads);
      if (delta.byteLength === 0) continue;
      // Many small chunks, or one large one (saveSince is not compressed, a snapshot is): rewrite
      // the document as one snapshot instead.
      const compacted = owned.chunkCount + 1 > this.#compactAfter || delta.byteLength > COMPACT_DELTA_BYTES;
      if (compacted) {
        // Replace every chunk by one snapshot, in the same batch.
        for (let n = owned.nextChunk - owned.chunkCount; n < owned.nextChunk; n += 1) {
          ops.push({ type: "del", sublevel: this.#store.docs, key: chunkKey(owned.entry.id, n) });
        }
        ops.push({
          type: "put",
          sublevel: this.#store.docs,
          key: chunkKey(owned.entry.id, owned.nextChunk),
          value: A.save(doc),
        });
      } else {
        ops.push({
          type: "put",
          sublevel: this.#store.docs,
          key: chunkKey(owned.entry.id, owned.nextChunk),
          value: delta,
        });
      }
      updates.push({ owned, doc, compacted });
    }

    if (fresh.size > 0) {
      const registry = [...this.#docs.values(), ...fresh.values()].map((o) => o.entry);
      ops.push({ type: "put", sublevel: this.#store.meta, key: REGISTRY_KEY, value: registry });
    }

    try {
      await this.#store.batch(ops);
      this.#batchesWritten += ops.length > 0 ? 1 : 0;
    } catch (error) {
      await this.#reload([...docs.keys()].filter((key) => !fresh.has(key)));
      for (const { tx } of accepted) tx.reject(error);
      return;
    }

    for (const owned of fresh.values()) {
      this.#docs.set(owned.entry.key, owned);
      if (owned.entry.replicated) this.#replicated.set(owned.entry.id, owned);
      if (owned.entry.releaseOnly) this.#unreleased.add(owned.entry.id);
    }
    for (const { owned, doc, compacted } of updates) {
      owned.doc = doc;
      owned.persistedHeads = A.getHeads(doc);
      owned.chunkCount = compacted ? 1 : owned.chunkCount + 1;
      owned.nextChunk += 1;
      this.#publish(owned);
    }
    // New replicated documents enter the Repo once persisted (existing ones were published above).
    for (const owned of fresh.values()) {
      if (owned.entry.replicated) await this.#attach(owned);
    }
    const keys = updates.map((u) => u.owned.entry.key);
    if (keys.length > 0) {
      for (const listener of this.#commitListeners) {
        try {
          listener(keys);
        } catch (error) {
          this.#log.error({ err: error }, "commit listener failed");
        }
      }
    }
    for (const { tx, result } of accepted) tx.resolve(result);
  }

  /** Brings the Repo's copy up to the authoring copy, sending only what it has not seen from us. */
  #publish(owned: Owned): void {
    if (!owned.handle || owned.entry.releaseOnly) return;
    this.#publishInto(owned, A.saveSince(owned.doc, owned.publishedHeads), owned.persistedHeads);
  }

  /**
   * Loads `bytes` (changes already persisted) into the Repo's copy. If the copy refuses them, the
   * write stays what it is — durable, and acknowledged — and the copy is rebuilt from the authoring
   * copy at the next start; until then this document is not published further (said once).
   */
  #publishInto(owned: Owned, bytes: Uint8Array, heads: A.Heads): void {
    if (owned.publishFailed || !owned.handle) return;
    try {
      owned.handle.update((d) => A.loadIncremental(d, bytes));
      owned.publishedHeads = heads;
    } catch (error) {
      owned.publishFailed = true;
      this.#log.error(
        { document: owned.entry.id, key: owned.entry.key, err: (error as Error).message },
        "the Repo's copy refused a committed change; the change is durable, and the copy is rebuilt from the authoring copy at the next start",
      );
    }
  }

  async #reload(keys: string[]): Promise<void> {
    for (const key of keys) {
      const owned = this.#require(key);
      const fresh = await this.#load(owned.entry);
      owned.doc = fresh.doc;
      owned.persistedHeads = fresh.persistedHeads;
      owned.chunkCount = fresh.chunkCount;
      owned.nextChunk = fresh.nextChunk;
    }
  }

  /** Changes recorded in a document, with who made them (from the change messages), oldest first. */
  history(key: string): ChangeRecord[] {
    const owned = this.#require(key);
    const records: ChangeRecord[] = [];
    for (const change of A.getChangesMetaSince(owned.doc, [])) {
      const meta = parseMessage(change.message);
      if (meta) records.push({ ...meta, time: change.time * 1000, documentKey: key });
    }
    return records;
  }

  /** Waits for queued transactions; used before shutdown. */
  async idle(): Promise<void> {
    await this.#queue.idle();
  }
}
