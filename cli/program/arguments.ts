/** Parsers of option values shared by the command groups (commander's `argParser`s). */
import { CliError, ExitCode } from "../errors.js";

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new CliError(`'${value}' is not a positive whole number`, ExitCode.Usage);
  return n;
}

export function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new CliError(`'${value}' is not a whole number (0 or more)`, ExitCode.Usage);
  return n;
}

/** Repeatable: `--addr a --addr b`. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Repeatable and comma-separated: `--listen a --listen b` or `--listen a,b`. */
export function collectList(value: string, previous: string[] = []): string[] {
  return [
    ...previous,
    ...value
      .split(",")
      .map((v) => v.trim())
      .filter((v) => v !== ""),
  ];
}

export function port(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535)
    throw new CliError(`'${value}' is not a port (a whole number from 0 to 65535)`, ExitCode.Usage);
  return n;
}
