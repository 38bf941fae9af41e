import { randomUUID } from "node:crypto";
import type { JsonObject } from "./proof.js";

/**
 * Open Badges 3.0 credentials (W3C Verifiable Credentials 2.0) as Concordat issues them. Only
 * terms the OB 3.0.3 and VC 2.0 contexts define are used, so any JSON-LD processor reads them.
 */
export const VC_CONTEXT = "https://www.w3.org/ns/credentials/v2";
export const OB_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json";
/** Earlier OB 3.0.x context versions a foreign issuer may use. */
export const OB_CONTEXTS = [
  "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
  "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.2.json",
  "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.1.json",
  "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.0.json",
  "https://purl.imsglobal.org/spec/ob/v3p0/context.json",
];

export const STATUS_PURPOSES = ["revocation", "suspension"] as const;
export type StatusPurpose = (typeof STATUS_PURPOSES)[number];

/** Stable identifiers: a trainer by home hub and id (no personal data), a scheme, a competency. */
export const trainerUrn = (hub: string, trainerId: string) => `urn:concordat:trainer:${hub}:${trainerId}`;
export const schemeUrn = (scheme: string, level: string) =>
  `urn:concordat:scheme:${scheme}:level:${encodeURIComponent(level)}`;
export const competencyUrn = (identifier: string) => `urn:concordat:competency:${identifier}`;
export const statusListUrn = (hub: string, purpose: StatusPurpose) => `urn:concordat:status:${hub}:${purpose}`;

export function parseTrainerUrn(id: string): { hub: string; trainerId: string } | undefined {
  const m = /^urn:concordat:trainer:([a-z0-9][a-z0-9-]{1,62}):(.+)$/.exec(id);
  return m ? { hub: m[1] as string, trainerId: m[2] as string } : undefined;
}

export function parseSchemeUrn(id: string): { scheme: string; level: string } | undefined {
  const m = /^urn:concordat:scheme:([^:]+):level:(.+)$/.exec(id);
  if (!m) return undefined;
  try {
    return { scheme: m[1] as string, level: decodeURIComponent(m[2] as string) };
  } catch {
    return undefined; // a malformed escape: not one of ours
  }
}

export interface Issuer {
  did: string;
  name: string;
}

export interface AccreditationInput {
  issuer: Issuer;
  subject: { hub: string; trainerId: string };
  scheme: { id: string; name: string; description?: string };
  level: string;
  /** Aligned competencies: CASE item identifier, code, and the framework's title. */
  competencies: Array<{ identifier: string; code: string; statement: string; framework: string }>;
  validFrom: string;
  validUntil: string;
  evidence: Array<{ narrative: string; name?: string; id?: string }>;
  status: { hub: string; index: number };
}

/** An unsigned OpenBadgeCredential for an accreditation. */
export function accreditationCredential(input: AccreditationInput): JsonObject {
  const achievement: JsonObject = {
    id: schemeUrn(input.scheme.id, input.level),
    type: ["Achievement"],
    achievementType: "Certificate",
    name: `${input.scheme.name}, level ${input.level}`,
    description:
      input.scheme.description ?? `Accreditation under the scheme '${input.scheme.id}', level ${input.level}.`,
    humanCode: `${input.scheme.id}/${input.level}`,
    criteria: {
      narrative: `Meets the requirements of level ${input.level} of the accreditation scheme '${input.scheme.id}'.`,
    },
    alignment: input.competencies.map((c) => ({
      type: ["Alignment"],
      targetName: c.statement,
      targetUrl: competencyUrn(c.identifier),
      targetCode: c.code,
      targetFramework: c.framework,
      targetType: "CFItem",
    })),
  };
  return {
    "@context": [VC_CONTEXT, OB_CONTEXT],
    id: `urn:uuid:${randomUUID()}`,
    type: ["VerifiableCredential", "OpenBadgeCredential"],
    issuer: { id: input.issuer.did, type: ["Profile"], name: input.issuer.name },
    validFrom: input.validFrom,
    validUntil: input.validUntil,
    name: achievement.name as string,
    credentialSubject: {
      id: trainerUrn(input.subject.hub, input.subject.trainerId),
      type: ["AchievementSubject"],
      achievement,
    },
    ...(input.evidence.length > 0
      ? {
          evidence: input.evidence.map((e) => ({
            ...(e.id ? { id: e.id } : {}),
            type: ["Evidence"],
            narrative: e.narrative,
            ...(e.name ? { name: e.name } : {}),
          })),
        }
      : {}),
    credentialStatus: (["revocation", "suspension"] as const).map((purpose) => ({
      id: `${statusListUrn(input.status.hub, purpose)}#${input.status.index}`,
      type: "BitstringStatusListEntry",
      statusPurpose: purpose,
      statusListIndex: String(input.status.index),
      statusListCredential: statusListUrn(input.status.hub, purpose),
    })),
  };
}

/** An unsigned BitstringStatusListCredential. */
export function statusListCredential(
  issuer: Issuer,
  hub: string,
  purpose: StatusPurpose,
  encodedList: string,
  validFrom: string,
): JsonObject {
  const id = statusListUrn(hub, purpose);
  return {
    "@context": [VC_CONTEXT],
    id,
    type: ["VerifiableCredential", "BitstringStatusListCredential"],
    issuer: issuer.did,
    validFrom,
    credentialSubject: { id: `${id}#list`, type: "BitstringStatusList", statusPurpose: purpose, encodedList },
  };
}

/** An unsigned EndorsementCredential: one body vouching for another's scheme or issuer. */
export function endorsementCredential(
  endorser: Issuer,
  subject: { id: string; name?: string },
  comment: string,
  validFrom: string,
  validUntil?: string,
): JsonObject {
  return {
    "@context": [VC_CONTEXT, OB_CONTEXT],
    id: `urn:uuid:${randomUUID()}`,
    type: ["VerifiableCredential", "EndorsementCredential"],
    issuer: { id: endorser.did, type: ["Profile"], name: endorser.name },
    validFrom,
    ...(validUntil ? { validUntil } : {}),
    name: `Endorsement by ${endorser.name}`,
    credentialSubject: { id: subject.id, type: ["EndorsementSubject"], endorsementComment: comment },
  };
}

function types(value: unknown): string[] {
  return Array.isArray(value)
    ? value.filter((t): t is string => typeof t === "string")
    : typeof value === "string"
      ? [value]
      : [];
}

/** The issuer's id (a string, or an object with an id). */
export function issuerId(credential: JsonObject): string | undefined {
  const issuer = credential.issuer as unknown;
  if (typeof issuer === "string") return issuer;
  if (issuer && typeof issuer === "object" && typeof (issuer as { id?: unknown }).id === "string")
    return (issuer as { id: string }).id;
  return undefined;
}

/**
 * Why a document is not a well-formed OB 3.0 / VC 2.0 credential of the expected type, or
 * undefined: the contexts first and in order, the types, an issuer, a subject, times that parse.
 */
export function shapeProblem(
  value: unknown,
  expected: "OpenBadgeCredential" | "EndorsementCredential" | "BitstringStatusListCredential",
): string | undefined {
  if (!value || typeof value !== "object" || Array.isArray(value)) return "it is not a JSON object";
  const c = value as JsonObject;
  const contexts = Array.isArray(c["@context"]) ? (c["@context"] as unknown[]) : [c["@context"]];
  if (contexts[0] !== VC_CONTEXT) return `its first @context is not ${VC_CONTEXT}`;
  if (
    expected !== "BitstringStatusListCredential" &&
    !contexts.some((x) => typeof x === "string" && OB_CONTEXTS.includes(x))
  ) {
    return `its @context does not include the Open Badges 3.0 context (${OB_CONTEXT})`;
  }
  const t = types(c.type);
  // OB 3.0 §8.2: an OpenBadgeCredential may be typed AchievementCredential (its alias in the context).
  const accepted = expected === "OpenBadgeCredential" ? ["OpenBadgeCredential", "AchievementCredential"] : [expected];
  if (!t.includes("VerifiableCredential") || !accepted.some((x) => t.includes(x)))
    return `its type is [${t.join(", ")}], not ${accepted.map((x) => `a VerifiableCredential ${x}`).join(" or ")}`;
  if (!issuerId(c)) return "it names no issuer";
  const subject = c.credentialSubject as unknown;
  if (!subject || typeof subject !== "object" || Array.isArray(subject))
    return "its credentialSubject is not an object";
  for (const field of ["validFrom", "validUntil"] as const) {
    if (c[field] !== undefined && (typeof c[field] !== "string" || Number.isNaN(Date.parse(c[field] as string))))
      return `its ${field} is not a date-time`;
  }
  if (c.validFrom === undefined) return "it has no validFrom";
  return undefined;
}
