/**
 * The `concordat` command's arguments: the global options, then the commands group by group, in the
 * order `concordat --help` lists them. Each group registers its commands in cli/program/, each
 * command's action is cli/program/action.ts's `action`, and each command itself is a function in
 * cli/commands/ that tests call directly.
 */
import { Command } from "commander";
import { VERSION } from "../node/version.js";
import { registerAudit } from "./program/audit.js";
import { registerAudits, registerEvaluators } from "./program/audits.js";
import { registerProposals } from "./program/proposals.js";
import { registerBackup } from "./program/backup.js";
import { registerBookings } from "./program/bookings.js";
import { registerCases } from "./program/cases.js";
import { registerCore } from "./program/core.js";
import { registerCredentials } from "./program/credentials.js";
import { registerCurriculum, registerMappings } from "./program/curriculum.js";
import { registerDeliveries } from "./program/deliveries.js";
import { registerEvaluations } from "./program/evaluations.js";
import { registerFederation } from "./program/federation.js";
import { registerGrievances } from "./program/grievances.js";
import { registerKeys } from "./program/keys.js";
import { registerNode } from "./program/node.js";
import { registerOperators } from "./program/operators.js";
import { registerPlans } from "./program/plans.js";
import { registerReports } from "./program/reports.js";
import { registerTrainers } from "./program/trainers.js";

/** The command groups, in help order: `init`, `id`, `start`, `stop`, `status`, `peers` and `events` first, `backup` and `restore` last. */
const GROUPS: ReadonlyArray<(program: Command) => void> = [
  registerNode,
  registerFederation,
  registerCore,
  registerCurriculum,
  registerMappings,
  registerCredentials,
  registerAudit,
  registerKeys,
  registerOperators,
  registerTrainers,
  registerBookings,
  registerCases,
  registerDeliveries,
  registerEvaluations,
  registerEvaluators,
  registerAudits,
  registerPlans,
  registerGrievances,
  registerProposals,
  registerReports,
  registerBackup,
];

export function buildProgram(): Command {
  const program = new Command("concordat")
    .description("Concordat: a federated node for security-sector-reform training hubs")
    // `--version` only as the first argument (see main.ts): `core release --version X.Y.Z` is the
    // release's version, and commander would take a program-level --version anywhere.
    .addHelpText("after", `\nconcordat --version prints the version (${VERSION}).`)
    .option("--data <dir>", "the node's data directory (default: $CONCORDAT_DATA or ./data)")
    .option("--api <host:port>", "API address of the node (default: from the data directory; $CONCORDAT_API)")
    .option("--token <token>", "API credential (default: $CONCORDAT_TOKEN or DATA/admin.token)")
    .option("--tls-ca <file>", "CA certificate to verify a node that serves TLS ($CONCORDAT_TLS_CA)")
    .option("--json", "print JSON for scripts instead of tables")
    .showHelpAfterError()
    .exitOverride();
  for (const register of GROUPS) register(program);
  return program;
}
