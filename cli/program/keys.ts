/** `concordat keys …`: this hub's own key. */
import type { Command } from "commander";
import { keysRotateCommand, keysStatusCommand } from "../commands/keys.js";
import { action } from "./action.js";

export function registerKeys(program: Command): void {
  const keys = program.command("keys").description("this hub's own key");
  keys
    .command("rotate")
    .description("make a new key; the node switches to it once the secretariat confirms it")
    .action(action(keysRotateCommand));
  keys
    .command("status")
    .description("the key in use and any key waiting for confirmation")
    .action(action(keysStatusCommand));
}
