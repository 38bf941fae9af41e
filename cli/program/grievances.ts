/** `concordat grievances …`: the hub's grievance register (docs/grievances.md). */
import type { Command } from "commander";
import {
  grievancesAcknowledgeCommand,
  grievancesFiguresCommand,
  grievancesInvestigateCommand,
  grievancesListCommand,
  grievancesReceiveCommand,
  grievancesResolveCommand,
  grievancesShowCommand,
} from "../commands/grievances.js";
import { action } from "./action.js";

const CATEGORIES = "conduct | discrimination | harassment | safety | quality | access | other";
const SOURCES = "trainee | civil-society | partner | staff | anonymous";
const OUTCOMES = "upheld | partly-upheld | not-upheld | withdrawn | referred";

export function registerGrievances(program: Command): void {
  const grievances = program
    .command("grievances")
    .description(
      "the hub's grievance register: complaints about training or trainers, received, acknowledged, investigated, resolved; only figures leave the hub",
    );
  grievances
    .command("receive")
    .description(
      "record a grievance received; the complainant, description and what it is about stay at this hub (never replicated)",
    )
    .requiredOption("--category <c>", CATEGORIES)
    .requiredOption("--source <s>", SOURCES)
    .requiredOption("--description <text>", "what the complainant says happened (kept at this hub)")
    .option("--name <name>", "the complainant's name (required unless --source anonymous)")
    .option("--contact <text>", "how to reach them: e-mail, phone, address")
    .option("--anonymous", "they asked that their identity go no further than who handles the grievance")
    .option("--received-on <date>", "YYYY-MM-DD, not in the future (default today)")
    .option("--acknowledge-within <days>", "days allowed to acknowledge it (default 7)")
    .option("--resolve-within <days>", "days allowed to resolve it (default 60)")
    .option("--delivery <id>", "the delivery it is about (kept at this hub)")
    .option("--trainer <id>", "the trainer it is about (kept at this hub)")
    .option("--module <id>", "the module it is about (kept at this hub)")
    .action(action(grievancesReceiveCommand));
  grievances
    .command("acknowledge <id>")
    .description("record that the complainant was told the grievance was received")
    .option("--on <date>", "YYYY-MM-DD, not before it was received (default today)")
    .action(action(grievancesAcknowledgeCommand, "id"));
  grievances
    .command("investigate <id>")
    .description("record that the investigation of an acknowledged grievance started")
    .option("--on <date>", "YYYY-MM-DD, not before it was acknowledged (default today)")
    .option("--note <text>", "a note of the investigation (kept at this hub)")
    .action(action(grievancesInvestigateCommand, "id"));
  grievances
    .command("resolve <id>")
    .description(
      "record the outcome of a grievance under investigation (withdrawn or referred: also one only acknowledged)",
    )
    .requiredOption("--outcome <o>", OUTCOMES)
    .option("--on <date>", "YYYY-MM-DD, not before the previous step (default today)")
    .option("--note <text>", "how it was resolved (kept at this hub)")
    .action(action(grievancesResolveCommand, "id"));
  grievances
    .command("list")
    .description("the grievances of this hub (or another's, codes and days only, as last verified)")
    .option("--hub <id>", "another hub's register, as of its latest verified checkpoint")
    .option("--overdue", "only those past a due date (acknowledgement or resolution)")
    .option("--at <date>", "YYYY-MM-DD the due dates are judged at (default today)")
    .option("--private", "with who complained (this hub's operators only)")
    .action(action(grievancesListCommand));
  grievances
    .command("show <id>")
    .description("one of this hub's grievances, with what is kept at this hub only (operators)")
    .action(action(grievancesShowCommand, "id"));
  grievances
    .command("figures")
    .description(
      "counts by category, source, status and outcome, open and overdue, days to resolution (any hub, from its verified register)",
    )
    .option("--hub <id>", "another hub's figures (default this hub)")
    .option("--at <date>", "YYYY-MM-DD the figures are as of (default today)")
    .action(action(grievancesFiguresCommand));
}
