/** `--from`/`--to` flags as the API's half-open range of instants (the days' rules: cli/day-ranges.ts). */
import { DATE_ONLY, isPlainDate, nextDay } from "./day-ranges.js";
import { CliError, ExitCode } from "./errors.js";

/**
 * A `--from`/`--to` pair for the API: a plain `--to` date includes that day (the API gets the next
 * midnight); plain dates become midnight UTC; values with a time are kept as the instants they are.
 */
export function apiRange(
  from: string,
  to: string,
  flags: { from: string; to: string } = { from: "--from", to: "--to" },
): { from: string; to: string } {
  const f = from.trim();
  const t = to.trim();
  const problems: string[] = [];
  for (const [flag, value] of [
    [flags.from, f],
    [flags.to, t],
  ] as const) {
    if (
      DATE_ONLY.test(value)
        ? !isPlainDate(value)
        : Number.isNaN(Date.parse(value)) || !/T.*(Z|[+-]\d{2}:?\d{2})$/i.test(value)
    ) {
      problems.push(
        `${flag}: '${value}' is neither a date (YYYY-MM-DD, a whole UTC day) nor a date-time with a zone (e.g. 2027-03-01T09:00:00Z)`,
      );
    }
  }
  if (problems.length > 0)
    throw new CliError(
      problems.length === 1 ? (problems[0] as string) : "invalid dates",
      ExitCode.Usage,
      problems.length === 1 ? [] : problems,
    );
  const start = isPlainDate(f) ? `${f}T00:00:00.000Z` : f;
  const end = isPlainDate(t) ? `${nextDay(t)}T00:00:00.000Z` : t;
  if (Date.parse(end) <= Date.parse(start)) {
    throw new CliError(
      `${flags.to} (${t}) is before ${flags.from} (${f})${isPlainDate(t) ? ` (${flags.to} is the last day, included)` : ""}`,
      ExitCode.Usage,
    );
  }
  return { from: start, to: end };
}
