import { createHash } from "node:crypto";
import canonicalizeModule from "canonicalize";
import { base58btc } from "multiformats/bases/base58";
import { publicKeyOfDidKey, verifyEd25519 } from "./did-key.js";

/**
 * W3C Data Integrity proofs with the `eddsa-jcs-2022` cryptosuite (W3C vc-di-eddsa): the document
 * and the proof options are each canonicalised with JCS (RFC 8785) and hashed with SHA-256; the
 * Ed25519 signature over the two hashes, base58btc-multibase, is the proof value. JCS needs no
 * JSON-LD processing, so Concordat signs and verifies offline with no context loading at all; an
 * independent implementation (Digital Bazaar's, in a test) verifies what it signs.
 */
export const CRYPTOSUITE = "eddsa-jcs-2022";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

const canonicalize = canonicalizeModule as unknown as (value: unknown) => string | undefined;

function jcs(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new Error("the document cannot be canonicalised (JCS)");
  return text;
}

function sha256(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}

export interface DataIntegrityProof {
  "@context"?: Json;
  type: "DataIntegrityProof";
  cryptosuite: typeof CRYPTOSUITE;
  created: string;
  verificationMethod: string;
  proofPurpose: "assertionMethod";
  proofValue: string;
}

/** What is signed: SHA-256(JCS(proof options)) ‖ SHA-256(JCS(document without proof)). */
function hashData(document: JsonObject, options: JsonObject): Uint8Array {
  return new Uint8Array(Buffer.concat([sha256(jcs(options)), sha256(jcs(document))]));
}

/** Signs `document` (which must not carry a proof yet) with the key behind `verificationMethod`. */
export async function addProof<T extends JsonObject>(
  document: T,
  signer: { verificationMethod: string; sign: (data: Uint8Array) => Promise<Uint8Array> },
  created = new Date(),
): Promise<T & { proof: DataIntegrityProof }> {
  if ("proof" in document) throw new Error("the document already carries a proof");
  const options: JsonObject = {
    type: "DataIntegrityProof",
    cryptosuite: CRYPTOSUITE,
    created: created.toISOString().replace(/\.\d{3}Z$/, "Z"),
    verificationMethod: signer.verificationMethod,
    proofPurpose: "assertionMethod",
  };
  if (document["@context"] !== undefined) options["@context"] = document["@context"] as Json;
  const signature = await signer.sign(hashData(document, options));
  const proof = { ...options, proofValue: base58btc.encode(signature) } as unknown as DataIntegrityProof;
  return { ...document, proof };
}

/**
 * Why the document's proof does not verify, or undefined when it does: an eddsa-jcs-2022
 * DataIntegrityProof for assertion, by a did:key verification method, whose signature is good.
 * `expectedMethod`, when given, must be the proof's verification method's DID (the issuer's).
 */
export async function proofProblem(secured: JsonObject, expectedDid?: string): Promise<string | undefined> {
  const proof = secured.proof as Record<string, Json> | undefined;
  if (!proof || typeof proof !== "object" || Array.isArray(proof)) return "it carries no proof";
  if (proof.type !== "DataIntegrityProof")
    return `its proof is of type '${String(proof.type)}', not DataIntegrityProof`;
  if (proof.cryptosuite !== CRYPTOSUITE)
    return `its proof uses cryptosuite '${String(proof.cryptosuite)}'; Concordat verifies ${CRYPTOSUITE}`;
  if (proof.proofPurpose !== "assertionMethod")
    return `its proof's purpose is '${String(proof.proofPurpose)}', not assertionMethod`;
  if (typeof proof.proofValue !== "string" || !proof.proofValue.startsWith("z"))
    return "its proof value is not base58btc multibase";
  if (typeof proof.verificationMethod !== "string") return "its proof names no verification method";
  const did = proof.verificationMethod.split("#")[0] as string;
  if (expectedDid !== undefined && did !== expectedDid)
    return `it is signed by ${did}, not by its issuer ${expectedDid}`;
  const { raw, problem } = publicKeyOfDidKey(proof.verificationMethod);
  if (!raw) return problem;
  const { proofValue, ...options } = proof;
  const { proof: _proof, ...document } = secured;
  if (options["@context"] !== undefined) {
    const proofContext = ([] as Json[]).concat(options["@context"] as Json);
    const docContext = ([] as Json[]).concat((document["@context"] ?? []) as Json);
    if (proofContext.some((c, i) => jcs(c) !== jcs(docContext[i] ?? null)))
      return "its @context does not start with its proof's @context";
    document["@context"] = options["@context"] as Json;
  }
  let signature: Uint8Array;
  try {
    signature = base58btc.decode(proofValue as string);
  } catch {
    return "its proof value is not base58btc";
  }
  let data: Uint8Array;
  try {
    data = hashData(document, options as JsonObject);
  } catch (error) {
    return (error as Error).message;
  }
  return (await verifyEd25519(raw, data, signature))
    ? undefined
    : "its proof's signature does not verify (tampered, or signed by another key)";
}
