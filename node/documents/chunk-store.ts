import * as A from "@automerge/automerge";
import type { DocumentId } from "@automerge/automerge-repo";
import type { NodeStore, StoreBatchOperation } from "../storage/index.js";

export interface ChunkStoreInit {
  /** Rewrite a document's chunks as one snapshot once it has this many (default 256). */
  compactAfterChunks?: number;
}

export interface ChunkStoreComponents {
  store: NodeStore;
}

/**
 * The writes that append one document's changes, to go into a LevelDB batch with the rest of a
 * transaction. `applied()` once that batch is written; a batch that failed is simply dropped.
 */
export interface ChunkAppend {
  readonly operations: readonly StoreBatchOperation[];
  /** Every earlier chunk is replaced by one snapshot. */
  readonly compacted: boolean;
  applied(): void;
}

/** Where a document's chunks lie: `next` is the number of the next chunk, `count` how many are stored. */
interface Span {
  next: number;
  count: number;
}

const CHUNK_DIGITS = 12;
/** A change this large is written as a snapshot (compressed) rather than as an uncompressed chunk. */
const COMPACT_DELTA_BYTES = 64 * 1024;

function chunkKey(id: DocumentId, n: number): string {
  return `${id}/${String(n).padStart(CHUNK_DIGITS, "0")}`;
}

/**
 * The authoring copies of owned documents as LevelDB stores them (the `docs` sublevel): per document,
 * numbered chunks under its id — a snapshot followed by the incremental changes written since, which
 * are rewritten as one snapshot when they grow too many or one is large. It writes nothing itself:
 * `append` gives the operations for the caller's batch, so a document change lands atomically with
 * whatever else its transaction writes.
 */
export class ChunkStore {
  readonly #store: NodeStore;
  readonly #compactAfter: number;
  readonly #spans = new Map<DocumentId, Span>();

  constructor(init: ChunkStoreInit, components: ChunkStoreComponents) {
    this.#compactAfter = init.compactAfterChunks ?? 256;
    this.#store = components.store;
  }

  /** The document as stored (undefined when nothing is stored under `id`). */
  async load(id: DocumentId): Promise<A.Doc<unknown> | undefined> {
    const chunks: Uint8Array[] = [];
    let last = -1;
    for await (const [key, value] of this.#store.docs.iterator({ gt: `${id}/`, lt: `${id}/~` })) {
      chunks.push(value);
      last = Number(key.slice(id.length + 1));
    }
    if (chunks.length === 0) return undefined;
    this.#spans.set(id, { next: last + 1, count: chunks.length });
    // A.load reads a snapshot followed by incremental chunks in one pass, far faster than
    // loadIncremental chunk by chunk (which materialises every intermediate state).
    return A.load<unknown>(Buffer.concat(chunks));
  }

  /**
   * The operations that store `doc`'s changes since `storedHeads` (what is stored of it now; none
   * for a new document), or undefined when there are none.
   */
  append(id: DocumentId, doc: A.Doc<unknown>, storedHeads: A.Heads): ChunkAppend | undefined {
    const delta = A.saveSince(doc, storedHeads);
    if (delta.byteLength === 0) return undefined;
    const span = this.#spans.get(id) ?? { next: 0, count: 0 };
    // Many small chunks, or one large one (saveSince is not compressed, a snapshot is): rewrite the
    // document as one snapshot instead, in the same batch.
    const compacted = span.count + 1 > this.#compactAfter || delta.byteLength > COMPACT_DELTA_BYTES;
    const operations: StoreBatchOperation[] = [];
    if (compacted) {
      for (let n = span.next - span.count; n < span.next; n += 1) {
        operations.push({ type: "del", sublevel: this.#store.docs, key: chunkKey(id, n) });
      }
    }
    operations.push({
      type: "put",
      sublevel: this.#store.docs,
      key: chunkKey(id, span.next),
      value: compacted ? A.save(doc) : delta,
    });
    return {
      operations,
      compacted,
      applied: () => this.#spans.set(id, { next: span.next + 1, count: compacted ? 1 : span.count + 1 }),
    };
  }
}
