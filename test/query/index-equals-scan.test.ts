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

const record: fc.Arbitrary<TrainerRecord> = fc.record({
  hub: fc.constantFrom(...HUBS),
  id: fc.constantFrom("t1", "t2", "t3", "t4", "t5", "t6"),
  languages: fc.array(fc.record({ tag: fc.constantFrom(...TAGS), level: fc.constantFrom(...CEFR) }), {
    minLength: 1,
    maxLength: 3,
  }),
  regions: fc.array(fc.constantFrom(...REGIONS), { minLength: 1, maxLength: 3 }),
  // Mostly long windows and short interruptions, so that queries often find someone.
  availability: fc.array(rangeOf(60), { minLength: 1, maxLength: 3 }),
  blackouts: fc.array(rangeOf(4), { maxLength: 2 }),
  busy: fc.array(rangeOf(4), { maxLength: 2 }),
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
});

/** Each filter present only sometimes, so that answers are often non-empty. */
const sometimes = <T>(arbitrary: fc.Arbitrary<T>, percent: number) =>
  fc.oneof({ weight: 100 - percent, arbitrary: fc.constant(undefined) }, { weight: percent, arbitrary });
const query: fc.Arbitrary<AvailabilityQuery> = fc
  .record({
    competency: sometimes(fc.constantFrom(...COMPETENCIES), 30),
    moduleCompetencies: sometimes(fc.uniqueArray(fc.constantFrom(...COMPETENCIES), { minLength: 1, maxLength: 3 }), 25),
    language: sometimes(fc.record({ tag: fc.constantFrom(...TAGS), minLevel: fc.constantFrom(...CEFR) }), 25),
    region: sometimes(fc.constantFrom(...REGIONS), 25),
    hub: sometimes(fc.constantFrom(...HUBS), 25),
    range: rangeOf(8),
    minConsecutiveDays: sometimes(fc.integer({ min: 1, max: 3 }), 40),
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
    return out;
  });

type Step =
  | { kind: "upsert"; record: TrainerRecord }
  | { kind: "remove"; hub: string; id: string }
  | { kind: "query"; query: AvailabilityQuery };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: record.map((r): Step => ({ kind: "upsert", record: r })) },
  {
    weight: 1,
    arbitrary: fc
      .record({ hub: fc.constantFrom(...HUBS), id: fc.constantFrom("t1", "t2", "t3", "t4", "t5", "t6") })
      .map((x): Step => ({ kind: "remove", ...x })),
  },
  { weight: 3, arbitrary: query.map((q): Step => ({ kind: "query", query: q })) },
);

/** About one query in five finds someone with these generators (measured), so matches are exercised, not only empty answers. */
describe("the availability index", () => {
  it("answers every query exactly as the full scan does, after every add, update and removal", () => {
    fc.assert(
      fc.property(
        fc.array(step, { minLength: 1, maxLength: 60 }),
        fc.array(query, { minLength: 1, maxLength: 5 }),
        (steps, finalQueries) => {
          const index = new AvailabilityIndex();
          const records = new Map<string, TrainerRecord>();
          const compare = (q: AvailabilityQuery) => {
            const scanned = scanQuery([...records.values()], q, tree);
            expect(index.query(q, tree)).toEqual(scanned);
            // A page (kept as a bounded buffer while checking) is the same slice of the scan's ranking.
            const page = index.page(q, tree, 1, 2);
            expect(page.matches).toEqual(scanned.slice(1, 3));
            expect(page.total).toBe(scanned.length);
            expect([...page.hubs].sort()).toEqual([...new Set(scanned.map((m) => m.hub))].sort());
          };
          for (const s of steps) {
            if (s.kind === "upsert") {
              index.upsert(s.record);
              records.set(`${s.record.hub}/${s.record.id}`, s.record);
            } else if (s.kind === "remove") {
              index.remove(s.hub, s.id);
              records.delete(`${s.hub}/${s.id}`);
            } else compare(s.query);
            expect(index.size).toBe(records.size);
          }
          for (const q of finalQueries) compare(q);
        },
      ),
      { numRuns: 400 },
    );
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
});
