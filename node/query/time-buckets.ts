import { andInto, andNotInto, andWords, Bits, orInto } from "./bits.js";
import { DAY_MS, type Range } from "./model.js";

export interface TimeBucketsInit {
  /** The clock the horizon follows. Default `Date.now`. */
  now?: () => number;
  /** Days bucketed before today. Default 28. */
  daysBack?: number;
  /** Days bucketed from today on. Default 366. */
  daysAhead?: number;
  /** A bucket's length in ms, from the epoch (UTC midnights for days). Default one day. */
  bucketMs?: number;
}

/** Visits every trainer's slot, free time and blocked time (what a slide re-buckets). */
export type EachFree = (visit: (slot: number, free: readonly Range[], blocked: readonly Range[]) => void) => void;

/**
 * Posting lists of free time: for each bucket (a UTC day by default) of a horizon around today, the
 * slots with some free time in it (`some`) and the slots one free interval covers whole (`full`);
 * and the slots with free time before the horizon and after it. `narrow` ANDs into a query's
 * candidates only what every match must be in, so answers stay exact (the candidates are still
 * checked); outside the horizon it narrows by the before/after lists alone. `certain` gives, within
 * the horizon, the slots certainly free enough (no check needed), and `unblocked` those with no
 * blackout or engagement in the buckets a range touches (`blocked`: raw intervals, the ones a query
 * counts as conflicts). Per trainer it costs 3 bits a bucket (about 150 bytes over the default 394
 * days), whatever its calendar.
 */
export class TimeBuckets {
  readonly #now: () => number;
  readonly #bucketMs: number;
  readonly #backMs: number;
  readonly #count: number;
  /** The horizon slides once it is this many buckets behind the clock. */
  readonly #slack: number;
  /** Absolute number (floor(t / bucketMs)) of the horizon's first bucket. */
  #first: number;
  readonly #some: Bits[] = [];
  readonly #full: Bits[] = [];
  /** Slots with a (non-empty) blackout or engagement overlapping the bucket. */
  readonly #blocked: Bits[] = [];
  #before = new Bits();
  #after = new Bits();

  constructor(init: TimeBucketsInit = {}) {
    this.#now = init.now ?? Date.now;
    this.#bucketMs = init.bucketMs ?? DAY_MS;
    this.#backMs = (init.daysBack ?? 28) * DAY_MS;
    this.#count = Math.max(1, Math.ceil(((init.daysBack ?? 28) + (init.daysAhead ?? 366)) * (DAY_MS / this.#bucketMs)));
    this.#slack = Math.max(1, Math.ceil((7 * DAY_MS) / this.#bucketMs));
    this.#first = this.#wanted();
    for (let i = 0; i < this.#count; i += 1) {
      this.#some.push(new Bits());
      this.#full.push(new Bits());
      this.#blocked.push(new Bits());
    }
  }

  /** [start, end) of what the buckets cover. */
  get horizon(): Range {
    return { start: this.#first * this.#bucketMs, end: (this.#first + this.#count) * this.#bucketMs };
  }

  #wanted(): number {
    return Math.floor((this.#now() - this.#backMs) / this.#bucketMs);
  }

  add(slot: number, free: readonly Range[], blocked: readonly Range[]): void {
    this.#post(slot, free, 0, this.#count);
    this.#postBlocked(slot, blocked, 0, this.#count);
    this.#edges(slot, free);
  }

  delete(slot: number, free: readonly Range[], blocked: readonly Range[]): void {
    const { start: lo, end: hi } = this.horizon;
    const b = this.#bucketMs;
    for (const f of free) {
      const s = Math.max(f.start, lo);
      const e = Math.min(f.end, hi);
      if (!(s < e)) continue;
      const end = Math.ceil(e / b) - this.#first;
      for (let i = Math.floor(s / b) - this.#first; i < end; i += 1) {
        (this.#some[i] as Bits).delete(slot);
        (this.#full[i] as Bits).delete(slot);
      }
    }
    for (const r of blocked) {
      const s = Math.max(r.start, lo);
      const e = Math.min(r.end, hi);
      if (!(s < e)) continue;
      const end = Math.ceil(e / b) - this.#first;
      for (let i = Math.floor(s / b) - this.#first; i < end; i += 1) (this.#blocked[i] as Bits).delete(slot);
    }
    this.#before.delete(slot);
    this.#after.delete(slot);
  }

  /**
   * Calls `fn(i, range)` for each bucket i in [from, to) of the horizon (indices) that a non-empty
   * range of `ranges` overlaps.
   */
  #eachBucket(ranges: readonly Range[], from: number, to: number, fn: (i: number, range: Range) => void): void {
    const b = this.#bucketMs;
    const lo = (this.#first + from) * b;
    const hi = (this.#first + to) * b;
    for (const r of ranges) {
      const s = Math.max(r.start, lo);
      const e = Math.min(r.end, hi);
      if (!(s < e)) continue;
      const end = Math.ceil(e / b) - this.#first;
      for (let i = Math.floor(s / b) - this.#first; i < end; i += 1) fn(i, r);
    }
  }

  /** Buckets [from, to) that each non-empty blocked interval overlaps (empty ones: the index's `odd`). */
  #postBlocked(slot: number, blocked: readonly Range[], from: number, to: number): void {
    this.#eachBucket(blocked, from, to, (i) => (this.#blocked[i] as Bits).add(slot));
  }

  /** Buckets [from, to) of the horizon (indices): `some` and `full` for `slot`. */
  #post(slot: number, free: readonly Range[], from: number, to: number): void {
    const b = this.#bucketMs;
    this.#eachBucket(free, from, to, (i, f) => {
      (this.#some[i] as Bits).add(slot);
      if (f.start <= (this.#first + i) * b && f.end >= (this.#first + i + 1) * b) (this.#full[i] as Bits).add(slot);
    });
  }

  #edges(slot: number, free: readonly Range[]): void {
    const { start: lo, end: hi } = this.horizon;
    if (free.length > 0 && (free[0] as Range).start < lo) this.#before.add(slot);
    if (free.length > 0 && (free[free.length - 1] as Range).end > hi) this.#after.add(slot);
  }

  /** Moves the horizon with the clock once it is a week behind (a week of new buckets for every trainer). */
  slideIfDue(each: EachFree): void {
    const to = this.#wanted();
    const shift = to - this.#first;
    if (shift < this.#slack) return;
    const dropped = Math.min(shift, this.#count);
    this.#some.splice(0, dropped);
    this.#full.splice(0, dropped);
    this.#blocked.splice(0, dropped);
    for (let i = 0; i < dropped; i += 1) {
      this.#some.push(new Bits());
      this.#full.push(new Bits());
      this.#blocked.push(new Bits());
    }
    this.#first = to;
    this.#before = new Bits();
    this.#after = new Bits();
    each((slot, free, blocked) => {
      this.#post(slot, free, this.#count - dropped, this.#count);
      this.#postBlocked(slot, blocked, this.#count - dropped, this.#count);
      this.#edges(slot, free);
    });
  }

  /**
   * ANDs into `words` (candidate slots) what every trainer free enough over `range` is in. Without
   * `minConsecutiveDays` one free interval covers the range: it is in `full` for every bucket inside
   * the range and in `some` for the partial ones at its ends. With it, a run of that many days lies in
   * one free interval within the range: it has some free time in a bucket the range touches, and when
   * the run is at least two buckets long it covers one whole bucket inside the range (the OR of those).
   */
  narrow(words: Uint32Array, range: Range, minConsecutiveDays: number | undefined): void {
    const { start, end } = range;
    if (Number.isNaN(start) || Number.isNaN(end)) return;
    if (end <= start) {
      words.fill(0);
      return;
    }
    const b = this.#bucketMs;
    const { start: h0, end: h1 } = this.horizon;
    const lo = Math.max(start, h0);
    const hi = Math.min(end, h1);
    const from = lo < hi ? Math.floor(lo / b) - this.#first : 0;
    const to = lo < hi ? Math.ceil(hi / b) - this.#first : 0;
    const inside = (i: number) => (this.#first + i) * b >= start && (this.#first + i + 1) * b <= end;
    if (minConsecutiveDays === undefined) {
      for (let i = from; i < to; i += 1) andInto(words, inside(i) ? this.#full[i] : this.#some[i]);
      if (start < h0) andInto(words, this.#before);
      if (end > h1) andInto(words, this.#after);
      return;
    }
    const need = minConsecutiveDays * DAY_MS;
    if (!(need > 0)) return; // every trainer's longest run (0 or more) is enough
    if (need > end - start) {
      words.fill(0);
      return;
    }
    const whole = need >= 2 * b;
    const any = new Uint32Array(words.length);
    for (let i = from; i < to; i += 1) {
      if (!whole) orInto(any, this.#some[i] as Bits);
      else if (inside(i)) orInto(any, this.#full[i] as Bits);
    }
    if (start < h0) orInto(any, this.#before);
    if (end > h1) orInto(any, this.#after);
    andWords(words, any);
    // A free run of `need` inside the range holds floor(need / b) - 1 whole buckets in a row, all full.
    const runs = Math.floor(need / b) - 1;
    if (runs >= 2 && start >= h0 && end <= h1) this.#runs(words, start, end, runs);
  }

  /** Within the horizon: is `range` inside it (what `certain` and `unblocked` need)? */
  holds(range: Range): boolean {
    const { start: h0, end: h1 } = this.horizon;
    return range.start < range.end && range.start >= h0 && range.end <= h1;
  }

  /**
   * ANDs into `words` slots certainly free enough over `range`, which the horizon holds: without
   * `minConsecutiveDays`, full in every bucket the range touches (free intervals never touch, so one
   * interval covers them all); with it, full in enough whole buckets in a row inside the range. Not
   * every match (a run that starts mid-bucket may hold one whole bucket fewer): the rest are checked.
   */
  certain(words: Uint32Array, range: Range, minConsecutiveDays: number | undefined): void {
    const { start, end } = range;
    const b = this.#bucketMs;
    if (minConsecutiveDays === undefined) {
      const to = Math.ceil(end / b) - this.#first;
      for (let i = Math.floor(start / b) - this.#first; i < to; i += 1) andInto(words, this.#full[i]);
      return;
    }
    const need = minConsecutiveDays * DAY_MS;
    if (!(need > 0)) return;
    if (need > end - start) words.fill(0);
    else this.#runs(words, start, end, Math.ceil(need / b));
  }

  /**
   * ANDs into `words` the slots with no blackout or engagement overlapping the buckets `range`
   * (inside the horizon) touches; true when that is exactly "none overlapping the range" (its ends
   * on bucket edges).
   */
  unblocked(words: Uint32Array, range: Range): boolean {
    const { start, end } = range;
    const b = this.#bucketMs;
    const to = Math.ceil(end / b) - this.#first;
    for (let i = Math.floor(start / b) - this.#first; i < to; i += 1) andNotInto(words, this.#blocked[i]);
    return Math.floor(start / b) * b === start && Math.floor(end / b) * b === end;
  }

  /** ANDs into `words` the slots full in `length` buckets in a row among those inside [start, end). */
  #runs(words: Uint32Array, start: number, end: number, length: number): void {
    const b = this.#bucketMs;
    const i0 = Math.ceil(start / b) - this.#first;
    const count = Math.floor(end / b) - this.#first - i0;
    if (count < length) {
      words.fill(0);
      return;
    }
    // Word by word: x[j] = bucket i0 + j's word; doubling ANDs x[j] with x[j + step] until each x[j]
    // says "full in buckets j .. j + length - 1".
    const x = new Uint32Array(count);
    for (let w = 0; w < words.length; w += 1) {
      if (words[w] === 0) continue;
      for (let j = 0; j < count; j += 1) {
        const bits = (this.#full[i0 + j] as Bits).words;
        x[j] = w < bits.length ? (bits[w] as number) : 0;
      }
      let have = 1;
      let valid = count;
      while (have < length) {
        const step = Math.min(have, length - have);
        valid -= step;
        for (let j = 0; j < valid; j += 1) x[j] = (x[j] as number) & (x[j + step] as number);
        have += step;
      }
      let any = 0;
      for (let j = 0; j < valid; j += 1) any |= x[j] as number;
      words[w] = (words[w] as number) & any;
    }
  }
}
