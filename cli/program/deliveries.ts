/** `concordat deliveries …`: what this hub delivered, as figures. */
import type { Command } from "commander";
import {
  deliveriesAssessCommand,
  deliveriesScoresCommand,
  deliveriesIngestCommand,
  deliveriesListCommand,
  deliveriesPullCommand,
  deliveriesRecordCommand,
  deliveriesShowCommand,
} from "../commands/deliveries.js";
import { action } from "./action.js";
import { collect, nonNegativeInt } from "./arguments.js";

/** The options that name the delivery and its course, shared by `record` and `ingest`. */
function target(command: Command): Command {
  return course(command.requiredOption("--id <id>", "the delivery's id"));
}

/** The options that describe a new delivery's course. */
function course(command: Command): Command {
  return command
    .option("--module <id>", "a module of this hub's curriculum (adopted core or local)")
    .option("--start <date>", "YYYY-MM-DD")
    .option("--end <date>", "YYYY-MM-DD")
    .option("--country <code>", "ISO 3166")
    .option("--place <text>", "venue, town")
    .option("--language <tag>", "BCP 47")
    .option("--visibility <v>", "public | internal (default internal)");
}

export function registerDeliveries(program: Command): void {
  const deliveries = program
    .command("deliveries")
    .description("course deliveries: what this hub delivered, as figures (no learner is named)");
  target(deliveries.command("record").description("record (or replace) a delivery's reported figures"))
    .option(
      "--group <category=f/m/u>",
      "participants of a category: female/male/unspecified, e.g. police=12/20/0 (repeatable)",
      collect,
    )
    .option("--completed <n>", "participants who completed", nonNegativeInt)
    .option("--passed <n>", "participants who passed", nonNegativeInt)
    .option(
      "--evaluation <responses:mean>",
      "level 1, the course evaluation: responses and mean score 0-100, e.g. 28:81.5",
    )
    .option("--evaluation-instrument <hub/id@version>", "the questionnaire it used (an evaluation-tool case)")
    .option(
      "--assessment <competency:method:assessed:demonstrated>",
      "level 2, per competency of the module and method (written, practical, simulation, observed), e.g. hr-1:practical:20:17 (repeatable)",
      collect,
    )
    .option(
      "--learning <assessed:pre:post>",
      "level 2, pre/post assessment: how many took both and the mean scores 0-100, e.g. 24:52:78",
    )
    .option("--learning-instrument <hub/id@version>", "the assessment it used (an evaluation-tool case)")
    .option("--follow-up-due <date>", "YYYY-MM-DD: its follow-up date, if not the module's period after the end")
    .action(action(deliveriesRecordCommand));
  deliveries
    .command("assess <id>")
    .description(
      "a delivery's assessments per competency and method, from the command line, a CSV file or xAPI results",
    )
    .option("--assessment <competency:method:assessed:demonstrated>", "e.g. hr-1:practical:20:17 (repeatable)", collect)
    .option("--file <csv>", "a CSV file with the columns competency, method, assessed, demonstrated")
    .option("--xapi <json>", "xAPI / cmi5 statements whose results (success, scaled score) assess one competency")
    .option("--competency <id>", "with --xapi: the competency the results assess")
    .option("--method <method>", "with --xapi: written, practical, simulation or observed")
    .option(
      "--mastery <scaled>",
      "with --xapi: the scaled score that demonstrates it when a statement has no success (default 0.8)",
    )
    .action(action(deliveriesAssessCommand, "id"));
  deliveries
    .command("scores <id>")
    .description("count xAPI / cmi5 scores into a delivery: its course evaluation, or its tests before and after")
    .requiredOption("--xapi <json>", "the statements (result.score.scaled, or raw within min and max)")
    .requiredOption("--level <level>", "reaction (the end-of-course questionnaire) | pre | post (the tests)")
    .option("--instrument <hub/id@version>", "the questionnaire or test used (an evaluation-tool case)")
    .action(action(deliveriesScoresCommand, "id"));
  target(
    deliveries
      .command("ingest <file>")
      .description("count xAPI / cmi5 statements (JSON) into a delivery: each statement and each learner once"),
  )
    .option(
      "--mastery <scaled>",
      "a scaled score (0-1] that counts as passed when a statement has no result.success (default: scores do not decide)",
    )
    .addHelpText(
      "after",
      '\nReads an array of statements, an LRS\'s {"statements": [...]} page, or one statement. Voided statements\n(verb http://adlnet.gov/expapi/verbs/voided) never count, in this file or a later one.\n\nExample:\n  concordat deliveries ingest statements.json --id d-7 --module mod-hr --start 2027-02-01 --end 2027-02-05',
    )
    .action(action(deliveriesIngestCommand, "file"));
  course(
    deliveries
      .command("pull <id>")
      .description(
        "count the statements an LRS stored since the last pull into a delivery (xAPI 1.0.3 GET /statements, every page)",
      ),
  )
    .requiredOption("--lrs <url>", "the LRS's xAPI endpoint, e.g. https://lrs.example/xapi")
    .option("--activity <iri>", "only statements about this activity (the course's IRI)")
    .option("--related-activities", "with --activity: also statements about its sub-activities and context")
    .option("--verb <iri>", "only statements with this verb")
    .option("--since <time>", "ISO 8601: statements stored after this (default: after the last pull's latest)")
    .option("--user <name>", "Basic auth user (the LRS's key)")
    .option(
      "--password-file <file>",
      "a file holding the Basic auth password (the LRS's secret); never on the command line",
    )
    .option("--mastery <scaled>", "as for ingest: a scaled score that counts as passed when a statement has no success")
    .addHelpText(
      "after",
      "\nThe password is read here and sent only to the LRS, over https (or to this machine); the node keeps\nonly the cursor (the latest 'stored' it counted), per delivery and source (endpoint, activity, verb).\n\nExample:\n  concordat deliveries pull d-7 --lrs https://lrs.example/xapi --activity https://academy.example/courses/mod-hr \\\n    --related-activities --user 4f1c --password-file ~/.lrs-secret --module mod-hr --start 2027-02-01 --end 2027-02-05",
    )
    .action(action(deliveriesPullCommand, "id"));
  deliveries
    .command("list")
    .description("a hub's deliveries (this hub's by default)")
    .option("--hub <id>", "another hub's, as of its latest verified checkpoint")
    .action(action(deliveriesListCommand));
  deliveries
    .command("show <id>")
    .description("one delivery (this hub's by default), with its evaluation")
    .option("--hub <id>", "another hub's, as of its latest verified checkpoint")
    .action(action(deliveriesShowCommand, "id"));
}
