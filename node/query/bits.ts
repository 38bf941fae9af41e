/**
 * A growable set of small integers as a bitmap: the index's posting lists. Unions and intersections
 * are word by word (32 slots per operation), iteration walks set bits only.
 */
export class Bits {
  words: Uint32Array;

  constructor(capacity = 1024) {
    this.words = new Uint32Array(Math.ceil(capacity / 32));
  }

  #grow(slot: number): void {
    if (slot >> 5 < this.words.length) return;
    const next = new Uint32Array(Math.max(this.words.length * 2, (slot >> 5) + 1));
    next.set(this.words);
    this.words = next;
  }

  add(slot: number): void {
    this.#grow(slot);
    this.words[slot >> 5] = (this.words[slot >> 5] as number) | (1 << (slot & 31));
  }

  delete(slot: number): void {
    if (slot >> 5 >= this.words.length) return;
    this.words[slot >> 5] = (this.words[slot >> 5] as number) & ~(1 << (slot & 31));
  }

  has(slot: number): boolean {
    return slot >> 5 < this.words.length && ((this.words[slot >> 5] as number) & (1 << (slot & 31))) !== 0;
  }

  isEmpty(): boolean {
    return this.words.every((w) => w === 0);
  }
}

/** `into |= b` over `into`'s length (grown by the caller to the index's capacity). */
export function orInto(into: Uint32Array, b: Bits): void {
  const n = Math.min(into.length, b.words.length);
  for (let i = 0; i < n; i += 1) into[i] = (into[i] as number) | (b.words[i] as number);
}

/** `into &= b` (slots beyond b's words are not in b). */
export function andInto(into: Uint32Array, b: Bits | undefined): void {
  const n = b ? Math.min(into.length, b.words.length) : 0;
  for (let i = 0; i < n; i += 1) into[i] = (into[i] as number) & ((b as Bits).words[i] as number);
  into.fill(0, n);
}

/** Calls `f` with every slot set in `words`, in increasing order. */
export function forEachSlot(words: Uint32Array, f: (slot: number) => void): void {
  for (let i = 0; i < words.length; i += 1) {
    let w = words[i] as number;
    while (w !== 0) {
      const low = w & -w;
      f((i << 5) + 31 - Math.clz32(low));
      w ^= low;
    }
  }
}

/** `into &= words`, where `words` is at least as long as `into`. */
export function andWords(into: Uint32Array, words: Uint32Array): void {
  for (let i = 0; i < into.length; i += 1) into[i] = (into[i] as number) & (words[i] as number);
}

/** `into &= ~b` (slots beyond b's words are not in b, so they stay). */
export function andNotInto(into: Uint32Array, b: Bits | Uint32Array | undefined): void {
  const words = b instanceof Bits ? b.words : b;
  if (!words) return;
  const n = Math.min(into.length, words.length);
  for (let i = 0; i < n; i += 1) into[i] = (into[i] as number) & ~(words[i] as number);
}

/** `into |= words` over `into`'s length. */
export function orWords(into: Uint32Array, words: Uint32Array): void {
  const n = Math.min(into.length, words.length);
  for (let i = 0; i < n; i += 1) into[i] = (into[i] as number) | (words[i] as number);
}

/** Set bits in one 32-bit word. */
export function popcount32(w: number): number {
  let x = w - ((w >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24) as number;
}

/** Set bits in `words`. */
export function popcount(words: Uint32Array): number {
  let n = 0;
  for (let i = 0; i < words.length; i += 1) if (words[i] !== 0) n += popcount32(words[i] as number);
  return n;
}
