import { ImmutableString } from "@automerge/automerge";
import { z } from "zod";
import { decodeStored } from "../documents/index.js";
import type { FieldViolation } from "../errors.js";
import { Checker, ID_PATTERN, quote, TextKind } from "../text.js";

/**
 * A hub's grievance register (docs/grievances.md): complaints about training or trainers, from
 * trainees, civil society, partners or staff, each received, acknowledged, investigated and resolved
 * within due dates. Two documents per hub:
 * - `grievances` (replicated): per grievance only an opaque id, a category, the kind of source, the
 *   dates of each step, the due dates and the outcome: codes and days, no free text at all;
 * - `grievances-private` (never replicated): who complained (name, contact, whether they asked for
 *   anonymity), what they said, what it is about (a delivery, a trainer, a module: these may name
 *   people) and the investigation's notes.
 */
export const GRIEVANCES_KEY = "grievances";
export const PRIVATE_GRIEVANCES_KEY = "grievances-private";

/** What a grievance is about. */
export const CATEGORIES = ["conduct", "discrimination", "harassment", "safety", "quality", "access", "other"] as const;
export type Category = (typeof CATEGORIES)[number];

/** Who brought it (the kind, never the person). */
export const SOURCES = ["trainee", "civil-society", "partner", "staff", "anonymous"] as const;
export type Source = (typeof SOURCES)[number];

export const OUTCOMES = ["upheld", "partly-upheld", "not-upheld", "withdrawn", "referred"] as const;
export type Outcome = (typeof OUTCOMES)[number];
/** Outcomes that may close a grievance that was acknowledged but never investigated. */
export const OUTCOMES_WITHOUT_INVESTIGATION: readonly Outcome[] = ["withdrawn", "referred"];

/** The steps, in the only order they go. */
export const STATUSES = ["received", "acknowledged", "investigating", "resolved"] as const;
export type Status = (typeof STATUSES)[number];

/** Days after receipt by when a grievance must be acknowledged, and resolved (unless set per grievance). */
export const DEFAULT_ACKNOWLEDGE_DAYS = 7;
export const DEFAULT_RESOLVE_DAYS = 60;
export const MAX_DUE_DAYS = 365;

export const MAX_DESCRIPTION = 20_000;
export const MAX_NOTE = 20_000;
export const MAX_NAME = 200;
export const MAX_CONTACT = 300;
export const MAX_NOTES = 200;

/** A grievance as every member sees it: codes and days only. */
export interface Grievance {
  /** Opaque: made by the node, says nothing of who or what. */
  id: string;
  category: Category;
  source: Source;
  receivedOn: string;
  /** Due dates (YYYY-MM-DD): receipt + the days allowed. */
  acknowledgeBy: string;
  resolveBy: string;
  acknowledgedOn?: string;
  investigationStartedOn?: string;
  resolvedOn?: string;
  outcome?: Outcome;
}

export interface Complainant {
  name: string;
  contact: string;
  /** They asked that their identity be known to no one beyond who handles the grievance. */
  anonymous: boolean;
}

export interface InvestigationNote {
  at: string;
  by: string;
  /** The step the note was written with (investigate, resolve). */
  step: string;
  text: string;
}

/** What stays at the hub: who, what, about whom, and the investigation. */
export interface PrivateGrievance {
  id: string;
  complainant: Complainant;
  description: string;
  about: { delivery: string; trainer: string; module: string };
  notes: InvestigationNote[];
  receivedBy: string;
}

export interface GrievanceDraft {
  category: string;
  source: string;
  /** YYYY-MM-DD; empty: today. */
  receivedOn: string;
  /** 0: the default. */
  acknowledgeWithinDays: number;
  resolveWithinDays: number;
  complainant: Complainant;
  description: string;
  about: { delivery: string; trainer: string; module: string };
}

// ---------------------------------------------------------------------------------------------
// days

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const DAY_MS = 86_400_000;

export function isDay(v: string): boolean {
  const t = Date.parse(`${v}T00:00:00Z`);
  return DATE.test(v) && !Number.isNaN(t) && new Date(t).toISOString().slice(0, 10) === v;
}

export function addDays(day: string, days: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
}

export function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / DAY_MS);
}

export const today = () => new Date().toISOString().slice(0, 10);

/**
 * A day of a step: YYYY-MM-DD (empty: today), not after `latest` (today: a step is recorded when it
 * happened, not before) and not before `earliest` (the step before it).
 */
export function checkDay(
  c: Checker,
  field: string,
  raw: string,
  bounds: { earliest?: { day: string; what: string }; latest: string },
): string {
  const v = raw.trim() === "" ? bounds.latest : raw.trim();
  if (!c.characters(field, v, TextKind.Line)) return v;
  if (!isDay(v)) {
    c.fail(field, `${quote(v)} is not a day (YYYY-MM-DD)`);
    return v;
  }
  if (v > bounds.latest) c.fail(field, `${v} is in the future (today is ${bounds.latest})`);
  if (bounds.earliest && v < bounds.earliest.day)
    c.fail(field, `${v} is before ${bounds.earliest.what} (${bounds.earliest.day})`);
  return v;
}

// ---------------------------------------------------------------------------------------------
// the state a grievance is in

/** Its status as of `at` (a step dated after `at` has not happened yet then). */
export function statusAt(g: Grievance, at: string): Status {
  if (g.resolvedOn !== undefined && g.resolvedOn <= at) return "resolved";
  if (g.investigationStartedOn !== undefined && g.investigationStartedOn <= at) return "investigating";
  if (g.acknowledgedOn !== undefined && g.acknowledgedOn <= at) return "acknowledged";
  return "received";
}

export const statusOf = (g: Grievance): Status => statusAt(g, "9999-12-31");

/** Which due dates it has missed as of `at`: not acknowledged (resolved) and past the day it was due. */
export function overdueAt(g: Grievance, at: string): { acknowledgement: boolean; resolution: boolean } {
  const s = statusAt(g, at);
  return {
    acknowledgement: s === "received" && g.acknowledgeBy < at,
    resolution: s !== "resolved" && g.resolveBy < at,
  };
}

// ---------------------------------------------------------------------------------------------
// validation

function checkChoice<T extends string>(
  c: Checker,
  field: string,
  raw: string,
  choices: readonly T[],
  required = true,
): T | undefined {
  const v = raw.trim().toLowerCase();
  if (v === "") {
    if (required) c.fail(field, `is required (one of ${choices.join(", ")})`);
    return undefined;
  }
  if (!(choices as readonly string[]).includes(v)) {
    c.fail(field, `${quote(raw.trim())} is not one of ${choices.join(", ")}`);
    return undefined;
  }
  return v as T;
}

function checkDays(c: Checker, field: string, days: number, fallback: number): number {
  if (days === 0) return fallback;
  if (!Number.isInteger(days) || days < 1 || days > MAX_DUE_DAYS) {
    c.fail(field, `${days} is not a number of days (1 to ${MAX_DUE_DAYS}; 0 for the default, ${fallback})`);
    return fallback;
  }
  return days;
}

function checkRef(c: Checker, field: string, raw: string): string {
  const v = raw.trim();
  if (v === "") return v;
  if (c.characters(field, v, TextKind.Line) && (v.length > 128 || !ID_PATTERN.test(v)))
    c.fail(field, `${quote(v)} is not an id`);
  return v;
}

/** Checks a new grievance; every problem is named. */
export function validateGrievance(
  raw: GrievanceDraft,
  now: string = today(),
): {
  value: {
    category: Category;
    source: Source;
    receivedOn: string;
    acknowledgeBy: string;
    resolveBy: string;
    complainant: Complainant;
    description: string;
    about: { delivery: string; trainer: string; module: string };
  };
  violations: FieldViolation[];
} {
  const c = new Checker();
  const category = checkChoice(c, "grievance.category", raw.category, CATEGORIES);
  const source = checkChoice(c, "grievance.source", raw.source, SOURCES);
  const receivedOn = checkDay(c, "grievance.received_on", raw.receivedOn, { latest: now });
  const ackDays = checkDays(
    c,
    "grievance.acknowledge_within_days",
    raw.acknowledgeWithinDays,
    DEFAULT_ACKNOWLEDGE_DAYS,
  );
  const resolveDays = checkDays(c, "grievance.resolve_within_days", raw.resolveWithinDays, DEFAULT_RESOLVE_DAYS);
  if (resolveDays < ackDays)
    c.fail(
      "grievance.resolve_within_days",
      `${resolveDays} days is less than the ${ackDays} days allowed to acknowledge it`,
    );
  const anonymousSource = source === "anonymous";
  const name = c.text("grievance.complainant.name", raw.complainant.name, {
    max: MAX_NAME,
    required: !anonymousSource && source !== undefined,
  });
  if (anonymousSource && name !== "")
    c.fail("grievance.complainant.name", "must be empty when the source is anonymous (no one is named)");
  const contact = c.text("grievance.complainant.contact", raw.complainant.contact, { max: MAX_CONTACT });
  const description = c.text("grievance.description", raw.description, {
    max: MAX_DESCRIPTION,
    kind: TextKind.Multiline,
    required: true,
  });
  const about = {
    delivery: checkRef(c, "grievance.about.delivery", raw.about.delivery),
    trainer: checkRef(c, "grievance.about.trainer", raw.about.trainer),
    module: checkRef(c, "grievance.about.module", raw.about.module),
  };
  return {
    value: {
      category: category ?? "other",
      source: source ?? "anonymous",
      receivedOn,
      acknowledgeBy: isDay(receivedOn) ? addDays(receivedOn, ackDays) : receivedOn,
      resolveBy: isDay(receivedOn) ? addDays(receivedOn, resolveDays) : receivedOn,
      complainant: { name, contact, anonymous: raw.complainant.anonymous || anonymousSource },
      description,
      about,
    },
    violations: c.violations,
  };
}

/** An outcome code (every problem named through `c`). */
export function checkOutcome(c: Checker, field: string, raw: string): Outcome | undefined {
  return checkChoice(c, field, raw, OUTCOMES);
}

/** An investigation note: multiline text, optional unless `required`. */
export function checkNote(c: Checker, field: string, raw: string, required = false): string {
  return c.text(field, raw, { max: MAX_NOTE, kind: TextKind.Multiline, required });
}

// ---------------------------------------------------------------------------------------------
// figures

export interface GrievanceFigures {
  /** The day the figures are as of. */
  at: string;
  /** Grievances received by then. */
  total: number;
  byCategory: Record<Category, number>;
  bySource: Record<Source, number>;
  byStatus: Record<Status, number>;
  /** Resolved ones, by outcome. */
  byOutcome: Record<Outcome, number>;
  /** Not resolved yet. */
  open: number;
  overdue: {
    /** Still not acknowledged, past the day it was due. */
    acknowledgement: number;
    /** Still not resolved, past the day it was due. */
    resolution: number;
  };
  /** Steps done, but after their due day. */
  late: { acknowledgement: number; resolution: number };
  /** Days from receipt to resolution of the resolved ones. */
  daysToResolution: { resolved: number; median: number | null; max: number | null };
}

const zeros = <T extends string>(keys: readonly T[]) =>
  Object.fromEntries(keys.map((k) => [k, 0])) as Record<T, number>;

function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/**
 * A hub's grievance figures as of `at` (YYYY-MM-DD): only grievances received by then (and, when
 * `receivedFrom` is given, not before it), each in the state it was in on that day. A pure
 * function of the replicated records: counts and days, never a person.
 */
export function grievanceFigures(
  records: readonly Grievance[],
  at: string,
  receivedFrom = "0000-01-01",
): GrievanceFigures {
  const byCategory = zeros(CATEGORIES);
  const bySource = zeros(SOURCES);
  const byStatus = zeros(STATUSES);
  const byOutcome = zeros(OUTCOMES);
  const overdue = { acknowledgement: 0, resolution: 0 };
  const late = { acknowledgement: 0, resolution: 0 };
  const days: number[] = [];
  let total = 0;
  for (const g of records) {
    if (g.receivedOn > at || g.receivedOn < receivedFrom) continue;
    total += 1;
    byCategory[g.category] += 1;
    bySource[g.source] += 1;
    const status = statusAt(g, at);
    byStatus[status] += 1;
    const o = overdueAt(g, at);
    if (o.acknowledgement) overdue.acknowledgement += 1;
    if (o.resolution) overdue.resolution += 1;
    if (g.acknowledgedOn !== undefined && g.acknowledgedOn <= at && g.acknowledgedOn > g.acknowledgeBy)
      late.acknowledgement += 1;
    if (status === "resolved" && g.resolvedOn !== undefined) {
      if (g.outcome) byOutcome[g.outcome] += 1;
      if (g.resolvedOn > g.resolveBy) late.resolution += 1;
      days.push(daysBetween(g.receivedOn, g.resolvedOn));
    }
  }
  return {
    at,
    total,
    byCategory,
    bySource,
    byStatus,
    byOutcome,
    open: total - byStatus.resolved,
    overdue,
    late,
    daysToResolution: {
      resolved: days.length,
      median: median(days),
      max: days.length === 0 ? null : Math.max(...days),
    },
  };
}

// ---------------------------------------------------------------------------------------------
// stored forms: one ImmutableString of JSON per grievance (one owner writes them)

const day = z.string().refine(isDay);
const grievanceSchema = z
  .object({
    id: z.string().regex(ID_PATTERN).max(64),
    category: z.enum(CATEGORIES),
    source: z.enum(SOURCES),
    receivedOn: day,
    acknowledgeBy: day,
    resolveBy: day,
    acknowledgedOn: day.optional(),
    investigationStartedOn: day.optional(),
    resolvedOn: day.optional(),
    outcome: z.enum(OUTCOMES).optional(),
  })
  .strict();

const privateSchema = z.object({
  id: z.string(),
  complainant: z.object({ name: z.string(), contact: z.string(), anonymous: z.boolean() }),
  description: z.string(),
  about: z.object({ delivery: z.string(), trainer: z.string(), module: z.string() }),
  notes: z.array(z.object({ at: z.string(), by: z.string(), step: z.string(), text: z.string() })),
  receivedBy: z.string(),
});

/** The replicated record, with exactly the fields above (the key order fixed, for identical bytes). */
export function encodeGrievance(g: Grievance): ImmutableString {
  const record: Grievance = {
    id: g.id,
    category: g.category,
    source: g.source,
    receivedOn: g.receivedOn,
    acknowledgeBy: g.acknowledgeBy,
    resolveBy: g.resolveBy,
    ...(g.acknowledgedOn === undefined ? {} : { acknowledgedOn: g.acknowledgedOn }),
    ...(g.investigationStartedOn === undefined ? {} : { investigationStartedOn: g.investigationStartedOn }),
    ...(g.resolvedOn === undefined ? {} : { resolvedOn: g.resolvedOn }),
    ...(g.outcome === undefined ? {} : { outcome: g.outcome }),
  };
  return new ImmutableString(JSON.stringify(record));
}

export const encodePrivateGrievance = (p: PrivateGrievance) => new ImmutableString(JSON.stringify(p));

export function decodeGrievance(value: unknown): Grievance | undefined {
  return decodeStored(grievanceSchema, value) as Grievance | undefined;
}

export function decodePrivateGrievance(value: unknown): PrivateGrievance | undefined {
  return decodeStored(privateSchema, value);
}

export interface GrievancesDoc {
  grievances?: Record<string, unknown>;
}

/**
 * The grievances of a replicated document, in id order. A record that does not decode (or whose
 * key is not its id) is left out: another hub's document is read as signed, but not trusted to be well formed.
 */
export function grievancesIn(doc: GrievancesDoc | undefined): Grievance[] {
  return Object.entries(doc?.grievances ?? {})
    .flatMap(([key, v]) => {
      const g = decodeGrievance(v);
      return g && g.id === key ? [g] : [];
    })
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/**
 * A hub's grievance figures in a report: the grievances received in the report's period, each as it
 * stood on the report's day (`asOf`, YYYY-MM-DD or an ISO time). Figures only: no id, no date of
 * any one grievance, so a public report keeps them whole.
 */
export function grievanceReportFigures(
  records: readonly Grievance[],
  period: { from: string; to: string },
  asOf: string,
): GrievanceFigures {
  const at = asOf.slice(0, 10);
  const inPeriod = records.filter((g) => g.receivedOn <= period.to);
  return grievanceFigures(inPeriod, at, period.from);
}
