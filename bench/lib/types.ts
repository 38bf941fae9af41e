import type { Cleanup } from "./nodes.js";
import type { SharedScope } from "./shared.js";

/** What a benchmark module reports, and what the runner writes (docs/bench/latest.json). */

export type Conditions = Record<string, string | number | boolean>;

/** A goal for a figure: on our value (e.g. p99 <= 10 ms) or on the ratio to the baseline (>= 100x). */
export interface Target {
  on: "ours" | "ratio";
  op: "<=" | ">=";
  value: number;
}

export interface Figure {
  /** What is measured, e.g. "query p99". */
  name: string;
  unit: string;
  ours: number;
  /** The same thing measured the naive way in the same run, when there is one. */
  baseline?: { name: string; value: number };
  /** baseline / ours: how many times better ours is (for latencies and times). */
  ratio?: number;
  /** The goals this figure is held to, each judged. */
  targets: Array<Target & { met: boolean }>;
  /** What this figure was measured under (hubs, trainers, runs, ...), on top of the benchmark's. */
  conditions: Conditions;
}

export interface BenchmarkOutcome {
  /** Conditions common to every figure of the benchmark. */
  conditions: Conditions;
  figures: Figure[];
  /** Anything else worth keeping (breakdowns, individual samples), as plain JSON. */
  details: Record<string, unknown>;
  /** Plain sentences: what was reduced and why, anything surprising. */
  notes: string[];
}

export interface BenchmarkResult extends BenchmarkOutcome {
  name: string;
  title: string;
  status: "ok" | "failed";
  error?: string;
  durationMs: number;
}

export interface Environment {
  node: string;
  v8: string;
  platform: string;
  arch: string;
  cores: number;
  cpu: string;
  memoryGiB: number;
  commit: string;
  /** Uncommitted changes in the working tree when the bench ran. */
  dirty: boolean;
}

export interface BenchmarkContext {
  quick: boolean;
  /** Where to register what must be undone (processes, temp dirs): run after the benchmark, also on failure or Ctrl-C. */
  cleanup: Cleanup;
  /** A temp dir removed at cleanup (kept with --keep). */
  tempDir(prefix: string): Promise<string>;
  environment: Environment;
  /** Progress for people, on stderr. */
  log(message: string): void;
  /**
   * The setup named `key`, built by `build` the first time a benchmark of the run asks for it and
   * kept (its processes, its temp dirs) until the last selected benchmark that lists `key` in its
   * `shares` has run. Asking for a key the benchmark does not list is an error.
   */
  shared<T>(key: string, build: (scope: SharedScope) => Promise<T>): Promise<T>;
}

export interface Benchmark {
  /** Short, dotted, used by the name filter: e.g. "availability.query". */
  name: string;
  title: string;
  /** Keys of the shared setups it asks for (`BenchmarkContext.shared`). */
  shares?: readonly string[];
  run(context: BenchmarkContext): Promise<BenchmarkOutcome>;
}

export interface RunResults {
  schema: 1;
  mode: "quick" | "full";
  filter: string[];
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  environment: Environment;
  benchmarks: BenchmarkResult[];
  /** 1-, 5- and 15-minute load averages when the run started and ended: other work on the machine skews every figure. */
  loadAverage: { start: number[]; end: number[] };
  /** Promise rejections nobody handled during the run (e.g. from nodes already stopped), recorded rather than fatal. */
  unhandledRejections: string[];
}

/** A figure with its targets judged; the ratio is baseline / ours unless given. */
export function figure(input: Omit<Figure, "targets" | "ratio"> & { targets?: Target[]; ratio?: number }): Figure {
  const ratio = input.ratio ?? (input.baseline && input.ours > 0 ? input.baseline.value / input.ours : undefined);
  const out: Figure = {
    name: input.name,
    unit: input.unit,
    ours: input.ours,
    targets: [],
    conditions: input.conditions,
  };
  if (input.baseline) out.baseline = input.baseline;
  if (ratio !== undefined) out.ratio = ratio;
  for (const target of input.targets ?? []) {
    const value = target.on === "ours" ? input.ours : ratio;
    const met =
      value !== undefined &&
      Number.isFinite(value) &&
      (target.op === "<=" ? value <= target.value : value >= target.value);
    out.targets.push({ ...target, met });
  }
  return out;
}
