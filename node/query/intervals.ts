import type { Range } from "./model.js";

/** Half-open UTC ranges as sorted, disjoint lists: what the index and free/busy are computed with. */

/** Sorts and merges overlapping or touching ranges. */
export function merge(ranges: readonly Range[]): Range[] {
  const sorted = ranges.filter((r) => r.end > r.start).sort((a, b) => a.start - b.start);
  const out: Range[] = [];
  for (const r of sorted) {
    const last = out.at(-1);
    if (last && r.start <= last.end) last.end = Math.max(last.end, r.end);
    else out.push({ ...r });
  }
  return out;
}

/** `from` minus `minus`, both merged. */
export function subtract(from: readonly Range[], minus: readonly Range[]): Range[] {
  const out: Range[] = [];
  let j = 0;
  for (const r of from) {
    let cursor = r.start;
    while (j < minus.length && (minus[j] as Range).end <= cursor) j += 1;
    let k = j;
    while (k < minus.length && (minus[k] as Range).start < r.end) {
      const m = minus[k] as Range;
      if (m.start > cursor) out.push({ start: cursor, end: m.start });
      cursor = Math.max(cursor, m.end);
      k += 1;
    }
    if (cursor < r.end) out.push({ start: cursor, end: r.end });
  }
  return out;
}

/** `ranges` clipped to `within`, merged. */
export function mergeWithin(ranges: readonly Range[], within: Range): Range[] {
  return merge(ranges.map((r) => ({ start: Math.max(r.start, within.start), end: Math.min(r.end, within.end) })));
}
