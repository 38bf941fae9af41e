/**
 * A V8 CPU profile (node --cpu-prof) summarised, optionally only up to a moment after it started:
 * - byComponent: each sample charged to the innermost frame of this project's code on its stack
 *   (`node/query`, `node/authority`, ...), so time spent inside a library counts for the component
 *   that called it; samples with no project frame go to their own package, Node's internals, GC, idle;
 * - bySelf: self time by package (automerge's wasm, classic-level, ...);
 * - functions: the functions with the most self time.
 */
import { readFile } from "node:fs/promises";

export interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  /** Microseconds, on the clock of the process that wrote it. */
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface Share {
  ms: number;
  share: number;
}

export interface Phase {
  fromMs: number;
  toMs: number;
  /** The project function (innermost on the stack) with the most samples over these buckets. */
  project: string;
  /** What the samples were, most first (project function, package, GC, idle). */
  top: string[];
}

export interface ProfileSummary {
  /** Milliseconds of samples (up to the cut-off). */
  totalMs: number;
  /** Consecutive buckets of `bucketMs` merged while the same project function leads them. */
  phases: Phase[];
  byComponent: Array<{ component: string } & Share>;
  bySelf: Array<{ component: string } & Share>;
  functions: Array<{ fn: string } & Share>;
}

/** This project's component of a script, if it is one: `node/query`, `node` (node/node.js), `cli`. */
export function projectComponent(url: string): string | undefined {
  const match = /\/dist\/(node|cli|bench)\/(?:([^/]+)\/)?[^/]+\.js$/.exec(url);
  if (!match) return undefined;
  return match[2] ? `${match[1]}/${match[2]}` : (match[1] as string);
}

/** A package, Node's internals, or a V8 pseudo-frame such as `(garbage collector)`. */
export function otherComponent(url: string, functionName: string): string {
  if (url === "") return functionName.startsWith("(") ? functionName : "(native)";
  const pkg = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (pkg) return pkg[1] as string;
  if (url.startsWith("node:")) return "node internals";
  if (url.startsWith("wasm://")) return url.includes("automerge") ? "@automerge/automerge (wasm)" : "wasm";
  return url.replace(/^.*\//, "");
}

/** The innermost frame of this project's code on a sample's stack: its component, and `component function`. */
export interface ProjectFrame {
  component: string;
  fn: string;
}

/** A profile's nodes by id, and the innermost project frame on each node's stack (memoised per node). */
export function profileTree(profile: CpuProfile): {
  node(id: number): ProfileNode | undefined;
  projectFrame(id: number): ProjectFrame | undefined;
} {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const child of n.children ?? []) parent.set(child, n.id);
  const owner = new Map<number, ProjectFrame | undefined>();
  const projectFrame = (id: number): ProjectFrame | undefined => {
    if (owner.has(id)) return owner.get(id);
    const node = byId.get(id);
    const component = node ? projectComponent(node.callFrame.url) : undefined;
    const up = parent.get(id);
    const result =
      component && node
        ? { component, fn: `${component} ${node.callFrame.functionName || "(anonymous)"}` }
        : up === undefined
          ? undefined
          : projectFrame(up);
    owner.set(id, result);
    return result;
  };
  return { node: (id) => byId.get(id), projectFrame };
}

/** A function as listed by self time: its name, and its script below dist/ or node_modules/ with the line. */
export function functionLabel({ functionName, url, lineNumber }: ProfileNode["callFrame"]): string {
  return `${functionName || "(anonymous)"} ${url.replace(/^.*\/(dist|node_modules)\//, "")}${url ? `:${lineNumber + 1}` : ""}`;
}

/** Adds `us` microseconds to `key`. */
export function addTime(map: Map<string, number>, key: string, us: number): void {
  map.set(key, (map.get(key) ?? 0) + us);
}

/** The `top` largest entries of a map of microseconds: ms, and share of `totalUs` in percent. */
export function ranked(map: Map<string, number>, totalUs: number, top: number): Array<{ name: string } & Share> {
  return [...map]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, us]) => ({
      name,
      ms: Math.round(us / 100) / 10,
      share: Math.round((1000 * us) / Math.max(1, totalUs)) / 10,
    }));
}

export async function summarizeProfile(
  path: string,
  cutOffMs = Number.POSITIVE_INFINITY,
  top = 15,
  bucketMs = 500,
): Promise<ProfileSummary> {
  const profile = JSON.parse(await readFile(path, "utf8")) as CpuProfile;
  const tree = profileTree(profile);
  const buckets: Array<{ project: Map<string, number>; all: Map<string, number> }> = [];
  const byComponent = new Map<string, number>();
  const bySelf = new Map<string, number>();
  const functions = new Map<string, number>();
  let elapsed = 0;
  let total = 0;
  for (let i = 0; i < profile.samples.length; i += 1) {
    const delta = profile.timeDeltas[i] ?? 0;
    elapsed += delta;
    if (elapsed / 1000 > cutOffMs) break;
    const id = profile.samples[i] as number;
    const node = tree.node(id);
    if (!node) continue;
    total += delta;
    const { url, functionName } = node.callFrame;
    const self = projectComponent(url) ?? otherComponent(url, functionName);
    addTime(bySelf, self, delta);
    const projectFrame = tree.projectFrame(id);
    addTime(byComponent, projectFrame?.component ?? self, delta);
    const bucket = (buckets[Math.floor(elapsed / 1000 / bucketMs)] ??= { project: new Map(), all: new Map() });
    if (projectFrame) addTime(bucket.project, projectFrame.fn, delta);
    addTime(bucket.all, projectFrame?.fn ?? self, delta);
    addTime(functions, functionLabel(node.callFrame), delta);
  }
  const rank = (map: Map<string, number>) => ranked(map, total, top);
  const leader = (map: Map<string, number>) => [...map].sort((a, b) => b[1] - a[1])[0]?.[0] ?? "-";
  const phases: Phase[] = [];
  for (const [i, bucket] of buckets.entries()) {
    if (!bucket) continue;
    const last = phases.at(-1);
    const top = [...bucket.all]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 3)
      .map(([name]) => name);
    // No project code in these samples (e.g. loading modules): what they were instead.
    const project = bucket.project.size > 0 ? leader(bucket.project) : `(${top[0] ?? "-"})`;
    if (last && last.project === project && last.toMs === i * bucketMs) {
      last.toMs = (i + 1) * bucketMs;
      for (const name of top) if (!last.top.includes(name)) last.top.push(name);
    } else phases.push({ fromMs: i * bucketMs, toMs: (i + 1) * bucketMs, project, top });
  }
  return {
    totalMs: Math.round(total / 1000),
    phases,
    byComponent: rank(byComponent).map(({ name, ...rest }) => ({ component: name, ...rest })),
    bySelf: rank(bySelf).map(({ name, ...rest }) => ({ component: name, ...rest })),
    functions: rank(functions).map(({ name, ...rest }) => ({ fn: name, ...rest })),
  };
}
