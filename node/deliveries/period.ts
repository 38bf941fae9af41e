import type { FieldViolation } from "../errors.js";
import { quote } from "../text.js";
import { isDay } from "./model.js";

/** Reporting periods: a year, a half, a quarter, a month, or two dates. */
export interface Period {
  /** As given: `2026-Q1`, `2026-H2`, `2026-03`, `2026` or `2026-01-01..2026-03-31`. */
  label: string;
  from: string;
  to: string;
}

const pad = (n: number) => String(n).padStart(2, "0");
const lastDay = (year: number, month: number) => new Date(Date.UTC(year, month, 0)).getUTCDate();

/** A period from its label; a violation naming the field when it is not one. */
export function parsePeriod(label: string, field: string, violations: FieldViolation[]): Period | undefined {
  const months = (year: number, first: number, last: number): Period => ({
    label,
    from: `${year}-${pad(first)}-01`,
    to: `${year}-${pad(last)}-${pad(lastDay(year, last))}`,
  });
  let m: RegExpMatchArray | null;
  if ((m = /^(\d{4})$/.exec(label))) return months(Number(m[1]), 1, 12);
  if ((m = /^(\d{4})-Q([1-4])$/i.exec(label))) return months(Number(m[1]), Number(m[2]) * 3 - 2, Number(m[2]) * 3);
  if ((m = /^(\d{4})-H([12])$/i.exec(label))) return months(Number(m[1]), Number(m[2]) * 6 - 5, Number(m[2]) * 6);
  if ((m = /^(\d{4})-(0[1-9]|1[0-2])$/.exec(label))) return months(Number(m[1]), Number(m[2]), Number(m[2]));
  if ((m = /^(\S+)\.\.(\S+)$/.exec(label)) && isDay(m[1] as string) && isDay(m[2] as string)) {
    if ((m[2] as string) < (m[1] as string)) {
      violations.push({ field, description: `${quote(label)} ends before it starts` });
      return undefined;
    }
    return { label, from: m[1] as string, to: m[2] as string };
  }
  violations.push({
    field,
    description: `${quote(label)} is not a period: give 2026, 2026-Q1, 2026-H1, 2026-03 or 2026-01-01..2026-03-31`,
  });
  return undefined;
}
