import {
  cefrRank,
  compareMatches,
  DAY_MS,
  withAncestors,
  type AvailabilityMatch,
  type AvailabilityQuery,
  type CompetencyTree,
  type Range,
  type TrainerRecord,
} from "./model.js";
import { merge, subtract } from "./intervals.js";
import { primaryLanguage, servesRegion } from "./shared.js";

export * from "./model.js";
export { scanQuery } from "./scan.js";

interface Entry {
  record: TrainerRecord;
  /** Available minus blocked: sorted, disjoint. */
  free: Range[];
  /** Raw blackouts and engagements, sorted by start (conflicts count raw intervals). */
  blocked: Range[];
  keys: { competencies: string[]; languages: string[]; countries: string[] };
  /** CEFR rank per primary language, and the best over all: proficiency without a search per query. */
  ranks: Map<string, number>;
  best: number;
}

/** The first index whose range ends after `t` (binary search). */
function firstEndingAfter(ranges: readonly Range[], t: number): number {
  let lo = 0;
  let hi = ranges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((ranges[mid] as Range).end <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const key = (hub: string, id: string) => `${hub}\u0000${id}`;

/**
 * The in-memory availability index: trainers by competency, language, country and hub, each with
 * its free time precomputed as sorted disjoint intervals. A query narrows candidates through the
 * inverted maps, then checks each with binary searches — never a scan of every record. Kept up to
 * date record by record (`upsert`, `remove`); its answers equal `scanQuery`'s (a property test).
 */
export class AvailabilityIndex {
  readonly #entries = new Map<string, Entry>();
  readonly #byCompetency = new Map<string, Set<string>>();
  readonly #byLanguage = new Map<string, Set<string>>();
  readonly #byCountry = new Map<string, Set<string>>();
  readonly #byHub = new Map<string, Set<string>>();

  get size(): number {
    return this.#entries.size;
  }

  upsert(record: TrainerRecord): void {
    this.remove(record.hub, record.id);
    const blocked = [...record.blackouts, ...record.busy].sort((a, b) => a.start - b.start);
    const entry: Entry = {
      record,
      free: subtract(merge(record.availability), merge(blocked)),
      blocked,
      keys: {
        competencies: [...new Set(record.accreditations.map((a) => a.competency))],
        languages: [...new Set(record.languages.map((l) => primaryLanguage(l.tag)))],
        countries: [...new Set(record.regions.map((r) => r.slice(0, 2)))],
      },
      ranks: new Map(),
      best: -1,
    };
    for (const l of record.languages) {
      const lang = primaryLanguage(l.tag);
      const rank = cefrRank(l.level);
      entry.ranks.set(lang, Math.max(entry.ranks.get(lang) ?? -1, rank));
      entry.best = Math.max(entry.best, rank);
    }
    const k = key(record.hub, record.id);
    this.#entries.set(k, entry);
    for (const c of entry.keys.competencies) add(this.#byCompetency, c, k);
    for (const l of entry.keys.languages) add(this.#byLanguage, l, k);
    for (const c of entry.keys.countries) add(this.#byCountry, c, k);
    add(this.#byHub, record.hub, k);
  }

  remove(hub: string, id: string): void {
    const k = key(hub, id);
    const entry = this.#entries.get(k);
    if (!entry) return;
    this.#entries.delete(k);
    for (const c of entry.keys.competencies) drop(this.#byCompetency, c, k);
    for (const l of entry.keys.languages) drop(this.#byLanguage, l, k);
    for (const c of entry.keys.countries) drop(this.#byCountry, c, k);
    drop(this.#byHub, hub, k);
  }

  /** Every trainer of a hub (for replacing a hub's records as of a new checkpoint). */
  idsOf(hub: string): string[] {
    return [...(this.#byHub.get(hub) ?? [])].map((k) => (this.#entries.get(k) as Entry).record.id);
  }

  /** Every match, ranked (what the property test compares with the scan). */
  query(query: AvailabilityQuery, tree: CompetencyTree): AvailabilityMatch[] {
    return this.page(query, tree, 0, Number.POSITIVE_INFINITY).matches;
  }

  /**
   * One page of the ranked matches and how many there are. Only the best `offset + size` are kept
   * while the candidates are checked (a bounded, sorted buffer), so a broad query is not sorted whole.
   */
  page(query: AvailabilityQuery, tree: CompetencyTree, offset: number, size: number): { matches: AvailabilityMatch[]; total: number; hubs: Set<string> } {
    const keep = offset + size;
    const top: AvailabilityMatch[] = [];
    const hubs = new Set<string>();
    let total = 0;
    this.#matches(query, tree, (match) => {
      total += 1;
      hubs.add(match.hub);
      if (top.length >= keep && compareMatches(match, top[top.length - 1] as AvailabilityMatch) >= 0) return;
      // Binary insertion into the buffer (sorted best first).
      let lo = 0;
      let hi = top.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (compareMatches(top[mid] as AvailabilityMatch, match) <= 0) lo = mid + 1;
        else hi = mid;
      }
      top.splice(lo, 0, match);
      if (top.length > keep) top.pop();
    });
    return { matches: top.slice(offset), total, hubs };
  }

  #matches(query: AvailabilityQuery, tree: CompetencyTree, emit: (match: AvailabilityMatch) => void): void {
    const asked = query.competency !== undefined ? [query.competency] : (query.moduleCompetencies ?? []);
    const acceptable = asked.map((c) => withAncestors(tree, c));
    // The narrowest candidate sets first.
    const sets: Array<Set<string>> = [];
    if (query.hub !== undefined) sets.push(this.#byHub.get(query.hub) ?? new Set());
    if (query.language) sets.push(this.#byLanguage.get(primaryLanguage(query.language.tag)) ?? new Set());
    if (query.region !== undefined) sets.push(this.#byCountry.get(query.region.slice(0, 2)) ?? new Set());
    if (asked.length > 0) {
      const union = new Set<string>();
      for (const set of acceptable) for (const c of set) for (const k of this.#byCompetency.get(c) ?? []) union.add(k);
      sets.push(union);
    }
    sets.sort((a, b) => a.size - b.size);
    const [first, ...others] = sets;
    const language = query.language ? primaryLanguage(query.language.tag) : undefined;
    if (!first) {
      for (const entry of this.#entries.values()) {
        const match = this.#check(entry, query, acceptable, language);
        if (match) emit(match);
      }
      return;
    }
    for (const k of first) {
      if (!others.every((s) => s.has(k))) continue;
      const match = this.#check(this.#entries.get(k) as Entry, query, acceptable, language);
      if (match) emit(match);
    }
  }

  #check(entry: Entry, query: AvailabilityQuery, acceptable: Array<Set<string>>, asked: string | undefined): AvailabilityMatch | undefined {
    const { record } = entry;
    const { start, end } = query.range;
    if (query.hub !== undefined && record.hub !== query.hub) return undefined;
    if (query.region !== undefined && !record.regions.some((r) => servesRegion(r, query.region as string))) return undefined;
    const proficiency = asked === undefined ? entry.best : (entry.ranks.get(asked) ?? -1);
    if (query.language && (proficiency < 0 || proficiency < cefrRank(query.language.minLevel))) return undefined;
    let coverage = 1;
    if (acceptable.length > 0) {
      let covered = 0;
      for (const set of acceptable) {
        if (record.accreditations.some((a) => set.has(a.competency) && a.validFrom <= start && a.validUntil >= end)) covered += 1;
      }
      if (covered === 0) return undefined;
      coverage = covered / acceptable.length;
    }
    if (end <= start) return undefined;
    const i = firstEndingAfter(entry.free, start);
    if (query.minConsecutiveDays === undefined) {
      const f = entry.free[i];
      if (!f || f.start > start || f.end < end) return undefined;
    } else {
      let longest = 0;
      for (let j = i; j < entry.free.length && (entry.free[j] as Range).start < end; j += 1) {
        const f = entry.free[j] as Range;
        longest = Math.max(longest, Math.min(f.end, end) - Math.max(f.start, start));
      }
      if (longest < query.minConsecutiveDays * DAY_MS) return undefined;
    }
    let conflicts = 0;
    for (const b of entry.blocked) {
      if (b.start >= end) break;
      if (b.end > start) conflicts += 1;
    }
    return { hub: record.hub, id: record.id, coverage, conflicts, proficiency };
  }
}

function add(map: Map<string, Set<string>>, k: string, v: string): void {
  const set = map.get(k) ?? new Set<string>();
  set.add(v);
  map.set(k, set);
}

function drop(map: Map<string, Set<string>>, k: string, v: string): void {
  const set = map.get(k);
  if (!set) return;
  set.delete(v);
  if (set.size === 0) map.delete(k);
}
