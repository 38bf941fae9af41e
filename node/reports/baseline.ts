import type { Period } from "../deliveries/index.js";
import type { CoverageReport, HubCoverage } from "./coverage.js";

export { parsePeriod, type Period } from "../deliveries/index.js";

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
  // The four levels of evaluation (coverage.ts): means weighted by their counts, as one report would.
  const responses = sum((h) => h.evaluation.reaction.responses);
  out.set(
    "reaction_mean_score|",
    weighted(hubs, (h) => [h.evaluation.reaction.meanScore, h.evaluation.reaction.responses]),
  );
  out.set("reaction_responses|", responses);
  const prePost = (h: HubCoverage) => h.evaluation.learning.prePost;
  out.set(
    "learning_assessed|",
    sum((h) => prePost(h).assessed),
  );
  out.set(
    "learning_gain|",
    weighted(hubs, (h) => [prePost(h).gain, prePost(h).assessed]),
  );
  out.set(
    "follow_ups_overdue|",
    sum((h) => h.evaluation.behaviour.overdue),
  );
  out.set(
    "application_rate|",
    rate(
      sum((h) => h.evaluation.behaviour.applying),
      sum((h) => h.evaluation.behaviour.reached),
    ),
  );
  const assessed = new Map<string, { assessed: number; demonstrated: number }>();
  for (const h of hubs)
    for (const a of h.evaluation.learning.assessments) {
      const key = `${a.code}/${a.method}`;
      const f = assessed.get(key) ?? { assessed: 0, demonstrated: 0 };
      f.assessed += a.assessed;
      f.demonstrated += a.demonstrated;
      assessed.set(key, f);
    }
  for (const [key, f] of [...assessed].sort(([a], [b]) => (a < b ? -1 : 1))) {
    out.set(`assessed|${key}`, f.assessed);
    out.set(`demonstrated_rate|${key}`, rate(f.demonstrated, f.assessed));
  }
  // Indicators are a hub's own figures (their units differ between hubs): only in a hub's comparison.
  if (hubs.length === 1)
    for (const r of (hubs[0] as HubCoverage).evaluation.results)
      out.set(`indicator|${r.indicator}`, (out.get(`indicator|${r.indicator}`) ?? 0) + r.value);
  const codes = [...new Set(hubs.flatMap((h) => h.competencies.map((c) => c.code)))].sort();
  for (const code of codes)
    out.set(
      `active_trainers|${code}`,
      sum((h) => h.competencies.find((c) => c.code === code)?.activeTrainers ?? 0),
    );
  return out;
}

/** The mean of `value`s weighted by their counts (null when no count). */
function weighted(hubs: readonly HubCoverage[], of: (h: HubCoverage) => [number | null, number]): number | null {
  let total = 0;
  let weight = 0;
  for (const h of hubs) {
    const [value, count] = of(h);
    if (value === null || count === 0) continue;
    total += value * count;
    weight += count;
  }
  return weight === 0 ? null : Math.round((total / weight) * 10) / 10;
}

/** A figure in one period; one the period lacks is 0 for a count, null for a rate or a mean. */
function valueIn(figures: Map<string, number | null>, key: string, measure: string): number | null {
  if (figures.has(key)) return figures.get(key) ?? null;
  return measure.endsWith("_rate") || measure.endsWith("_score") || measure.endsWith("_gain") ? null : 0;
}

function changes(current: Map<string, number | null>, baseline: Map<string, number | null>): FigureChange[] {
  const keys = [...new Set([...current.keys(), ...baseline.keys()])];
  return keys.map((k) => {
    const [measure, subject] = k.split("|") as [string, string];
    return figure(measure, subject, valueIn(current, k, measure), valueIn(baseline, k, measure));
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
