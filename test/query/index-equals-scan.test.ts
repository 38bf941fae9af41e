import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  AvailabilityIndex,
  CEFR,
  DAY_MS,
  scanQuery,
  type AvailabilityQuery,
  type CompetencyTree,
  type Range,
  type TrainerRecord,
} from "../../node/query/index.js";

/** A small framework: hr > hr-1 > hr-1.1, hr > hr-2, uf > uf-1; and a stray item. */
const PARENTS: Record<string, string[]> = { "hr-1": ["hr"], "hr-1.1": ["hr-1"], "hr-2": ["hr"], "uf-1": ["uf"] };
const tree: CompetencyTree = { parents: (c) => PARENTS[c] ?? [] };
const COMPETENCIES = ["hr", "hr-1", "hr-1.1", "hr-2", "uf", "uf-1", "cd-9"];
const HUBS = ["h1", "h2", "h3"];
const REGIONS = ["KE", "KE-30", "UG", "SN", "SN-DK"];
const TAGS = ["en", "fr", "ar", "fr-CA"];
const HOUR = 3_600_000;
/** Modules and countries of deployments (node/roster): few, so that queries for them often match. */
const MODULES = ["m-hr", "m-uf"];
const COUNTRIES = ["KE", "UG", "SN"];

// Coarse times (half days over a month) so that boundaries often coincide: the edge cases.
const HALF_DAY = 12 * HOUR;
const time = fc.integer({ min: 0, max: 60 }).map((h) => h * HALF_DAY);
const rangeOf = (maxHalfDays: number): fc.Arbitrary<Range> =>
  fc
    .tuple(
      time,
      fc.integer({ min: 0, max: maxHalfDays }).map((h) => h * HALF_DAY),
    )
    .map(([start, length]) => ({ start, end: start + length }));

/** Declared windows: usually long ones; sometimes none (a trainer with no free time) or one open for ten years. */
const availability: fc.Arbitrary<Range[]> = fc.oneof(
  { weight: 8, arbitrary: fc.array(rangeOf(60), { minLength: 1, maxLength: 3 }) },
  { weight: 1, arbitrary: fc.constant<Range[]>([]) },
  { weight: 1, arbitrary: time.map((start) => [{ start, end: start + 3650 * DAY_MS }]) },
);

/** Blackouts and engagements: usually half a day to two days; sometimes empty (they still count as conflicts). */
const blocked: fc.Arbitrary<Range> = fc.oneof(
  {
    weight: 9,
    arbitrary: fc
      .tuple(time, fc.integer({ min: 1, max: 4 }))
      .map(([start, h]) => ({ start, end: start + h * HALF_DAY })),
  },
  { weight: 1, arbitrary: rangeOf(4) },
);

const record: fc.Arbitrary<TrainerRecord> = fc
  .record({
    hub: fc.constantFrom(...HUBS),
    id: fc.constantFrom("t1", "t2", "t3", "t4", "t5", "t6"),
    languages: fc.array(fc.record({ tag: fc.constantFrom(...TAGS), level: fc.constantFrom(...CEFR) }), {
      minLength: 1,
      maxLength: 3,
    }),
    regions: fc.array(fc.constantFrom(...REGIONS), { minLength: 1, maxLength: 3 }),
    // Mostly long windows and short interruptions, so that queries often find someone.
    availability,
    blackouts: fc.array(blocked, { maxLength: 2 }),
    busy: fc.array(blocked, { maxLength: 2 }),
    accreditations: fc.array(
      fc.record({
        scheme: fc.constant("s"),
        competency: fc.constantFrom(...COMPETENCIES),
        level: fc.constant("1"),
        validFrom: fc.integer({ min: 0, max: 12 }).map((h) => h * HALF_DAY),
        validUntil: fc.integer({ min: 30, max: 90 }).map((h) => h * HALF_DAY),
      }),
      { minLength: 1, maxLength: 3 },
    ),
    // Deployments: none (as every record before they were kept), or some ending at half-day edges in
    // the generated month, so that "ended before the range starts" often sits right at a range's start.
    deployments: fc.oneof(
      { weight: 1, arbitrary: fc.constant(undefined) },
      {
        weight: 5,
        arbitrary: fc.array(
          fc.record({ module: fc.constantFrom(...MODULES), country: fc.constantFrom(...COUNTRIES), end: time }),
          { maxLength: 4 },
        ),
      },
    ),
  })
  .map((r) => {
    const { deployments, ...rest } = r;
    return deployments === undefined ? rest : { ...rest, deployments };
  });

/** Each filter present only sometimes, so that answers are often non-empty. */
const sometimes = <T>(arbitrary: fc.Arbitrary<T>, percent: number) =>
  fc.oneof({ weight: 100 - percent, arbitrary: fc.constant(undefined) }, { weight: percent, arbitrary });
/** Whole days (as the CLI asks): where the time buckets are exact and a page is walked, not checked. */
const wholeDays: fc.Arbitrary<Range> = fc
  .tuple(fc.integer({ min: 0, max: 28 }), fc.integer({ min: 1, max: 6 }))
  .map(([start, days]) => ({ start: start * DAY_MS, end: (start + days) * DAY_MS }));

const query: fc.Arbitrary<AvailabilityQuery> = fc
  .record({
    competency: sometimes(fc.constantFrom(...COMPETENCIES), 30),
    moduleCompetencies: sometimes(fc.uniqueArray(fc.constantFrom(...COMPETENCIES), { minLength: 1, maxLength: 3 }), 25),
    language: sometimes(fc.record({ tag: fc.constantFrom(...TAGS), minLevel: fc.constantFrom(...CEFR) }), 25),
    region: sometimes(fc.constantFrom(...REGIONS), 25),
    hub: sometimes(fc.constantFrom(...HUBS), 25),
    range: fc.oneof(rangeOf(8), wholeDays),
    minConsecutiveDays: sometimes(fc.integer({ min: 1, max: 3 }), 40),
    deliveredModule: sometimes(fc.constantFrom(...MODULES), 40),
    servedIn: sometimes(fc.constantFrom(...COUNTRIES), 25),
  })
  .map((q) => {
    const out: AvailabilityQuery = { range: q.range };
    // A query asks for a competency or a module, not both.
    if (q.competency !== undefined) out.competency = q.competency;
    else if (q.moduleCompetencies !== undefined) out.moduleCompetencies = q.moduleCompetencies;
    if (q.language) out.language = q.language;
    if (q.region !== undefined) out.region = q.region;
    if (q.hub !== undefined) out.hub = q.hub;
    if (q.minConsecutiveDays !== undefined) out.minConsecutiveDays = q.minConsecutiveDays;
    if (q.deliveredModule !== undefined) out.deliveredModule = q.deliveredModule;
    if (q.servedIn !== undefined) out.servedIn = q.servedIn;
    return out;
  });

/**
 * Dates and nothing else (the case the time buckets are for): ranges from half a day to a month,
 * crossing bucket edges and the horizon's, sometimes open-ended, sometimes asking for a run of days.
 */
const datesOnly: fc.Arbitrary<AvailabilityQuery> = fc
  .record({
    range: fc.oneof(
      { weight: 3, arbitrary: rangeOf(60) },
      { weight: 3, arbitrary: wholeDays },
      { weight: 1, arbitrary: time.map((start) => ({ start, end: start + 3650 * DAY_MS })) },
    ),
    minConsecutiveDays: sometimes(fc.integer({ min: 1, max: 15 }), 40),
  })
  .map((q) => (q.minConsecutiveDays === undefined ? { range: q.range } : q) as AvailabilityQuery);

/**
 * Time buckets the index is built with: a day or a week (the default's length and the alternative
 * measured), half a day (every generated time on an edge) and three days; horizons that cut through
 * the generated month, hold all of it, or miss it.
 */
const weighted = <T>(...choices: Array<[T, number]>) =>
  fc.oneof(...choices.map(([value, weight]) => ({ weight, arbitrary: fc.constant(value) })));
const buckets = fc.record({
  bucketMs: weighted<number>([DAY_MS, 3], [7 * DAY_MS, 1], [HALF_DAY, 2], [3 * DAY_MS, 1]),
  daysBack: weighted<number>([0, 1], [3, 1], [28, 2]),
  daysAhead: weighted<number>([1, 1], [12, 1], [366, 3]),
  // Horizons that hold the generated month (the page walk reads certain matches only within them) or not.
  today: weighted<number>([0, 3], [10, 1], [200, 1]).map((d) => d * DAY_MS),
});

type Step =
  | { kind: "upsert"; record: TrainerRecord }
  | { kind: "remove"; hub: string; id: string }
  | { kind: "query"; query: AvailabilityQuery }
  | { kind: "tick"; ms: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: record.map((r): Step => ({ kind: "upsert", record: r })) },
  {
    weight: 1,
    arbitrary: fc
      .record({ hub: fc.constantFrom(...HUBS), id: fc.constantFrom("t1", "t2", "t3", "t4", "t5", "t6") })
      .map((x): Step => ({ kind: "remove", ...x })),
  },
  { weight: 3, arbitrary: query.map((q): Step => ({ kind: "query", query: q })) },
  { weight: 2, arbitrary: datesOnly.map((q): Step => ({ kind: "query", query: q })) },
  // The clock moves (the horizon slides once it is a week behind), or goes back.
  { weight: 1, arbitrary: fc.integer({ min: -2, max: 12 }).map((d): Step => ({ kind: "tick", ms: d * DAY_MS })) },
);

/** Pages as the API asks for them (its page token is an offset): first, later, partial, past the end, one. */
const PAGES: Array<[number, number]> = [
  [0, 1],
  [0, 3],
  [1, 2],
  [2, 4],
  [5, 50],
  [40, 10],
];

/** About one query in five finds someone with these generators (measured), so matches are exercised, not only empty answers. */
describe("the availability index", () => {
  it("answers every query exactly as the full scan does, after every add, update and removal", () => {
    // How often a page came from the walk of certain matches (read without a check): about one in five
    // answers of two or more (measured), so the walk is exercised, not only the checks.
    let walked = 0;
    let answered = 0;
    // Queries by deployments (delivered a module before, served in a country) that found someone.
    let servedFound = 0;
    fc.assert(
      fc.property(
        buckets,
        fc.array(step, { minLength: 1, maxLength: 60 }),
        fc.array(fc.oneof(query, datesOnly), { minLength: 1, maxLength: 5 }),
        ({ today, ...init }, steps, finalQueries) => {
          let now = today;
          const index = new AvailabilityIndex({ ...init, now: () => now });
          const records = new Map<string, TrainerRecord>();
          const compare = (q: AvailabilityQuery) => {
            const scanned = scanQuery([...records.values()], q, tree);
            expect(index.query(q, tree)).toEqual(scanned);
            // Every page (walked in ranking order from the certain matches, merged with those
            // checked one by one) is the same slice of the scan's ranking, with its total and hubs.
            const hubs = [...new Set(scanned.map((m) => m.hub))].sort();
            for (const [offset, size] of PAGES) {
              const page = index.page(q, tree, offset, size);
              expect(page.matches).toEqual(scanned.slice(offset, offset + size));
              expect(page.total).toBe(scanned.length);
              expect([...page.hubs].sort()).toEqual(hubs);
            }
            if ((q.deliveredModule !== undefined || q.servedIn !== undefined) && scanned.length > 0) servedFound += 1;
            const candidates = index.candidates(q, tree);
            expect(candidates).toBeGreaterThanOrEqual(scanned.length);
            if (scanned.length > 1) {
              answered += 1;
              if (index.examined(q, tree, 0, 1) < scanned.length) walked += 1;
            }
          };
          for (const s of steps) {
            if (s.kind === "upsert") {
              index.upsert(s.record);
              records.set(`${s.record.hub}/${s.record.id}`, s.record);
            } else if (s.kind === "remove") {
              index.remove(s.hub, s.id);
              records.delete(`${s.hub}/${s.id}`);
            } else if (s.kind === "tick") now += s.ms;
            else compare(s.query);
            expect(index.size).toBe(records.size);
          }
          for (const q of finalQueries) compare(q);
        },
      ),
      { numRuns: 400 },
    );
    expect(walked).toBeGreaterThan(answered / 8);
    expect(servedFound).toBeGreaterThan(5);
  });

  it("covers a competency through an accreditation for any of its ancestors, ranks full coverage first, and counts conflicts", () => {
    const index = new AvailabilityIndex();
    const base = {
      languages: [{ tag: "en", level: "C1" }],
      regions: ["KE"],
      availability: [{ start: 0, end: 30 * DAY_MS }],
      blackouts: [],
      busy: [],
    };
    const accredited = (competency: string) => ({
      scheme: "s",
      competency,
      level: "1",
      validFrom: 0,
      validUntil: 40 * DAY_MS,
    });
    index.upsert({ ...base, hub: "h1", id: "root", accreditations: [accredited("hr")] });
    index.upsert({ ...base, hub: "h1", id: "leaf", accreditations: [accredited("hr-1.1")] });
    index.upsert({
      ...base,
      hub: "h2",
      id: "both",
      accreditations: [accredited("hr-1.1"), accredited("uf-1")],
      blackouts: [{ start: 2 * DAY_MS, end: 3 * DAY_MS }],
    });
    const r = { start: DAY_MS, end: 10 * DAY_MS };
    // hr-1.1 is covered by an hr accreditation (its ancestor), not the other way round.
    expect(
      index
        .query({ competency: "hr-1.1", range: r, minConsecutiveDays: 1 }, tree)
        .map((m) => m.id)
        .sort(),
    ).toEqual(["both", "leaf", "root"]);
    expect(index.query({ competency: "hr", range: r }, tree).map((m) => m.id)).toEqual(["root"]);
    // A module of two competencies: full coverage first; conflicts counted.
    const module = index.query({ moduleCompetencies: ["hr-1.1", "uf-1"], range: r, minConsecutiveDays: 2 }, tree);
    expect(module[0]).toMatchObject({ id: "both", coverage: 1, conflicts: 1 });
    expect(module.slice(1).every((m) => m.coverage === 0.5)).toBe(true);
    // The whole range free: the blackout rules "both" out.
    expect(index.query({ moduleCompetencies: ["hr-1.1", "uf-1"], range: r }, tree).map((m) => m.id)).toEqual([
      "leaf",
      "root",
    ]);
  });

  it("examines, for a query on dates alone, only the trainers free on those days, also after the horizon slides", () => {
    const day = (n: number) => Date.UTC(2027, 0, 1) + n * DAY_MS;
    let now = day(0);
    // Day buckets from 28 days back to a year ahead.
    const index = new AvailabilityIndex({ now: () => now });
    const trainer = (id: string, availability: Range[], blackouts: Range[] = []): TrainerRecord => ({
      hub: "h1",
      id,
      languages: [{ tag: "en", level: "C1" }],
      regions: ["KE"],
      availability,
      blackouts,
      busy: [],
      accreditations: [],
    });
    const span = (from: number, to: number): Range => ({ start: day(from), end: day(to) });
    const ids = (prefix: string) => Array.from({ length: 10 }, (_, i) => `${prefix}${i}`);
    // "a": days 10 to 14 and 380 to 400. "b" to "h": days 20 to 40 and 400 to 420. "i": a quarter
    // of day 10 and from its evening to the next noon. "j": days 10 to 14 but day 11 blacked out.
    // "k": no free time at all.
    for (const id of ids("a")) index.upsert(trainer(id, [span(10, 14), span(380, 400)]));
    for (const id of ["b", "c", "d", "e", "f", "g", "h"].flatMap(ids))
      index.upsert(trainer(id, [span(20, 40), span(400, 420)]));
    for (const id of ids("i")) index.upsert(trainer(id, [span(10, 10.25), span(10.75, 11.5)]));
    for (const id of ids("j")) index.upsert(trainer(id, [span(10, 14)], [span(11, 12)]));
    for (const id of ids("k")) index.upsert(trainer(id, []));
    // Churn: an "a" trainer moves to the later windows, a "b" leaves.
    index.upsert(trainer("a9", [span(20, 40), span(400, 420)]));
    index.remove("h1", "b0");
    expect(index.size).toBe(109);

    const ask = (q: AvailabilityQuery) => ({ found: index.query(q, tree).length, examined: index.candidates(q, tree) });
    // Days 10 to 13, whole: the 9 "a" trainers and nobody else.
    expect(ask({ range: span(10, 13) })).toEqual({ found: 9, examined: 9 });
    // Across day edges: those with some free time on each partial day are examined ("i" too).
    expect(ask({ range: span(10.5, 11.25) })).toEqual({ found: 9, examined: 19 });
    // Two consecutive days within days 9 to 14: "a" (4 days) and "j" (2 after its blackout).
    expect(ask({ range: span(9, 14), minConsecutiveDays: 2 })).toEqual({ found: 19, examined: 19 });
    // Later: the 70 trainers of the later window.
    expect(ask({ range: span(25, 27) })).toEqual({ found: 70, examined: 70 });
    // Beyond the horizon (day 394 on) only "free time after it" narrows: "a" is examined too.
    expect(ask({ range: span(405, 407) })).toEqual({ found: 70, examined: 79 });

    // Two months on, the horizon has slid: the days it gained are bucketed for every trainer indexed.
    now = day(60);
    expect(ask({ range: span(405, 407) })).toEqual({ found: 70, examined: 70 });
    // Days 25 and 26 are now before it: everyone with free time before day 32 is examined.
    expect(ask({ range: span(25, 27) })).toEqual({ found: 70, examined: 99 });
  });
});

describe("deployments in the index", () => {
  it("answers queries by deployments exactly as the scan does (trainers free all month, so that answers are rarely empty)", () => {
    const free = record.map((r) => ({ ...r, availability: [{ start: 0, end: 40 * DAY_MS }], blackouts: [], busy: [] }));
    const byDeployments: fc.Arbitrary<AvailabilityQuery> = fc
      .record({
        range: fc.oneof(rangeOf(8), wholeDays),
        deliveredModule: sometimes(fc.constantFrom(...MODULES), 70),
        servedIn: sometimes(fc.constantFrom(...COUNTRIES), 50),
        hub: sometimes(fc.constantFrom(...HUBS), 20),
        minConsecutiveDays: sometimes(fc.integer({ min: 1, max: 2 }), 30),
      })
      .map((q) => {
        const out: AvailabilityQuery = { range: q.range };
        if (q.deliveredModule !== undefined) out.deliveredModule = q.deliveredModule;
        if (q.servedIn !== undefined) out.servedIn = q.servedIn;
        if (q.hub !== undefined) out.hub = q.hub;
        if (q.minConsecutiveDays !== undefined) out.minConsecutiveDays = q.minConsecutiveDays;
        return out;
      });
    let found = 0;
    fc.assert(
      fc.property(
        fc.array(free, { minLength: 1, maxLength: 20 }),
        fc.array(byDeployments, { minLength: 1, maxLength: 8 }),
        (list, queries) => {
          const index = new AvailabilityIndex({ now: () => 0 });
          const records = new Map<string, TrainerRecord>();
          for (const r of list) {
            index.upsert(r);
            records.set(`${r.hub}/${r.id}`, r);
          }
          for (const q of queries) {
            const scanned = scanQuery([...records.values()], q, tree);
            if (scanned.length > 0) found += 1;
            expect(index.query(q, tree)).toEqual(scanned);
            expect(index.page(q, tree, 1, 2).matches).toEqual(scanned.slice(1, 3));
          }
        },
      ),
      { numRuns: 300 },
    );
    expect(found).toBeGreaterThan(100);
  });

  it("finds who delivered a module before the range starts, and who served in a country, as the scan does", () => {
    const index = new AvailabilityIndex({ now: () => 0 });
    const base = {
      hub: "h1",
      languages: [{ tag: "en", level: "C1" }],
      regions: ["KE"],
      availability: [{ start: 0, end: 60 * DAY_MS }],
      blackouts: [],
      busy: [],
      accreditations: [],
    };
    const records: TrainerRecord[] = [
      // delivered m-hr, last day the 4th (ends at the start of the 5th), in Kenya
      { ...base, id: "before", deployments: [{ module: "m-hr", country: "KE", end: 5 * DAY_MS }] },
      // delivered m-hr too, but it ends inside the asked range
      { ...base, id: "during", deployments: [{ module: "m-hr", country: "UG", end: 12 * DAY_MS }] },
      // a record derived before deployments were kept
      { ...base, id: "old" },
    ];
    for (const r of records) index.upsert(r);
    const ids = (q: AvailabilityQuery) => index.query(q, tree).map((m) => m.id);
    const range = { start: 10 * DAY_MS, end: 15 * DAY_MS };
    for (const q of [
      { range, deliveredModule: "m-hr" },
      { range: { start: 12 * DAY_MS, end: 15 * DAY_MS }, deliveredModule: "m-hr" },
      { range, servedIn: "UG" },
      { range, servedIn: "KE", deliveredModule: "m-hr" },
      { range, deliveredModule: "m-uf" },
    ] satisfies AvailabilityQuery[])
      expect(ids(q)).toEqual(scanQuery(records, q, tree).map((m) => m.id));
    expect(ids({ range, deliveredModule: "m-hr" })).toEqual(["before"]);
    // A deployment that ended the day the range starts counts ("before" is up to the range's first instant).
    expect(ids({ range: { start: 12 * DAY_MS, end: 15 * DAY_MS }, deliveredModule: "m-hr" })).toEqual([
      "before",
      "during",
    ]);
    expect(ids({ range, servedIn: "UG" })).toEqual(["during"]);
    expect(ids({ range, deliveredModule: "m-uf" })).toEqual([]);
    index.remove("h1", "during");
    expect(ids({ range, servedIn: "UG" })).toEqual([]);
  });
});
