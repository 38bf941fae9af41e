/** `concordat cases …`: the case repository. */
import type { Command } from "commander";
import {
  casesAddCommand,
  casesEndorseCommand,
  casesImportCommand,
  casesListCommand,
  casesSearchCommand,
  casesShowCommand,
} from "../commands/cases.js";
import { action } from "./action.js";
import { positiveInt } from "./arguments.js";

export function registerCases(program: Command): void {
  const cases = program
    .command("cases")
    .description("the case repository: case studies, best practices, evaluation tools, lessons learned");
  cases
    .command("add <file>")
    .description('add a case from a Markdown file with YAML front matter (docs/hub-operator.md, "Cases")')
    .action(action(casesAddCommand, "file"));
  cases
    .command("update <file>")
    .description("replace a case of this hub from a Markdown file (its id from the front matter or the file name)")
    .action(action(casesAddCommand, (g, _opts: object, file: string) => ({ ...g, file, update: true })));
  cases
    .command("import <dir>")
    .description("add or replace every *.md case of a folder: all checked first, nothing written on any problem")
    .option("--dry-run", "check only")
    .action(action(casesImportCommand, "dir"));
  cases
    .command("show <case>")
    .description("one case: ID (this hub's) or HUB/ID")
    .action(action(casesShowCommand, "ref"));
  cases
    .command("list")
    .description("a hub's cases (this hub's by default)")
    .option("--hub <id>", "another hub's, as of its latest verified checkpoint")
    .action(action(casesListCommand));
  cases
    .command("search [text]")
    .description("ranked full-text search over every hub's cases, in any language")
    .option("--competency <id>", "cases for this competency or one under it")
    .option("--region <code-or-name>", "ISO 3166 country or subdivision, or a region's name")
    .option("--lang <tag>", "only cases in this language")
    .option("--hub <id>", "only this hub's")
    .option("--kind <kind>", "case-study | best-practice | evaluation-tool | lesson-learned")
    .option("--public", "only cases marked public")
    .option("--page-size <n>", "results per page (default 20)", positiveInt)
    .option("--page-token <token>", "continue from a previous page")
    .action(action(casesSearchCommand, (g, _opts: object, text: string | undefined) => ({ ...g, text: text ?? "" })));
  cases
    .command("endorse <case>")
    .description("secretariat: endorse a hub's case (HUB/ID)")
    .option("--note <text>", "why")
    .action(action(casesEndorseCommand, "ref"));
}
