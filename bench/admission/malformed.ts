/**
 * Malformed sync traffic from a member (a valid key, a bound channel): what the admission gate and
 * the channel adapters must survive. Each payload is one frame of the sync protocol, as a member's
 * Repo would send it after its hello, broken in one of many ways. Used by the admission.fuzz
 * benchmark and by test/admission/fuzz.test.ts.
 */
import { randomBytes } from "node:crypto";
import { deflateRawSync } from "node:zlib";
import * as A from "@automerge/automerge";
import { cbor } from "@automerge/automerge-repo";
import { Random } from "../lib/random.js";
import { uleb } from "../../node/admission/index.js";

export interface MalformedContext {
  /** The member sending (its bound peer id). */
  sender: string;
  /** The node receiving. */
  target: string;
  /** Ids of documents the target shares (its directory, the charter): the gate reads these. */
  documents: string[];
}

/** What a kind of malformed frame does to the channel: most are refused and the channel stays. */
export interface MalformedFrame {
  kind: string;
  payload: Uint8Array;
  /** The receiving adapter drops the channel for it (the sender must open a new one). */
  closesChannel: boolean;
}

/** Bytes of a change chunk that is well-formed, under a random actor (a member's unsigned write). */
function strayChange(rng: Random): Uint8Array {
  const doc = A.change(A.init<Record<string, unknown>>(), (d) => {
    d[`k${rng.int(0, 1_000_000)}`] = new A.ImmutableString("x".repeat(rng.int(1, 200)));
  });
  return A.getLastLocalChange(doc) as Uint8Array;
}

/** A sync message (v1) with these parts; the other fields empty. */
function syncMessage(parts: { heads?: Uint8Array[]; changes?: Uint8Array[]; tail?: number[] }): Uint8Array {
  const bytes: number[] = [0x42, ...uleb(parts.heads?.length ?? 0)];
  const out: Uint8Array[] = [];
  for (const h of parts.heads ?? []) bytes.push(...h);
  bytes.push(0, 0, ...uleb(parts.changes?.length ?? 0)); // need, have, changes
  out.push(Uint8Array.from(bytes));
  for (const c of parts.changes ?? []) out.push(Uint8Array.from(uleb(c.byteLength)), c);
  out.push(Uint8Array.from(parts.tail ?? []));
  return new Uint8Array(Buffer.concat(out));
}

let bomb: Buffer | undefined;

const KINDS: Array<{
  kind: string;
  weight: number;
  closes: boolean;
  make(ctx: MalformedContext, rng: Random): unknown;
}> = [
  // Refused by the gate, the channel stays open.
  {
    kind: "garbage sync data",
    weight: 14,
    closes: false,
    make: (ctx, rng) => ({ type: "sync", documentId: rng.pick(ctx.documents), data: randomBytes(rng.int(1, 512)) }),
  },
  {
    kind: "truncated sync message",
    weight: 10,
    closes: false,
    make: (ctx, rng) => ({
      type: "sync",
      documentId: rng.pick(ctx.documents),
      data: syncMessage({ heads: [randomBytes(32)], changes: [strayChange(rng)] }).subarray(0, rng.int(2, 40)),
    }),
  },
  {
    kind: "overrunning list length",
    weight: 6,
    closes: false,
    make: (ctx, rng) => ({
      type: "sync",
      documentId: rng.pick(ctx.documents),
      data: Uint8Array.from([0x42, 0xff, 0xff, 0xff, 0xff, 0x0f, ...randomBytes(16)]),
    }),
  },
  {
    kind: "unsigned change",
    weight: 14,
    closes: false,
    make: (ctx, rng) => ({
      type: "sync",
      documentId: rng.pick(ctx.documents),
      data: syncMessage({ heads: [randomBytes(32)], changes: [strayChange(rng)] }),
    }),
  },
  {
    kind: "forged attestation",
    weight: 10,
    closes: false,
    make: (ctx, rng) => {
      const change = strayChange(rng);
      const hash = A.decodeChange(change).hash;
      return {
        type: "sync",
        documentId: rng.pick(ctx.documents),
        data: syncMessage({ heads: [Buffer.from(hash, "hex")], changes: [change] }),
        attestations: [{ signer: ctx.target, heads: [hash], signature: randomBytes(64) }],
      };
    },
  },
  {
    kind: "change with a bad checksum",
    weight: 6,
    closes: false,
    make: (ctx, rng) => {
      const change = Uint8Array.from(strayChange(rng));
      change[4] = (change[4] as number) ^ 0xff;
      return { type: "sync", documentId: rng.pick(ctx.documents), data: syncMessage({ changes: [change] }) };
    },
  },
  {
    kind: "inflation bomb",
    weight: 2,
    closes: false,
    make: (ctx, rng) => {
      // A compressed chunk that inflates to far more than any change: 64 MiB of zeros in ~64 KiB.
      const body = (bomb ??= deflateRawSync(Buffer.alloc(64 * 1024 * 1024 + 1), { level: 9 }));
      const chunk = Uint8Array.from([0x85, 0x6f, 0x4a, 0x83, ...randomBytes(4), 2, ...uleb(body.byteLength), ...body]);
      return { type: "sync", documentId: rng.pick(ctx.documents), data: syncMessage({ changes: [chunk] }) };
    },
  },
  {
    kind: "unknown document",
    weight: 10,
    closes: false,
    make: (_ctx, rng) => ({
      type: rng.pick(["sync", "request"]),
      documentId: randomBytes(16).toString("base64url").slice(0, 27),
      data: syncMessage({}),
    }),
  },
  {
    kind: "1 MB document id",
    weight: 1,
    closes: false,
    make: () => ({ type: "request", documentId: "x".repeat(1024 * 1024), data: syncMessage({}) }),
  },
  {
    kind: "ephemeral",
    weight: 8,
    closes: false,
    make: (ctx, rng) => ({
      type: "ephemeral",
      documentId: rng.pick(ctx.documents),
      sessionId: "s",
      count: rng.int(1, 1e9),
      data: randomBytes(rng.int(1, 256)),
    }),
  },
  {
    kind: "remote heads gossip",
    weight: 4,
    closes: false,
    make: () => ({ type: "remote-heads-changed", documentId: "x", newHeads: { x: { heads: ["y"], timestamp: 1 } } }),
  },
  {
    kind: "unknown message type",
    weight: 4,
    closes: false,
    make: (ctx, rng) => ({ type: `t${rng.int(0, 1000)}`, documentId: rng.pick(ctx.documents) }),
  },
  {
    kind: "wrong field types",
    weight: 3,
    closes: true,
    make: (ctx) => ({ type: "sync", documentId: 42, data: "not bytes", targetId: ctx.target }),
  },
  // Dropped at the channel: it closes and the sender opens a new one.
  { kind: "not CBOR", weight: 3, closes: true, make: () => randomBytes(64) },
  {
    kind: "another sender",
    weight: 3,
    closes: true,
    make: (ctx) => ({
      type: "sync",
      senderId: ctx.target,
      targetId: ctx.target,
      documentId: ctx.documents[0],
      data: syncMessage({}),
    }),
  },
];
/** `count` malformed frames, in a mix of every kind (the mix is the same for a seed). */
export function* malformedFrames(ctx: MalformedContext, count: number, seed = 1): Generator<MalformedFrame> {
  const rng = new Random(seed);
  const kinds = KINDS.map((k) => [k, k.weight] as const);
  for (let i = 0; i < count; i += 1) {
    const kind = rng.weighted(kinds);
    const made = kind.make(ctx, rng);
    const payload =
      made instanceof Uint8Array
        ? made
        : new Uint8Array(
            cbor.encode({ senderId: ctx.sender, targetId: ctx.target, ...(made as Record<string, unknown>) }),
          );
    yield { kind: kind.kind, payload, closesChannel: kind.closes };
  }
}
