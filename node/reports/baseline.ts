import { isDay } from "../deliveries/index.js";
import type { FieldViolation } from "../errors.js";
import { quote } from "../text.js";
import type { CoverageReport, HubCoverage } from "./coverage.js";

export interface Period {
  /** As given: `2026-Q1`, `2026-H2`, `2026-03`, `2026` or `2026-01-01..2026-03-31`. */
  label: string;
  from: string;
  to: string;
}

const pad = (n: number) => String(n).padStart(2, "0");
const lastDay = (year: number, month: number) => new Date(Date.UTC(year, month, 0)).getUTCDate();

/** A period from its label; a violation naming the field when it is not one. */
export function parsePeriod(label: string, field: string, violations: FieldViolation[]): Period | undefined {
  const months = (year: number, first: number, last: number): Period => ({
    label,
    from: `${year}-${pad(first)}-01`,
    to: `${year}-${pad(last)}-${pad(lastDay(year, last))}`,
  });
  let m: RegExpMatchArray | null;
  if ((m = /^(\d{4})$/.exec(label))) return months(Number(m[1]), 1, 12);
  if ((m = /^(\d{4})-Q([1-4])$/i.exec(label))) return months(Number(m[1]), Number(m[2]) * 3 - 2, Number(m[2]) * 3);
  if ((m = /^(\d{4})-H([12])$/i.exec(label))) return months(Number(m[1]), Number(m[2]) * 6 - 5, Number(m[2]) * 6);
  if ((m = /^(\d{4})-(0[1-9]|1[0-2])$/.exec(label))) return months(Number(m[1]), Number(m[2]), Number(m[2]));
  if ((m = /^(\S+)\.\.(\S+)$/.exec(label)) && isDay(m[1] as string) && isDay(m[2] as string)) {
    if ((m[2] as string) < (m[1] as string)) {
      violations.push({ field, description: `${quote(label)} ends before it starts` });
      return undefined;
    }
    return { label, from: m[1] as string, to: m[2] as string };
  }
  violations.push({
    field,
    description: `${quote(label)} is not a period: give 2026, 2026-Q1, 2026-H1, 2026-03 or 2026-01-01..2026-03-31`,
  });
  return undefined;
}

/** One figure in both periods; `change` is current − baseline (null when either is). */
export interface FigureChange {
  /** `deliveries`, `participants`, `completion_rate`, `active_trainers`, … */
  measure: string;
  /** What it is of: a competency code for `active_trainers`, empty otherwise. */
  subject: string;
  current: number | null;
  baseline: number | null;
  change: number | null;
}

export interface BaselineReport {
  kind: "concordat.baseline/1";
  generatedAt: string;
  period: Period;
  against: Period;
  changes: {
    federation: FigureChange[];
    hubs: Array<{ hub: string; name: string; figures: FigureChange[] }>;
  };
  /** Each period's full coverage report, with the checkpoints it was computed from. */
  current: CoverageReport;
  baseline: CoverageReport;
}

const round = (x: number) => Math.round(x * 1000) / 1000;
const rate = (part: number, whole: number): number | null => (whole === 0 ? null : round(part / whole));

function figure(measure: string, subject: string, current: number | null, baseline: number | null): FigureChange {
  return {
    measure,
    subject,
    current,
    baseline,
    change: current === null || baseline === null ? null : round(current - baseline),
  };
}

/** The figures of one hub, or of the federation (all hubs summed), in one period. */
function figuresOf(hubs: readonly HubCoverage[]): Map<string, number | null> {
  const sum = (f: (h: HubCoverage) => number) => hubs.reduce((s, h) => s + f(h), 0);
  const out = new Map<string, number | null>();
  const participants = sum((h) => h.deliveries.participants);
  out.set(
    "deliveries|",
    sum((h) => h.deliveries.count),
  );
  out.set("participants|", participants);
  out.set(
    "female|",
    sum((h) => h.deliveries.female),
  );
  out.set(
    "male|",
    sum((h) => h.deliveries.male),
  );
  out.set(
    "completed|",
    sum((h) => h.deliveries.completed),
  );
  out.set(
    "passed|",
    sum((h) => h.deliveries.passed),
  );
  out.set(
    "completion_rate|",
    rate(
      sum((h) => h.deliveries.completed),
      participants,
    ),
  );
  out.set(
    "pass_rate|",
    rate(
      sum((h) => h.deliveries.passed),
      participants,
    ),
  );
  const codes = [...new Set(hubs.flatMap((h) => h.competencies.map((c) => c.code)))].sort();
  for (const code of codes)
    out.set(
      `active_trainers|${code}`,
      sum((h) => h.competencies.find((c) => c.code === code)?.activeTrainers ?? 0),
    );
  return out;
}

function changes(current: Map<string, number | null>, baseline: Map<string, number | null>): FigureChange[] {
  const keys = [...new Set([...current.keys(), ...baseline.keys()])];
  return keys.map((k) => {
    const [measure, subject] = k.split("|") as [string, string];
    return figure(
      measure,
      subject,
      current.get(k) ?? (measure.endsWith("_rate") ? null : 0),
      baseline.get(k) ?? (measure.endsWith("_rate") ? null : 0),
    );
  });
}

/** Compares two coverage reports of the same state: per hub and for the whole federation. */
export function compareBaseline(
  current: CoverageReport,
  baseline: CoverageReport,
  labels: { period: string; against: string },
): BaselineReport {
  const federation = changes(figuresOf(current.hubs), figuresOf(baseline.hubs));
  federation.push(
    figure("gaps_no_active_trainer", "", current.gaps.noActiveTrainer.length, baseline.gaps.noActiveTrainer.length),
  );
  const hubIds = [...new Set([...current.hubs.map((h) => h.hub), ...baseline.hubs.map((h) => h.hub)])].sort();
  return {
    kind: "concordat.baseline/1",
    generatedAt: current.generatedAt,
    period: { label: labels.period, from: current.period.from, to: current.period.to },
    against: { label: labels.against, from: baseline.period.from, to: baseline.period.to },
    changes: {
      federation,
      hubs: hubIds.map((hub) => {
        const c = current.hubs.filter((h) => h.hub === hub);
        const b = baseline.hubs.filter((h) => h.hub === hub);
        return { hub, name: ((c[0] ?? b[0]) as HubCoverage).name, figures: changes(figuresOf(c), figuresOf(b)) };
      }),
    },
    current,
    baseline,
  };
}
