/**
 * Restart to first answer, with real nodes: a secretariat, a target hub T and H source hubs of N
 * trainers each, every one a `concordat start` process on 127.0.0.1. The secretariat admits them all
 * and stops once T trusts the charter. Source hubs run a few at a time, with no peers: each imports
 * its roster through the API and stops, signing it. Their published documents are copied into T's
 * store (`copyPublished`), and T's next start verifies and indexes them all. Then T is stopped and
 * started again, R times, each timed from spawn to "node started" and to the first
 * FindAvailableTrainers answer that counts all H × N trainers.
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
import { summarizeProfile, type ProfileSummary } from "../lib/cpu-profile.js";
import { residentMb } from "../lib/federation-nodes.js";
import { DEFAULT_CONFIG, freePorts, launchNode, liveNodes, type NodeProcess } from "../lib/nodes.js";
import { allowance, waitUntil } from "../lib/wait.js";
import { median, round, since } from "../lib/stats.js";
import { figure, type Benchmark, type BenchmarkContext, type BenchmarkOutcome, type Figure } from "../lib/types.js";
import { makeFramework, makeHubs, profiles, PROBE, toDraft, type Hub, type Profile } from "./generate.js";

const SEED = 7;
const TARGET_MS = 3_000;

interface Plan {
  hubs: number;
  perHub: number;
  restarts: number;
  /** Source hubs importing at once. */
  concurrency: number;
}

const FULL: Plan = { hubs: 50, perHub: 1_000, restarts: 3, concurrency: 5 };
const QUICK: Plan = { hubs: 5, perHub: 200, restarts: 1, concurrency: 5 };

const loopback = (port: number) => `/ip4/127.0.0.1/tcp/${port}`;
const PROBE_REQUEST = findRequest({ from: new Date(PROBE.start).toISOString(), to: new Date(PROBE.end).toISOString() });

async function writeNetwork(dataDir: string, network: Record<string, unknown>): Promise<void> {
  const path = join(dataDir, "config.yaml");
  const config = parse(await readFile(path, "utf8")) as Record<string, unknown>;
  config.network = network;
  await writeFile(path, stringify(config));
}

/** The roster row an import sends (no private data: it never leaves the hub anyway). */
function toTrainerMessage(p: Profile): Trainer {
  const draft = toDraft(p);
  return { ...draft, homeHub: "", private: undefined, updatedAt: "", updatedBy: "" };
}

async function directoryBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += (await stat(join(entry.parentPath, entry.name))).size;
  }
  return total;
}

/**
 * Copies every source's published documents (automerge-repo's storage: each hub's directory, roster
 * shards, credentials, curriculum and their signed checkpoints) into the target's store, as chunks.
 * This is what the target would have stored had it replicated them over the network, minus the
 * per-peer sync states. The target, which trusts a charter listing every source, finds them in its own
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

/** A node process and a client for its API, stopped and closed together. */
async function startNode(
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

interface Restart {
  stopMs: number;
  /** The previous process did not exit within 30 s of SIGTERM and was killed. */
  stopKilled: boolean;
  nodeStartedMs: number;
  firstAnswerMs: number;
  /** Answers before the first complete one (API up, index not yet complete). */
  partialAnswers: number[];
  residentMb?: number;
}

export const availabilityRestart: Benchmark = {
  name: "availability.restart",
  title: "Availability: restart to first answer, with real nodes",
  async run(context: BenchmarkContext): Promise<BenchmarkOutcome> {
    const plan = context.quick ? QUICK : FULL;
    const { cleanup, log } = context;
    const expected = plan.hubs * plan.perHub;
    const label = `${plan.hubs} hubs × ${plan.perHub.toLocaleString("en")}`;
    const base = await readFile(DEFAULT_CONFIG, "utf8");
    const work = await context.tempDir("concordat-bench-restart-");
    const live = liveNodes(cleanup);
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
    const t = await init(tDir, "target", false, s.peerId);
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
    const secretariat = await startNode(sDir, { CONCORDAT_API_PORT: "0", CONCORDAT_CONSOLE_PORT: "0" }, live);
    await secretariat.api.federation.createFederation({ addresses: [] });
    await secretariat.api.federation.admitMember(admitRequest("target", t.peerId, "Bench target"));
    for (const x of sources)
      await secretariat.api.federation.admitMember(admitRequest(x.hub.id, x.peerId, `Bench ${x.hub.id}`));
    const tEnv = { CONCORDAT_API_PORT: String(tApiPort), CONCORDAT_CONSOLE_PORT: "0" };
    let target = await startNode(tDir, tEnv, live);
    cleanup.add("close the target's client", () => target.api.close());
    const members = plan.hubs + 2;
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
    target.api.close();
    await target.proc.stop();
    secretariat.api.close();
    await secretariat.proc.stop();
    log(`  ${label}: charter of ${members} members trusted by the target (${round(since(setupStart) / 1000, 1)} s)`);

    // Source hubs, a few at a time: start, import their roster (signed as a checkpoint at stop), stop.
    const perHub: Array<{ hub: string; startMs: number; importMs: number; stopMs: number }> = [];
    const importOne = async (x: (typeof sources)[number]) => {
      const spawnStart = performance.now();
      const source = await startNode(x.dataDir, { CONCORDAT_API_PORT: "0", CONCORDAT_CONSOLE_PORT: "0" }, live);
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
        failure = new Error(
          `${(error as Error).message}\n  ${x.hub.id}'s stderr: ${source.proc.stderr().slice(-2000)}`,
        );
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

    // Each source's published documents go into T's store, then T verifies and indexes them at its next start.
    const copyStart = performance.now();
    const copied = await copyPublished(
      sources.map((x) => dataPaths(x.dataDir).db),
      dataPaths(tDir).db,
    );
    const copyMs = since(copyStart);
    const ingestStart = performance.now();
    target = await startNode(tDir, tEnv, live);
    await waitUntil(
      `the target to answer with all ${expected} trainers`,
      async (see) => {
        const total = (
          await target.api.availability
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
    const ingestMs = since(ingestStart);
    log(
      `  ${label}: the target verified and indexed ${expected.toLocaleString("en")} trainers from ${copied.chunks.toLocaleString("en")} copied chunks (${round(ingestMs / 1000, 0)} s)`,
    );
    const setupMs = since(setupStart);
    const targetRss = await residentMb(target.proc.child.pid);

    // Restarts: stop T, spawn it again, time to "node started" and to the first complete answer.
    const restart = async (execArgv: string[] = []): Promise<Restart> => {
      const stopStart = performance.now();
      target.api.close();
      const { killed: stopKilled } = await target.proc.stop();
      const stopMs = since(stopStart);
      // Not `startNode`: the clock runs from spawn, and T's API is polled before it says "node started".
      const proc = launchNode(tDir, { env: tEnv, execArgv });
      live.add(proc);
      void proc.exited.then(() => live.delete(proc));
      target = { proc, api: benchClient(`127.0.0.1:${tApiPort}`, await adminToken(tDir)) };
      const partialAnswers: number[] = [];
      const firstAt = await waitUntil(
        `the restarted target's first complete answer (${expected} trainers)`,
        async (see) => {
          if (proc.child.exitCode !== null) throw new Error(`the target exited: ${proc.stderr()}`);
          const answer = await target.api.availability
            .findAvailableTrainers(PROBE_REQUEST, { deadlineMs: 2_000, waitForReady: true })
            .catch(() => undefined);
          see(answer ? `it answers for ${answer.total}` : "no answer to FindAvailableTrainers yet");
          if (!answer) return false;
          const at = performance.now();
          if (answer.total === expected) return at;
          partialAnswers.push(answer.total);
          return false;
        },
        120_000,
        5,
      );
      const started = await proc.started;
      const out: Restart = {
        stopMs,
        stopKilled,
        nodeStartedMs: started.at - proc.spawnedAt,
        firstAnswerMs: firstAt - proc.spawnedAt,
        partialAnswers,
      };
      const rss = await residentMb(proc.child.pid);
      if (rss !== undefined) out.residentMb = rss;
      return out;
    };
    // The fixed cost for comparison: the same restart of a node that holds no trainers.
    const emptyDir = join(work, "empty");
    await init(emptyDir, "empty", false, s.peerId);
    await writeNetwork(emptyDir, { listen: [loopback(0)], grpc: false, peers: [] });
    const emptyTimes: number[] = [];
    for (let r = 0; r < 2; r += 1) {
      const empty = await startNode(emptyDir, { CONCORDAT_API_PORT: "0", CONCORDAT_CONSOLE_PORT: "0" }, live);
      await empty.api.availability.findAvailableTrainers(PROBE_REQUEST, { deadlineMs: 10_000, waitForReady: true });
      emptyTimes.push(since(empty.proc.spawnedAt));
      empty.api.close();
      await empty.proc.stop();
    }
    const emptyRestartMs = emptyTimes.at(-1) as number;

    const restarts: Restart[] = [];
    for (let r = 0; r < plan.restarts; r += 1) {
      const result = await restart();
      restarts.push(result);
      log(
        `  ${label}: restart ${r + 1}: "node started" after ${round(result.nodeStartedMs, 0)} ms, first complete answer after ${round(result.firstAnswerMs, 0)} ms`,
      );
    }
    const worst = Math.max(...restarts.map((x) => x.firstAnswerMs));

    // Over the target: one more restart under the CPU profiler, summarised up to the first answer.
    let profile: (ProfileSummary & { firstAnswerMs: number }) | undefined;
    if (worst > TARGET_MS) {
      const dir = await context.tempDir("concordat-bench-profile-");
      const profiled = await restart(["--cpu-prof", "--cpu-prof-dir", dir]);
      target.api.close();
      // The profile is written when the process exits normally: give it time.
      await target.proc.stop(120_000);
      const file = (await readdir(dir)).find((f) => f.endsWith(".cpuprofile"));
      if (file)
        profile = {
          ...(await summarizeProfile(join(dir, file), profiled.firstAnswerMs)),
          firstAnswerMs: profiled.firstAnswerMs,
        };
      log(
        `  ${label}: profiled restart: first answer after ${round(profiled.firstAnswerMs, 0)} ms; by component: ` +
          (profile?.byComponent
            .slice(0, 5)
            .map((c) => `${c.component} ${c.share}%`)
            .join(", ") ?? "no profile written"),
      );
    }

    const conditions = { hubs: plan.hubs, trainers: expected, runs: plan.restarts };
    const figures: Figure[] = [
      figure({
        name: `restart to first complete answer, worst of ${plan.restarts}, ${label}`,
        unit: "ms",
        ours: worst,
        targets: [{ on: "ours", op: "<=", value: TARGET_MS }],
        conditions,
      }),
      figure({
        name: `restart to first complete answer, median, ${label}`,
        unit: "ms",
        ours: median(restarts.map((x) => x.firstAnswerMs)),
        conditions,
      }),
      figure({
        name: `restart to "node started", worst of ${plan.restarts}, ${label}`,
        unit: "ms",
        ours: Math.max(...restarts.map((x) => x.nodeStartedMs)),
        conditions,
      }),
      figure({
        name: "restart to first answer of a node holding no trainers (the fixed cost)",
        unit: "ms",
        ours: emptyRestartMs,
        conditions: { hubs: 0, trainers: 0, runs: 1 },
      }),
      figure({
        name: `stop (SIGTERM to exit, SIGKILL after 30 s), worst of ${plan.restarts}, ${label}`,
        unit: "ms",
        ours: Math.max(...restarts.map((x) => x.stopMs)),
        conditions,
      }),
    ];
    const rss = restarts.map((x) => x.residentMb).filter((x): x is number => x !== undefined);
    if (rss.length > 0)
      figures.push(
        figure({
          name: `target's resident memory at first answer after restart, ${label}`,
          unit: "MiB",
          ours: Math.max(...rss),
          conditions,
        }),
      );
    figures.push(
      figure({
        name: `setup: ${plan.hubs} hubs import ${plan.perHub.toLocaleString("en")} trainers each, ${plan.concurrency} at a time, start to stop`,
        unit: "s",
        ours: importMs / 1000,
        conditions: { hubs: plan.hubs, trainers: expected, runs: 1, concurrentSources: plan.concurrency },
      }),
      figure({
        name: `setup: the target's first start over ${label} copied documents, to its first complete answer (every checkpoint verified, every trainer indexed)`,
        unit: "s",
        ours: ingestMs / 1000,
        conditions: { hubs: plan.hubs, trainers: expected, runs: 1 },
      }),
    );
    const notes = [
      "Every node is a separate `concordat start` process. Each restart is timed from spawn to the first FindAvailableTrainers answer (polled every few ms over gRPC on 127.0.0.1) whose total counts every trainer; the query asks only for dates in a window every trainer declared free, so it is also the index's widest query.",
      "During the restarts no peer is up (the secretariat and the sources are stopped): the target answers from its own LevelDB (persisted index and verified views).",
      "Setup: each source hub imports its roster in its own node process with no peers, and signs it as a checkpoint when it stops. Their published documents are then copied, chunk by chunk, into the target's store, which verifies every checkpoint against the charter and indexes every trainer at its next start (the cold-ingest figure). Replicating them over the network instead made each new source pull every earlier hub's documents through the target: 15 minutes for 50 hubs, spent outside what this benchmark measures. `replication.adapters`, `replication.nodes` and `replication.scale` measure replication.",
      "Roster accreditations are claims without credentials, so the index counts none; they still travel in the roster documents.",
    ];
    if (context.quick)
      notes.push(`Quick run: ${label} (full: ${FULL.hubs} hubs × ${FULL.perHub.toLocaleString("en")}).`);
    const killed = restarts.filter((x) => x.stopKilled).length;
    if (killed > 0)
      notes.push(
        `${killed} of ${restarts.length} stops of the target did not end within 30 s of SIGTERM and were finished with SIGKILL (the stop figure then reads about 30 s).`,
      );
    if (restarts.some((x) => x.partialAnswers.length > 0))
      notes.push("Some restarts answered before their index was complete (see details.restarts[].partialAnswers).");
    if (profile) {
      notes.push(
        `Restart over ${TARGET_MS.toLocaleString("en")} ms: a profiled restart (first answer after ${Math.round(profile.firstAnswerMs).toLocaleString("en")} ms) spent its CPU samples ` +
          `${profile.byComponent
            .slice(0, 6)
            .map((c) => `${c.share}% in ${c.component}`)
            .join(", ")} ` +
          `(attributed to the innermost frame of this project's code; details.profile has self time by package and the top functions). ` +
          `Over time: ${profile.phases.map((p) => `${(p.fromMs / 1000).toFixed(1)}-${(p.toMs / 1000).toFixed(1)} s ${p.project}`).join("; ")}.`,
      );
    }
    return {
      conditions: {
        hubs: plan.hubs,
        trainersPerHub: plan.perHub,
        trainers: expected,
        restarts: plan.restarts,
        transport: "libp2p on 127.0.0.1",
        rosterShards: 4,
        mode: context.quick ? "quick" : "full",
      },
      figures,
      details: {
        setupMs: Math.round(setupMs),
        importMs: Math.round(importMs),
        copy: { ...copied, ms: Math.round(copyMs) },
        ingestMs: Math.round(ingestMs),
        targetDbBytes: await directoryBytes(join(tDir, "db")),
        targetResidentMbBeforeRestart: targetRss === undefined ? undefined : Math.round(targetRss),
        perHub: perHub.map((x) => ({
          hub: x.hub,
          startMs: Math.round(x.startMs),
          importMs: Math.round(x.importMs),
          stopMs: Math.round(x.stopMs),
        })),
        restarts: restarts.map((x) => ({
          ...x,
          stopMs: Math.round(x.stopMs),
          nodeStartedMs: Math.round(x.nodeStartedMs),
          firstAnswerMs: Math.round(x.firstAnswerMs),
          residentMb: x.residentMb === undefined ? undefined : Math.round(x.residentMb),
        })),
        ...(profile ? { profile } : {}),
      },
      notes,
    };
  },
};
