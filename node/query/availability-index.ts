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
import { andInto, andNotInto, andWords, Bits, forEachSlot, orInto, orWords, popcount } from "./bits.js";
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
  keys: {
    competencies: string[];
    claimed: string[];
    languages: string[];
    countries: string[];
    regions: string[];
    /** Countries of its deployments. */
    served: string[];
  };
  /** CEFR rank per primary language, and the best over all: proficiency without a search per query. */
  ranks: Map<string, number>;
  best: number;
  /** Where each of its accreditations sits in its competency's list. */
  held: Array<[Accredited, { i: number }]>;
}

/**
 * One competency's accreditations as parallel arrays (slot, valid from, valid until): "accredited
 * for it over a range" is one tight loop over them, exact, with no record read.
 */
class Accredited {
  readonly slots: number[] = [];
  readonly from: number[] = [];
  readonly until: number[] = [];
  readonly refs: Array<{ i: number }> = [];

  add(slot: number, from: number, until: number): { i: number } {
    const ref = { i: this.slots.length };
    this.slots.push(slot);
    this.from.push(from);
    this.until.push(until);
    this.refs.push(ref);
    return ref;
  }

  /** Swap-remove: the last entry takes the removed one's place. */
  remove(ref: { i: number }): void {
    const last = this.slots.length - 1;
    const i = ref.i;
    this.slots[i] = this.slots[last] as number;
    this.from[i] = this.from[last] as number;
    this.until[i] = this.until[last] as number;
    const moved = this.refs[last] as { i: number };
    this.refs[i] = moved;
    moved.i = i;
    this.slots.pop();
    this.from.pop();
    this.until.pop();
    this.refs.pop();
  }

  /** Sets in `words` the slots holding one valid over all of [start, end]. */
  validInto(words: Uint32Array, start: number, end: number): void {
    const { slots, from, until } = this;
    for (let i = 0; i < slots.length; i += 1) {
      if ((from[i] as number) <= start && (until[i] as number) >= end) {
        const slot = slots[i] as number;
        words[slot >> 5] = (words[slot >> 5] as number) | (1 << (slot & 31));
      }
    }
  }
}

/** CEFR ranks -1 (none, or an unknown level) to 5, as indices 0 to 6. */
const RANKS = 7;

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
  /** Exact posting lists, for the matches the page walk need not check: see `page`. */
  readonly #live = new Bits();
  readonly #byRegion = new Map<string, Bits>();
  readonly #accredited = new Map<string, Accredited>();
  /** Slots by a country they served in (a deployment there). */
  readonly #byServed = new Map<string, Bits>();
  /**
   * Per module, its deployments' ends, as an Accredited list with from = the end and until = +∞:
   * "ended at or before the range starts" is then `validInto(words, start, start)`.
   */
  readonly #delivered = new Map<string, Accredited>();
  /** Per primary language, slots by their CEFR rank in it (index rank + 1); and by their best rank. */
  readonly #byLanguageRank = new Map<string, Bits[]>();
  readonly #byBest: Bits[] = Array.from({ length: RANKS }, () => new Bits());
  /** Slots with an empty or reversed blackout or engagement (checked one by one: the buckets hold only real ones). */
  readonly #odd = new Bits();
  /** Hubs by number, each slot's, and each 32-slot word's when all its slots share one (else -1). */
  readonly #hubNumber = new Map<string, number>();
  readonly #hubNames: string[] = [];
  readonly #hubOfSlot: number[] = [];
  readonly #hubOfWord: number[] = [];
  /** Live slots sorted by hub then id (built on demand, kept up to date while cheap): the page walk's order. */
  #order: number[] | undefined;
  #orderEdits = 0;
  /** Each slot's index in the order (refreshed when the order moved). */
  #position = new Int32Array(0);
  #positionStale = true;
  /**
   * Bitmaps a query works in, reused from one query to the next (`#scratched` of them in use): a
   * query at 100,000 trainers needs a dozen of 12.5 KB, and allocating them each time made the
   * garbage collector's full collections of the whole index the tail of the latency.
   */
  readonly #pool: Uint32Array[] = [];
  #scratched = 0;
  /** Trainers the last `page` looked at one by one (checked, or ranked); see `examined`. */
  #examined = 0;

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
    const k = key(record.hub, record.id);
    const existing = this.#slotOf.get(k);
    if (existing !== undefined) this.#unpost(existing);
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
        regions: [...new Set(record.regions)],
        served: [...new Set((record.deployments ?? []).map((d) => d.country))],
      },
      ranks: new Map(),
      best: -1,
      held: [],
    };
    for (const l of record.languages) {
      const lang = primaryLanguage(l.tag);
      const rank = cefrRank(l.level);
      entry.ranks.set(lang, Math.max(entry.ranks.get(lang) ?? -1, rank));
      entry.best = Math.max(entry.best, rank);
    }
    const slot = existing ?? this.#freeSlots.pop() ?? this.#slots.length;
    this.#slots[slot] = entry;
    this.#slotOf.set(k, slot);
    for (const c of entry.keys.competencies) post(this.#byCompetency, c, slot);
    for (const c of entry.keys.claimed) post(this.#byClaim, c, slot);
    for (const l of entry.keys.languages) post(this.#byLanguage, l, slot);
    for (const c of entry.keys.countries) post(this.#byCountry, c, slot);
    for (const r of entry.keys.regions) post(this.#byRegion, r, slot);
    for (const c of entry.keys.served) post(this.#byServed, c, slot);
    post(this.#byHub, record.hub, slot);
    for (const a of record.accreditations) {
      let list = this.#accredited.get(a.competency);
      if (!list) {
        list = new Accredited();
        this.#accredited.set(a.competency, list);
      }
      entry.held.push([list, list.add(slot, a.validFrom, a.validUntil)]);
    }
    for (const d of record.deployments ?? []) {
      let list = this.#delivered.get(d.module);
      if (!list) {
        list = new Accredited();
        this.#delivered.set(d.module, list);
      }
      // `held` is what `#unpost` takes out again, whichever list an entry is in.
      entry.held.push([list, list.add(slot, d.end, Number.POSITIVE_INFINITY)]);
    }
    for (const [lang, rank] of entry.ranks) {
      let byRank = this.#byLanguageRank.get(lang);
      if (!byRank) {
        byRank = Array.from({ length: RANKS }, () => new Bits());
        this.#byLanguageRank.set(lang, byRank);
      }
      (byRank[rank + 1] as Bits).add(slot);
    }
    (this.#byBest[entry.best + 1] as Bits).add(slot);
    if (blocked.some((b) => !(b.end > b.start))) this.#odd.add(slot);
    this.#live.add(slot);
    let hub = this.#hubNumber.get(record.hub);
    if (hub === undefined) {
      hub = this.#hubNames.length;
      this.#hubNames.push(record.hub);
      this.#hubNumber.set(record.hub, hub);
    }
    this.#hubOfSlot[slot] = hub;
    this.#wordHub(slot >> 5);
    this.#time.add(slot, entry.free, blocked);
    if (existing === undefined) {
      this.#perHub.set(record.hub, (this.#perHub.get(record.hub) ?? 0) + 1);
      this.#orderAdd(slot);
    }
  }

  remove(hub: string, id: string): void {
    const k = key(hub, id);
    const slot = this.#slotOf.get(k);
    if (slot === undefined) return;
    this.#orderRemove(slot);
    this.#unpost(slot);
    this.#slotOf.delete(k);
    this.#slots[slot] = undefined;
    this.#wordHub(slot >> 5);
    this.#freeSlots.push(slot);
    const left = (this.#perHub.get(hub) ?? 1) - 1;
    if (left > 0) this.#perHub.set(hub, left);
    else this.#perHub.delete(hub);
  }

  /** Takes a slot's entry out of every posting list (the slot and its entry stay). */
  #unpost(slot: number): void {
    const entry = this.#slots[slot] as Entry;
    for (const c of entry.keys.competencies) unpost(this.#byCompetency, c, slot);
    for (const c of entry.keys.claimed) unpost(this.#byClaim, c, slot);
    for (const l of entry.keys.languages) unpost(this.#byLanguage, l, slot);
    for (const c of entry.keys.countries) unpost(this.#byCountry, c, slot);
    for (const r of entry.keys.regions) unpost(this.#byRegion, r, slot);
    for (const c of entry.keys.served) unpost(this.#byServed, c, slot);
    unpost(this.#byHub, entry.record.hub, slot);
    for (const [list, ref] of entry.held) list.remove(ref);
    for (const [lang, rank] of entry.ranks) this.#byLanguageRank.get(lang)?.[rank + 1]?.delete(slot);
    this.#byBest[entry.best + 1]?.delete(slot);
    this.#odd.delete(slot);
    this.#live.delete(slot);
    this.#time.delete(slot, entry.free, entry.blocked);
  }

  /** The hub all live slots of word `w` share, or -1. */
  #wordHub(w: number): void {
    let hub = -2;
    for (let slot = w << 5; slot < (w + 1) << 5; slot += 1) {
      if (!this.#slots[slot]) continue;
      const h = this.#hubOfSlot[slot] as number;
      if (hub === -2) hub = h;
      else if (hub !== h) {
        hub = -1;
        break;
      }
    }
    this.#hubOfWord[w] = hub;
  }

  #before(a: number, b: number): boolean {
    const x = (this.#slots[a] as Entry).record;
    const y = (this.#slots[b] as Entry).record;
    return x.hub < y.hub || (x.hub === y.hub && x.id < y.id);
  }

  /** The first index of the order whose slot does not sort before `slot`. */
  #orderIndex(order: readonly number[], slot: number): number {
    let lo = 0;
    let hi = order.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.#before(order[mid] as number, slot)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** A new trainer into the order; many at once (a load) drop it, to be sorted once when next needed. */
  #orderAdd(slot: number): void {
    if (!this.#order) return;
    if ((this.#orderEdits += 1) > 256 + (this.#order.length >> 4)) this.#order = undefined;
    else this.#order.splice(this.#orderIndex(this.#order, slot), 0, slot);
    this.#positionStale = true;
  }

  #orderRemove(slot: number): void {
    if (!this.#order) return;
    if ((this.#orderEdits += 1) > 256 + (this.#order.length >> 4)) this.#order = undefined;
    else this.#order.splice(this.#orderIndex(this.#order, slot), 1);
    this.#positionStale = true;
  }

  #ordered(): number[] {
    if (!this.#order) {
      const order: number[] = [];
      this.#slots.forEach((entry, slot) => {
        if (entry) order.push(slot);
      });
      order.sort((a, b) => (this.#before(a, b) ? -1 : this.#before(b, a) ? 1 : 0));
      this.#order = order;
      this.#positionStale = true;
    }
    if (this.#positionStale) {
      if (this.#position.length < this.#slots.length) this.#position = new Int32Array(this.#slots.length * 2);
      for (let i = 0; i < this.#order.length; i += 1) this.#position[this.#order[i] as number] = i;
      this.#positionStale = false;
    }
    this.#orderEdits = 0;
    return this.#order;
  }

  /** Every match, ranked (what the property test compares with the scan). */
  query(query: AvailabilityQuery, tree: CompetencyTree): AvailabilityMatch[] {
    return this.page(query, tree, 0, Number.POSITIVE_INFINITY).matches;
  }

  /**
   * One page of the ranked matches, how many there are and from which hubs, at a cost that follows
   * the page rather than the matches. Exact posting lists (accreditations valid over the range,
   * language at its rank, regions served, hub, and the time buckets within their horizon) give the
   * matches certain without a check: they are counted word by word (total, answering hubs) and only
   * the best `offset + size` of them are read, in ranking order (coverage classes from a bit-sliced
   * count of the competencies covered; no conflicts first; proficiency rank; hub and id order). The
   * other candidates (a range partly outside the horizon, a run of days starting mid-day, an empty
   * blocked interval) are checked one by one as before, and merged.
   */
  page(
    query: AvailabilityQuery,
    tree: CompetencyTree,
    offset: number,
    size: number,
  ): { matches: AvailabilityMatch[]; total: number; hubs: Set<string> } {
    const keep = offset + size;
    this.#examined = 0;
    this.#scratched = 0;
    const asked = query.competency !== undefined ? [query.competency] : (query.moduleCompetencies ?? []);
    const acceptable = asked.map((c) => withAncestors(tree, c));
    const language = query.language ? primaryLanguage(query.language.tag) : undefined;
    const exact = this.#exact(query, acceptable, language);
    const candidates = this.#copy(exact.words);
    this.#time.narrow(candidates, query.range, query.minConsecutiveDays);
    let certain: { words: Uint32Array; planes: Uint32Array[] } | undefined;
    if (this.#time.holds(query.range)) {
      certain = { words: this.#copy(exact.words), planes: exact.planes };
      andNotInto(certain.words, this.#odd);
      this.#time.certain(certain.words, query.range, query.minConsecutiveDays);
      andNotInto(candidates, certain.words);
    }
    // The rest, one by one.
    const checked: AvailabilityMatch[] = [];
    const hubs = new Set<string>();
    forEachSlot(candidates, (slot) => {
      const entry = this.#slots[slot];
      if (!entry) return;
      this.#examined += 1;
      this.#check(entry, query, acceptable, language, (e, coverage, conflicts, proficiency) => {
        checked.push({ hub: e.record.hub, id: e.record.id, coverage, conflicts, proficiency });
        hubs.add(e.record.hub);
      });
    });
    let total = checked.length;
    let matches = checked;
    if (certain) {
      total += popcount(certain.words);
      this.#hubsInto(certain.words, hubs);
      const walked = this.#walk(query, certain, acceptable.length, language, keep);
      matches = checked.length === 0 ? walked : [...walked, ...checked];
    }
    matches.sort(compareMatches);
    return { matches: matches.slice(offset, keep), total, hubs };
  }

  /**
   * How many trainers `page` looks at one by one for this query and page (checks against the record,
   * and matches read for the page): the index's per-trainer work.
   */
  examined(query: AvailabilityQuery, tree: CompetencyTree, offset: number, size: number): number {
    this.page(query, tree, offset, size);
    return this.#examined;
  }

  /**
   * The trainers that match all but the dates, from exact posting lists alone (accredited for an
   * asked competency over the whole range, at the language's rank, serving the region, in the hub),
   * with a bit-sliced count per slot of the asked competencies it covers (planes[p]: bit p of it).
   * Also slides the time buckets if due (they narrow next).
   */
  #exact(
    query: AvailabilityQuery,
    acceptable: ReadonlyArray<Set<string>>,
    language: string | undefined,
  ): { words: Uint32Array; planes: Uint32Array[] } {
    const { range } = query;
    this.#slide();
    const n = Math.ceil(this.#slots.length / 32);
    const words = this.#scratch(n);
    const planes: Uint32Array[] = [];
    if (acceptable.length > 0) {
      for (let p = acceptable.length; p > 0; p >>= 1) planes.push(this.#scratch(n));
      const valid = this.#scratch(n);
      for (const set of acceptable) {
        valid.fill(0);
        for (const c of set) this.#accredited.get(c)?.validInto(valid, range.start, range.end);
        orWords(words, valid);
        // Adds the 0/1 vector `valid` to the count, word by word (a ripple carry through the planes).
        for (let w = 0; w < n; w += 1) {
          let carry = valid[w] as number;
          for (let p = 0; carry !== 0 && p < planes.length; p += 1) {
            const plane = planes[p] as Uint32Array;
            const next = (plane[w] as number) & carry;
            plane[w] = (plane[w] as number) ^ carry;
            carry = next;
          }
        }
      }
    } else orInto(words, this.#live);
    if (query.hub !== undefined) andInto(words, this.#byHub.get(query.hub));
    this.#servedInto(words, query, n);
    if (query.language && language !== undefined) {
      const ranks = this.#byLanguageRank.get(language);
      const spoken = this.#scratch(n);
      for (let r = Math.max(0, cefrRank(query.language.minLevel)); ranks && r < RANKS - 1; r += 1)
        orInto(spoken, ranks[r + 1] as Bits);
      andWords(words, spoken);
    }
    if (query.region !== undefined) {
      const served = this.#scratch(n);
      for (const [r, bits] of this.#byRegion) if (servesRegion(r, query.region)) orInto(served, bits);
      andWords(words, served);
    }
    return { words, planes };
  }

  /** Keeps in `words` the slots whose deployments answer `deliveredModule` and `servedIn` (exact). */
  #servedInto(words: Uint32Array, query: AvailabilityQuery, n: number): void {
    if (query.servedIn !== undefined) andInto(words, this.#byServed.get(query.servedIn));
    if (query.deliveredModule !== undefined) {
      const delivered = this.#scratch(n);
      this.#delivered.get(query.deliveredModule)?.validInto(delivered, query.range.start, query.range.start);
      andWords(words, delivered);
    }
  }

  /** Adds to `hubs` the hub of every slot set in `words` (a word whose slots share a hub: once). */
  #hubsInto(words: Uint32Array, hubs: Set<string>): void {
    const seen = new Uint8Array(this.#hubNames.length);
    for (let w = 0; w < words.length; w += 1) {
      let bits = words[w] as number;
      if (bits === 0) continue;
      const shared = this.#hubOfWord[w] ?? -1;
      if (shared >= 0) {
        seen[shared] = 1;
        continue;
      }
      while (bits !== 0) {
        const low = bits & -bits;
        seen[this.#hubOfSlot[(w << 5) + 31 - Math.clz32(low)] as number] = 1;
        bits ^= low;
      }
    }
    seen.forEach((s, h) => {
      if (s) hubs.add(this.#hubNames[h] as string);
    });
  }

  /**
   * The best `keep` of the certain matches, ranked: coverage classes from the most covered down;
   * within one, for a run of days (where conflicts vary), the slots with nothing blocked in the
   * range first; then proficiency ranks from the best, each read in hub and id order; it stops once
   * `keep` are read. Matches with conflicts (a run of days) are counted one by one, only when their
   * class is reached.
   */
  #walk(
    query: AvailabilityQuery,
    certain: { words: Uint32Array; planes: Uint32Array[] },
    asked: number,
    language: string | undefined,
    keep: number,
  ): AvailabilityMatch[] {
    const { words, planes } = certain;
    const n = words.length;
    const out: AvailabilityMatch[] = [];
    let left = popcount(words);
    // A whole range free has no blackout or engagement in it: conflicts are 0. A run of days may.
    let clear: Uint32Array | undefined;
    let exact = true;
    if (query.minConsecutiveDays !== undefined) {
      clear = this.#scratch(n).fill(0xffffffff);
      exact = this.#time.unblocked(clear, query.range);
    }
    const ranks = language === undefined ? this.#byBest : this.#byLanguageRank.get(language);
    const cls = this.#scratch(n);
    const part = this.#scratch(n);
    const y = this.#scratch(n);
    for (let k = Math.max(asked, 1); k >= 1 && left > 0 && out.length < keep; k -= 1) {
      const coverage = asked === 0 ? 1 : k / asked;
      // The class: certain matches covering exactly k of the asked competencies.
      for (let w = 0; w < n; w += 1) {
        let x = words[w] as number;
        for (let p = 0; x !== 0 && p < planes.length; p += 1)
          x &= (k >> p) & 1 ? ((planes[p] as Uint32Array)[w] as number) : ~((planes[p] as Uint32Array)[w] as number);
        cls[w] = x;
      }
      const inClass = popcount(cls);
      if (inClass === 0) continue;
      left -= inClass;
      const start = out.length;
      part.set(cls);
      if (clear) andWords(part, clear);
      for (let r = RANKS - 1; r >= 0 && out.length < keep; r -= 1) {
        const rank = ranks?.[r];
        if (!rank) continue;
        y.set(part);
        andInto(y, rank);
        this.#inOrder(y, keep - out.length, (entry) =>
          out.push({ hub: entry.record.hub, id: entry.record.id, coverage, conflicts: 0, proficiency: r - 1 }),
        );
      }
      if (!clear || (exact && out.length >= keep)) continue;
      // The class's matches with something blocked in the buckets the range touches: conflicts counted.
      part.set(cls);
      andNotInto(part, clear);
      const { start: s, end: e } = query.range;
      forEachSlot(part, (slot) => {
        const entry = this.#slots[slot] as Entry;
        this.#examined += 1;
        let conflicts = 0;
        for (const b of entry.blocked) {
          if (b.start >= e) break;
          if (b.end > s) conflicts += 1;
        }
        const proficiency = language === undefined ? entry.best : (entry.ranks.get(language) ?? -1);
        out.push({ hub: entry.record.hub, id: entry.record.id, coverage, conflicts, proficiency });
      });
      const ranked = out.splice(start).sort(compareMatches);
      for (let i = 0; i < ranked.length && out.length < keep; i += 1) out.push(ranked[i] as AvailabilityMatch);
    }
    return out;
  }

  /**
   * Calls `f` with the first `count` slots of `words` in hub and id order: by walking that order
   * (bit tests) when the set is dense enough for that to stop early, else by sorting the set's
   * positions in it. Either way only the slots passed to `f` are read.
   */
  #inOrder(words: Uint32Array, count: number, f: (entry: Entry) => void): void {
    const size = popcount(words);
    if (size === 0) return;
    const order = this.#ordered();
    if (size > count && (count * order.length) / size < 4 * size) {
      let found = 0;
      for (let i = 0; i < order.length && found < count; i += 1) {
        const slot = order[i] as number;
        if (((words[slot >> 5] as number) & (1 << (slot & 31))) !== 0) {
          found += 1;
          this.#examined += 1;
          f(this.#slots[slot] as Entry);
        }
      }
      return;
    }
    const positions = new Int32Array(size);
    let i = 0;
    forEachSlot(words, (slot) => {
      positions[i++] = this.#position[slot] as number;
    });
    positions.sort();
    for (let j = 0; j < size && j < count; j += 1) {
      this.#examined += 1;
      f(this.#slots[order[positions[j] as number] as number] as Entry);
    }
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
   * How many trainers the posting lists leave as candidates for `query` (exact for everything but
   * the dates, then narrowed by the time buckets): a superset of the matches. `examined` says how
   * many of them a page then looks at one by one.
   */
  candidates(query: AvailabilityQuery, tree: CompetencyTree): number {
    this.#scratched = 0;
    const asked = query.competency !== undefined ? [query.competency] : (query.moduleCompetencies ?? []);
    const language = query.language ? primaryLanguage(query.language.tag) : undefined;
    const { words } = this.#exact(
      query,
      asked.map((c) => withAncestors(tree, c)),
      language,
    );
    this.#time.narrow(words, query.range, query.minConsecutiveDays);
    return popcount(words);
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

  /** A zeroed bitmap of `n` words from the pool (valid until the next query starts). */
  #scratch(n: number): Uint32Array {
    let buffer = this.#pool[this.#scratched];
    if (!buffer || buffer.length < n) {
      buffer = new Uint32Array(n + (n >> 3));
      this.#pool[this.#scratched] = buffer;
    }
    this.#scratched += 1;
    return buffer.subarray(0, n).fill(0);
  }

  #copy(words: Uint32Array): Uint32Array {
    const out = this.#scratch(words.length);
    out.set(words);
    return out;
  }

  #slide(): void {
    this.#time.slideIfDue((visit) => {
      this.#slots.forEach((entry, slot) => {
        if (entry) visit(slot, entry.free, entry.blocked);
      });
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
    if (query.servedIn !== undefined) andInto(words, this.#byServed.get(query.servedIn));
    this.#slide();
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
    if (query.deliveredModule !== undefined || query.servedIn !== undefined) {
      let delivered = query.deliveredModule === undefined;
      let served = query.servedIn === undefined;
      for (const d of record.deployments ?? []) {
        if (d.module === query.deliveredModule && d.end <= start) delivered = true;
        if (d.country === query.servedIn) served = true;
      }
      if (!delivered || !served) return;
    }
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
