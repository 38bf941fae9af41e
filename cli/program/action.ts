/**
 * The one action every `concordat` command registers: it gathers the global options (`--data`,
 * `--api`, `--token`, `--tls-ca`, `--json`) with the command's own, names the positional
 * arguments, and calls the command's function in cli/commands/ with them and the Io that prints for
 * people or, with `--json`, for scripts. The function connects and closes (cli/connection.ts); what
 * it throws reaches the one boundary in cli/run.ts, which prints it and maps it to an exit code
 * (cli/errors.ts).
 */
import type { Command } from "commander";
import type { ConnectionOptions } from "../connection.js";
import { type Io, processIo } from "../io.js";

/** The global options (cli/program.ts): where the node is, and `--json`. */
export interface GlobalOptions extends ConnectionOptions {
  json?: boolean;
}

/** The global options with the command's own (commander's optsWithGlobals), and where the command prints. */
export interface Globals extends GlobalOptions {
  io: Io;
  [option: string]: unknown;
}

/** A command of cli/commands/: its options, and where it prints. */
export type CommandFunction<O> = (options: O, io: Io) => Promise<unknown>;

/** What commander calls: the positional arguments, the command's options, the command. */
export type ActionHandler = (...params: unknown[]) => Promise<void>;

/**
 * `action(fn, "id")` calls `fn({ ...globals, ...options, id: <first argument> }, io)`; arguments
 * not given (`[file]`) are left out. `action(fn, (globals, options, ...args) => fnOptions)` says
 * how the function's options are made instead, for the commands whose flags and options differ.
 */
export function action<O>(run: CommandFunction<O>, ...argumentNames: string[]): ActionHandler;
export function action<O, P, A extends unknown[]>(
  run: CommandFunction<O>,
  build: (globals: Globals, options: P, ...args: A) => O,
): ActionHandler;
export function action<O>(
  run: CommandFunction<O>,
  ...how: string[] | [(globals: Globals, options: never, ...args: never[]) => O]
): ActionHandler {
  return async (...params: unknown[]) => {
    const command = params.at(-1) as Command;
    const options = params.at(-2) as Record<string, unknown>;
    const args = params.slice(0, -2);
    const g = globals(command);
    const [first] = how;
    const built =
      typeof first === "function"
        ? (first as (globals: Globals, options: unknown, ...args: unknown[]) => O)(g, options, ...args)
        : ({ ...g, ...options, ...named(how as string[], args) } as O);
    await run(built, g.io);
  };
}

function named(names: readonly string[], args: readonly unknown[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  names.forEach((name, i) => {
    if (args[i] !== undefined) out[name] = args[i];
  });
  return out;
}

function globals(command: Command): Globals {
  const options = command.optsWithGlobals<GlobalOptions & Record<string, unknown>>();
  return { ...options, io: processIo(options.json ?? false) };
}

/** `--data`, else $CONCORDAT_DATA, else ./data (an empty value counts as unset). */
export function dataDir(g: Globals): string {
  return g.data || process.env.CONCORDAT_DATA || "./data";
}
