import { deflateRawSync } from "node:zlib";
import * as A from "@automerge/automerge";
import { describe, expect, it } from "vitest";
import {
  ChunkType,
  encodeSyncMessage,
  parseSyncMessage,
  splitChunks,
  uleb,
  WireError,
} from "../../node/admission/index.js";

const LIMITS = { maxInflatedBytes: 1024 * 1024 };

/** A change chunk rewritten as a compressed chunk (type 2): deflated body, the change's checksum. */
function compressed(change: Uint8Array): Uint8Array {
  let offset = 9;
  while ((change[offset] as number) & 0x80) offset += 1;
  const body = change.subarray(offset + 1);
  const deflated = deflateRawSync(body);
  return Uint8Array.from([...change.subarray(0, 8), 2, ...uleb(deflated.byteLength), ...deflated]);
}

/** Runs the sync protocol between two documents, collecting every message a sends to b. */
function syncAll(a: A.Doc<unknown>, b: A.Doc<unknown>): { messages: Uint8Array[]; b: A.Doc<unknown> } {
  let sa = A.initSyncState();
  let sb = A.initSyncState();
  const messages: Uint8Array[] = [];
  for (let round = 0; round < 10; round += 1) {
    let m: Uint8Array | null;
    let n: Uint8Array | null;
    [sa, m] = A.generateSyncMessage(a, sa);
    if (m) {
      messages.push(m);
      [b, sb] = A.receiveSyncMessage(b, sb, m);
    }
    [sb, n] = A.generateSyncMessage(b, sb);
    if (n) [a, sa] = A.receiveSyncMessage(a, sa, n);
    if (!m && !n) break;
  }
  return { messages, b };
}

describe("Automerge's wire formats, read for admission", () => {
  it("a sync message splits and re-encodes byte for byte, v1 and v2, with and without changes", () => {
    let a = A.from<Record<string, unknown>>({ x: 1 });
    for (let i = 0; i < 30; i += 1) a = A.change(a, (d) => void (d[`k${i}`] = i));
    const { messages } = syncAll(a, A.init());
    expect(messages.length).toBeGreaterThan(1);
    expect(new Set(messages.map((m) => m[0]))).toEqual(new Set([0x42, 0x43]));
    for (const m of messages)
      expect(Buffer.compare(Buffer.from(encodeSyncMessage(parseSyncMessage(m))), Buffer.from(m))).toBe(0);
  });

  it("changes decode to the hashes and dependencies Automerge gives them, compressed ones too", () => {
    let doc = A.from<Record<string, unknown>>({ x: 1 });
    doc = A.change(doc, (d) => void (d.big = "y".repeat(20_000))); // large enough to be saved compressed
    doc = A.change(doc, (d) => void (d.small = 2));
    const expected = A.getAllChanges(doc).map((c) => A.decodeChange(c));
    const fromChanges = A.getAllChanges(doc).flatMap((c) => splitChunks(c, LIMITS));
    expect(fromChanges.map((c) => [c.hash, c.deps])).toEqual(expected.map((c) => [c.hash, c.deps]));
    const saved = A.saveSince(doc, []);
    const fromSaved = splitChunks(saved, LIMITS);
    expect(fromSaved.map((c) => c.hash).sort()).toEqual(expected.map((c) => c.hash).sort());
    // A compressed change chunk (Automerge reads them; a peer may send one): same hash as its change.
    const packed = A.getAllChanges(doc).map(compressed);
    expect(packed.flatMap((c) => splitChunks(c, LIMITS)).map((c) => [c.type, c.hash])).toEqual(
      expected.map((c) => [ChunkType.Compressed, c.hash]),
    );
    const loaded = A.loadIncremental(A.init(), Buffer.concat(packed));
    expect(A.getHeads(loaded)).toEqual(A.getHeads(doc));
    const whole = splitChunks(A.save(doc), LIMITS);
    expect(whole).toHaveLength(1);
    expect(whole[0]?.type).toBe(ChunkType.Document);
    expect(whole[0]?.heads).toEqual(A.getHeads(doc));
  });

  it("refuses what is not Automerge: garbage, a bad checksum, an overrunning length, a chunk that inflates too far", () => {
    expect(() => parseSyncMessage(Uint8Array.from([0x41, 0, 0, 0, 0]))).toThrow(WireError);
    expect(() => parseSyncMessage(Uint8Array.from([0x42, 0xff, 0xff, 0xff, 0x0f]))).toThrow(/overruns/);
    const change = A.getLastLocalChange(
      A.change(A.init<Record<string, unknown>>(), (d) => void (d.a = 1)),
    ) as Uint8Array;
    const corrupt = Uint8Array.from(change);
    corrupt[corrupt.length - 1] = (corrupt[corrupt.length - 1] as number) ^ 0xff;
    expect(() => splitChunks(corrupt, LIMITS)).toThrow(/checksum/);
    const big = compressed(
      A.getLastLocalChange(
        A.change(A.init<Record<string, unknown>>(), (d) => void (d.big = "z".repeat(200_000))),
      ) as Uint8Array,
    );
    expect(splitChunks(big, LIMITS)).toHaveLength(1);
    expect(() => splitChunks(big, { maxInflatedBytes: 1000 })).toThrow(/inflate/);
  });
});
