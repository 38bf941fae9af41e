import type { FieldViolation } from "../errors.js";
import { Checker, checkLanguageTag, checkRegion, checkText, ID_PATTERN, quote, TextKind } from "../text.js";

export { checkLanguageTag, checkRegion, ID_PATTERN, MAX_LANGUAGE_TAG } from "../text.js";
export { shardOf } from "../documents/index.js";

/** CEFR proficiency levels, lowest first. */
export const CEFR_LEVELS = ["A1", "A2", "B1", "B2", "C1", "C2"] as const;
export type CefrLevel = (typeof CEFR_LEVELS)[number];

export const ACCREDITATION_STATUSES = ["active", "suspended", "revoked"] as const;
export type AccreditationStatus = (typeof ACCREDITATION_STATUSES)[number];

export interface Language {
  tag: string;
  level: CefrLevel;
}

export interface Accreditation {
  scheme: string;
  competency: string;
  level: string;
  validFrom: string;
  validUntil: string;
  status: AccreditationStatus;
}

export interface TimeRange {
  start: string;
  end: string;
}

/** Personal data: kept in the hub's private document, never replicated. */
export interface TrainerPrivate {
  email: string;
  phone: string;
  nationalId: string;
  notes: string;
}

/** The public part of a trainer record, as replicated in the roster. */
export interface TrainerPublic {
  id: string;
  displayName: string;
  homeHub: string;
  languages: Language[];
  regions: string[];
  accreditations: Accreditation[];
  availability: TimeRange[];
  blackouts: TimeRange[];
  updatedAt: string;
  updatedBy: string;
}

export interface Trainer extends TrainerPublic {
  private?: TrainerPrivate;
}

/** What a client sends: everything but the fields the node sets. */
export type TrainerDraft = Omit<Trainer, "homeHub" | "updatedAt" | "updatedBy">;

/** A draft as it arrives, before validation: enumerations are still free text. */
export type RawTrainerDraft = Omit<TrainerDraft, "languages" | "accreditations"> & {
  languages: Array<{ tag: string; level: string }>;
  accreditations: Array<Omit<Accreditation, "status"> & { status: string }>;
};

/** Fields an update mask may name. */
export const UPDATABLE_FIELDS = [
  "display_name",
  "languages",
  "regions",
  "accreditations",
  "availability",
  "blackouts",
  "private",
  "private.email",
  "private.phone",
  "private.national_id",
  "private.notes",
] as const;
export type UpdatableField = (typeof UPDATABLE_FIELDS)[number];

export const LIMITS = {
  idLength: 128,
  displayName: 200,
  languages: 20,
  regions: 300,
  accreditations: 100,
  ranges: 500,
  code: 64,
  email: 254,
  phone: 32,
  nationalId: 64,
  notes: 4000,
} as const;

const CODE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]*$/;
const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const PHONE = /^\+?[0-9 ()./-]{3,}$/;

function checkCode(c: Checker, field: string, value: string, required = true): string {
  const v = value.trim();
  if (v === "") {
    if (required) c.fail(field, "is required");
    return v;
  }
  if (!c.characters(field, v, TextKind.Line)) return v;
  if (v.length > LIMITS.code || !CODE_PATTERN.test(v)) {
    c.fail(field, `${quote(v)} is not a valid code (letters, digits, '.', '_', ':', '-'; at most ${LIMITS.code})`);
  }
  return v;
}

/** A valid date (YYYY-MM-DD, kept as is) or date-time (normalised to UTC ISO 8601). */
function checkDate(c: Checker, field: string, value: string, required: boolean): string {
  const v = value.trim();
  if (v === "") {
    if (required) c.fail(field, "is required");
    return v;
  }
  if (!c.characters(field, v, TextKind.Line)) return v;
  if (DATE_ONLY.test(v)) {
    const d = new Date(`${v}T00:00:00Z`);
    if (Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== v)
      c.fail(field, `${quote(v)} is not a real date`);
    return v;
  }
  if (DATE_TIME.test(v)) {
    const d = new Date(v);
    const day = v.slice(0, 10);
    // V8 rolls impossible days over (2026-02-30T… becomes 2026-03-02): check the calendar date too.
    if (Number.isNaN(d.getTime()) || new Date(`${day}T00:00:00Z`).toISOString().slice(0, 10) !== day) {
      c.fail(field, `${quote(v)} is not a real date-time`);
      return v;
    }
    return d.toISOString();
  }
  c.fail(
    field,
    `${quote(v)} is not an ISO 8601 date (YYYY-MM-DD) or date-time with a zone (e.g. 2026-03-01T09:00:00Z)`,
  );
  return v;
}

function instant(value: string): number {
  return new Date(DATE_ONLY.test(value) ? `${value}T00:00:00Z` : value).getTime();
}

function checkRanges(c: Checker, field: string, ranges: readonly TimeRange[]): TimeRange[] {
  if (ranges.length > LIMITS.ranges) {
    // Too many to be real: say so once, and spend no time on each item.
    c.fail(field, `has ${ranges.length} entries; at most ${LIMITS.ranges} allowed`);
    return [];
  }
  return ranges.map((range, i) => {
    const start = checkDate(c, `${field}[${i}].start`, range.start, true);
    const end = checkDate(c, `${field}[${i}].end`, range.end, true);
    if (
      start &&
      end &&
      !Number.isNaN(instant(start)) &&
      !Number.isNaN(instant(end)) &&
      instant(end) <= instant(start)
    ) {
      c.fail(`${field}[${i}]`, `ends (${end}) at or before it starts (${start})`);
    }
    return { start, end };
  });
}

function checkPrivate(c: Checker, field: string, p: TrainerPrivate): TrainerPrivate {
  const email = checkText(c, `${field}.email`, p.email, LIMITS.email, false);
  if (email !== "" && !EMAIL.test(email)) c.fail(`${field}.email`, `${quote(email)} is not an email address`);
  const phone = checkText(c, `${field}.phone`, p.phone, LIMITS.phone, false);
  if (phone !== "" && !PHONE.test(phone)) c.fail(`${field}.phone`, `${quote(phone)} is not a phone number`);
  return {
    email,
    phone,
    nationalId: checkText(c, `${field}.national_id`, p.nationalId, LIMITS.nationalId, false),
    notes: checkText(c, `${field}.notes`, p.notes, LIMITS.notes, false, TextKind.Multiline),
  };
}

function isEmptyPrivate(p: TrainerPrivate | undefined): boolean {
  return !p || (p.email === "" && p.phone === "" && p.nationalId === "" && p.notes === "");
}

/**
 * Validates and normalises a trainer draft. Returns every problem found (never only the first), each
 * naming the field path under `prefix`, e.g. `trainer.languages[1].level`.
 */
export function validateTrainer(
  draft: RawTrainerDraft,
  prefix = "trainer",
): { value: TrainerDraft; violations: FieldViolation[] } {
  const c = new Checker();
  const f = (name: string) => (prefix ? `${prefix}.${name}` : name);

  const id = draft.id.trim();
  if (id === "") c.fail(f("id"), "is required");
  else if (c.characters(f("id"), id, TextKind.Line) && (id.length > LIMITS.idLength || !ID_PATTERN.test(id))) {
    c.fail(
      f("id"),
      `${quote(id)} is not a valid trainer id (letters, digits, '.', '_', ':', '-'; at most ${LIMITS.idLength})`,
    );
  }
  const displayName = checkText(c, f("display_name"), draft.displayName, LIMITS.displayName, true);

  const over = (name: string, list: readonly unknown[], max: number): boolean => {
    if (list.length <= max) return false;
    c.fail(f(name), `has ${list.length} entries; at most ${max} allowed`);
    return true;
  };
  const seenTags = new Set<string>();
  const languages = (over("languages", draft.languages, LIMITS.languages) ? [] : draft.languages).map((lang, i) => {
    const tag = checkLanguageTag(c, f(`languages[${i}].tag`), lang.tag);
    const level = lang.level.trim().toUpperCase();
    if (
      c.characters(f(`languages[${i}].level`), level, TextKind.Line) &&
      !(CEFR_LEVELS as readonly string[]).includes(level)
    ) {
      c.fail(f(`languages[${i}].level`), `${quote(lang.level)} is not a CEFR level (${CEFR_LEVELS.join(", ")})`);
    }
    if (tag && seenTags.has(tag.toLowerCase())) c.fail(f(`languages[${i}].tag`), `${quote(tag)} is listed twice`);
    seenTags.add(tag.toLowerCase());
    return { tag, level: level as CefrLevel };
  });

  const regions = (over("regions", draft.regions, LIMITS.regions) ? [] : draft.regions).map((r, i) =>
    checkRegion(c, f(`regions[${i}]`), r),
  );
  const seenRegions = new Set<string>();
  regions.forEach((r, i) => {
    if (seenRegions.has(r)) c.fail(f(`regions[${i}]`), `${quote(r)} is listed twice`);
    seenRegions.add(r);
  });

  const accreditations = (
    over("accreditations", draft.accreditations, LIMITS.accreditations) ? [] : draft.accreditations
  ).map((a, i) => {
    const at = (name: string) => f(`accreditations[${i}].${name}`);
    const validFrom = checkDate(c, at("valid_from"), a.validFrom, false);
    const validUntil = checkDate(c, at("valid_until"), a.validUntil, false);
    if (validFrom && validUntil && instant(validUntil) < instant(validFrom)) {
      c.fail(at("valid_until"), `(${validUntil}) is before valid_from (${validFrom})`);
    }
    const status = (a.status.trim() || "active").toLowerCase();
    if (
      c.characters(at("status"), status, TextKind.Line) &&
      !(ACCREDITATION_STATUSES as readonly string[]).includes(status)
    ) {
      c.fail(at("status"), `${quote(a.status)} is not one of ${ACCREDITATION_STATUSES.join(", ")}`);
    }
    return {
      scheme: checkCode(c, at("scheme"), a.scheme),
      competency: checkCode(c, at("competency"), a.competency),
      level: checkCode(c, at("level"), a.level, false),
      validFrom,
      validUntil,
      status: status as AccreditationStatus,
    };
  });

  const availability = checkRanges(c, f("availability"), draft.availability);
  const blackouts = checkRanges(c, f("blackouts"), draft.blackouts);
  const privatePart = isEmptyPrivate(draft.private)
    ? undefined
    : checkPrivate(c, f("private"), draft.private as TrainerPrivate);

  const value: TrainerDraft = { id, displayName, languages, regions, accreditations, availability, blackouts };
  if (privatePart) value.private = privatePart;
  return { value, violations: c.violations };
}
