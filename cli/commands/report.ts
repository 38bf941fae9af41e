import { writeFile } from "node:fs/promises";
import { stringify } from "csv-stringify/sync";
import type { CoverageReport } from "../../node/reports/index.js";
import { call, withConnection, type ConnectionOptions } from "../connection.js";
import { CliError, ExitCode } from "../errors.js";
import { printJson, printLine, printTable, type Io } from "../io.js";

export interface CoverageOptions extends ConnectionOptions {
  from: string;
  to: string;
  public?: boolean;
  csv?: string;
  out?: string;
}

const pct = (x: number | null) => (x === null ? "–" : `${Math.round(x * 100)}%`);

/** The report in long form, one figure per row: section, hub, subject, measure, value. */
export function coverageRows(r: CoverageReport): string[][] {
  const rows: string[][] = [["section", "hub", "subject", "measure", "value"]];
  for (const h of r.hubs) {
    rows.push(["hub", h.hub, "", "trainers", String(h.trainers)], ["hub", h.hub, "", "adopted_release", h.adoptedRelease ?? ""]);
    for (const c of h.competencies) {
      rows.push(["competency", h.hub, c.competency, "active_trainers", String(c.activeTrainers)], ["competency", h.hub, c.competency, "expiring_within_90_days", String(c.expiringWithin90Days)]);
    }
    for (const [k, v] of Object.entries(h.deliveries)) rows.push(["deliveries", h.hub, "", k.replace(/[A-Z]/g, (m) => `_${m.toLowerCase()}`), v === null ? "" : String(v)]);
    for (const m of h.adaptedModules) rows.push(["adapted_module", h.hub, m, "release", h.adoptedRelease ?? ""]);
  }
  for (const g of r.gaps.noActiveTrainer) rows.push(["gap:no_active_trainer", "", g.competency, "region", g.region]);
  for (const g of r.gaps.expiring) rows.push(["gap:expiring", g.hub, g.competency, "count", String(g.count)]);
  for (const g of r.gaps.awaitingReview) rows.push(["gap:awaiting_review", g.hub, g.adaptation, "", ""]);
  for (const g of r.gaps.behindRelease) rows.push(["gap:behind_release", g.hub, g.adopted ?? "", "latest", g.latest]);
  for (const g of r.gaps.neverDelivered) rows.push(["gap:never_delivered", g.hub, g.module, "", ""]);
  return rows;
}

/** `report coverage`: per hub and competency, and the gaps; a table, --json or --csv FILE. */
export async function reportCoverageCommand(options: CoverageOptions, io: Io): Promise<void> {
  const result = await withConnection(options, (c) => call(c, c.reports.coverageReport.bind(c.reports), { from: options.from, to: options.to, publicOnly: options.public ?? false }, 120_000));
  const report = JSON.parse(result.json) as CoverageReport;
  if (options.out) await writeFile(options.out, `${JSON.stringify(report, null, 2)}\n`);
  if (options.csv) {
    await writeFile(options.csv, stringify(coverageRows(report))).catch((error: NodeJS.ErrnoException) => {
      throw new CliError(`cannot write '${options.csv}': ${error.code ?? error.message}`, ExitCode.Failure);
    });
  }
  if (io.json) {
    printJson(io, report);
    return;
  }
  printLine(io, `Coverage ${report.period.from} – ${report.period.to}${report.publicOnly ? " (public only)" : ""}; latest core release ${report.latestRelease ?? "none"}`);
  printTable(
    io,
    ["hub", "trainers", "release", "deliveries", "participants (f/m/u)", "completed", "passed", "awaiting review", "never delivered"],
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
      report.hubs.map((h) => [h.hub, ...codes.map((code) => {
        const c = h.competencies.find((x) => x.code === code);
        return c ? `${c.activeTrainers}${c.expiringWithin90Days > 0 ? ` (${c.expiringWithin90Days})` : ""}` : "";
      })]),
    );
  }
  const g = report.gaps;
  printLine(io, "Gaps:");
  printLine(io, `  no active trainer   ${g.noActiveTrainer.length === 0 ? "none" : g.noActiveTrainer.map((x) => `${x.code} in ${x.region}`).join(", ")}`);
  printLine(io, `  expiring (90 days)  ${g.expiring.length === 0 ? "none" : g.expiring.map((x) => `${x.hub} ${x.competency}: ${x.count}`).join(", ")}`);
  printLine(io, `  awaiting review     ${g.awaitingReview.length === 0 ? "none" : g.awaitingReview.map((x) => `${x.hub} ${x.adaptation}`).join(", ")}`);
  printLine(io, `  behind the release  ${g.behindRelease.length === 0 ? "none" : g.behindRelease.map((x) => `${x.hub} (${x.adopted ?? "none"})`).join(", ")}`);
  printLine(io, `  never delivered     ${g.neverDelivered.length === 0 ? "none" : g.neverDelivered.map((x) => `${x.hub} ${x.module}`).join(", ")}`);
  for (const h of report.hubs) printLine(io, `  ${h.hub}: from ${h.checkpoints.length} signed document(s), newest checkpoint ${h.checkpoints.reduce((m, c) => (c.time > m ? c.time : m), "") || "none"}`);
}
