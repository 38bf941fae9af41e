import Table from "cli-table3";

/** Where a command writes: people get tables and sentences, scripts get JSON with `--json`. */
export interface Io {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  json: boolean;
}

export function processIo(json: boolean): Io {
  return { stdout: process.stdout, stderr: process.stderr, json };
}

export function printJson(io: Io, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function printLine(io: Io, text: string): void {
  io.stdout.write(`${text}\n`);
}

export function printTable(io: Io, head: string[], rows: string[][]): void {
  const table = new Table({ head, style: { head: io.stdout.isTTY ? ["cyan"] : [], border: io.stdout.isTTY ? ["grey"] : [] } });
  table.push(...rows);
  io.stdout.write(`${table.toString()}\n`);
}

/** Prints a value as JSON with --json, or as `key: value` lines for people. */
export function printRecord(io: Io, value: Record<string, unknown>, human?: Array<[string, string]>): void {
  if (io.json) {
    printJson(io, value);
    return;
  }
  const lines = human ?? Object.entries(value).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)] as [string, string]);
  const width = Math.max(...lines.map(([k]) => k.length));
  for (const [k, v] of lines) printLine(io, `${k.padEnd(width)}  ${v}`);
}
