import * as A from "@automerge/automerge";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { generateKeyPair } from "@libp2p/crypto/keys";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  credentialsAttachCommand,
  credentialsIssueCommand,
  credentialsVerifyCommand,
} from "../../cli/commands/credentials.js";
import { trainersGetCommand } from "../../cli/commands/trainers.js";
import { toCliError } from "../../cli/errors.js";
import {
  CREDENTIALS_KEY,
  didKeyOfPeerId,
  verificationMethodOf,
  addProof,
  statusListCredential,
  type JsonObject,
} from "../../node/credentials/index.js";
import { encodeBitstring, emptyBitstring } from "../../node/credentials/status-list.js";
import {
  draft,
  startFederationWith,
  waitUntil,
  type FederationNode,
  type StartedFederation,
} from "../helpers/federation.js";
import { makeTempDir } from "../helpers/harness.js";
import { memoryIo } from "../helpers/io.js";
import { independentVerify, independentIssue } from "./independent.js";

const cli = (n: FederationNode) => ({ api: n.node.address, token: n.node.adminToken });
const now = () => new Date().toISOString();

/**
 * Accreditations as Open Badges 3.0 credentials across real nodes: the secretariat (s) releases a
 * core with an accreditation scheme; hub a issues to its own trainer; s issues to hub b's trainer,
 * which b attaches; status changes by the issuer only; endorsements; verification, also by an
 * independent library; bad input of every kind rejected with the reason named.
 */
describe("accreditations as verifiable credentials", () => {
  let fed: StartedFederation;
  let dir: string;
  const s = () => fed.byName("s");
  const a = () => fed.byName("a");
  const b = () => fed.byName("b");
  const verify = (n: FederationNode, credential: unknown, options: { at?: string; trustedIssuer?: string } = {}) =>
    n.node.running.credentials.verify(credential, options);
  /** A claim under hub a's own scheme, and one under the core's (the secretariat's). */
  const claim = {
    scheme: "hub-a.crowd",
    competency: "hr-1",
    level: "2",
    validFrom: "2026-01-01",
    validUntil: "2028-01-01",
    status: "active" as const,
  };
  const coreClaim = { ...claim, scheme: "trainer-hr" };
  let issuedByA: JsonObject;
  let issuedByS: JsonObject;

  beforeAll(async () => {
    fed = await startFederationWith(
      ["s", "a", "b"],
      [
        ["a", "s"],
        ["b", "s"],
      ],
    );
    dir = await makeTempDir("concordat-credentials-");
    const core = s().node.running.coreAuthoring;
    await core.import(
      "op",
      {
        framework: {
          identifier: "fw",
          title: "SSR core",
          creator: "Secretariat",
          language: "en",
          lastChangeDateTime: now(),
          extra: {},
        },
        items: [
          {
            identifier: "hr-1",
            code: "HR-1",
            statement: { en: "Applies the prohibition of torture" },
            type: "Competency",
            language: "en",
            roleLevels: [],
            themes: [],
            lastChangeDateTime: now(),
            extra: {},
          },
        ],
        schemes: [
          {
            id: "trainer-hr",
            name: { en: "Human rights trainer" },
            competencies: ["hr-1"],
            levels: ["1", "2"],
            validityMonths: 36,
          },
        ],
      },
      false,
    );
    await core.release("op", "1.0.0", "with a scheme");
    await waitUntil(
      "a and b to verify the release",
      async () =>
        (await a().node.running.coreSource.releases()).length === 1 &&
        (await b().node.running.coreSource.releases()).length === 1,
      15_000,
    );
    // Hub a's own scheme, aligned to the release it adopted.
    await a().node.running.curriculum.adopt("op", "1.0.0");
    await a().node.running.curriculum.putScheme("op", {
      id: "hub-a.crowd",
      name: { en: "Crowd management trainer (Kenya)" },
      competencies: ["hr-1"],
      levels: ["1", "2"],
      validityMonths: 24,
    });
    await a().node.running.roster.add({ ...draft("T-1"), accreditations: [claim] }, "op");
    await a().node.running.roster.add({ ...draft("T-2"), accreditations: [claim] }, "op");
    await b().node.running.roster.add({ ...draft("B-1"), accreditations: [coreClaim] }, "op");
  }, 60_000);
  afterAll(async () => {
    await fed?.stop();
  });

  it("a hub issues its own scheme to its own trainer: an OB3 credential attached to the record, and only claims backed by one count", async () => {
    // The core's schemes are the secretariat's to accredit; a hub's own scheme is the hub's alone.
    await expect(
      a().node.running.credentials.issue("op", {
        trainer: { hub: a().hub, id: "T-1" },
        scheme: "trainer-hr",
        level: "2",
        validFrom: "2026-01-01",
        validUntil: "2028-01-01",
        evidence: [],
      }),
    ).rejects.toThrow(/a scheme of the core: only the secretariat accredits it/);
    await expect(
      b().node.running.credentials.issue("op", {
        trainer: { hub: b().hub, id: "B-1" },
        scheme: "hub-a.crowd",
        level: "2",
        validFrom: "2026-01-01",
        validUntil: "2028-01-01",
        evidence: [],
      }),
    ).rejects.toThrow(/is a scheme of hub 'hub-a': only that hub accredits it/);
    issuedByA = await a().node.running.credentials.issue("op", {
      trainer: { hub: a().hub, id: "T-1" },
      scheme: "hub-a.crowd",
      level: "2",
      validFrom: "2026-01-01",
      validUntil: "2028-01-01",
      evidence: ["Observed delivery, Nairobi, 2025"],
    });
    expect(issuedByA.type).toEqual(["VerifiableCredential", "OpenBadgeCredential"]);
    expect((issuedByA.issuer as JsonObject).id).toBe(didKeyOfPeerId(a().peerId));
    expect((issuedByA.credentialSubject as JsonObject).id).toBe(`urn:concordat:trainer:${a().hub}:T-1`);
    expect((issuedByA.proof as JsonObject).cryptosuite).toBe("eddsa-jcs-2022");
    expect((await verify(a(), issuedByA)).valid).toBe(true);
    const io = memoryIo(true);
    await trainersGetCommand({ ...cli(a()), id: "T-1" }, io);
    expect((JSON.parse(io.out()) as { accreditationChecks: Array<{ verified: boolean }> }).accreditationChecks).toEqual(
      [expect.objectContaining({ verified: true })],
    );
    // T-2 claims the same accreditation with no credential: shown as unverified, never counted.
    const human = memoryIo(false);
    await trainersGetCommand({ ...cli(a()), id: "T-2" }, human);
    expect(human.out()).toMatch(/UNVERIFIED.*no credential for this scheme, level and competency/);
    // Bad requests are named.
    await expect(
      a().node.running.credentials.issue("op", {
        trainer: { hub: a().hub, id: "T-1" },
        scheme: "hub-a.nope",
        level: "9",
        validFrom: "2026-01-01",
        validUntil: "2040-01-01",
        evidence: [],
      }),
    ).rejects.toThrow(/scheme: 'hub-a.nope' is not a scheme of this hub/);
    await expect(
      a().node.running.credentials.issue("op", {
        trainer: { hub: a().hub, id: "T-1" },
        scheme: "hub-a.crowd",
        level: "2",
        validFrom: "2026-01-01",
        validUntil: "2040-01-01",
        evidence: [],
      }),
    ).rejects.toThrow(/at most 24 months/);
  });

  it("the secretariat issues to another hub's trainer; the hub attaches it; it verifies there and with an independent VC library", async () => {
    issuedByS = await s().node.running.credentials.issue("op", {
      trainer: { hub: b().hub, id: "B-1" },
      scheme: "trainer-hr",
      level: "2",
      validFrom: "2026-01-01",
      validUntil: "2028-01-01",
      evidence: [],
    });
    await s().node.running.checkpointer.flush();
    await waitUntil("b to verify s's status lists", async () => (await verify(b(), issuedByS)).valid, 15_000);
    const attached = await b().node.running.credentials.attach("op", issuedByS);
    expect(attached.issuerHub).toBe(s().hub);
    expect((await b().node.running.credentials.verifyClaims("B-1", [coreClaim]))[0]?.verified).toBe(true);
    // Digital Bazaar's @digitalbazaar/vc, with the eddsa-jcs-2022 cryptosuite and the contexts bundled locally.
    const lists = new Map(
      Object.values(
        (s().node.running.documents.get(CREDENTIALS_KEY) as { status: Record<string, unknown> }).status,
      ).map((raw) => {
        const list = JSON.parse(String((raw as { val?: string }).val ?? raw)) as { id: string };
        return [list.id, list] as const;
      }),
    );
    expect(await independentVerify(issuedByS, lists)).toEqual({ verified: true });
    const tampered = { ...issuedByS, name: "Master trainer" };
    expect((await independentVerify(tampered, lists)).verified).toBe(false);
    // The CLI on a file.
    const file = join(dir, "b1.json");
    await writeFile(file, JSON.stringify(issuedByS));
    const io = memoryIo(false);
    await credentialsVerifyCommand({ ...cli(b()), file }, io);
    expect(io.out()).toMatch(/VALID: .*\n.*issuer +hub-s/);
  });

  it("an issuer accredits many trainers from one file (every row checked first, nothing issued on error); the home hub attaches them in one step; `trainers get` shows them", async () => {
    await b().node.running.roster.add(draft("B-7"), "op"); // no accreditations column at all
    await b().node.running.roster.add(draft("B-8"), "op");
    const issuedBefore = s().node.running.credentials.list().issued.length;
    const bad = join(dir, "bad.csv");
    await writeFile(
      bad,
      [
        "trainer,scheme,level,valid_from,valid_until,evidence",
        "hub-b/B-7,trainer-hr,1,2026-01-01,2028-01-01,Observed 2025",
        "hub-b/B-8,trainer-hr,9,2026-01-01,2028-01-01,",
        "hub-b/B-8,trainer-hr,2,2026-01-01,,",
        "hub-zz/X,trainer-hr,2,2026-01-01,2028-01-01,",
      ].join("\n"),
    );
    const refused = memoryIo(false);
    const error = toCliError(
      await credentialsIssueCommand({ ...cli(s()), from: bad }, refused).then(
        () => undefined,
        (e: unknown) => e,
      ),
    );
    expect(error.exitCode).toBe(2);
    expect(error.message).toMatch(/3 rows of .*bad.csv are invalid; nothing was issued/);
    expect(refused.out()).toMatch(/│ 3 +│ level +│ '9' is not a level of 'trainer-hr'/);
    expect(refused.out()).toMatch(/│ 4 +│ valid_until +│ is required/);
    expect(refused.out()).toMatch(/│ 5 +│ trainer +│ 'hub-zz' is not a member hub/);
    expect(s().node.running.credentials.list().issued).toHaveLength(issuedBefore);

    const good = join(dir, "good.json");
    await writeFile(
      good,
      JSON.stringify(
        [
          {
            trainer: "hub-b/B-7",
            scheme: "trainer-hr",
            level: "1",
            validFrom: "2026-01-01",
            validUntil: "2028-01-01",
            evidence: ["Observed 2025"],
          },
          { trainer: "hub-b/B-7", scheme: "trainer-hr", level: "2", validFrom: "2026-01-01", validUntil: "2028-01-01" },
          { trainer: "hub-b/B-8", scheme: "trainer-hr", level: "2", validFrom: "2026-01-01", validUntil: "2028-01-01" },
        ],
        null,
        2,
      ),
    );
    const out = join(dir, "issued.json");
    const issued = memoryIo(true);
    await credentialsIssueCommand({ ...cli(s()), from: good, out }, issued);
    expect((JSON.parse(issued.out()) as { issued: unknown[] }).issued).toHaveLength(3);
    expect(s().node.running.credentials.list().issued).toHaveLength(issuedBefore + 3);
    await s().node.running.checkpointer.flush();

    // The home hub attaches every credential issued to its trainers that it has verified, in one step.
    await waitUntil(
      "b to see the three credentials pending and valid",
      async () => {
        const pending = b().node.running.credentials.pending();
        return pending.length === 3 && (await Promise.all(pending.map((c) => verify(b(), c)))).every((v) => v.valid);
      },
      20_000,
    );
    const attached = memoryIo(true);
    await credentialsAttachCommand({ ...cli(b()), allPending: true }, attached);
    expect((JSON.parse(attached.out()) as { attached: unknown[] }).attached).toHaveLength(3);
    expect(b().node.running.credentials.pending()).toEqual([]);
    // Attaching the file the issuer wrote is then a no-op for each (already held), and verifies them all.
    await credentialsAttachCommand({ ...cli(b()), file: out }, memoryIo(true));

    // `trainers get` shows what counts: the two credentials B-7 holds, both verified, with no claim in its record.
    const human = memoryIo(false);
    await trainersGetCommand({ ...cli(b()), id: "B-7" }, human);
    expect(human.out()).toContain("Credentials held: 2 (2 verified)");
    expect(human.out()).toMatch(/trainer-hr \/ 1 .*hr-1 .*hub-s .*2026-01-01 – 2027-12-31 .*verified/);
    const json = memoryIo(true);
    await trainersGetCommand({ ...cli(b()), id: "B-7" }, json);
    expect(
      (JSON.parse(json.out()) as { credentials: Array<{ level: string; valid: boolean }> }).credentials
        .map((c) => [c.level, c.valid])
        .sort(),
    ).toEqual([
      ["1", true],
      ["2", true],
    ]);
  });

  it("a credential from an OB3 issuer outside the federation verifies given its key, and not without", async () => {
    const { credential, did } = await independentIssue();
    const untrusted = await verify(a(), credential);
    expect(untrusted.valid).toBe(false);
    expect(untrusted.reasons.join("\n")).toMatch(/is not a member of this federation's charter/);
    const trusted = await verify(a(), credential, { trustedIssuer: did });
    expect(trusted.reasons).toEqual([]);
    expect(trusted.valid).toBe(true);
  });

  it("only the issuer changes a credential's status; suspension is reversible, revocation is final", async () => {
    const id = String(issuedByS.id);
    await expect(b().node.running.credentials.setStatus("op", id, "suspend")).rejects.toThrow(
      /did not issue credential .* only its issuer/,
    );
    const flushAndCheck = async (pattern: RegExp | undefined) => {
      await s().node.running.checkpointer.flush();
      await waitUntil(
        `b to see the status ${String(pattern)}`,
        async () => {
          const v = await verify(b(), issuedByS);
          return pattern ? !v.valid && pattern.test(v.reasons.join("\n")) : v.valid;
        },
        15_000,
      );
    };
    await s().node.running.credentials.setStatus("op", id, "suspend");
    await flushAndCheck(/status \(suspension\): suspended by its issuer/);
    expect((await b().node.running.credentials.verifyClaims("B-1", [coreClaim]))[0]).toMatchObject({ verified: false });
    await s().node.running.credentials.setStatus("op", id, "reinstate");
    await flushAndCheck(undefined);
    await s().node.running.credentials.setStatus("op", id, "revoke");
    await flushAndCheck(/status \(revocation\): revoked by its issuer/);
    await expect(s().node.running.credentials.setStatus("op", id, "reinstate")).rejects.toThrow(
      /revoked by its issuer; a revocation is final/,
    );
    // Concurrent changes never lose one another (each re-signs a whole list).
    const more = await Promise.all(
      ["1", "2"].map((level) =>
        s().node.running.credentials.issue("op", {
          trainer: { hub: b().hub, id: "B-1" },
          scheme: "trainer-hr",
          level,
          validFrom: "2026-01-01",
          validUntil: "2027-01-01",
          evidence: [],
        }),
      ),
    );
    await Promise.all(more.map((c) => s().node.running.credentials.setStatus("op", String(c.id), "revoke")));
    for (const c of more) expect((await verify(s(), c)).reasons.join("\n")).toMatch(/revoked by its issuer/);
  });

  it("endorsements: a body recognises another's scheme or issuer, and verification reports it", async () => {
    await b().node.running.credentials.endorse(
      "op",
      a().hub,
      "The Kenyan police training authority recognises hub-a's accreditations.",
    );
    await b().node.running.credentials.endorse(
      "op",
      "urn:concordat:scheme:hub-a.crowd",
      "Recognised for national deployment.",
    );
    await b().node.running.checkpointer.flush();
    await waitUntil(
      "a to see b's endorsements",
      async () => (await verify(a(), issuedByA)).endorsements.length === 2,
      15_000,
    );
    const v = await verify(a(), issuedByA);
    expect(v.endorsements.map((e) => e.endorserHub)).toEqual([b().hub, b().hub]);
    expect(v.endorsements.map((e) => e.subject).sort()).toEqual(
      [didKeyOfPeerId(a().peerId), "urn:concordat:scheme:hub-a.crowd"].sort(),
    );
  });

  it("rejects, naming why: tampered, signed by another key, expired, malformed, and a status list signed by someone other than the issuer", async () => {
    const reasons = async (credential: unknown, options: { at?: string } = {}) =>
      (await verify(a(), credential, options)).reasons.join("\n");
    expect(await reasons({ ...issuedByA, validUntil: "2099-01-01T00:00:00.000Z" })).toMatch(
      /proof: its eddsa-jcs-2022 signature does not verify/,
    );
    const { proof: _proof, ...unsigned } = issuedByA;
    const other = await generateKeyPair("Ed25519");
    const otherDid = `did:key:${didKeyOfPeerId((await import("@libp2p/peer-id")).peerIdFromPrivateKey(other).toString()).slice(8)}`;
    const wrongKey = await addProof(unsigned, {
      verificationMethod: verificationMethodOf(otherDid),
      sign: async (d) => other.sign(d),
    });
    expect(await reasons(wrongKey)).toMatch(/proof: it is signed by did:key:.*, not by its issuer/);
    expect(await reasons(issuedByA, { at: "2029-06-01T00:00:00Z" })).toMatch(/validity: expired on 2028-01-01/);
    expect(await reasons(issuedByA, { at: "2025-06-01T00:00:00Z" })).toMatch(/validity: not valid before 2026-01-01/);
    expect(await reasons({ ...issuedByA, "@context": ["https://www.w3.org/2018/credentials/v1"] })).toMatch(
      /format: its first @context is not https:\/\/www\.w3\.org\/ns\/credentials\/v2/,
    );
    expect(await reasons({ ...issuedByA, type: ["VerifiableCredential"] })).toMatch(
      /format: its type is \[VerifiableCredential\], not a VerifiableCredential OpenBadgeCredential or a VerifiableCredential AchievementCredential/,
    );
    expect(await reasons("not even an object")).toMatch(/format: it is not a JSON object/);
    // Signed with the issuer's real key but never published by it (as a removed member's or a
    // rotated-out key's back-dated credential would be): it does not count.
    const minted = await addProof(
      { ...unsigned, id: "urn:uuid:00000000-0000-4000-8000-00000000beef" },
      {
        verificationMethod: verificationMethodOf(didKeyOfPeerId(a().peerId)),
        sign: (d) => a().node.running.identity.sign(d),
      },
    );
    expect(await reasons(minted)).toMatch(
      /published: hub 'hub-a' has not published credential urn:uuid:00000000-0000-4000-8000-00000000beef/,
    );
    // A hub accrediting a scheme of the core, even published by it: not its scheme to accredit.
    const coreScheme = JSON.parse(
      JSON.stringify(unsigned).replaceAll("urn:concordat:scheme:hub-a.crowd:", "urn:concordat:scheme:trainer-hr:"),
    ) as JsonObject;
    const usurped = await addProof(
      { ...coreScheme, id: "urn:uuid:00000000-0000-4000-8000-0000000c0de5" },
      {
        verificationMethod: verificationMethodOf(didKeyOfPeerId(a().peerId)),
        sign: (d) => a().node.running.identity.sign(d),
      },
    );
    expect(await reasons(usurped)).toMatch(
      /entitlement: 'trainer-hr' is a scheme of the core: only the secretariat accredits it, not hub 'hub-a'/,
    );
    // a's own revocation list replaced by one that b signed: a's credentials no longer verify.
    const forgedList = await addProof(
      statusListCredential(
        { did: didKeyOfPeerId(b().peerId), name: "b" },
        a().hub,
        "revocation",
        encodeBitstring(emptyBitstring()),
        now(),
      ),
      {
        verificationMethod: verificationMethodOf(didKeyOfPeerId(b().peerId)),
        sign: (d) => b().node.running.identity.sign(d),
      },
    );
    await a().node.running.documents.transact({ operatorId: "test", action: "test.forge" }, () => ({
      edits: [
        {
          key: CREDENTIALS_KEY,
          change: (doc) =>
            void ((doc.status as Record<string, unknown>).revocation = new A.ImmutableString(
              JSON.stringify(forgedList),
            )),
        },
      ],
      result: undefined,
    }));
    expect(await reasons(issuedByA)).toMatch(
      /status \(revocation\): the revocation list is not to be trusted: the status list is issued by did:key:.*, not by the credential's issuer/,
    );
    // And the CLI exits 1, naming it.
    const file = join(dir, "a1.json");
    await writeFile(file, JSON.stringify(issuedByA));
    const error = toCliError(
      await credentialsVerifyCommand({ ...cli(a()), file }, memoryIo(false)).catch((e: unknown) => e),
    );
    expect(error.exitCode).toBe(1);
    expect(error.message).toMatch(/is not valid: .*revocation list is not to be trusted/);
  });
});
