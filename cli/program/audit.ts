/** `concordat audit …`: offline-verifiable bundles of what the federation signed. */
import type { Command } from "commander";
import { auditExportCommand, auditVerifyCommand } from "../commands/audit.js";
import { action } from "./action.js";

export function registerAudit(program: Command): void {
  const audit = program.command("audit").description("offline-verifiable bundles of what the federation signed");
  audit
    .command("export")
    .description(
      "write this node's audit bundle: every signed document's changes, the checkpoints, the charter, a manifest",
    )
    .requiredOption("--out <file>", "the bundle file")
    .action(action(auditExportCommand));
  audit
    .command("verify <file>")
    .description("verify a bundle offline (no node, no network); exits 1 on any failure")
    .requiredOption("--trust-anchor <peer-id>", "the secretariat's peer id, obtained out of band")
    .action(
      action(auditVerifyCommand, (_g, opts: { trustAnchor: string }, file: string) => ({
        file,
        trustAnchor: opts.trustAnchor,
      })),
    );
}
