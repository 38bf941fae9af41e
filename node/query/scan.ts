import {
  compareMatches,
  cefrRank,
  DAY_MS,
  withAncestors,
  type AvailabilityMatch,
  type AvailabilityQuery,
  type CompetencyTree,
  type Range,
  type TrainerRecord,
  servedAsAsked,
} from "./model.js";
import { proficiencyOf, servesRegion } from "./shared.js";

/**
 * The reference answer: every trainer examined from its raw record, every time. Deliberately
 * simple and slow — it is what the index must equal (a property test compares them).
 */
export function scanQuery(
  records: readonly TrainerRecord[],
  query: AvailabilityQuery,
  tree: CompetencyTree,
): AvailabilityMatch[] {
  const matches: AvailabilityMatch[] = [];
  for (const record of records) {
    const match = examine(record, query, tree);
    if (match) matches.push(match);
  }
  return matches.sort(compareMatches);
}

function examine(record: TrainerRecord, query: AvailabilityQuery, tree: CompetencyTree): AvailabilityMatch | undefined {
  if (query.hub !== undefined && record.hub !== query.hub) return undefined;
  if (!servedAsAsked(record, query)) return undefined;
  if (query.region !== undefined && !record.regions.some((r) => servesRegion(r, query.region as string)))
    return undefined;
  const proficiency = proficiencyOf(record, query);
  if (query.language && (proficiency < 0 || proficiency < cefrRank(query.language.minLevel))) return undefined;
  const asked = query.competency !== undefined ? [query.competency] : (query.moduleCompetencies ?? []);
  let coverage = 1;
  if (asked.length > 0) {
    const covered = asked.filter((c) => {
      const acceptable = withAncestors(tree, c);
      return record.accreditations.some(
        (a) => acceptable.has(a.competency) && a.validFrom <= query.range.start && a.validUntil >= query.range.end,
      );
    }).length;
    if (covered === 0) return undefined;
    coverage = covered / asked.length;
  }
  if (!freeEnough(record, query)) return undefined;
  const conflicts = [...record.blackouts, ...record.busy].filter((b) => overlaps(b, query.range)).length;
  return { hub: record.hub, id: record.id, coverage, conflicts, proficiency };
}

function overlaps(a: Range, b: Range): boolean {
  return a.start < b.end && b.start < a.end;
}

/** Splits the range at every boundary and looks at each piece: available, and not blocked. */
function freeEnough(record: TrainerRecord, query: AvailabilityQuery): boolean {
  const { start, end } = query.range;
  if (end <= start) return false;
  const points = new Set([start, end]);
  for (const r of [...record.availability, ...record.blackouts, ...record.busy]) {
    if (r.start > start && r.start < end) points.add(r.start);
    if (r.end > start && r.end < end) points.add(r.end);
  }
  const sorted = [...points].sort((a, b) => a - b);
  let run = 0;
  let longest = 0;
  let whole = true;
  for (let i = 0; i + 1 < sorted.length; i += 1) {
    const a = sorted[i] as number;
    const b = sorted[i + 1] as number;
    const available = record.availability.some((r) => r.start <= a && r.end >= b);
    const blocked = [...record.blackouts, ...record.busy].some((r) => r.start < b && r.end > a);
    if (available && !blocked) {
      run += b - a;
      longest = Math.max(longest, run);
    } else {
      run = 0;
      whole = false;
    }
  }
  return query.minConsecutiveDays === undefined ? whole : longest >= query.minConsecutiveDays * DAY_MS;
}
