/** `concordat evaluators …` and `concordat audits …`: the shared evaluator panel and random audits of deliveries. */
import type { Command } from "commander";
import {
  auditsDrawCommand,
  auditsFindingCommand,
  auditsListCommand,
  auditsRespondCommand,
  auditsShowCommand,
  evaluatorsAppointCommand,
  evaluatorsKeygenCommand,
  evaluatorsListCommand,
  evaluatorsRemoveCommand,
} from "../commands/audits.js";
import { action } from "./action.js";
import { positiveInt } from "./arguments.js";

export function registerEvaluators(program: Command): void {
  const evaluators = program
    .command("evaluators")
    .description("the secretariat's panel of independent evaluators, each with their own key");
  evaluators
    .command("keygen")
    .description("make an evaluator's own key (on their machine, no node needed); prints the did:key to appoint")
    .requiredOption("--out <file>", "where the private key goes (never overwritten)")
    .action(action(evaluatorsKeygenCommand));
  evaluators
    .command("appoint <id>")
    .description("appoint an evaluator to the panel (the secretariat)")
    .requiredOption("--name <name>", "the evaluator's name")
    .requiredOption("--key <did:key>", "the did:key `evaluators keygen` printed")
    .action(action(evaluatorsAppointCommand, "id"));
  evaluators
    .command("remove <id>")
    .description("remove an evaluator: findings they sign from now on do not count (the secretariat)")
    .action(action(evaluatorsRemoveCommand, "id"));
  evaluators
    .command("list")
    .description("the panel, as the secretariat signed it")
    .action(action(evaluatorsListCommand));
}

export function registerAudits(program: Command): void {
  const audits = program
    .command("audits")
    .description(
      "random audits of deliveries: a sample no hub can choose, evaluators' signed findings, hubs' responses",
    );
  audits
    .command("draw <id>")
    .description(
      "draw a random sample of every hub's deliveries in a period (the secretariat); anyone can recompute it",
    )
    .requiredOption("--period <period>", "2027, 2027-Q1, 2027-H1, 2027-03 or 2027-01-01..2027-03-31")
    .requiredOption("--per-hub <n>", "deliveries sampled per hub", positiveInt)
    .action(action(auditsDrawCommand, "id"));
  audits.command("list").description("the audits drawn").action(action(auditsListCommand));
  audits
    .command("show <id>")
    .description("an audit: its seed, each hub's population, the sample with its findings and responses")
    .action(action(auditsShowCommand, "id"));
  audits
    .command("finding <audit>")
    .description("record an evaluator's finding on a sampled delivery, signed here with the evaluator's key")
    .requiredOption("--hub <id>", "the audited hub")
    .requiredOption("--delivery <id>", "the sampled delivery")
    .requiredOption("--evaluator <id>", "your id on the panel")
    .requiredOption("--key <file>", "your private key (`evaluators keygen`)")
    .requiredOption("--confirmed <yes|no>", "were the delivery's reported figures confirmed?")
    .requiredOption("--severity <s>", "none | minor | major | critical")
    .option("--observations <text>", "what you observed")
    .action(action(auditsFindingCommand, "audit"));
  audits
    .command("respond <audit> <delivery>")
    .description("this hub's answer to the findings on one of its sampled deliveries")
    .option("--accept", "the hub accepts the findings")
    .option("--dispute", "the hub disputes them (say why with --note)")
    .option("--note <text>", "the hub's explanation")
    .action(action(auditsRespondCommand, "audit", "delivery"));
}
