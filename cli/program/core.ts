/** `concordat core …`: the global core (competency framework, core modules, accreditation schemes, releases). */
import { Argument, type Command } from "commander";
import {
  coreAdoptCommand,
  coreAssociateCommand,
  coreDiffCommand,
  coreExportCommand,
  coreImpactCommand,
  coreImportCommand,
  coreItemAddCommand,
  corePutCommand,
  coreReleaseCommand,
  coreReleasesCommand,
  coreRemoveCommand,
  coreShowCommand,
} from "../commands/core.js";
import { coreCandidatesCommand } from "../commands/proposals.js";
import { action } from "./action.js";
import { collect, positiveInt } from "./arguments.js";

const RECORD_KINDS = ["item", "association", "module", "scheme"];

export function registerCore(program: Command): void {
  const core = program
    .command("core")
    .description("the global core: competency framework, core modules, accreditation schemes, releases");
  core
    .command("put")
    .description(
      "secretariat: add or replace draft records of one kind from a JSON file (a record or an array; - for stdin)",
    )
    .addArgument(new Argument("<kind>", "record kind").choices(RECORD_KINDS))
    .argument("<file>", "JSON file")
    .action(action(corePutCommand, "kind", "file"));
  core
    .command("item")
    .description("secretariat: add a competency item to the drafts, or change one (--id): what no flag gives is kept")
    .option("--code <code>", "human coding scheme, e.g. HR-1.2 (required for a new item)")
    .option(
      "--statement <lang=text>",
      "statement in a language (repeatable; required for a new item; other languages are kept)",
      collect,
    )
    .option("--type <type>", "CASE item type: Domain, Competency, Indicator, … (a new item: Competency)")
    .option("--language <tag>", "the statement's main language (a new item: the first given)")
    .option("--id <identifier>", "identifier (default: a new UUID; give an existing one to change that item)")
    .option("--role-level <level>", "custodial | supervisory | management | command (repeatable)", collect)
    .option("--theme <theme>", "cross-cutting theme, e.g. human-rights (repeatable)", collect)
    .option("--notes <text>", "notes")
    .action(action(coreItemAddCommand));
  core
    .command("associate <origin> <type> <destination>")
    .description(
      "secretariat: link two items (CASE association: isChildOf, exactMatchOf, isRelatedTo, replacedBy, precedes, …)",
    )
    .option("--sequence <n>", "sequence number among siblings", positiveInt)
    .option("--id <identifier>", "identifier (default: a new UUID)")
    .action(action(coreAssociateCommand, "origin", "type", "destination"));
  core
    .command("remove")
    .description("secretariat: remove draft records (refused while others refer to them)")
    .addArgument(new Argument("<kind>", "record kind").choices(RECORD_KINDS))
    .argument("<ids...>", "identifiers")
    .action(action(coreRemoveCommand, "kind", "ids"));
  core
    .command("import")
    .description(
      "secretariat: import a CASE 1.0/1.1 CFPackage (JSON, from a file or a CASE provider's --url) or a Moodle competency framework (CSV) into the drafts, replacing the framework whole; all or nothing",
    )
    .addArgument(new Argument("[format]", "file format (with --url: case)").choices(["case", "moodle"]))
    .argument("[file]", "the file (- for stdin); not with --url")
    .option(
      "--url <url>",
      "read the CASE package from a CASE provider (http/https), e.g. https://host/ims/case/v1p1/CFPackages/ID",
    )
    .option("--dry-run", "check everything, write nothing")
    .option("--language <tag>", "moodle: the language of its texts (default en)")
    .action(action(coreImportCommand, "format", "file"));
  core
    .command("export")
    .description(
      "the framework as a CASE 1.1 CFPackage (JSON), or as Moodle's competency framework CSV (tool_lpimportcsv)",
    )
    .addArgument(new Argument("<format>", "file format").choices(["case", "moodle"]))
    .option("--release <version>", "a release (default: the newest)")
    .option("--draft", "secretariat: the drafts")
    .option("--out <file>", "write to a file (default: standard output)")
    .action(action(coreExportCommand, "format"));
  core
    .command("release")
    .description("secretariat: sign and publish the drafts as a release (versions only go up)")
    .requiredOption("--version <X.Y.Z>", "the release's version")
    .option("--notes <text>", "release notes")
    .action(action(coreReleaseCommand));
  core.command("releases").description("the core's verified releases").action(action(coreReleasesCommand));
  core
    .command("candidates")
    .description("adaptations that recur across hubs: candidates for the core (docs/feedback.md)")
    .option("--min-hubs <n>", "how many hubs must have adapted the same thing (default 2)", positiveInt)
    .action(action(coreCandidatesCommand));
  core
    .command("show")
    .description("the core of a release (default: the newest)")
    .option("--release <version>", "a release")
    .option("--draft", "secretariat: the drafts")
    .action(action(coreShowCommand));
  core
    .command("diff <from> <to>")
    .description("what changed between two releases (or 'draft'), record by record, field by field")
    .action(action(coreDiffCommand, "from", "to"));
  core
    .command("adopt <version>")
    .description("hub: follow this release of the core")
    .action(action(coreAdoptCommand, "version"));
  core
    .command("impact [version]")
    .description("hub: which adaptations a release changes under them (default: the newest release)")
    .action(
      action(coreImpactCommand, (g, _opts: object, version: string | undefined) => ({
        ...g,
        ...(version ? { release: version } : {}),
      })),
    );
}
