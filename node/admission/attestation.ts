import { peerIdFromString } from "@libp2p/peer-id";

/**
 * A heads attestation: a document's owner states that the document up to these heads is its own
 * history. Automerge change hashes chain, so one signature covers every change below the heads.
 * Owners sign the heads of every sync message they send of their documents; relays pass on the
 * latest ones they verified; a receiver admits exactly the changes an attestation covers.
 *
 * Unlike a checkpoint it carries no seq and no time: replaying an old one only re-admits changes
 * the owner did make, which is harmless. Whether the signer may speak for the owner is asked of the
 * charter when it is verified (see AdmissionGate).
 */
export const ATTESTATION_DOMAIN = "concordat/heads/1";

/** How an attestation travels, in the `attestations` field of a sync message. */
export interface Attestation {
  /** libp2p peer id of the key that signed. */
  signer: string;
  /** Sorted hex change hashes. */
  heads: string[];
  /** Ed25519 signature over `encodeAttestation`. */
  signature: Uint8Array;
}

const HEX_HASH = /^[0-9a-f]{64}$/;
/** At most this many heads in one attestation (an owner's own documents have one). */
export const MAX_ATTESTED_HEADS = 64;
/** At most this many attestations on one message. */
export const MAX_ATTESTATIONS = 4;

export function encodeAttestation(
  federationId: string,
  documentId: string,
  signer: string,
  heads: readonly string[],
): Uint8Array {
  return new TextEncoder().encode(
    [ATTESTATION_DOMAIN, federationId, signer, documentId, [...heads].sort().join(",")].join("\n"),
  );
}

/** The attestations of a received message that are well-formed (anything else is ignored). */
export function readAttestations(value: unknown): Attestation[] {
  if (!Array.isArray(value)) return [];
  const out: Attestation[] = [];
  for (const raw of value.slice(0, MAX_ATTESTATIONS)) {
    if (typeof raw !== "object" || raw === null) continue;
    const { signer, heads, signature } = raw as Record<string, unknown>;
    if (typeof signer !== "string" || signer.length > 128) continue;
    if (!(signature instanceof Uint8Array) || signature.byteLength !== 64) continue;
    if (!Array.isArray(heads) || heads.length === 0 || heads.length > MAX_ATTESTED_HEADS) continue;
    if (!heads.every((h): h is string => typeof h === "string" && HEX_HASH.test(h))) continue;
    out.push({ signer, heads: [...heads].sort(), signature });
  }
  return out;
}

interface Verifier {
  verify(data: Uint8Array, signature: Uint8Array): boolean | Promise<boolean>;
}
const verifiers = new Map<string, Verifier | null>();

/**
 * Verifies an Ed25519 signature by the key inside a libp2p peer id, synchronously (Node's crypto
 * signs and verifies without a promise), so that admission decides in the order messages arrive.
 */
export function verifySync(peerId: string, data: Uint8Array, signature: Uint8Array): boolean {
  let verifier = verifiers.get(peerId);
  if (verifier === undefined) {
    try {
      const key = peerIdFromString(peerId).publicKey;
      verifier = key && key.type === "Ed25519" ? key : null;
    } catch {
      verifier = null;
    }
    if (verifiers.size >= 10_000) verifiers.clear();
    verifiers.set(peerId, verifier);
  }
  if (!verifier) return false;
  try {
    const result = verifier.verify(data, signature);
    return result === true;
  } catch {
    return false;
  }
}
