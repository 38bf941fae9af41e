/**
 * What the bulk benchmarks make of their measurements: probe latencies over a window of time, the
 * node's event-loop record (loop-monitor.ts) over the same window, and the CPU profile's samples
 * inside the node's stalls (which code blocked the loop).
 */
import { readFile } from "node:fs/promises";
import { percentile } from "../lib/stats.js";
import type { ProbeSample } from "./probe.js";
import {
  addTime,
  functionLabel,
  otherComponent,
  profileTree,
  projectComponent,
  ranked,
  type CpuProfile,
} from "../lib/cpu-profile.js";

/** A stretch of time, epoch ms. */
export interface Window {
  from: number;
  to: number;
}

export const SLOW_MS = 100;

export interface ProbeStats {
  calls: number;
  errors: number;
  p50: number;
  p99: number;
  max: number;
  /** Calls that took over SLOW_MS. */
  over100: number;
  /** Runs of consecutive calls over SLOW_MS: each is one stall as the probe sees it. */
  slowRuns: number;
  /**
   * The longest stall as inferred from the probe alone: the slowest call less the idle median
   * (a call sent just as the loop blocks waits for all of it).
   */
  inferredLongestStallMs: number;
}

export function probeStats(samples: readonly ProbeSample[], window: Window, idleP50 = 0): ProbeStats {
  const inside = samples.filter((s) => s.at >= window.from && s.at <= window.to).sort((a, b) => a.at - b.at);
  const sorted = inside.map((s) => s.ms).sort((a, b) => a - b);
  let slowRuns = 0;
  let inRun = false;
  for (const s of inside) {
    const slow = s.ms > SLOW_MS;
    if (slow && !inRun) slowRuns += 1;
    inRun = slow;
  }
  const max = sorted.at(-1) ?? Number.NaN;
  return {
    calls: inside.length,
    errors: inside.filter((s) => !s.ok).length,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max,
    over100: sorted.filter((ms) => ms > SLOW_MS).length,
    slowRuns,
    inferredLongestStallMs: Math.max(0, max - idleP50),
  };
}

export interface LoopRecord {
  /** [epoch ms when the timer fired, ms late]: the loop was blocked from (at - late) to at. */
  ticks: Array<[number, number]>;
  /** [epoch ms, ticks so far]: the timer's heartbeat. */
  counts: Array<[number, number]>;
  gcs: Array<{ at: number; ms: number; kind: string }>;
  /** The same moment on both clocks (epoch ms, monotonic µs as in a V8 profile). */
  clock?: { epoch: number; hrUs: number };
}

export async function readLoopFile(path: string): Promise<LoopRecord> {
  const record: LoopRecord = { ticks: [], counts: [], gcs: [] };
  let text = "";
  try {
    text = await readFile(path, "utf8");
  } catch {
    return record;
  }
  for (const line of text.split("\n")) {
    const [kind, a, b, c] = line.split(" ");
    if (kind === "t") record.ticks.push([Number(a), Number(b)]);
    else if (kind === "n") record.counts.push([Number(a), Number(b)]);
    else if (kind === "gc") record.gcs.push({ at: Number(a), ms: Number(b), kind: c ?? "?" });
    else if (kind === "clock") record.clock = { epoch: Number(a), hrUs: Number(b) };
  }
  return record;
}

export interface LoopStats {
  /** Whether the monitor reported at all during the window (its timer ran). */
  monitored: boolean;
  /** The longest the loop was blocked, ms (the latest timer's lateness). */
  maxStallMs: number;
  /** Stalls over SLOW_MS, and over 50 ms. */
  stallsOver100: number;
  stallsOver50: number;
  /** Time blocked in stalls over 50 ms, ms, and as a share of the window. */
  blockedMs: number;
  blockedShare: number;
  /** The longest stalls: when they ended (ms since the window began) and how long they were. */
  longest: Array<{ atMs: number; ms: number }>;
  gc: { count: number; totalMs: number; maxMs: number; major: number };
}

/** The loop's stalls that ended inside the window. */
export function loopStats(record: LoopRecord, window: Window): LoopStats {
  const ticks = record.ticks.filter(([at]) => at >= window.from && at <= window.to);
  const lags = ticks.map(([, ms]) => ms);
  const blockedMs = lags.filter((ms) => ms > 50).reduce((sum, ms) => sum + ms, 0);
  const gcs = record.gcs.filter((g) => g.at >= window.from && g.at <= window.to);
  return {
    monitored: record.counts.some(([at]) => at >= window.from && at <= window.to + 500),
    maxStallMs: Math.max(0, ...lags),
    stallsOver100: lags.filter((ms) => ms > SLOW_MS).length,
    stallsOver50: lags.filter((ms) => ms > 50).length,
    blockedMs,
    blockedShare: blockedMs / Math.max(1, window.to - window.from),
    longest: [...ticks]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 5)
      .map(([at, ms]) => ({ atMs: Math.round(at - window.from), ms: Math.round(ms) })),
    gc: {
      count: gcs.length,
      totalMs: Math.round(gcs.reduce((sum, g) => sum + g.ms, 0)),
      maxMs: Math.round(Math.max(0, ...gcs.map((g) => g.ms))),
      major: gcs.filter((g) => g.kind === "major").length,
    },
  };
}

/** The stalls over `minMs` that ended inside the window, as windows of their own. */
export function stallWindows(record: LoopRecord, window: Window, minMs = SLOW_MS): Window[] {
  return record.ticks
    .filter(([at, ms]) => at >= window.from && at <= window.to && ms > minMs)
    .map(([at, ms]) => ({ from: at - ms, to: at }));
}

// ---------------------------------------------------------------------------------------------
// a CPU profile, inside given windows

export interface WindowProfile {
  /** CPU time sampled inside the windows, ms, and the windows' total length. */
  sampledMs: number;
  windowsMs: number;
  /** Each sample charged to the innermost frame of this project's code on its stack (else its package). */
  byComponent: Array<{ name: string; ms: number; share: number }>;
  /** Self time by package (automerge's wasm, classic-level, node internals, GC...). */
  bySelf: Array<{ name: string; ms: number; share: number }>;
  /** The innermost project function on the stack (what our code was doing). */
  projectFunctions: Array<{ name: string; ms: number; share: number }>;
  /** Functions with the most self time. */
  functions: Array<{ name: string; ms: number; share: number }>;
}

/** A CPU profile loaded once, read over any windows of epoch time. */
export interface LoadedProfile {
  inWindows(windows: readonly Window[], top?: number): WindowProfile;
}

/**
 * Reads a profile (node --cpu-prof); windows are epoch ms, converted to the profile's monotonic
 * clock through the loop monitor's `clock` line (both are CLOCK_MONOTONIC on Linux).
 */
export async function loadProfile(path: string, clock: { epoch: number; hrUs: number }): Promise<LoadedProfile> {
  const profile = JSON.parse(await readFile(path, "utf8")) as CpuProfile;
  const tree = profileTree(profile);
  // Each sample's time on the profile's clock.
  const times: number[] = [];
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i += 1) {
    t += profile.timeDeltas[i] ?? 0;
    times.push(t);
  }
  const toUs = (epochMs: number) => clock.hrUs + (epochMs - clock.epoch) * 1000;
  return {
    inWindows(windows, top = 12) {
      const spans = windows.map((w) => [toUs(w.from), toUs(w.to)] as const);
      const byComponent = new Map<string, number>();
      const bySelf = new Map<string, number>();
      const projectFunctions = new Map<string, number>();
      const functions = new Map<string, number>();
      let total = 0;
      for (let i = 0; i < profile.samples.length; i += 1) {
        const at = times[i] as number;
        if (!spans.some(([from, to]) => at >= from && at <= to)) continue;
        const node = tree.node(profile.samples[i] as number);
        if (!node) continue;
        const delta = profile.timeDeltas[i] ?? 0;
        total += delta;
        const { url, functionName } = node.callFrame;
        const self = projectComponent(url) ?? otherComponent(url, functionName);
        addTime(bySelf, self, delta);
        const project = tree.projectFrame(node.id);
        addTime(byComponent, project?.component ?? self, delta);
        if (project) addTime(projectFunctions, project.fn, delta);
        addTime(functions, functionLabel(node.callFrame), delta);
      }
      const rank = (map: Map<string, number>) => ranked(map, total, top);
      return {
        sampledMs: Math.round(total / 1000),
        windowsMs: Math.round(windows.reduce((sum, w) => sum + (w.to - w.from), 0)),
        byComponent: rank(byComponent),
        bySelf: rank(bySelf),
        projectFunctions: rank(projectFunctions),
        functions: rank(functions),
      };
    },
  };
}
