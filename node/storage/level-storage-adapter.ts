/**
 * An automerge-repo storage adapter backed by LevelDB (via the `level` package).
 *
 * Layout inside the (sub)level, all keys utf8, all values raw bytes:
 *
 *   "d:" + encodeKey(storageKey)  ->  8-byte big-endian insertion sequence ++ payload
 *   "m:seq"                       ->  8-byte big-endian next unused sequence number
 *
 * Key encoding: every component is escaped so that it contains no U+0000 and is
 * then terminated by U+0000:  ["a", "b"] -> "a\0b\0".  Because the terminator
 * cannot occur inside an escaped component, "starts with enc(prefix)" is exactly
 * "starts with the prefix components", so ["a"] ("a\0") never matches ["ab"]
 * ("ab\0"). A prefix is then the contiguous LevelDB range [enc, enc with its last
 * code unit incremented).
 *
 * Ordering: LevelDB returns a range in key order, but the automerge-repo
 * compliance suite expects loadRange() in insertion order. Each value therefore
 * carries a monotonically increasing sequence number and loadRange() sorts by it.
 * Overwriting a key gives it a fresh sequence number, i.e. the order is "order of
 * last write" (cheap: no read-before-write). The next sequence number is stored
 * under "m:seq" in the same atomic batch as the data it covers, so it survives
 * reopen/crash and entries written after a reopen sort after older ones.
 *
 * Writes (save/remove/removeRange) go through a single in-process queue and take
 * effect in call order (classic-level runs operations on a thread pool and does
 * not guarantee that order by itself). Queued point writes are grouped into one
 * LevelDB batch (group commit), which keeps `sync: true` affordable. Reads wait
 * for writes issued before them, so every operation observes all earlier calls.
 * One adapter must own its keyspace: do not write the same (sub)level from
 * elsewhere concurrently.
 */
import { Level } from "level";
import type { Chunk, StorageAdapterInterface, StorageKey } from "@automerge/automerge-repo";

/** Encoding options the adapter passes on every call. */
export interface LevelEncodingOptions {
  keyEncoding: "utf8";
  valueEncoding: "view";
}

/** Batch operation as used by the adapter (utf8 keys, byte values). */
export type LevelBatchOperation = { type: "put"; key: string; value: Uint8Array } | { type: "del"; key: string };

/** Key range as used by the adapter for prefix scans. */
export interface LevelRangeOptions {
  gte: string;
  lt: string;
}

/**
 * The subset of an abstract-level database the adapter needs. Both an opened
 * `Level` and a `db.sublevel(name, ...)` satisfy it. Encodings are passed
 * explicitly on every call, so the database's default encodings do not matter.
 */
export interface LevelLike {
  get(key: string, options: LevelEncodingOptions): Promise<Uint8Array | undefined>;
  batch(operations: LevelBatchOperation[], options: LevelEncodingOptions & { sync?: boolean }): Promise<void>;
  iterator(options: LevelEncodingOptions & LevelRangeOptions): AsyncIterable<[string, Uint8Array]> & {
    all(): Promise<Array<[string, Uint8Array]>>;
  };
  keys(options: { keyEncoding: "utf8" } & LevelRangeOptions): {
    all(): Promise<string[]>;
  };
}

export interface LevelStorageAdapterOptions {
  /**
   * Pass `{ sync: true }` to LevelDB writes so they are fsynced before the
   * returned promise resolves (survives power loss, slower). Default false:
   * survives process crashes but an OS crash may lose the latest writes.
   */
  sync?: boolean;
}

const ENC: LevelEncodingOptions = { keyEncoding: "utf8", valueEncoding: "view" };
const DATA_NS = "d:";
const SEQ_KEY = "m:seq";
/** Bytes of the sequence-number header in front of every stored payload. */
const HEADER = 8;
/** Upper bound on point operations grouped into one LevelDB batch. */
const MAX_BATCH = 1024;

// ---------------------------------------------------------------------------
// Key encoding
// ---------------------------------------------------------------------------

const SEP = "\u0000";
const ESC = "\u0001";

/** Escape U+0001 -> U+0001 U+0002 first, then U+0000 -> U+0001 U+0001. */
function escapeComponent(c: string): string {
  return c.replaceAll(ESC, `${ESC}\u0002`).replaceAll(SEP, ESC + ESC);
}

function unescapeComponent(c: string): string {
  return c.replace(/\u0001([\u0001\u0002])/g, (_m, x: string) => (x === ESC ? SEP : ESC));
}

function checkKey(key: StorageKey, allowEmpty: boolean): void {
  if (!Array.isArray(key) || (!allowEmpty && key.length === 0)) {
    throw new TypeError("storage key must be a non-empty array of strings");
  }
  for (const c of key) {
    if (typeof c !== "string") {
      throw new TypeError("storage key components must be strings");
    }
  }
}

/** Encode a full key or a prefix; both use the same form. */
function encodeKey(key: StorageKey): string {
  let out = DATA_NS;
  for (const c of key) out += escapeComponent(c) + SEP;
  return out;
}

function decodeKey(encoded: string): StorageKey {
  // Drop the namespace and the final terminator, then split on terminators.
  const body = encoded.slice(DATA_NS.length, -SEP.length);
  return body.split(SEP).map(unescapeComponent);
}

/** The LevelDB range holding exactly the keys that start with `prefix`. */
function prefixRange(prefix: StorageKey): LevelRangeOptions {
  const gte = encodeKey(prefix);
  // gte ends in "\0" (or ":" for the empty prefix); bumping that last code unit
  // yields the smallest string greater than every string starting with gte.
  const last = gte.charCodeAt(gte.length - 1);
  const lt = gte.slice(0, -1) + String.fromCharCode(last + 1);
  return { gte, lt };
}

// ---------------------------------------------------------------------------
// Value encoding
// ---------------------------------------------------------------------------

function writeSeq(target: Uint8Array, seq: number): void {
  const view = new DataView(target.buffer, target.byteOffset, HEADER);
  view.setUint32(0, Math.floor(seq / 2 ** 32));
  view.setUint32(4, seq >>> 0);
}

function readSeq(source: Uint8Array): number {
  if (source.byteLength < HEADER) {
    throw new Error("LevelStorageAdapter: corrupt value (shorter than header)");
  }
  const view = new DataView(source.buffer, source.byteOffset, HEADER);
  return view.getUint32(0) * 2 ** 32 + view.getUint32(4);
}

/** Copy the payload into a plain Uint8Array (classic-level hands out Buffers). */
function payloadOf(stored: Uint8Array): Uint8Array {
  readSeq(stored); // length check
  const out = new Uint8Array(stored.byteLength - HEADER);
  out.set(stored.subarray(HEADER));
  return out;
}

// ---------------------------------------------------------------------------
// Adapter
// ---------------------------------------------------------------------------

type WriteCommand =
  | { kind: "put"; key: string; value: Uint8Array }
  | { kind: "del"; key: string }
  | { kind: "removeRange"; range: LevelRangeOptions };

interface WriteOp {
  cmd: WriteCommand;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class LevelStorageAdapter implements StorageAdapterInterface {
  readonly #db: LevelLike;
  /** Set when we opened the Level ourselves and must close it. */
  readonly #owned: Level<string, Uint8Array> | undefined;
  readonly #sync: boolean;

  #queue: WriteOp[] = [];
  #draining: Promise<void> | undefined;
  /** Settles (never rejects) once the most recently enqueued write is done. */
  #lastWrite: Promise<void> = Promise.resolve();
  /** Next unused sequence number; undefined until read from the database. */
  #nextSeq: number | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;
  /**
   * Bytes per stored entry (by encoded key), for `storedBytes`: undefined until first asked, then
   * kept up to date by every write. Keys written while the first count reads its snapshot are in
   * `#touched`, so that the snapshot's older sizes do not overwrite them.
   */
  #sizes: Map<string, number> | undefined;
  #touched: Set<string> | undefined;

  constructor(location: string | LevelLike, options: LevelStorageAdapterOptions = {}) {
    if (typeof location === "string") {
      // Opens in the background; level defers operations until it is open.
      const db = new Level<string, Uint8Array>(location, ENC);
      this.#owned = db;
      this.#db = db;
    } else {
      this.#owned = undefined;
      this.#db = location;
    }
    this.#sync = options.sync ?? false;
  }

  async load(key: StorageKey): Promise<Uint8Array | undefined> {
    checkKey(key, false);
    this.#checkOpen();
    await this.#lastWrite;
    const stored = await this.#db.get(encodeKey(key), ENC);
    return stored === undefined ? undefined : payloadOf(stored);
  }

  async save(key: StorageKey, data: Uint8Array): Promise<void> {
    checkKey(key, false);
    if (!(data instanceof Uint8Array)) {
      throw new TypeError("data must be a Uint8Array");
    }
    // Copy now so later mutation of `data` by the caller cannot leak into the
    // write; the header is filled in when the sequence number is assigned.
    const value = new Uint8Array(HEADER + data.byteLength);
    value.set(data, HEADER);
    return this.#enqueue({ kind: "put", key: encodeKey(key), value });
  }

  async remove(key: StorageKey): Promise<void> {
    checkKey(key, false);
    return this.#enqueue({ kind: "del", key: encodeKey(key) });
  }

  async loadRange(keyPrefix: StorageKey): Promise<Chunk[]> {
    checkKey(keyPrefix, true);
    this.#checkOpen();
    await this.#lastWrite;
    const entries = await this.#db.iterator({ ...ENC, ...prefixRange(keyPrefix) }).all();
    return entries
      .map(([k, v]) => ({ seq: readSeq(v), key: k, value: v }))
      .sort((a, b) => a.seq - b.seq)
      .map(({ key, value }) => ({ key: decodeKey(key), data: payloadOf(value) }));
  }

  async removeRange(keyPrefix: StorageKey): Promise<void> {
    checkKey(keyPrefix, true);
    return this.#enqueue({ kind: "removeRange", range: prefixRange(keyPrefix) });
  }

  /**
   * Wait for queued writes, then close the database if this adapter opened it.
   * A database passed in by the caller is left open. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed = true;
      await this.#lastWrite;
      await this.#owned?.close();
    })();
    return this.#closing;
  }

  /**
   * Bytes in storage per document id (values, as stored). The first call reads every entry once;
   * later ones cost a pass over the entries' sizes held in memory, never a read of the database.
   */
  async storedBytes(): Promise<Map<string, number>> {
    this.#checkOpen();
    if (!this.#sizes) {
      const sizes = new Map<string, number>();
      const touched = new Set<string>();
      this.#sizes = sizes;
      this.#touched = touched;
      try {
        for await (const [key, value] of this.#db.iterator({ ...ENC, ...prefixRange([]) })) {
          if (touched.has(key)) continue;
          sizes.set(key, value.byteLength);
        }
      } finally {
        this.#touched = undefined;
      }
    }
    const out = new Map<string, number>();
    for (const [key, bytes] of this.#sizes) {
      const documentId = decodeKey(key)[0] ?? "";
      out.set(documentId, (out.get(documentId) ?? 0) + bytes);
    }
    return out;
  }

  #noteWritten(key: string, bytes: number | undefined): void {
    if (!this.#sizes) return;
    this.#touched?.add(key);
    if (bytes === undefined) this.#sizes.delete(key);
    else this.#sizes.set(key, bytes);
  }

  // -------------------------------------------------------------------------

  #checkOpen(): void {
    if (this.#closed) throw new Error("LevelStorageAdapter is closed");
  }

  #enqueue(cmd: WriteCommand): Promise<void> {
    this.#checkOpen();
    const done = new Promise<void>((resolve, reject) => {
      this.#queue.push({ cmd, resolve, reject });
    });
    this.#lastWrite = done.then(
      () => undefined,
      () => undefined,
    );
    this.#kick();
    return done;
  }

  #kick(): void {
    if (this.#draining) return;
    this.#draining = this.#drain().finally(() => {
      this.#draining = undefined;
      // Ops enqueued after the loop saw an empty queue but before this ran.
      if (this.#queue.length > 0) this.#kick();
    });
  }

  /** Apply queued writes strictly in call order. Never rejects. */
  async #drain(): Promise<void> {
    for (let first = this.#queue[0]; first !== undefined; first = this.#queue[0]) {
      const head = first.cmd;
      let ops: WriteOp[];
      let apply: () => Promise<void>;
      if (head.kind === "removeRange") {
        // Range deletes need a read, so they run on their own between batches.
        ops = this.#queue.splice(0, 1);
        apply = () => this.#applyRemoveRange(head.range);
      } else {
        // Group the run of point writes up to the next range delete.
        let n = 1;
        while (n < MAX_BATCH && this.#queue[n] !== undefined && this.#queue[n]?.cmd.kind !== "removeRange") {
          n++;
        }
        ops = this.#queue.splice(0, n);
        apply = () => this.#applyBatch(ops.map((op) => op.cmd));
      }
      try {
        await apply();
        for (const op of ops) op.resolve();
      } catch (err) {
        for (const op of ops) op.reject(err);
      }
    }
  }

  async #applyBatch(cmds: WriteCommand[]): Promise<void> {
    if (this.#nextSeq === undefined) {
      const stored = await this.#db.get(SEQ_KEY, ENC);
      this.#nextSeq = stored === undefined ? 0 : readSeq(stored);
    }
    // A failed batch just leaves a gap in the sequence; that is harmless.
    const batch: LevelBatchOperation[] = [];
    for (const cmd of cmds) {
      if (cmd.kind === "put") {
        writeSeq(cmd.value, this.#nextSeq++);
        batch.push({ type: "put", key: cmd.key, value: cmd.value });
      } else if (cmd.kind === "del") {
        batch.push({ type: "del", key: cmd.key });
      }
    }
    // Persist the counter atomically with the entries that consumed it.
    const seq = new Uint8Array(HEADER);
    writeSeq(seq, this.#nextSeq);
    batch.push({ type: "put", key: SEQ_KEY, value: seq });
    await this.#db.batch(batch, { ...ENC, sync: this.#sync });
    for (const cmd of cmds)
      if (cmd.kind !== "removeRange") this.#noteWritten(cmd.key, cmd.kind === "put" ? cmd.value.byteLength : undefined);
  }

  async #applyRemoveRange(range: LevelRangeOptions): Promise<void> {
    // Safe without a snapshot: all writes of this adapter are serialised here.
    const keys = await this.#db.keys({ keyEncoding: "utf8", ...range }).all();
    if (keys.length === 0) return;
    await this.#db.batch(
      keys.map((key) => ({ type: "del", key })),
      { ...ENC, sync: this.#sync },
    );
    for (const key of keys) this.#noteWritten(key, undefined);
  }
}
