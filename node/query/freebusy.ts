import { merge, mergeWithin, subtract } from "./intervals.js";
import { DAY_MS, type Range } from "./model.js";

/**
 * Free/busy as iCalendar (RFC 5545 VFREEBUSY): busy periods only, never what a trainer is busy
 * with. FBTYPE BUSY for confirmed engagements, BUSY-TENTATIVE for tentative ones, BUSY-UNAVAILABLE
 * for blackouts and for time outside the declared availability windows.
 */
export interface FreeBusyInput {
  hub: string;
  trainerId: string;
  range: Range;
  availability: readonly Range[];
  blackouts: readonly Range[];
  tentative: readonly Range[];
  confirmed: readonly Range[];
  now?: number;
}

/** The parts of `within` that no range of `ranges` covers. */
function gaps(ranges: readonly Range[], within: Range): Range[] {
  return subtract([within], merge(ranges));
}

/** 20270301T000000Z */
function utc(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}Z$/, "Z");
}

/** Folds a content line at 75 octets (RFC 5545 3.1). */
function fold(line: string): string {
  const bytes = Buffer.from(line, "utf8");
  if (bytes.length <= 75) return line;
  const parts: string[] = [];
  let start = 0;
  while (start < bytes.length) {
    let end = Math.min(bytes.length, start + (start === 0 ? 75 : 74));
    while (end < bytes.length && ((bytes[end] as number) & 0xc0) === 0x80) end -= 1; // never inside a UTF-8 sequence
    parts.push(bytes.subarray(start, end).toString("utf8"));
    start = end;
  }
  return parts.join("\r\n ");
}

export function toVFreeBusy(input: FreeBusyInput): string {
  const { range } = input;
  const periods = (type: string, ranges: Range[]) =>
    ranges.length === 0
      ? []
      : [`FREEBUSY;FBTYPE=${type}:${ranges.map((r) => `${utc(r.start)}/${utc(r.end)}`).join(",")}`];
  const lines = [
    "BEGIN:VCALENDAR",
    "VERSION:2.0",
    "PRODID:-//Concordat//Free-busy//EN",
    "METHOD:PUBLISH",
    "BEGIN:VFREEBUSY",
    `UID:${input.hub}.${input.trainerId}.${utc(range.start)}.${utc(range.end)}@concordat`,
    `DTSTAMP:${utc(input.now ?? Date.now())}`,
    `DTSTART:${utc(range.start)}`,
    `DTEND:${utc(range.end)}`,
    `COMMENT:urn:concordat:trainer:${input.hub}:${input.trainerId}`,
    ...periods("BUSY", mergeWithin(input.confirmed, range)),
    ...periods("BUSY-TENTATIVE", mergeWithin(input.tentative, range)),
    ...periods("BUSY-UNAVAILABLE", mergeWithin([...gaps(input.availability, range), ...input.blackouts], range)),
    "END:VFREEBUSY",
    "END:VCALENDAR",
  ];
  return `${lines.map(fold).join("\r\n")}\r\n`;
}

export const MAX_FREEBUSY_DAYS = 366;
export const MAX_FREEBUSY_MS = MAX_FREEBUSY_DAYS * DAY_MS;
