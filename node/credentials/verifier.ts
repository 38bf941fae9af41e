import { createHash } from "node:crypto";
import type * as A from "@automerge/automerge";
import { textOf } from "../documents/index.js";
import { invalidArgument } from "../errors.js";
import { quote } from "../text.js";
import { signerProblem, type CharterMember } from "../federation/index.js";
import { parsePublicKey, peerIdOfDidKey, publicKeyOfDidKey } from "./did-key.js";
import { issuerId, parseSchemeUrn, shapeProblem, STATUS_PURPOSES, type StatusPurpose } from "./ob3.js";
import { proofProblem, proofsOf, type JsonObject } from "./proof.js";
import { decodeBitstring, getBit } from "./status-list.js";

/** The hub that owns a scheme (`HUB.ID`), or undefined for a scheme of the core (the secretariat's). */
export function schemeOwner(scheme: string): string | undefined {
  const dot = scheme.indexOf(".");
  return dot > 0 ? scheme.slice(0, dot) : undefined;
}

/**
 * A hub's credentials document: the credentials it issued (as issuer), its two status lists
 * (revocation, suspension: W3C Bitstring Status List credentials it signs), its endorsements, and
 * the credentials held by its own trainers (by trainer id).
 */
export interface CredentialsDoc {
  issued: Record<string, A.ImmutableString>;
  held: Record<string, Record<string, A.ImmutableString>>;
  status: Partial<Record<StatusPurpose, A.ImmutableString>>;
  endorsements: Record<string, A.ImmutableString>;
  nextIndex: number;
}

/** A stored credential (canonical JSON text), parsed; undefined when it does not parse. */
export function parseStored(value: unknown): JsonObject | undefined {
  try {
    return JSON.parse(textOf(value) ?? "") as JsonObject;
  } catch {
    return undefined;
  }
}

/** The credentials a hub's trainer holds, as its credentials document lists them. */
export function heldIn(doc: Partial<CredentialsDoc> | undefined, trainerId: string): JsonObject[] {
  return Object.values(doc?.held?.[trainerId] ?? {}).flatMap((raw) => {
    const parsed = parseStored(raw);
    return parsed ? [parsed] : [];
  });
}

export interface Endorsement {
  endorser: string;
  endorserHub: string;
  subject: string;
  comment: string;
  id: string;
}

export interface Verification {
  valid: boolean;
  issuer: string;
  issuerHub: string;
  subject: string;
  /** Each check, in order, and what it found ("ok: …" or the problem). */
  checks: Array<{ check: string; ok: boolean; detail: string }>;
  /** Why it is not valid (empty when valid). */
  reasons: string[];
  endorsements: Endorsement[];
}

/** What verification asks of the charter: which member holds a key, and a member by hub id. */
export interface CharterLookup {
  holderOf(peerId: string): CharterMember | undefined;
  member(hub: string): CharterMember | undefined;
}

const parse = parseStored;

/** Shared by every verifier in the process (the node's, and each report's): see #cachedProof. */
const PROOFS = new Map<string, string | undefined>();
const LISTS = new Map<string, Uint8Array>();

/**
 * Verifies credentials with nothing but a charter and the hubs' credentials documents: a node (its
 * own document and every other member's as of its latest verified checkpoint) and an auditor
 * recomputing a report from an audit bundle (each hub's document at the checkpoint the report
 * names) use the same checks.
 */
export class CredentialVerifier {
  readonly #charter: CharterLookup;
  readonly #documents: () => Array<{ hub: string; doc: Partial<CredentialsDoc> }>;

  constructor(charter: CharterLookup, documents: () => Array<{ hub: string; doc: Partial<CredentialsDoc> }>) {
    this.#charter = charter;
    this.#documents = documents;
  }

  #docs(): Array<{ hub: string; doc: Partial<CredentialsDoc> }> {
    return this.#documents();
  }

  /**
   * Verifies a credential: its shape, its issuer (a key the charter gives a member at the time it
   * was signed, or a key the caller trusts), its proof, its validity period at `at`, and its status
   * in the issuer's lists as of their latest verified checkpoint; reports the endorsements found.
   */
  async verify(credential: unknown, options: { at?: string; trustedIssuer?: string }): Promise<Verification> {
    const checks: Verification["checks"] = [];
    const check = (name: string, problem: string | undefined, ok: string) =>
      checks.push({ check: name, ok: problem === undefined, detail: problem ?? ok });
    const c = credential as JsonObject;
    const kind =
      Array.isArray(c?.type) && (c.type as unknown[]).includes("EndorsementCredential")
        ? "EndorsementCredential"
        : "OpenBadgeCredential";
    const shape = shapeProblem(credential, kind);
    const named =
      kind === "OpenBadgeCredential" && Array.isArray(c?.type) && !(c.type as unknown[]).includes("OpenBadgeCredential")
        ? "AchievementCredential"
        : kind;
    check("format", shape, `an Open Badges 3.0 ${named} (VC 2.0)`);
    const result = (issuerHub = ""): Verification => ({
      valid: checks.every((x) => x.ok),
      issuer: shape ? "" : (issuerId(c) ?? ""),
      issuerHub,
      subject: shape ? "" : String((c.credentialSubject as JsonObject).id ?? ""),
      checks,
      reasons: checks.filter((x) => !x.ok).map((x) => `${x.check}: ${x.detail}`),
      endorsements: [],
    });
    if (shape) return result();
    const issuer = issuerId(c) as string;
    // A proof set: the key must have been the issuer's when the last of its proofs was made.
    const created = proofsOf(c)
      .map((p) => p.created)
      .filter((t): t is string => typeof t === "string" && !Number.isNaN(Date.parse(t)))
      .sort((a, b) => Date.parse(a) - Date.parse(b));
    const signedAt = created.at(-1) ?? String(c.validFrom);
    // A key the caller trusts as the issuer's (`--issuer-key`): any spelling parsePublicKey reads.
    let trustedKey: Uint8Array | undefined;
    if (options.trustedIssuer) {
      const { raw, problem } = parsePublicKey(options.trustedIssuer);
      if (!raw) throw invalidArgument([{ field: "issuer_key", description: problem ?? "is not a public key" }]);
      trustedKey = raw;
    }
    const issuerDidKey = issuer.startsWith("did:key:") ? publicKeyOfDidKey(issuer).raw : undefined;
    // The issuer: a member's key (at the time it signed), or one the caller trusts.
    const peerId = peerIdOfDidKey(issuer);
    const member = peerId ? this.#charter.holderOf(peerId) : undefined;
    let issuerHub = "";
    if (member && peerId) {
      issuerHub = member.hub;
      // Credentials carry no seq: a rotated-out or removed issuer's key counts by the proof's time only.
      check(
        "issuer",
        signerProblem(member, { owner: peerId, time: signedAt, seq: 0 }),
        `hub '${member.hub}' (${member.name}), a member of the charter`,
      );
    } else if (trustedKey && issuerDidKey) {
      check(
        "issuer",
        issuerDidKey.every((x, i) => x === trustedKey[i])
          ? undefined
          : `${issuer} is not a member of this federation's charter, and the key given with --issuer-key is not this did:key's key`,
        `${issuer}, trusted by you (not a member of the charter)`,
      );
    } else if (trustedKey) {
      check(
        "issuer",
        undefined,
        `${issuer}, with the key you gave (--issuer-key), trusted by you (not a member of the charter)`,
      );
    } else {
      check(
        "issuer",
        issuerDidKey
          ? `${issuer} is not a member of this federation's charter (give --issuer-key to trust an outside issuer)`
          : `${issuer} is not a member of this federation's charter, and its key cannot be resolved offline (give its public key with --issuer-key: a did:key, Multikey, JWK or PEM)`,
        "",
      );
    }
    const suites = [...new Set(proofsOf(c).map((p) => String(p.cryptosuite)))].join(" and ");
    const proofs = proofsOf(c).length;
    check(
      "proof",
      await this.#cachedProof(c, issuer, issuerDidKey ? undefined : trustedKey),
      `${proofs > 1 ? `all ${proofs} proofs of the set verify` : "the proof verifies"} (${suites}, by the issuer's key)`,
    );
    if (issuerHub && kind === "OpenBadgeCredential")
      check("entitlement", this.#entitlementProblem(c, issuerHub), `hub '${issuerHub}' accredits this scheme`);
    if (issuerHub)
      check(
        "published",
        this.#publishedProblem(c, issuerHub),
        `listed among the credentials hub '${issuerHub}' issued, as of its latest verified checkpoint`,
      );
    const at = options.at ? Date.parse(options.at) : Date.now();
    if (Number.isNaN(at))
      throw invalidArgument([{ field: "at", description: `${quote(options.at ?? "")} is not an ISO 8601 time` }]);
    const from = Date.parse(String(c.validFrom));
    const until = c.validUntil === undefined ? Number.POSITIVE_INFINITY : Date.parse(String(c.validUntil));
    const when = new Date(at).toISOString();
    check(
      "validity",
      at < from
        ? `not valid before ${String(c.validFrom)} (checked at ${when})`
        : at > until
          ? `expired on ${String(c.validUntil)} (checked at ${when})`
          : undefined,
      `valid at ${when} (${String(c.validFrom)} to ${c.validUntil === undefined ? "no end" : String(c.validUntil)})`,
    );
    await this.#checkStatus(c, issuer, issuerHub, check);
    const verification = result(issuerHub);
    verification.endorsements = await this.#endorsementsFor(c, issuer);
    return verification;
  }

  /** Only the body that accredits a scheme issues it: the secretariat for the core's, a hub for its own. */
  #entitlementProblem(c: JsonObject, issuerHub: string): string | undefined {
    const achievement = String(((c.credentialSubject as JsonObject).achievement as JsonObject | undefined)?.id ?? "");
    const scheme = parseSchemeUrn(achievement)?.scheme;
    if (!scheme) return `its achievement '${achievement}' is not a Concordat accreditation scheme`;
    const owner = schemeOwner(scheme);
    if (owner === undefined) {
      return this.#charter.member(issuerHub)?.role === "secretariat"
        ? undefined
        : `'${scheme}' is a scheme of the core: only the secretariat accredits it, not hub '${issuerHub}'`;
    }
    return owner === issuerHub
      ? undefined
      : `'${scheme}' is a scheme of hub '${owner}': hub '${issuerHub}' cannot accredit it`;
  }

  /**
   * A member's credential counts only if its issuer published it: listed, as is, in the issuer's
   * `issued` credentials as of a checkpoint that verified. The issuer chooses a proof's time, but
   * not which checkpoints count: those of a removed member or a rotated-out key stop at the seq the
   * charter recorded, so credentials minted with such a key later, however dated, never count.
   */
  #publishedProblem(c: JsonObject, issuerHub: string): string | undefined {
    const doc = this.#docs().find((d) => d.hub === issuerHub)?.doc;
    if (!doc) return `no verified credentials of hub '${issuerHub}' here yet`;
    const listed = parse(doc.issued?.[String(c.id)]);
    if (!listed)
      return `hub '${issuerHub}' has not published credential ${String(c.id)} (as of its latest verified checkpoint)`;
    const proofValue = (x: JsonObject) =>
      proofsOf(x)
        .map((p) => String(p.proofValue ?? ""))
        .join(" ");
    if (proofValue(listed) !== proofValue(c))
      return `hub '${issuerHub}' published a different credential under ${String(c.id)}`;
    return undefined;
  }

  async #checkStatus(
    c: JsonObject,
    issuer: string,
    issuerHub: string,
    check: (name: string, problem: string | undefined, ok: string) => void,
  ): Promise<void> {
    const entries = (
      Array.isArray(c.credentialStatus) ? c.credentialStatus : c.credentialStatus ? [c.credentialStatus] : []
    ) as JsonObject[];
    if (entries.length === 0) {
      check("status", undefined, "no status list (it cannot be suspended or revoked)");
      return;
    }
    if (!issuerHub) {
      check(
        "status",
        "it names status lists, but the issuer is outside the federation and its lists are not replicated here: its status cannot be checked",
        "",
      );
      return;
    }
    const doc = this.#docs().find((d) => d.hub === issuerHub)?.doc;
    for (const entry of entries) {
      const purpose = entry.statusPurpose as StatusPurpose;
      const name = `status (${String(purpose)})`;
      if (entry.type !== "BitstringStatusListEntry" || !STATUS_PURPOSES.includes(purpose)) {
        check(name, `unsupported status entry type '${String(entry.type)}' or purpose '${String(purpose)}'`, "");
        continue;
      }
      const list = parse(doc?.status?.[purpose]);
      if (!list) {
        check(name, `no verified ${purpose} list from hub '${issuerHub}' here yet`, "");
        continue;
      }
      if (list.id !== entry.statusListCredential) {
        check(
          name,
          `the credential names list ${String(entry.statusListCredential)}, but hub '${issuerHub}' publishes ${String(list.id)}`,
          "",
        );
        continue;
      }
      const listShape = shapeProblem(list, "BitstringStatusListCredential");
      const listIssuer = issuerId(list) ?? "";
      // The list may be signed by another key of the same hub (after a key rotation), never by another body.
      const listPeer = peerIdOfDidKey(listIssuer);
      const listMember = listPeer ? this.#charter.holderOf(listPeer) : undefined;
      const listSigned = String(
        ((list.proof as JsonObject | undefined)?.created as string | undefined) ?? list.validFrom,
      );
      const problem =
        listShape ??
        (!listMember || listMember.hub !== issuerHub || !listPeer
          ? `the status list is issued by ${listIssuer}, not by the credential's issuer ${issuer} (hub '${issuerHub}')`
          : (signerProblem(listMember, { owner: listPeer, time: listSigned, seq: 0 }) ??
            (await this.#cachedProof(list, listIssuer))));
      if (problem) {
        check(name, `the ${purpose} list is not to be trusted: ${problem}`, "");
        continue;
      }
      let set: boolean;
      try {
        set = getBit(
          this.#bits(String((list.credentialSubject as JsonObject).encodedList)),
          Number(entry.statusListIndex),
        );
      } catch (error) {
        check(name, `the ${purpose} list does not decode: ${(error as Error).message}`, "");
        continue;
      }
      check(
        name,
        set ? (purpose === "revocation" ? "revoked by its issuer" : "suspended by its issuer") : undefined,
        `not ${purpose === "revocation" ? "revoked" : "suspended"} (list signed ${String(list.validFrom)})`,
      );
    }
  }

  /**
   * Proof checks and decoded status lists are remembered (PROOFS, LISTS): a signed document never
   * changes, so its verdict is keyed by its whole canonical text (a changed byte is another key). The
   * availability index re-derives every trainer's accreditations when any credentials document
   * moves, and each report verifies every held credential; without these caches that would
   * re-verify every signature and re-inflate every list each time.
   */
  async #cachedProof(document: JsonObject, expectedDid: string, trustedKey?: Uint8Array): Promise<string | undefined> {
    const key = createHash("sha256")
      .update(expectedDid)
      .update("\n")
      .update(trustedKey ? Buffer.from(trustedKey).toString("hex") : "-")
      .update("\n")
      .update(JSON.stringify(document))
      .digest("base64");
    if (PROOFS.has(key)) return PROOFS.get(key);
    const problem = await proofProblem(document, { issuer: expectedDid, ...(trustedKey ? { trustedKey } : {}) });
    if (PROOFS.size >= 20_000) PROOFS.clear();
    PROOFS.set(key, problem);
    return problem;
  }

  #bits(encoded: string): Uint8Array {
    let bits = LISTS.get(encoded);
    if (!bits) {
      bits = decodeBitstring(encoded);
      if (LISTS.size >= 64) LISTS.clear();
      LISTS.set(encoded, bits);
    }
    return bits;
  }

  /** Endorsements of the credential's issuer or of its scheme, verified, from every credentials document here. */
  async #endorsementsFor(c: JsonObject, issuer: string): Promise<Endorsement[]> {
    const achievement = ((c.credentialSubject as JsonObject)?.achievement as JsonObject | undefined)?.id;
    const scheme = typeof achievement === "string" ? parseSchemeUrn(achievement)?.scheme : undefined;
    const subjects = new Set([issuer, ...(scheme ? [`urn:concordat:scheme:${scheme}`] : [])]);
    const found: Endorsement[] = [];
    for (const { hub, doc } of this.#docs()) {
      for (const raw of Object.values(doc.endorsements ?? {})) {
        const e = parse(raw);
        const subject = String((e?.credentialSubject as JsonObject | undefined)?.id ?? "");
        if (!e || !subjects.has(subject)) continue;
        const endorser = issuerId(e) ?? "";
        const peer = peerIdOfDidKey(endorser);
        const member = peer ? this.#charter.holderOf(peer) : undefined;
        if (
          !member ||
          member.hub !== hub ||
          member.removedAt ||
          shapeProblem(e, "EndorsementCredential") ||
          (await this.#cachedProof(e, endorser))
        )
          continue;
        const signedAt = String(((e.proof as JsonObject | undefined)?.created as string | undefined) ?? e.validFrom);
        if (signerProblem(member, { owner: peer as string, time: signedAt, seq: 0 })) continue;
        const nowMs = Date.now();
        if (
          Date.parse(String(e.validFrom)) > nowMs ||
          (e.validUntil !== undefined && Date.parse(String(e.validUntil)) < nowMs)
        )
          continue;
        found.push({
          endorser,
          endorserHub: hub,
          subject,
          comment: String((e.credentialSubject as JsonObject).endorsementComment ?? ""),
          id: String(e.id),
        });
      }
    }
    return found;
  }
}
