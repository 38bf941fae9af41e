import { describe, expect, it } from "vitest";
import { compare } from "../../bench/compare.js";
import type { BenchmarkResult, RunResults } from "../../bench/lib/types.js";

function run(commit: string, benchmarks: BenchmarkResult[]): RunResults {
  return {
    schema: 1,
    mode: "full",
    filter: [],
    startedAt: "2026-12-06T00:00:00.000Z",
    finishedAt: "2026-12-06T00:17:00.000Z",
    durationMs: 1_020_000,
    environment: {
      node: "v24.0.0",
      v8: "13",
      platform: "linux",
      arch: "x64",
      cores: 2,
      cpu: "test",
      memoryGiB: 8,
      commit,
      dirty: false,
    },
    benchmarks,
    loadAverage: { start: [0.5, 0.5, 0.5], end: [2, 2, 2] },
    unhandledRejections: [],
  };
}

function bench(name: string, figures: Array<[string, number]>): BenchmarkResult {
  return {
    name,
    title: name,
    status: "ok",
    durationMs: 1,
    conditions: {},
    details: {},
    notes: [],
    figures: figures.map(([figure, ours]) => ({ name: figure, unit: "ms", ours, targets: [], conditions: {} })),
  };
}

describe("two benchmark runs side by side", () => {
  it("puts each figure's before and after together, marks a large change, and names what one run lacks", () => {
    const before = run("aaaaaaaaaaaa", [
      bench("query", [
        ["p50", 2],
        ["p99", 10],
      ]),
      bench("restart", [["first answer", 100]]),
    ]);
    const after = run("bbbbbbbbbbbb", [
      bench("query", [
        ["p50", 2.2],
        ["p99", 30],
        ["mean", 3],
      ]),
    ]);
    const text = compare(before, after);
    expect(text).toContain("commit `aaaaaaa`");
    expect(text).toContain("commit `bbbbbbb`");
    expect(text).toContain("| p50 | 2.00 ms | 2.20 ms | 1.10× |");
    expect(text).toContain("| p99 | 10.0 ms | 30.0 ms | 3.00× ◆ |");
    expect(text).toContain("| mean | — | 3.00 ms | — |");
    expect(text).toContain("before: ok; after: not run");
  });
});
