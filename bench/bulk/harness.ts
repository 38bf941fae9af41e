/**
 * Shared by bulk.import and api.responsiveness: data dirs, node processes with the loop monitor
 * preloaded, the CLI's import as its own process, and resident memory read from /proc.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { parse, stringify } from "yaml";
import { initDataDir } from "../../node/setup.js";
import { adminToken, benchClient, type NodeClient } from "../lib/api.js";
import { CLI_ENTRY, DEFAULT_CONFIG, ROOT, launchNode, type NodeProcess } from "../lib/nodes.js";
import { Probe } from "./probe.js";

const LOOP_MONITOR = pathToFileURL(join(ROOT, "dist", "bench", "bulk", "loop-monitor.js")).href;
const PEAK_RSS = pathToFileURL(join(ROOT, "dist", "bench", "bulk", "peak-rss.js")).href;

export const loopback = (port: number) => `/ip4/127.0.0.1/tcp/${port}`;
export const epochNow = () => performance.timeOrigin + performance.now();

export async function writeNetwork(dataDir: string, network: Record<string, unknown>): Promise<void> {
  const path = join(dataDir, "config.yaml");
  const config = parse(await readFile(path, "utf8")) as Record<string, unknown>;
  config.network = network;
  await writeFile(path, stringify(config));
}

/** `concordat init` for a hub (or the secretariat), from the default config. */
export async function initHub(
  dataDir: string,
  hubId: string,
  options: { secretariat?: boolean; anchor?: string } = {},
): Promise<{ peerId: string }> {
  const base = await readFile(DEFAULT_CONFIG, "utf8");
  const result = await initDataDir({
    dataDir,
    hubId,
    name: `Bench ${hubId}`,
    secretariat: options.secretariat ?? false,
    ...(options.anchor ? { anchor: options.anchor } : {}),
    baseConfig: base,
    baseConfigSource: DEFAULT_CONFIG,
  });
  return { peerId: result.peerId };
}

/** A running node: its process, a client for its API, the probe's client, and its loop record. */
export interface BulkNode {
  dataDir: string;
  proc: NodeProcess;
  address: string;
  token: string;
  api: NodeClient;
  probe: Probe;
  /** Where loop-monitor.js writes (see there). */
  loopFile: string;
  stop(graceMs?: number): Promise<void>;
}

/**
 * Starts `concordat start` on `dataDir` with the loop monitor preloaded (plus `execArgv`, e.g.
 * --cpu-prof), waits for "node started", and registers it in `live` until it exits.
 */
export async function startNode(
  dataDir: string,
  live: Set<NodeProcess>,
  options: { env?: Record<string, string>; execArgv?: string[]; loopFile: string },
): Promise<BulkNode> {
  const proc = launchNode(dataDir, {
    env: {
      CONCORDAT_API_PORT: "0",
      CONCORDAT_CONSOLE_PORT: "0",
      ...options.env,
      CONCORDAT_BENCH_LOOP_FILE: options.loopFile,
    },
    execArgv: [`--import=${LOOP_MONITOR}`, ...(options.execArgv ?? [])],
  });
  live.add(proc);
  void proc.exited.then(() => live.delete(proc));
  const { address } = await proc.started;
  const token = await adminToken(dataDir);
  const api = benchClient(address, token);
  const probe = new Probe(address, token);
  return {
    dataDir,
    proc,
    address,
    token,
    api,
    probe,
    loopFile: options.loopFile,
    async stop(graceMs = 30_000) {
      api.close();
      probe.close();
      await proc.stop(graceMs);
      // Its log, next to its loop record (kept with --keep).
      await writeFile(
        `${options.loopFile.replace(/\.txt$/, "")}.log`,
        `${proc.logs.map((e) => JSON.stringify(e)).join("\n")}\n${proc.stderr()}`,
      ).catch(() => undefined);
    },
  };
}

/** VmRSS and VmHWM (peak) of a live process, in KiB; undefined once it has gone. */
export async function memoryOf(pid: number | undefined): Promise<{ rssKb: number; hwmKb: number } | undefined> {
  if (pid === undefined) return undefined;
  try {
    const status = await readFile(`/proc/${pid}/status`, "utf8");
    const rss = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
    const hwm = /VmHWM:\s+(\d+) kB/.exec(status)?.[1];
    return rss === undefined || hwm === undefined ? undefined : { rssKb: Number(rss), hwmKb: Number(hwm) };
  } catch {
    return undefined;
  }
}

/** CPU time (user + system) a live process has used so far, ms (Linux: /proc/PID/stat, in clock ticks of 10 ms). */
export async function cpuMsOf(pid: number | undefined): Promise<number | undefined> {
  if (pid === undefined) return undefined;
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may hold spaces) — utime and stime are the 14th and 15th.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}

/** Resets a process's VmHWM to its current RSS (Linux: "5" into clear_refs); false if not allowed. */
export async function resetPeak(pid: number | undefined): Promise<boolean> {
  if (pid === undefined) return false;
  try {
    await writeFile(`/proc/${pid}/clear_refs`, "5");
    return true;
  } catch {
    return false;
  }
}

/** Samples the resident memory of some processes every `intervalMs` until stopped: the highest seen. */
export class RssSampler {
  readonly #pids: () => Array<number | undefined>;
  readonly #max = new Map<number, number>();
  #timer: NodeJS.Timeout | undefined;
  #busy = false;

  constructor(pids: () => Array<number | undefined>, intervalMs = 25) {
    this.#pids = pids;
    this.#timer = setInterval(() => void this.#sample(), intervalMs);
  }

  async #sample(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      for (const pid of this.#pids()) {
        const m = await memoryOf(pid);
        if (pid !== undefined && m) this.#max.set(pid, Math.max(this.#max.get(pid) ?? 0, m.rssKb, m.hwmKb));
      }
    } finally {
      this.#busy = false;
    }
  }

  /** The highest VmRSS/VmHWM seen of `pid`, KiB. */
  maxKb(pid: number | undefined): number | undefined {
    return pid === undefined ? undefined : this.#max.get(pid);
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#sample();
  }
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  pid: number | undefined;
  /** Spawn and exit, epoch ms. */
  spawnedAt: number;
  exitedAt: number;
  /** Its peak resident memory (getrusage's ru_maxrss, written at exit by peak-rss.js), KiB. */
  peakRssKb?: number;
  /** Its CPU time (user + system), ms. */
  cpuMs?: number;
}

/**
 * Runs the built CLI (`node dist/cli/main.js ARGS`) as its own process, with peak-rss.js preloaded;
 * `onSpawn` gets its pid (to sample it). Killed after `timeoutMs`.
 */
export async function runCli(
  args: readonly string[],
  rssFile: string,
  timeoutMs: number,
  onSpawn?: (pid: number | undefined) => void,
): Promise<CliRun> {
  const spawnedAt = epochNow();
  const child = spawn(process.execPath, [`--import=${PEAK_RSS}`, CLI_ENTRY, ...args], {
    env: { ...process.env, CONCORDAT_BENCH_RSS_FILE: rssFile },
    stdio: ["ignore", "pipe", "pipe"],
  });
  onSpawn?.(child.pid);
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const [code] = (await once(child, "exit")) as [number | null];
  clearTimeout(timer);
  const exitedAt = epochNow();
  const run: CliRun = { code, stdout, stderr, pid: child.pid, spawnedAt, exitedAt };
  try {
    const usage = JSON.parse(await readFile(rssFile, "utf8")) as { maxRssKb: number; userUs: number; systemUs: number };
    run.peakRssKb = usage.maxRssKb;
    run.cpuMs = (usage.userUs + usage.systemUs) / 1000;
  } catch {
    // it died before writing: no figure
  }
  if (code === null)
    throw new Error(`the CLI (${args.join(" ")}) was killed after ${timeoutMs} ms: ${stderr.slice(-1000)}`);
  return run;
}

/** The time of a node's first log line with this message (pino's `time`, epoch ms), after `since`. */
export function logTime(proc: NodeProcess, msg: string, since = 0): number | undefined {
  const entry = proc.logs.find((e) => e.msg === msg && typeof e.time === "number" && e.time >= since);
  return typeof entry?.time === "number" ? entry.time : undefined;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
