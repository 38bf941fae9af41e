import {
  cefrRank,
  DAY_MS,
  withAncestors,
  type AvailabilityMatch,
  type AvailabilityQuery,
  type CompetencyTree,
  type Range,
  type TrainerRecord,
} from "./model.js";
import { merge, subtract } from "./intervals.js";
import { andInto, Bits, forEachSlot, orInto } from "./bits.js";
import { primaryLanguage, servesRegion } from "./shared.js";
import { TimeBuckets, type TimeBucketsInit } from "./time-buckets.js";

/** The time buckets' horizon and clock (see TimeBuckets); the defaults suit a node. */
export type AvailabilityIndexInit = TimeBucketsInit;

interface Entry {
  record: TrainerRecord;
  /** Available minus blocked: sorted, disjoint. */
  free: Range[];
  /** Raw blackouts and engagements, sorted by start (conflicts count raw intervals). */
  blocked: Range[];
  keys: { competencies: string[]; claimed: string[]; languages: string[]; countries: string[] };
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

/** compareMatches(candidate, m) for a candidate not yet made into an object. */
function compareTo(
  coverage: number,
  conflicts: number,
  proficiency: number,
  hub: string,
  id: string,
  m: AvailabilityMatch,
): number {
  return (
    m.coverage - coverage ||
    conflicts - m.conflicts ||
    m.proficiency - proficiency ||
    (hub < m.hub ? -1 : hub > m.hub ? 1 : 0) ||
    (id < m.id ? -1 : id > m.id ? 1 : 0)
  );
}

type Emit = (entry: Entry, coverage: number, conflicts: number, proficiency: number) => void;

/**
 * The in-memory availability index: trainers by competency, language, country and hub, each with
 * its free time precomputed as sorted disjoint intervals. Each trainer has a slot; the posting lists
 * are bitmaps of slots, so a query narrows its candidates with word-wide ORs (the competencies it
 * accepts) and ANDs (language, country, hub), then checks each candidate with binary searches —
 * never a scan of every record when it filters by anything.
 *
 * Dates narrow first, for every query: free time is posted per day (TimeBuckets) over a horizon
 * around today (4 weeks back, a year ahead, sliding with the clock), as the slots with some free
 * time that day and the slots free all day. A whole-range query ANDs "free all day" for each day
 * inside its range and "some" for the partial days at its ends; a query for consecutive days ORs the
 * days its run could cover. Before and after the horizon, a list of the slots with any free time
 * there stands in. So a query on dates alone examines about the trainers free on those days, not
 * every trainer (`candidates` says how many). Kept up to date record by record (`upsert`,
 * `remove`); its answers equal `scanQuery`'s (a property test).
 */
export class AvailabilityIndex {
  readonly #slots: Array<Entry | undefined> = [];
  readonly #slotOf = new Map<string, number>();
  readonly #freeSlots: number[] = [];
  readonly #byCompetency = new Map<string, Bits>();
  readonly #byLanguage = new Map<string, Bits>();
  readonly #byCountry = new Map<string, Bits>();
  readonly #byHub = new Map<string, Bits>();
  readonly #byClaim = new Map<string, Bits>();
  readonly #perHub = new Map<string, number>();
  readonly #time: TimeBuckets;

  constructor(init: AvailabilityIndexInit = {}) {
    this.#time = new TimeBuckets(init);
  }

  get size(): number {
    return this.#slotOf.size;
  }

  /** How many of a hub's trainers the index holds. */
  sizeOf(hub: string): number {
    return this.#perHub.get(hub) ?? 0;
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
        claimed: [...new Set(record.claimed ?? [])],
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
    const slot = this.#freeSlots.pop() ?? this.#slots.length;
    this.#slots[slot] = entry;
    this.#slotOf.set(key(record.hub, record.id), slot);
    for (const c of entry.keys.competencies) post(this.#byCompetency, c, slot);
    for (const c of entry.keys.claimed) post(this.#byClaim, c, slot);
    for (const l of entry.keys.languages) post(this.#byLanguage, l, slot);
    for (const c of entry.keys.countries) post(this.#byCountry, c, slot);
    post(this.#byHub, record.hub, slot);
    this.#time.add(slot, entry.free);
    this.#perHub.set(record.hub, (this.#perHub.get(record.hub) ?? 0) + 1);
  }

  remove(hub: string, id: string): void {
    const k = key(hub, id);
    const slot = this.#slotOf.get(k);
    if (slot === undefined) return;
    const entry = this.#slots[slot] as Entry;
    this.#slotOf.delete(k);
    this.#slots[slot] = undefined;
    this.#freeSlots.push(slot);
    for (const c of entry.keys.competencies) unpost(this.#byCompetency, c, slot);
    for (const c of entry.keys.claimed) unpost(this.#byClaim, c, slot);
    for (const l of entry.keys.languages) unpost(this.#byLanguage, l, slot);
    for (const c of entry.keys.countries) unpost(this.#byCountry, c, slot);
    unpost(this.#byHub, hub, slot);
    this.#time.delete(slot, entry.free);
    const left = (this.#perHub.get(hub) ?? 1) - 1;
    if (left > 0) this.#perHub.set(hub, left);
    else this.#perHub.delete(hub);
  }

  /** Every match, ranked (what the property test compares with the scan). */
  query(query: AvailabilityQuery, tree: CompetencyTree): AvailabilityMatch[] {
    return this.page(query, tree, 0, Number.POSITIVE_INFINITY).matches;
  }

  /**
   * One page of the ranked matches and how many there are. Only the best `offset + size` are kept
   * while the candidates are checked (a bounded, sorted buffer; a candidate that would not enter it
   * is not even made into an object), so a broad query is not sorted whole.
   */
  page(
    query: AvailabilityQuery,
    tree: CompetencyTree,
    offset: number,
    size: number,
  ): { matches: AvailabilityMatch[]; total: number; hubs: Set<string> } {
    const keep = offset + size;
    const top: AvailabilityMatch[] = [];
    const hubs = new Set<string>();
    let total = 0;
    this.#matches(query, tree, (entry, coverage, conflicts, proficiency) => {
      const { hub, id } = entry.record;
      total += 1;
      hubs.add(hub);
      if (
        top.length >= keep &&
        compareTo(coverage, conflicts, proficiency, hub, id, top[top.length - 1] as AvailabilityMatch) >= 0
      )
        return;
      // Binary insertion into the buffer (sorted best first).
      let lo = 0;
      let hi = top.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (compareTo(coverage, conflicts, proficiency, hub, id, top[mid] as AvailabilityMatch) >= 0) lo = mid + 1;
        else hi = mid;
      }
      top.splice(lo, 0, { hub, id, coverage, conflicts, proficiency });
      if (top.length > keep) top.pop();
    });
    return { matches: top.slice(offset), total, hubs };
  }

  /**
   * With a competency or module asked: how many trainers pass every other part of the query (free,
   * language, region, hub) and list an accepted competency in their roster record's accreditations,
   * but are not in the answer — they hold no verified credential that counts for it over the range.
   */
  claimedWithoutCredential(query: AvailabilityQuery, tree: CompetencyTree): number {
    const asked = query.competency !== undefined ? [query.competency] : (query.moduleCompetencies ?? []);
    if (asked.length === 0) return 0;
    const { competency: _c, moduleCompetencies: _m, ...rest } = query;
    const claimed = new Set<string>();
    for (const c of asked) for (const a of withAncestors(tree, c)) claimed.add(a);
    const matched = new Set<Entry>();
    this.#matches(query, tree, (entry) => void matched.add(entry));
    let count = 0;
    this.#matches(
      rest,
      tree,
      (entry) => {
        if (!matched.has(entry) && entry.keys.claimed.some((c) => claimed.has(c))) count += 1;
      },
      [...claimed],
    );
    return count;
  }

  /**
   * How many trainers the posting lists (dates first, then competency, language, country, hub) leave
   * to check one by one for `query`: the index's work grows with this.
   */
  candidates(query: AvailabilityQuery, tree: CompetencyTree): number {
    let count = 0;
    forEachSlot(this.#candidates(query, tree), (slot) => {
      if (this.#slots[slot]) count += 1;
    });
    return count;
  }

  /** `claims`: candidates are the trainers whose roster record lists one of these (instead of the competencies asked). */
  #matches(query: AvailabilityQuery, tree: CompetencyTree, emit: Emit, claims?: readonly string[]): void {
    const asked = query.competency !== undefined ? [query.competency] : (query.moduleCompetencies ?? []);
    const acceptable = asked.map((c) => withAncestors(tree, c));
    const language = query.language ? primaryLanguage(query.language.tag) : undefined;
    forEachSlot(this.#candidates(query, tree, claims), (slot) => {
      const entry = this.#slots[slot];
      if (entry) this.#check(entry, query, acceptable, language, emit);
    });
  }

  /** Candidates: free enough by the time buckets AND (any accepted competency) AND every other filter, word by word. */
  #candidates(query: AvailabilityQuery, tree: CompetencyTree, claims?: readonly string[]): Uint32Array {
    const asked = query.competency !== undefined ? [query.competency] : (query.moduleCompetencies ?? []);
    const words = new Uint32Array(Math.ceil(this.#slots.length / 32));
    if (claims !== undefined) {
      for (const c of claims) {
        const bits = this.#byClaim.get(c);
        if (bits) orInto(words, bits);
      }
    } else if (asked.length > 0) {
      for (const c of asked)
        for (const a of withAncestors(tree, c)) {
          const bits = this.#byCompetency.get(a);
          if (bits) orInto(words, bits);
        }
    } else words.fill(0xffffffff);
    if (query.hub !== undefined) andInto(words, this.#byHub.get(query.hub));
    if (query.language) andInto(words, this.#byLanguage.get(primaryLanguage(query.language.tag)));
    if (query.region !== undefined) andInto(words, this.#byCountry.get(query.region.slice(0, 2)));
    this.#time.slideIfDue((visit) => {
      this.#slots.forEach((entry, slot) => {
        if (entry) visit(slot, entry.free);
      });
    });
    this.#time.narrow(words, query.range, query.minConsecutiveDays);
    return words;
  }

  #check(
    entry: Entry,
    query: AvailabilityQuery,
    acceptable: Array<Set<string>>,
    asked: string | undefined,
    emit: Emit,
  ): void {
    const { record } = entry;
    const { start, end } = query.range;
    if (query.hub !== undefined && record.hub !== query.hub) return;
    if (query.region !== undefined) {
      let serves = false;
      for (const r of record.regions) if (servesRegion(r, query.region)) serves = true;
      if (!serves) return;
    }
    const proficiency = asked === undefined ? entry.best : (entry.ranks.get(asked) ?? -1);
    if (query.language && (proficiency < 0 || proficiency < cefrRank(query.language.minLevel))) return;
    let coverage = 1;
    if (acceptable.length > 0) {
      let covered = 0;
      // Plain loops: this runs for every candidate, and closures would be allocated each time.
      for (const set of acceptable) {
        for (const a of record.accreditations) {
          if (set.has(a.competency) && a.validFrom <= start && a.validUntil >= end) {
            covered += 1;
            break;
          }
        }
      }
      if (covered === 0) return;
      coverage = covered / acceptable.length;
    }
    if (end <= start) return;
    const i = firstEndingAfter(entry.free, start);
    if (query.minConsecutiveDays === undefined) {
      const f = entry.free[i];
      if (!f || f.start > start || f.end < end) return;
    } else {
      let longest = 0;
      for (let j = i; j < entry.free.length && (entry.free[j] as Range).start < end; j += 1) {
        const f = entry.free[j] as Range;
        longest = Math.max(longest, Math.min(f.end, end) - Math.max(f.start, start));
      }
      if (longest < query.minConsecutiveDays * DAY_MS) return;
    }
    let conflicts = 0;
    for (const b of entry.blocked) {
      if (b.start >= end) break;
      if (b.end > start) conflicts += 1;
    }
    emit(entry, coverage, conflicts, proficiency);
  }
}

function post(map: Map<string, Bits>, k: string, slot: number): void {
  let bits = map.get(k);
  if (!bits) {
    bits = new Bits();
    map.set(k, bits);
  }
  bits.add(slot);
}

function unpost(map: Map<string, Bits>, k: string, slot: number): void {
  const bits = map.get(k);
  if (!bits) return;
  bits.delete(slot);
  if (bits.isEmpty()) map.delete(k);
}
