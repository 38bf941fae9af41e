import { afterAll, beforeAll, describe, expect, it } from "vitest";
import ICAL from "ical.js";
import nodeIcal from "node-ical";
import { trainersFreeBusyCommand } from "../../cli/commands/find.js";
import { type FreeBusyInput, toVFreeBusy } from "../../node/query/freebusy.js";
import { draft, startFederationWith, waitUntil, type StartedFederation } from "../helpers/federation.js";
import { makeClients, refusedFields } from "../helpers/harness.js";
import { memoryIo } from "../helpers/io.js";

/**
 * Free/busy as other tools read it: our VFREEBUSY parsed by two independent iCalendar parsers
 * (Mozilla's ical.js and node-ical) must give exactly the busy periods the node holds, and respect
 * what RFC 5545 (lines, folding, escaping) and RFC 5546 (METHOD:PUBLISH for VFREEBUSY) require.
 */

interface Period {
  type: string;
  start: string;
  end: string;
}
interface Read {
  method: string;
  organizer: string;
  cn: string | undefined;
  uid: string;
  comment: string;
  periods: Period[];
}
type Range = { start: number; end: number };

const TYPE_ORDER = ["BUSY", "BUSY-TENTATIVE", "BUSY-UNAVAILABLE"];
const iso = (ms: number) => new Date(ms).toISOString();
const at = (text: string) => Date.parse(text);

function byICALjs(text: string): Read {
  const calendar = new ICAL.Component(ICAL.parse(text) as unknown as unknown[]);
  const vfreebusy = calendar.getAllSubcomponents("vfreebusy");
  expect(vfreebusy).toHaveLength(1);
  const fb = vfreebusy[0] as ICAL.Component;
  const organizer = fb.getFirstProperty("organizer");
  return {
    method: String(calendar.getFirstPropertyValue("method")),
    organizer: String(organizer?.getFirstValue()),
    cn: organizer?.getParameter("cn") as string | undefined,
    uid: String(fb.getFirstPropertyValue("uid")),
    comment: String(fb.getFirstPropertyValue("comment")),
    periods: fb.getAllProperties("freebusy").flatMap((p) =>
      p.getValues().map((v) => ({
        type: String(p.getParameter("fbtype")),
        start: (v as ICAL.Period).start.toJSDate().toISOString(),
        end: (v as ICAL.Period).getEnd().toJSDate().toISOString(),
      })),
    ),
  };
}

interface NodeIcalFreeBusy {
  type: string;
  uid: string;
  method?: string;
  comment?: string;
  organizer?: { params?: { CN?: unknown }; val: string } | string;
  freebusy?: Array<{ type: string; start: Date; end: Date }>;
}

function byNodeIcal(text: string): Read {
  const parsed = nodeIcal.sync.parseICS(text) as unknown as Record<string, { type: string; method?: string }>;
  const found = Object.values(parsed).filter((c) => c.type === "VFREEBUSY") as unknown as NodeIcalFreeBusy[];
  expect(found).toHaveLength(1);
  const fb = found[0] as NodeIcalFreeBusy;
  const organizer = fb.organizer;
  return {
    method: String(parsed.vcalendar?.method),
    organizer: typeof organizer === "string" ? organizer : String(organizer?.val),
    cn: typeof organizer === "object" && organizer.params?.CN !== undefined ? String(organizer.params.CN) : undefined,
    uid: fb.uid,
    comment: String(fb.comment),
    periods: (fb.freebusy ?? []).map((p) => ({ type: p.type, start: p.start.toISOString(), end: p.end.toISOString() })),
  };
}

/** A deliberately plain union: sort, then join what overlaps or touches; clipped to `within`. */
function union(ranges: readonly Range[], within: Range): Range[] {
  const clipped = ranges
    .map((r) => ({ start: Math.max(r.start, within.start), end: Math.min(r.end, within.end) }))
    .filter((r) => r.start < r.end)
    .sort((a, b) => a.start - b.start);
  const out: Range[] = [];
  for (const r of clipped) {
    const last = out.at(-1);
    if (last && r.start <= last.end) last.end = Math.max(last.end, r.end);
    else out.push({ ...r });
  }
  return out;
}

/** What the busy periods must be, computed apart from the code under test. */
function expected(input: Omit<FreeBusyInput, "hub" | "trainerId">): Period[] {
  const { range } = input;
  const windows = union(input.availability, range);
  const outside: Range[] = [];
  let cursor = range.start;
  for (const w of windows) {
    if (w.start > cursor) outside.push({ start: cursor, end: w.start });
    cursor = Math.max(cursor, w.end);
  }
  if (cursor < range.end) outside.push({ start: cursor, end: range.end });
  const typed = (type: string, ranges: Range[]) =>
    union(ranges, range).map((r) => ({ type, start: iso(r.start), end: iso(r.end) }));
  return [
    ...typed("BUSY", [...input.confirmed]),
    ...typed("BUSY-TENTATIVE", [...input.tentative]),
    ...typed("BUSY-UNAVAILABLE", [...outside, ...input.blackouts]),
  ].sort(
    (a, b) =>
      a.start.localeCompare(b.start) ||
      a.end.localeCompare(b.end) ||
      TYPE_ORDER.indexOf(a.type) - TYPE_ORDER.indexOf(b.type),
  );
}

/** RFC 5545 lines and RFC 5546 PUBLISH rules that a parser may forgive but another tool may not. */
function checkWire(text: string): void {
  expect(text.endsWith("\r\n")).toBe(true);
  expect(text.replace(/\r\n/g, "")).not.toMatch(/[\r\n]/); // CRLF only
  const physical = text.slice(0, -2).split("\r\n");
  for (const line of physical) expect(Buffer.byteLength(line, "utf8")).toBeLessThanOrEqual(75);
  const lines = text
    .slice(0, -2)
    .replace(/\r\n[ \t]/g, "")
    .split("\r\n");
  const named = (name: string) => lines.filter((l) => l.split(/[;:]/)[0] === name);
  expect(named("METHOD")).toEqual(["METHOD:PUBLISH"]);
  expect(named("VERSION")).toEqual(["VERSION:2.0"]);
  expect(named("PRODID")).toHaveLength(1);
  for (const required of ["DTSTAMP", "DTSTART", "DTEND", "ORGANIZER", "UID"]) expect(named(required)).toHaveLength(1);
  for (const utc of ["DTSTAMP", "DTSTART", "DTEND"]) expect(named(utc)[0]).toMatch(/:\d{8}T\d{6}Z$/);
  expect(named("COMMENT").length).toBeLessThanOrEqual(1);
  for (const banned of ["ATTENDEE", "DURATION", "REQUEST-STATUS", "SUMMARY", "DESCRIPTION", "LOCATION"])
    expect(named(banned)).toEqual([]);
  // One period per FREEBUSY line, BUSY* types only, in ascending order.
  const periods = named("FREEBUSY").map((l) => {
    const m = /^FREEBUSY;FBTYPE=(BUSY|BUSY-TENTATIVE|BUSY-UNAVAILABLE):(\d{8}T\d{6}Z)\/(\d{8}T\d{6}Z)$/.exec(l);
    expect(m, l).not.toBeNull();
    return `${m?.[2]}/${m?.[3]}`;
  });
  expect(periods).toEqual([...periods].sort());
}

function bothRead(text: string): Read {
  checkWire(text);
  const a = byICALjs(text);
  const b = byNodeIcal(text);
  expect(b).toEqual(a);
  return a;
}

/** A small deterministic generator: the same "random" calendar on every run. */
function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function randomRanges(next: () => number, count: number, within: Range, maxHours: number): Range[] {
  const hour = 3_600_000;
  return Array.from({ length: count }, () => {
    const start = within.start + Math.floor(next() * ((within.end - within.start) / hour)) * hour;
    return { start, end: start + (1 + Math.floor(next() * maxHours)) * hour };
  });
}

describe("free/busy export read by two independent iCalendar parsers", () => {
  const range = { start: at("2027-01-01T00:00:00Z"), end: at("2027-04-01T00:00:00Z") };

  it("gives every busy period, of every type, across days and overlapping, one per line in ascending order", () => {
    for (const seed of [1, 2, 3, 42, 2027]) {
      const next = seeded(seed);
      const input = {
        range,
        availability: randomRanges(next, 25, range, 24 * 6),
        blackouts: randomRanges(next, 15, range, 60),
        tentative: randomRanges(next, 12, range, 30),
        confirmed: randomRanges(next, 12, range, 80),
        now: at("2026-12-07T00:00:00Z"),
      };
      const text = toVFreeBusy({ hub: "hub-b", hubName: "Hub b", trainerId: `T-${seed}`, ...input });
      const read = bothRead(text);
      const want = expected(input);
      expect(want.length).toBeGreaterThan(20);
      expect(new Set(want.map((p) => p.type)).size).toBe(3);
      expect(read.periods).toEqual(want);
      expect(read.method).toBe("PUBLISH");
      expect(read.organizer).toBe("urn:concordat:hub:hub-b");
      expect(read.cn).toBe("Hub b");
    }
  });

  it("a trainer with no busy time: a valid VFREEBUSY with no period", () => {
    const text = toVFreeBusy({
      hub: "hub-b",
      trainerId: "T-free",
      range,
      availability: [{ start: range.start - 1, end: range.end + 1 }],
      blackouts: [],
      tentative: [],
      confirmed: [],
    });
    const read = bothRead(text);
    expect(read.periods).toEqual([]);
    expect(read.cn).toBeUndefined();
  });

  it("escapes TEXT, folds long lines at 75 octets without splitting a character, and writes a hub name both parsers read alike", () => {
    const name = `Centre "Ubuntu"; Nairobi, Kenya: formation ^n droits humains — ${"é".repeat(40)}`;
    const trainerId = "T:1,x;y\\z\r\nATTENDEE:mailto:x@example.org";
    const text = toVFreeBusy({
      hub: "hub-b",
      hubName: name,
      trainerId,
      range,
      availability: [],
      blackouts: [],
      tentative: [],
      confirmed: [],
    });
    const read = bothRead(text);
    expect(read.periods).toEqual([{ type: "BUSY-UNAVAILABLE", start: iso(range.start), end: iso(range.end) }]);
    // Characters a parameter cannot carry alike in every parser are replaced; the rest is kept.
    expect(read.cn).toBe(`Centre 'Ubuntu', Nairobi, Kenya: formation 'n droits humains — ${"é".repeat(40)}`);
    // A line break in a value stays inside it: no line of its own, read back as it was.
    expect(read.comment).toBe(`urn:concordat:trainer:hub-b:${trainerId.replace("\r\n", "\n")}`);
    expect(text).not.toMatch(/\r\nATTENDEE/);
    expect(text.split("\r\n").some((l) => l.startsWith(" "))).toBe(true); // something was folded
  });
});

describe("free/busy of a real node's trainers, exported through the CLI, read by both parsers", () => {
  let fed: StartedFederation;
  const a = () => fed.byName("a");
  const b = () => fed.byName("b");
  const range = { start: at("2027-01-01T00:00:00Z"), end: at("2027-03-01T00:00:00Z") };
  const next = seeded(7);
  const toText = (r: Range) => ({ start: iso(r.start), end: iso(r.end) });
  const busyDraft = {
    availability: randomRanges(next, 30, range, 24 * 4).map(toText),
    blackouts: randomRanges(next, 20, range, 40).map(toText),
  };
  const freeDraft = { availability: [toText({ start: range.start, end: range.end })], blackouts: [] };

  beforeAll(async () => {
    fed = await startFederationWith(
      ["s", "a", "b"],
      [
        ["a", "s"],
        ["b", "s"],
      ],
    );
    await b().node.running.roster.add({ ...draft("B-BUSY"), ...busyDraft }, "op");
    await b().node.running.roster.add({ ...draft("B-FREE"), ...freeDraft }, "op");
    await b().node.running.checkpointer.flush();
  }, 90_000);
  afterAll(async () => {
    await fed?.stop();
  });

  const exported = async (id: string) => {
    const io = memoryIo(false);
    await trainersFreeBusyCommand(
      {
        api: a().node.address,
        token: a().node.adminToken,
        id,
        hub: "hub-b",
        from: iso(range.start),
        to: iso(range.end),
      },
      io,
    );
    return io.out();
  };

  it("another hub exports what the home hub holds: every period, and none for a free trainer", async () => {
    await waitUntil(
      "a to know b's trainers",
      async () => {
        try {
          await exported("B-BUSY");
          await exported("B-FREE");
          return true;
        } catch {
          return false;
        }
      },
      20_000,
    );
    // What the home node holds, as its roster API gives it back.
    const held = b().node.running.roster.get("B-BUSY", false);
    const ranges = (rs: ReadonlyArray<{ start: string; end: string }>) =>
      rs.map((r) => ({ start: at(r.start), end: at(r.end) }));
    const want = expected({
      range,
      availability: ranges(held.availability),
      blackouts: ranges(held.blackouts),
      tentative: [],
      confirmed: [],
    });
    expect(want.length).toBeGreaterThan(15);
    const busy = bothRead(await exported("B-BUSY"));
    expect(busy.periods).toEqual(want);
    expect(busy.organizer).toBe("urn:concordat:hub:hub-b");
    expect(busy.cn).toBe("Hub b");
    expect(busy.comment).toBe("urn:concordat:trainer:hub-b:B-BUSY");
    expect(bothRead(await exported("B-FREE")).periods).toEqual([]);
  });

  it("a generic gRPC client cannot smuggle lines into the calendar through the trainer id", async () => {
    const raw = makeClients(a().node.address, a().node.adminToken);
    try {
      const sent = raw.availability.trainerFreeBusy({
        hub: "hub-b",
        trainerId: "B-BUSY\r\nATTENDEE:mailto:x@example.org",
        from: iso(range.start),
        to: iso(range.end),
      });
      const refused = await refusedFields(sent);
      expect(refused).toHaveLength(1);
      expect(refused[0]).toMatch(/^trainer_id: /);
    } finally {
      raw.close();
    }
  });
});
