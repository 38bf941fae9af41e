#!/usr/bin/env node
/** Entry of the `concordat` command: the only place that sets the process's exit code. */
import { CommanderError } from "commander";
import { ExitCode, printError, toCliError } from "./errors.js";
import { processIo } from "./io.js";
import { buildProgram } from "./program.js";
import { VERSION } from "../node/version.js";
import { showText } from "../node/text.js";

async function main(argv: string[]): Promise<number> {
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

// `concordat trainers list | head`: a reader that stops early is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw error;
  });
}

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`fatal: ${showText(String(error))}\n`);
    process.exitCode = ExitCode.Failure;
  },
);
