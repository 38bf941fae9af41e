/** `concordat report …`: federation-wide reports, computed from what every hub signed. */
import type { Command } from "commander";
import { reportBaselineCommand, reportCoverageCommand, reportVerifyCommand } from "../commands/report.js";
import { action } from "./action.js";

export function registerReports(program: Command): void {
  const report = program.command("report").description("federation-wide reports, computed from what every hub signed");
  report
    .command("coverage")
    .description("per hub and competency: active and expiring accreditations, adaptations, deliveries; and the gaps")
    .requiredOption("--from <date>", "YYYY-MM-DD: deliveries counted from")
    .requiredOption("--to <date>", "YYYY-MM-DD")
    .option("--public", "leave out everything marked internal")
    .option("--csv <file>", "also write the figures as CSV (one per row)")
    .option("--html <file>", "also write a self-contained HTML page with charts (opens offline)")
    .option("--out <file>", "also write the report as JSON (what `report verify` checks)")
    .action(action(reportCoverageCommand));
  report
    .command("baseline")
    .description("compare two periods: every figure of the coverage report in both, and the change")
    .requiredOption("--period <period>", "2026, 2026-Q1, 2026-H1, 2026-03 or 2026-01-01..2026-03-31")
    .requiredOption("--against <period>", "the baseline period, in the same forms")
    .option("--public", "leave out everything marked internal")
    .option("--csv <file>", "also write the figures as CSV (one per row)")
    .option("--html <file>", "also write a self-contained HTML page with charts (opens offline)")
    .option("--out <file>", "also write the report as JSON (what `report verify` checks)")
    .action(action(reportBaselineCommand));
  report
    .command("verify <file>")
    .description(
      "recompute a JSON report from an audit bundle and confirm it, offline (no node, no network); exits 1 on any difference",
    )
    .requiredOption("--bundle <file>", "an audit bundle (`concordat audit export`) holding the report's checkpoints")
    .requiredOption("--trust-anchor <peer-id>", "the secretariat's peer id, obtained out of band")
    .action(
      action(reportVerifyCommand, (_g, opts: { bundle: string; trustAnchor: string }, file: string) => ({
        file,
        bundle: opts.bundle,
        trustAnchor: opts.trustAnchor,
      })),
    );
}
