import { ImmutableString } from "@automerge/automerge";
import type { z } from "zod";
import { failedPrecondition } from "../errors.js";

/** Document types this node knows. */
export const DocumentType = {
  Directory: "directory",
  Roster: "roster",
  PrivateRoster: "private-roster",
  Charter: "charter",
  Core: "core",
  Curriculum: "curriculum",
  Credentials: "credentials",
  Outbox: "outbox",
  Engagements: "engagements",
  Cases: "cases",
  CaseEndorsements: "case-endorsements",
  Deliveries: "deliveries",
  PrivateDeliveries: "private-deliveries",
  EvaluationPanel: "evaluation-panel",
  AuditFindings: "audit-findings",
  Feedback: "feedback",
  Grievances: "grievances",
  PrivateGrievances: "private-grievances",
  AnnualPlans: "annual-plans",
} as const;
export type DocumentType = (typeof DocumentType)[keyof typeof DocumentType];

/**
 * The schema version this code writes, per document type, as `MAJOR.MINOR`. A minor bump only adds
 * optional fields, so older readers can still read; a major bump changes meaning, and a reader
 * refuses a document whose major version is newer than its own.
 */
export const SCHEMA_VERSIONS: Readonly<Record<DocumentType, string>> = {
  [DocumentType.Directory]: "1.0",
  [DocumentType.Roster]: "1.0",
  [DocumentType.PrivateRoster]: "1.0",
  [DocumentType.Charter]: "1.0",
  [DocumentType.Core]: "1.0",
  [DocumentType.Curriculum]: "1.0",
  [DocumentType.Credentials]: "1.0",
  [DocumentType.Outbox]: "1.0",
  [DocumentType.Engagements]: "1.0",
  [DocumentType.Cases]: "1.0",
  [DocumentType.CaseEndorsements]: "1.0",
  [DocumentType.Deliveries]: "1.0",
  [DocumentType.PrivateDeliveries]: "1.0",
  [DocumentType.EvaluationPanel]: "1.0",
  [DocumentType.AuditFindings]: "1.0",
  [DocumentType.Feedback]: "1.0",
  [DocumentType.Grievances]: "1.0",
  [DocumentType.PrivateGrievances]: "1.0",
  [DocumentType.AnnualPlans]: "1.0",
};

/** The small header every document carries. */
export interface DocumentHeader {
  type: ImmutableString;
  /** Hub id of the owner (the only writer whose changes count). */
  owner: ImmutableString;
  schemaVersion: ImmutableString;
}

export interface PlainHeader {
  type: string;
  owner: string;
  schemaVersion: string;
}

export function makeHeader(type: DocumentType, owner: string): DocumentHeader {
  return {
    type: new ImmutableString(type),
    owner: new ImmutableString(owner),
    schemaVersion: new ImmutableString(SCHEMA_VERSIONS[type]),
  };
}

/** A stored text value: an ImmutableString (how documents store ids, records, entries) or a plain string. */
export function textOf(value: unknown): string | undefined {
  if (value instanceof ImmutableString) return value.val;
  if (typeof value === "string") return value;
  return undefined;
}

/**
 * A record stored as JSON text (one owner writes it) read back through `schema`: undefined when it
 * is not text, not JSON, or not of that shape — a record written outside the API in another shape is
 * left out by every reader, never half-read.
 */
export function decodeStored<T>(schema: z.ZodType<T>, value: unknown): T | undefined {
  try {
    const parsed = schema.safeParse(JSON.parse(textOf(value) ?? ""));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** The type a document's header names (`roster`, `outbox`, …), unchecked; undefined without one. */
export function documentTypeOf(doc: unknown): string | undefined {
  return textOf((doc as { header?: { type?: unknown } } | undefined)?.header?.type);
}

/**
 * Reads and checks a document's header: it must exist, be of the expected type, and not come from a
 * newer major schema version than this code understands.
 */
export function checkHeader(doc: unknown, expected: DocumentType, documentId: string): PlainHeader {
  const header = (doc as { header?: Record<string, unknown> } | undefined)?.header;
  const type = documentTypeOf(doc);
  const owner = textOf(header?.owner);
  const schemaVersion = textOf(header?.schemaVersion);
  if (type === undefined || owner === undefined || schemaVersion === undefined) {
    throw failedPrecondition(`document ${documentId} has no valid header {type, owner, schemaVersion}`);
  }
  if (type !== expected) {
    throw failedPrecondition(`document ${documentId} is a '${type}' document, expected '${expected}'`);
  }
  const match = /^(\d+)\.(\d+)$/.exec(schemaVersion);
  if (!match) {
    throw failedPrecondition(`document ${documentId} has a malformed schemaVersion '${schemaVersion}'`);
  }
  const supported = SCHEMA_VERSIONS[expected];
  const supportedMajor = Number(supported.split(".")[0]);
  if (Number(match[1]) > supportedMajor) {
    throw failedPrecondition(
      `document ${documentId} ('${type}') uses schema version ${schemaVersion}, newer than the ${supported} this node reads; upgrade Concordat to read it`,
    );
  }
  return { type, owner, schemaVersion };
}
