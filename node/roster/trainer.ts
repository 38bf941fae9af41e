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

/** What a trainer did on a deployment or engagement. */
export const DEPLOYMENT_ROLES = ["lead-trainer", "co-trainer", "mentor", "assessor", "observer"] as const;
export type DeploymentRole = (typeof DEPLOYMENT_ROLES)[number];

/**
 * A deployment or engagement a trainer served (public: places, dates, modules, never personal
 * data). Dates are days (YYYY-MM-DD), both included.
 */
export interface Deployment {
  from: string;
  to: string;
  role: DeploymentRole;
  place: string;
  /** ISO 3166-1 alpha-2. */
  country: string;
  module: string;
  /** The hub or mission the trainer served with, as people name them (optional). */
  hub: string;
  mission: string;
}

/** Train-the-trainer lineage: who trained this trainer as a trainer, for what, when, and the credential it led to. */
export interface Lineage {
  /** `HUB/TRAINER-ID` of the trainer who trained them. */
  trainedBy: string;
  module: string;
  on: string;
  /** The id of the credential it led to (`urn:uuid:…`, as `credentials issue` gives), or "". */
  credential: string;
}

/** A trainer's home hub released them to another hub (their record stays, frozen, saying so). */
export interface MovedTo {
  hub: string;
  on: string;
}

/** A trainer accepted from another hub, who released them: their record there is `hub`/`id`. */
export interface MovedFrom {
  hub: string;
  id: string;
  on: string;
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
  /** Where the trainer served (absent in records written before it was kept: read as none). */
  deployments?: Deployment[];
  trainedBy?: Lineage[];
  movedTo?: MovedTo;
  movedFrom?: MovedFrom;
}

/** The fields only their own commands write (deploy, lineage, release, accept): an add or update keeps them. */
export type TrainerServiceHistory = Pick<TrainerPublic, "deployments" | "trainedBy" | "movedTo" | "movedFrom">;

export interface Trainer extends TrainerPublic {
  private?: TrainerPrivate;
}

/** What a client sends: everything but the fields the node sets. */
export type TrainerDraft = Omit<Trainer, "homeHub" | "updatedAt" | "updatedBy" | keyof TrainerServiceHistory>;

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
  deployments: 500,
  lineage: 50,
  place: 200,
  mission: 200,
  credential: 200,
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

const CREDENTIAL_ID = /^[A-Za-z][A-Za-z0-9+.-]*:[^\s]+$/;

/** A day (YYYY-MM-DD) that exists. */
function checkDay(c: Checker, field: string, value: string): string {
  const v = value.trim();
  if (v === "") {
    c.fail(field, "is required");
    return v;
  }
  if (!c.characters(field, v, TextKind.Line)) return v;
  if (!DATE_ONLY.test(v) || new Date(`${v}T00:00:00Z`).toISOString().slice(0, 10) !== v)
    c.fail(field, `${quote(v)} is not a real date (YYYY-MM-DD)`);
  return v;
}

/** A country: ISO 3166-1 alpha-2, upper case. */
function checkCountry(c: Checker, field: string, value: string): string {
  if (value.trim() === "") {
    c.fail(field, "is required");
    return "";
  }
  const before = c.violations.length;
  const v = checkRegion(c, field, value);
  if (c.violations.length === before && v.length !== 2)
    c.fail(field, `${quote(v)} is a subdivision; give the country (ISO 3166-1 alpha-2, e.g. ${v.slice(0, 2)})`);
  return v;
}

/** Today (UTC), as YYYY-MM-DD: events that happened are on or before it. */
function today(): string {
  return new Date().toISOString().slice(0, 10);
}

export type RawDeployment = Omit<Deployment, "role"> & { role: string };

/** Validates one deployment, naming every problem under `prefix` (e.g. `deployment.country`). */
export function validateDeployment(
  raw: RawDeployment,
  prefix = "deployment",
): { value: Deployment; violations: FieldViolation[] } {
  const c = new Checker();
  const f = (name: string) => `${prefix}.${name}`;
  const from = checkDay(c, f("from"), raw.from);
  const to = checkDay(c, f("to"), raw.to);
  if (DATE_ONLY.test(from) && DATE_ONLY.test(to) && to < from) c.fail(f("to"), `(${to}) is before from (${from})`);
  const role = raw.role.trim().toLowerCase();
  if (role === "") c.fail(f("role"), `is required (${DEPLOYMENT_ROLES.join(", ")})`);
  else if (c.characters(f("role"), role, TextKind.Line) && !(DEPLOYMENT_ROLES as readonly string[]).includes(role))
    c.fail(f("role"), `${quote(raw.role.trim())} is not one of ${DEPLOYMENT_ROLES.join(", ")}`);
  const value: Deployment = {
    from,
    to,
    role: role as DeploymentRole,
    place: checkText(c, f("place"), raw.place, LIMITS.place, true),
    country: checkCountry(c, f("country"), raw.country),
    module: checkCode(c, f("module"), raw.module),
    hub: checkText(c, f("hub"), raw.hub, LIMITS.displayName, false),
    mission: checkText(c, f("mission"), raw.mission, LIMITS.mission, false),
  };
  return { value, violations: c.violations };
}

/** `HUB/TRAINER-ID` split, or undefined when it is not of that shape. */
export function splitTrainerRef(ref: string): { hub: string; id: string } | undefined {
  const v = ref.trim();
  const slash = v.indexOf("/");
  if (slash <= 0 || slash === v.length - 1) return undefined;
  const hub = v.slice(0, slash);
  const id = v.slice(slash + 1);
  if (!ID_PATTERN.test(hub) || !ID_PATTERN.test(id) || hub.length > LIMITS.idLength || id.length > LIMITS.idLength)
    return undefined;
  return { hub, id };
}

/**
 * Validates a lineage entry of trainer `self` (`HUB/ID`): who trained them (`HUB/ID`, not
 * themselves), the module, the day (not in the future), and the credential id if given.
 */
export function validateLineage(
  raw: Lineage,
  self: { hub: string; id: string },
  prefix = "lineage",
): { value: Lineage; violations: FieldViolation[] } {
  const c = new Checker();
  const f = (name: string) => `${prefix}.${name}`;
  const ref = raw.trainedBy.trim();
  if (ref === "") c.fail(f("trained_by"), "is required (HUB/TRAINER-ID)");
  else if (c.characters(f("trained_by"), ref, TextKind.Line)) {
    const split = splitTrainerRef(ref);
    if (!split) c.fail(f("trained_by"), `${quote(ref)} is not HUB/TRAINER-ID (e.g. hub-a/T-17)`);
    else if (split.hub === self.hub && split.id === self.id)
      c.fail(f("trained_by"), "names the trainer themselves; a trainer is trained by someone else");
  }
  const on = checkDay(c, f("on"), raw.on);
  if (DATE_ONLY.test(on) && on > today())
    c.fail(f("on"), `(${on}) is in the future; lineage records training that happened`);
  const credential = raw.credential.trim();
  if (credential !== "" && c.characters(f("credential"), credential, TextKind.Line)) {
    if (credential.length > LIMITS.credential || !CREDENTIAL_ID.test(credential))
      c.fail(
        f("credential"),
        `${quote(credential)} is not a credential id (a URI such as urn:uuid:…, at most ${LIMITS.credential})`,
      );
  }
  return {
    value: { trainedBy: ref, module: checkCode(c, f("module"), raw.module), on, credential },
    violations: c.violations,
  };
}
