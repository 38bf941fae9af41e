import { ImmutableString } from "@automerge/automerge";
import { z } from "zod";
import { decodeStored } from "../documents/index.js";
import type { FieldViolation } from "../errors.js";
import { Checker, checkLanguageTag, checkRegion, checkText, ID_PATTERN, quote, TextKind } from "../text.js";

/**
 * The case repository: what works, shared by the hub that owns it. A case is stored whole
 * as canonical JSON in one ImmutableString (its Markdown body too: one hub edits it, so collaborative
 * text would only cost an op per character), in one of the hub's case shards.
 */
export const CASE_KINDS = ["case-study", "best-practice", "evaluation-tool", "lesson-learned"] as const;
export type CaseKind = (typeof CASE_KINDS)[number];
export const REVIEW_STATES = ["draft", "peer-reviewed"] as const;
export type ReviewState = (typeof REVIEW_STATES)[number];
export const VISIBILITIES = ["public", "internal"] as const;
export type Visibility = (typeof VISIBILITIES)[number];

export interface Evidence {
  url: string;
  /** SHA-256 of the linked content, hex: what the case claims the link pointed to. */
  sha256: string;
  label: string;
}

export interface CaseRecord {
  id: string;
  kind: CaseKind;
  title: string;
  summary: string;
  /** Markdown. */
  body: string;
  /** BCP 47 tag of the case's language. */
  language: string;
  /** ISO 3166-1 alpha-2 country or ISO 3166-2 subdivision (empty: not tied to one). */
  country: string;
  /** Free text, e.g. "East Africa". */
  region: string;
  /** CASE item identifiers of the core (or the hub's) competencies it exemplifies. */
  competencies: string[];
  tags: string[];
  evidence: Evidence[];
  review: ReviewState;
  visibility: Visibility;
  /** The case's version, e.g. "2": a delivery's evaluation names the instrument it used at one version. */
  version: string;
  updatedAt: string;
  updatedBy: string;
}

export type CaseDraft = Omit<CaseRecord, "updatedAt" | "updatedBy">;

export const CASE_LIMITS = {
  id: 128,
  title: 300,
  summary: 2000,
  body: 200_000,
  region: 100,
  competencies: 50,
  tags: 30,
  tag: 60,
  evidence: 30,
  url: 2000,
  label: 200,
} as const;
const SHA256 = /^[0-9a-f]{64}$/;

/** A draft as it arrives (from the API or a front-matter file), every field optional text. */
export interface RawCase {
  id?: string;
  kind?: string;
  title?: string;
  summary?: string;
  body?: string;
  language?: string;
  country?: string;
  region?: string;
  competencies?: string[];
  tags?: string[];
  evidence?: Array<{ url?: string; sha256?: string; label?: string }>;
  review?: string;
  visibility?: string;
  version?: string;
}

function oneOf<T extends string>(
  c: Checker,
  field: string,
  value: string | undefined,
  allowed: readonly T[],
  fallback: T | undefined,
): T {
  const v = (value ?? "").trim().toLowerCase();
  if (v === "" && fallback !== undefined) return fallback;
  if (!c.characters(field, v, TextKind.Line)) return v as T;
  if (!(allowed as readonly string[]).includes(v))
    c.fail(
      field,
      v === "" ? `is required (${allowed.join(", ")})` : `${quote(value ?? "")} is not one of ${allowed.join(", ")}`,
    );
  return v as T;
}

/** Checks a case and normalises it; every problem is named by field under `prefix`. */
export function validateCase(raw: RawCase, prefix = "case"): { value: CaseDraft; violations: FieldViolation[] } {
  const c = new Checker();
  const f = (name: string) => (prefix ? `${prefix}.${name}` : name);
  const id = (raw.id ?? "").trim();
  if (id === "") c.fail(f("id"), "is required");
  else if (c.characters(f("id"), id, TextKind.Line) && (id.length > CASE_LIMITS.id || !ID_PATTERN.test(id)))
    c.fail(f("id"), `${quote(id)} is not a valid id (letters, digits, '.', '_', ':', '-'; at most ${CASE_LIMITS.id})`);
  const kind = oneOf(c, f("kind"), raw.kind, CASE_KINDS, undefined);
  const title = checkText(c, f("title"), raw.title ?? "", CASE_LIMITS.title, true);
  const summary = checkText(c, f("summary"), raw.summary ?? "", CASE_LIMITS.summary, false, TextKind.Multiline);
  const body = raw.body ?? "";
  if (body.length > CASE_LIMITS.body)
    c.fail(f("body"), `is ${body.length} characters long; at most ${CASE_LIMITS.body} allowed`);
  else c.characters(f("body"), body, TextKind.Multiline);
  const language = checkLanguageTag(c, f("language"), raw.language ?? "");
  const country = (raw.country ?? "").trim() === "" ? "" : checkRegion(c, f("country"), raw.country ?? "");
  const region = checkText(c, f("region"), raw.region ?? "", CASE_LIMITS.region, false);
  const list = (
    name: string,
    values: readonly string[] | undefined,
    max: number,
    each: (v: string, field: string) => string,
  ): string[] => {
    const items = values ?? [];
    if (items.length > max) {
      c.fail(f(name), `has ${items.length} entries; at most ${max} allowed`);
      return [];
    }
    const out = items.map((v, i) => each(v.trim(), f(`${name}[${i}]`)));
    const seen = new Set<string>();
    out.forEach((v, i) => {
      if (seen.has(v)) c.fail(f(`${name}[${i}]`), `${quote(v)} is listed twice`);
      seen.add(v);
    });
    return out;
  };
  const competencies = list("competencies", raw.competencies, CASE_LIMITS.competencies, (v, field) => {
    if (c.characters(field, v, TextKind.Line) && (v === "" || v.length > CASE_LIMITS.id || !ID_PATTERN.test(v)))
      c.fail(field, `${quote(v)} is not a competency identifier`);
    return v;
  });
  const tags = list("tags", raw.tags, CASE_LIMITS.tags, (v, field) => {
    if (v === "" || v.length > CASE_LIMITS.tag)
      c.fail(field, v === "" ? "is empty" : `is longer than ${CASE_LIMITS.tag} characters`);
    else c.characters(field, v, TextKind.Line);
    return v.toLowerCase();
  });
  const rawEvidence = raw.evidence ?? [];
  if (rawEvidence.length > CASE_LIMITS.evidence)
    c.fail(f("evidence"), `has ${rawEvidence.length} entries; at most ${CASE_LIMITS.evidence} allowed`);
  const evidence = (rawEvidence.length > CASE_LIMITS.evidence ? [] : rawEvidence).map((e, i) => {
    const at = (name: string) => f(`evidence[${i}].${name}`);
    const url = (e.url ?? "").trim();
    let ok = c.characters(at("url"), url, TextKind.Line);
    if (ok) {
      try {
        ok = ["https:", "http:"].includes(new URL(url).protocol);
      } catch {
        ok = false;
      }
      if (!ok || url.length > CASE_LIMITS.url) c.fail(at("url"), `${quote(url)} is not an http(s) URL`);
    }
    const sha256 = (e.sha256 ?? "").trim().toLowerCase();
    if (!SHA256.test(sha256))
      c.fail(at("sha256"), `${quote(e.sha256 ?? "")} is not a SHA-256 (64 hex digits) of the linked content`);
    return { url, sha256, label: checkText(c, at("label"), e.label ?? "", CASE_LIMITS.label, false) };
  });
  const review = oneOf(c, f("review"), raw.review, REVIEW_STATES, "draft");
  const visibility = oneOf(c, f("visibility"), raw.visibility, VISIBILITIES, "internal");
  const version = (raw.version ?? "").trim() || "1";
  if (c.characters(f("version"), version, TextKind.Line) && !/^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$/.test(version))
    c.fail(
      f("version"),
      `${quote(version)} is not a version (letters, digits, '.', '_', '-'; at most 40), e.g. 2 or 2.1`,
    );
  return {
    value: {
      id,
      kind,
      title,
      summary,
      body,
      language,
      country,
      region,
      competencies,
      tags,
      evidence,
      review,
      visibility,
      version,
    },
    violations: c.violations,
  };
}

export function encodeCase(r: CaseRecord): ImmutableString {
  return new ImmutableString(
    JSON.stringify({
      id: r.id,
      kind: r.kind,
      title: r.title,
      summary: r.summary,
      body: r.body,
      language: r.language,
      country: r.country,
      region: r.region,
      competencies: [...r.competencies],
      tags: [...r.tags],
      evidence: r.evidence.map((e) => ({ url: e.url, sha256: e.sha256, label: e.label })),
      review: r.review,
      visibility: r.visibility,
      version: r.version,
      updatedAt: r.updatedAt,
      updatedBy: r.updatedBy,
    } satisfies CaseRecord),
  );
}

const caseSchema = z.object({
  id: z.string(),
  kind: z.enum(CASE_KINDS),
  title: z.string(),
  summary: z.string(),
  body: z.string(),
  language: z.string(),
  country: z.string(),
  region: z.string(),
  competencies: z.array(z.string()),
  tags: z.array(z.string()),
  evidence: z.array(z.object({ url: z.string(), sha256: z.string(), label: z.string() })),
  review: z.enum(REVIEW_STATES),
  visibility: z.enum(VISIBILITIES),
  // Cases written before versions were kept are at version 1.
  version: z.string().default("1"),
  updatedAt: z.string(),
  updatedBy: z.string(),
});

/** Undefined for a stored value that is not a case this code can read. */
export function decodeCase(stored: unknown): CaseRecord | undefined {
  return decodeStored(caseSchema, stored);
}

/** The secretariat's endorsement of a hub's case (in the secretariat's own document). */
const endorsementSchema = z.object({
  hub: z.string(),
  caseId: z.string(),
  by: z.string(),
  at: z.string(),
  note: z.string(),
});
export type CaseEndorsement = z.infer<typeof endorsementSchema>;

/** Undefined for a stored value that is not an endorsement this code can read. */
export function decodeEndorsement(stored: unknown): CaseEndorsement | undefined {
  return decodeStored(endorsementSchema, stored);
}

export function endorsementKey(hub: string, caseId: string): string {
  return `${hub}/${caseId}`;
}
