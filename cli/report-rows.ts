/**
 * A report in long form (one figure per row) and as CSV: what `concordat report coverage|baseline
 * --csv FILE` writes and what the web console downloads, from this one module. It imports nothing:
 * the console bundles it for the browser. The shapes below are what the rows and the charts read of
 * a report; node/reports' CoverageReport and BaselineReport have all of it (the CLI passes them in,
 * so the compiler checks that they still do).
 */

/** What the rows, the charts and the console read of a coverage report (node/reports' CoverageReport). */
export interface CoverageFigures {
  kind: "concordat.coverage/1";
  generatedAt: string;
  period: { from: string; to: string };
  latestRelease: string | null;
  publicOnly: boolean;
  hubs: Array<{
    hub: string;
    name: string;
    trainers: number;
    competencies: Array<{ competency: string; code: string; activeTrainers: number; expiringWithin90Days: number }>;
    adoptedRelease: string | null;
    behindLatest: boolean;
    adaptedModules: string[];
    adaptationsAwaitingReview: string[];
    deliveries: {
      count: number;
      participants: number;
      female: number;
      male: number;
      unspecified: number;
      completed: number;
      passed: number;
      completionRate: number | null;
      passRate: number | null;
    };
    modulesNeverDelivered: string[];
    evaluation: EvaluationFigures;
    /** Absent in reports made before the grievance register. */
    grievances?: GrievanceFiguresRow;
  }>;
  audits: Array<{
    id: string;
    period: { from: string; to: string };
    perHub: number;
    seed: { seq: number; time: string } | null;
    seedProblem: string | null;
    hubs: Array<{ hub: string; sampled: number; audited: number; confirmed: number; disputed: number }>;
    rejectedFindings: Array<{ storedBy: string; evaluator: string; hub: string; delivery: string; problem: string }>;
  }>;
  /** Signed annual plans beside deliveries, per hub, module and quarter (absent in reports made before plans). */
  planVsActual?: Array<{
    hub: string;
    year: number;
    quarter: number;
    module: string;
    planned: number;
    actual: number;
    difference: number;
    planVersion: number;
  }>;
  evaluation: {
    assessments: AssessmentRow[];
    comparability: Array<{
      level: string;
      comparable: boolean;
      instruments: Array<{ instrument: string; hubs: string[] }>;
      note: string;
    }>;
  };
  gaps: {
    noActiveTrainer: Array<{ competency: string; code: string; region: string }>;
    expiring: Array<{ hub: string; competency: string; count: number }>;
    awaitingReview: Array<{ hub: string; adaptation: string }>;
    behindRelease: Array<{ hub: string; adopted: string | null; latest: string }>;
    neverDelivered: Array<{ hub: string; module: string }>;
    followUpsOverdue: Array<{ hub: string; count: number }>;
  };
  sources: {
    charter: { checkpoint: { seq: number; time: string } };
    releases: Array<{ checkpoint: { version?: string } }>;
    documents: Array<{ hub: string; type: string; checkpoint: { seq: number; time: string } }>;
  };
}

/** One competency assessed by one method (node/reports' AssessmentFigures). */
export interface AssessmentRow {
  competency: string;
  code: string;
  method: string;
  assessed: number;
  demonstrated: number;
  rate: number | null;
}

/** A hub's evaluation at the four levels (node/reports' HubEvaluation). */
export interface EvaluationFigures {
  reaction: { deliveries: number; responses: number; meanScore: number | null; instruments: string[] };
  learning: {
    assessments: AssessmentRow[];
    prePost: {
      deliveries: number;
      assessed: number;
      preMean: number | null;
      postMean: number | null;
      gain: number | null;
      instruments: string[];
    };
  };
  behaviour: {
    expected: number;
    followedUp: number;
    overdue: number;
    followUps: number;
    reached: number;
    applying: number;
    applicationRate: number | null;
    instruments: string[];
  };
  results: Array<{ indicator: string; from: string; to: string; value: number; unit: string; source: string }>;
}

/** A hub's grievance figures (node/grievances' GrievanceFigures): counts and days, never a person. */
export interface GrievanceFiguresRow {
  at: string;
  total: number;
  byCategory: Record<string, number>;
  bySource: Record<string, number>;
  byStatus: Record<string, number>;
  byOutcome: Record<string, number>;
  open: number;
  overdue: { acknowledgement: number; resolution: number };
  late: { acknowledgement: number; resolution: number };
  daysToResolution: { resolved: number; median: number | null; max: number | null };
}

/** A hub's grievance figures, one per row (section `grievances`; subject `category:…`, `outcome:…`). */
export function grievanceRows(hub: string, g: GrievanceFiguresRow): string[][] {
  const d = g.daysToResolution;
  return [
    ["grievances", hub, "", "received", String(g.total)],
    ["grievances", hub, "", "open", String(g.open)],
    ["grievances", hub, "", "overdue_acknowledgement", String(g.overdue.acknowledgement)],
    ["grievances", hub, "", "overdue_resolution", String(g.overdue.resolution)],
    ["grievances", hub, "", "resolved", String(d.resolved)],
    ["grievances", hub, "", "median_days_to_resolution", d.median === null ? "" : String(d.median)],
    ["grievances", hub, "", "max_days_to_resolution", d.max === null ? "" : String(d.max)],
    ...Object.entries(g.byCategory).map(([k, v]) => ["grievances", hub, `category:${k}`, "count", String(v)]),
    ...Object.entries(g.byOutcome).map(([k, v]) => ["grievances", hub, `outcome:${k}`, "count", String(v)]),
  ];
}

/** One figure in both periods (node/reports' FigureChange). */
export interface FigureChangeRow {
  measure: string;
  subject: string;
  current: number | null;
  baseline: number | null;
  change: number | null;
}

/** What the rows, the charts and the console read of a baseline comparison (node/reports' BaselineReport). */
export interface BaselineFigures {
  kind: "concordat.baseline/1";
  generatedAt: string;
  period: { label: string; from: string; to: string };
  against: { label: string; from: string; to: string };
  changes: {
    federation: FigureChangeRow[];
    hubs: Array<{ hub: string; name: string; figures: FigureChangeRow[] }>;
  };
  current: CoverageFigures;
  baseline: CoverageFigures;
}

const snake = (k: string) => k.replace(/[A-Z]/g, (m) => `_${m.toLowerCase()}`);

/** The report in long form, one figure per row: section, hub, subject, measure, value. */
export function coverageRows(r: CoverageFigures): string[][] {
  const rows: string[][] = [["section", "hub", "subject", "measure", "value"]];
  for (const h of r.hubs) {
    rows.push(
      ["hub", h.hub, "", "trainers", String(h.trainers)],
      ["hub", h.hub, "", "adopted_release", h.adoptedRelease ?? ""],
    );
    for (const c of h.competencies) {
      rows.push(
        ["competency", h.hub, c.competency, "active_trainers", String(c.activeTrainers)],
        ["competency", h.hub, c.competency, "expiring_within_90_days", String(c.expiringWithin90Days)],
      );
    }
    for (const [k, v] of Object.entries(h.deliveries))
      rows.push(["deliveries", h.hub, "", snake(k), v === null ? "" : String(v)]);
    for (const m of h.adaptedModules) rows.push(["adapted_module", h.hub, m, "release", h.adoptedRelease ?? ""]);
    rows.push(...evaluationRows(h.hub, h.evaluation));
    if (h.grievances) rows.push(...grievanceRows(h.hub, h.grievances));
  }
  for (const a of r.evaluation.assessments) rows.push(...assessmentRows("", a));
  for (const c of r.evaluation.comparability)
    rows.push(["comparability", "", c.level, "comparable", c.comparable ? "yes" : "no"]);
  for (const a of r.audits) {
    for (const h of a.hubs)
      for (const measure of ["sampled", "audited", "confirmed", "disputed"] as const)
        rows.push([`audit:${a.id}`, h.hub, "", measure, String(h[measure])]);
    rows.push([`audit:${a.id}`, "", "", "findings_not_counted", String(a.rejectedFindings.length)]);
  }
  for (const p of r.planVsActual ?? [])
    for (const measure of ["planned", "actual", "difference"] as const)
      rows.push([`plan:${p.year}-Q${p.quarter}`, p.hub, p.module, measure, String(p[measure])]);
  for (const g of r.gaps.noActiveTrainer) rows.push(["gap:no_active_trainer", "", g.competency, "region", g.region]);
  for (const g of r.gaps.expiring) rows.push(["gap:expiring", g.hub, g.competency, "count", String(g.count)]);
  for (const g of r.gaps.awaitingReview) rows.push(["gap:awaiting_review", g.hub, g.adaptation, "", ""]);
  for (const g of r.gaps.behindRelease) rows.push(["gap:behind_release", g.hub, g.adopted ?? "", "latest", g.latest]);
  for (const g of r.gaps.neverDelivered) rows.push(["gap:never_delivered", g.hub, g.module, "", ""]);
  for (const g of r.gaps.followUpsOverdue) rows.push(["gap:follow_ups_overdue", g.hub, "", "count", String(g.count)]);
  return rows;
}

const cell = (v: number | null) => (v === null ? "" : String(v));

function assessmentRows(hub: string, a: AssessmentRow): string[][] {
  const subject = `${a.competency}/${a.method}`;
  return [
    ["assessment", hub, subject, "assessed", String(a.assessed)],
    ["assessment", hub, subject, "demonstrated", String(a.demonstrated)],
    ["assessment", hub, subject, "rate", cell(a.rate)],
  ];
}

/** A hub's four levels, one figure per row (section level1…level4, and assessment). */
function evaluationRows(hub: string, e: EvaluationFigures): string[][] {
  const p = e.learning.prePost;
  const b = e.behaviour;
  return [
    ["level1_reaction", hub, "", "responses", String(e.reaction.responses)],
    ["level1_reaction", hub, "", "mean_score", cell(e.reaction.meanScore)],
    ["level1_reaction", hub, "", "instruments", e.reaction.instruments.join(" ")],
    ...e.learning.assessments.flatMap((a) => assessmentRows(hub, a)),
    ["level2_learning", hub, "", "assessed_pre_post", String(p.assessed)],
    ["level2_learning", hub, "", "pre_mean", cell(p.preMean)],
    ["level2_learning", hub, "", "post_mean", cell(p.postMean)],
    ["level2_learning", hub, "", "gain", cell(p.gain)],
    ["level2_learning", hub, "", "instruments", p.instruments.join(" ")],
    ["level3_behaviour", hub, "", "follow_ups_expected", String(b.expected)],
    ["level3_behaviour", hub, "", "followed_up", String(b.followedUp)],
    ["level3_behaviour", hub, "", "overdue", String(b.overdue)],
    ["level3_behaviour", hub, "", "reached", String(b.reached)],
    ["level3_behaviour", hub, "", "applying", String(b.applying)],
    ["level3_behaviour", hub, "", "application_rate", cell(b.applicationRate)],
    ["level3_behaviour", hub, "", "instruments", b.instruments.join(" ")],
    ...e.results.map((r) => ["level4_results", hub, `${r.indicator} ${r.from}..${r.to}`, r.unit, String(r.value)]),
  ];
}

/** A baseline in long form: scope (federation or hub), hub, subject, measure, current, baseline, change. */
export function baselineRows(b: BaselineFigures): string[][] {
  const rows: string[][] = [["scope", "hub", "subject", "measure", b.period.label, b.against.label, "change"]];
  const row = (scope: string, hub: string, c: FigureChangeRow) => [
    scope,
    hub,
    c.subject,
    c.measure,
    ...[c.current, c.baseline, c.change].map((v) => (v === null ? "" : String(v))),
  ];
  for (const c of b.changes.federation) rows.push(row("federation", "", c));
  for (const h of b.changes.hubs) for (const c of h.figures) rows.push(row("hub", h.hub, c));
  return rows;
}

/** A report's rows, whichever kind it is. */
export function reportRows(report: CoverageFigures | BaselineFigures): string[][] {
  return report.kind === "concordat.baseline/1" ? baselineRows(report) : coverageRows(report);
}

/**
 * Rows as CSV (RFC 4180 quoting, "\n" after every row): a field holding a comma, a quote or a line
 * break is quoted, its quotes doubled; nothing else is. The same text csv-stringify's defaults give
 * (test/console/reports.test.ts compares them), without its Node-only Buffer, so a browser can run it.
 */
export function csvText(rows: readonly (readonly string[])[]): string {
  const field = (v: string) => (/[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
  return rows.map((row) => `${row.map(field).join(",")}\n`).join("");
}

/** The JSON file of a report, as `--out FILE` writes it (what `report verify` checks). */
export function reportJson(report: unknown): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}
