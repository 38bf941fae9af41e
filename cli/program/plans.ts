/** `concordat plans …`: joint annual plans, the federation's plan, plan beside actual. */
import type { Command } from "commander";
import {
  plansActualCommand,
  plansAddCommand,
  plansFederationCommand,
  plansSetCommand,
  plansShowCommand,
  plansSignCommand,
  yearArgument,
} from "../commands/plans.js";
import { action } from "./action.js";
import { collect } from "./arguments.js";

export function registerPlans(program: Command): void {
  const plans = program
    .command("plans")
    .description("joint annual plans: each hub signs its plan for a year; the federation's plan; plan beside actual");
  plans
    .command("set")
    .argument("<year>", "the plan's year, e.g. 2027", yearArgument)
    .description("set this hub's draft plan for a year, whole, from a JSON or CSV file (every problem is named)")
    .requiredOption("--file <file>", "plan.json ({deliveries, trainers, support}) or plan.csv (see docs/plans.md)")
    .action(action(plansSetCommand, "year"));
  plans
    .command("add")
    .argument("<year>", "the plan's year", yearArgument)
    .description("add lines to this hub's draft plan (to a new version when the plan is already signed)")
    .option(
      "--delivery <pairs>",
      "deliveries planned: module=M,quarter=Q1,country=KE,language=en,count=2 (repeatable)",
      collect,
    )
    .option("--trainers <pairs>", "trainers needed: competency=C,language=fr,count=3 (repeatable)", collect)
    .option(
      "--support <pairs>",
      "support needed: kind=translation,amount=4000,currency=EUR,note=text (repeatable; note last)",
      collect,
    )
    .action(action(plansAddCommand, "year"));
  plans
    .command("sign")
    .argument("<year>", "the plan's year", yearArgument)
    .description(
      "sign this hub's draft plan for a year as a new version; other hubs and reports see signed versions only",
    )
    .action(action(plansSignCommand, "year"));
  plans
    .command("show")
    .argument("[year]", "the plan's year (default: the latest with a plan)", yearArgument)
    .description("a plan: this hub's (its draft if newer than what it signed), or another hub's latest signed version")
    .option("--hub <id>", "another member's plan, as verified here")
    .action(action(plansShowCommand, "year"));
  plans
    .command("federation")
    .argument("<year>", "the year", yearArgument)
    .description(
      "the federation's plan: every member's signed plan, overlaps, competencies no plan covers, support totals",
    )
    .action(action(plansFederationCommand, "year"));
  plans
    .command("actual")
    .argument("<year>", "the year", yearArgument)
    .description("plan beside actual: planned deliveries and deliveries recorded, per hub, module and quarter")
    .option("--hub <id>", "one member only")
    .action(action(plansActualCommand, "year"));
}
