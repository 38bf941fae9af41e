import { describe, expect, it } from "vitest";
import {
  AvailabilityIndex,
  CEFR,
  DAY_MS,
  scanQuery,
  type AvailabilityQuery,
  type CompetencyTree,
  type TrainerRecord,
} from "../../node/query/index.js";

const PARENTS: Record<string, string[]> = { "hr-1": ["hr"], "uf-1": ["uf"] };
const tree: CompetencyTree = { parents: (c) => PARENTS[c] ?? [] };
const day = (n: number) => Date.UTC(2027, 0, 1) + n * DAY_MS;

/** 3 hubs × 2,000 trainers, free the whole of January but for a few blocked days; ties in every rank. */
function roster(): TrainerRecord[] {
  let seed = 12345;
  const next = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  const records: TrainerRecord[] = [];
  for (const hub of ["h1", "h2", "h3"])
    for (let i = 0; i < 2000; i += 1) {
      const blocked = next(4) === 0 ? [{ start: day(next(28)), end: day(0) + 0 }] : [];
      for (const b of blocked) b.end = b.start + (1 + next(3)) * DAY_MS;
      records.push({
        hub,
        id: `t${String(next(100_000)).padStart(5, "0")}-${i}`,
        languages: [{ tag: next(2) ? "en" : "fr", level: CEFR[2 + next(4)] as string }],
        regions: ["KE"],
        availability: [{ start: day(0), end: day(31) }],
        blackouts: blocked,
        busy: [],
        accreditations: [
          { scheme: "s", competency: "hr-1", level: "1", validFrom: day(0), validUntil: day(365) },
          // About one in 40 also holds uf-1: a sparse class, sorted rather than walked.
          ...(next(40) === 0
            ? [{ scheme: "s", competency: "uf-1", level: "1", validFrom: day(0), validUntil: day(365) }]
            : []),
        ],
      });
    }
  return records;
}

describe("a page of a wide query", () => {
  const records = roster();
  const index = new AvailabilityIndex({ now: () => day(0) });
  for (const r of records) index.upsert(r);

  const cases: Array<[string, AvailabilityQuery]> = [
    ["dates only", { range: { start: day(3), end: day(6) } }],
    ["a competency everyone holds", { competency: "hr-1", range: { start: day(10), end: day(12) } }],
    ["a competency few hold", { competency: "uf-1", range: { start: day(10), end: day(12) } }],
    [
      "a module (two coverage classes)",
      { moduleCompetencies: ["hr-1", "uf-1"], range: { start: day(1), end: day(4) } },
    ],
    ["a language at a level", { language: { tag: "fr", minLevel: "C1" }, range: { start: day(2), end: day(9) } }],
    ["a run of days (conflicts vary)", { range: { start: day(0), end: day(20) }, minConsecutiveDays: 5 }],
  ];

  it.each(cases)("%s: reads about a page of trainers, and answers as the scan does", (_, query) => {
    const scanned = scanQuery(records, query, tree);
    expect(scanned.length).toBeGreaterThan(100);
    const hubs = [...new Set(scanned.map((m) => m.hub))].sort();
    for (const [offset, size] of [
      [0, 50],
      [50, 50],
      [scanned.length - 10, 50],
    ] as Array<[number, number]>) {
      const page = index.page(query, tree, offset, size);
      expect(page.matches).toEqual(scanned.slice(offset, offset + size));
      expect(page.total).toBe(scanned.length);
      expect([...page.hubs].sort()).toEqual(hubs);
    }
    // The first page looks at about a page of trainers one by one (the walk stops after it), and
    // not at the thousands of matches.
    expect(index.examined(query, tree, 0, 50)).toBeLessThanOrEqual(query.minConsecutiveDays ? 120 : 50);
    expect(index.examined(query, tree, 50, 50)).toBeLessThanOrEqual(query.minConsecutiveDays ? 170 : 100);
  });
});
