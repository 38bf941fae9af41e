import { ImmutableString } from "@automerge/automerge";
import { z } from "zod";
import { decodeStored } from "../documents/index.js";
import type { FieldViolation } from "../errors.js";
import { readCsv } from "../csv.js";
import { Checker, checkText, ID_PATTERN, quote, TextKind } from "../text.js";

/**
 * How a delivery is evaluated, at Kirkpatrick's four levels as the UN's training evaluation guidance
 * uses them (docs/evaluation.md):
 * 1. reaction — the course evaluation (responses, mean score) and the questionnaire it used;
 * 2. learning — assessments per competency and method, and the pre/post assessment gain;
 * 3. behaviour — follow-ups after the period the module sets: how many were reached, how many apply it;
 * 4. results — indicators the hub names (complaints, incidents…) per period, with their source.
 * Figures only: no learner, no respondent is named.
 */
export const ASSESSMENT_METHODS = ["written", "practical", "simulation", "observed"] as const;
export type AssessmentMethod = (typeof ASSESSMENT_METHODS)[number];
export const FOLLOW_UP_SOURCES = ["supervisor", "self"] as const;
export type FollowUpSource = (typeof FOLLOW_UP_SOURCES)[number];

/** An evaluation instrument: a case of kind evaluation-tool in some hub's repository, at one version. */
export interface InstrumentRef {
  hub: string;
  id: string;
  version: string;
}

/** How many of those assessed on one competency by one method demonstrated it. */
export interface Assessment {
  competency: string;
  method: AssessmentMethod;
  assessed: number;
  demonstrated: number;
}

/** Level 2: the same assessment before and after, mean scores 0-100 over those who took both. */
export interface Learning {
  assessed: number;
  preMean: number;
  postMean: number;
  instrument?: InstrumentRef;
}

/** Level 3: one follow-up of a delivery, some time after it. */
export interface FollowUp {
  delivery: string;
  /** YYYY-MM-DD, not before the delivery's end. */
  conductedOn: string;
  source: FollowUpSource;
  /** Former participants the follow-up reached, and how many of them apply what they learnt. */
  reached: number;
  applying: number;
  instrument?: InstrumentRef;
  recordedAt: string;
  recordedBy: string;
}

/** Level 4: a figure the hub tracks for a period, with where it comes from. */
export interface Indicator {
  /** An id the hub names, e.g. `complaints-against-personnel`, `use-of-force-incidents`. */
  indicator: string;
  from: string;
  to: string;
  value: number;
  unit: string;
  source: string;
  recordedAt: string;
  recordedBy: string;
}

/** As it arrives: source and instrument are free text. */
export type FollowUpDraft = Omit<FollowUp, "recordedAt" | "recordedBy" | "instrument" | "source"> & {
  source: string;
  instrument: string;
};
export type IndicatorDraft = Omit<Indicator, "recordedAt" | "recordedBy">;

const DAY_MS = 86_400_000;

/** A calendar day (YYYY-MM-DD) plus `days`. */
export function addDays(day: string, days: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
}

/**
 * When a delivery's follow-up falls due (YYYY-MM-DD): its own date when it sets one, else `afterDays`
 * (its module's period) after its end; undefined when neither asks for a follow-up.
 */
export function followUpDueOf(
  d: { end: string; followUpDue?: string },
  afterDays: number | undefined,
): string | undefined {
  if (d.followUpDue) return d.followUpDue;
  return afterDays === undefined ? undefined : addDays(d.end, afterDays);
}

/** `hub/id@version`: how an instrument is written in forms, files and messages. */
export function formatInstrument(ref: InstrumentRef | undefined): string {
  return ref ? `${ref.hub}/${ref.id}@${ref.version}` : "";
}

const INSTRUMENT = /^([^/@\s]+)\/([^/@\s]+)@([^/@\s]+)$/;

/** Reads `hub/id@version` ("" is no instrument); a malformed one is a violation of `field`. */
export function parseInstrument(c: Checker, field: string, text: string): InstrumentRef | undefined {
  const t = text.trim();
  if (t === "") return undefined;
  const m = INSTRUMENT.exec(t);
  if (!m || !c.characters(field, t, TextKind.Line) || !ID_PATTERN.test(m[2] as string)) {
    c.fail(field, `${quote(t)} is not an instrument (HUB/CASE-ID@VERSION, e.g. secretariat/course-evaluation@2)`);
    return undefined;
  }
  return { hub: m[1] as string, id: m[2] as string, version: m[3] as string };
}

/**
 * Whether an instrument exists as named: the case is in its hub's repository (this hub's own, or
 * another's as verified), is an evaluation tool, and is at that version. Undefined when it is, else
 * what is wrong.
 */
export type InstrumentCheck = (ref: InstrumentRef) => string | undefined;

export function checkInstrument(
  c: Checker,
  field: string,
  text: string,
  exists: InstrumentCheck,
): InstrumentRef | undefined {
  const ref = parseInstrument(c, field, text);
  if (ref) {
    const problem = exists(ref);
    if (problem) c.fail(field, problem);
  }
  return ref;
}

export function count(c: Checker, field: string, value: number): number {
  if (!Number.isInteger(value) || value < 0 || value > 1_000_000)
    c.fail(field, `${value} is not a count (a whole number, 0 to 1,000,000)`);
  return value;
}

function score(c: Checker, field: string, value: number): number {
  if (!Number.isFinite(value) || value < 0 || value > 100) c.fail(field, `${value} is not a score from 0 to 100`);
  return value;
}

export interface RawAssessment {
  competency: string;
  method: string;
  assessed: number;
  demonstrated: number;
}

/**
 * Checks a delivery's assessments: each names a competency the module is aligned to and a method,
 * once per pair; demonstrated ≤ assessed ≤ participants.
 */
export function checkAssessments(
  c: Checker,
  prefix: string,
  raw: readonly RawAssessment[],
  context: { competencies: readonly string[]; module: string; participants: number },
): Assessment[] {
  if (raw.length > 500) {
    c.fail(prefix, `has ${raw.length} entries; at most 500`);
    return [];
  }
  const seen = new Set<string>();
  return raw.map((a, i) => {
    const at = (name: string) => `${prefix}[${i}].${name}`;
    const competency = a.competency.trim();
    if (competency === "") c.fail(at("competency"), "is required");
    else if (c.characters(at("competency"), competency, TextKind.Line) && !context.competencies.includes(competency))
      c.fail(
        at("competency"),
        context.competencies.length === 0
          ? `${quote(competency)}: module ${quote(context.module)} is aligned to no competency`
          : `${quote(competency)} is not a competency module ${quote(context.module)} is aligned to (${context.competencies.join(", ")})`,
      );
    const method = a.method.trim().toLowerCase();
    if (!(ASSESSMENT_METHODS as readonly string[]).includes(method))
      c.fail(
        at("method"),
        method === ""
          ? `is required (${ASSESSMENT_METHODS.join(", ")})`
          : `${quote(a.method)} is not one of ${ASSESSMENT_METHODS.join(", ")}`,
      );
    const key = `${competency}\n${method}`;
    if (seen.has(key)) c.fail(at("method"), `${quote(competency)} by ${quote(method)} is listed twice`);
    seen.add(key);
    const assessed = count(c, at("assessed"), a.assessed);
    const demonstrated = count(c, at("demonstrated"), a.demonstrated);
    if (demonstrated > assessed)
      c.fail(at("demonstrated"), `(${demonstrated}) is more than those assessed (${assessed})`);
    if (assessed > context.participants)
      c.fail(at("assessed"), `(${assessed}) is more than the participants (${context.participants})`);
    return { competency, method: method as AssessmentMethod, assessed, demonstrated };
  });
}

export interface RawLearning {
  assessed: number;
  preMean: number;
  postMean: number;
  instrument: string;
}

/** Level 2; `assessed` 0 is "not measured" (then no scores and no instrument). */
export function checkLearning(
  c: Checker,
  prefix: string,
  raw: RawLearning,
  context: { participants: number; instruments: InstrumentCheck },
): Learning | undefined {
  const assessed = count(c, `${prefix}.assessed`, raw.assessed);
  const preMean = score(c, `${prefix}.pre_mean`, raw.preMean);
  const postMean = score(c, `${prefix}.post_mean`, raw.postMean);
  const instrument = checkInstrument(c, `${prefix}.instrument`, raw.instrument, context.instruments);
  if (assessed > context.participants)
    c.fail(`${prefix}.assessed`, `(${assessed}) is more than the participants (${context.participants})`);
  if (assessed === 0) {
    if (preMean !== 0 || postMean !== 0 || instrument)
      c.fail(`${prefix}.assessed`, "is 0 (not measured) but scores or an instrument are given");
    return undefined;
  }
  return { assessed, preMean, postMean, ...(instrument ? { instrument } : {}) };
}

/** One row of a CSV table: its line, its cells by column name, and whole numbers checked. */
interface TableRow {
  line: number;
  cell(column: string): string;
  /** A whole number, or 0 with a violation naming the line and column. */
  count(column: string): number;
}

/**
 * A CSV file as a table: a header naming at least `required` (any order, any case), then rows. A
 * syntax error, a missing column, an empty file and a bad number are violations naming their line.
 */
function readTable(text: string, required: readonly string[]): { rows: TableRow[]; violations: FieldViolation[] } {
  const { records, errors } = readCsv(text);
  const violations: FieldViolation[] = errors.map((e) => ({ field: `csv line ${e.line}`, description: e.message }));
  const [header, ...records$] = records;
  if (!header) return { rows: [], violations: [...violations, { field: "csv", description: "is empty" }] };
  const names = header.cells.map((h) => h.trim().toLowerCase());
  const missing = required.filter((col) => !names.includes(col));
  if (missing.length > 0)
    return {
      rows: [],
      violations: [
        ...violations,
        { field: `csv line ${header.line}`, description: `the header lacks ${missing.join(", ")}` },
      ],
    };
  const rows = records$.map((r): TableRow => {
    const cell = (column: string) => {
      const i = names.indexOf(column);
      return i < 0 ? "" : (r.cells[i] ?? "").trim();
    };
    return {
      line: r.line,
      cell,
      count: (column) => {
        const v = cell(column);
        if (/^\d+$/.test(v)) return Number(v);
        violations.push({ field: `csv line ${r.line}, ${column}`, description: `${quote(v)} is not a whole number` });
        return 0;
      },
    };
  });
  if (rows.length === 0 && violations.length === 0)
    violations.push({ field: "csv", description: "has a header but no rows" });
  return { rows, violations };
}

/** Assessments from CSV: a header naming competency, method, assessed, demonstrated (any order). */
export function readAssessmentsCsv(text: string): { rows: RawAssessment[]; violations: FieldViolation[] } {
  const table = readTable(text, ["competency", "method", "assessed", "demonstrated"]);
  const rows = table.rows.map((r) => ({
    competency: r.cell("competency"),
    method: r.cell("method"),
    assessed: r.count("assessed"),
    demonstrated: r.count("demonstrated"),
  }));
  return { rows, violations: table.violations };
}

/**
 * Follow-ups from CSV (a survey's export): a header naming delivery, conducted_on, source, reached,
 * applying and, optionally, instrument, in any order. Each row keeps its line for messages.
 */
export function readFollowUpsCsv(text: string): {
  rows: Array<{ line: number; draft: FollowUpDraft }>;
  violations: FieldViolation[];
} {
  const table = readTable(text, ["delivery", "conducted_on", "source", "reached", "applying"]);
  const rows = table.rows.map((r) => ({
    line: r.line,
    draft: {
      delivery: r.cell("delivery"),
      conductedOn: r.cell("conducted_on"),
      source: r.cell("source"),
      reached: r.count("reached"),
      applying: r.count("applying"),
      instrument: r.cell("instrument"),
    },
  }));
  return { rows, violations: table.violations };
}

/** A follow-up of `delivery` (ended `end`), every problem named. */
export function validateFollowUp(
  raw: FollowUpDraft,
  delivery: { id: string; end: string; participants: number } | undefined,
  instruments: InstrumentCheck,
  isDay: (v: string) => boolean,
): { value: Omit<FollowUp, "recordedAt" | "recordedBy">; violations: FieldViolation[] } {
  const c = new Checker();
  const id = raw.delivery.trim();
  if (id === "") c.fail("follow_up.delivery", "is required");
  else if (!delivery) c.fail("follow_up.delivery", `${quote(id)} is not a delivery of this hub`);
  const conductedOn = raw.conductedOn.trim();
  if (!isDay(conductedOn)) c.fail("follow_up.conducted_on", `${quote(conductedOn)} is not a date (YYYY-MM-DD)`);
  else if (delivery && conductedOn < delivery.end)
    c.fail("follow_up.conducted_on", `(${conductedOn}) is before the delivery ended (${delivery.end})`);
  const source = raw.source.trim().toLowerCase();
  if (!(FOLLOW_UP_SOURCES as readonly string[]).includes(source))
    c.fail(
      "follow_up.source",
      source === ""
        ? `is required (${FOLLOW_UP_SOURCES.join(", ")})`
        : `${quote(raw.source)} is not one of ${FOLLOW_UP_SOURCES.join(", ")}`,
    );
  const reached = count(c, "follow_up.reached", raw.reached);
  const applying = count(c, "follow_up.applying", raw.applying);
  if (applying > reached) c.fail("follow_up.applying", `(${applying}) is more than those reached (${reached})`);
  if (delivery && reached > delivery.participants)
    c.fail("follow_up.reached", `(${reached}) is more than the delivery's participants (${delivery.participants})`);
  const instrument = checkInstrument(c, "follow_up.instrument", raw.instrument, instruments);
  return {
    value: {
      delivery: id,
      conductedOn,
      source: source as FollowUpSource,
      reached,
      applying,
      ...(instrument ? { instrument } : {}),
    },
    violations: c.violations,
  };
}

/** A level-4 indicator for a period (`from`..`to` already parsed). */
export function validateIndicator(raw: IndicatorDraft): { value: IndicatorDraft; violations: FieldViolation[] } {
  const c = new Checker();
  const indicator = raw.indicator.trim().toLowerCase();
  if (indicator === "") c.fail("indicator.indicator", "is required (a name such as use-of-force-incidents)");
  else if (
    c.characters("indicator.indicator", indicator, TextKind.Line) &&
    !/^[a-z0-9][a-z0-9._-]{0,79}$/.test(indicator)
  )
    c.fail(
      "indicator.indicator",
      `${quote(indicator)} is not a name (lower-case letters, digits, '.', '_', '-'; at most 80)`,
    );
  if (!Number.isFinite(raw.value) || raw.value < 0 || raw.value > 1e12)
    c.fail("indicator.value", `${raw.value} is not a figure (a number from 0)`);
  const unit = checkText(c, "indicator.unit", raw.unit, 60, true);
  const source = checkText(c, "indicator.source", raw.source, 500, true);
  return { value: { indicator, from: raw.from, to: raw.to, value: raw.value, unit, source }, violations: c.violations };
}

// ---------------------------------------------------------------------------------------------
// stored forms: canonical JSON in one ImmutableString each (one hub writes them)

const instrumentSchema = z.object({ hub: z.string(), id: z.string(), version: z.string() });
export const assessmentSchema = z.object({
  competency: z.string(),
  method: z.enum(ASSESSMENT_METHODS),
  assessed: z.number().int().min(0),
  demonstrated: z.number().int().min(0),
});
export const learningSchema = z.object({
  assessed: z.number().int().min(0),
  preMean: z.number(),
  postMean: z.number(),
  instrument: instrumentSchema.optional(),
});
export { instrumentSchema };

const followUpSchema = z.object({
  delivery: z.string(),
  conductedOn: z.string(),
  source: z.enum(FOLLOW_UP_SOURCES),
  reached: z.number().int().min(0),
  applying: z.number().int().min(0),
  instrument: instrumentSchema.optional(),
  recordedAt: z.string(),
  recordedBy: z.string(),
});

const indicatorSchema = z.object({
  indicator: z.string(),
  from: z.string(),
  to: z.string(),
  value: z.number(),
  unit: z.string(),
  source: z.string(),
  recordedAt: z.string(),
  recordedBy: z.string(),
});

const instrumentJson = (i: InstrumentRef | undefined) =>
  i ? { instrument: { hub: i.hub, id: i.id, version: i.version } } : {};

/** A delivery's follow-ups, oldest first (one stored value per delivery). */
export function encodeFollowUps(list: readonly FollowUp[]): ImmutableString {
  return new ImmutableString(
    JSON.stringify(
      [...list]
        .sort((a, b) =>
          a.conductedOn < b.conductedOn ? -1 : a.conductedOn > b.conductedOn ? 1 : a.source < b.source ? -1 : 1,
        )
        .map((f) => ({
          delivery: f.delivery,
          conductedOn: f.conductedOn,
          source: f.source,
          reached: f.reached,
          applying: f.applying,
          ...instrumentJson(f.instrument),
          recordedAt: f.recordedAt,
          recordedBy: f.recordedBy,
        })),
    ),
  );
}

export function decodeFollowUps(stored: unknown): FollowUp[] {
  return decodeStored(z.array(followUpSchema), stored) ?? [];
}

export const indicatorKey = (i: Pick<Indicator, "indicator" | "from" | "to">) => `${i.indicator}|${i.from}|${i.to}`;

export function encodeIndicator(i: Indicator): ImmutableString {
  return new ImmutableString(
    JSON.stringify({
      indicator: i.indicator,
      from: i.from,
      to: i.to,
      value: i.value,
      unit: i.unit,
      source: i.source,
      recordedAt: i.recordedAt,
      recordedBy: i.recordedBy,
    } satisfies Indicator),
  );
}

export function decodeIndicator(stored: unknown): Indicator | undefined {
  return decodeStored(indicatorSchema, stored);
}

/** The follow-ups and indicators a deliveries document holds. */
export function followUpsIn(doc: { followUps?: Record<string, unknown> } | undefined): FollowUp[] {
  return Object.values(doc?.followUps ?? {}).flatMap(decodeFollowUps);
}

export function indicatorsIn(doc: { indicators?: Record<string, unknown> } | undefined): Indicator[] {
  return Object.values(doc?.indicators ?? {})
    .flatMap((s) => {
      const i = decodeIndicator(s);
      return i ? [i] : [];
    })
    .sort((a, b) => (a.indicator < b.indicator ? -1 : a.indicator > b.indicator ? 1 : a.from < b.from ? -1 : 1));
}
