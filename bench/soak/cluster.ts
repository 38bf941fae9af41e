/**
 * The soak's federation: a secretariat and N hubs, each a `concordat start` process (the built CLI)
 * on 127.0.0.1 with fixed API and libp2p ports (so a hub restarted after a SIGKILL comes back at the
 * same addresses). The secretariat's charter admits every hub with its libp2p address, so every
 * member dials every other (a full mesh). Hubs run with `--expose-gc` and the GC probe
 * (gc-probe.ts) so that their heap can be measured after a forced GC.
 */
import { existsSync } from "node:fs";
import { readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { parse, stringify } from "yaml";
import { initDataDir } from "../../node/setup.js";
import { adminToken } from "../lib/api.js";
import { DEFAULT_CONFIG, freePorts, launchNode, type Cleanup, type NodeProcess } from "../lib/nodes.js";
import { allowance, waitUntil } from "../lib/wait.js";
import { admitRequest, benchClient, type NodeClient } from "../lib/api.js";
import type { ProbeSample } from "./gc-probe.js";

const loopback = (port: number) => `/ip4/127.0.0.1/tcp/${port}`;
const PROBE_ENTRY = pathToFileURL(join(import.meta.dirname, "gc-probe.js")).href;

export interface Member {
  hub: string;
  /** 0 for the secretariat, 1..N for hubs. */
  index: number;
  secretariat: boolean;
  dataDir: string;
  peerId: string;
  apiPort: number;
  libp2pPort: number;
  /** The node's Prometheus endpoint (metrics.port), on 127.0.0.1. */
  metricsPort: number;
  env: Record<string, string>;
  execArgv: string[];
  probeFile: string;
  proc: NodeProcess | undefined;
  /** Every process it ran, the current one last (their logs are kept). */
  procs: NodeProcess[];
  client: NodeClient;
  /** Whether the soak sends it calls (false from just before a kill until it answers again). */
  up: boolean;
  /** Times it was started (1 + restarts). */
  starts: number;
}

export interface MemorySample {
  pid: number;
  /** V8 heap in use after two forced full GCs (gc-probe), bytes; undefined if the probe did not answer. */
  heapUsedAfterGc?: number;
  /** process.memoryUsage() after those GCs: external (C++ objects tied to JS, incl. ArrayBuffers) and arrayBuffers. */
  externalAfterGc?: number;
  arrayBuffersAfterGc?: number;
  /** Resident set size from /proc/PID/status (VmRSS) and its peak (VmHWM), bytes. */
  rss?: number;
  rssPeak?: number;
  /** CPU time the process used so far (user + system, /proc/PID/stat, at 100 ticks per second), seconds. */
  cpuSeconds?: number;
  /** From the node's Prometheus endpoint, scraped right after the GC: the sum of concordat_document_bytes (bytes in storage of every document it holds, its own and others'). */
  documentBytes?: number;
  /** …and of them, its own documents (owner="self"). */
  ownDocumentBytes?: number;
  /** nodejs_heap_size_used_bytes at that scrape (prom-client's; no GC of its own). */
  heapUsedAtScrape?: number;
  /** concordat_query_duration_seconds{query="availability"}: answers so far, their total seconds inside the node, and how many took over 2.5 s. */
  queries?: { count: number; seconds: number; over2500ms: number };
  /** The replica worker (concordat_replica_* at that scrape): its heap and external memory, documents loaded now, and unloads and loads again so far. */
  replica?: {
    heapBytes?: number;
    externalBytes?: number;
    loaded?: number;
    unloads?: number;
    reloads?: number;
    reloadsSoon?: number;
  };
  /** Bytes of every file under the data dir (LevelDB files, config, keys). */
  dataDirBytes: number;
  /** Of which under db/ (the LevelDB store). */
  dbBytes: number;
}

/** Heartbeats (signed checkpoints of idle documents) once an hour: none during a soak, so the federation is still once the operations end. */
export const HEARTBEAT_SECONDS = 3_600;

async function writeNetwork(dataDir: string, network: Record<string, unknown>): Promise<void> {
  const path = join(dataDir, "config.yaml");
  const config = parse(await readFile(path, "utf8")) as Record<string, unknown>;
  config.network = network;
  const federation =
    typeof config.federation === "object" && config.federation !== null
      ? (config.federation as Record<string, unknown>)
      : {};
  config.federation = { ...federation, heartbeatSeconds: HEARTBEAT_SECONDS };
  await writeFile(path, stringify(config));
}

export async function directoryBytes(dir: string): Promise<number> {
  if (!existsSync(dir)) return 0;
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    // A LevelDB file can be deleted by a compaction between the listing and the stat.
    total += await stat(join(entry.parentPath, entry.name)).then(
      (s) => s.size,
      () => 0,
    );
  }
  return total;
}

async function cpuSeconds(pid: number): Promise<number | undefined> {
  try {
    // Fields after the command (which may hold spaces, inside parentheses): utime is the 12th, stime the 13th.
    const text = await readFile(`/proc/${pid}/stat`, "utf8");
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

async function procStatus(pid: number): Promise<{ rss?: number; rssPeak?: number; cpuSeconds?: number }> {
  const cpu = await cpuSeconds(pid);
  try {
    const text = await readFile(`/proc/${pid}/status`, "utf8");
    const kb = (key: string) => {
      const match = new RegExp(`${key}:\\s+(\\d+) kB`).exec(text)?.[1];
      return match === undefined ? undefined : Number(match) * 1024;
    };
    const out: { rss?: number; rssPeak?: number; cpuSeconds?: number } = {};
    if (cpu !== undefined) out.cpuSeconds = cpu;
    const rss = kb("VmRSS");
    const peak = kb("VmHWM");
    if (rss !== undefined) out.rss = rss;
    if (peak !== undefined) out.rssPeak = peak;
    return out;
  } catch {
    return {};
  }
}

/** Sums of the metrics the soak reads from GET /metrics (within 10 s; nothing if the endpoint does not answer). */
type Scraped = Pick<MemorySample, "documentBytes" | "ownDocumentBytes" | "heapUsedAtScrape" | "queries" | "replica">;

const REPLICA_METRICS: Record<string, keyof NonNullable<MemorySample["replica"]>> = {
  concordat_replica_heap_bytes: "heapBytes",
  concordat_replica_external_bytes: "externalBytes",
  concordat_replica_documents_loaded: "loaded",
  concordat_replica_unloads_total: "unloads",
  concordat_replica_reloads_total: "reloads",
  concordat_replica_reloads_soon_total: "reloadsSoon",
};

async function scrape(port: number): Promise<Scraped> {
  let text: string;
  try {
    const response = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(10_000) });
    if (!response.ok) return {};
    text = await response.text();
  } catch {
    return {};
  }
  const out: Scraped = {};
  const queries = { count: 0, seconds: 0, upTo2500ms: 0 };
  for (const line of text.split("\n")) {
    const match = /^([a-z_]+)(\{[^}]*\})?\s+([-+0-9.eE]+)/.exec(line);
    if (!match) continue;
    const [, name, labels = "", value] = match;
    const n = Number(value);
    if (name === "concordat_document_bytes") {
      out.documentBytes = (out.documentBytes ?? 0) + n;
      if (labels.includes('owner="self"')) out.ownDocumentBytes = (out.ownDocumentBytes ?? 0) + n;
    } else if (name === "nodejs_heap_size_used_bytes") out.heapUsedAtScrape = n;
    else if (name !== undefined && REPLICA_METRICS[name]) out.replica = { ...out.replica, [REPLICA_METRICS[name]]: n };
    else if (labels.includes('query="availability"')) {
      if (name === "concordat_query_duration_seconds_count") queries.count = n;
      else if (name === "concordat_query_duration_seconds_sum") queries.seconds = n;
      else if (name === "concordat_query_duration_seconds_bucket" && labels.includes('le="2.5"'))
        queries.upTo2500ms = n;
    }
  }
  if (queries.count > 0)
    out.queries = {
      count: queries.count,
      seconds: Math.round(queries.seconds * 10) / 10,
      over2500ms: queries.count - queries.upTo2500ms,
    };
  return out;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class Cluster {
  readonly members: Member[] = [];
  readonly #live = new Set<NodeProcess>();
  /** Set at cleanup: no process is started after it (a run interrupted half-way). */
  #closed = false;
  readonly #log: (message: string) => void;

  private constructor(log: (message: string) => void) {
    this.#log = log;
  }

  get secretariat(): Member {
    return this.members[0] as Member;
  }

  get hubs(): Member[] {
    return this.members.slice(1);
  }

  /** Initialises the data dirs and configs (nothing runs yet); stops every process at cleanup. */
  static async create(
    work: string,
    hubCount: number,
    cleanup: Cleanup,
    log: (message: string) => void,
    deadlineMs: number,
  ): Promise<Cluster> {
    const cluster = new Cluster(log);
    cleanup.add("stop the node processes", async () => {
      cluster.#closed = true;
      await Promise.all([...cluster.#live].map((p) => p.stop(10_000)));
    });
    cleanup.add("close the API clients", () => {
      for (const m of cluster.members) m.client.close();
    });
    const base = await readFile(DEFAULT_CONFIG, "utf8");
    const ports = await freePorts(3 * (hubCount + 1));
    const init = (dataDir: string, hub: string, secretariat: boolean, anchor?: string) =>
      initDataDir({
        dataDir,
        hubId: hub,
        name: `Soak ${hub}`,
        secretariat,
        ...(anchor ? { anchor } : {}),
        baseConfig: base,
        baseConfigSource: DEFAULT_CONFIG,
      });
    for (let index = 0; index <= hubCount; index += 1) {
      const secretariat = index === 0;
      const hub = secretariat ? "secretariat" : `hub-${String(index).padStart(2, "0")}`;
      const dataDir = join(work, hub);
      const anchor = secretariat ? undefined : cluster.secretariat.peerId;
      const { peerId } = await init(dataDir, hub, secretariat, anchor);
      const apiPort = ports[3 * index] as number;
      const libp2pPort = ports[3 * index + 1] as number;
      const metricsPort = ports[3 * index + 2] as number;
      const probeFile = join(work, `${hub}.memory.json`);
      cluster.members.push({
        hub,
        index,
        secretariat,
        dataDir,
        peerId,
        apiPort,
        libp2pPort,
        metricsPort,
        env: {
          CONCORDAT_API_PORT: String(apiPort),
          CONCORDAT_CONSOLE_PORT: "0",
          CONCORDAT_METRICS_PORT: String(metricsPort),
          CONCORDAT_BOOKINGS_POLICY: "confirm",
          SOAK_GC_PROBE_FILE: probeFile,
        },
        execArgv: secretariat ? [] : ["--expose-gc", "--import", PROBE_ENTRY],
        probeFile,
        proc: undefined,
        procs: [],
        client: benchClient(`127.0.0.1:${apiPort}`, await adminToken(dataDir), { deadlineMs, reconnectMs: [50, 250] }),
        up: false,
        starts: 0,
      });
    }
    const s = cluster.secretariat;
    await writeNetwork(s.dataDir, { listen: [loopback(s.libp2pPort)], grpc: false, peers: [] });
    for (const m of cluster.hubs) {
      // The secretariat is the bootstrap peer; the charter gives every member's address.
      await writeNetwork(m.dataDir, {
        listen: [loopback(m.libp2pPort)],
        grpc: false,
        peers: [{ peerId: s.peerId, libp2p: [loopback(s.libp2pPort)] }],
      });
    }
    return cluster;
  }

  /** Starts a member's process; resolves on its "node started" line (within `timeoutMs`). */
  async start(m: Member, timeoutMs = 120_000): Promise<{ nodeStartedMs: number }> {
    if (this.#closed) throw new Error(`not starting ${m.hub}: the soak is stopping`);
    const proc = launchNode(m.dataDir, { env: m.env, execArgv: m.execArgv, timeoutMs });
    this.#live.add(proc);
    void proc.exited.then(() => this.#live.delete(proc));
    m.proc = proc;
    m.procs.push(proc);
    m.starts += 1;
    const { at } = await proc.started;
    m.up = true;
    return { nodeStartedMs: at - proc.spawnedAt };
  }

  /** Secretariat: the charter with every hub and its address; then every hub, `parallel` at a time. */
  async form(parallel: number): Promise<void> {
    const s = this.secretariat;
    await this.start(s);
    await s.client.federation.createFederation({ addresses: [loopback(s.libp2pPort)] });
    for (const m of this.hubs)
      await s.client.federation.admitMember(admitRequest(m.hub, m.peerId, `Soak ${m.hub}`, [loopback(m.libp2pPort)]));
    const queue = [...this.hubs];
    await Promise.all(
      Array.from({ length: parallel }, async () => {
        for (let m = queue.shift(); m; m = queue.shift()) await this.start(m);
      }),
    );
    const count = this.members.length;
    await waitUntil(
      `every hub to trust the charter of ${count} members`,
      async (see) => {
        const lists = await Promise.all(
          this.hubs.map((m) => m.client.federation.listMembers({}).catch(() => undefined)),
        );
        see(
          this.hubs
            .map((m, k) => `${m.hub}: ${lists[k] ? `${lists[k].members.length} (${lists[k].source})` : "no answer"}`)
            .join(", "),
        );
        return lists.every((l) => l?.source === "verified" && l.members.length === count);
      },
      allowance(60_000, 5_000, this.hubs.length),
      500,
    );
    this.#log(`  charter of ${count} members verified by every hub`);
  }

  /** SIGKILL (no warning, no flush); resolves when the process is gone (within 10 s). */
  async kill(m: Member): Promise<void> {
    const proc = m.proc;
    m.up = false;
    if (!proc) return;
    proc.child.kill("SIGKILL");
    const timer = sleep(10_000).then(() => {
      throw new Error(`${m.hub} did not exit within 10 s of SIGKILL`);
    });
    await Promise.race([proc.exited, timer]);
  }

  /** A node process that ended although nobody stopped it (a crash), with the end of its stderr. */
  crashed(): Array<{ hub: string; code: number | null; signal: string | null; stderr: string }> {
    const out: Array<{ hub: string; code: number | null; signal: string | null; stderr: string }> = [];
    for (const m of this.members) {
      const child = m.proc?.child;
      if (m.up && child && (child.exitCode !== null || child.signalCode !== null)) {
        out.push({
          hub: m.hub,
          code: child.exitCode,
          signal: child.signalCode,
          stderr: (m.proc?.stderr() ?? "").slice(-2_000),
        });
      }
    }
    return out;
  }

  /**
   * Heap after GC (SIGUSR2 to the probe, which answers within `timeoutMs`), RSS from /proc and the
   * data dir's bytes. Without the probe (or if it does not answer) only /proc and the bytes.
   */
  async memory(m: Member, timeoutMs = 15_000): Promise<MemorySample> {
    const pid = m.proc?.child.pid;
    const out: MemorySample = {
      pid: pid ?? -1,
      dataDirBytes: await directoryBytes(m.dataDir),
      dbBytes: await directoryBytes(join(m.dataDir, "db")),
    };
    if (pid === undefined || !m.up) return out;
    const read = async (): Promise<ProbeSample | undefined> => {
      try {
        return JSON.parse(await readFile(m.probeFile, "utf8")) as ProbeSample;
      } catch {
        return undefined;
      }
    };
    const before = await read();
    // Only a process whose probe announced itself handles SIGUSR2 (to anything else it is fatal).
    if (before && before.pid === pid) {
      process.kill(pid, "SIGUSR2");
      const after = await waitUntil(
        `${m.hub}'s GC probe`,
        async () => {
          const s = await read();
          return s && s.pid === pid && s.sample > before.sample ? s : undefined;
        },
        timeoutMs,
        20,
      ).catch(() => undefined);
      if (after?.gcRan) {
        out.heapUsedAfterGc = after.memory.heapUsed;
        out.externalAfterGc = after.memory.external;
        out.arrayBuffersAfterGc = after.memory.arrayBuffers;
      }
    }
    Object.assign(out, await procStatus(pid));
    Object.assign(out, await scrape(m.metricsPort));
    return out;
  }

  /** Node log lines at warn level or above (pino: 40 warn, 50 error, 60 fatal), per hub, with their message. */
  warnings(): Array<{ hub: string; level: number; msg: string; count: number }> {
    const counts = new Map<string, { hub: string; level: number; msg: string; count: number }>();
    for (const m of this.members) {
      for (const entry of m.procs.flatMap((p) => p.logs)) {
        const level = typeof entry.level === "number" ? entry.level : 0;
        if (level < 40) continue;
        const extra = ["warning", "detail", "reason"]
          .map((k) => entry[k])
          .filter((v): v is string => typeof v === "string");
        const err = entry.err as { message?: unknown } | undefined;
        if (typeof err?.message === "string") extra.push(err.message);
        const msg = `${typeof entry.msg === "string" ? entry.msg : JSON.stringify(entry).slice(0, 200)}${extra.length > 0 ? `: ${extra.join(" — ").slice(0, 240)}` : ""}`;
        const key = `${m.hub}\u0000${level}\u0000${msg}`;
        const current = counts.get(key) ?? { hub: m.hub, level, msg, count: 0 };
        current.count += 1;
        counts.set(key, current);
      }
    }
    return [...counts.values()].sort((a, b) => b.level - a.level || b.count - a.count);
  }

  /** Every log line a member's current process wrote (JSON objects), to look for a message. */
  logs(m: Member): Array<Record<string, unknown>> {
    return m.proc?.logs ?? [];
  }
}

export { sleep };
