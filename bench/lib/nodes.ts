/**
 * Real node processes for tests and benchmarks alike — the one way either starts one: `concordat
 * start` (the built CLI, dist/cli/main.js) on 127.0.0.1, ready when its log says "node started"
 * (within a bounded time), its stderr kept, stopped with SIGTERM then SIGKILL after a bound, or
 * killed with SIGKILL outright (durability tests). Paths are found from the project root, so this
 * runs from the source tree (vitest) and from dist/bench/ alike; cleanup helpers for benchmarks too.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { MAIN_THREAD_FLAGS } from "../../node/heap.js";

/** The project root: the nearest directory above this file with concordat's package.json (works from bench/ and dist/bench/). */
export const ROOT = ((): string => {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, "package.json");
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, "utf8")) as { name?: string }).name === "concordat")
      return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error("cannot find the project root (package.json of concordat) above the bench");
    dir = parent;
  }
})();

export const CLI_ENTRY = join(ROOT, "dist", "cli", "main.js");
export const DEFAULT_CONFIG = join(ROOT, "config", "default.yaml");

/** Cleanups run in reverse order of registration, each whatever the others do. */
export class Cleanup {
  readonly #steps: Array<{ what: string; run: () => Promise<void> | void }> = [];

  add(what: string, run: () => Promise<void> | void): void {
    this.#steps.push({ what, run });
  }

  async run(log: (message: string) => void): Promise<void> {
    while (this.#steps.length > 0) {
      const step = this.#steps.pop() as { what: string; run: () => Promise<void> | void };
      try {
        await step.run();
      } catch (error) {
        log(`cleanup: ${step.what} failed: ${(error as Error).message}`);
      }
    }
  }
}

/** A set for the node processes a benchmark starts (callers add them): those still running at cleanup are stopped. */
export function liveNodes(cleanup: Cleanup): Set<NodeProcess> {
  const live = new Set<NodeProcess>();
  cleanup.add("stop the node processes", async () => {
    await Promise.all([...live].map((p) => p.stop(10_000)));
  });
  return live;
}

/** A temp dir removed at cleanup (or kept, and named, with `keep`: to look into a run). */
export async function tempDir(prefix: string, cleanup: Cleanup, keep = false): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  cleanup.add(keep ? `keep ${dir}` : `remove ${dir}`, async () => {
    if (keep) process.stderr.write(`  kept ${dir}\n`);
    else await rm(dir, { recursive: true, force: true });
  });
  return dir;
}

/**
 * Ports are drawn outside the system's ephemeral range (read from /proc on Linux; 32768–60999
 * there by default, 49152 and up elsewhere), where the kernel picks the local port of every
 * outgoing connection and of `listen(0)`: a port found free there was being taken by another test's
 * connection before the node it was chosen for could bind it (EADDRINUSE under a full test run).
 *
 * Test files run in parallel workers, each a process of its own: a port one worker found free and
 * has not bound yet looks free to the other too. So the range is cut into slices and a process draws
 * only from its own (`VITEST_POOL_ID`, 1 to maxWorkers, names a vitest worker; a benchmark runs
 * alone, in slice 0), and never hands out the same port twice.
 */
export const PORT_SLICES = 8;
const DEFAULT_EPHEMERAL = { from: 32_768, to: 60_999 };

/** The kernel's ephemeral port range, from /proc where there is one. */
export function ephemeralRange(
  read: () => string = () => readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8"),
): {
  from: number;
  to: number;
} {
  try {
    const [from = Number.NaN, to = Number.NaN] = read().trim().split(/\s+/).map(Number);
    if (Number.isInteger(from) && Number.isInteger(to) && from > 0 && to >= from) return { from, to };
  } catch {
    // no /proc (not Linux): the default below
  }
  return DEFAULT_EPHEMERAL;
}

/** The ports a process in `slice` draws from: the larger gap beside the ephemeral range, cut into PORT_SLICES. */
export function portRange(slice: number, ephemeral = ephemeralRange()): { from: number; to: number } {
  const below = { from: 10_000, to: Math.min(ephemeral.from, 65_536) };
  const above = { from: Math.max(ephemeral.to + 1, 10_000), to: 65_536 };
  const gap = below.to - below.from >= above.to - above.from ? below : above;
  const size = Math.floor((gap.to - gap.from) / PORT_SLICES);
  if (size < 64) throw new Error(`no room for test ports beside the ephemeral range ${ephemeral.from}-${ephemeral.to}`);
  const index = ((slice % PORT_SLICES) + PORT_SLICES) % PORT_SLICES;
  return { from: gap.from + index * size, to: gap.from + (index + 1) * size };
}

function ownSlice(): number {
  const pool = Number(process.env.VITEST_POOL_ID);
  return Number.isInteger(pool) && pool > 0 ? pool : 0;
}

/** Ports this process has handed out: never twice (a node restarted later must find its port still its own). */
const handedOut = new Set<number>();

/** Binds `port` on 127.0.0.1 and lets it go: was it free? */
function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** `count` distinct TCP ports free on 127.0.0.1 now, from this process's slice beside the ephemeral range (see portRange). */
export async function freePorts(count: number): Promise<number[]> {
  const range = portRange(ownSlice());
  const ports: number[] = [];
  for (let tries = 0; ports.length < count; tries += 1) {
    if (tries >= 10_000)
      throw new Error(
        `found only ${ports.length} of ${count} free ports on 127.0.0.1 in ${range.from}-${range.to - 1}`,
      );
    const port = range.from + Math.floor(Math.random() * (range.to - range.from));
    if (!handedOut.has(port) && (await canListen(port))) {
      handedOut.add(port);
      ports.push(port);
    }
  }
  return ports;
}

export interface NodeProcess {
  child: ChildProcess;
  /** When it was spawned (performance.now()). */
  spawnedAt: number;
  /**
   * Resolves with the API address and the time (performance.now()) of the "node started" log line;
   * rejects if the process exits first or after the launch's `timeoutMs`.
   */
  started: Promise<{ address: string; at: number }>;
  /** Log lines seen so far (JSON objects). */
  logs: Array<Record<string, unknown>>;
  /** What the process wrote to stderr so far (the CLI's messages for people). */
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`; says whether it had to be killed. */
  stop(graceMs?: number): Promise<{ killed: boolean }>;
  /** SIGKILL at once (`kill -9`: no shutdown at all), and its exit. */
  kill(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** A node process that has started: its API address. */
export interface StartedNode extends NodeProcess {
  address: string;
}

export interface LaunchOptions {
  /** CONCORDAT_* and other variables on top of this process's environment (info-level JSON logs by default). */
  env?: Record<string, string>;
  /** Node flags before the CLI entry (e.g. --cpu-prof). */
  execArgv?: readonly string[];
  /** How long to wait for "node started" (default 120 s). */
  timeoutMs?: number;
  /** The API on a free port and libp2p on 127.0.0.1 (a free port), unless `env` says otherwise: for tests. */
  loopback?: boolean;
  /** Run under this umask (through /bin/sh), e.g. 0o022. */
  umask?: number;
}

/** The environment that puts a node's API and libp2p on free loopback ports. */
export const LOOPBACK_ENV: Readonly<Record<string, string>> = {
  CONCORDAT_API_PORT: "0",
  CONCORDAT_CONSOLE_PORT: "0",
  CONCORDAT_NETWORK_LISTEN: "/ip4/127.0.0.1/tcp/0",
};

/**
 * The command line that runs the built CLI with `args` (node flags first: the node's own, as its
 * `concordat` command has them, then `execArgv`), under `umask` if given.
 */
export function cliCommand(
  args: readonly string[],
  options: { execArgv?: readonly string[]; umask?: number } = {},
): [string, string[]] {
  const argv = [...MAIN_THREAD_FLAGS, ...(options.execArgv ?? []), CLI_ENTRY, ...args];
  if (options.umask === undefined) return [process.execPath, argv];
  const mask = options.umask.toString(8).padStart(3, "0");
  return ["/bin/sh", ["-c", `umask ${mask} && exec "$0" "$@"`, process.execPath, ...argv]];
}

/**
 * Starts `concordat start --data DIR` (the built CLI) as a separate process and returns at once:
 * `started` resolves on its "node started" log line.
 */
export function launchNode(dataDir: string, options: LaunchOptions = {}): NodeProcess {
  const timeoutMs = options.timeoutMs ?? 120_000;
  const spawnedAt = performance.now();
  const [command, argv] = cliCommand(["start", "--data", dataDir], options);
  const child = spawn(command, argv, {
    env: {
      ...process.env,
      ...(options.loopback ? LOOPBACK_ENV : {}),
      CONCORDAT_LOG_LEVEL: "info",
      CONCORDAT_LOG_PRETTY: "false",
      ...options.env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = once(child, "exit").then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
  }));
  const logs: Array<Record<string, unknown>> = [];
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8");
  });
  const started = new Promise<{ address: string; at: number }>((resolve, reject) => {
    const timer = setTimeout(() => {
      const last = logs.at(-1);
      reject(
        new Error(
          `node did not start within ${timeoutMs} ms; its last log line: ${last ? JSON.stringify(last).slice(0, 500) : "none"}; stderr: ${stderr}`,
        ),
      );
    }, timeoutMs);
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.on("line", (line) => {
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      logs.push(entry);
      if (entry.msg === "node started" && typeof entry.api === "string") {
        clearTimeout(timer);
        resolve({ address: entry.api, at: performance.now() });
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`node exited before starting (code ${code}, signal ${signal}): ${stderr}`));
    });
  });
  started.catch(() => undefined); // observed by whoever awaits it; never an unhandled rejection
  const ended = () => child.exitCode !== null || child.signalCode !== null;
  const stop = async (graceMs = 30_000) => {
    if (ended()) return { killed: false };
    child.kill("SIGTERM");
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      child.kill("SIGKILL");
    }, graceMs);
    try {
      await exited;
    } finally {
      clearTimeout(timer);
    }
    return { killed };
  };
  const kill = async () => {
    if (!ended()) child.kill("SIGKILL");
    return exited;
  };
  return { child, spawnedAt, started, logs, exited, stderr: () => stderr, stop, kill };
}

/**
 * Starts a node process and waits until it has started (at most `timeoutMs`, default 30 s); if it
 * does not, kills it and fails with its last log line and stderr.
 */
export async function startNode(dataDir: string, options: LaunchOptions = {}): Promise<StartedNode> {
  const proc = launchNode(dataDir, { timeoutMs: 30_000, ...options });
  try {
    const { address } = await proc.started;
    return Object.assign(proc, { address });
  } catch (error) {
    await proc.kill();
    throw error;
  }
}
