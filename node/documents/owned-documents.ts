import * as A from "@automerge/automerge";
import type { DocumentId, StorageAdapterInterface } from "@automerge/automerge-repo";
import type { Replica } from "../replica/index.js";
import type { Logger } from "pino";
import type { NodeStore, StoreBatchOperation } from "../storage/index.js";
import { ChunkStore } from "./chunk-store.js";
import { checkHeader, type PlainHeader } from "./header.js";
import { listingEdits, unlisted, type DocumentListing } from "./listing.js";
import { Publication } from "./publication.js";
import { DocumentRegistry, type AuthoringCopy, type OwnedDocumentSpec } from "./registry.js";
import { Transactions, type ChangeMeta, type TransactionPlan } from "./transactions.js";

export interface ChangeRecord extends ChangeMeta {
  /** Milliseconds since the epoch. */
  time: number;
  documentKey: string;
}

export interface OwnedDocumentsInit {
  /** Hub id of this node: the owner written into headers. */
  owner: string;
  /**
   * Where every replicated document is listed, in the transaction that creates it, so that peers
   * learn what this node shares (the hub's directory, supplied by the federation).
   */
  listing?: DocumentListing;
  /** Rewrite a document's chunks as one snapshot once it has more than this many (chunk-store.ts). */
  compactAfterChunks?: number;
  /** ... or once the chunks after its snapshot hold more than this many bytes. */
  compactAfterBytes?: number;
  /**
   * The id of a new document with this key when its spec gives none (ids that name their owner, see
   * ids.ts); random when absent.
   */
  idFor?: (key: string) => DocumentId;
}

export interface OwnedDocumentsComponents {
  store: NodeStore;
  /** The Repo's copies (in the replica worker), where replicated documents are published. */
  replica: Replica;
  /** The Repo's storage, to tell whether it already holds a copy of a document. */
  repoStorage: StorageAdapterInterface;
  logger: Logger;
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
 * The authoring copies of the documents this node owns (docs/architecture.md, "Documents and ownership"),
 * as the rest of the node uses them. Four parts do the work:
 * - `DocumentRegistry` (registry.ts): which documents exist, loaded and checked at start;
 * - `ChunkStore` (chunk-store.ts): their chunks in LevelDB, appended and compacted;
 * - `Transactions` (transactions.ts): group commit — changes are stored in one batch (with any
 *   private data), and only then published and acknowledged;
 * - `Publication` (publication.ts): the Repo's copies, published from the authoring copies. Whatever
 *   reaches a Repo copy from elsewhere never flows back here, so it is never signed.
 * Where replicated documents are listed (the directory) is the `DocumentListing` it is given.
 */
export class OwnedDocuments {
  readonly #log: Logger;
  readonly #listing: DocumentListing | undefined;
  readonly #registry: DocumentRegistry;
  readonly #publication: Publication;
  readonly #transactions: Transactions;
  readonly #chunks: ChunkStore;

  constructor(init: OwnedDocumentsInit, components: OwnedDocumentsComponents) {
    const { store, replica, repoStorage, logger } = components;
    this.#log = logger;
    this.#listing = init.listing;
    const chunks = new ChunkStore(
      {
        ...(init.compactAfterChunks !== undefined ? { compactAfterChunks: init.compactAfterChunks } : {}),
        ...(init.compactAfterBytes !== undefined ? { compactAfterBytes: init.compactAfterBytes } : {}),
      },
      { store, snapshot: (stored) => replica.snapshot(stored), logger },
    );
    this.#chunks = chunks;
    this.#registry = new DocumentRegistry({ owner: init.owner, idFor: init.idFor }, { store, chunks });
    this.#publication = new Publication({ replica, repoStorage, store, logger });
    this.#transactions = new Transactions({
      store,
      registry: this.#registry,
      chunks,
      listing: init.listing,
      publisher: this.#publication,
      logger,
    });
  }

  /**
   * The id a document was registered under, read from the store before any document is loaded (the
   * node derives its other documents' ids from its directory's, which stays when its key is rotated).
   */
  static async registeredId(store: NodeStore, key: string): Promise<DocumentId | undefined> {
    return DocumentRegistry.registeredId(store, key);
  }

  /** Loads every registered document, checking its header and schema version. */
  async open(): Promise<void> {
    await this.#publication.open(await this.#registry.open());
  }

  /** Creates the documents of `specs` that do not exist yet, and publishes replicated ones into the Repo. */
  async ensure(specs: readonly OwnedDocumentSpec[]): Promise<void> {
    const missing = specs.filter((spec) => !this.#registry.has(spec.key));
    if (missing.length > 0) {
      await this.transact({ operatorId: "system", action: "document.create" }, () => ({
        edits: [],
        create: missing,
        result: undefined,
      }));
    }
    // Documents made before the listing existed are listed now.
    const listing = this.#listing;
    const listingCopy = listing && this.#registry.get(listing.key);
    const toList = listingCopy ? unlisted(listing, listingCopy.doc, this.#registry.values()) : [];
    if (toList.length > 0) {
      await this.transact({ operatorId: "system", action: "directory.list" }, () => ({
        edits: listingEdits(listing, toList),
        result: undefined,
      }));
    }
    await this.#publication.attachAll(this.#registry.values());
    this.#log.info({ documents: this.#registry.size, created: missing.length }, "owned documents ready");
  }

  /**
   * Runs `plan` exclusively: it reads the current documents and returns the edits to make (or throws
   * to refuse, changing nothing). The edits are applied to the authoring copies, stored in one
   * LevelDB batch together with `extra` operations, and published. Resolves after the batch is
   * written: only then may the caller acknowledge. Transactions that arrive meanwhile are committed
   * together (group commit, see transactions.ts), each as its own change.
   */
  transact<R>(meta: ChangeMeta, plan: () => TransactionPlan<R>): Promise<R> {
    return this.#transactions.transact(meta, plan);
  }

  /**
   * Calls `listener` after every transaction that changed documents, with their keys (once the
   * changes are stored and published). Used to sign checkpoints and to re-index. Returns the
   * unsubscribe.
   */
  onCommit(listener: (keys: string[]) => void): () => void {
    return this.#transactions.onCommit(listener);
  }

  /** Batches written (one per group of transactions), for tests and metrics. */
  get batchesWritten(): number {
    return this.#transactions.batchesWritten;
  }

  /** Waits for queued transactions and the compactions they started; used before shutdown. */
  async idle(): Promise<void> {
    await this.#transactions.idle();
    await this.#chunks.idle();
  }

  /** Documents compacted since the node started (chunk-store.ts). */
  get compactions(): number {
    return this.#chunks.compactions;
  }

  /**
   * The current authoring copy of a document (read-only; change it through `transact`). Inside a
   * transaction's plan: as the transactions before it in its group left it.
   */
  get<T>(key: string): A.Doc<T> {
    return (this.#transactions.planning?.docs.get(key) ?? this.#require(key).doc) as A.Doc<T>;
  }

  has(key: string): boolean {
    return this.#registry.has(key) || this.#transactions.planning?.created.has(key) === true;
  }

  /** The document id of a document this node owns. */
  idOf(key: string): DocumentId {
    return this.#require(key).entry.id;
  }

  /** Is this document published only by release (so checkpointed only by release)? */
  isReleaseOnly(key: string): boolean {
    return this.#require(key).entry.releaseOnly === true;
  }

  describe(): Array<{
    key: string;
    id: DocumentId;
    header: PlainHeader;
    heads: A.Heads;
    replicated: boolean;
    releaseOnly: boolean;
  }> {
    const planning = this.#transactions.planning;
    const copies = [...this.#registry.values(), ...(planning?.created.values() ?? [])];
    return copies.map(({ entry, doc }) => {
      const current = planning?.docs.get(entry.key) ?? doc;
      return {
        key: entry.key,
        id: entry.id,
        header: checkHeader(current, entry.type, entry.id),
        heads: A.getHeads(current),
        replicated: entry.replicated,
        releaseOnly: entry.releaseOnly === true,
      };
    });
  }

  /** Changes recorded in a document, with who made them (from the change messages), oldest first. */
  history(key: string): ChangeRecord[] {
    const records: ChangeRecord[] = [];
    for (const change of A.getChangesMetaSince(this.#require(key).doc, [])) {
      const meta = parseMessage(change.message);
      if (meta) records.push({ ...meta, time: change.time * 1000, documentKey: key });
    }
    return records;
  }

  /** The batch operation that records a release-only document's released heads (with the release's signature). */
  releasedHeadsOperation(key: string, heads: readonly string[]): StoreBatchOperation {
    return this.#publication.releasedHeadsOperation(this.#require(key), heads);
  }

  /** Publishes a release-only document up to `heads` (after `releasedHeadsOperation` was persisted). */
  async publishRelease(key: string, heads: readonly string[]): Promise<void> {
    await this.#publication.publishRelease(this.#require(key), heads);
  }

  /** The heads last released of a release-only document (undefined before its first release). */
  releasedHeads(key: string): A.Heads | undefined {
    return this.#publication.releasedHeads(this.#require(key).entry.id);
  }

  /** Is `documentId` one of this node's replicated documents (private ones never are)? */
  isReplicated(documentId: string): boolean {
    return this.#publication.isReplicated(documentId);
  }

  /** Is `documentId` shared now: replicated, and (for a release-only document) released at least once? */
  isPublished(documentId: string): boolean {
    return this.#publication.isPublished(documentId);
  }

  /** See `Publication.attestableHeads`: the heads this node signs for its published document. */
  attestableHeads(documentId: string, heads: string[]): string[] | undefined {
    return this.#publication.attestableHeads(documentId, heads);
  }

  #require(key: string): AuthoringCopy {
    const copy = this.#registry.get(key) ?? this.#transactions.planning?.created.get(key);
    if (!copy) throw new Error(`no owned document '${key}'`);
    return copy;
  }
}
