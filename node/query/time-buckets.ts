import { andInto, andWords, Bits, orInto } from "./bits.js";
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

/** Visits every trainer's slot and free time (what a slide re-buckets). */
export type EachFree = (visit: (slot: number, free: readonly Range[]) => void) => void;

/**
 * Posting lists of free time: for each bucket (a UTC day by default) of a horizon around today, the
 * slots with some free time in it (`some`) and the slots one free interval covers whole (`full`);
 * and the slots with free time before the horizon and after it. `narrow` ANDs into a query's
 * candidates only what every match must be in, so answers stay exact (the candidates are still
 * checked); outside the horizon it narrows by the before/after lists alone. Per trainer it costs 2
 * bits a bucket (about 100 bytes over the default 394 days), whatever its free time.
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
    }
  }

  /** [start, end) of what the buckets cover. */
  get horizon(): Range {
    return { start: this.#first * this.#bucketMs, end: (this.#first + this.#count) * this.#bucketMs };
  }

  #wanted(): number {
    return Math.floor((this.#now() - this.#backMs) / this.#bucketMs);
  }

  add(slot: number, free: readonly Range[]): void {
    this.#post(slot, free, 0, this.#count);
    this.#edges(slot, free);
  }

  delete(slot: number, free: readonly Range[]): void {
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
    this.#before.delete(slot);
    this.#after.delete(slot);
  }

  /** Buckets [from, to) of the horizon (indices): `some` and `full` for `slot`. */
  #post(slot: number, free: readonly Range[], from: number, to: number): void {
    const b = this.#bucketMs;
    const lo = (this.#first + from) * b;
    const hi = (this.#first + to) * b;
    for (const f of free) {
      const s = Math.max(f.start, lo);
      const e = Math.min(f.end, hi);
      if (!(s < e)) continue;
      const end = Math.ceil(e / b) - this.#first;
      for (let i = Math.floor(s / b) - this.#first; i < end; i += 1) {
        (this.#some[i] as Bits).add(slot);
        if (f.start <= (this.#first + i) * b && f.end >= (this.#first + i + 1) * b) (this.#full[i] as Bits).add(slot);
      }
    }
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
    for (let i = 0; i < dropped; i += 1) {
      this.#some.push(new Bits());
      this.#full.push(new Bits());
    }
    this.#first = to;
    this.#before = new Bits();
    this.#after = new Bits();
    each((slot, free) => {
      this.#post(slot, free, this.#count - dropped, this.#count);
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
  }
}
