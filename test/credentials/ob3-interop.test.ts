import { generateKeyPairSync, sign, type KeyObject } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { ServiceError } from "@grpc/grpc-js";
import { DataIntegrityProof } from "@digitalbazaar/data-integrity";
import { cryptosuite as rdfcSuite } from "@digitalbazaar/eddsa-rdfc-2022-cryptosuite";
import * as vc from "@digitalbazaar/vc";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { credentialsVerifyCommand } from "../../cli/commands/credentials.js";
import { fieldViolations } from "../../node/api/index.js";
import {
  addProof,
  multikeyOfRaw,
  verificationMethodOf,
  type Cryptosuite,
  type JsonObject,
} from "../../node/credentials/index.js";
import { startFederationWith, type FederationNode, type StartedFederation } from "../helpers/federation.js";
import { makeClients, makeTempDir } from "../helpers/harness.js";
import { expectCliError, memoryIo } from "../helpers/io.js";
import { documentLoader } from "./independent.js";

const FIXTURE = new URL("../fixtures/ob3/achievement-credential.json", import.meta.url);
const ISSUER = "https://example.edu/issuers/565049";

/** An Ed25519 key pair as an outside issuer holds it, in every spelling `--issuer-key` takes. */
function issuerKey() {
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  const raw = new Uint8Array(Buffer.from(publicKey.export({ format: "jwk" }).x as string, "base64url"));
  const multikey = multikeyOfRaw(raw);
  return {
    privateKey,
    pem: publicKey.export({ format: "pem", type: "spki" }).toString(),
    jwk: JSON.stringify(publicKey.export({ format: "jwk" })),
    multikey,
    did: `did:key:${multikey}`,
  };
}

const signer = (method: string, privateKey: KeyObject) => ({
  verificationMethod: method,
  sign: async (data: Uint8Array) => new Uint8Array(sign(null, data, privateKey)),
});

/** The document signed with each suite separately, the proofs gathered into a proof set. */
async function proofSet(
  document: JsonObject,
  proofs: Array<{ method: string; key: KeyObject; suite: Cryptosuite }>,
): Promise<JsonObject> {
  const signed = await Promise.all(
    proofs.map((p) => addProof(document, signer(p.method, p.key), new Date("2026-01-02T00:00:00Z"), p.suite)),
  );
  return { ...document, proof: signed.map((s) => s.proof) } as unknown as JsonObject;
}

/** Signed by Digital Bazaar's eddsa-rdfc-2022 implementation (independent of Concordat's). */
async function independentRdfcIssue(document: JsonObject, method: string, key: KeyObject): Promise<JsonObject> {
  const suite = new DataIntegrityProof({
    cryptosuite: rdfcSuite,
    signer: { id: method, algorithm: "Ed25519", sign: async ({ data }: { data: Uint8Array }) => sign(null, data, key) },
  });
  return (await vc.issue({ credential: structuredClone(document), suite, documentLoader })) as JsonObject;
}

/**
 * Open Badges 3.0 credentials as 1EdTech and other tools write them: an AchievementCredential of an
 * https issuer (the fixture, shaped like the OB 3.0 specification's example), proof sets, the
 * eddsa-rdfc-2022 cryptosuite (signed by Concordat and by Digital Bazaar's library, verified by
 * both), and `--issuer-key` for an issuer whose id is not a did:key. Every refusal names why.
 */
describe("Open Badges 3.0 interoperability", () => {
  let fed: StartedFederation;
  let dir: string;
  let unsigned: JsonObject;
  const key = issuerKey();
  const other = issuerKey();
  const method = `${ISSUER}#key-1`;
  const s = () => fed.byName("s");
  const cli = (n: FederationNode) => ({ api: n.node.address, token: n.node.adminToken });
  const verify = (credential: unknown, trustedIssuer?: string) =>
    s().node.running.credentials.verify(credential, trustedIssuer ? { trustedIssuer } : {});
  const reasons = async (credential: unknown, trustedIssuer?: string) =>
    (await verify(credential, trustedIssuer)).reasons.join("\n");

  beforeAll(async () => {
    fed = await startFederationWith(["s"], []);
    dir = await makeTempDir("concordat-ob3-");
    unsigned = JSON.parse(await readFile(FIXTURE, "utf8")) as JsonObject;
  });
  afterAll(async () => {
    await fed?.stop();
  });

  it("verifies an AchievementCredential of an https issuer, signed eddsa-rdfc-2022 by an independent library, given the issuer's key as PEM, JWK or Multikey", async () => {
    const credential = await independentRdfcIssue(unsigned, method, key.privateKey);
    expect(Array.isArray(credential.proof)).toBe(false);
    for (const given of [key.pem, key.jwk, key.multikey, key.did]) {
      const v = await verify(credential, given);
      expect(v.reasons).toEqual([]);
      expect(v.valid).toBe(true);
    }
    const v = await verify(credential, key.pem);
    expect(v.checks.map((c) => `${c.check}: ${c.detail}`)).toEqual(
      expect.arrayContaining([
        "format: an Open Badges 3.0 AchievementCredential (VC 2.0)",
        `issuer: ${ISSUER}, with the key you gave (--issuer-key), trusted by you (not a member of the charter)`,
        "proof: the proof verifies (eddsa-rdfc-2022, by the issuer's key)",
      ]),
    );
    // Without the key: the issuer cannot be resolved offline, and the message says what to give.
    expect(await reasons(credential)).toBe(
      [
        `issuer: ${ISSUER} is not a member of this federation's charter, and its key cannot be resolved offline (give its public key with --issuer-key: a did:key, Multikey, JWK or PEM)`,
        `proof: its verification method '${method}' is not a did:key and cannot be resolved offline (give the issuer's public key with --issuer-key)`,
      ].join("\n"),
    );
    // With another key: the signature does not verify, and nothing tells to give --issuer-key again.
    const wrong = await reasons(credential, other.pem);
    expect(wrong).toBe("proof: its eddsa-rdfc-2022 signature does not verify (tampered, or signed by another key)");
  });

  it("verifies Concordat's own eddsa-rdfc-2022 signature, and so does Digital Bazaar's library; a tampered one fails in both", async () => {
    const credential = await addProof(
      { ...unsigned, issuer: { ...(unsigned.issuer as JsonObject), id: key.did } } as JsonObject,
      signer(verificationMethodOf(key.did), key.privateKey),
      new Date("2026-01-02T00:00:00Z"),
      "eddsa-rdfc-2022",
    );
    expect(credential.proof.cryptosuite).toBe("eddsa-rdfc-2022");
    expect((await verify(credential, key.did)).reasons).toEqual([]);
    const independent = async (c: unknown) =>
      (
        await vc.verifyCredential({
          credential: structuredClone(c),
          suite: new DataIntegrityProof({ cryptosuite: rdfcSuite }),
          documentLoader,
        })
      ).verified;
    expect(await independent(credential)).toBe(true);
    // Tampered: a changed name, a changed nested value, an added value of a defined term.
    const subject = credential.credentialSubject as JsonObject;
    const tampered = [
      { ...credential, name: "Certified Torturer" },
      {
        ...credential,
        credentialSubject: { ...subject, achievement: { ...(subject.achievement as JsonObject), name: "Other" } },
      },
      { ...credential, description: "smuggled" },
    ];
    for (const t of tampered) {
      expect(await reasons(t, key.did)).toBe(
        "proof: its eddsa-rdfc-2022 signature does not verify (tampered, or signed by another key)",
      );
      expect(await independent(t)).toBe(false);
    }
    // A term no context defines would not be signed: refused, not ignored. With the VC undefined-terms
    // context it is defined, so signed, and changing it breaks the signature.
    expect(await reasons({ ...credential, extra: "smuggled" }, key.did)).toBe(
      `proof: its property "extra" is not defined by its JSON-LD contexts, so eddsa-rdfc-2022 would not sign it (it is refused rather than left unsigned)`,
    );
    const withUndefined = await addProof(
      {
        ...unsigned,
        "@context": [...(unsigned["@context"] as string[]), "https://www.w3.org/ns/credentials/undefined-terms/v2"],
        issuer: key.did,
        extra: "declared",
      } as JsonObject,
      signer(verificationMethodOf(key.did), key.privateKey),
      new Date(),
      "eddsa-rdfc-2022",
    );
    expect((await verify(withUndefined, key.did)).reasons).toEqual([]);
    expect(await reasons({ ...withUndefined, extra: "changed" }, key.did)).toBe(
      "proof: its eddsa-rdfc-2022 signature does not verify (tampered, or signed by another key)",
    );
    // A context that is not bundled is refused, never fetched.
    expect(
      await reasons(
        { ...credential, "@context": [...(credential["@context"] as string[]), "https://evil.example/ctx"] },
        key.did,
      ),
    ).toMatch(
      /^proof: it uses the JSON-LD context https:\/\/evil\.example\/ctx, which is not bundled \(contexts are never fetched/,
    );
  });

  it("verifies a proof set (both cryptosuites, and Digital Bazaar's set); one bad proof in the set fails it, naming which", async () => {
    const ours = await proofSet(unsigned, [
      { method, key: key.privateKey, suite: "eddsa-jcs-2022" },
      { method, key: key.privateKey, suite: "eddsa-rdfc-2022" },
    ]);
    const v = await verify(ours, key.jwk);
    expect(v.reasons).toEqual([]);
    expect(v.checks.find((c) => c.check === "proof")?.detail).toBe(
      "all 2 proofs of the set verify (eddsa-jcs-2022 and eddsa-rdfc-2022, by the issuer's key)",
    );
    // A one-proof array, as 1EdTech's validator samples have.
    const single = { ...ours, proof: [(ours.proof as JsonObject[])[1] as JsonObject] };
    expect((await verify(single, key.jwk)).reasons).toEqual([]);
    // Digital Bazaar's library adds a second proof to a signed credential: a proof set too.
    const theirs = await independentRdfcIssue(
      await independentRdfcIssue(unsigned, method, key.privateKey),
      `${ISSUER}#key-2`,
      key.privateKey,
    );
    expect((theirs.proof as JsonObject[]).length).toBe(2);
    expect((await verify(theirs, key.jwk)).reasons).toEqual([]);
    // One proof signed by another key, one over another document: the set fails, naming the proof.
    const [good, second] = ours.proof as JsonObject[];
    const byOther = (await proofSet(unsigned, [{ method, key: other.privateKey, suite: "eddsa-rdfc-2022" }]))
      .proof as JsonObject[];
    expect(await reasons({ ...ours, proof: [good as JsonObject, byOther[0] as JsonObject] }, key.jwk)).toBe(
      "proof: proof 2 of 2: its eddsa-rdfc-2022 signature does not verify (tampered, or signed by another key)",
    );
    const otherDocument = (
      await proofSet({ ...unsigned, name: "Other" }, [{ method, key: key.privateKey, suite: "eddsa-jcs-2022" }])
    ).proof as JsonObject[];
    expect(await reasons({ ...ours, proof: [otherDocument[0] as JsonObject, second as JsonObject] }, key.jwk)).toBe(
      "proof: proof 1 of 2: its eddsa-jcs-2022 signature does not verify (tampered, or signed by another key)",
    );
    // A proof by a method that is not the issuer's, even with the given key; an empty set; a chain; another suite.
    const foreign = await proofSet(unsigned, [
      { method: "https://evil.example/keys#1", key: key.privateKey, suite: "eddsa-rdfc-2022" },
    ]);
    expect(await reasons(foreign, key.jwk)).toBe(
      `proof: it is signed by https://evil.example/keys, not by its issuer ${ISSUER}`,
    );
    expect(await reasons({ ...ours, proof: [] }, key.jwk)).toBe("proof: its proof set is empty");
    expect(await reasons({ ...ours, proof: undefined }, key.jwk)).toMatch(/^proof: it carries no proof$/m);
    expect(
      await reasons(
        { ...ours, proof: [good as JsonObject, { ...(second as JsonObject), previousProof: "urn:x" }] },
        key.jwk,
      ),
    ).toBe("proof: proof 2 of 2: it is part of a proof chain (previousProof), which Concordat does not verify");
    expect(
      await reasons({ ...ours, proof: { ...(good as JsonObject), cryptosuite: "ecdsa-rdfc-2019" } }, key.jwk),
    ).toBe("proof: it uses cryptosuite 'ecdsa-rdfc-2019'; Concordat verifies eddsa-jcs-2022 and eddsa-rdfc-2022");
  });

  it("accepts the type AchievementCredential or OpenBadgeCredential (with VerifiableCredential), and names any other", async () => {
    for (const type of [
      ["VerifiableCredential", "OpenBadgeCredential"],
      ["VerifiableCredential", "AchievementCredential"],
    ]) {
      const signed = await addProof({ ...unsigned, type }, signer(method, key.privateKey));
      expect((await verify(signed, key.pem)).reasons).toEqual([]);
    }
    const bad = await addProof(
      { ...unsigned, type: ["VerifiableCredential", "Achievement"] },
      signer(method, key.privateKey),
    );
    expect(await reasons(bad, key.pem)).toBe(
      "format: its type is [VerifiableCredential, Achievement], not a VerifiableCredential OpenBadgeCredential or a VerifiableCredential AchievementCredential",
    );
  });

  it("the CLI verifies with --issuer-key as a file or inline; a did:key issuer with someone else's key is named; a bad key is refused by the API", async () => {
    const credential = await independentRdfcIssue(unsigned, method, key.privateKey);
    const file = join(dir, "badge.json");
    const pemFile = join(dir, "issuer.pem");
    await writeFile(file, JSON.stringify(credential, null, 2));
    await writeFile(pemFile, key.pem);
    for (const issuerKey of [pemFile, key.jwk, key.multikey]) {
      const io = memoryIo(false);
      await credentialsVerifyCommand({ ...cli(s()), file, issuerKey }, io);
      expect(io.out()).toMatch(/^VALID: /);
      expect(io.out()).toContain("✓ proof: the proof verifies (eddsa-rdfc-2022, by the issuer's key)");
    }
    const refused = await expectCliError(credentialsVerifyCommand({ ...cli(s()), file }, memoryIo(false)));
    expect(refused.exitCode).toBe(1);
    expect(refused.message).toMatch(/its key cannot be resolved offline \(give its public key with --issuer-key/);
    const missing = await expectCliError(
      credentialsVerifyCommand({ ...cli(s()), file, issuerKey: join(dir, "nope.pem") }, memoryIo(false)),
    );
    expect(missing.message).toMatch(/--issuer-key: '.*nope\.pem' is neither a key .* nor a readable file \(ENOENT\)/);
    // A did:key issuer, with another key given: the issuer check says so.
    const didIssued = await addProof(
      { ...unsigned, issuer: key.did },
      signer(verificationMethodOf(key.did), key.privateKey),
    );
    expect(await reasons(didIssued, other.multikey)).toBe(
      `issuer: ${key.did} is not a member of this federation's charter, and the key given with --issuer-key is not this did:key's key`,
    );
    // What the CLI would not send: a key that is no key, a private JWK, an RSA key, an identifier.
    const raw = makeClients(s().node.address, s().node.adminToken);
    try {
      const refusal = async (issuerKey: string) =>
        fieldViolations(
          (await raw.credentials
            .verifyCredential({ json: JSON.stringify(credential), at: "", issuerKey })
            .then(() => {
              throw new Error("accepted");
            })
            .catch((e: ServiceError) => e)) as ServiceError,
        );
      const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey.export({ format: "pem", type: "spki" });
      const privateJwk = JSON.stringify(key.privateKey.export({ format: "jwk" }));
      expect(await refusal("not a key")).toEqual([
        {
          field: "issuer_key",
          description:
            "'not a key' is not a key; give an Ed25519 public key as a did:key, a Multikey (z6Mk…), a JWK or a PEM public key",
        },
      ]);
      expect((await refusal(privateJwk))[0]?.description).toMatch(/^the JWK holds a private key \(d\)/);
      expect((await refusal(rsa.toString()))[0]?.description).toMatch(/^it is a rsa key, not Ed25519/);
      expect((await refusal(ISSUER))[0]?.description).toMatch(/is an identifier, not a key/);
    } finally {
      raw.close();
    }
  });
});
