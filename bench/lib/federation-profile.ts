/**
 * A V8 CPU profile (node --cpu-prof) of a node process summarised over a window of its life (ms since
 * the profile started, which is within a few ms of the process's spawn): what the process did while
 * something was timed, not while it started. Same attribution as cpu-profile.ts: each sample charged
 * to the innermost frame of this project's code on its stack, else to its package, Node's internals,
 * GC or idle.
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import {
  addTime,
  functionLabel,
  otherComponent,
  profileTree,
  projectComponent,
  ranked,
  type CpuProfile,
} from "./cpu-profile.js";

export interface WindowSummary {
  fromMs: number;
  toMs: number;
  /** Milliseconds of samples in the window. */
  totalMs: number;
  /** Share of the window's samples that were not idle. */
  busyShare: number;
  byComponent: Array<{ component: string; ms: number; share: number }>;
  bySelf: Array<{ component: string; ms: number; share: number }>;
  functions: Array<{ fn: string; ms: number; share: number }>;
}

/** Summarises the (single) .cpuprofile in `dir` over [fromMs, toMs]; undefined if none was written. */
export async function summarizeProfileWindow(
  dir: string,
  fromMs: number,
  toMs: number,
  top = 12,
): Promise<WindowSummary | undefined> {
  const file = (await readdir(dir).catch(() => [] as string[])).find((f) => f.endsWith(".cpuprofile"));
  if (!file) return undefined;
  const profile = JSON.parse(await readFile(join(dir, file), "utf8")) as CpuProfile;
  const tree = profileTree(profile);
  const byComponent = new Map<string, number>();
  const bySelf = new Map<string, number>();
  const functions = new Map<string, number>();
  let elapsed = 0;
  let total = 0;
  let idle = 0;
  for (let i = 0; i < profile.samples.length; i += 1) {
    const delta = profile.timeDeltas[i] ?? 0;
    elapsed += delta;
    const ms = elapsed / 1000;
    if (ms < fromMs) continue;
    if (ms > toMs) break;
    const node = tree.node(profile.samples[i] as number);
    if (!node) continue;
    total += delta;
    const { url, functionName } = node.callFrame;
    const self = projectComponent(url) ?? otherComponent(url, functionName);
    if (self === "(idle)") idle += delta;
    addTime(bySelf, self, delta);
    addTime(byComponent, tree.projectFrame(node.id)?.component ?? self, delta);
    addTime(functions, functionLabel(node.callFrame), delta);
  }
  const rank = (map: Map<string, number>) => ranked(map, total, top);
  return {
    fromMs: Math.round(fromMs),
    toMs: Math.round(toMs),
    totalMs: Math.round(total / 1000),
    busyShare: Math.round((1000 * (total - idle)) / Math.max(1, total)) / 10,
    byComponent: rank(byComponent).map(({ name, ...rest }) => ({ component: name, ...rest })),
    bySelf: rank(bySelf).map(({ name, ...rest }) => ({ component: name, ...rest })),
    functions: rank(functions).map(({ name, ...rest }) => ({ fn: name, ...rest })),
  };
}
