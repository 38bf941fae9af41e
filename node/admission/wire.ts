import { createHash } from "node:crypto";
import { inflateRawSync } from "node:zlib";

/**
 * Automerge's wire formats, read without applying anything: a sync message (heads, need, have,
 * changes, flags) and the storage chunks its `changes` carry (a change, a compressed change, a whole
 * document, a bundle). Only what admission needs is decoded — each change's hash and dependencies —
 * and a message is written back byte for byte, with only its changes replaced.
 *
 * The layouts are those of automerge's `sync.rs` and `storage/chunk.rs`: a sync message is a version
 * byte (0x42 v1, 0x43 v2), three length-prefixed lists and a chunk list, followed by optional flags;
 * a chunk is the magic bytes, a 4-byte checksum (the first bytes of its hash), a type byte and a
 * length-prefixed body; a change's hash is the SHA-256 of its type, length and body.
 */

export class WireError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "WireError";
  }
}

const MAGIC = [0x85, 0x6f, 0x4a, 0x83];
const HASH_BYTES = 32;
export const SYNC_V1 = 0x42;
export const SYNC_V2 = 0x43;

/**
 * Set on an admitted message that carries a whole document: the Repo's side (the replica worker)
 * loads each such chunk and drops it unless its real heads are the ones it states — unless it is the
 * first thing an empty copy gets, which Automerge checks itself (docs/security.md).
 */
export const CHECK_DOCUMENTS = "checkDocuments";

export const ChunkType = { Document: 0, Change: 1, Compressed: 2, Bundle: 3 } as const;
export type ChunkType = (typeof ChunkType)[keyof typeof ChunkType];

class Reader {
  offset = 0;
  constructor(readonly bytes: Uint8Array) {}

  get remaining(): number {
    return this.bytes.byteLength - this.offset;
  }

  byte(): number {
    if (this.remaining < 1) throw new WireError("truncated");
    return this.bytes[this.offset++] as number;
  }

  uleb(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = this.byte();
      // 7 bits at a time up to 2^49: beyond any length that fits in memory, and exact in a double.
      if (shift > 42) throw new WireError("length field too long");
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
      shift += 7;
    }
  }

  take(n: number): Uint8Array {
    if (n > this.remaining) throw new WireError(`a field of ${n} bytes overruns the ${this.remaining} left`);
    const out = this.bytes.subarray(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }

  /** A count, bounded by what the rest of the input could hold at `minItemBytes` each. */
  count(minItemBytes: number): number {
    const n = this.uleb();
    if (n * minItemBytes > this.remaining)
      throw new WireError(`a list of ${n} entries overruns the ${this.remaining} bytes left`);
    return n;
  }

  hashes(): string[] {
    const n = this.count(HASH_BYTES);
    const out: string[] = [];
    for (let i = 0; i < n; i += 1) out.push(Buffer.from(this.take(HASH_BYTES)).toString("hex"));
    return out;
  }
}

/** Unsigned LEB128, as Automerge writes lengths and counts. */
export function uleb(n: number): number[] {
  const out: number[] = [];
  let rest = n;
  do {
    let b = rest % 128;
    rest = Math.floor(rest / 128);
    if (rest > 0) b |= 0x80;
    out.push(b);
  } while (rest > 0);
  return out;
}

/** What a sync message says the sender already has: changes since `lastSync`, as a Bloom filter. */
export interface SyncHave {
  lastSync: string[];
  bloom: Uint8Array;
}

/** A sync message in parts: admission reads heads, have and changes, and passes the rest on untouched. */
export interface SyncMessageParts {
  version: number;
  /** The sender's heads (hex). */
  heads: string[];
  /** Hashes the sender asks for (hex). */
  need: string[];
  have: SyncHave[];
  /** Entries of the chunk list: each holds one or more storage chunks. */
  changes: Uint8Array[];
  /** Flags after the chunk list, as they came (empty for old peers). */
  tail: Uint8Array;
}

export function parseSyncMessage(bytes: Uint8Array): SyncMessageParts {
  const r = new Reader(bytes);
  const version = r.byte();
  if (version !== SYNC_V1 && version !== SYNC_V2)
    throw new WireError(`not a sync message (first byte 0x${version.toString(16)})`);
  const heads = r.hashes();
  const need = r.hashes();
  const have: SyncHave[] = [];
  const haves = r.count(2);
  for (let i = 0; i < haves; i += 1) have.push({ lastSync: r.hashes(), bloom: r.take(r.uleb()) });
  const n = r.count(1);
  const changes: Uint8Array[] = [];
  for (let i = 0; i < n; i += 1) changes.push(r.take(r.uleb()));
  return { version, heads, need, have, changes, tail: bytes.subarray(r.offset) };
}

export function encodeSyncMessage(parts: SyncMessageParts): Uint8Array {
  const pieces: Uint8Array[] = [Uint8Array.of(parts.version)];
  const hashes = (list: readonly string[]) => {
    pieces.push(Uint8Array.from(uleb(list.length)), ...list.map((h) => Buffer.from(h, "hex")));
  };
  const bytes = (b: Uint8Array) => {
    pieces.push(Uint8Array.from(uleb(b.byteLength)), b);
  };
  hashes(parts.heads);
  hashes(parts.need);
  pieces.push(Uint8Array.from(uleb(parts.have.length)));
  for (const h of parts.have) {
    hashes(h.lastSync);
    bytes(h.bloom);
  }
  pieces.push(Uint8Array.from(uleb(parts.changes.length)));
  for (const change of parts.changes) bytes(change);
  pieces.push(parts.tail);
  return new Uint8Array(Buffer.concat(pieces));
}

/** One storage chunk of a sync message's changes, with what admission needs to judge it. */
export interface Chunk {
  type: ChunkType;
  /** The chunk's bytes as they came (to pass on unchanged when admitted). */
  bytes: Uint8Array;
  /** A change's hash (hex); for a document: undefined. */
  hash?: string;
  /** A change's dependencies (hex). */
  deps?: string[];
  /** A whole document's heads as its chunk states them (hex; Automerge checks them when it loads the chunk). */
  heads?: string[];
}

function changeHash(type: number, body: Uint8Array): Buffer {
  return createHash("sha256")
    .update(Uint8Array.from([type, ...uleb(body.byteLength)]))
    .update(body)
    .digest();
}

/**
 * Splits concatenated storage chunks, decoding each change's hash and dependencies. A compressed
 * change is inflated up to `maxInflatedBytes`; with 0 it is refused without being inflated
 * (Automerge's sync sends changes uncompressed, so only a hand-made message holds one).
 */
export function splitChunks(bytes: Uint8Array, limits: { maxInflatedBytes: number }): Chunk[] {
  const r = new Reader(bytes);
  const chunks: Chunk[] = [];
  while (r.remaining > 0) {
    const start = r.offset;
    const magic = r.take(4);
    if (magic.some((b, i) => b !== MAGIC[i])) throw new WireError("a chunk without automerge's magic bytes");
    const checksum = r.take(4);
    const type = r.byte();
    const body = r.take(r.uleb());
    const whole = bytes.subarray(start, r.offset);
    if (type === ChunkType.Document) {
      const doc = new Reader(body);
      const actors = doc.count(1);
      for (let i = 0; i < actors; i += 1) doc.take(doc.uleb());
      chunks.push({ type, bytes: whole, heads: doc.hashes() });
      continue;
    }
    if (type === ChunkType.Bundle) {
      chunks.push({ type, bytes: whole });
      continue;
    }
    if (type !== ChunkType.Change && type !== ChunkType.Compressed) throw new WireError(`unknown chunk type ${type}`);
    let change = body;
    if (type === ChunkType.Compressed) {
      if (limits.maxInflatedBytes === 0)
        throw new WireError("a compressed change (sync messages carry changes uncompressed)");
      try {
        change = inflateRawSync(body, { maxOutputLength: limits.maxInflatedBytes });
      } catch {
        throw new WireError(`a compressed change that does not inflate within ${limits.maxInflatedBytes} bytes`);
      }
    }
    // A compressed change's checksum is that of the change it inflates to.
    const hash = changeHash(ChunkType.Change, change);
    if (!hash.subarray(0, 4).equals(checksum)) throw new WireError("a change whose checksum does not match its hash");
    const deps = new Reader(change).hashes();
    chunks.push({ type, bytes: whole, hash: hash.toString("hex"), deps });
  }
  return chunks;
}
