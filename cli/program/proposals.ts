/** `concordat proposals …`: hubs' proposals to change the core, and the secretariat's decisions. */
import type { Command } from "commander";
import {
  proposalsCommentCommand,
  proposalsDecideCommand,
  proposalsListCommand,
  proposalsProposeCommand,
  proposalsShowCommand,
  proposalsSupportCommand,
  proposalsWithdrawCommand,
} from "../commands/proposals.js";
import { action } from "./action.js";
import { collect } from "./arguments.js";

export function registerProposals(program: Command): void {
  const proposals = program
    .command("proposals")
    .description("proposals to change the core: a hub proposes, others support or comment, the secretariat decides");
  proposals
    .command("propose <id>")
    .description("propose a change to a competency or module of the latest core release, with its reason and evidence")
    .option("--item <id>", "the core competency (item) to change")
    .option("--module <id>", "the core module to change")
    .option("--text <text>", "the proposed wording (of the competency's statement, or the module's title)")
    .option("--language <tag>", "the language of --text (default en)")
    .option("--outcome <text>", "a learning outcome the module should have (repeat for each)", collect)
    .option("--cite <hub/case>", "a case the core should cite, HUB/CASE-ID")
    .option("--reason <text>", "why: what the hub saw")
    .option("--reason-file <file>", "the reason, from a text file")
    .option(
      "--evidence <kind:ref>",
      'evidence (repeat): case:HUB/CASE-ID, delivery:ID (of this hub) or figure:"what was measured"',
      collect,
    )
    .action(action(proposalsProposeCommand, "id"));
  proposals
    .command("withdraw <id>")
    .description("withdraw one of this hub's proposals the secretariat has not decided on")
    .action(action(proposalsWithdrawCommand, "id"));
  proposals
    .command("support <proposal>")
    .description("this hub supports another hub's proposal (HUB/ID)")
    .option("--text <text>", "why, if you want to say")
    .action(action(proposalsSupportCommand, "proposal"));
  proposals
    .command("comment <proposal>")
    .description("comment on a proposal (HUB/ID), or object to it with --object")
    .requiredOption("--text <text>", "the comment")
    .option("--object", "this hub objects to the proposal")
    .action(action(proposalsCommentCommand, "proposal"));
  proposals
    .command("decide <proposal>")
    .description("the secretariat decides: accept, merge into the drafts, or reject with a reason")
    .option("--accept", "accept it: the drafts will carry it (then --merge)")
    .option("--merge", "it is in the drafts now: the next release names it as answered")
    .option("--reject", "reject it (--reason is required)")
    .option("--reason <text>", "the secretariat's reason")
    .action(action(proposalsDecideCommand, "proposal"));
  proposals
    .command("list")
    .description("proposals of every hub, newest first, with where each stands")
    .option("--hub <id>", "one hub's proposals")
    .option("--status <s>", "open | withdrawn | accepted | merged | rejected | released")
    .option("--target <id>", "proposals on one competency or module")
    .option("--search <words>", "words that must all appear (reason, wording, outcomes, comments)")
    .action(action(proposalsListCommand));
  proposals
    .command("show <proposal>")
    .description("one proposal (HUB/ID): the change, reason, evidence, comments, decision and release")
    .action(action(proposalsShowCommand, "proposal"));
}
