#!/usr/bin/env node
/** Entry of the `concordat` command: the only place that sets the process's exit code. */
import { CommanderError } from "commander";
import { CliError, ExitCode, toCliError } from "./errors.js";
import { buildProgram } from "./program.js";
import { VERSION } from "../node/version.js";

function report(error: CliError, json: boolean): void {
  if (json) {
    process.stderr.write(`${JSON.stringify({ error: { message: error.message, details: error.details, exitCode: error.exitCode } })}\n`);
    return;
  }
  process.stderr.write(`error: ${error.message}\n`);
  for (const line of error.details) process.stderr.write(`  ${line}\n`);
}

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
    report(cliError, argv.includes("--json"));
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
    process.stderr.write(`fatal: ${String(error)}\n`);
    process.exitCode = ExitCode.Failure;
  },
);
