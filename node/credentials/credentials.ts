import * as A from "@automerge/automerge";
import type { Logger } from "pino";
import type { VerifiedViews } from "../authority/index.js";
import type { CoreSource } from "../core/index.js";
import type { AccreditationScheme } from "../core/index.js";
import { DocumentType, type OwnedDocuments, type OwnedDocumentSpec } from "../documents/index.js";
import { failedPrecondition, invalidArgument, notFound, type FieldViolation } from "../errors.js";
import { ownedDocumentId, type Membership } from "../federation/index.js";
import type { Roster } from "../roster/index.js";
import type { Accreditation } from "../roster/index.js";
import { Checker, quote, TextKind } from "../text.js";
import { didKeyOfPeerId, verificationMethodOf } from "./did-key.js";
import {
  accreditationCredential,
  competencyUrn,
  endorsementCredential,
  parseSchemeUrn,
  parseTrainerUrn,
  trainerUrn,
  STATUS_PURPOSES,
  statusListCredential,
  type Issuer,
  type StatusPurpose,
} from "./ob3.js";
import { addProof, type JsonObject } from "./proof.js";
import { decodeBitstring, emptyBitstring, encodeBitstring, getBit, setBit, STATUS_LIST_BITS } from "./status-list.js";
import {
  CredentialVerifier,
  parseStored as parse,
  schemeOwner,
  type CredentialsDoc,
  type Verification,
} from "./verifier.js";
import { SerialQueue } from "../serial-queue.js";

export const CREDENTIALS_KEY = "credentials";
const COMPETENCY_URN_PREFIX = "urn:concordat:competency:";
/** Evidence narratives an issued credential may carry, and the length of each (and of an endorsement's comment). */
export const MAX_EVIDENCE = 20;
export const MAX_NARRATIVE = 2000;

/**
 * A node's credentials document: the credentials it issued (as issuer), its two status lists
 * (revocation, suspension: W3C Bitstring Status List credentials it signs), its endorsements, and
 * the credentials held by its own trainers (attached to their roster records, by trainer id). Owned
 * and checkpointed like every document, so other nodes read another issuer's status lists as of its
 * latest verified checkpoint.
 */
export function credentialsSpec(): OwnedDocumentSpec {
  return {
    key: CREDENTIALS_KEY,
    type: DocumentType.Credentials,
    replicated: true,
    initial: { issued: {}, held: {}, status: {}, endorsements: {}, nextIndex: 0 },
  };
}

export const STATUS_ACTIONS = ["suspend", "reinstate", "revoke"] as const;
export type StatusAction = (typeof STATUS_ACTIONS)[number];

export interface IssueRequest {
  trainer: { hub: string; id: string };
  scheme: string;
  level: string;
  validFrom: string;
  validUntil: string;
  evidence: string[];
}

/** A credential a trainer holds, and whether it verifies now (`trainers get`). */
export interface HeldCheck {
  id: string;
  scheme: string;
  level: string;
  competencies: string[];
  issuer: string;
  validFrom: string;
  validUntil: string;
  valid: boolean;
  detail: string;
}

export interface ClaimVerification {
  verified: boolean;
  detail: string;
  credential?: string;
}

/**
 * Accreditations as verifiable credentials (Open Badges 3.0, eddsa-jcs-2022, did:key issuers):
 * issuing, attaching to trainers, status (suspend, reinstate, revoke — only by the issuer, and a
 * revocation is final), endorsements, and verification against the charter and the issuer's status
 * lists as of their latest verified checkpoints.
 */
export class Credentials {
  readonly #self: { hubId: string; name: string; peerId: string; did: string };
  readonly #sign: (data: Uint8Array) => Promise<Uint8Array>;
  readonly #documents: OwnedDocuments;
  readonly #membership: Membership;
  readonly #views: VerifiedViews;
  readonly #core: CoreSource;
  readonly #roster: Roster;
  readonly #localSchemes: () => AccreditationScheme[];
  readonly #log: Logger;

  constructor(
    init: { hubId: string; name: string; peerId: string },
    components: {
      sign: (data: Uint8Array) => Promise<Uint8Array>;
      documents: OwnedDocuments;
      membership: Membership;
      views: VerifiedViews;
      core: CoreSource;
      /** The hub's own accreditation schemes (its curriculum). */
      localSchemes: () => AccreditationScheme[];
      roster: Roster;
      logger: Logger;
    },
  ) {
    this.#self = { ...init, did: didKeyOfPeerId(init.peerId) };
    this.#sign = components.sign;
    this.#documents = components.documents;
    this.#membership = components.membership;
    this.#views = components.views;
    this.#core = components.core;
    this.#roster = components.roster;
    this.#localSchemes = components.localSchemes;
    this.#log = components.logger;
    this.#verifier = new CredentialVerifier(components.membership, () => this.#docs());
  }

  readonly #verifier: CredentialVerifier;

  get did(): string {
    return this.#self.did;
  }

  #doc(): CredentialsDoc {
    return this.#documents.get<CredentialsDoc>(CREDENTIALS_KEY);
  }

  #issuer(): Issuer {
    return { did: this.#self.did, name: this.#self.name };
  }

  async #signed(document: JsonObject): Promise<JsonObject> {
    return addProof(document, { verificationMethod: verificationMethodOf(this.#self.did), sign: this.#sign });
  }

  /**
   * Issuing and status changes run one at a time: each takes a status index or reads, re-signs and
   * writes a whole status list, and two at once would lose one another's bits.
   */
  readonly #queue = new SerialQueue();

  #serialised<T>(job: () => Promise<T>): Promise<T> {
    return this.#queue.run(job);
  }

  /** Issues an accreditation under a scheme of the core's newest release. */
  issue(operatorId: string, request: IssueRequest): Promise<JsonObject> {
    return this.#serialised(() => this.#issue(operatorId, request));
  }

  /**
   * Checks an issue request as `issue` would, signing and writing nothing: an issuer accrediting many
   * trainers checks every row first, and issues none when any is bad.
   */
  async checkIssue(request: IssueRequest): Promise<void> {
    await this.#checked(request);
  }

  /** The request checked (every problem named at once), with what issuing it needs. */
  async #checked(request: IssueRequest): Promise<{
    scheme: AccreditationScheme;
    core: NonNullable<Awaited<ReturnType<CoreSource["content"]>>>;
    from: number;
    until: number;
    local: boolean;
  }> {
    const text = new Checker();
    if (text.list("evidence", request.evidence, MAX_EVIDENCE)) {
      for (const [i, narrative] of request.evidence.entries()) {
        text.text(`evidence[${i}]`, narrative, { max: MAX_NARRATIVE, kind: TextKind.Multiline });
      }
    }
    const violations: FieldViolation[] = [...text.violations];
    const core = await this.#core.content();
    if (!core) throw failedPrecondition("no release of the core here yet: accreditation schemes come from the core");
    // The body that accredits issues: the secretariat for the core's schemes, a hub for its own.
    const owner = schemeOwner(request.scheme);
    const isSecretariat = this.#membership.anchor === this.#self.peerId;
    const scheme =
      owner === undefined
        ? core.schemes.find((s) => s.id === request.scheme)
        : this.#localSchemes().find((s) => s.id === request.scheme);
    if (owner === undefined && !isSecretariat) {
      violations.push({
        field: "scheme",
        description: `${quote(request.scheme)} is a scheme of the core: only the secretariat accredits it (a hub issues its own schemes, named '${this.#self.hubId}.<id>')`,
      });
    } else if (owner !== undefined && owner !== this.#self.hubId) {
      violations.push({
        field: "scheme",
        description: `${quote(request.scheme)} is a scheme of hub ${quote(owner)}: only that hub accredits it`,
      });
    } else if (!scheme) {
      const known = owner === undefined ? core.schemes.map((s) => s.id) : this.#localSchemes().map((s) => s.id);
      violations.push({
        field: "scheme",
        description: `${quote(request.scheme)} is not a scheme ${owner === undefined ? "of the core" : "of this hub (`concordat curriculum scheme`)"} (${known.join(", ") || "none"})`,
      });
    } else if (!scheme.levels.includes(request.level))
      violations.push({
        field: "level",
        description: `${quote(request.level)} is not a level of '${scheme.id}' (${scheme.levels.join(", ")})`,
      });
    const from = Date.parse(request.validFrom);
    const until = Date.parse(request.validUntil);
    if (Number.isNaN(from))
      violations.push({ field: "valid_from", description: `${quote(request.validFrom)} is not an ISO 8601 date` });
    if (Number.isNaN(until))
      violations.push({ field: "valid_until", description: `${quote(request.validUntil)} is not an ISO 8601 date` });
    if (!Number.isNaN(from) && !Number.isNaN(until) && until <= from)
      violations.push({ field: "valid_until", description: "must be after valid_from" });
    if (scheme && !Number.isNaN(from) && !Number.isNaN(until)) {
      const limit = new Date(from);
      limit.setUTCMonth(limit.getUTCMonth() + scheme.validityMonths);
      if (until > limit.getTime())
        violations.push({
          field: "valid_until",
          description: `the scheme '${scheme.id}' is valid for at most ${scheme.validityMonths} months (until ${limit.toISOString()})`,
        });
    }
    const local = request.trainer.hub === this.#self.hubId;
    if (local) {
      try {
        this.#roster.get(request.trainer.id, false);
      } catch {
        violations.push({
          field: "trainer",
          description: `trainer ${quote(request.trainer.id)} is not in this hub's roster`,
        });
      }
    } else if (
      !this.#membership.member(request.trainer.hub) ||
      this.#membership.member(request.trainer.hub)?.removedAt
    ) {
      violations.push({ field: "trainer", description: `${quote(request.trainer.hub)} is not a member hub` });
    }
    if (violations.length > 0 || !scheme)
      throw invalidArgument(
        violations,
        `cannot issue: ${violations.map((v) => `${v.field}: ${v.description}`).join("; ")}`,
      );
    return { scheme, core, from, until, local };
  }

  async #issue(operatorId: string, request: IssueRequest): Promise<JsonObject> {
    const { scheme, core, from, until, local } = await this.#checked(request);
    const items = new Map(core.items.map((i) => [i.identifier, i]));
    const framework = core.framework?.title ?? "Concordat core";
    {
      // The status index is read now and checked again in the transaction that writes the credential.
      const index = this.#doc().nextIndex ?? 0;
      if (index >= STATUS_LIST_BITS)
        throw failedPrecondition(`this issuer's status lists are full (${STATUS_LIST_BITS} credentials)`);
      const credential = await this.#signed(
        accreditationCredential({
          issuer: this.#issuer(),
          subject:
            request.trainer.hub === this.#self.hubId
              ? { hub: this.#self.hubId, trainerId: request.trainer.id }
              : { hub: request.trainer.hub, trainerId: request.trainer.id },
          scheme: {
            id: scheme.id,
            name: Object.values(scheme.name)[0] ?? scheme.id,
            ...(scheme.description ? { description: Object.values(scheme.description)[0] as string } : {}),
          },
          level: request.level,
          competencies: scheme.competencies.map((id) => {
            const item = items.get(id);
            return {
              identifier: id,
              code: item?.code ?? id,
              statement: item ? (item.statement[item.language] ?? id) : id,
              framework,
            };
          }),
          validFrom: new Date(from).toISOString(),
          validUntil: new Date(until).toISOString(),
          evidence: request.evidence.map((narrative) => ({ narrative })),
          status: { hub: this.#self.hubId, index },
        }),
      );
      const lists = await this.#ensureStatusLists();
      const id = credential.id as string;
      await this.#documents.transact(
        { operatorId, action: "credential.issue", subjects: [request.trainer.id, id] },
        () => {
          if ((this.#doc().nextIndex ?? 0) !== index)
            throw failedPrecondition("another credential was issued at the same moment; issue again");
          return {
            edits: [
              {
                key: CREDENTIALS_KEY,
                subject: id,
                change: (doc) => {
                  const d = doc as unknown as CredentialsDoc;
                  d.issued[id] = new A.ImmutableString(JSON.stringify(credential));
                  d.nextIndex = index + 1;
                  for (const [purpose, list] of lists) d.status[purpose] = new A.ImmutableString(JSON.stringify(list));
                  if (local) {
                    d.held[request.trainer.id] ??= {};
                    (d.held[request.trainer.id] as Record<string, A.ImmutableString>)[id] = new A.ImmutableString(
                      JSON.stringify(credential),
                    );
                  }
                },
              },
            ],
            result: undefined,
          };
        },
      );
      this.#log.info(
        { credential: id, trainer: request.trainer, scheme: scheme.id, level: request.level },
        "credential issued",
      );
      return credential;
    }
  }

  /** The status lists, created (signed, all bits clear) the first time they are needed. */
  async #ensureStatusLists(): Promise<Array<[StatusPurpose, JsonObject]>> {
    const existing = this.#doc().status ?? {};
    const out: Array<[StatusPurpose, JsonObject]> = [];
    for (const purpose of STATUS_PURPOSES) {
      if (existing[purpose]) continue;
      out.push([
        purpose,
        await this.#signed(
          statusListCredential(
            this.#issuer(),
            this.#self.hubId,
            purpose,
            encodeBitstring(emptyBitstring()),
            new Date().toISOString(),
          ),
        ),
      ]);
    }
    return out;
  }

  /** Attaches a credential issued elsewhere to one of this hub's trainers (it must verify). */
  async attach(operatorId: string, credential: JsonObject): Promise<Verification> {
    const verification = await this.verify(credential, {});
    if (!verification.valid)
      throw invalidArgument(
        [{ field: "credential", description: verification.reasons.join("; ") }],
        `the credential does not verify: ${verification.reasons.join("; ")}`,
      );
    const subject = parseTrainerUrn(verification.subject);
    if (!subject || subject.hub !== this.#self.hubId)
      throw invalidArgument([
        {
          field: "credential.credentialSubject.id",
          description: `${quote(verification.subject)} is not a trainer of this hub`,
        },
      ]);
    this.#roster.get(subject.trainerId, false);
    const id = String(credential.id);
    await this.#documents.transact(
      { operatorId, action: "credential.attach", subjects: [subject.trainerId, id] },
      () => ({
        edits: [
          {
            key: CREDENTIALS_KEY,
            subject: id,
            change: (doc) => {
              const d = doc as unknown as CredentialsDoc;
              d.held[subject.trainerId] ??= {};
              (d.held[subject.trainerId] as Record<string, A.ImmutableString>)[id] = new A.ImmutableString(
                JSON.stringify(credential),
              );
            },
          },
        ],
        result: undefined,
      }),
    );
    return verification;
  }

  /** Suspends, reinstates or revokes a credential this node issued; only its issuer can. */
  setStatus(
    operatorId: string,
    credentialId: string,
    action: StatusAction,
  ): Promise<{ revoked: boolean; suspended: boolean }> {
    return this.#serialised(() => this.#setStatus(operatorId, credentialId, action));
  }

  async #setStatus(
    operatorId: string,
    credentialId: string,
    action: StatusAction,
  ): Promise<{ revoked: boolean; suspended: boolean }> {
    const credential = parse(this.#doc().issued[credentialId]);
    if (!credential) {
      throw failedPrecondition(
        `this node did not issue credential ${quote(credentialId)}: only its issuer can change its status`,
      );
    }
    const entry = ((credential.credentialStatus ?? []) as JsonObject[]).find((s) => s.statusPurpose === "revocation");
    const index = Number(entry?.statusListIndex);
    if (!Number.isInteger(index) || index < 0)
      throw failedPrecondition(`credential '${credentialId}' has no status list entry`);
    const lists = Object.fromEntries(STATUS_PURPOSES.map((p) => [p, parse(this.#doc().status[p])])) as Record<
      StatusPurpose,
      JsonObject | undefined
    >;
    const bitsOf = (p: StatusPurpose) =>
      decodeBitstring(String(((lists[p] as JsonObject).credentialSubject as JsonObject).encodedList));
    const revoked = getBit(bitsOf("revocation"), index);
    const suspended = getBit(bitsOf("suspension"), index);
    if (revoked)
      throw failedPrecondition(`credential '${credentialId}' was revoked by its issuer; a revocation is final`);
    const purpose: StatusPurpose = action === "revoke" ? "revocation" : "suspension";
    const value = action !== "reinstate";
    const list = await this.#signed(
      statusListCredential(
        this.#issuer(),
        this.#self.hubId,
        purpose,
        encodeBitstring(setBit(bitsOf(purpose), index, value)),
        new Date().toISOString(),
      ),
    );
    await this.#documents.transact({ operatorId, action: `credential.${action}`, subjects: [credentialId] }, () => ({
      edits: [
        {
          key: CREDENTIALS_KEY,
          subject: credentialId,
          change: (doc) =>
            void ((doc as unknown as CredentialsDoc).status[purpose] = new A.ImmutableString(JSON.stringify(list))),
        },
      ],
      result: undefined,
    }));
    this.#log.info({ credential: credentialId, action }, "credential status changed");
    return { revoked: action === "revoke", suspended: action === "revoke" ? suspended : value };
  }

  /** Endorses a scheme (`urn:concordat:scheme:ID`) or an issuer (its did:key, or a member hub's id). */
  async endorse(operatorId: string, subject: string, comment: string, validUntil?: string): Promise<JsonObject> {
    let id = subject;
    const member = this.#membership.member(subject);
    if (member) {
      const key = member.keys.findLast((k) => !k.until)?.peerId;
      if (!key) throw invalidArgument([{ field: "subject", description: `hub ${quote(subject)} has no current key` }]);
      id = didKeyOfPeerId(key);
    } else if (!/^urn:concordat:scheme:[^:]+$/.test(subject) && !subject.startsWith("did:key:")) {
      throw invalidArgument([
        {
          field: "subject",
          description: `${quote(subject)} is neither a member hub, a did:key issuer nor a scheme (urn:concordat:scheme:ID)`,
        },
      ]);
    }
    if (!comment.trim()) throw invalidArgument([{ field: "comment", description: "say what is endorsed and why" }]);
    const text = new Checker();
    text.text("comment", comment, { max: MAX_NARRATIVE, kind: TextKind.Multiline });
    if (text.violations.length > 0) throw invalidArgument(text.violations);
    const endorsement = await this.#signed(
      endorsementCredential(this.#issuer(), { id }, comment.trim(), new Date().toISOString(), validUntil),
    );
    const key = String(endorsement.id);
    await this.#documents.transact({ operatorId, action: "credential.endorse", subjects: [id] }, () => ({
      edits: [
        {
          key: CREDENTIALS_KEY,
          subject: key,
          change: (doc) =>
            void ((doc as unknown as CredentialsDoc).endorsements[key] = new A.ImmutableString(
              JSON.stringify(endorsement),
            )),
        },
      ],
      result: undefined,
    }));
    return endorsement;
  }

  /** Credentials this node issued, and those its trainers hold. */
  list(trainerId?: string): { issued: JsonObject[]; held: Array<{ trainer: string; credential: JsonObject }> } {
    const doc = this.#doc();
    const issued = Object.values(doc.issued ?? {}).flatMap((c): JsonObject[] => {
      const parsed = parse(c);
      return parsed ? [parsed] : [];
    });
    const held = Object.entries(doc.held ?? {}).flatMap(([trainer, map]) =>
      Object.values(map).flatMap((c) => (parse(c) ? [{ trainer, credential: parse(c) as JsonObject }] : [])),
    );
    return trainerId
      ? {
          issued: issued.filter(
            (c) => parseTrainerUrn(String((c.credentialSubject as JsonObject)?.id))?.trainerId === trainerId,
          ),
          held: held.filter((h) => h.trainer === trainerId),
        }
      : { issued, held };
  }

  get(id: string): JsonObject {
    const { issued, held } = this.list();
    const found = issued.find((c) => c.id === id) ?? held.find((h) => h.credential.id === id)?.credential;
    if (!found) throw notFound(`no credential ${quote(id)} issued or held here`);
    return found;
  }

  /** The credentials documents this node can read: its own, and every member's as verified. */
  #docs(): Array<{ hub: string; doc: Partial<CredentialsDoc> }> {
    const out: Array<{ hub: string; doc: Partial<CredentialsDoc> }> = [{ hub: this.#self.hubId, doc: this.#doc() }];
    for (const member of this.#membership.members()) {
      if (member.hub === this.#self.hubId) continue;
      const view = this.#views.view(ownedDocumentId(member.directoryId, CREDENTIALS_KEY));
      if (view) out.push({ hub: member.hub, doc: view.doc as Partial<CredentialsDoc> });
    }
    return out;
  }

  /**
   * Verifies a credential against the charter and the credentials documents as verified here (see
   * CredentialVerifier).
   */
  verify(credential: unknown, options: { at?: string; trustedIssuer?: string }): Promise<Verification> {
    return this.#verifier.verify(credential, options);
  }

  /** Every credential one of this hub's trainers holds, and whether each verifies now. */
  async heldChecks(trainerId: string): Promise<HeldCheck[]> {
    const held = this.list(trainerId).held.map((h) => h.credential);
    return Promise.all(
      held.map(async (credential) => {
        const v = await this.verify(credential, {});
        const achievement = ((credential.credentialSubject as JsonObject | undefined)?.achievement ?? {}) as JsonObject;
        const scheme = parseSchemeUrn(String(achievement.id ?? ""));
        const competencies = ((achievement.alignment ?? []) as JsonObject[])
          .map((a) => String(a.targetUrl ?? ""))
          .filter((u) => u.startsWith(COMPETENCY_URN_PREFIX))
          .map((u) => u.slice(COMPETENCY_URN_PREFIX.length));
        return {
          id: String(credential.id ?? ""),
          scheme: scheme?.scheme ?? "",
          level: scheme?.level ?? "",
          competencies,
          issuer: v.issuerHub || v.issuer,
          validFrom: String(credential.validFrom ?? ""),
          validUntil: String(credential.validUntil ?? ""),
          valid: v.valid,
          detail: v.reasons.join("; "),
        };
      }),
    );
  }

  /**
   * Credentials other members issued to this hub's trainers, read in their credentials documents as
   * of their latest verified checkpoints, and not attached here yet (`credentials attach --all-pending`).
   */
  pending(trainerId?: string): JsonObject[] {
    const held = new Set(this.list().held.map((h) => String(h.credential.id)));
    const out: JsonObject[] = [];
    for (const { hub, doc } of this.#docs()) {
      if (hub === this.#self.hubId) continue;
      for (const raw of Object.values(doc.issued ?? {})) {
        const credential = parse(raw);
        if (!credential || held.has(String(credential.id))) continue;
        const subject = parseTrainerUrn(String((credential.credentialSubject as JsonObject | undefined)?.id ?? ""));
        if (
          !subject ||
          subject.hub !== this.#self.hubId ||
          (trainerId !== undefined && subject.trainerId !== trainerId)
        )
          continue;
        out.push(credential);
      }
    }
    return out;
  }

  /**
   * Each accreditation a trainer's roster record claims, checked against the credentials the trainer
   * holds: verified only when one of them verifies now, is active, and is for that scheme, level and
   * competency. Anything else is "unverified" and never counted.
   */
  async verifyClaims(trainerId: string, claims: readonly Accreditation[]): Promise<ClaimVerification[]> {
    const held = this.list(trainerId).held.map((h) => h.credential);
    const verified = await Promise.all(
      held.map(async (credential) => ({ credential, verification: await this.verify(credential, {}) })),
    );
    const subject = trainerUrn(this.#self.hubId, trainerId);
    return claims.map((claim) => {
      const matching = verified.filter(({ credential }) => {
        const cs = credential.credentialSubject as JsonObject;
        const achievement = cs.achievement as JsonObject;
        const scheme = parseSchemeUrn(String(achievement?.id ?? ""));
        if (cs.id !== subject || !scheme || scheme.scheme !== claim.scheme || scheme.level !== claim.level)
          return false;
        return ((achievement.alignment ?? []) as JsonObject[]).some(
          (a) => a.targetUrl === competencyUrn(claim.competency),
        );
      });
      // Any valid one will do (an expired credential and its renewal may both be held).
      const valid = matching.find((m) => m.verification.valid);
      if (valid)
        return {
          verified: true,
          detail: `credential ${String(valid.credential.id)} from ${valid.verification.issuerHub || valid.verification.issuer}`,
          credential: String(valid.credential.id),
        };
      const first = matching[0];
      if (first)
        return {
          verified: false,
          detail: `credential ${String(first.credential.id)}: ${first.verification.reasons.join("; ")}`,
          credential: String(first.credential.id),
        };
      return { verified: false, detail: "no credential for this scheme, level and competency" };
    });
  }
}
