import Table from "cli-table3";
import { showJson, showText } from "../node/text.js";

/**
 * Where a command writes: people get tables and sentences, scripts get JSON with `--json`.
 *
 * Much of what a command prints came from a node, and some of it from other hubs: every helper
 * here shows it through node/text.ts, so that no control character, terminal escape or
 * bidirectional override reaches the terminal as itself (`\x1b`, `\u202e` are printed instead).
 * Commands write through these helpers only.
 */
export interface Io {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  json: boolean;
}

export function processIo(json: boolean): Io {
  return { stdout: process.stdout, stderr: process.stderr, json };
}

/** JSON for scripts; DEL, C1 and bidirectional controls are escaped as \uXXXX (the value is unchanged). */
export function printJson(io: Io, value: unknown): void {
  io.stdout.write(`${showJson(JSON.stringify(value, null, 2))}\n`);
}

/** JSON text as a node sent it (a CASE package, a credential), escaped like printJson's. */
export function printJsonText(io: Io, json: string): void {
  io.stdout.write(showJson(json.endsWith("\n") ? json : `${json}\n`));
}

/** Other text as it is (CSV, iCalendar), with control and bidirectional characters shown as escapes. */
export function printText(io: Io, text: string): void {
  io.stdout.write(showText(text));
}

export function printLine(io: Io, text: string): void {
  io.stdout.write(`${showText(text)}\n`);
}

/** A message for people on stderr (progress, notices), shown like printLine's. */
export function printNotice(io: Io, text: string): void {
  io.stderr.write(`${showText(text)}\n`);
}

export function printTable(io: Io, head: string[], rows: string[][]): void {
  const table = new Table({
    head: head.map(showText),
    style: { head: io.stdout.isTTY ? ["cyan"] : [], border: io.stdout.isTTY ? ["grey"] : [] },
  });
  table.push(...rows.map((row) => row.map(showText)));
  io.stdout.write(`${table.toString()}\n`);
}

/** Prints a value as JSON with --json, or as `key: value` lines for people. */
export function printRecord(io: Io, value: Record<string, unknown>, human?: Array<[string, string]>): void {
  if (io.json) {
    printJson(io, value);
    return;
  }
  const lines =
    human ??
    Object.entries(value).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)] as [string, string]);
  const width = Math.max(...lines.map(([k]) => k.length));
  for (const [k, v] of lines) printLine(io, `${k.padEnd(width)}  ${v}`);
}
