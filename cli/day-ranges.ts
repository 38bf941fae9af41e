/**
 * Day ranges as people read them, over the API's half-open instants (docs/cli.md).
 *
 * The API takes and gives time ranges as half-open UTC instants `[from, to)`. On the command line a
 * range given as plain dates is a range of whole UTC days that includes its last day:
 * `--from 2027-03-01 --to 2027-03-05` is the 1st to the 5th, both included, so the API is asked for
 * `[2027-03-01T00:00Z, 2027-03-06T00:00Z)`. A value with a time (`2027-03-01T09:00:00Z`) is an
 * instant and is passed on unchanged. A range that starts and ends at midnight UTC is printed the
 * same way back: `2027-03-01 – 2027-03-05`; any other range prints its instants.
 *
 * Nothing here loads the CLI's errors or the API: the web console's page bundles it (with the
 * trainer file reader). Flags become ranges in cli/date-flags.ts.
 */

const DAY_MS = 86_400_000;
export const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

/** A real calendar date `YYYY-MM-DD` (V8 would roll 2027-02-30 over into March). */
export function isPlainDate(value: string): boolean {
  if (!DATE_ONLY.test(value)) return false;
  const d = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === value;
}

/** The day after a plain date. */
export function nextDay(date: string): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + DAY_MS).toISOString().slice(0, 10);
}

/** The day before a plain date. */
export function previousDay(date: string): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) - DAY_MS).toISOString().slice(0, 10);
}

/** Midnight UTC, as a date-time or a plain date: the day it starts; otherwise undefined. */
function midnightDay(value: string): string | undefined {
  if (isPlainDate(value)) return value;
  const ms = Date.parse(value);
  if (Number.isNaN(ms) || ms % DAY_MS !== 0) return undefined;
  return new Date(ms).toISOString().slice(0, 10);
}

/**
 * A half-open range as people read it: whole days as `first – last` (the last day included), any
 * other range as its two instants.
 */
export function formatRange(start: string, end: string): string {
  const first = midnightDay(start);
  const after = midnightDay(end);
  if (first !== undefined && after !== undefined && after > first) return `${first} – ${previousDay(after)}`;
  return `${start} – ${end}`;
}

/**
 * A range as a file cell or flag value `start/end`, inverse of `cellRange`: plain dates mean whole
 * days with the last day included, so a stored half-open end that is a plain date is written as the
 * day before it. Anything else is written as stored.
 */
export function toCellRange(range: { start: string; end: string }): { start: string; end: string } {
  if (isPlainDate(range.start) && isPlainDate(range.end) && range.end > range.start)
    return { start: range.start, end: previousDay(range.end) };
  return range;
}

/**
 * A range read from a file cell or flag (`start/end`) as the API's half-open range: when both are
 * plain dates, the end day is included (the API gets the day after). Anything else is passed on as
 * written, for the node to check.
 */
export function cellRange(range: { start: string; end: string }): { start: string; end: string } {
  if (isPlainDate(range.start) && isPlainDate(range.end) && range.end >= range.start)
    return { start: range.start, end: nextDay(range.end) };
  return range;
}
