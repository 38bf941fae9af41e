/** `concordat curriculum …` and `concordat mappings …`: the hub's adopted core, its adaptations and job mappings. */
import { Argument, type Command } from "commander";
import {
  curriculumAdaptCommand,
  curriculumConfirmCommand,
  curriculumModuleCommand,
  curriculumRemoveCommand,
  curriculumSchemeCommand,
  curriculumShowCommand,
  mappingsAddCommand,
  mappingsListCommand,
} from "../commands/curriculum.js";
import { action } from "./action.js";
import { collect, positiveInt } from "./arguments.js";

export function registerCurriculum(program: Command): void {
  const curriculum = program
    .command("curriculum")
    .description("hub: the adopted core with this hub's adaptations and local modules");
  curriculum
    .command("show")
    .description("the effective curriculum: adopted release + adaptations + local modules")
    .action(action(curriculumShowCommand));
  curriculum
    .command("adapt")
    .description("adapt a core item or module (pinned to the adopted release); the same id again re-bases it")
    .requiredOption("--id <id>", "the adaptation's id")
    .option("--item <identifier>", "the core item adapted")
    .option("--module <id>", "the core module adapted")
    .option("--statement <lang=text>", "item statement: translation or national wording (repeatable)", collect)
    .option("--title <lang=text>", "module title (repeatable)", collect)
    .option("--legal-ref <text>", "a national legal reference (repeatable)", collect)
    .option("--scenario <lang=title|text>", "a regional scenario (repeatable)", collect)
    .option("--duration <minutes>", "module duration here", positiveInt)
    .option("--notes <text>", "notes")
    .option("--release <version>", "the release it is made against (default: the adopted one)")
    .option("--file <file>", "the whole adaptation as JSON instead of flags")
    .action(action(curriculumAdaptCommand));
  curriculum
    .command("confirm <id>")
    .description("mark an adaptation reviewed: pin it to a release (default: the adopted one)")
    .option("--release <version>", "the release reviewed against")
    .action(action(curriculumConfirmCommand, "id"));
  curriculum
    .command("remove")
    .description("remove an adaptation or a local module")
    .addArgument(new Argument("<kind>", "what").choices(["adaptation", "local-module", "scheme"]))
    .argument("<id>", "its id")
    .action(action(curriculumRemoveCommand, "kind", "id"));
  curriculum
    .command("module <file>")
    .description("add or replace a local module from a JSON file (same shape as a core module)")
    .action(action(curriculumModuleCommand, "file"));

  curriculum
    .command("scheme <file>")
    .description(
      "add or replace one of this hub's own accreditation schemes (JSON, id HUB.ID), which it alone accredits",
    )
    .action(action(curriculumSchemeCommand, "file"));
}

export function registerMappings(program: Command): void {
  const mappings = program
    .command("mappings")
    .description("hub: national job titles mapped to ESCO / ISCO-08 and to core competencies");
  mappings
    .command("add")
    .description("add or replace a job mapping")
    .requiredOption("--id <id>", "the mapping's id")
    .requiredOption("--title <lang=text>", "the national job title (repeatable)", collect)
    .requiredOption("--country <code>", "ISO 3166-1 alpha-2")
    .option("--esco <uri>", "ESCO occupation URI")
    .option("--isco <code>", "ISCO-08 unit group (4 digits)")
    .option("--career-step <n>", "career step (1 = entry)", positiveInt)
    .requiredOption("--competency <id:relevance>", "a competency and essential|optional (repeatable)", collect)
    .action(action(mappingsAddCommand));
  mappings.command("list").description("this hub's job mappings").action(action(mappingsListCommand));
  mappings
    .command("remove <id>")
    .description("remove a job mapping")
    .action(action(curriculumRemoveCommand, (g, _opts: object, id: string) => ({ ...g, kind: "mapping", id })));
}
