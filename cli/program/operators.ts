/** `concordat operators …`: API credentials and roles. */
import { type Command, Option } from "commander";
import { operatorsAddCommand, operatorsListCommand, operatorsRevokeCommand } from "../commands/operators.js";
import { action } from "./action.js";

export function registerOperators(program: Command): void {
  const operators = program.command("operators").description("API credentials and roles (admin only)");
  operators
    .command("add")
    .description("issue a credential; the token is shown once")
    .requiredOption("--name <name>", "who holds it")
    .addOption(
      new Option("--role <role>", "what they may do").choices(["admin", "operator", "viewer"]).makeOptionMandatory(),
    )
    .option("--out <file>", "write the token to this new file (mode 0600) instead of printing it")
    .action(action(operatorsAddCommand));
  operators.command("list").description("list operators, active and revoked").action(action(operatorsListCommand));
  operators
    .command("revoke <id>")
    .description("revoke an operator's credential, by its id or the name of one active operator")
    .action(action(operatorsRevokeCommand, "id"));
}
