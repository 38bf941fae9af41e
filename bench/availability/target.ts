/**
 * The target node T of `availability.restart` and `console.interactions`, built once per run (a
 * shared setup, bench/lib/shared.ts): real nodes, a secretariat, T and H source hubs of N trainers
 * each, every one a `concordat start` process on 127.0.0.1. The secretariat admits them all and
 * stops once T trusts the charter. Source hubs run a few at a time, with no peers: each imports its
 * roster through the API and stops, signing it. Their published documents are copied into T's store
 * and the secretariat's (`copyPublished`), and T's next start verifies and indexes them all (the
 * cold-ingest figure). The setup ends with every node stopped: each benchmark starts what it needs.
 */
import { readFile, readdir, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import type { Trainer } from "../../node/api/generated/concordat/v1/trainers.js";
import { dataPaths } from "../../node/paths.js";
import { initDataDir } from "../../node/setup.js";
import { LevelStorageAdapter } from "../../node/storage/level-storage-adapter.js";
import { NodeStore } from "../../node/storage/node-store.js";
import { adminToken, admitRequest, benchClient, findRequest, importMessages, type NodeClient } from "../lib/api.js";
import { residentMb } from "../lib/federation-nodes.js";
import { DEFAULT_CONFIG, freePorts, launchNode, liveNodes, type NodeProcess } from "../lib/nodes.js";
import type { SharedScope } from "../lib/shared.js";
import { round, since } from "../lib/stats.js";
import type { BenchmarkContext } from "../lib/types.js";
import { allowance, waitUntil } from "../lib/wait.js";
import {
  makeFramework,
  makeHubs,
  PROBE,
  profiles,
  toDraft,
  type Framework,
  type Hub,
  type Profile,
} from "./generate.js";

/** The key of the shared setup, for `Benchmark.shares`. */
export const TARGET_SETUP = "availability.target";

export const SEED = 7;

/** T's hub id. */
export const TARGET_HUB = "target";

export interface TargetPlan {
  hubs: number;
  perHub: number;
  /** Source hubs importing at once. */
  concurrency: number;
}

export const FULL_TARGET: TargetPlan = { hubs: 50, perHub: 1_000, concurrency: 5 };
export const QUICK_TARGET: TargetPlan = { hubs: 5, perHub: 200, concurrency: 5 };

export const loopback = (port: number) => `/ip4/127.0.0.1/tcp/${port}`;

/** A query for two days every generated trainer declares free: its total counts every trainer (the widest query). */
export const PROBE_REQUEST = findRequest({
  from: new Date(PROBE.start).toISOString(),
  to: new Date(PROBE.end).toISOString(),
});

/** An API port 0 and a console port 0: free ones, said in the "node started" line. */
export const FREE_PORTS_ENV: Readonly<Record<string, string>> = {
  CONCORDAT_API_PORT: "0",
  CONCORDAT_CONSOLE_PORT: "0",
};

export interface TargetSetup {
  plan: TargetPlan;
  /** "50 hubs × 1,000", for figures' names. */
  label: string;
  /** Trainers T indexes: hubs × perHub. */
  expected: number;
  framework: Framework;
  hubs: Hub[];
  /** The charter's author; holds a copy of every source's published documents too. */
  secretariat: { dataDir: string; peerId: string; libp2pPort: number };
  /** T: trusts the charter and dials the secretariat; its API port is fixed (restarts poll it). */
  target: { dataDir: string; peerId: string; env: Record<string, string> };
  /** A fresh data dir under the setup's temp dir, anchored on the secretariat (not admitted). */
  initHub(name: string): Promise<{ dataDir: string; peerId: string }>;
  timings: {
    setupMs: number;
    importMs: number;
    copyMs: number;
    /** T's first start over the copied documents, to its first complete answer. */
    ingestMs: number;
    perHub: Array<{ hub: string; startMs: number; importMs: number; stopMs: number }>;
  };
  copied: { chunks: number; bytes: number };
  /** T's resident memory after the cold ingest, before it stopped. */
  targetResidentMb: number | undefined;
}

/** The shared T of this run's plan (built now by the first benchmark that asks, later ones reuse it). */
export function targetSetup(context: BenchmarkContext): Promise<TargetSetup> {
  const plan = context.quick ? QUICK_TARGET : FULL_TARGET;
  return context.shared(TARGET_SETUP, (scope) => buildTarget(plan, scope, context.log));
}

export async function writeNetwork(dataDir: string, network: Record<string, unknown>): Promise<void> {
  const path = join(dataDir, "config.yaml");
  const config = parse(await readFile(path, "utf8")) as Record<string, unknown>;
  config.network = network;
  await writeFile(path, stringify(config));
}

/** The roster row an import sends (no private data: it never leaves the hub anyway). */
export function toTrainerMessage(p: Profile): Trainer {
  const draft = toDraft(p);
  return { ...draft, homeHub: "", private: undefined, updatedAt: "", updatedBy: "" };
}

export async function directoryBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += (await stat(join(entry.parentPath, entry.name))).size;
  }
  return total;
}

/** A node process and a client for its API, started (its "node started" line seen). */
export async function startNode(
  dataDir: string,
  env: Record<string, string>,
  live: Set<NodeProcess>,
  execArgv: string[] = [],
): Promise<{ proc: NodeProcess; api: NodeClient }> {
  const proc = launchNode(dataDir, { env, execArgv });
  live.add(proc);
  void proc.exited.then(() => live.delete(proc));
  const { address } = await proc.started;
  return { proc, api: benchClient(address, await adminToken(dataDir)) };
}

/** Waits until `api` answers the widest query for `expected` trainers (every checkpoint verified, every trainer indexed). */
export async function untilComplete(api: NodeClient, expected: number, who = "the target"): Promise<void> {
  await waitUntil(
    `${who} to answer with all ${expected} trainers`,
    async (see) => {
      const total = (
        await api.availability
          .findAvailableTrainers(PROBE_REQUEST, { deadlineMs: 60_000, waitForReady: true })
          .catch(() => undefined)
      )?.total;
      see(total === undefined ? "no answer to FindAvailableTrainers" : `it answers for ${total}`);
      return total === expected;
    },
    // It verifies and indexes every copied roster.
    allowance(120_000, 10, expected),
    250,
  );
}

/**
 * Copies every source's published documents (automerge-repo's storage: each hub's directory, roster
 * shards, credentials, curriculum and their signed checkpoints) into another node's store, as chunks.
 * This is what that node would have stored had it replicated them over the network, minus the
 * per-peer sync states. A node that trusts a charter listing every source finds them in its own
 * storage at its next start, and verifies and indexes them there as it would after replication.
 *
 * Replicating them for real (how the setup worked before) made each new source pull every earlier
 * hub's documents through the target, because every hub replicates everything: 15 minutes for 50
 * hubs, quadratic in the hubs, spent on a setup this benchmark does not measure.
 */
async function copyPublished(
  sourceDbs: readonly string[],
  targetDb: string,
): Promise<{ chunks: number; bytes: number }> {
  const target = await NodeStore.open(targetDb, { sync: false });
  const into = new LevelStorageAdapter(target.repo);
  let chunks = 0;
  let bytes = 0;
  try {
    for (const path of sourceDbs) {
      const source = await NodeStore.open(path, { sync: false });
      try {
        for (const chunk of await new LevelStorageAdapter(source.repo).loadRange([])) {
          if (chunk.key[1] === "sync-state" || chunk.data === undefined) continue;
          await into.save(chunk.key, chunk.data);
          chunks += 1;
          bytes += chunk.data.byteLength;
        }
      } finally {
        await source.close();
      }
    }
  } finally {
    await into.close();
    await target.close();
  }
  return { chunks, bytes };
}

async function buildTarget(plan: TargetPlan, scope: SharedScope, log: (message: string) => void): Promise<TargetSetup> {
  const expected = plan.hubs * plan.perHub;
  const label = `${plan.hubs} hubs × ${plan.perHub.toLocaleString("en")}`;
  const base = await readFile(DEFAULT_CONFIG, "utf8");
  const work = await scope.tempDir("concordat-bench-target-");
  const live = liveNodes(scope.cleanup);
  const framework = makeFramework(SEED);
  const hubs = makeHubs(plan.hubs);
  const [sLibp2p, tLibp2p, tApiPort] = (await freePorts(3)) as [number, number, number];

  // Data dirs: the secretariat, the target, every source (the charter admits them all up front).
  const setupStart = performance.now();
  const init = (dataDir: string, hubId: string, secretariat: boolean, anchor?: string) =>
    initDataDir({
      dataDir,
      hubId,
      name: `Bench ${hubId}`,
      secretariat,
      ...(anchor ? { anchor } : {}),
      baseConfig: base,
      baseConfigSource: DEFAULT_CONFIG,
    });
  const sDir = join(work, "secretariat");
  const tDir = join(work, "target");
  const s = await init(sDir, "secretariat", true);
  const t = await init(tDir, TARGET_HUB, false, s.peerId);
  const sources: Array<{ hub: Hub; dataDir: string; peerId: string }> = [];
  for (const hub of hubs) {
    const dataDir = join(work, hub.id);
    sources.push({ hub, dataDir, peerId: (await init(dataDir, hub.id, false, s.peerId)).peerId });
  }
  // T dials the secretariat. The sources have no peers: each imports on its own (see `copyPublished`).
  await writeNetwork(sDir, { listen: [loopback(sLibp2p)], grpc: false, peers: [{ peerId: t.peerId, libp2p: [] }] });
  await writeNetwork(tDir, {
    listen: [loopback(tLibp2p)],
    grpc: false,
    peers: [{ peerId: s.peerId, libp2p: [loopback(sLibp2p)] }],
  });
  for (const x of sources) await writeNetwork(x.dataDir, { listen: [loopback(0)], grpc: false, peers: [] });

  // The secretariat writes the charter; T starts and trusts it; then both stop.
  const secretariat = await startNode(sDir, { ...FREE_PORTS_ENV }, live);
  await secretariat.api.federation.createFederation({ addresses: [] });
  await secretariat.api.federation.admitMember(admitRequest(TARGET_HUB, t.peerId, "Bench target"));
  for (const x of sources)
    await secretariat.api.federation.admitMember(admitRequest(x.hub.id, x.peerId, `Bench ${x.hub.id}`));
  const tEnv = { CONCORDAT_API_PORT: String(tApiPort), CONCORDAT_CONSOLE_PORT: "0" };
  let target = await startNode(tDir, tEnv, live);
  const members = plan.hubs + 2;
  try {
    await waitUntil(
      `the target to trust the charter of ${members} members`,
      async (see) => {
        const listed = (await target.api.federation.listMembers({}, { deadlineMs: 10_000 }).catch(() => undefined))
          ?.members.length;
        see(listed === undefined ? "no answer to ListMembers" : `${listed} members in the charter it trusts`);
        return listed === members;
      },
      allowance(30_000, 1_000, members),
      100,
    );
  } finally {
    target.api.close();
  }
  await target.proc.stop();
  secretariat.api.close();
  await secretariat.proc.stop();
  log(`  ${label}: charter of ${members} members trusted by the target (${round(since(setupStart) / 1000, 1)} s)`);

  // Source hubs, a few at a time: start, import their roster (signed as a checkpoint at stop), stop.
  const perHub: TargetSetup["timings"]["perHub"] = [];
  const importOne = async (x: (typeof sources)[number]) => {
    const spawnStart = performance.now();
    const source = await startNode(x.dataDir, { ...FREE_PORTS_ENV }, live);
    const startMs = since(spawnStart);
    let importMs = 0;
    let failure: Error | undefined;
    try {
      const trainers = [...profiles(SEED, framework, [x.hub], plan.perHub, { probeWindow: true })].map(
        toTrainerMessage,
      );
      const importStart = performance.now();
      const outcome = await source.api.trainers.importTrainers(importMessages(trainers), { deadlineMs: 300_000 });
      if (!outcome.committed || outcome.imported !== plan.perHub)
        throw new Error(
          `${x.hub.id}: imported ${outcome.imported} of ${plan.perHub}: ${JSON.stringify(outcome.errors.slice(0, 3))}`,
        );
      importMs = since(importStart);
    } catch (error) {
      failure = new Error(`${(error as Error).message}\n  ${x.hub.id}'s stderr: ${source.proc.stderr().slice(-2000)}`);
    }
    source.api.close();
    const stopStart = performance.now();
    const { killed } = await source.proc.stop();
    if (failure) throw failure;
    if (killed)
      throw new Error(
        `${x.hub.id} did not stop on SIGTERM, so its last checkpoint may be unsigned: ${source.proc.stderr().slice(-2000)}`,
      );
    perHub.push({ hub: x.hub.id, startMs, importMs, stopMs: since(stopStart) });
  };
  const importStart = performance.now();
  for (let i = 0; i < sources.length; i += plan.concurrency) {
    await Promise.all(sources.slice(i, i + plan.concurrency).map(importOne));
  }
  const importMs = since(importStart);
  log(`  ${label}: ${sources.length} hubs imported their rosters (${round(importMs / 1000, 0)} s)`);

  // Each source's published documents go into T's store (T verifies and indexes them at its next
  // start), and into the secretariat's, so that the two hold the same documents when both run.
  const copyStart = performance.now();
  const sourceDbs = sources.map((x) => dataPaths(x.dataDir).db);
  const copied = await copyPublished(sourceDbs, dataPaths(tDir).db);
  await copyPublished(sourceDbs, dataPaths(sDir).db);
  const copyMs = since(copyStart);
  const ingestStart = performance.now();
  target = await startNode(tDir, tEnv, live);
  try {
    await untilComplete(target.api, expected);
  } finally {
    target.api.close();
  }
  const ingestMs = since(ingestStart);
  log(
    `  ${label}: the target verified and indexed ${expected.toLocaleString("en")} trainers from ${copied.chunks.toLocaleString("en")} copied chunks (${round(ingestMs / 1000, 0)} s)`,
  );
  const setupMs = since(setupStart);
  const targetResidentMb = await residentMb(target.proc.child.pid);
  const { killed } = await target.proc.stop();
  if (killed) throw new Error(`the target did not stop on SIGTERM after its first start: ${target.proc.stderr()}`);

  return {
    plan,
    label,
    expected,
    framework,
    hubs,
    secretariat: { dataDir: sDir, peerId: s.peerId, libp2pPort: sLibp2p },
    target: { dataDir: tDir, peerId: t.peerId, env: tEnv },
    initHub: async (name) => {
      const dataDir = join(work, name);
      const { peerId } = await init(dataDir, name, false, s.peerId);
      await writeNetwork(dataDir, { listen: [loopback(0)], grpc: false, peers: [] });
      return { dataDir, peerId };
    },
    timings: { setupMs, importMs, copyMs, ingestMs, perHub },
    copied,
    targetResidentMb,
  };
}
