/** `concordat backup` and `concordat restore`. */
import type { Command } from "commander";
import { backupCommand, restoreCommand } from "../commands/backup.js";
import { CliError, ExitCode } from "../errors.js";
import { action } from "./action.js";
import { collectList, port } from "./arguments.js";

export function registerBackup(program: Command): void {
  program
    .command("backup")
    .description("write a consistent backup of the running node")
    .requiredOption("--out <file>", "backup file to write (mode 0600)")
    .action(action(backupCommand));
  program
    .command("restore <file>")
    .description("recreate a node from a backup in an empty --data directory (node not running)")
    .option("--api-port <port>", "port of the restored node's API, stored in its config (api.port)", port)
    .option(
      "--console-port <port>",
      "port of the restored node's web console (console.port; free one by default)",
      port,
    )
    .option(
      "--listen <multiaddr>",
      "libp2p listen address of the restored node (network.listen; repeatable or comma-separated)",
      collectList,
    )
    .action(
      action(restoreCommand, (g, opts: { apiPort?: number; consolePort?: number; listen?: string[] }, file: string) => {
        if (!g.data) throw new CliError("restore needs --data DIR: an empty or new directory", ExitCode.Usage);
        return { file, data: g.data, ...opts };
      }),
    );
}
