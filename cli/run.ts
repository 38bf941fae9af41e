/** What the `concordat` command does with its arguments (the entry, main.ts, sets the exit code). */
import { CommanderError } from "commander";
import { ExitCode, printError, toCliError } from "./errors.js";
import { processIo } from "./io.js";
import { buildProgram } from "./program.js";
import { VERSION } from "../node/version.js";

export async function main(argv: string[]): Promise<number> {
  if (argv.length === 3 && (argv[2] === "--version" || argv[2] === "-V")) {
    process.stdout.write(`${VERSION}\n`);
    return ExitCode.Ok;
  }
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return ExitCode.Ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version exit 0; usage mistakes were already printed by commander.
      return error.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
    }
    const cliError = toCliError(error);
    printError(processIo(argv.includes("--json")), cliError);
    return cliError.exitCode;
  }
}
