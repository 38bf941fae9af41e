/** `concordat trainers …`: the hub's roster, and the federation's trainers free in some dates. */
import { type Command, Option } from "commander";
import { trainersFindCommand, trainersFreeBusyCommand } from "../commands/find.js";
import {
  trainersAddCommand,
  trainersExportCommand,
  trainersGetCommand,
  trainersImportCommand,
  trainersListCommand,
  trainersRemoveCommand,
  trainersUpdateCommand,
} from "../commands/trainers.js";
import {
  trainersAcceptCommand,
  trainersDeployCommand,
  trainersHistoryCommand,
  trainersLineageCommand,
  trainersReleaseCommand,
} from "../commands/trainer-history.js";
import type { ConnectionOptions } from "../connection.js";
import { CliError, ExitCode } from "../errors.js";
import { action } from "./action.js";
import { collect, positiveInt } from "./arguments.js";

/** The trainer's fields as flags of `trainers add` and `trainers update`, in the CSV cells' syntax. */
function trainerFieldFlags(command: Command, update: boolean): Command {
  return command
    .option(`--name <name>`, update ? "new display name" : "display name (required)")
    .option("--languages <list>", 'languages with CEFR level, e.g. "en:C1;fr:B2"')
    .option("--regions <list>", 'ISO 3166 codes served, e.g. "KE;UG;KE-30"')
    .option(
      "--accreditations <list>",
      'claimed accreditations, items "scheme|competency|level|validFrom|validUntil|status" separated by ";" — a claim is shown, never counted: only a verified credential counts (`concordat credentials issue`)',
    )
    .option(
      "--availability <list>",
      'UTC windows "start/end" separated by ";" (plain dates: first and last day, both included)',
    )
    .option(
      "--blackouts <list>",
      'UTC blackouts "start/end" separated by ";" (plain dates: first and last day, both included)',
    )
    .option("--email <email>", "contact email (private, never replicated)")
    .option("--phone <phone>", "contact phone (private)")
    .option("--national-id <id>", "national id (private)")
    .option("--notes <text>", "notes (private)");
}

export function registerTrainers(program: Command): void {
  const trainers = program.command("trainers").description("the hub's trainer roster");
  trainerFieldFlags(
    trainers.command("add").description("add a trainer").requiredOption("--id <id>", "trainer id"),
    false,
  ).action(
    action(trainersAddCommand, (g, opts: Omit<Parameters<typeof trainersAddCommand>[0], keyof ConnectionOptions>) => {
      if (opts.name === undefined) throw new CliError("--name is required", ExitCode.Usage);
      return { ...g, ...opts };
    }),
  );
  trainers.command("get <id>").description("show one trainer").action(action(trainersGetCommand, "id"));
  trainers
    .command("list")
    .description("list trainers, a page at a time")
    .option("--page-size <n>", "trainers per page (default 100, at most 1000)", positiveInt)
    .option("--page-token <token>", "continue from a previous page")
    .option("--all", "fetch every page")
    .action(action(trainersListCommand));
  trainerFieldFlags(trainers.command("update <id>").description("change the given fields of a trainer"), true).action(
    action(trainersUpdateCommand, "id"),
  );
  trainers
    .command("remove <id>")
    .description("remove a trainer (public and private records)")
    .action(action(trainersRemoveCommand, "id"));
  trainers
    .command("import <file>")
    .description("import trainers from CSV or JSON (docs/trainer-files.md); all rows are checked first")
    .addOption(new Option("--format <format>", "file format (default: from the extension)").choices(["csv", "json"]))
    .option("--skip-invalid", "import the valid rows and report the others")
    .option("--dry-run", "check every row, write nothing")
    .option("--upsert", "replace trainers that already exist")
    .action(action(trainersImportCommand, "file"));
  trainers
    .command("export")
    .description("export the roster as CSV or JSON (with personal data unless --public-only)")
    .option("--out <file>", "write to a file (default: standard output)")
    .addOption(
      new Option("--format <format>", "file format (default: from --out's extension, else json)").choices([
        "csv",
        "json",
      ]),
    )
    .option("--public-only", "leave out the private fields")
    .action(action(trainersExportCommand));
  trainers
    .command("find")
    .description(
      "accredited trainers across the federation who are free in these dates, ranked. With --competency or --module only verified credentials count (`concordat credentials issue`, `credentials attach`), never the accreditations a roster record lists",
    )
    .requiredOption("--from <date>", "first day (YYYY-MM-DD, UTC), or an instant with a time and zone")
    .requiredOption(
      "--to <date>",
      "last day, included (YYYY-MM-DD, UTC), or an instant with a time and zone (then excluded)",
    )
    .option("--competency <id>", "a competency: a trainer holding a verified credential for it or any of its ancestors")
    .option(
      "--module <id>",
      "a competency of the module, by verified credentials (repeat for each; full coverage ranks first)",
      collect,
    )
    .option("--language <tag[:level]>", "a language, with a minimum CEFR level, e.g. fr:B2")
    .option("--region <code>", "ISO 3166 country or subdivision served")
    .option("--hub <id>", "only this home hub")
    .option("--days <n>", "at least N consecutive free days in the range (default: the whole range free)", positiveInt)
    .option(
      "--delivered-module <id>",
      "only trainers who delivered this module before: a recorded deployment of it that ended before --from",
    )
    .option("--served-in <country>", "only trainers with a recorded deployment in this country (ISO 3166-1 alpha-2)")
    .option("--page-size <n>", "results per page (default 50)", positiveInt)
    .option("--page-token <token>", "continue from a previous page")
    .action(action(trainersFindCommand));
  trainers
    .command("freebusy <id>")
    .description("a trainer's free/busy as iCalendar VFREEBUSY (busy periods only)")
    .requiredOption("--from <date>", "first day (YYYY-MM-DD, UTC), or an instant with a time and zone")
    .requiredOption(
      "--to <date>",
      "last day, included (YYYY-MM-DD, UTC), or an instant (then excluded); at most 366 days after --from",
    )
    .option("--hub <id>", "the trainer's home hub (default: this hub)")
    .option("--out <file>", "write to a file (default: standard output)")
    .action(action(trainersFreeBusyCommand, "id"));
  trainers
    .command("history <id>")
    .description(
      "where a trainer served (deployments), who trained them as a trainer (lineage), moves between hubs (and whether both hubs signed them), and who changed the record here",
    )
    .option("--hub <id>", "a trainer of another hub, as of its latest verified checkpoint (default: this hub)")
    .action(action(trainersHistoryCommand, "id"));
  trainers
    .command("deploy <id>")
    .description("record a deployment or engagement the trainer served (public: replicated to every hub)")
    .requiredOption("--from <date>", "first day (YYYY-MM-DD)")
    .requiredOption("--to <date>", "last day, included (YYYY-MM-DD)")
    .requiredOption("--role <role>", "lead-trainer | co-trainer | mentor | assessor | observer")
    .requiredOption("--place <place>", "where, e.g. a town or a training centre")
    .requiredOption("--country <code>", "ISO 3166-1 alpha-2 country, e.g. KE")
    .requiredOption("--module <id>", "the module delivered")
    .option("--mission <name>", "the mission served with (optional)")
    .option("--with-hub <name>", "the hub served with, as people name it (optional)")
    .action(action(trainersDeployCommand, "id"));
  trainers
    .command("lineage <id>")
    .description("record who trained this trainer as a trainer (train-the-trainer), and the credential it led to")
    .requiredOption("--trained-by <hub/id>", "the trainer who trained them, as HUB/TRAINER-ID")
    .requiredOption("--module <id>", "the module or programme")
    .requiredOption("--on <date>", "the day it was completed (YYYY-MM-DD, not in the future)")
    .option("--credential <id>", "the credential it led to (urn:uuid:…, from `concordat credentials issue`)")
    .action(action(trainersLineageCommand, "id"));
  trainers
    .command("release <id>")
    .description(
      "let one of this hub's trainers move to another hub: the record here says moved to it (signed), and this hub stops offering them in `trainers find`; the other hub then runs `trainers accept`",
    )
    .requiredOption("--to <hub>", "the hub the trainer moves to")
    .action(action(trainersReleaseCommand, "id"));
  trainers
    .command("accept <hub/id>")
    .description(
      "take in a trainer another hub released to this one (refused unless that hub's signed roster says so): their public record and history are copied; their personal data never leaves the other hub, so enter it again with `trainers update`",
    )
    .action(action(trainersAcceptCommand, "ref"));
}
