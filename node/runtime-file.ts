import { readFileSync } from "node:fs";
import { readFile, rename, rm, writeFile } from "node:fs/promises";

/**
 * `DATA/node.json`: how the CLI on this machine finds the node of a data directory. A node writes
 * it as it begins to start (`state: "starting"`, its pid), rewrites it once its API answers
 * (`state: "running"`, the address) and removes it when it stops. No file means no node runs for
 * the directory; a file whose pid is gone was left by a node that was killed.
 *
 * This module has no heavy imports: the CLI's entry file writes the "starting" marker with it before
 * it loads the node's code (docs/cli.md).
 */

/** The mode of every file in a data directory (node/data-permissions.ts). */
const RUNTIME_FILE_MODE = 0o600;

export interface StartingRuntime {
  state: "starting";
  pid: number;
  startedAt: string;
}

/** What a running node writes so that the CLI on this machine can find it. */
export interface RunningRuntime {
  state: "running";
  pid: number;
  api: string;
  /** The web console's address (http(s)://host:port/), when it is served. */
  console?: string;
  /** host:port of the Prometheus endpoint (GET /metrics), when configured. */
  metrics?: string;
  tls: boolean;
  hubId: string;
  peerId: string;
  /** libp2p listen addresses with the /p2p/ suffix, for other hubs' `network.members`. */
  libp2p: string[];
  startedAt: string;
}

export type RuntimeFile = StartingRuntime | RunningRuntime;

export type RuntimeRead = { kind: "missing" } | { kind: "damaged" } | { kind: "found"; runtime: RuntimeFile };

/** Reads `node.json`; a file from before the `state` field counts as running when it names an address. */
export async function readRuntimeFile(path: string): Promise<RuntimeRead> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { kind: "missing" };
    throw error;
  }
  let value: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return { kind: "damaged" };
    value = parsed as Record<string, unknown>;
  } catch {
    // A reader can meet a file another process is writing: treat it like a damaged one.
    return { kind: "damaged" };
  }
  if (typeof value.pid !== "number" || !Number.isInteger(value.pid) || value.pid <= 0) return { kind: "damaged" };
  if (value.state === "starting") {
    return { kind: "found", runtime: { state: "starting", pid: value.pid, startedAt: String(value.startedAt ?? "") } };
  }
  if (typeof value.api !== "string" || (value.state !== undefined && value.state !== "running"))
    return { kind: "damaged" };
  return { kind: "found", runtime: { ...(value as unknown as RunningRuntime), state: "running" } };
}

/** Whether a process with this pid exists (on this machine, as this user sees it). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: it exists, under another user.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
  return !isZombie(pid);
}

/**
 * A process that has ended but that its parent has not reaped yet still answers `kill(pid, 0)`. A
 * node orphaned by its shell (npm → sh → node, the shell killed first) is reaped by whatever adopts
 * it, which in a container may be slow to do so or never does: it holds no port and no database.
 * Linux says so in /proc; elsewhere the answer is "alive".
 */
function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // "PID (COMM) STATE …": COMM may hold spaces and parentheses, the state follows the last ")".
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) === "Z";
  } catch {
    return false;
  }
}

/**
 * Marks the data directory's node as starting, unless the file names another live process or a
 * running node of this one (a node that runs, or one that starts: whichever holds the database wins,
 * and rewrites the file once it answers). Returns the marker written, to release it with `releaseRuntimeFile`.
 */
export async function markStarting(path: string, pid = process.pid): Promise<StartingRuntime | undefined> {
  const current = await readRuntimeFile(path).catch(() => ({ kind: "damaged" }) as const);
  if (current.kind === "found" && isProcessAlive(current.runtime.pid)) {
    // Another live process's file, or a node of this same process that already runs (in-process).
    if (current.runtime.pid !== pid || current.runtime.state === "running") return undefined;
  }
  const marker: StartingRuntime = { state: "starting", pid, startedAt: new Date().toISOString() };
  await writeRuntimeFile(path, marker);
  return marker;
}

/** Writes `node.json` whole (mode 0600): readers see the old or the new content, never a part. */
export async function writeRuntimeFile(path: string, runtime: RuntimeFile): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(runtime, null, 2)}\n`, { mode: RUNTIME_FILE_MODE });
  await rename(temporary, path);
}

/** Removes `node.json` if it is still the one `written` describes (same pid, same start). */
export async function releaseRuntimeFile(path: string, written: Pick<RuntimeFile, "pid" | "startedAt">): Promise<void> {
  const current = await readRuntimeFile(path).catch(() => ({ kind: "damaged" }) as const);
  if (current.kind !== "found") return;
  if (current.runtime.pid !== written.pid || current.runtime.startedAt !== written.startedAt) return;
  await rm(path, { force: true });
}
