import { verifyPeerSignature } from "../identity/index.js";

/**
 * Owner-signed checkpoints (docs/architecture.md, "Owner-signed checkpoints"): a statement by
 * a document's owner that the document, as of these heads, is what it published. Because Automerge
 * change hashes chain, one signature covers the whole history up to the heads.
 */
export const CHECKPOINT_DOMAIN = "concordat/checkpoint/1";

export const CheckpointKind = {
  Checkpoint: "checkpoint",
  Release: "release",
  Heartbeat: "heartbeat",
} as const;
export type CheckpointKind = (typeof CheckpointKind)[keyof typeof CheckpointKind];

export interface Checkpoint {
  federationId: string;
  /** libp2p peer id of the owner: the key that signs. */
  owner: string;
  documentId: string;
  /** Sorted hex change hashes. */
  heads: string[];
  /** Never goes back, for this owner, also across restores from backups (see `nextSeq`). */
  seq: number;
  /** ISO 8601 UTC. */
  time: string;
  kind: CheckpointKind;
  /** The release version, for kind `release`. */
  version?: string;
}

export interface SignedCheckpoint {
  checkpoint: Checkpoint;
  /** Ed25519 signature over `encodeCheckpoint(checkpoint)`, base64. */
  signature: string;
}

const FIELD = /^[^\n]*$/;

/**
 * The canonical bytes that are signed: one field per line, in a fixed order, heads sorted. No
 * field may contain a newline, so no two checkpoints share an encoding.
 */
export function encodeCheckpoint(c: Checkpoint): Uint8Array {
  const heads = [...c.heads].sort();
  const fields = [
    CHECKPOINT_DOMAIN,
    c.federationId,
    c.owner,
    c.documentId,
    heads.join(","),
    String(c.seq),
    c.time,
    c.kind,
    c.version ?? "",
  ];
  for (const f of fields) if (!FIELD.test(f)) throw new Error("a checkpoint field contains a newline");
  if (!Number.isSafeInteger(c.seq) || c.seq < 0) throw new Error("a checkpoint's seq must be a non-negative integer");
  return new TextEncoder().encode(fields.join("\n"));
}

export async function signCheckpoint(
  checkpoint: Checkpoint,
  sign: (data: Uint8Array) => Promise<Uint8Array>,
): Promise<SignedCheckpoint> {
  const normalised = { ...checkpoint, heads: [...checkpoint.heads].sort() };
  const signature = await sign(encodeCheckpoint(normalised));
  return { checkpoint: normalised, signature: Buffer.from(signature).toString("base64") };
}

/**
 * Why a checkpoint was not accepted; undefined when it verifies: this federation, this document
 * (and this owner key when given), a canonical encoding, and a good signature by the key it names.
 * Whether that key is the document owner's at the checkpoint's time is the charter's question
 * (federation/charter.ts, `signerProblem`).
 */
export async function checkpointProblem(
  signed: SignedCheckpoint,
  expected: { federationId: string; owner?: string; documentId?: string },
): Promise<string | undefined> {
  const c = signed.checkpoint;
  if (c.federationId !== expected.federationId)
    return `federation '${c.federationId}' is not '${expected.federationId}'`;
  if (expected.owner !== undefined && c.owner !== expected.owner)
    return `signed by ${c.owner}, not by the owner ${expected.owner}`;
  if (typeof c.owner !== "string") return "it names no signer";
  if (expected.documentId !== undefined && c.documentId !== expected.documentId)
    return `for document ${c.documentId}, not ${expected.documentId}`;
  let bytes: Uint8Array;
  try {
    bytes = encodeCheckpoint(c);
  } catch (error) {
    return (error as Error).message;
  }
  return (await verifyPeerSignature(c.owner, bytes, Buffer.from(signed.signature, "base64")))
    ? undefined
    : "bad signature";
}

/**
 * The next `seq`: above the last one used and at least the current time in microseconds, so that a
 * node restored from an older backup (whose stored counter is behind what peers have seen) still
 * never goes back, as long as its clock does not.
 */
export function nextSeq(last: number, nowMs: number): number {
  return Math.max(last + 1, Math.floor(nowMs) * 1000);
}
