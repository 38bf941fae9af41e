/** `concordat evaluations …`: evaluation after the course — follow-ups (level 3) and indicators (level 4). */
import type { Command } from "commander";
import {
  evaluationsDueCommand,
  evaluationsFollowUpCommand,
  evaluationsFollowUpsCommand,
  evaluationsImportFollowUpsCommand,
  evaluationsIndicatorCommand,
  evaluationsIndicatorsCommand,
} from "../commands/evaluations.js";
import { CliError, ExitCode } from "../errors.js";
import { action } from "./action.js";
import { nonNegativeInt } from "./arguments.js";

function figure(value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n < 0)
    throw new CliError(`'${value}' is not a figure (a number, 0 or more)`, ExitCode.Usage);
  return n;
}

export function registerEvaluations(program: Command): void {
  const evaluations = program
    .command("evaluations")
    .description("evaluation after the course: follow-ups of deliveries (level 3) and the hub's indicators (level 4)");
  evaluations
    .command("follow-up <delivery>")
    .description("record a follow-up of a delivery: how many former participants were reached, how many apply it")
    .requiredOption("--on <date>", "YYYY-MM-DD, when it was conducted (not before the delivery ended)")
    .requiredOption("--source <source>", "supervisor | self (who answered)")
    .requiredOption("--reached <n>", "former participants reached", nonNegativeInt)
    .requiredOption("--applying <n>", "of them, how many apply what they learnt", nonNegativeInt)
    .option("--instrument <hub/id@version>", "the survey it used (an evaluation-tool case)")
    .action(action(evaluationsFollowUpCommand, "delivery"));
  evaluations
    .command("follow-ups")
    .description("the follow-ups recorded (this hub's by default)")
    .option("--hub <id>", "another hub's, as of its latest verified checkpoint")
    .option("--delivery <id>", "of one delivery")
    .action(action(evaluationsFollowUpsCommand));
  evaluations
    .command("import-follow-ups <file>")
    .description(
      "record follow-ups from a CSV file (delivery, conducted_on, source, reached, applying, instrument): all or nothing",
    )
    .action(action(evaluationsImportFollowUpsCommand, "file"));
  evaluations
    .command("due")
    .description(
      "follow-ups that fall due (the module's period after a delivery, or its own date) and are not recorded yet",
    )
    .option("--at <date>", "YYYY-MM-DD (default today)")
    .option("--within <days>", "also those due in the next N days", nonNegativeInt)
    .action(action(evaluationsDueCommand));
  evaluations
    .command("indicator <name>")
    .description("record a results indicator for a period, e.g. use-of-force-incidents, with its source")
    .requiredOption("--period <period>", "2027, 2027-Q1, 2027-H1, 2027-03 or 2027-01-01..2027-03-31")
    .requiredOption("--value <n>", "the figure", figure)
    .requiredOption("--unit <text>", "what it counts, e.g. incidents")
    .requiredOption("--source <text>", "where the figure comes from")
    .action(action(evaluationsIndicatorCommand, "indicator"));
  evaluations
    .command("indicators")
    .description("the indicators recorded (this hub's by default)")
    .option("--hub <id>", "another hub's, as of its latest verified checkpoint")
    .action(action(evaluationsIndicatorsCommand));
}
