import { describe, expect, it } from "vitest";
import { diameter, lineDials, randomRegularDials } from "../../bench/lib/federation-nodes.js";

/** How many hubs hub 0 reaches over the links. */
function reachedFrom0(links: ReadonlyArray<readonly [number, number]>): number {
  const reached = new Set([0]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [a, b] of links)
      if (reached.has(a) !== reached.has(b)) {
        reached.add(a).add(b);
        grew = true;
      }
  }
  return reached.size;
}

describe("the scale curve's random graph", () => {
  it("gives every hub three links, no loop or double link, one connected graph, the same for a seed", () => {
    const dials = randomRegularDials(50, 3, 7);
    const degree = new Map<number, number>();
    const links = new Set<string>();
    for (const [from, to] of dials) {
      expect(from).toBeGreaterThan(to);
      expect(links.has(`${from}-${to}`)).toBe(false);
      links.add(`${from}-${to}`);
      degree.set(from, (degree.get(from) ?? 0) + 1);
      degree.set(to, (degree.get(to) ?? 0) + 1);
    }
    expect(dials).toHaveLength(75);
    expect([...degree.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(new Set(degree.values())).toEqual(new Set([3]));
    expect(reachedFrom0(dials)).toBe(50);
    const d = diameter(50, dials);
    expect(d).toBeGreaterThan(2);
    expect(d).toBeLessThan(12);
    expect(randomRegularDials(50, 3, 7)).toEqual(dials);
    expect(randomRegularDials(50, 3, 8)).not.toEqual(dials);
  });

  it("draws again when a pairing falls apart: two links per hub on 6 hubs is always the one ring", () => {
    // Half of all pairings of this size are two triangles.
    for (let seed = 1; seed <= 20; seed += 1) expect(reachedFrom0(randomRegularDials(6, 2, seed))).toBe(6);
  });

  it("measures a line's diameter and refuses a degree no graph has", () => {
    expect(diameter(10, lineDials(10))).toBe(9);
    expect(() => randomRegularDials(5, 3, 1)).toThrow(/no 3-regular graph on 5 hubs/);
  });
});
