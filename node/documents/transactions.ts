import * as A from "@automerge/automerge";
import type { Logger } from "pino";
import { SerialQueue } from "../serial-queue.js";
import type { NodeStore, StoreBatchOperation } from "../storage/index.js";
import type { ChunkAppend, ChunkStore } from "./chunk-store.js";
import { listingEdits, type DocumentListing } from "./listing.js";
import type { AuthoringCopy, DocumentRegistry, OwnedDocumentSpec } from "./registry.js";

/** Who made a change and why; recorded as the Automerge change message of every change. */
export interface ChangeMeta {
  /** Operator id from the API credential, or `system` for the node's own bookkeeping. */
  operatorId: string;
  /** What was done, e.g. `trainer.add`. */
  action: string;
  /** The records concerned in this document, e.g. trainer ids (filled in from the edits). */
  subjects?: string[];
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

/** While a transaction's plan runs: the documents as the transactions before it in its group left them. */
export interface PlanningView {
  readonly docs: ReadonlyMap<string, A.Doc<unknown>>;
  /** Documents this group creates (not registered until its batch is written). */
  readonly created: ReadonlyMap<string, AuthoringCopy>;
}

/**
 * What becomes of a group's changes once they are stored, before its transactions are acknowledged
 * (publication into the Repo). A failure here is logged: the writes are durable, and stay acknowledged.
 */
export interface CommitPublisher {
  committed(created: readonly AuthoringCopy[], changed: readonly StoredChanges[]): Promise<void>;
}

/** A document's changes as a group stored them: `bytes` (encoded changes) follow the heads `since`. */
export interface StoredChanges {
  copy: AuthoringCopy;
  bytes: Uint8Array;
  since: A.Heads;
}

export interface TransactionsComponents {
  store: NodeStore;
  registry: DocumentRegistry;
  chunks: ChunkStore;
  /** Where new replicated documents are listed, in the change that creates them. */
  listing?: DocumentListing | undefined;
  publisher: CommitPublisher;
  logger: Logger;
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

/**
 * At most this many edits of one document in one Automerge change: a change's cost grows with its
 * edits, and one is applied without yielding (docs/architecture.md, "Bounded work").
 */
const SLICE_EDITS = 50;

/**
 * Transactions on the authoring copies, with group commit. One group runs at a time, so a
 * read-then-write sees no interleaving. Transactions that arrive while a batch is being written wait,
 * and are then planned one after the other (each sees the documents as the ones before it left
 * them), each as its own Automerge change with its own operator and action, and stored together in
 * one LevelDB batch; only once that batch is written are they published, told to the commit
 * listeners, and acknowledged. A batch that fails acknowledges none of them and changes nothing.
 */
export class Transactions {
  readonly #store: NodeStore;
  readonly #registry: DocumentRegistry;
  readonly #chunks: ChunkStore;
  readonly #listing: DocumentListing | undefined;
  readonly #publisher: CommitPublisher;
  readonly #log: Logger;
  readonly #commitListeners = new Set<(keys: string[]) => void>();
  readonly #queue = new SerialQueue();
  /** Transactions waiting for the next group commit, and whether one is queued to take them. */
  readonly #waiting: PendingTransaction[] = [];
  #groupScheduled = false;
  #batchesWritten = 0;
  #planning: PlanningView | undefined;

  constructor(components: TransactionsComponents) {
    this.#store = components.store;
    this.#registry = components.registry;
    this.#chunks = components.chunks;
    this.#listing = components.listing;
    this.#publisher = components.publisher;
    this.#log = components.logger;
  }

  /**
   * Runs `plan` exclusively: it reads the current documents and returns the edits to make (or throws
   * to refuse, changing nothing). Resolves once the changes are stored: only then may the caller
   * acknowledge.
   */
  transact<R>(meta: ChangeMeta, plan: () => TransactionPlan<R>): Promise<R> {
    const done = new Promise<R>((resolve, reject) => {
      this.#waiting.push({ meta, plan, resolve: resolve as (result: unknown) => void, reject });
    });
    this.#scheduleGroup();
    return done;
  }

  /** Set while a plan runs, so that reads inside it see what the transactions before it did. */
  get planning(): PlanningView | undefined {
    return this.#planning;
  }

  /** Calls `listener` with the changed keys after every group that changed documents. Returns the unsubscribe. */
  onCommit(listener: (keys: string[]) => void): () => void {
    this.#commitListeners.add(listener);
    return () => this.#commitListeners.delete(listener);
  }

  /** Batches written (one per group of transactions), for tests and metrics. */
  get batchesWritten(): number {
    return this.#batchesWritten;
  }

  /** Waits for queued transactions. */
  idle(): Promise<void> {
    return this.#queue.idle();
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

  async #commitGroup(group: PendingTransaction[]): Promise<void> {
    if (group.length === 0) return;
    // Documents as changed by this group so far (not yet stored), and the documents it creates:
    // registered, listed and stored in the same batch.
    const docs = new Map<string, A.Doc<unknown>>();
    // Each document's new changes as Automerge encoded them: what its chunk will hold.
    const changes = new Map<string, Uint8Array[]>();
    const created = new Map<string, AuthoringCopy>();
    const extra: StoreBatchOperation[] = [];
    const accepted: Array<{ tx: PendingTransaction; result: unknown }> = [];
    const time = Math.floor(Date.now() / 1000);
    for (const [i, tx] of group.entries()) {
      const planned = this.#plan(tx, docs, created);
      if (!planned) continue;
      for (const copy of planned.created) {
        created.set(copy.entry.key, copy);
        docs.set(copy.entry.key, copy.doc);
        changes.set(copy.entry.key, A.getAllChanges(copy.doc));
      }
      try {
        await this.#apply(
          tx.meta,
          [...planned.edits, ...listingEdits(this.#listing, planned.created)],
          docs,
          changes,
          created,
          time,
        );
      } catch (error) {
        // A.change rolls back the failing change, but this group's earlier changes may sit on a
        // document it replaced: reload every changed document from what is stored, refuse this
        // transaction, and plan the others again from there.
        await this.#reload(docs, created);
        tx.reject(error);
        return this.#commitGroup([...accepted.map((a) => a.tx), ...group.slice(i + 1)]);
      }
      extra.push(...(planned.extra ?? []));
      accepted.push({ tx, result: planned.result });
    }

    const appends: Array<{ copy: AuthoringCopy; doc: A.Doc<unknown>; append: ChunkAppend; since: A.Heads }> = [];
    for (const [key, doc] of docs) {
      const copy = this.#lookup(key, created);
      const append = await this.#chunks.append(copy.entry.id, changes.get(key) ?? []);
      if (append) appends.push({ copy, doc, append, since: copy.storedHeads });
    }
    const ops = [...extra, ...appends.flatMap((a) => a.append.operations)];
    if (created.size > 0) ops.push(this.#registry.operation(created.values()));
    try {
      await this.#store.batch(ops);
      this.#batchesWritten += ops.length > 0 ? 1 : 0;
    } catch (error) {
      await this.#reload(docs, created);
      for (const { tx } of accepted) tx.reject(error);
      return;
    }

    // Stored: from here on nothing may fail these transactions.
    this.#registry.add(created.values());
    for (const { copy, doc, append } of appends) {
      copy.doc = doc;
      copy.storedHeads = A.getHeads(doc);
      append.applied();
    }
    const changed = appends.map((a): StoredChanges => ({ copy: a.copy, bytes: a.append.bytes, since: a.since }));
    try {
      await this.#publisher.committed([...created.values()], changed);
    } catch (error) {
      this.#log.error({ err: error }, "publishing stored changes failed; they stay durable and acknowledged");
    }
    if (changed.length > 0) {
      const keys = changed.map((c) => c.copy.entry.key);
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

  /** Runs a transaction's plan against the group's documents; undefined (and the transaction refused) if it throws. */
  #plan(
    tx: PendingTransaction,
    docs: ReadonlyMap<string, A.Doc<unknown>>,
    created: ReadonlyMap<string, AuthoringCopy>,
  ): (TransactionPlan<unknown> & { created: AuthoringCopy[] }) | undefined {
    try {
      this.#planning = { docs, created };
      let planned: TransactionPlan<unknown>;
      try {
        planned = tx.plan();
      } finally {
        this.#planning = undefined;
      }
      const fresh = (planned.create ?? []).map((spec) => {
        if (created.has(spec.key)) throw new Error(`document '${spec.key}' exists already`);
        return this.#registry.create(spec);
      });
      return { ...planned, created: fresh };
    } catch (error) {
      // Refused while planning: nothing of this transaction was applied.
      tx.reject(error);
      return undefined;
    }
  }

  /**
   * Applies a transaction's edits to each document as Automerge changes whose messages name the
   * operator, the action and the records each touched: one change per document, or, for more than
   * SLICE_EDITS edits (an import), one per slice of them, with other calls let in between. Automerge's
   * work then stays bounded per turn of the event loop whatever the size of the write.
   */
  async #apply(
    meta: ChangeMeta,
    edits: readonly DocumentEdit[],
    docs: Map<string, A.Doc<unknown>>,
    changes: Map<string, Uint8Array[]>,
    created: ReadonlyMap<string, AuthoringCopy>,
    time: number,
  ): Promise<void> {
    const byDocument = new Map<string, DocumentEdit[]>();
    for (const edit of edits) {
      const list = byDocument.get(edit.key) ?? [];
      list.push(edit);
      byDocument.set(edit.key, list);
    }
    const slices = [...byDocument].flatMap(([key, list]) =>
      Array.from({ length: Math.ceil(list.length / SLICE_EDITS) }, (_, i) => ({
        key,
        list: list.slice(i * SLICE_EDITS, (i + 1) * SLICE_EDITS),
      })),
    );
    for (const { key, list } of slices) {
      const subjects = [...new Set(list.flatMap((e) => (e.subject === undefined ? [] : [e.subject])))];
      const message = JSON.stringify({
        operatorId: meta.operatorId,
        action: meta.action,
        subjects,
      } satisfies ChangeMeta);
      const before = (docs.get(key) ?? this.#lookup(key, created).doc) as A.Doc<Record<string, unknown>>;
      const next = A.change(before, { message, time }, (doc) => {
        for (const edit of list) edit.change(doc);
      }) as A.Doc<unknown>;
      docs.set(key, next);
      // The change as Automerge encoded it (no encoding again to store it); none if nothing changed.
      const [was, now] = [A.getHeads(before), A.getHeads(next)];
      const unchanged = was.length === now.length && was.every((h, i) => h === now[i]);
      const change = unchanged ? undefined : A.getLastLocalChange(next);
      if (change) changes.set(key, [...(changes.get(key) ?? []), change]);
      // Readers still see the previous state until the batch lands.
      if (slices.length > 1) await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  #lookup(key: string, created: ReadonlyMap<string, AuthoringCopy>): AuthoringCopy {
    const copy = created.get(key) ?? this.#registry.get(key);
    if (!copy) throw new Error(`no owned document '${key}'`);
    return copy;
  }

  /** Puts the registered documents this group changed back to what is stored. */
  async #reload(docs: ReadonlyMap<string, unknown>, created: ReadonlyMap<string, AuthoringCopy>): Promise<void> {
    for (const key of docs.keys()) {
      const copy = created.has(key) ? undefined : this.#registry.get(key);
      if (copy) await this.#registry.reload(copy);
    }
  }
}
