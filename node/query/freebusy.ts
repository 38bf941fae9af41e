import { merge, mergeWithin, subtract } from "./intervals.js";
import { DAY_MS, type Range } from "./model.js";

/**
 * Free/busy as iCalendar (RFC 5545 VFREEBUSY, published as RFC 5546 METHOD:PUBLISH): busy periods
 * only, never what a trainer is busy with. FBTYPE BUSY for confirmed engagements, BUSY-TENTATIVE for
 * tentative ones, BUSY-UNAVAILABLE for blackouts and for time outside the declared availability
 * windows. One period per FREEBUSY line, every line in ascending order of start (RFC 5546 3.3.1:
 * several periods on one line are legal but some parsers drop all but the first). ORGANIZER is the
 * trainer's home hub, the originator of the busy time: `urn:concordat:hub:<hub-id>`, with the hub's
 * charter name as CN. A trainer with no busy time in the range gets no FREEBUSY line at all.
 */
export interface FreeBusyInput {
  /** The trainer's home hub: the ORGANIZER. */
  hub: string;
  /** Its name in the charter (ORGANIZER's CN), when known. */
  hubName?: string | undefined;
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

/** A TEXT value (RFC 5545 3.3.11): backslash, semicolon, comma and line breaks escaped, other controls but tab dropped. */
function escapeText(value: string): string {
  return value
    .replace(/\\/g, "\\\\")
    .replace(/;/g, "\\;")
    .replace(/,/g, "\\,")
    .replace(/\r\n|\r|\n/g, "\\n")
    .replace(/\p{Cc}/gu, (c) => (c === "\t" ? c : ""));
}

/**
 * A parameter value (RFC 5545 3.2), written so that common parsers read it alike: DQUOTE and
 * controls cannot appear in one even quoted (DQUOTE becomes an apostrophe, a control a space); "^"
 * would be read as an RFC 6868 escape by some parsers and not others (an apostrophe too); ";" splits
 * parameters in some parsers even inside quotes (a comma); quoted when it holds ":" or ",".
 */
function paramValue(value: string): string {
  const clean = value
    .replace(/\p{Cc}/gu, " ")
    .replace(/["^]/g, "'")
    .replace(/;/g, ",");
  return /[:,]/.test(clean) ? `"${clean}"` : clean;
}

/** ORGANIZER: the hub as a URN, with its name as CN when it has one. */
function organizer(hub: string, name: string | undefined): string {
  const cn = name?.trim() ? `;CN=${paramValue(name.trim())}` : "";
  return `ORGANIZER${cn}:urn:concordat:hub:${encodeURIComponent(hub)}`;
}

const FBTYPE_ORDER = ["BUSY", "BUSY-TENTATIVE", "BUSY-UNAVAILABLE"] as const;
type FbType = (typeof FBTYPE_ORDER)[number];

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
  const busy: { type: FbType; range: Range }[] = [
    ...mergeWithin(input.confirmed, range).map((r) => ({ type: "BUSY" as const, range: r })),
    ...mergeWithin(input.tentative, range).map((r) => ({ type: "BUSY-TENTATIVE" as const, range: r })),
    ...mergeWithin([...gaps(input.availability, range), ...input.blackouts], range).map((r) => ({
      type: "BUSY-UNAVAILABLE" as const,
      range: r,
    })),
  ];
  busy.sort(
    (a, b) =>
      a.range.start - b.range.start ||
      a.range.end - b.range.end ||
      FBTYPE_ORDER.indexOf(a.type) - FBTYPE_ORDER.indexOf(b.type),
  );
  const lines = [
    "BEGIN:VCALENDAR",
    "VERSION:2.0",
    "PRODID:-//Concordat//Free-busy//EN",
    "METHOD:PUBLISH",
    "BEGIN:VFREEBUSY",
    `UID:${escapeText(`${input.hub}.${input.trainerId}.${utc(range.start)}.${utc(range.end)}@concordat`)}`,
    `DTSTAMP:${utc(input.now ?? Date.now())}`,
    `DTSTART:${utc(range.start)}`,
    `DTEND:${utc(range.end)}`,
    organizer(input.hub, input.hubName),
    `COMMENT:${escapeText(`urn:concordat:trainer:${input.hub}:${input.trainerId}`)}`,
    ...busy.map((b) => `FREEBUSY;FBTYPE=${b.type}:${utc(b.range.start)}/${utc(b.range.end)}`),
    "END:VFREEBUSY",
    "END:VCALENDAR",
  ];
  return `${lines.map(fold).join("\r\n")}\r\n`;
}

export const MAX_FREEBUSY_DAYS = 366;
export const MAX_FREEBUSY_MS = MAX_FREEBUSY_DAYS * DAY_MS;
