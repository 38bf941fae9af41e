/**
 * Federations of real node processes for the replication benchmarks: `concordat start` (the built
 * CLI) on 127.0.0.1, linked in a given topology over libp2p. Hub 0 is the secretariat (and a hub like
 * the others: it owns a roster); it creates the charter and admits every other hub without addresses,
 * so documents travel only along the links the configs name (a hub that is not a neighbour gets them
 * through relays). Every node logs at debug level: its "verified checkpoint applied" lines (pino's
 * `time`, ms since the epoch on this machine's clock) say when a verified view moved, and its
 * "signed checkpoints" lines when it signed.
 */
import { readFile, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import type { Trainer } from "../../node/api/generated/concordat/v1/trainers.js";
import { charterIdOf, directoryIdOf, ownedDocumentId } from "../../node/ids.js";
import { shardOf } from "../../node/roster/trainer.js";
import { initDataDir } from "../../node/setup.js";
import { adminToken, admitRequest, benchClient, findRequest, importMessages, type NodeClient } from "./api.js";
import { DEFAULT_CONFIG, launchNode, type NodeProcess } from "./nodes.js";
import { Random } from "./random.js";
import { allowance, waitUntil } from "./wait.js";

export const loopback = (port: number): string => `/ip4/127.0.0.1/tcp/${port}`;

/** Availability every bench trainer declares, and the probe FindAvailableTrainers asks (inside it). */
export const WINDOW = { start: "2030-01-01T00:00:00Z", end: "2031-01-01T00:00:00Z" };
export const PROBE = { from: "2030-03-02T00:00:00Z", to: "2030-03-06T00:00:00Z" };

/** Roster shards of a new roster (config/default.yaml). */
export const ROSTER_SHARDS = 4;

/** A trainer row as the API takes it: one language, one region, a year of declared availability. */
export function trainerMessage(id: string, displayName: string, region = "KE"): Trainer {
  return {
    id,
    displayName,
    homeHub: "",
    languages: [{ tag: "en", level: "B2" }],
    regions: [region],
    accreditations: [],
    availability: [{ ...WINDOW }],
    blackouts: [],
    private: undefined,
    updatedAt: "",
    updatedBy: "",
  };
}

/** A "verified checkpoint applied" line: a hub's verified view of `document` moved to `seq` at `time` (ms). */
export interface Applied {
  /** Hub id of the document's owner. */
  hub: string;
  document: string;
  seq: number;
  time: number;
}

/** A node's debug lines about checkpoints, indexed as they arrive (call `refresh` to read new lines). */
export class CheckpointLog {
  readonly #proc: Pick<NodeProcess, "logs">;
  #cursor = 0;
  /** Applied views by document, oldest first. */
  readonly applied = new Map<string, Applied[]>();
  /** Checkpoints this node signed: when, how many documents, the last seq. */
  readonly signed: Array<{ time: number; documents: number; seq: number }> = [];
  /** The latest checkpoint this node signed of each of its documents: seq, heads, when. */
  readonly signedDocuments = new Map<string, { seq: number; heads: string[]; time: number }>();
  /** Time of the newest applied line. */
  lastAppliedAt = 0;
  appliedLines = 0;

  constructor(proc: Pick<NodeProcess, "logs">) {
    this.#proc = proc;
  }

  refresh(): this {
    const logs = this.#proc.logs;
    for (; this.#cursor < logs.length; this.#cursor += 1) {
      const entry = logs[this.#cursor] as Record<string, unknown>;
      if (
        entry.msg === "verified checkpoint applied" &&
        typeof entry.document === "string" &&
        typeof entry.seq === "number" &&
        typeof entry.time === "number"
      ) {
        const applied: Applied = { hub: String(entry.hub), document: entry.document, seq: entry.seq, time: entry.time };
        const list = this.applied.get(entry.document);
        if (list) list.push(applied);
        else this.applied.set(entry.document, [applied]);
        this.lastAppliedAt = Math.max(this.lastAppliedAt, entry.time);
        this.appliedLines += 1;
      } else if (entry.msg === "signed checkpoints" && typeof entry.time === "number") {
        this.signed.push({ time: entry.time, documents: Number(entry.documents), seq: Number(entry.seq) });
        for (const one of Array.isArray(entry.signed) ? (entry.signed as Array<Record<string, unknown>>) : []) {
          if (typeof one.document === "string" && Array.isArray(one.heads))
            this.signedDocuments.set(one.document, {
              seq: Number(one.seq),
              heads: one.heads.map(String),
              time: entry.time,
            });
        }
      }
    }
    // Keep only what is indexed: a long run at debug level must not hold every line.
    if (this.#cursor > 10_000) {
      logs.splice(0, this.#cursor);
      this.#cursor = 0;
    }
    return this;
  }

  latest(document: string): Applied | undefined {
    return this.applied.get(document)?.at(-1);
  }

  /** The first view of `document` applied with a seq above `seq`, if any yet. */
  firstAbove(document: string, seq: number): Applied | undefined {
    return this.applied.get(document)?.find((a) => a.seq > seq);
  }
}

/** The charter the bench wrote at the secretariat: its document, and its heads after each write (the last: the whole charter). */
export interface CharterWritten {
  document: string;
  /** The charter's heads after `federation create` (one member), then after each admission. */
  heads: string[][];
  /** Date.now() here once the last admission was acknowledged. */
  ackedAt: number;
}

/**
 * Whether the secretariat's log shows the whole charter `written` signed (its latest signed
 * checkpoint of the charter is at the charter's last heads), and what it shows, for a give-up
 * message. Heads, not clocks: the node may sign before the bench even sees the last admission
 * acknowledged, and a signing logged after it may still be an earlier admission's.
 */
export function charterSigning(
  log: CheckpointLog,
  written: CharterWritten,
  now = Date.now(),
): { signed: boolean; seen: string } {
  const last = log.refresh().signedDocuments.get(written.document);
  const members = written.heads.length;
  const since = ((now - written.ackedAt) / 1000).toFixed(1);
  if (last === undefined)
    return {
      signed: false,
      seen: `no signed charter in its log ${since} s after the last of ${members} members was admitted`,
    };
  const key = (heads: readonly string[]) => [...heads].sort().join(",");
  const covered = written.heads.findIndex((heads) => key(heads) === key(last.heads)) + 1;
  const how =
    covered > 0
      ? `${covered} of ${members} members`
      : `heads ${key(last.heads)}, which none of the ${members} writes left`;
  return {
    signed: covered === members,
    seen: `${how} in its latest signed charter (seq ${last.seq}, ${((now - last.time) / 1000).toFixed(1)} s ago), ${since} s after the last admission`,
  };
}

export interface Hub {
  index: number;
  hubId: string;
  dataDir: string;
  peerId: string;
  directoryId: string;
  libp2pPort: number;
  proc?: NodeProcess;
  api?: NodeClient;
  log?: CheckpointLog;
  /** Date.now() when its process was spawned. */
  spawnedAt?: number;
}

/** The id of a hub's roster shard document that holds trainer `trainerId` (shards as at creation). */
export function rosterDocumentOf(hub: Hub, trainerId: string, shards = ROSTER_SHARDS): string {
  return ownedDocumentId(hub.directoryId, `roster/${shardOf(trainerId, shards)}`);
}

export function rosterDocuments(hub: Hub, shards = ROSTER_SHARDS): string[] {
  return Array.from({ length: shards }, (_, n) => ownedDocumentId(hub.directoryId, `roster/${n}`));
}

export interface FederationSpec {
  /** Where the data dirs go (a temp dir the caller removes). */
  work: string;
  /** Hubs in all, started now or later; hub 0 is the secretariat. */
  hubs: number;
  /** [from, to]: hub `from` dials hub `to` (both list each other as peers). */
  dials: Array<[number, number]>;
  /** Hubs (indices) initialised, configured and admitted, but started only by `start` later. */
  later?: number[];
  /** Prefix of the hub ids (hub ids are `${prefix}-${index + 1}`). */
  prefix: string;
  /** Processes still running, for the benchmark's cleanup. */
  live: Set<NodeProcess>;
  log: (message: string) => void;
  /** Trainers each hub imports right after it starts (before the charter exists). */
  perHub?: number;
  /** Extra node flags for some hubs when `create` starts them (e.g. --cpu-prof). */
  execArgv?: (index: number) => string[];
  /** Serve the gRPC Replicate stream on each hub's API port too (off by default: libp2p only). */
  grpc?: boolean;
  /**
   * How long a hub may take to start (default 120 s): a hub started while dozens of others sync
   * gets a small share of two cores.
   */
  startTimeoutMs?: number;
}

/** A line: hub i+1 dials hub i. */
export function lineDials(hubs: number): Array<[number, number]> {
  return Array.from({ length: hubs - 1 }, (_, i) => [i + 1, i] as [number, number]);
}

/** A full mesh: every hub dials every hub before it. */
export function meshDials(hubs: number): Array<[number, number]> {
  const dials: Array<[number, number]> = [];
  for (let i = 1; i < hubs; i += 1) for (let j = 0; j < i; j += 1) dials.push([i, j]);
  return dials;
}

/**
 * A connected random graph in which every hub has `degree` links (a random regular graph, drawn by
 * pairing each hub's link ends at random and drawing again while a pairing makes a loop, a double
 * link or a disconnected graph); seeded, so every run and machine draws the same graph. The hub with
 * the larger index dials.
 */
export function randomRegularDials(hubs: number, degree: number, seed: number): Array<[number, number]> {
  if ((hubs * degree) % 2 !== 0 || degree >= hubs) throw new Error(`no ${degree}-regular graph on ${hubs} hubs`);
  const random = new Random(seed);
  for (let attempt = 0; attempt < 10_000; attempt += 1) {
    const ends = Array.from({ length: hubs * degree }, (_, i) => Math.floor(i / degree));
    for (let i = ends.length - 1; i > 0; i -= 1) {
      const j = random.int(0, i);
      [ends[i], ends[j]] = [ends[j] as number, ends[i] as number];
    }
    const links = new Set<string>();
    const dials: Array<[number, number]> = [];
    let simple = true;
    for (let i = 0; i < ends.length && simple; i += 2) {
      const a = ends[i] as number;
      const b = ends[i + 1] as number;
      const key = `${Math.min(a, b)}-${Math.max(a, b)}`;
      simple = a !== b && !links.has(key);
      links.add(key);
      dials.push([Math.max(a, b), Math.min(a, b)]);
    }
    if (simple && connected(hubs, dials)) return dials.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  }
  throw new Error(`could not draw a connected ${degree}-regular graph on ${hubs} hubs`);
}

function connected(hubs: number, links: ReadonlyArray<readonly [number, number]>): boolean {
  const next = Array.from({ length: hubs }, () => [] as number[]);
  for (const [a, b] of links) {
    next[a]?.push(b);
    next[b]?.push(a);
  }
  const seen = new Set([0]);
  const stack = [0];
  while (stack.length > 0)
    for (const n of next[stack.pop() as number] ?? []) if (!seen.has(n) && seen.add(n)) stack.push(n);
  return seen.size === hubs;
}

/** The most links a change crosses between two hubs (the graph's diameter). */
export function diameter(hubs: number, links: ReadonlyArray<readonly [number, number]>): number {
  const next = Array.from({ length: hubs }, () => [] as number[]);
  for (const [a, b] of links) {
    next[a]?.push(b);
    next[b]?.push(a);
  }
  let most = 0;
  for (let from = 0; from < hubs; from += 1) {
    const distance = new Map([[from, 0]]);
    const queue = [from];
    for (let k = 0; k < queue.length; k += 1) {
      const n = queue[k] as number;
      for (const m of next[n] ?? [])
        if (!distance.has(m)) {
          distance.set(m, (distance.get(n) as number) + 1);
          most = Math.max(most, distance.get(m) as number);
          queue.push(m);
        }
    }
  }
  return most;
}

/**
 * `count` distinct free TCP ports on 127.0.0.1 below the kernel's ephemeral range (so that no
 * outgoing connection of any process on the machine takes one between now and a node's listen),
 * each held until all are chosen.
 */
export async function listenPorts(count: number): Promise<number[]> {
  const range = await readFile("/proc/sys/net/ipv4/ip_local_port_range", "utf8").catch(() => "32768 60999");
  const low = Number(range.trim().split(/\s+/)[0]) || 32_768;
  const from = Math.max(1_024, low - 12_000);
  const held: Server[] = [];
  const ports: number[] = [];
  try {
    for (let attempt = 0; ports.length < count && attempt < count * 50; attempt += 1) {
      const port = from + Math.floor(Math.random() * (low - from));
      if (ports.includes(port)) continue;
      const server = createServer();
      const ok = await new Promise<boolean>((resolve) => {
        server.once("error", () => resolve(false));
        server.listen(port, "127.0.0.1", () => resolve(true));
      });
      if (!ok) continue;
      held.push(server);
      ports.push(port);
    }
  } finally {
    await Promise.all(held.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  }
  if (ports.length < count) throw new Error(`found only ${ports.length} of ${count} free ports below ${low}`);
  return ports;
}

/** Resident memory of a process (Linux /proc), in MiB. */
export async function residentMb(pid: number | undefined): Promise<number | undefined> {
  if (pid === undefined) return undefined;
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(await readFile(`/proc/${pid}/status`, "utf8"))?.[1];
    return kb === undefined ? undefined : Number(kb) / 1024;
  } catch {
    return undefined;
  }
}

/** CPU time (user + system) a process has used so far (Linux /proc), in seconds. */
export async function cpuSeconds(pid: number | undefined): Promise<number> {
  if (pid === undefined) return 0;
  try {
    const fields = (await readFile(`/proc/${pid}/stat`, "utf8")).split(") ")[1]?.split(" ") ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/** Each hub's network config for a topology: it listens on its port and lists its neighbours as peers. */
async function writeConfigs(
  hubs: readonly Hub[],
  dials: ReadonlyArray<readonly [number, number]>,
  grpc = false,
): Promise<void> {
  for (const me of hubs) {
    const path = join(me.dataDir, "config.yaml");
    const config = parse(await readFile(path, "utf8")) as Record<string, Record<string, unknown>>;
    const peers: Array<Record<string, unknown>> = [];
    for (const other of hubs) {
      const dialled = dials.some(([from, to]) => from === me.index && to === other.index);
      const dialledBy = dials.some(([from, to]) => from === other.index && to === me.index);
      if (dialled || dialledBy)
        peers.push({ peerId: other.peerId, libp2p: dialled ? [loopback(other.libp2pPort)] : [] });
    }
    config.network = { listen: [loopback(me.libp2pPort)], grpc, peers };
    // No idle heartbeats during a run: every checkpoint signed then follows a write.
    config.federation = { ...config.federation, heartbeatSeconds: 86_400 };
    await writeFile(path, stringify(config));
  }
}

export class ProcessFederation {
  readonly hubs: Hub[];
  /** Wall time (ms from the start of `create`) at which each set-up step ended. */
  readonly phases: Record<string, number> = {};
  readonly #spec: FederationSpec;

  private constructor(spec: FederationSpec, hubs: Hub[]) {
    this.#spec = spec;
    this.hubs = hubs;
  }

  /** The hubs started (not those waiting to start later). */
  get started(): Hub[] {
    return this.hubs.filter((h) => h.proc !== undefined);
  }

  /**
   * Initialises every data dir, writes the configs (topology, heartbeats off), starts the secretariat,
   * which writes the charter admitting everyone, then every other hub (but `later`), each importing
   * its roster at once; waits until each hub trusts the charter, then imports the secretariat's roster.
   */
  static async create(spec: FederationSpec): Promise<ProcessFederation> {
    const began = performance.now();
    const base = await readFile(DEFAULT_CONFIG, "utf8");
    const ports = await listenPorts(spec.hubs);
    const hubs: Hub[] = [];
    let anchor = "";
    for (let index = 0; index < spec.hubs; index += 1) {
      const hubId = `${spec.prefix}-${index + 1}`;
      const dataDir = join(spec.work, hubId);
      const init = await initDataDir({
        dataDir,
        hubId,
        name: `Bench ${hubId}`,
        secretariat: index === 0,
        ...(index > 0 ? { anchor } : {}),
        baseConfig: base,
        baseConfigSource: DEFAULT_CONFIG,
      });
      if (index === 0) anchor = init.peerId;
      hubs.push({
        index,
        hubId,
        dataDir,
        peerId: init.peerId,
        directoryId: directoryIdOf(init.peerId),
        libp2pPort: ports[index] as number,
      });
    }
    await writeConfigs(hubs, spec.dials, spec.grpc);
    const federation = new ProcessFederation(spec, hubs);
    federation.phases.initialised = Math.round(performance.now() - began);
    // The secretariat starts first and writes the whole charter before any other hub runs: a hub that
    // verified an intermediate charter (one admitting fewer hubs) refuses every peer that charter
    // does not list, config peers included, so at the end of a line it could never learn the newer
    // one from its only neighbour (found here; reported, node/ is not changed).
    const secretariat = hubs[0] as Hub;
    await federation.start(secretariat, spec.execArgv?.(0) ?? []);
    const api = secretariat.api as NodeClient;
    const written: CharterWritten = { document: charterIdOf(secretariat.peerId), heads: [], ackedAt: 0 };
    const charterHeads = async () =>
      (await api.node.getStatus({})).documents.find((d) => d.id === written.document)?.heads ?? [];
    await api.federation.createFederation({ addresses: [] });
    written.heads.push(await charterHeads());
    for (const hub of hubs.slice(1)) {
      await api.federation.admitMember(admitRequest(hub.hubId, hub.peerId, `Bench ${hub.hubId}`));
      written.heads.push(await charterHeads());
    }
    written.ackedAt = Date.now();
    // ...and signed (a batch window, federation.checkpointBatchMs, after the last admission; longer
    // on a busy machine, and a larger charter takes longer to sign): its latest signed checkpoint of
    // the charter is at the heads the last admission left.
    await waitUntil(
      `the secretariat to sign the whole charter of ${hubs.length} members`,
      (see) => {
        const state = charterSigning(secretariat.log as CheckpointLog, written);
        see(state.seen);
        return state.signed;
      },
      allowance(30_000, 500, hubs.length),
      50,
    );
    // The other hubs start and import their rosters at once, while the charter reaches them. The
    // secretariat imports its own only once every hub trusts the charter: a view of the
    // secretariat's roster verified before the charter is indexed under the placeholder hub id
    // "secretariat" (Membership.ownerOfDirectory) and stays there when later views re-index it
    // under the real id (double counts; reported, node/ is not changed here).
    const now = hubs.filter((h) => h.index !== 0 && !spec.later?.includes(h.index));
    const imports: Array<Promise<void>> = [];
    await federation.startAll(
      now,
      (h) => {
        if (spec.perHub) imports.push(federation.importRoster(h, spec.perHub));
      },
      (index) => spec.execArgv?.(index) ?? [],
    );
    await Promise.all(imports);
    federation.phases.started = Math.round(performance.now() - began);
    // Each hub verifies the charter from a neighbour, and along a line the last hears of it through
    // every relay before it: the allowance grows with the hubs.
    await federation.waitForCharter([secretariat, ...now], allowance(60_000, 6_000, spec.hubs));
    federation.phases.charterTrusted = Math.round(performance.now() - began);
    if (spec.perHub) await federation.importRoster(secretariat, spec.perHub);
    return federation;
  }

  /** Starts a hub's process (with extra node flags) and a client for its API (bounded by the launcher's start timeout). */
  async start(hub: Hub, execArgv: readonly string[] = []): Promise<void> {
    hub.spawnedAt = Date.now();
    const proc = launchNode(hub.dataDir, {
      env: { CONCORDAT_API_PORT: "0", CONCORDAT_CONSOLE_PORT: "0", CONCORDAT_LOG_LEVEL: "debug" },
      execArgv,
      timeoutMs: this.#spec.startTimeoutMs ?? 120_000,
    });
    hub.proc = proc;
    hub.log = new CheckpointLog(proc);
    this.#spec.live.add(proc);
    void proc.exited.then(() => this.#spec.live.delete(proc));
    const { address } = await proc.started;
    hub.api = benchClient(address, await adminToken(hub.dataDir));
  }

  /**
   * Starts `hubs` in index order, two at a time (the machine has two cores; a hub dials hubs before it,
   * which are then listening, instead of failing and backing off for seconds); `onStarted` runs as
   * each is up.
   */
  async startAll(
    hubs: readonly Hub[],
    onStarted: (hub: Hub) => void = () => undefined,
    execArgv: (index: number) => readonly string[] = () => [],
    concurrency = 2,
  ): Promise<void> {
    const queue = [...hubs].sort((a, b) => a.index - b.index);
    const worker = async () => {
      for (let hub = queue.shift(); hub; hub = queue.shift()) {
        await this.start(hub, execArgv(hub.index));
        onStarted(hub);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
  }

  /** Waits until each of `hubs` trusts a charter listing every hub. */
  async waitForCharter(hubs: readonly Hub[], timeoutMs: number): Promise<void> {
    const members = new Map<Hub, string>();
    try {
      await Promise.all(
        hubs.map((h) =>
          waitUntil(
            `${h.hubId} to trust the charter of ${this.hubs.length} members`,
            async (see) => {
              this.#assertRunning(h);
              const list = await h.api?.federation
                .listMembers({}, { deadlineMs: 10_000 })
                .catch((error: Error) => error);
              const seen =
                list instanceof Error || list === undefined
                  ? `no answer to ListMembers (${list?.message ?? "no client"})`
                  : `${list.members.length} members in its ${list.source} charter (seq ${list.verifiedSeq})`;
              members.set(h, seen);
              see(seen);
              return !(list instanceof Error) && list?.members.length === this.hubs.length;
            },
            timeoutMs,
            200,
          ),
        ),
      );
    } catch (error) {
      throw new Error(
        `${(error as Error).message}; what each hub trusts: ${hubs.map((h) => `${h.hubId}: ${members.get(h) ?? "not asked yet"}`).join("; ")}`,
      );
    }
  }

  /** Fails with the node's stderr if its process has exited. */
  #assertRunning(hub: Hub): void {
    const child = hub.proc?.child;
    if (child && (child.exitCode !== null || child.signalCode !== null)) {
      // Why, when it said so in its log (a stop for a reason is logged, not written to stderr).
      const said = (hub.proc?.logs ?? [])
        .filter((e) => typeof e.level === "number" && e.level >= 40)
        .slice(-5)
        .map((e) => JSON.stringify(e).slice(0, 600));
      throw new Error(
        `${hub.hubId} exited (code ${child.exitCode}, signal ${child.signalCode}): ${hub.proc?.stderr().slice(-2000)}${said.length > 0 ? `; its last warnings and errors: ${said.join(" ")}` : ""}`,
      );
    }
  }

  /** Imports `perHub` trainers into `hub` through its API (one ImportTrainers stream, its deadline growing with the rows). */
  async importRoster(hub: Hub, perHub: number): Promise<void> {
    const rows = Array.from({ length: perHub }, (_, i) =>
      trainerMessage(`${hub.hubId}-t${i}`, `Trainer ${i} of ${hub.hubId}`),
    );
    const outcome = await (hub.api as NodeClient).trainers.importTrainers(importMessages(rows, 250), {
      deadlineMs: allowance(60_000, 10, perHub),
    });
    if (!outcome.committed || outcome.imported !== perHub)
      throw new Error(
        `${hub.hubId}: imported ${outcome.imported} of ${perHub}: ${JSON.stringify(outcome.errors.slice(0, 3))}`,
      );
  }

  /** How many trainers of `owner` (every hub if undefined) `reader` answers for in the probe window. */
  async count(reader: Hub, owner?: Hub, region = ""): Promise<number | undefined> {
    const answer = await reader.api?.availability
      .findAvailableTrainers(findRequest({ ...PROBE, hub: owner?.hubId ?? "", region }), { deadlineMs: 10_000 })
      .catch(() => undefined);
    return answer?.total;
  }

  /** Waits until every hub in `readers` answers for `expected` trainers in all. */
  async waitForTotals(readers: readonly Hub[], expected: number, timeoutMs: number, intervalMs = 250): Promise<void> {
    await Promise.all(
      readers.map(async (h) => {
        await waitUntil(
          `${h.hubId} to answer for ${expected} trainers`,
          async (see) => {
            this.#assertRunning(h);
            const last = await this.count(h);
            see(last === undefined ? "no answer to FindAvailableTrainers" : `it answers for ${last}`);
            return last === expected;
          },
          timeoutMs,
          intervalMs,
        );
      }),
    );
  }

  /** Waits until no started hub has applied a verified view for `quietMs` (at most `timeoutMs`). */
  async waitForQuiet(quietMs: number, timeoutMs: number): Promise<void> {
    await waitUntil(
      `the federation to go quiet for ${quietMs} ms`,
      (see) => {
        const last = Math.max(0, ...this.started.map((h) => h.log?.refresh().lastAppliedAt ?? 0));
        see(`the last view was applied ${Date.now() - last} ms ago`);
        return Date.now() - last >= quietMs;
      },
      timeoutMs,
      50,
    );
  }

  /** Sum of the resident memory of the started hubs' processes (MiB), and each. */
  async resident(): Promise<{ totalMb: number; perHubMb: number[] }> {
    const perHubMb = await Promise.all(this.started.map(async (h) => (await residentMb(h.proc?.child.pid)) ?? 0));
    return { totalMb: perHubMb.reduce((a, b) => a + b, 0), perHubMb };
  }

  /** CPU seconds the started hubs' processes have used so far, in all. */
  async cpu(): Promise<number> {
    return (await Promise.all(this.started.map((h) => cpuSeconds(h.proc?.child.pid)))).reduce((a, b) => a + b, 0);
  }

  /** Stops `hubs` (their data stays): SIGTERM, SIGKILL after `graceMs`. */
  async stopHubs(hubs: readonly Hub[], graceMs = 30_000): Promise<void> {
    await Promise.all(
      hubs.map(async (h) => {
        h.api?.close();
        await h.proc?.stop(graceMs);
        delete h.api;
        delete h.proc;
        delete h.log;
      }),
    );
  }

  /** Rewrites every hub's network config for another topology (takes effect when a hub starts). */
  async reconfigure(dials: ReadonlyArray<readonly [number, number]>): Promise<void> {
    await writeConfigs(this.hubs, dials, this.#spec.grpc);
  }

  /** Waits until each of `hubs` has at least `peers` peers connected (GetStatus). */
  async waitForPeers(hubs: readonly Hub[], peers: (hub: Hub) => number, timeoutMs: number): Promise<void> {
    await Promise.all(
      hubs.map((h) =>
        waitUntil(
          `${h.hubId} to connect to ${peers(h)} peers`,
          async (see) => {
            this.#assertRunning(h);
            const connected = (await h.api?.node.getStatus({}, { deadlineMs: 10_000 }).catch(() => undefined))
              ?.connectedPeers;
            see(connected === undefined ? "no answer to GetStatus" : `${connected} connected`);
            return (connected ?? -1) >= peers(h);
          },
          timeoutMs,
          200,
        ),
      ),
    );
  }

  /**
   * Waits until the started hubs are idle: no verified view applied for `quietMs`, and together they
   * used less than `cpuShare` of a core per hub over the last `quietMs` (sync traffic that applies
   * nothing, e.g. reconciling sync states, shows only as CPU).
   */
  async settle(timeoutMs: number, quietMs = 500, cpuShare = 0.03): Promise<void> {
    let last = { at: performance.now(), cpu: await this.cpu() };
    await waitUntil(
      `the federation to settle (${quietMs} ms without a view applied or CPU over ${cpuShare * 100}% per hub)`,
      async (see) => {
        const now = { at: performance.now(), cpu: await this.cpu() };
        const window = now.at - last.at;
        if (window < quietMs) return false;
        const busy = (now.cpu - last.cpu) / (window / 1000) / Math.max(1, this.started.length);
        last = now;
        const lastApplied = Math.max(0, ...this.started.map((h) => h.log?.refresh().lastAppliedAt ?? 0));
        see(
          `${(busy * 100).toFixed(1)}% of a core per hub over the last ${Math.round(window)} ms, the last view applied ${Date.now() - lastApplied} ms ago`,
        );
        return busy < cpuShare && Date.now() - lastApplied >= quietMs;
      },
      timeoutMs,
      100,
    );
  }

  /**
   * What `reader` must have verified to hold everything the started hubs hold: for each document any
   * of them verified, the highest seq verified anywhere.
   */
  reference(except: Hub): Map<string, number> {
    const best = new Map<string, number>();
    for (const h of this.started) {
      if (h === except) continue;
      for (const [document, applied] of h.log?.refresh().applied ?? []) {
        const seq = applied.at(-1)?.seq ?? 0;
        if (seq > (best.get(document) ?? -1)) best.set(document, seq);
      }
    }
    return best;
  }

  /** Closes the clients and stops every process (SIGTERM, SIGKILL after `graceMs`). */
  async stop(graceMs = 10_000): Promise<void> {
    for (const h of this.hubs) h.api?.close();
    await Promise.all(this.hubs.map((h) => h.proc?.stop(graceMs)));
  }
}
