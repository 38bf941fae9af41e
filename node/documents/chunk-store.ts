import { promisify } from "node:util";
import { deflateRaw, inflateRaw } from "node:zlib";
import * as A from "@automerge/automerge";
import type { DocumentId } from "@automerge/automerge-repo";
import type { Logger } from "pino";
import type { NodeStore, StoreBatchOperation } from "../storage/index.js";

export interface ChunkStoreInit {
  /** Rewrite a document's chunks as one snapshot once it has more than this many (default 256). */
  compactAfterChunks?: number;
  /** ... or once the chunks after its snapshot hold more than this many bytes (default 1 MiB). */
  compactAfterBytes?: number;
}

export interface ChunkStoreComponents {
  store: NodeStore;
  /**
   * Loads a document from its chunks (a snapshot, then incremental changes) and saves it as one
   * compressed snapshot. It is Automerge work proportional to the whole document, so the node does
   * it in the replica worker, never on the thread that answers the API.
   */
  snapshot: (chunks: Uint8Array[]) => Promise<Uint8Array>;
  logger?: Logger | undefined;
}

/**
 * The writes that append one document's changes, to go into a LevelDB batch with the rest of a
 * transaction. `applied()` once that batch is written; a batch that failed is simply dropped.
 */
export interface ChunkAppend {
  readonly operations: readonly StoreBatchOperation[];
  /** The changes appended, as one chunk. */
  readonly bytes: Uint8Array;
  applied(): void;
}

/**
 * Where a document's chunks lie: numbers `first` to `next - 1`, and the bytes of those after the
 * first (which is a snapshot once the document was compacted).
 */
interface Span {
  first: number;
  next: number;
  bytes: number;
}

const CHUNK_DIGITS = 12;

/**
 * Changes larger than this are stored deflated. LevelDB's batch copies every byte on the calling
 * thread (about 8 ms per MiB here), and Automerge's encoding of a change is not compressed: an import
 * of 10,000 trainers was 13 MiB in one batch. zlib runs on libuv's thread pool, not the API thread.
 */
const DEFLATE_OVER_BYTES = 16 * 1024;
/** Marks a deflated chunk; an Automerge chunk starts with its own magic bytes (0x85 0x6f 0x4a 0x83). */
const DEFLATED = Buffer.from("CCz1", "latin1");
const deflate = promisify(deflateRaw);
const inflate = promisify(inflateRaw);

async function encodeChunk(bytes: Uint8Array): Promise<Uint8Array> {
  if (bytes.byteLength <= DEFLATE_OVER_BYTES) return bytes;
  return Buffer.concat([DEFLATED, await deflate(bytes)]);
}

/** A stored chunk as Automerge reads it (deflated ones inflated, off the API thread). */
async function decodeChunk(stored: Uint8Array): Promise<Uint8Array> {
  const deflated = stored.byteLength >= DEFLATED.byteLength && DEFLATED.equals(stored.subarray(0, DEFLATED.byteLength));
  return deflated ? inflate(stored.subarray(DEFLATED.byteLength)) : stored;
}

function chunkKey(id: DocumentId, n: number): string {
  return `${id}/${String(n).padStart(CHUNK_DIGITS, "0")}`;
}

/**
 * The authoring copies of owned documents as LevelDB stores them (the `docs` sublevel): per document,
 * numbered chunks under its id — a snapshot followed by the incremental changes written since.
 *
 * A transaction's changes are appended as Automerge encoded them when it made them (no work that
 * grows with the document), through `append`, which writes nothing itself but gives the
 * operations for the caller's batch, so that a change lands atomically with whatever else its
 * transaction writes. When the chunks grow too many or too large, the document is compacted in the
 * background: its chunks up to the last are read, made into one snapshot off the API thread
 * (`snapshot`), and written in one batch over the last of them, the earlier ones deleted. Appends
 * made meanwhile lie after it and stay; a crash at any point leaves either the old chunks or the new
 * snapshot, each a whole document.
 */
export class ChunkStore {
  readonly #store: NodeStore;
  readonly #snapshot: (chunks: Uint8Array[]) => Promise<Uint8Array>;
  readonly #log: Logger | undefined;
  readonly #compactAfter: number;
  readonly #compactAfterBytes: number;
  readonly #spans = new Map<DocumentId, Span>();
  /** Compactions under way, by document. */
  readonly #compacting = new Map<DocumentId, Promise<void>>();
  #compactions = 0;

  constructor(init: ChunkStoreInit, components: ChunkStoreComponents) {
    this.#compactAfter = init.compactAfterChunks ?? 256;
    this.#compactAfterBytes = init.compactAfterBytes ?? 1024 * 1024;
    this.#store = components.store;
    this.#snapshot = components.snapshot;
    this.#log = components.logger;
  }

  /** The document as stored (undefined when nothing is stored under `id`). */
  async load(id: DocumentId): Promise<A.Doc<unknown> | undefined> {
    const chunks: Uint8Array[] = [];
    let first = -1;
    let last = -1;
    let bytes = 0;
    for await (const [key, value] of this.#store.docs.iterator({ gt: `${id}/`, lt: `${id}/~` })) {
      chunks.push(value);
      last = Number(key.slice(id.length + 1));
      if (first < 0) first = last;
      else bytes += value.byteLength;
    }
    if (chunks.length === 0) return undefined;
    this.#spans.set(id, { first, next: last + 1, bytes });
    this.#compactIfDue(id);
    // A.load reads a snapshot followed by incremental chunks in one pass, far faster than
    // loadIncremental chunk by chunk (which materialises every intermediate state).
    return A.load<unknown>(Buffer.concat(await Promise.all(chunks.map(decodeChunk))));
  }

  /**
   * The operations that store a document's new `changes` (encoded Automerge changes, in causal
   * order, none of them stored yet), or undefined when there are none.
   */
  async append(id: DocumentId, changes: readonly Uint8Array[]): Promise<ChunkAppend | undefined> {
    if (changes.length === 0) return undefined;
    const delta = changes.length === 1 ? (changes[0] as Uint8Array) : Buffer.concat(changes);
    const stored = await encodeChunk(delta);
    const n = this.#spans.get(id)?.next ?? 0;
    return {
      operations: [{ type: "put", sublevel: this.#store.docs, key: chunkKey(id, n), value: stored }],
      bytes: delta,
      applied: () => {
        const span = this.#spans.get(id);
        if (span) {
          span.next = n + 1;
          span.bytes += stored.byteLength;
        } else {
          this.#spans.set(id, { first: n, next: n + 1, bytes: 0 });
        }
        this.#compactIfDue(id);
      },
    };
  }

  /** Compactions completed since this store was made (for tests and metrics). */
  get compactions(): number {
    return this.#compactions;
  }

  /** Resolves once no compaction is under way (those started meanwhile included). */
  async idle(): Promise<void> {
    while (this.#compacting.size > 0) await Promise.allSettled([...this.#compacting.values()]);
  }

  #compactIfDue(id: DocumentId): void {
    const span = this.#spans.get(id);
    if (!span || this.#compacting.has(id)) return;
    const count = span.next - span.first;
    if (count < 2 || (count <= this.#compactAfter && span.bytes <= this.#compactAfterBytes)) return;
    const running = this.#compact(id, span)
      .catch((error: unknown) => {
        // Nothing is lost: the chunks stay as they were, and the next append tries again.
        this.#log?.warn({ err: error, documentId: id }, "compacting a document's chunks failed; they stay as they are");
      })
      .finally(() => this.#compacting.delete(id));
    this.#compacting.set(id, running);
  }

  async #compact(id: DocumentId, span: Span): Promise<void> {
    const upTo = span.next - 1;
    const covered = span.bytes;
    const chunks: Uint8Array[] = [];
    const numbers: number[] = [];
    for await (const [key, value] of this.#store.docs.iterator({ gt: `${id}/`, lte: chunkKey(id, upTo) })) {
      chunks.push(value);
      numbers.push(Number(key.slice(id.length + 1)));
    }
    if (chunks.length < 2) return;
    const snapshot = await this.#snapshot(await Promise.all(chunks.map(decodeChunk)));
    const operations: StoreBatchOperation[] = [
      { type: "put", sublevel: this.#store.docs, key: chunkKey(id, upTo), value: snapshot },
      ...numbers
        .slice(0, -1)
        .map((n): StoreBatchOperation => ({ type: "del", sublevel: this.#store.docs, key: chunkKey(id, n) })),
    ];
    await this.#store.batch(operations);
    // The span as it is now (a reload may have replaced it meanwhile): its first chunk is the snapshot.
    const now = this.#spans.get(id);
    if (now) {
      now.first = Math.max(now.first, upTo);
      now.bytes = Math.max(0, now.bytes - covered);
    }
    this.#compactions += 1;
  }
}
