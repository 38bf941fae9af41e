/**
 * `npm run soak [-- --duration S | --quick] [--out FILE]`: a federation of real node processes on
 * 127.0.0.1 (a secretariat and 10 hubs with trainers) under random operations at a fixed rate —
 * trainer adds, updates and removes, booking requests across hubs (and retries), availability
 * queries — with one hub SIGKILLed half-way and restarted. Then it waits (bounded) for every hub to
 * converge and checks: no unexpected API error, no acknowledged write lost, no double booking; and
 * it compares each hub's heap after GC and stored bytes before and after. Prints the figures, writes
 * them as JSON (default docs/bench/soak.json) and exits 1 on any loss, error, double booking or
 * non-convergence (2 on bad flags). Every wait has a timeout; node processes and temp dirs are
 * removed on exit and on Ctrl-C.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { loadavg } from "node:os";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { describeEnvironment } from "../lib/environment.js";
import { Cleanup, ROOT, tempDir } from "../lib/nodes.js";
import { Random } from "../lib/random.js";
import { summarize } from "../lib/stats.js";
import { Cluster, HEARTBEAT_SECONDS, sleep, type Member, type MemorySample } from "./cluster.js";
import { describeError } from "../../node/api/index.js";
import { checkHistories, check, problemCount, snapshot, type Problems } from "./verify.js";
import { EXPECTED_REFUSALS, MIX, OP_KINDS, Workload } from "./workload.js";

const USAGE = `usage: npm run soak -- [options]

  --duration S        seconds of operations (default 600)
  --quick             --duration 30 (for trying)
  --rate N            operations per second, all hubs together (default 20)
  --hubs N            hubs besides the secretariat (default 10)
  --trainers N        trainers each hub starts with (default 30)
  --seed N            PRNG seed (default 1)
  --down S            seconds the killed hub stays down before its restart (default 3)
  --settle-timeout S  how long to wait for convergence after the operations (default 180)
  --max-in-flight N   calls in flight at most; an operation due beyond it is skipped and counted (default 64)
  --deadline S        deadline of each API call (default 30); a call past it is an error
  --memory-every S    seconds between the memory samples taken during the operations (default 60)
  --out FILE          where to write the JSON (default docs/bench/soak.json)
  --keep              keep the data dirs and say where
`;

function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

const MB = 1024 * 1024;
const mb = (bytes: number | undefined) => (bytes === undefined ? "n/a" : `${(bytes / MB).toFixed(2)} MB`);
const signedMb = (bytes: number | undefined) =>
  bytes === undefined ? "n/a" : `${bytes >= 0 ? "+" : ""}${(bytes / MB).toFixed(2)} MB`;
const round = (x: number, digits = 0) => Math.round(x * 10 ** digits) / 10 ** digits;

function positive(name: string, value: string | undefined, fallback: number, integer = true): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n)))
    throw new Error(`--${name} must be a positive ${integer ? "integer" : "number"}, not '${value}'`);
  return n;
}

const OPTIONS = {
  duration: { type: "string" },
  quick: { type: "boolean", default: false },
  rate: { type: "string" },
  hubs: { type: "string" },
  trainers: { type: "string" },
  seed: { type: "string" },
  down: { type: "string" },
  "settle-timeout": { type: "string" },
  "max-in-flight": { type: "string" },
  deadline: { type: "string" },
  "memory-every": { type: "string" },
  out: { type: "string" },
  keep: { type: "boolean", default: false },
  help: { type: "boolean", short: "h", default: false },
} as const;

async function main(cleanup: Cleanup): Promise<number> {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>;
  try {
    parsed = parseArgs({ options: OPTIONS });
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const values = parsed.values;
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  let plan: {
    durationS: number;
    rate: number;
    hubs: number;
    trainers: number;
    seed: number;
    downS: number;
    settleTimeoutS: number;
    maxInFlight: number;
    deadlineS: number;
    memoryEveryS: number;
  };
  try {
    plan = {
      durationS: positive("duration", values.duration, values.quick ? 30 : 600, false),
      rate: positive("rate", values.rate, 20, false),
      hubs: positive("hubs", values.hubs, 10),
      trainers: positive("trainers", values.trainers, 30),
      seed: positive("seed", values.seed, 1),
      downS: positive("down", values.down, 3, false),
      settleTimeoutS: positive("settle-timeout", values["settle-timeout"], 180, false),
      maxInFlight: positive("max-in-flight", values["max-in-flight"], 64),
      deadlineS: positive("deadline", values.deadline, 30, false),
      memoryEveryS: positive("memory-every", values["memory-every"], values.quick ? 10 : 60, false),
    };
    if (plan.hubs < 2) throw new Error("--hubs must be at least 2 (bookings go from one hub to another)");
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const out = resolve(values.out ?? join(ROOT, "docs", "bench", "soak.json"));
  // Every phase has its own timeout; this bounds the whole run whatever happens.
  const watchdogS = 15 * 60 + plan.durationS + plan.settleTimeoutS + 10 * 60;
  setTimeout(() => {
    log(`✖ the soak did not finish within ${watchdogS} s; stopping`);
    finish(1);
  }, watchdogS * 1000).unref();
  const environment = describeEnvironment();
  const loadAtStart = loadavg().map((x) => round(x, 2));
  const startedAt = new Date();
  log(
    `soak: ${plan.hubs} hubs + secretariat, ${plan.trainers} trainers each, ${plan.durationS} s at ${plan.rate} ops/s, seed ${plan.seed} — Node ${environment.node}, ${environment.cores} cores, load ${loadAtStart.join(" ")}`,
  );

  // ---- setup: data dirs, charter, processes, rosters, first convergence
  const setupStart = performance.now();
  const work = await tempDir("concordat-soak-", cleanup, values.keep);
  const cluster = await Cluster.create(work, plan.hubs, cleanup, log, plan.deadlineS * 1000);
  await cluster.form(3);
  const rng = new Random(plan.seed);
  const workload = new Workload(cluster, rng, {
    rate: plan.rate,
    durationMs: plan.durationS * 1000,
    maxInFlight: plan.maxInFlight,
    targetAfterMs: 5_000,
    minTrainersPerHub: Math.min(10, plan.trainers),
  });
  for (const m of cluster.hubs) await workload.seed(m, plan.trainers);
  log(`  ${plan.hubs * plan.trainers} trainers imported; waiting for every hub to see every roster`);
  const initial = await converge(cluster, workload, 180_000);
  if (problemCount(initial.problems) > 0) {
    log(`✖ the federation did not converge after the setup within 180 s:\n${listProblems(initial.problems, 10)}`);
    return 1;
  }
  const setupMs = performance.now() - setupStart;
  log(`  setup done in ${round(setupMs / 1000, 1)} s; sampling memory (heap after forced GC, RSS, data dir bytes)`);
  const memoryStart = new Map<string, MemorySample>();
  for (const m of cluster.hubs) memoryStart.set(m.hub, await cluster.memory(m));
  const memoryStartAt = performance.now();

  // ---- the operations, with the kill half-way
  const killRng = new Random(plan.seed * 7919 + 17);
  const victim = killRng.pick(cluster.hubs);
  const restart: {
    hub: string;
    killedAtS?: number;
    exitMs?: number;
    downMs?: number;
    nodeStartedMs?: number;
    firstAnswerMs?: number;
    inFlightAtKill?: number;
    inFlightAtVictim?: number;
    error?: string;
  } = { hub: victim.hub };
  let opsStart = 0;
  const midpoint = async () => {
    const killAt = performance.now();
    restart.killedAtS = round((killAt - opsStart) / 1000, 1);
    restart.inFlightAtKill = workload.inFlight();
    restart.inFlightAtVictim = workload.inFlightAt.get(victim.hub) ?? 0;
    log(
      `  ${restart.killedAtS} s: SIGKILL ${victim.hub} (${restart.inFlightAtVictim} of its calls in flight, ${restart.inFlightAtKill} in all)`,
    );
    workload.killEpoch.set(victim.hub, (workload.killEpoch.get(victim.hub) ?? 0) + 1);
    try {
      await cluster.kill(victim);
      restart.exitMs = round(performance.now() - killAt, 1);
      await sleep(plan.downS * 1000);
      const spawnAt = performance.now();
      const { nodeStartedMs } = await cluster.start(victim);
      restart.nodeStartedMs = round(nodeStartedMs);
      // The first API answer after the restart (GetStatus), polled every 20 ms for at most 60 s.
      const deadline = performance.now() + 60_000;
      for (;;) {
        const ok = await victim.client.node.getStatus({}).then(
          () => true,
          () => false,
        );
        if (ok) break;
        if (performance.now() > deadline) throw new Error(`${victim.hub} did not answer within 60 s of "node started"`);
        await sleep(20);
      }
      restart.firstAnswerMs = round(performance.now() - spawnAt);
      restart.downMs = round(performance.now() - killAt);
      log(
        `  ${victim.hub} restarted: "node started" ${restart.nodeStartedMs} ms after spawn, first answer after ${restart.firstAnswerMs} ms (down ${round(restart.downMs / 1000, 1)} s in all)`,
      );
    } catch (error) {
      restart.error = describeError(error);
      log(`  ✖ restart of ${victim.hub} failed: ${restart.error}`);
    }
  };
  log(
    `▶ ${plan.durationS} s of operations at ${plan.rate}/s; ${victim.hub} will be killed at about ${round(plan.durationS / 2)} s`,
  );
  opsStart = performance.now();
  // The machine's 1-minute load average every 5 s while the operations run (other work skews every figure).
  const loads: number[] = [];
  const loadTimer = setInterval(() => loads.push(round(loadavg()[0] ?? 0, 2)), 5_000);
  // Memory over time: every hub sampled every --memory-every seconds while the operations run.
  const timeline: TimelinePoint[] = [timelinePoint(0, cluster.hubs, memoryStart)];
  const sampler = new AbortController();
  const sampling = (async () => {
    for (let k = 1; ; k += 1) {
      const due = opsStart + k * plan.memoryEveryS * 1000;
      while (performance.now() < due && !sampler.signal.aborted) await sleep(Math.min(1_000, due - performance.now()));
      if (sampler.signal.aborted) return;
      const samples = new Map<string, MemorySample>();
      for (const m of cluster.hubs) samples.set(m.hub, await cluster.memory(m));
      timeline.push(timelinePoint((performance.now() - opsStart) / 1000, cluster.hubs, samples));
      const last = timeline.at(-1) as TimelinePoint;
      log(
        `  ${round(last.atS)} s: RSS ${mb(last.rss)}, heap after GC ${mb(last.heapUsedAfterGc)}, external ${mb(last.externalAfterGc)}, stored document bytes ${mb(last.documentBytes)} (${last.hubs} hubs sampled)`,
      );
    }
  })();
  let run: Awaited<ReturnType<Workload["run"]>>;
  try {
    run = await workload.run(midpoint, log);
    await run.midpoint;
  } finally {
    clearInterval(loadTimer);
    sampler.abort();
    await sampling;
  }
  const opsEnd = performance.now();
  log(
    `  operations done in ${round(run.elapsedMs / 1000, 1)} s (+${round((opsEnd - opsStart - run.elapsedMs) / 1000, 1)} s for the last calls and the restart); waiting for convergence`,
  );

  // ---- convergence and checks
  const final = await converge(cluster, workload, plan.settleTimeoutS * 1000);
  const convergenceMs = performance.now() - opsEnd;
  const converged = problemCount(final.problems) === 0;
  log(
    converged
      ? `  converged ${round(convergenceMs / 1000, 1)} s after the operations ended (${final.rounds} checks)`
      : `  ✖ not converged after ${plan.settleTimeoutS} s:\n${listProblems(final.problems, 12)}`,
  );
  const histories = await checkHistories(cluster, workload);
  const memoryEnd = new Map<string, MemorySample>();
  for (const m of cluster.hubs) memoryEnd.set(m.hub, await cluster.memory(m));
  const sampledOverS = (performance.now() - memoryStartAt) / 1000;
  timeline.push(timelinePoint((performance.now() - opsStart) / 1000, cluster.hubs, memoryEnd));
  const crashes = cluster.crashed();
  const warnings = cluster.warnings();

  // ---- figures
  const kinds = Object.fromEntries(
    OP_KINDS.map((k) => {
      const s = workload.stats[k];
      const lat = summarize(s.latenciesMs);
      return [
        k,
        {
          issued: s.issued,
          ok: s.ok,
          refused: s.refused,
          interrupted: s.interrupted,
          errors: s.errors,
          skippedNoCandidate: s.skipped,
          latencyMs: { p50: round(lat.p50, 1), p99: round(lat.p99, 1), max: round(lat.max, 1) },
        },
      ];
    }),
  );
  const issued = OP_KINDS.reduce((n, k) => n + workload.stats[k].issued, 0);
  const errorCount = OP_KINDS.reduce((n, k) => n + workload.stats[k].errors, 0) + crashes.length;
  const trainers = [...workload.trainers.values()];
  const acked = {
    trainersImportedAtSetup: plan.hubs * plan.trainers,
    trainerAdds: workload.stats["trainer.add"].ok,
    trainerUpdates: workload.stats["trainer.update"].ok,
    trainerRemoves: workload.stats["trainer.remove"].ok,
    bookingRequests: [...workload.requests.values()].filter((r) => r.ack === "acked").length,
    bookingRetries: workload.stats["booking.retry"].ok,
  };
  const checked = {
    trainersCheckedByValueAtOwnerAndEveryHub: trainers.filter(
      (t) => !t.possible && (t.state !== undefined || t.removedAt !== undefined),
    ).length,
    trainersWithUnknownOutcome: trainers.filter((t) => t.possible).length,
    writesCoveredByHistories: histories.writes,
    historiesRead: histories.trainers,
    bookingRequestsChecked: acked.bookingRequests,
    bookingRequestsWithUnknownOutcome: [...workload.requests.values()].filter((r) => r.ack === "unknown").length,
  };
  const lostWrites = final.problems.lost.length + histories.problems.length;
  const memory = {
    ...memoryFigures(cluster.hubs, memoryStart, memoryEnd, victim.hub, sampledOverS),
    overTime: overTime(timeline, victim.hub),
  };
  const deadlineErrors = workload.errors.filter((e) => e.error.startsWith("DEADLINE_EXCEEDED")).length;
  const bookingStates = countStates(final.bookingStates);
  const failures: string[] = [];
  if (errorCount > 0) failures.push(`${errorCount} unexpected error(s)`);
  if (lostWrites > 0) failures.push(`${lostWrites} lost acknowledged write(s)`);
  if (final.problems.phantom.length > 0) failures.push(`${final.problems.phantom.length} write(s) nobody made`);
  if (final.problems.doubleBookings.length > 0)
    failures.push(`${final.problems.doubleBookings.length} double booking(s)`);
  if (final.problems.inconsistent.length > 0)
    failures.push(`${final.problems.inconsistent.length} inconsistent booking answer(s)`);
  if (!converged) failures.push("no convergence");
  if (restart.error) failures.push(`the restart failed: ${restart.error}`);

  const result = {
    schema: 1,
    name: "soak",
    status: failures.length === 0 ? "ok" : "failed",
    failures,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    environment,
    loadAverage: { start: loadAtStart, end: loadavg().map((x) => round(x, 2)) },
    conditions: {
      ...plan,
      transport: "libp2p on 127.0.0.1, full mesh (every member's address in the charter)",
      bookingsPolicy: "confirm",
      heartbeatSeconds: HEARTBEAT_SECONDS,
      mix: Object.fromEntries(MIX),
    },
    figures: {
      setupS: round(setupMs / 1000, 1),
      operations: {
        issued,
        achievedRatePerS: round(issued / (run.elapsedMs / 1000), 2),
        backpressureSkips: workload.backpressureSkips,
        byKind: kinds,
      },
      errors: { count: errorCount, deadlineExceeded: deadlineErrors, list: workload.errors.slice(0, 100), crashes },
      loadAverageDuringOps: {
        samples: loads.length,
        min: loads.length > 0 ? Math.min(...loads) : undefined,
        mean: loads.length > 0 ? round(loads.reduce((a, b) => a + b, 0) / loads.length, 2) : undefined,
        max: loads.length > 0 ? Math.max(...loads) : undefined,
      },
      expectedRefusals: EXPECTED_REFUSALS,
      unknownTrainerRefusals: {
        count: workload.unknownTrainerAgesMs.length,
        maxAgeS:
          workload.unknownTrainerAgesMs.length > 0
            ? round(Math.max(...workload.unknownTrainerAgesMs) / 1000, 1)
            : undefined,
      },
      acknowledged: acked,
      checked,
      lostWrites: { count: lostWrites, list: [...final.problems.lost, ...histories.problems].slice(0, 100) },
      phantomWrites: final.problems.phantom.slice(0, 100),
      doubleBookings: {
        count: final.problems.doubleBookings.length,
        list: final.problems.doubleBookings.slice(0, 100),
      },
      inconsistentAnswers: final.problems.inconsistent.slice(0, 100),
      bookingsAtEnd: bookingStates,
      convergence: {
        converged,
        afterOpsEndS: round(convergenceMs / 1000, 1),
        checks: final.rounds,
        timeoutS: plan.settleTimeoutS,
        remaining: converged ? [] : flatProblems(final.problems).slice(0, 100),
      },
      restart: { ...restart, downConfiguredS: plan.downS },
      perHub: cluster.hubs.map((m) => {
        const l = workload.perHub.get(m.hub) ?? { query: [], other: [] };
        const q = summarize(l.query);
        const o = summarize(l.other);
        const server = memoryEnd.get(m.hub)?.queries;
        return {
          hub: m.hub,
          queries: { calls: q.samples, p50Ms: round(q.p50), p99Ms: round(q.p99) },
          otherCalls: { calls: o.samples, p50Ms: round(o.p50), p99Ms: round(o.p99) },
          errors: workload.errors.filter((e) => e.hub === m.hub).length,
          // From the node's metrics (its current process): time inside FindAvailableTrainers, which first waits for the re-indexing queue.
          queriesInsideNode: server
            ? {
                answered: server.count,
                meanMs: round((server.seconds / server.count) * 1000),
                over2500ms: server.over2500ms,
              }
            : undefined,
        };
      }),
      memory,
      nodeLogWarnings: warnings.slice(0, 50),
    },
    notes: [
      "Every node is a separate `concordat start` process on 127.0.0.1; calls go through the gRPC API with a 20 s deadline each.",
      "Operations are issued open-loop at the given rate from a random hub that is up; the killed hub gets no new calls while it is down, its calls in flight at the kill are 'interrupted' (not errors) and their writes may or may not have happened — the checks accept either.",
      "A write is acknowledged when its call returned OK. After the run every owner must hold exactly what the acknowledged writes left (ListTrainers, compared field by field: name, languages, regions, blackouts); every other member must list the owner's trainers with the same names (FindAvailableTrainers for that hub in October 2027, which no blackout or booking touches); each live trainer's history at its owner must have an entry for every acknowledged add and update; every acknowledged booking request must be in its requester's outbox, answered (policy confirm) with the same state at both ends.",
      "Convergence: all of the above, plus every member's newest verified checkpoint of each owner with the same signed time (GetStatus; compared by time because verified_seq names any one view of the newest batch) and every member's copy of each owner's roster, outbox, engagements and directory documents at the owner's heads (ListPeers with documents). Time is from the end of the operations (last call back, killed hub restarted) to the first check that passes.",
      memory.explanation,
      memory.overTime.explanation,
    ],
  };
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(
    `${printable(result.figures, { ...plan, cores: environment.cores }, failures, victim.hub)}\nresults in ${out}\n`,
  );
  return failures.length === 0 ? 0 : 1;
}

interface Converged {
  problems: Problems;
  rounds: number;
  bookingStates: string[];
}

/** Snapshots and checks until nothing is wrong or `timeoutMs` passed (the last problems are returned). */
async function converge(cluster: Cluster, workload: Workload, timeoutMs: number): Promise<Converged> {
  const deadline = performance.now() + timeoutMs;
  let rounds = 0;
  let lastLog = performance.now();
  for (;;) {
    rounds += 1;
    const snap = await snapshot(cluster);
    const problems = check(cluster, workload, snap);
    const bookingStates = [...snap.bookings.values()]
      .flat()
      .filter((b) => b.direction !== "outgoing")
      .map((b) => (b.state === "declined" ? `declined:${b.answer?.reason ?? ""}` : b.state));
    if (problemCount(problems) === 0 || performance.now() > deadline) return { problems, rounds, bookingStates };
    if (performance.now() - lastLog > 15_000) {
      lastLog = performance.now();
      log(`  not converged yet: ${problemCount(problems)} difference(s), e.g. ${flatProblems(problems)[0] ?? ""}`);
    }
    await sleep(1_000);
  }
}

function flatProblems(p: Problems): string[] {
  return [
    ...p.lost.map((x) => `lost: ${x}`),
    ...p.phantom.map((x) => `phantom: ${x}`),
    ...p.doubleBookings.map((x) => `double booking: ${x}`),
    ...p.inconsistent.map((x) => `inconsistent: ${x}`),
    ...p.lagging.map((x) => `lagging: ${x}`),
    ...p.readErrors.map((x) => `read error: ${x}`),
  ];
}

function listProblems(p: Problems, max: number): string {
  const all = flatProblems(p);
  return (
    all
      .slice(0, max)
      .map((x) => `    ${x}`)
      .join("\n") + (all.length > max ? `\n    … and ${all.length - max} more` : "")
  );
}

/** The hubs' memory at one moment, summed over the hubs sampled then (the killed hub is missing while down), and each. */
interface TimelinePoint {
  /** Seconds since the operations began (0: the start sample; the last: after the final convergence). */
  atS: number;
  hubs: number;
  rss: number;
  heapUsedAfterGc: number;
  externalAfterGc: number;
  documentBytes: number;
  perHub: Record<
    string,
    { rss?: number; heapUsedAfterGc?: number; documentBytes?: number; replica?: MemorySample["replica"] }
  >;
}

function timelinePoint(
  atS: number,
  hubs: readonly Member[],
  samples: ReadonlyMap<string, MemorySample>,
): TimelinePoint {
  const point: TimelinePoint = {
    atS: round(atS, 1),
    hubs: 0,
    rss: 0,
    heapUsedAfterGc: 0,
    externalAfterGc: 0,
    documentBytes: 0,
    perHub: {},
  };
  for (const m of hubs) {
    const s = samples.get(m.hub);
    if (!s) continue;
    point.perHub[m.hub] = {
      ...(s.rss !== undefined ? { rss: s.rss } : {}),
      ...(s.heapUsedAfterGc !== undefined ? { heapUsedAfterGc: s.heapUsedAfterGc } : {}),
      ...(s.documentBytes !== undefined ? { documentBytes: s.documentBytes } : {}),
      ...(s.replica ? { replica: s.replica } : {}),
    };
    if (s.rss === undefined || s.heapUsedAfterGc === undefined) continue;
    point.hubs += 1;
    point.rss += s.rss;
    point.heapUsedAfterGc += s.heapUsedAfterGc;
    point.externalAfterGc += s.externalAfterGc ?? 0;
    point.documentBytes += s.documentBytes ?? 0;
  }
  return point;
}

/**
 * Memory over time, over the hubs never killed: each sample's sums, and the growth from the first
 * to the last sample beside the growth of the documents' own stored bytes.
 */
function overTime(timeline: readonly TimelinePoint[], victim: string) {
  const survivors = (p: TimelinePoint) => {
    const sum = (f: (h: TimelinePoint["perHub"][string]) => number | undefined) =>
      Object.entries(p.perHub)
        .filter(([hub]) => hub !== victim)
        .reduce((n, [, h]) => n + (f(h) ?? 0), 0);
    return {
      atS: p.atS,
      rss: sum((h) => h.rss),
      heapUsedAfterGc: sum((h) => h.heapUsedAfterGc),
      documentBytes: sum((h) => h.documentBytes),
      // The replica workers: their heaps and external memory (Automerge's WebAssembly), the
      // documents they hold loaded, and how often they unloaded one and loaded it again soon after.
      // Hubs whose metrics answered at that scrape (a loaded hub may not within 10 s): the sums
      // below are over these, so a missing scrape shows as fewer hubs, not as a drop.
      replicaHubs: sum((h) => (h.replica?.unloads !== undefined ? 1 : 0)),
      replicaHeap: sum((h) => h.replica?.heapBytes),
      replicaExternal: sum((h) => h.replica?.externalBytes),
      loaded: sum((h) => h.replica?.loaded),
      unloads: sum((h) => h.replica?.unloads),
      reloadsSoon: sum((h) => h.replica?.reloadsSoon),
    };
  };
  const series = timeline.map(survivors);
  const first = series[0];
  const last = series.at(-1);
  const growth =
    first && last
      ? {
          rss: last.rss - first.rss,
          heapUsedAfterGc: last.heapUsedAfterGc - first.heapUsedAfterGc,
          documentBytes: last.documentBytes - first.documentBytes,
        }
      : undefined;
  return {
    samples: timeline,
    survivors: series,
    growth,
    heapGrewNoMoreThanDocuments: growth ? growth.heapUsedAfterGc <= Math.max(0, growth.documentBytes) : undefined,
    explanation:
      "Memory over time: at the start, every --memory-every seconds during the operations and at the end, every hub is sampled as above (forced GC in its main thread, then VmRSS and the metrics). `samples` sums the hubs sampled at that moment (the killed hub is missing while it is down); `survivors` sums only the hubs never killed, so that the series compares like with like; `growth` is its last minus its first sample. The survivors' replica figures come from each node's concordat_replica_* metrics at the same scrape: the workers' heaps and external memory (no GC forced there), the documents loaded, and the unloads and loads again soon after so far. The forced GCs pause each hub for some milliseconds once a minute.",
  };
}

function countStates(states: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of states) out[s] = (out[s] ?? 0) + 1;
  return out;
}

function memoryFigures(
  hubs: Member[],
  start: Map<string, MemorySample>,
  end: Map<string, MemorySample>,
  victim: string,
  overS: number,
) {
  const perHub = hubs.map((m) => {
    const a = start.get(m.hub) as MemorySample;
    const b = end.get(m.hub) as MemorySample;
    const delta = (x: number | undefined, y: number | undefined) =>
      x === undefined || y === undefined ? undefined : y - x;
    return {
      hub: m.hub,
      restarted: m.hub === victim,
      start: a,
      end: b,
      heapAfterGcGrowth: delta(a.heapUsedAfterGc, b.heapUsedAfterGc),
      externalAfterGcGrowth: delta(a.externalAfterGc, b.externalAfterGc),
      rssGrowth: delta(a.rss, b.rss),
      documentBytesGrowth: delta(a.documentBytes, b.documentBytes),
      dataDirGrowth: b.dataDirBytes - a.dataDirBytes,
      dbGrowth: b.dbBytes - a.dbBytes,
      cpuSecondsUsed: delta(a.cpuSeconds, b.cpuSeconds),
    };
  });
  const survivors = perHub.filter((h) => !h.restarted);
  const sum = (f: (h: (typeof perHub)[number]) => number | undefined) => {
    const values = survivors.map(f);
    return values.length === 0 || values.some((v) => v === undefined)
      ? undefined
      : values.reduce<number>((s, v) => s + (v as number), 0);
  };
  const heapGrowth = sum((h) => h.heapAfterGcGrowth);
  const documentGrowth = sum((h) => h.documentBytesGrowth);
  const dataDirGrowth = sum((h) => h.dataDirGrowth) ?? 0;
  // "Stored document bytes": the node's own count when its metrics answered, else the data dirs' size.
  const stored =
    documentGrowth !== undefined
      ? { measure: "concordat_document_bytes (node metrics)", growth: documentGrowth }
      : { measure: "data dir size", growth: dataDirGrowth };
  const storedOf = (h: (typeof perHub)[number]) =>
    documentGrowth !== undefined ? (h.documentBytesGrowth ?? 0) : h.dataDirGrowth;
  const perHubMet = survivors.filter(
    (h) => h.heapAfterGcGrowth !== undefined && h.heapAfterGcGrowth <= Math.max(0, storedOf(h)),
  ).length;
  const perMinute = (bytes: number | undefined) => (bytes === undefined ? undefined : Math.round((bytes / overS) * 60));
  return {
    survivors: survivors.length,
    sampledOverS: round(overS, 1),
    storedMeasure: stored.measure,
    heapAfterGcGrowthTotal: heapGrowth,
    storedGrowthTotal: stored.growth,
    heapAfterGcGrowthPerMinute: perMinute(heapGrowth),
    storedGrowthPerMinute: perMinute(stored.growth),
    heapToStoredGrowthRatio:
      heapGrowth === undefined || stored.growth <= 0 ? undefined : round(heapGrowth / stored.growth, 3),
    heapGrowsNoFasterThanStored: heapGrowth === undefined ? undefined : heapGrowth <= Math.max(0, stored.growth),
    hubsWhereHeapGrewNoFasterThanStored: perHubMet,
    documentBytesGrowthTotal: documentGrowth,
    dataDirGrowthTotal: dataDirGrowth,
    dbGrowthTotal: sum((h) => h.dbGrowth),
    externalAfterGcGrowthTotal: sum((h) => h.externalAfterGcGrowth),
    rssGrowthTotal: sum((h) => h.rssGrowth),
    cpuSecondsUsedTotal: sum((h) => h.cpuSecondsUsed),
    perHub,
    explanation:
      "Memory: for each hub, at the start (after setup and the first convergence, before any operation) and at the end (after the final convergence and the history reads), one hub after another, the soak sends SIGUSR2 to the node process, which runs with --expose-gc and the soak's probe (bench/soak/gc-probe.ts, loaded with --import: the API has no memory figures and its GetStatus none either, and nothing else forces a GC from outside): the probe runs gc() twice (full, synchronous) and reports process.memoryUsage(); 'heap after GC' is its heapUsed (V8's JS heap in use), 'external' its external (C++ memory tied to JS objects: Buffers, ArrayBuffers and WebAssembly memories — so Automerge's WASM heap, which only ever grows — is counted here, not in heapUsed). Right after, RSS is read from /proc/PID/status (VmRSS), CPU time from /proc/PID/stat, and the node's Prometheus endpoint (metrics.port, on 127.0.0.1) is scraped: 'stored document bytes' is the sum of concordat_document_bytes (bytes in storage of every document the hub holds, its own and the other members' it replicates). The data dir's size (every file under it, LevelDB's db/ included, by readdir+stat) is given too. Growth = end − start; per minute = growth / the time between the two samples. Totals and the ratio are over the hubs that were not restarted (the killed hub's end sample is of a fresh process: listed, not compared). 'Heap grows no faster than stored bytes' means heap-after-GC growth ≤ stored-document-bytes growth over the same interval; it is reported, not a failure of the run. The metrics endpoint is on for the soak (its registry and the storage adapter's size bookkeeping are part of the heap measured); heartbeats are set to once an hour so that nothing moves once the operations end.",
  };
}

function printable(
  f: {
    setupS: number;
    operations: {
      issued: number;
      achievedRatePerS: number;
      backpressureSkips: number;
      byKind: Record<
        string,
        {
          issued: number;
          ok: number;
          refused: Record<string, number | undefined>;
          interrupted: number;
          errors: number;
          skippedNoCandidate: number;
          latencyMs: { p50: number; p99: number; max: number };
        }
      >;
    };
    errors: {
      count: number;
      deadlineExceeded: number;
      list: Array<{ kind: string; hub: string; subject: string; error: string }>;
      crashes: Array<{ hub: string }>;
    };
    acknowledged: Record<string, number>;
    checked: Record<string, number>;
    lostWrites: { count: number; list: string[] };
    doubleBookings: { count: number; list: string[] };
    bookingsAtEnd: Record<string, number>;
    convergence: { converged: boolean; afterOpsEndS: number; checks: number };
    restart: {
      hub: string;
      killedAtS?: number;
      exitMs?: number;
      nodeStartedMs?: number;
      firstAnswerMs?: number;
      downMs?: number;
      inFlightAtKill?: number;
      inFlightAtVictim?: number;
      error?: string;
    };
    perHub: Array<{
      hub: string;
      queries: { calls: number; p50Ms: number; p99Ms: number };
      otherCalls: { calls: number; p50Ms: number; p99Ms: number };
      errors: number;
      queriesInsideNode: { answered: number; meanMs: number; over2500ms: number } | undefined;
    }>;
    memory: ReturnType<typeof memoryFigures> & { overTime: ReturnType<typeof overTime> };
    nodeLogWarnings: Array<{ hub: string; level: number; msg: string; count: number }>;
    unknownTrainerRefusals: { count: number; maxAgeS: number | undefined };
    loadAverageDuringOps: { min?: number | undefined; mean?: number | undefined; max?: number | undefined };
  },
  plan: { durationS: number; rate: number; hubs: number; deadlineS: number; cores: number },
  failures: string[],
  victim: string,
): string {
  const lines: string[] = [];
  lines.push("", `Soak: ${plan.hubs} hubs, ${plan.durationS} s at ${plan.rate} ops/s (setup ${f.setupS} s)`);
  lines.push(
    `operations: ${f.operations.issued} issued (${f.operations.achievedRatePerS}/s achieved, ${f.operations.backpressureSkips} skipped for backpressure); machine load (1 min) during them ${f.loadAverageDuringOps.min ?? "?"}–${f.loadAverageDuringOps.max ?? "?"}, mean ${f.loadAverageDuringOps.mean ?? "?"} on ${plan.cores} cores`,
  );
  for (const [kind, s] of Object.entries(f.operations.byKind)) {
    const refused = Object.entries(s.refused)
      .map(([r, n]) => `${n} ${r}`)
      .join(", ");
    lines.push(
      `  ${kind.padEnd(16)} ${String(s.issued).padStart(5)} issued, ${String(s.ok).padStart(5)} ok, ${s.errors} errors, ${s.interrupted} interrupted by the kill${refused ? `, refused as expected: ${refused}` : ""}; p50 ${s.latencyMs.p50} ms, p99 ${s.latencyMs.p99} ms`,
    );
  }
  if (f.unknownTrainerRefusals.count > 0)
    lines.push(
      `booking requests refused as 'trainer not known here' for a trainer added (and not removed) at its home hub: ${f.unknownTrainerRefusals.count}, up to ${f.unknownTrainerRefusals.maxAgeS} s after the add was acknowledged`,
    );
  lines.push(
    `errors: ${f.errors.count} (${f.errors.deadlineExceeded} past the ${plan.deadlineS} s deadline)${f.errors.crashes.length > 0 ? ` (of which ${f.errors.crashes.length} crashed process(es): ${f.errors.crashes.map((c) => c.hub).join(", ")})` : ""}`,
  );
  for (const e of f.errors.list.slice(0, 5))
    lines.push(`  ${e.kind} at ${e.hub} (${e.subject.slice(0, 60)}): ${e.error.slice(0, 200)}`);
  lines.push("latency per hub (client side, p50/p99 ms; queries also as timed inside the node):");
  for (const h of f.perHub) {
    lines.push(
      `  ${h.hub}: queries ${h.queries.p50Ms}/${h.queries.p99Ms}, other calls ${h.otherCalls.p50Ms}/${h.otherCalls.p99Ms}, ${h.errors} errors${h.queriesInsideNode ? `; inside the node: mean ${h.queriesInsideNode.meanMs} ms, ${h.queriesInsideNode.over2500ms} of ${h.queriesInsideNode.answered} over 2.5 s` : ""}`,
    );
  }
  lines.push(
    `acknowledged writes: ${Object.entries(f.acknowledged)
      .map(([k, n]) => `${n} ${k}`)
      .join(", ")}`,
  );
  lines.push(
    `checked: ${Object.entries(f.checked)
      .map(([k, n]) => `${k} ${n}`)
      .join(", ")}`,
  );
  lines.push(`lost acknowledged writes: ${f.lostWrites.count}`);
  for (const x of f.lostWrites.list.slice(0, 5)) lines.push(`  ${x}`);
  lines.push(
    `double bookings: ${f.doubleBookings.count}; bookings at the home hubs at the end: ${Object.entries(f.bookingsAtEnd)
      .map(([k, n]) => `${n} ${k}`)
      .join(", ")}`,
  );
  lines.push(
    `convergence: ${f.convergence.converged ? `${f.convergence.afterOpsEndS} s after the operations ended` : `NOT converged within the timeout`} (${f.convergence.checks} checks)`,
  );
  const r = f.restart;
  lines.push(
    `restart of ${victim}: SIGKILL at ${r.killedAtS ?? "?"} s with ${r.inFlightAtVictim ?? "?"} of its calls in flight (${r.inFlightAtKill ?? "?"} in all), exited after ${r.exitMs ?? "?"} ms; "node started" ${r.nodeStartedMs ?? "?"} ms after spawn, API answering ${r.firstAnswerMs ?? "?"} ms after spawn; down ${r.downMs === undefined ? "?" : round(r.downMs / 1000, 1)} s in all${r.error ? `; FAILED: ${r.error}` : ""}`,
  );
  const m = f.memory;
  lines.push(
    `memory (${m.survivors} hubs not restarted, totals over the ${m.sampledOverS} s between the samples, end − start): heap after GC ${signedMb(m.heapAfterGcGrowthTotal)} (${signedMb(m.heapAfterGcGrowthPerMinute)}/min); stored document bytes (${m.storedMeasure}) ${signedMb(m.storedGrowthTotal)} (${signedMb(m.storedGrowthPerMinute)}/min)`,
  );
  lines.push(
    `  heap/stored growth ratio ${m.heapToStoredGrowthRatio ?? "n/a"}: heap ${m.heapGrowsNoFasterThanStored === undefined ? "not measured" : m.heapGrowsNoFasterThanStored ? "grew no faster than stored document bytes" : "grew FASTER than stored document bytes"} (per hub: ${m.hubsWhereHeapGrewNoFasterThanStored} of ${m.survivors}); also: external after GC ${signedMb(m.externalAfterGcGrowthTotal)}, RSS ${signedMb(m.rssGrowthTotal)}, data dirs ${signedMb(m.dataDirGrowthTotal)}; node CPU time ${m.cpuSecondsUsedTotal === undefined ? "n/a" : `${round(m.cpuSecondsUsedTotal)} s`}`,
  );
  for (const h of m.perHub) {
    lines.push(
      `  ${h.hub}${h.restarted ? " (restarted)" : ""}: heap after GC ${mb(h.start.heapUsedAfterGc)} → ${mb(h.end.heapUsedAfterGc)}, document bytes ${mb(h.start.documentBytes)} → ${mb(h.end.documentBytes)}, data dir ${mb(h.start.dataDirBytes)} → ${mb(h.end.dataDirBytes)}, RSS ${mb(h.start.rss)} → ${mb(h.end.rss)}`,
    );
  }
  const t = m.overTime;
  lines.push(
    `memory over time (${m.survivors} hubs never killed, sums): ${t.survivors.map((p) => `${round(p.atS)} s RSS ${mb(p.rss)} heap ${mb(p.heapUsedAfterGc)} documents ${mb(p.documentBytes)} workers ${mb(p.replicaHeap)} + ${mb(p.replicaExternal)} (${p.replicaHubs} hubs' metrics: ${p.loaded} loaded, ${p.unloads} unloads, ${p.reloadsSoon} loaded again soon)`).join("; ")}`,
  );
  if (t.growth)
    lines.push(
      `  first to last sample: RSS ${signedMb(t.growth.rss)}, heap after GC ${signedMb(t.growth.heapUsedAfterGc)}, stored document bytes ${signedMb(t.growth.documentBytes)}: heap ${t.heapGrewNoMoreThanDocuments ? "grew no more than the documents' own bytes" : "grew MORE than the documents' own bytes"}`,
    );
  const errorLines = f.nodeLogWarnings.filter((w) => w.level >= 50);
  lines.push(
    `node log lines at warn or above: ${f.nodeLogWarnings.reduce((n, w) => n + w.count, 0)} (${errorLines.reduce((n, w) => n + w.count, 0)} at error or fatal)`,
  );
  for (const w of f.nodeLogWarnings.slice(0, 6))
    lines.push(`  ${w.hub} level ${w.level} ×${w.count}: ${w.msg.slice(0, 160)}`);
  lines.push(failures.length === 0 ? "PASS" : `FAIL: ${failures.join("; ")}`);
  return lines.join("\n");
}

const cleanup = new Cleanup();
let exiting = false;
const finish = (code: number) => {
  if (exiting) return;
  exiting = true;
  void cleanup.run(log).finally(() => process.exit(code));
};
process.on("SIGINT", () => {
  log("\nSIGINT: stopping the nodes and removing the temp dirs…");
  finish(130);
});
process.on("SIGTERM", () => finish(143));
process.on("unhandledRejection", (reason: unknown) =>
  log(`  (unhandled rejection: ${reason instanceof Error ? reason.message : String(reason)})`),
);
main(cleanup).then(finish, (error: unknown) => {
  // After Ctrl-C the run fails on the stopped nodes: that is no news.
  if (!exiting) log(`✖ ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  finish(1);
});
