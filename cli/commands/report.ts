import { readFile, writeFile } from "node:fs/promises";
import { decodeBundle } from "../../node/audit/bundle.js";
import { PEER_ID_PATTERN } from "../../node/federation/index.js";
import { verifyReport, type BaselineReport, type CoverageReport, type FigureChange } from "../../node/reports/index.js";
import { withConnection, type ConnectionOptions } from "../connection.js";
import { CliError, ExitCode } from "../errors.js";
import { printJson, printLine, printTable, type Io } from "../io.js";
import { formatRate, renderReportHtml } from "../report-html.js";
import { baselineRows, coverageRows, csvText, reportJson } from "../report-rows.js";

export { baselineRows, coverageRows };

/** Where a report goes besides the terminal. */
export interface ReportOutputs {
  csv?: string;
  out?: string;
  html?: string;
}

export interface CoverageOptions extends ConnectionOptions, ReportOutputs {
  from: string;
  to: string;
  public?: boolean;
}

export interface BaselineOptions extends ConnectionOptions, ReportOutputs {
  period: string;
  against: string;
  public?: boolean;
}

const pct = (x: number | null) => (x === null ? "–" : `${Math.round(x * 100)}%`);

async function writeOutput(file: string, text: string): Promise<void> {
  await writeFile(file, text).catch((error: NodeJS.ErrnoException) => {
    throw new CliError(`cannot write '${file}': ${error.code ?? error.message}`, ExitCode.Failure);
  });
}

async function writeOutputs(
  o: ReportOutputs,
  report: CoverageReport | BaselineReport,
  rows: string[][],
): Promise<void> {
  if (o.out) await writeOutput(o.out, reportJson(report));
  if (o.csv) await writeOutput(o.csv, csvText(rows));
  if (o.html) await writeOutput(o.html, renderReportHtml(report));
}

/** `report coverage`: per hub and competency, and the gaps; a table, --json, --csv, --html or --out FILE. */
export async function reportCoverageCommand(options: CoverageOptions, io: Io): Promise<void> {
  const result = await withConnection(options, (c) =>
    c.reports.coverageReport(
      { from: options.from, to: options.to, publicOnly: options.public ?? false },
      { deadlineMs: 120_000 },
    ),
  );
  const report = JSON.parse(result.json) as CoverageReport;
  await writeOutputs(options, report, coverageRows(report));
  if (io.json) {
    printJson(io, report);
    return;
  }
  printCoverage(io, report);
}

function printCoverage(io: Io, report: CoverageReport): void {
  printLine(
    io,
    `Coverage ${report.period.from} – ${report.period.to}${report.publicOnly ? " (public only)" : ""}; latest core release ${report.latestRelease ?? "none"}`,
  );
  printTable(
    io,
    [
      "hub",
      "trainers",
      "release",
      "deliveries",
      "participants (f/m/u)",
      "completed",
      "passed",
      "awaiting review",
      "never delivered",
    ],
    report.hubs.map((h) => [
      h.hub,
      String(h.trainers),
      `${h.adoptedRelease ?? "none"}${h.behindLatest ? " (behind)" : ""}`,
      String(h.deliveries.count),
      `${h.deliveries.participants} (${h.deliveries.female}/${h.deliveries.male}/${h.deliveries.unspecified})`,
      pct(h.deliveries.completionRate),
      pct(h.deliveries.passRate),
      String(h.adaptationsAwaitingReview.length),
      String(h.modulesNeverDelivered.length),
    ]),
  );
  const codes = [...new Set(report.hubs.flatMap((h) => h.competencies.map((c) => c.code)))];
  if (codes.length > 0) {
    printTable(
      io,
      ["active trainers (expiring in 90 days)", ...codes],
      report.hubs.map((h) => [
        h.hub,
        ...codes.map((code) => {
          const c = h.competencies.find((x) => x.code === code);
          return c ? `${c.activeTrainers}${c.expiringWithin90Days > 0 ? ` (${c.expiringWithin90Days})` : ""}` : "";
        }),
      ]),
    );
  }
  printEvaluation(io, report);
  const g = report.gaps;
  printLine(io, "Gaps:");
  printLine(
    io,
    `  no active trainer   ${g.noActiveTrainer.length === 0 ? "none" : g.noActiveTrainer.map((x) => `${x.code} in ${x.region}`).join(", ")}`,
  );
  printLine(
    io,
    `  expiring (90 days)  ${g.expiring.length === 0 ? "none" : g.expiring.map((x) => `${x.hub} ${x.competency}: ${x.count}`).join(", ")}`,
  );
  printLine(
    io,
    `  awaiting review     ${g.awaitingReview.length === 0 ? "none" : g.awaitingReview.map((x) => `${x.hub} ${x.adaptation}`).join(", ")}`,
  );
  printLine(
    io,
    `  behind the release  ${g.behindRelease.length === 0 ? "none" : g.behindRelease.map((x) => `${x.hub} (${x.adopted ?? "none"})`).join(", ")}`,
  );
  printLine(
    io,
    `  never delivered     ${g.neverDelivered.length === 0 ? "none" : g.neverDelivered.map((x) => `${x.hub} ${x.module}`).join(", ")}`,
  );
  printLine(
    io,
    `  follow-ups overdue  ${g.followUpsOverdue.length === 0 ? "none" : g.followUpsOverdue.map((x) => `${x.hub}: ${x.count}`).join(", ")}`,
  );
  printLine(
    io,
    `Computed from charter seq ${report.sources.charter.checkpoint.seq}, core release(s) ${report.sources.releases.map((s) => s.checkpoint.version).join(", ") || "none"}, and ${report.sources.documents.length} signed document(s):`,
  );
  // Every signed document counted above, by its hub (the sum is the count): also the hubs the table
  // leaves out, such as a secretariat with no trainers or deliveries of its own.
  const byHub = new Map<string, { count: number; newest: string }>();
  for (const d of report.sources.documents) {
    const entry = byHub.get(d.hub) ?? { count: 0, newest: "" };
    entry.count += 1;
    if (d.checkpoint.time > entry.newest) entry.newest = d.checkpoint.time;
    byHub.set(d.hub, entry);
  }
  const inTable = new Set(report.hubs.map((h) => h.hub));
  for (const [hub, e] of byHub) {
    printLine(
      io,
      `  ${hub}: ${e.count} document(s), newest checkpoint ${e.newest || "none"}${inTable.has(hub) ? "" : " (not in the table: no trainers or deliveries of its own)"}`,
    );
  }
}

const num = (x: number | null) => (x === null ? "–" : String(x));

/** The four levels of evaluation: a table per hub, pass rates per competency and method, and what compares. */
function printEvaluation(io: Io, report: CoverageReport): void {
  printLine(io, "Evaluation (docs/evaluation.md):");
  printTable(
    io,
    ["hub", "1 reaction (responses)", "2 learning pre → post (n)", "3 applying / reached", "3 overdue", "4 indicators"],
    report.hubs.map((h) => {
      const e = h.evaluation;
      const p = e.learning.prePost;
      return [
        h.hub,
        e.reaction.responses === 0 ? "–" : `${num(e.reaction.meanScore)} (${e.reaction.responses})`,
        p.assessed === 0 ? "–" : `${num(p.preMean)} → ${num(p.postMean)} (${p.assessed})`,
        e.behaviour.reached === 0
          ? "–"
          : `${e.behaviour.applying} / ${e.behaviour.reached} (${pct(e.behaviour.applicationRate)})`,
        String(e.behaviour.overdue),
        e.results.length === 0 ? "–" : e.results.map((r) => `${r.indicator} ${r.value} ${r.unit}`).join("; "),
      ];
    }),
  );
  const rows = report.hubs.flatMap((h) =>
    h.evaluation.learning.assessments.map((a) => [
      h.hub,
      a.code,
      a.method,
      String(a.assessed),
      String(a.demonstrated),
      pct(a.rate),
    ]),
  );
  if (rows.length > 0) {
    printTable(
      io,
      ["assessed", "competency", "method", "assessed", "demonstrated", "rate"],
      [
        ...rows,
        ...report.evaluation.assessments.map((a) => [
          "all hubs",
          a.code,
          a.method,
          String(a.assessed),
          String(a.demonstrated),
          pct(a.rate),
        ]),
      ],
    );
  }
  for (const c of report.evaluation.comparability)
    printLine(io, `  ${c.comparable ? "comparable" : "note"}: ${c.note}`);
  for (const a of report.audits) {
    printLine(
      io,
      `Audit ${a.id} (${a.period.from} – ${a.period.to}, ${a.perHub} per hub)${a.seedProblem ? `: ${a.seedProblem}` : `, seeded by the secretariat's checkpoint seq ${a.seed?.seq ?? "?"}`}:`,
    );
    printTable(
      io,
      ["hub", "sampled", "audited", "confirmed", "disputed"],
      a.hubs.map((h) => [h.hub, String(h.sampled), String(h.audited), String(h.confirmed), String(h.disputed)]),
    );
    for (const f of a.rejectedFindings)
      printLine(
        io,
        `  not counted: ${f.evaluator}'s finding on ${f.hub}/${f.delivery} (stored by ${f.storedBy}): ${f.problem}`,
      );
  }
}

/** `report baseline --period P --against Q`: every figure in both periods, and the change. */
export async function reportBaselineCommand(options: BaselineOptions, io: Io): Promise<void> {
  const result = await withConnection(options, (c) =>
    c.reports.baselineReport(
      { period: options.period, against: options.against, publicOnly: options.public ?? false },
      { deadlineMs: 120_000 },
    ),
  );
  const report = JSON.parse(result.json) as BaselineReport;
  await writeOutputs(options, report, baselineRows(report));
  if (io.json) {
    printJson(io, report);
    return;
  }
  const fmt = (c: FigureChange, v: number | null) =>
    v === null ? "–" : c.measure.endsWith("_rate") ? formatRate(v) : String(v);
  const change = (c: FigureChange) =>
    c.change === null
      ? "–"
      : `${c.change > 0 ? "+" : ""}${c.measure.endsWith("_rate") ? `${(c.change * 100).toFixed(1)} pts` : c.change}`;
  const rows = (scope: string, figures: FigureChange[]) =>
    figures.map((c) => [
      scope,
      `${c.measure.replace(/_/g, " ")}${c.subject ? ` ${c.subject}` : ""}`,
      fmt(c, c.current),
      fmt(c, c.baseline),
      change(c),
    ]);
  printLine(
    io,
    `Baseline: ${report.period.label} (${report.period.from} – ${report.period.to}) against ${report.against.label} (${report.against.from} – ${report.against.to})${report.current.publicOnly ? ", public only" : ""}`,
  );
  // Per hub, figures that are nothing in both periods are left out of the table (--json and --csv have them all).
  const nothing = (c: FigureChange) =>
    (c.current === 0 || c.current === null) && (c.baseline === 0 || c.baseline === null);
  const quiet = report.changes.hubs.filter((h) => h.figures.every(nothing)).map((h) => h.hub);
  printTable(
    io,
    ["scope", "figure", report.period.label, report.against.label, "change"],
    [
      ...rows("federation", report.changes.federation),
      ...report.changes.hubs.flatMap((h) =>
        rows(
          h.hub,
          h.figures.filter((c) => !nothing(c)),
        ),
      ),
    ],
  );
  if (quiet.length > 0) printLine(io, `Nothing in either period: ${quiet.join(", ")}`);
}

/**
 * `report verify FILE --bundle BUNDLE --trust-anchor PEER_ID`: offline, no node. Recomputes a JSON
 * report from an audit bundle at the checkpoints it names; exits 1 on any difference.
 */
export async function reportVerifyCommand(
  options: { file: string; bundle: string; trustAnchor: string },
  io: Io,
): Promise<void> {
  if (!PEER_ID_PATTERN.test(options.trustAnchor))
    throw new CliError(`--trust-anchor '${options.trustAnchor}' is not an Ed25519 peer id (12D3KooW…)`, ExitCode.Usage);
  const read = (file: string) =>
    readFile(file).catch((error: NodeJS.ErrnoException) => {
      throw new CliError(`cannot read '${file}': ${error.code ?? error.message}`, ExitCode.Usage);
    });
  let report: unknown;
  try {
    report = JSON.parse((await read(options.file)).toString("utf8")) as unknown;
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(
      `${options.file} is not JSON (write the report with --out FILE or --json): ${(error as Error).message}`,
      ExitCode.Failure,
    );
  }
  let bundle: unknown;
  try {
    bundle = decodeBundle(new Uint8Array(await read(options.bundle)));
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(`${options.bundle}: ${(error as Error).message}`, ExitCode.Failure);
  }
  const started = performance.now();
  const result = await verifyReport(report, bundle, options.trustAnchor);
  const ms = Math.round(performance.now() - started);
  if (io.json) printJson(io, { ...result, milliseconds: ms });
  else {
    printLine(io, `${result.ok ? "CONFIRMED" : "NOT CONFIRMED"}: ${options.file} (${result.kind || "unknown kind"})`);
    printLine(
      io,
      `  bundle       ${options.bundle}: ${result.bundle.ok ? "verified" : "does not verify"} (${result.bundle.documents} documents, ${result.bundle.checkpoints} checkpoints)`,
    );
    printLine(io, `  sources      ${result.sources} checkpoint(s) the report names, checked against the bundle`);
    printLine(io, `  figures      ${result.figures} value(s) recomputed and compared`);
    printLine(io, `  took         ${ms} ms`);
    for (const failure of result.failures) printLine(io, `  ✗ ${failure}`);
  }
  if (!result.ok)
    throw new CliError(
      `${options.file} is not confirmed by ${options.bundle}: ${result.failures.length} problem(s)`,
      ExitCode.Failure,
    );
}
