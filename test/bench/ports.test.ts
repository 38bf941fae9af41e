import { describe, expect, it } from "vitest";
import { ephemeralRange, freePorts, PORT_SLICES, portRange } from "../../bench/lib/nodes.js";

describe("free ports for test and benchmark nodes", () => {
  it("reads the kernel's ephemeral range, and falls back when it cannot", () => {
    expect(ephemeralRange(() => "32768\t60999\n")).toEqual({ from: 32_768, to: 60_999 });
    expect(ephemeralRange(() => "1024 65535")).toEqual({ from: 1024, to: 65_535 });
    expect(
      ephemeralRange(() => {
        throw new Error("ENOENT");
      }),
    ).toEqual({ from: 32_768, to: 60_999 });
    expect(ephemeralRange(() => "garbage")).toEqual({ from: 32_768, to: 60_999 });
  });

  it("gives each worker a slice of its own, none inside the ephemeral range", () => {
    for (const ephemeral of [
      { from: 32_768, to: 60_999 },
      { from: 49_152, to: 65_535 },
      { from: 10_000, to: 30_000 },
    ]) {
      const slices = Array.from({ length: PORT_SLICES }, (_, i) => portRange(i, ephemeral));
      for (const [i, a] of slices.entries()) {
        expect(a.to - a.from).toBeGreaterThanOrEqual(64);
        // half-open [from, to): outside the ephemeral range, inside the port space
        expect(
          a.to <= ephemeral.from || a.from > ephemeral.to,
          `slice ${i} beside ${ephemeral.from}-${ephemeral.to}`,
        ).toBe(true);
        expect(a.to).toBeLessThanOrEqual(65_536);
        for (const b of slices.slice(i + 1)) expect(a.to <= b.from || b.to <= a.from, `slices overlap`).toBe(true);
      }
    }
    expect(() => portRange(1, { from: 1024, to: 65_535 })).toThrow(/no room for test ports/);
  });

  it("hands out free ports from this worker's slice, never the same one twice", async () => {
    const slice = portRange(Number(process.env.VITEST_POOL_ID ?? 0));
    // 600 of a slice of some 2,800: drawn at random without the memory, some would repeat
    const drawn = [...(await freePorts(300)), ...(await freePorts(300))];
    expect(new Set(drawn).size).toBe(drawn.length);
    for (const port of drawn) {
      expect(port).toBeGreaterThanOrEqual(slice.from);
      expect(port).toBeLessThan(slice.to);
    }
  });
});
