/**
 * api.responsiveness: does a node's API keep answering while it works? A probe (probe.ts) calls
 * GetStatus every 20 ms, open loop, and records each latency, on the node under load:
 *
 * 1. import: a fresh hub importing a roster CSV of N trainers through the CLI (as bulk.import),
 *    probed from the CLI's spawn to AFTERMATH_MS after its exit (the new roster's checkpoints);
 * 2. sync: a fresh hub joining a federation and replicating a hub's roster of N trainers over
 *    libp2p (verified and indexed), probed from its "node started" until it answers with all N
 *    trainers of that hub, and AFTERMATH_MS more.
 *
 * The baseline is the same probe against the same node idle in the same run: before its import,
 * and after its sync. The node's own event loop is measured inside it by loop-monitor.ts,
 * preloaded with --import (a 10 ms timer's lateness: the length of each stall), so stalls are
 * measured, not only inferred from the probe. If a target is missed, one more run of each scenario
 * runs under --cpu-prof and the results say what the node was running during its stalls.
 */
import { readdir, readFile } from "node:fs/promises";
import { parseTrainerFile } from "../../cli/trainer-files.js";
import { join } from "node:path";
import { PROBE } from "../availability/generate.js";
import { admitRequest, findRequest, importMessages } from "../lib/api.js";
import { residentMb } from "../lib/federation-nodes.js";
import { freePorts, liveNodes } from "../lib/nodes.js";
import { allowance, waitUntil } from "../lib/wait.js";
import { median, round } from "../lib/stats.js";
import { figure, type Benchmark, type BenchmarkContext, type BenchmarkOutcome, type Figure } from "../lib/types.js";
import { epochNow, initHub, logTime, loopback, sleep, startNode, writeNetwork, type BulkNode } from "./harness.js";
import { IMPORT_HUB, importOnce, standaloneHub } from "./import.js";
import type { ProbeSample } from "./probe.js";
import { writeRosterCsv } from "./roster-file.js";
import {
  loopStats,
  probeStats,
  loadProfile,
  readLoopFile,
  stallWindows,
  SLOW_MS,
  type LoopRecord,
  type LoopStats,
  type ProbeStats,
  type Window,
  type WindowProfile,
} from "./stalls.js";

interface Plan {
  trainers: number;
  imports: number;
  syncs: number;
  idleMs: number;
}

const FULL: Plan = { trainers: 10_000, imports: 3, syncs: 3, idleMs: 3_000 };
const QUICK: Plan = { trainers: 2_000, imports: 1, syncs: 1, idleMs: 2_000 };
const AFTERMATH_MS = 3_000;
const P99_TARGET_MS = 50;
const STALL_TARGET_MS = 50;
/** A fresh hub syncs the source's roster within a minute plus 24 ms a trainer (5 minutes at 10,000). */
const SYNC_BASE_MS = 60_000;
const SYNC_PER_TRAINER_MS = 24;
const PROBE_REQUEST = findRequest({
  from: new Date(PROBE.start).toISOString(),
  to: new Date(PROBE.end).toISOString(),
  hub: IMPORT_HUB,
});

type Scenario = "import" | "sync";

/** Long enough for the replica worker to unload the copies nothing watches (10 s idle, then its sweep). */
const UNLOADED_AFTER_MS = 15_000;
const RESIDENT_TARGET_MB = 200;

/** The fresh hubs' resident memory once they hold the source's roster. */
function residentFigures(runs: readonly Run[], label: string, conditions: Record<string, unknown>): Figure[] {
  const after = runs.flatMap((r) => (r.scenario === "sync" && r.residentMb !== undefined ? [r.residentMb] : []));
  const settled = runs.find((r) => r.settledMb !== undefined)?.settledMb;
  const c = { ...conditions, scenario: "sync", measured: "VmRSS (/proc)" };
  return [
    ...(after.length > 0
      ? [
          figure({
            name: `resident memory of a hub that received ${label}, after its idle window, median of ${after.length}`,
            unit: "MiB",
            ours: round(median(after), 0),
            conditions: { ...c, runs: after.length },
          }),
        ]
      : []),
    ...(settled !== undefined
      ? [
          figure({
            name: `resident memory of a hub that received ${label}, ${UNLOADED_AFTER_MS / 1000} s later (idle copies unloaded)`,
            unit: "MiB",
            ours: round(settled, 0),
            targets: [{ on: "ours", op: "<=", value: RESIDENT_TARGET_MB }],
            conditions: { ...c, runs: 1 },
          }),
        ]
      : []),
  ];
}

interface Run {
  scenario: Scenario;
  /** The loaded window and the idle one, epoch ms. */
  window: Window;
  idle: Window;
  samples: ProbeSample[];
  loop: LoopRecord;
  /** Import: CLI spawn to exit; sync: "node started" to the complete answer. */
  workMs: number;
  ownLagMaxMs: number;
  profileDir?: string;
  /** Sync: the fresh hub's resident memory after its idle window, and (first run) once idle copies are unloaded. */
  residentMb?: number;
  settledMb?: number;
}

interface RunSummary {
  scenario: Scenario;
  workMs: number;
  idle: ProbeStats;
  loaded: ProbeStats;
  loop: LoopStats;
  idleLoop: LoopStats;
  ownLagMaxMs: number;
}

function summarize(run: Run): RunSummary {
  const idle = probeStats(run.samples, run.idle);
  return {
    scenario: run.scenario,
    workMs: Math.round(run.workMs),
    idle,
    loaded: probeStats(run.samples, run.window, idle.p50),
    loop: loopStats(run.loop, run.window),
    idleLoop: loopStats(run.loop, run.idle),
    ownLagMaxMs: Math.round(run.ownLagMaxMs),
  };
}

const r1 = (x: number) => round(x, 1);
const maxLag = (lags: ReadonlyArray<[number, number]>, window: Window) =>
  Math.max(0, ...lags.filter(([at]) => at >= window.from && at <= window.to + 1_000).map(([, ms]) => ms));

export const apiResponsiveness: Benchmark = {
  name: "api.responsiveness",
  title: "API responsiveness under load: a bulk import and an initial sync",
  async run(context: BenchmarkContext): Promise<BenchmarkOutcome> {
    const plan = context.quick ? QUICK : FULL;
    const { cleanup, log } = context;
    const work = await context.tempDir("concordat-bench-responsive-");
    const live = liveNodes(cleanup);
    const label = `${plan.trainers.toLocaleString("en")} trainers`;
    const file = await writeRosterCsv(join(work, "roster.csv"), IMPORT_HUB, plan.trainers);
    const runs: Run[] = [];
    let nodes = 0;
    const loopFile = () => join(work, `loop-${(nodes += 1)}.txt`);

    // 1. Imports into fresh hubs, probed: idle first, then from the CLI's spawn to after its exit.
    const importRun = async (profileDir?: string): Promise<Run> => {
      const dataDir = join(work, `import-${nodes + 1}`);
      await standaloneHub(dataDir);
      const node = await startNode(dataDir, live, {
        loopFile: loopFile(),
        ...(profileDir ? { execArgv: ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] } : {}),
      });
      try {
        await node.probe.warmUp();
        await sleep(1_000);
        node.probe.start();
        const idleFrom = epochNow();
        await sleep(plan.idleMs);
        const idle = { from: idleFrom, to: epochNow() };
        const result = await importOnce(node, file, join(work, `cli-${nodes}.json`));
        await node.probe.stop();
        const window = { from: result.spawnedAt, to: result.exitedAt + AFTERMATH_MS };
        return {
          scenario: "import",
          window,
          idle,
          samples: node.probe.samples,
          loop: await readLoopFile(node.loopFile),
          workMs: result.wallMs,
          ownLagMaxMs: maxLag(node.probe.ownLag, window),
          ...(profileDir ? { profileDir } : {}),
        };
      } finally {
        await node.stop(profileDir ? 120_000 : 30_000);
      }
    };
    for (let i = 0; i < plan.imports; i += 1) {
      const run = await importRun();
      runs.push(run);
      const s = summarize(run);
      log(
        `  import of ${label} ${i + 1}: probe p50 ${r1(s.loaded.p50)} / p99 ${r1(s.loaded.p99)} / max ${Math.round(s.loaded.max)} ms (idle p99 ${r1(s.idle.p99)} ms), ${s.loaded.over100} calls over ${SLOW_MS} ms; node's longest stall ${Math.round(s.loop.maxStallMs)} ms`,
      );
    }

    // 2. The federation: a secretariat, the source hub (same hub id and roster as the imports), and
    //    fresh hubs admitted up front, each to replicate the source's roster once.
    const setupStart = performance.now();
    const profiling = !context.quick || process.env.CONCORDAT_BENCH_PROFILE === "1";
    const syncTargets = plan.syncs + (profiling ? 1 : 0); // one more, for a profiled sync
    const [sPort, aPort] = (await freePorts(2)) as [number, number];
    const sDir = join(work, "secretariat");
    const aDir = join(work, "source");
    const s = await initHub(sDir, "secretariat", { secretariat: true });
    const a = await initHub(aDir, IMPORT_HUB, { anchor: s.peerId });
    const targets: Array<{ dir: string; hub: string; peerId: string }> = [];
    for (let j = 1; j <= syncTargets; j += 1) {
      const dir = join(work, `fresh-${j}`);
      targets.push({
        dir,
        hub: `hub-fresh-${j}`,
        peerId: (await initHub(dir, `hub-fresh-${j}`, { anchor: s.peerId })).peerId,
      });
    }
    await writeNetwork(sDir, { listen: [loopback(sPort)], grpc: false, peers: [{ peerId: a.peerId, libp2p: [] }] });
    await writeNetwork(aDir, {
      listen: [loopback(aPort)],
      grpc: false,
      peers: [
        { peerId: s.peerId, libp2p: [loopback(sPort)] },
        ...targets.map((t) => ({ peerId: t.peerId, libp2p: [] })),
      ],
    });
    for (const t of targets)
      await writeNetwork(t.dir, {
        listen: [loopback(0)],
        grpc: false,
        peers: [{ peerId: a.peerId, libp2p: [loopback(aPort)] }],
      });
    const secretariat = await startNode(sDir, live, { loopFile: join(work, "loop-secretariat.txt") });
    await secretariat.api.federation.createFederation({ addresses: [] });
    await secretariat.api.federation.admitMember(admitRequest(IMPORT_HUB, a.peerId, "Bench source"));
    for (const t of targets)
      await secretariat.api.federation.admitMember(admitRequest(t.hub, t.peerId, `Bench ${t.hub}`));
    const members = 2 + targets.length;
    const source = await startNode(aDir, live, { loopFile: join(work, "loop-source.txt") });
    await waitUntil(
      `the source to trust the charter of ${members} members`,
      async (see) => {
        const listed = (await source.api.federation.listMembers({}, { deadlineMs: 10_000 }).catch(() => undefined))
          ?.members.length;
        see(listed === undefined ? "no answer to ListMembers" : `${listed} members in the charter it trusts`);
        return listed === members;
      },
      allowance(30_000, 3_000, members),
      100,
    );
    const charterMs = performance.now() - setupStart;
    // From here the source relays the charter to the fresh hubs: a single peer to sync from.
    await secretariat.stop();
    // The same rows as the CSV, through the API (this import is not measured).
    const rows = parseTrainerFile(await readFile(file.path, "utf8"), "csv").rows.map((r) => r.trainer);
    const sourceImport = await source.api.trainers.importTrainers(importMessages(rows, 500), { deadlineMs: 300_000 });
    if (!sourceImport.committed || sourceImport.imported !== plan.trainers)
      throw new Error(
        `the source imported ${sourceImport.imported} of ${plan.trainers}: ${JSON.stringify(sourceImport.errors.slice(0, 3))}`,
      );
    await sleep(AFTERMATH_MS); // its roster's checkpoints are signed
    log(
      `  federation of ${members} members, source holding ${label} (${round((performance.now() - setupStart) / 1000, 1)} s: charter trusted after ${round(charterMs / 1000, 1)} s)`,
    );

    const syncRun = async (target: (typeof targets)[number], profileDir?: string): Promise<Run> => {
      const node: BulkNode = await startNode(target.dir, live, {
        loopFile: loopFile(),
        ...(profileDir ? { execArgv: ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] } : {}),
      });
      const startedAt = logTime(node.proc, "node started") ?? epochNow();
      try {
        node.probe.start();
        const complete = await waitUntil(
          `${target.hub} to answer with the source's ${plan.trainers} trainers`,
          async (see) => {
            if (node.proc.child.exitCode !== null)
              throw new Error(`${target.hub} exited: ${node.proc.stderr().slice(-2000)}`);
            const answer = await node.api.availability
              .findAvailableTrainers(PROBE_REQUEST, { deadlineMs: 10_000 })
              .catch(() => undefined);
            see(answer ? `it answers for ${answer.total}` : "no answer to FindAvailableTrainers");
            return answer?.total === plan.trainers ? epochNow() : false;
          },
          allowance(SYNC_BASE_MS, SYNC_PER_TRAINER_MS, plan.trainers),
          250,
        );
        await sleep(AFTERMATH_MS);
        const window = { from: startedAt, to: epochNow() };
        const idleFrom = epochNow();
        await sleep(plan.idleMs);
        const idle = { from: idleFrom, to: epochNow() };
        await node.probe.stop();
        const pid = node.proc.child.pid;
        const rss = await residentMb(pid);
        // Once: after the worker's idle sweep has unloaded the copies nothing watches (10 s idle).
        let settled: number | undefined;
        if (target === targets[0]) {
          await sleep(UNLOADED_AFTER_MS);
          settled = await residentMb(pid);
        }
        return {
          scenario: "sync",
          ...(rss !== undefined ? { residentMb: rss } : {}),
          ...(settled !== undefined ? { settledMb: settled } : {}),
          window,
          idle,
          samples: node.probe.samples,
          loop: await readLoopFile(node.loopFile),
          workMs: complete - startedAt,
          ownLagMaxMs: maxLag(node.probe.ownLag, window),
          ...(profileDir ? { profileDir } : {}),
        };
      } finally {
        await node.stop(profileDir ? 120_000 : 30_000);
      }
    };
    for (let j = 0; j < plan.syncs; j += 1) {
      const run = await syncRun(targets[j] as (typeof targets)[number]);
      runs.push(run);
      const sum = summarize(run);
      log(
        `  sync of ${label} ${j + 1}: ${round(sum.workMs / 1000, 1)} s; probe p50 ${r1(sum.loaded.p50)} / p99 ${r1(sum.loaded.p99)} / max ${Math.round(sum.loaded.max)} ms (idle p99 ${r1(sum.idle.p99)} ms), ${sum.loaded.over100} calls over ${SLOW_MS} ms; node's longest stall ${Math.round(sum.loop.maxStallMs)} ms; RSS ${run.residentMb === undefined ? "?" : Math.round(run.residentMb)} MiB${run.settledMb === undefined ? "" : `, ${Math.round(run.settledMb)} MiB ${UNLOADED_AFTER_MS / 1000} s later`}`,
      );
    }

    // Pooled over the runs of each scenario.
    const summaries = runs.map(summarize);
    const pooled = (scenario: Scenario) => {
      const these = runs.filter((r) => r.scenario === scenario);
      const all = these.flatMap((r) => r.samples.map((x) => ({ ...x, at: x.at })));
      const inWindow = (r: Run, w: (r: Run) => Window) => r.samples.filter((x) => x.at >= w(r).from && x.at <= w(r).to);
      const loaded = these.flatMap((r) => inWindow(r, (x) => x.window));
      const idle = these.flatMap((r) => inWindow(r, (x) => x.idle));
      const span = { from: Number.NEGATIVE_INFINITY, to: Number.POSITIVE_INFINITY };
      const idleStats = probeStats(idle, span);
      const sums = summaries.filter((x) => x.scenario === scenario);
      return {
        runs: these.length,
        samples: all.length,
        idle: idleStats,
        loaded: probeStats(loaded, span, idleStats.p50),
        maxStallMs: Math.max(...sums.map((x) => x.loop.maxStallMs)),
        stallsOver100: sums.reduce((n, x) => n + x.loop.stallsOver100, 0),
        idleMaxStallMs: Math.max(...sums.map((x) => x.idleLoop.maxStallMs)),
        monitored: sums.every((x) => x.loop.monitored),
        workMs: median(sums.map((x) => x.workMs)),
        ownLagMaxMs: Math.max(...sums.map((x) => x.ownLagMaxMs)),
      };
    };
    const imports = pooled("import");
    const syncs = pooled("sync");

    // Over a target: one more run of each scenario under the CPU profiler, read inside its stalls.
    const profiles: Partial<
      Record<
        Scenario,
        {
          stalls: number;
          stallMs: number;
          longest: Array<{ atMs: number; ms: number; project: string[]; self: string[] }>;
          duringStalls: WindowProfile;
          wholeWindow: WindowProfile;
          run: RunSummary;
        }
      >
    > = {};
    const missed = (p: typeof imports) => p.loaded.p99 > P99_TARGET_MS || p.maxStallMs > STALL_TARGET_MS;
    const profileRun = async (scenario: Scenario) => {
      const dir = await context.tempDir(`concordat-bench-responsive-prof-${scenario}-`);
      const run =
        scenario === "import"
          ? await importRun(dir)
          : await syncRun(targets[plan.syncs] as (typeof targets)[number], dir);
      const profileFile = (await readdir(dir)).find((f) => f.endsWith(".cpuprofile"));
      if (!profileFile || !run.loop.clock) {
        log(`  profiled ${scenario}: no profile written`);
        return;
      }
      const profile = await loadProfile(join(dir, profileFile), run.loop.clock);
      const stalls = stallWindows(run.loop, run.window, 50);
      const duringStalls = profile.inWindows(stalls);
      const wholeWindow = profile.inWindows([run.window]);
      // The longest stalls one by one: what led each.
      const longest = [...stalls]
        .sort((x, y) => y.to - y.from - (x.to - x.from))
        .slice(0, 8)
        .map((w) => {
          const p = profile.inWindows([w], 3);
          return {
            atMs: Math.round(w.from - run.window.from),
            ms: Math.round(w.to - w.from),
            project: p.projectFunctions.map((f) => `${f.name} ${f.share}%`),
            self: p.functions.map((f) => `${f.name} ${f.share}%`),
          };
        });
      profiles[scenario] = {
        stalls: stalls.length,
        stallMs: Math.round(stalls.reduce((n, w) => n + w.to - w.from, 0)),
        longest,
        duringStalls,
        wholeWindow,
        run: summarize(run),
      };
      log(
        `  profiled ${scenario}: ${stalls.length} stalls over 50 ms; during them: ${duringStalls.byComponent
          .slice(0, 5)
          .map((c) => `${c.name} ${c.share}%`)
          .join(", ")}`,
      );
    };
    // Not with --quick (it would double its time) unless CONCORDAT_BENCH_PROFILE=1 asks for it.
    if (profiling && missed(imports)) await profileRun("import");
    if (profiling && missed(syncs)) await profileRun("sync");
    await source.stop();

    const conditions = {
      trainers: plan.trainers,
      probeIntervalMs: 20,
      probe: "GetStatus, open loop",
      transport: "gRPC on 127.0.0.1",
    };
    const figuresFor = (scenario: Scenario, p: typeof imports, what: string): Figure[] => {
      const c = { ...conditions, scenario, runs: p.runs, calls: p.loaded.calls, idleCalls: p.idle.calls };
      return [
        figure({
          name: `probe p99 during ${what}, runs pooled`,
          unit: "ms",
          ours: r1(p.loaded.p99),
          baseline: { name: "same node idle", value: r1(p.idle.p99) },
          targets: [{ on: "ours", op: "<=", value: P99_TARGET_MS }],
          conditions: c,
        }),
        figure({
          name: `probe p50 during ${what}`,
          unit: "ms",
          ours: r1(p.loaded.p50),
          baseline: { name: "same node idle", value: r1(p.idle.p50) },
          conditions: c,
        }),
        figure({
          name: `probe max during ${what}`,
          unit: "ms",
          ours: Math.round(p.loaded.max),
          baseline: { name: "same node idle", value: Math.round(p.idle.max) },
          conditions: c,
        }),
        figure({
          name: `probe calls over ${SLOW_MS} ms during ${what}`,
          unit: "calls",
          ours: p.loaded.over100,
          baseline: { name: "same node idle", value: p.idle.over100 },
          conditions: c,
        }),
        figure({
          name: `node's longest event-loop stall during ${what} (measured inside the node)`,
          unit: "ms",
          ours: Math.round(p.maxStallMs),
          baseline: { name: "same node idle", value: Math.round(p.idleMaxStallMs) },
          targets: [{ on: "ours", op: "<=", value: STALL_TARGET_MS }],
          conditions: { ...c, stallsOver100ms: p.stallsOver100 },
        }),
      ];
    };
    const figures: Figure[] = [
      ...figuresFor("import", imports, `the CSV import of ${label}`),
      ...figuresFor("sync", syncs, `the initial sync of ${label} to a fresh hub`),
      ...residentFigures(runs, label, conditions),
      figure({
        name: `initial sync of ${label} to a fresh hub: "node started" to all answered, median of ${syncs.runs}`,
        unit: "s",
        ours: round(syncs.workMs / 1000, 2),
        conditions: { ...conditions, scenario: "sync", runs: syncs.runs, transport: "libp2p on 127.0.0.1" },
      }),
    ];

    const ownLag = Math.round(Math.max(imports.ownLagMaxMs, syncs.ownLagMaxMs));
    const notes = [
      `The probe calls GetStatus every 20 ms on its own schedule (open loop: a stalled node gets a run of slow calls, not fewer calls), from the bench process over gRPC on 127.0.0.1; latency is send to answer. ` +
        (ownLag < 50
          ? `The bench process's own timers were at most ${ownLag} ms late, so slow calls are the node's.`
          : `The bench process's own timers were up to ${ownLag} ms late (a busy machine): some of the probe's slowness is its own; the stall figures, measured inside the node, are not affected.`),
      `Import: a fresh hub (libp2p off), idle for ${plan.idleMs / 1000} s (the baseline), then \`concordat trainers import\` of the CSV as in bulk.import; the loaded window runs from the CLI's spawn to ${AFTERMATH_MS / 1000} s after its exit (the new roster's signed checkpoints).`,
      `Sync: a secretariat admits the source hub (holding ${label}, imported through the CLI) and fresh hubs, then stops; each fresh hub starts with only the source as a peer, gets the charter from it and replicates, verifies and indexes its roster. The loaded window runs from its "node started" (the API is up; the sync may have begun a little earlier) until FindAvailableTrainers for the source's hub counts all ${label} (polled every 250 ms, part of the load), plus ${AFTERMATH_MS / 1000} s; then ${plan.idleMs / 1000} s idle on the same node is the baseline.`,
      `Event-loop stalls are measured inside the node: bench/bulk/loop-monitor.js, preloaded with --import (node/ exposes no event-loop metric yet), fires a timer every 10 ms and records how late it runs; a stall of X ms makes it X ms late. From the probe alone (its slowest call less the idle median) the longest stall would read ${Math.round(imports.loaded.inferredLongestStallMs)} ms (import) and ${Math.round(syncs.loaded.inferredLongestStallMs)} ms (sync), against ${Math.round(imports.maxStallMs)} and ${Math.round(syncs.maxStallMs)} ms measured: stalls back to back, with gaps too short to answer the calls queued behind them, add up for a client.`,
      "Other work on this 2-core machine (other benchmarks, the CLI process itself during an import) takes CPU from the node and shows as stalls too: compare with the idle baseline and the load average in the results.",
    ];
    if (!imports.monitored || !syncs.monitored)
      notes.push("The loop monitor reported nothing for some window: its stall figures read 0 there (see details).");
    for (const [scenario, profile] of Object.entries(profiles)) {
      if (!profile) continue;
      notes.push(
        `Profiled ${scenario} (one more run under --cpu-prof; longest stall ${Math.round(profile.run.loop.maxStallMs)} ms): during its ${profile.stalls} stalls over 50 ms (${profile.stallMs} ms in all) the node ran ` +
          `${profile.duringStalls.byComponent
            .slice(0, 6)
            .map((c) => `${c.share}% ${c.name}`)
            .join(", ")} ` +
          `(each sample charged to the innermost frame of node/ code on its stack); the project functions: ${profile.duringStalls.projectFunctions
            .slice(0, 4)
            .map((f) => `${f.name} ${f.share}%`)
            .join(", ")}; ` +
          `self time: ${profile.duringStalls.bySelf
            .slice(0, 4)
            .map((c) => `${c.name} ${c.share}%`)
            .join(", ")}. ` +
          `The longest: ${profile.longest
            .slice(0, 3)
            .map((l) => `${l.ms} ms at +${(l.atMs / 1000).toFixed(1)} s (${l.project[0] ?? l.self[0] ?? "?"})`)
            .join("; ")}. details.profiles has more. ` +
          "(On a busy machine, time the node spent descheduled is charged to whatever was on its stack: a single stall can show an odd leader; the totals are steadier.)",
      );
    }
    if (context.quick)
      notes.push(
        `Quick run: ${label}, ${plan.imports} import and ${plan.syncs} sync, no profiled run (full: ${FULL.trainers.toLocaleString("en")} trainers, ${FULL.imports} imports, ${FULL.syncs} syncs, and a profiled run of each scenario that misses a target).`,
      );
    const clean = (x: RunSummary) =>
      JSON.parse(JSON.stringify(x, (_k, v: unknown) => (typeof v === "number" ? round(v, 1) : v))) as RunSummary;
    return {
      conditions: {
        trainers: plan.trainers,
        imports: plan.imports,
        syncs: plan.syncs,
        mode: context.quick ? "quick" : "full",
      },
      figures,
      details: {
        pooled: { import: imports, sync: syncs },
        runs: summaries.map(clean),
        file: { bytes: file.bytes, trainers: file.trainers },
        ...(Object.keys(profiles).length > 0 ? { profiles } : {}),
      },
      notes,
    };
  },
};
