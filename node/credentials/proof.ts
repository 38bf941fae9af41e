import { createHash } from "node:crypto";
import canonicalizeModule from "canonicalize";
import { base58btc } from "multiformats/bases/base58";
import { quote } from "../text.js";
import { publicKeyOfDidKey, verifyEd25519 } from "./did-key.js";
import { rdfc } from "./rdfc.js";

/**
 * W3C Data Integrity proofs with the `eddsa-jcs-2022` cryptosuite (W3C vc-di-eddsa): the document
 * and the proof options are each canonicalised with JCS (RFC 8785) and hashed with SHA-256; the
 * Ed25519 signature over the two hashes, base58btc-multibase, is the proof value. JCS needs no
 * JSON-LD processing, so Concordat signs and verifies offline with no context loading at all; an
 * independent implementation (Digital Bazaar's, in a test) verifies what it signs.
 */
export const CRYPTOSUITE = "eddsa-jcs-2022";
/** W3C vc-di-eddsa §3.3: RDFC-1.0 canonicalisation (JSON-LD, with bundled contexts only) instead of JCS. */
export const RDFC_CRYPTOSUITE = "eddsa-rdfc-2022";
export const CRYPTOSUITES = [CRYPTOSUITE, RDFC_CRYPTOSUITE] as const;
export type Cryptosuite = (typeof CRYPTOSUITES)[number];

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
  cryptosuite: Cryptosuite;
  created: string;
  verificationMethod: string;
  proofPurpose: "assertionMethod";
  proofValue: string;
}

/** What is signed: SHA-256(canonical proof configuration) ‖ SHA-256(canonical document without proof). */
async function hashData(document: JsonObject, options: JsonObject, suite: Cryptosuite): Promise<Uint8Array> {
  if (suite === CRYPTOSUITE) return new Uint8Array(Buffer.concat([sha256(jcs(options)), sha256(jcs(document))]));
  // eddsa-rdfc-2022 (§3.3.5): the proof configuration carries the document's @context.
  const config: JsonObject = { ...options };
  if (document["@context"] !== undefined) config["@context"] = document["@context"] as Json;
  const [configHash, documentHash] = [sha256(await rdfc(config)), sha256(await rdfc(document))];
  return new Uint8Array(Buffer.concat([configHash, documentHash]));
}

/**
 * Signs `document` (which must not carry a proof yet) with the key behind `verificationMethod`,
 * with `eddsa-jcs-2022` (the default) or `eddsa-rdfc-2022`.
 */
export async function addProof<T extends JsonObject>(
  document: T,
  signer: { verificationMethod: string; sign: (data: Uint8Array) => Promise<Uint8Array> },
  created = new Date(),
  cryptosuite: Cryptosuite = CRYPTOSUITE,
): Promise<T & { proof: DataIntegrityProof }> {
  if ("proof" in document) throw new Error("the document already carries a proof");
  const options: JsonObject = {
    type: "DataIntegrityProof",
    cryptosuite,
    created: created.toISOString().replace(/\.\d{3}Z$/, "Z"),
    verificationMethod: signer.verificationMethod,
    proofPurpose: "assertionMethod",
  };
  if (cryptosuite === CRYPTOSUITE && document["@context"] !== undefined)
    options["@context"] = document["@context"] as Json;
  const signature = await signer.sign(await hashData(document, options, cryptosuite));
  const proof = { ...options, proofValue: base58btc.encode(signature) } as unknown as DataIntegrityProof;
  return { ...document, proof };
}

/** Who must have signed: the issuer, and (for an issuer whose key cannot be resolved offline) the key the caller gives. */
export interface ExpectedSigner {
  issuer: string;
  /** A raw Ed25519 public key the caller trusts as the issuer's (`--issuer-key`). */
  trustedKey?: Uint8Array;
}

const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

/** The public key a proof's verification method stands for, or why it is not the expected signer's. */
function keyOf(method: string, expected: ExpectedSigner | undefined): { raw?: Uint8Array; problem?: string } {
  const base = method.split("#")[0] as string;
  const didKey = method.startsWith("did:key:") ? publicKeyOfDidKey(method) : undefined;
  const isGivenKey = !!(didKey?.raw && expected?.trustedKey && same(didKey.raw, expected.trustedKey));
  if (expected !== undefined && base !== expected.issuer && !isGivenKey)
    return { problem: `it is signed by ${base}, not by its issuer ${expected.issuer}` };
  if (didKey) return didKey;
  if (expected?.trustedKey) return { raw: expected.trustedKey };
  return {
    problem: `its verification method ${quote(method)} is not a did:key and cannot be resolved offline (give the issuer's public key with --issuer-key)`,
  };
}

/** Why one proof of the set does not verify, or undefined. */
async function oneProofProblem(
  proof: Record<string, Json>,
  document: JsonObject,
  expected: ExpectedSigner | undefined,
): Promise<string | undefined> {
  if (!proof || typeof proof !== "object" || Array.isArray(proof)) return "it is not a JSON object";
  if (proof.type !== "DataIntegrityProof") return `it is of type '${String(proof.type)}', not DataIntegrityProof`;
  if (!CRYPTOSUITES.includes(proof.cryptosuite as Cryptosuite))
    return `it uses cryptosuite '${String(proof.cryptosuite)}'; Concordat verifies ${CRYPTOSUITES.join(" and ")}`;
  const suite = proof.cryptosuite as Cryptosuite;
  if (proof.proofPurpose !== "assertionMethod")
    return `its purpose is '${String(proof.proofPurpose)}', not assertionMethod`;
  if (proof.previousProof !== undefined)
    return "it is part of a proof chain (previousProof), which Concordat does not verify";
  if (typeof proof.proofValue !== "string" || !proof.proofValue.startsWith("z"))
    return "its proof value is not base58btc multibase";
  if (typeof proof.verificationMethod !== "string") return "it names no verification method";
  if (proof.created !== undefined && (typeof proof.created !== "string" || Number.isNaN(Date.parse(proof.created))))
    return "its created time is not a date-time";
  const { raw, problem } = keyOf(proof.verificationMethod, expected);
  if (!raw) return problem;
  const { proofValue, ...options } = proof;
  const unsecured: JsonObject = { ...document };
  if (options["@context"] !== undefined) {
    const proofContext = ([] as Json[]).concat(options["@context"] as Json);
    const docContext = ([] as Json[]).concat((unsecured["@context"] ?? []) as Json);
    if (proofContext.some((c, i) => jcs(c) !== jcs(docContext[i] ?? null)))
      return "the document's @context does not start with the proof's @context";
    unsecured["@context"] = options["@context"] as Json;
  }
  let signature: Uint8Array;
  try {
    signature = base58btc.decode(proofValue as string);
  } catch {
    return "its proof value is not base58btc";
  }
  let data: Uint8Array;
  try {
    data = await hashData(unsecured, options as JsonObject, suite);
  } catch (error) {
    return (error as Error).message;
  }
  return (await verifyEd25519(raw, data, signature))
    ? undefined
    : `its ${suite} signature does not verify (tampered, or signed by another key)`;
}

/**
 * Why the document's proofs do not verify, or undefined when they do. `proof` is one
 * DataIntegrityProof or a proof set (an array, VC Data Integrity §2.1.1): every proof in the set is
 * checked on the document without its proofs, and one that fails fails the whole document. Each
 * proof is an `eddsa-jcs-2022` or `eddsa-rdfc-2022` proof for assertion by the expected signer:
 * a verification method of the issuer (a did:key, or any method of the issuer's id when the caller
 * gives its key), or the did:key of the key the caller gives.
 */
export async function proofProblem(
  secured: JsonObject,
  expected?: string | ExpectedSigner,
): Promise<string | undefined> {
  const { proof, ...document } = secured;
  const signer = typeof expected === "string" ? { issuer: expected } : expected;
  if (proof === undefined || proof === null) return "it carries no proof";
  const proofs = (Array.isArray(proof) ? proof : [proof]) as Array<Record<string, Json>>;
  if (proofs.length === 0) return "its proof set is empty";
  const problems: string[] = [];
  for (const [i, p] of proofs.entries()) {
    const problem = await oneProofProblem(p, document, signer);
    if (problem) problems.push(proofs.length > 1 ? `proof ${i + 1} of ${proofs.length}: ${problem}` : problem);
  }
  return problems.length > 0 ? problems.join("; ") : undefined;
}

/** The proofs of a document: one proof, or each of a proof set. */
export function proofsOf(secured: JsonObject): JsonObject[] {
  const proof = secured.proof;
  if (proof === undefined || proof === null) return [];
  return (Array.isArray(proof) ? proof : [proof]).filter(
    (p): p is JsonObject => !!p && typeof p === "object" && !Array.isArray(p),
  );
}
