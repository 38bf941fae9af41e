/**
 * Replication through the whole node stack, with real node processes: changes made through a hub's
 * gRPC API, written to its LevelDB, synced over libp2p along a line of hubs (each linked only to its
 * neighbours, so the hubs in between relay), signed by the owner in checkpoints and verified by every
 * other hub into its verified views.
 *
 * 1. Latency, line of 5: one-field changes (a trainer's display name) at hub 1, one at a time; each
 *    timed from the API call until hub 5 (4 hops away) applied a verified checkpoint covering it.
 * 2. Throughput, line of 3 (the same line, hubs 4 and 5 stopped): hub 1 makes N roster changes
 *    through its API (several calls in flight); timed from the first call until hub 3's verified
 *    views of hub 1's roster cover all of them. Also: CPU per change in each process, and the same
 *    N trainers in one ImportTrainers call for comparison.
 * 3. (full) Where the time goes: one more throughput run on a new line of 3 under --cpu-prof.
 */
import { join } from "node:path";
import { summarizeProfileWindow, type WindowSummary } from "../lib/federation-profile.js";
import {
  cpuSeconds,
  lineDials,
  PROBE,
  ProcessFederation,
  ROSTER_SHARDS,
  rosterDocumentOf,
  rosterDocuments,
  trainerMessage,
  type Hub,
} from "../lib/federation-nodes.js";
import { findRequest, importMessages, type NodeClient } from "../lib/api.js";
import { liveNodes } from "../lib/nodes.js";
import { allowance, waitUntil } from "../lib/wait.js";
import { round, summarize } from "../lib/stats.js";
import { figure, type Benchmark, type BenchmarkContext, type BenchmarkOutcome, type Figure } from "../lib/types.js";

/** The checkpoint batch window: `federation.checkpointBatchMs`, left at its default in every hub's config. */
const BATCH_MS = 50;
const THROUGHPUT_TARGET = 5_000;
const LATENCY_TARGET_MS = 250;

interface Plan {
  /** Roster changes per throughput run. */
  changes: number;
  /** Throughput runs: the first adds N trainers, the others change one field of each. */
  runs: number;
  /** API calls in flight at once. */
  inFlight: number;
  /** One-field changes timed 4 hops away. */
  latencyChanges: number;
  /** Trainers each hub holds before anything is timed. */
  perHub: number;
  /** Profile the hubs in one more throughput run (a fresh line of 3 under --cpu-prof), of this many changes. */
  profile: boolean;
  profileChanges: number;
}

const FULL: Plan = {
  changes: 5_000,
  runs: 2,
  inFlight: 16,
  latencyChanges: 100,
  perHub: 200,
  profile: true,
  profileChanges: 1_000,
};
const QUICK: Plan = {
  changes: 300,
  runs: 1,
  inFlight: 16,
  latencyChanges: 20,
  perHub: 100,
  profile: false,
  profileChanges: 0,
};

/** Regions the update runs move hub 1's new trainers to, one per run (a one-field change each). */
const REGIONS = ["UG", "TZ", "RW", "ET"];

interface ThroughputRun {
  kind: "add" | "update" | "import";
  changes: number;
  /** From the first call to the last answer of hub 1's API. */
  apiMs: number;
  /** From the first call until hub 3's views covered every change. */
  totalMs: number;
  /** From the first call until hub 2's views covered every change (the first hop). */
  hop1Ms: number;
  /** From the last API answer until hub 3's views covered everything. */
  lagMs: number;
  changesPerSecond: number;
  apiChangesPerSecond: number;
  /** CPU time (user + system) each hub's process used during the run, per change (hubs 1, 2, 3). */
  cpuMsPerChange: number[];
  /** Checkpoint batches hub 1 signed during the run, and the documents in them. */
  batches: number;
  signedDocuments: number;
  /** Verified views hub 3 applied for hub 1's roster during the run. */
  viewsApplied: number;
  callP50Ms: number;
  callP99Ms: number;
}

/** Runs `count` calls of `call`, `inFlight` at a time; the time each took. */
async function pump(count: number, inFlight: number, call: (i: number) => Promise<unknown>): Promise<number[]> {
  const durations: number[] = new Array<number>(count);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < count; i = next++) {
      const start = performance.now();
      await call(i);
      durations[i] = performance.now() - start;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return durations;
}

/** The latest time, over `documents`, at which `reader` applied a view of them signed after `sinceMs`. */
function coveredAt(reader: Hub, documents: readonly string[], sinceMs: number): number | undefined {
  const log = reader.log?.refresh();
  let latest = 0;
  for (const document of documents) {
    const applied = log?.applied.get(document)?.filter((a) => a.seq > sinceMs * 1000);
    const last = applied?.at(-1);
    if (!last) return undefined;
    latest = Math.max(latest, last.time);
  }
  return latest;
}

interface RunSpec {
  kind: "add" | "update" | "import";
  changes: number;
  inFlight: number;
  /** Trainers of hub 1 that hub 3 counts before the run (adds and imports add to them). */
  before: number;
  /** Region the changed trainers end up in (an update run moves them to it). */
  region: string;
  /** Trainer ids: `${hub}-${prefix}${i}`. */
  prefix: string;
}

async function throughputRun(
  fed: ProcessFederation,
  spec: RunSpec,
  label: string,
  log: (m: string) => void,
): Promise<ThroughputRun> {
  const [h1, h2, h3] = fed.hubs as [Hub, Hub, Hub];
  const api = h1.api as NodeClient;
  const id = (i: number) => `${h1.hubId}-${spec.prefix}${i}`;
  const signedBefore = h1.log?.refresh().signed.length ?? 0;
  const cpuBefore = await Promise.all([h1, h2, h3].map((h) => cpuSeconds(h.proc?.child.pid)));
  const start = Date.now();
  let durations: number[];
  if (spec.kind === "import") {
    const rows = Array.from({ length: spec.changes }, (_, i) =>
      trainerMessage(id(i), `Imported trainer ${i}`, spec.region),
    );
    const began = performance.now();
    const outcome = await api.trainers.importTrainers(importMessages(rows, 500), { deadlineMs: 120_000 });
    if (!outcome.committed || outcome.imported !== spec.changes)
      throw new Error(`hub 1 imported ${outcome.imported} of ${spec.changes}`);
    durations = [performance.now() - began];
  } else {
    durations = await pump(spec.changes, spec.inFlight, (i) =>
      spec.kind === "add"
        ? api.trainers.addTrainer({ trainer: trainerMessage(id(i), `New trainer ${i}`, spec.region) })
        : api.trainers.updateTrainer({ trainer: trainerMessage(id(i), "", spec.region), updateMask: ["regions"] }),
    );
  }
  const apiDone = Date.now();
  // Hub 3's answer (its index follows its verified views) counts every change...
  const expected = spec.kind === "update" ? spec.changes : spec.before + spec.changes;
  const region = spec.kind === "update" ? spec.region : "";
  await waitUntil(
    `hub 3 to answer for ${expected} of hub 1's trainers${region ? ` in ${region}` : ""}`,
    async (see) => {
      const count = await fed.count(h3, h1, region);
      see(count === undefined ? "no answer to FindAvailableTrainers" : `it answers for ${count}`);
      return count === expected;
    },
    allowance(120_000, 40, spec.changes),
    20,
  );
  // ...and the moment its views covered them is when it applied the last checkpoint of each shard.
  const documents = rosterDocuments(h1);
  const changed = documents.filter((d) => (h3.log?.refresh().applied.get(d) ?? []).some((a) => a.seq > start * 1000));
  const at3 = coveredAt(h3, changed, start);
  const at2 = coveredAt(h2, changed, start);
  if (at3 === undefined || at2 === undefined)
    throw new Error("hub 3 answers for every change but no verified view of hub 1's roster was applied during the run");
  // Hub 3 has them all: whatever the hubs still do (e.g. saving sync states) is not counted.
  const cpuAfter = await Promise.all([h1, h2, h3].map((h) => cpuSeconds(h.proc?.child.pid)));
  const calls = summarize(durations);
  const signed = (h1.log?.refresh().signed ?? []).slice(signedBefore);
  const result: ThroughputRun = {
    kind: spec.kind,
    changes: spec.changes,
    apiMs: apiDone - start,
    totalMs: at3 - start,
    hop1Ms: at2 - start,
    lagMs: at3 - apiDone,
    changesPerSecond: (spec.changes / Math.max(1, at3 - start)) * 1000,
    apiChangesPerSecond: (spec.changes / Math.max(1, apiDone - start)) * 1000,
    cpuMsPerChange: cpuAfter.map((c, i) => ((c - (cpuBefore[i] as number)) * 1000) / spec.changes),
    batches: signed.length,
    signedDocuments: signed.reduce((sum, s) => sum + s.documents, 0),
    viewsApplied: changed.reduce(
      (sum, d) => sum + (h3.log?.applied.get(d)?.filter((a) => a.seq > start * 1000).length ?? 0),
      0,
    ),
    callP50Ms: calls.p50,
    callP99Ms: calls.p99,
  };
  log(
    `  ${label} (${spec.kind}): ${spec.changes} changes, API ${Math.round(result.apiMs)} ms (${Math.round(result.apiChangesPerSecond)}/s), ` +
      `verified at hub 3 after ${Math.round(result.totalMs)} ms (${Math.round(result.changesPerSecond)}/s); ${result.batches} checkpoint batches; ` +
      `CPU per change ${result.cpuMsPerChange.map((c) => round(c, 2)).join(" + ")} ms (hubs 1, 2, 3)`,
  );
  return result;
}

interface LatencySample {
  trainer: string;
  apiMs: number;
  /** Hub 1 logged a signed checkpoint (the first after the call). */
  signedMs: number | undefined;
  /** Hub k (2..5) applied the verified view, ms after the call. */
  hops: number[];
}

async function latencyRun(fed: ProcessFederation, plan: Plan): Promise<LatencySample[]> {
  const hubs = fed.hubs;
  const h1 = hubs[0] as Hub;
  const api = h1.api as NodeClient;
  const samples: LatencySample[] = [];
  for (let i = 0; i < plan.latencyChanges; i += 1) {
    // A different trainer each time (every shard in turn), the same one-field change.
    const trainer = `${h1.hubId}-t${(i * 37) % plan.perHub}`;
    const document = rosterDocumentOf(h1, trainer);
    const start = Date.now();
    await api.trainers.updateTrainer({
      trainer: trainerMessage(trainer, `Renamed ${i}`),
      updateMask: ["display_name"],
    });
    const apiMs = Date.now() - start;
    // A checkpoint of that shard signed after the call began follows this change (no other writes,
    // no heartbeats), so it covers it.
    const reached = await waitUntil(
      `hub 5 to verify change ${i + 1}`,
      (see) => {
        const at = hubs.slice(1).map((h) => h.log?.refresh().firstAbove(document, start * 1000)?.time);
        see(`it reached hub ${at.indexOf(undefined) + 1} of ${hubs.length}`);
        return at.every((t) => t !== undefined) ? (at as number[]) : undefined;
      },
      // A few seconds per hop.
      allowance(10_000, 5_000, hubs.length - 1),
      2,
    );
    const signed = h1.log?.refresh().signed.find((s) => s.time >= start);
    samples.push({
      trainer,
      apiMs,
      signedMs: signed ? signed.time - start : undefined,
      hops: reached.map((t) => t - start),
    });
  }
  // The views say what they say: hub 5 answers with the last name of each renamed trainer.
  const last = new Map<string, string>();
  for (const [i, s] of samples.entries()) last.set(s.trainer, `Renamed ${i}`);
  const h5 = hubs.at(-1) as Hub;
  const answer = await (h5.api as NodeClient).availability.findAvailableTrainers(
    findRequest({ ...PROBE, hub: h1.hubId, pageSize: 500 }),
    {
      deadlineMs: 10_000,
    },
  );
  for (const [trainer, name] of last) {
    const shown = answer.trainers.find((t) => t.trainerId === trainer)?.displayName;
    if (shown !== name) throw new Error(`hub 5 shows ${trainer} as '${shown}', expected '${name}'`);
  }
  return samples;
}

export const replicationNodes: Benchmark = {
  name: "replication.nodes",
  title: "Replication through the node stack: changes signed, relayed and verified along a line of hubs",
  async run(context: BenchmarkContext): Promise<BenchmarkOutcome> {
    const plan = { ...(context.quick ? QUICK : FULL) };
    // CONCORDAT_BENCH_PROFILE=1 profiles a quick run too.
    if (context.quick && process.env.CONCORDAT_BENCH_PROFILE === "1") {
      Object.assign(plan, { profile: true, profileChanges: plan.changes });
    }
    const { cleanup, log } = context;
    const live = liveNodes(cleanup);
    const work = await context.tempDir("concordat-bench-nodes-");

    // 1. Latency along a line of 5.
    const setup5Start = performance.now();
    const line = await ProcessFederation.create({
      work: join(work, "line"),
      hubs: 5,
      dials: lineDials(5),
      prefix: "line",
      perHub: plan.perHub,
      live,
      log,
    });
    cleanup.add("stop the line", () => line.stop());
    await line.waitForTotals(line.hubs, 5 * plan.perHub, allowance(60_000, 50, 5 * plan.perHub));
    await line.settle(60_000);
    const setup5Ms = performance.now() - setup5Start;
    log(`  line of 5 ready: ${plan.perHub} trainers per hub, verified everywhere (${round(setup5Ms / 1000, 1)} s)`);
    const samples = await latencyRun(line, plan);
    const latency = summarize(samples.map((s) => s.hops.at(-1) as number));
    const signedAfter = summarize(samples.map((s) => s.signedMs).filter((x): x is number => x !== undefined));
    const perHop = [0, 1, 2, 3].map((k) =>
      summarize(samples.map((s) => (s.hops[k] as number) - (k === 0 ? (s.signedMs ?? 0) : (s.hops[k - 1] as number)))),
    );
    log(
      `  line of 5: ${samples.length} one-field changes, hub 5 verified them after p50 ${round(latency.p50, 0)} ms, p99 ${round(latency.p99, 0)} ms (signed after p50 ${round(signedAfter.p50, 0)} ms)`,
    );

    // 2. Throughput along a line of 3: the same line, hubs 4 and 5 stopped (hub 4 dialled hub 3, so
    // nothing dials them again).
    await line.stopHubs(line.hubs.slice(3));
    await line.settle(60_000);
    const runs: ThroughputRun[] = [];
    for (let r = 0; r < plan.runs; r += 1) {
      // Run 1 adds the trainers, each later run moves all of them to another region.
      const spec: RunSpec = {
        kind: r === 0 ? "add" : "update",
        changes: plan.changes,
        inFlight: plan.inFlight,
        before: plan.perHub,
        region: r === 0 ? "KE" : (REGIONS[(r - 1) % REGIONS.length] as string),
        prefix: "n",
      };
      runs.push(await throughputRun(line, spec, `line of 3, run ${r + 1}`, log));
      await line.settle(60_000);
    }
    // For comparison, the same number of trainers in one ImportTrainers call (one transaction).
    const imported = await throughputRun(
      line,
      {
        kind: "import",
        changes: plan.changes,
        inFlight: 1,
        before: plan.perHub + plan.changes,
        region: "KE",
        prefix: "i",
      },
      "line of 3, one import",
      log,
    );
    await line.stop();

    // Where the time goes: one more throughput run with every hub under the CPU profiler.
    let profiles: Array<{ hub: string; summary: WindowSummary }> | undefined;
    let profiledRun: ThroughputRun | undefined;
    if (plan.profile) {
      const dir = await context.tempDir("concordat-bench-nodes-profile-");
      const profiled = await ProcessFederation.create({
        work: join(work, "profiled"),
        hubs: 3,
        dials: lineDials(3),
        prefix: "prof",
        perHub: plan.perHub,
        live,
        log,
        execArgv: (i) => ["--cpu-prof", "--cpu-prof-dir", join(dir, `hub-${i + 1}`)],
      });
      cleanup.add("stop the profiled line", () => profiled.stop(120_000));
      await profiled.waitForTotals(profiled.hubs, 3 * plan.perHub, allowance(60_000, 50, 3 * plan.perHub));
      // The profiler samples each thread (the node's and its replica worker's) even when idle.
      await profiled.settle(60_000, 500, 0.15);
      const from = Date.now();
      profiledRun = await throughputRun(
        profiled,
        {
          kind: "add",
          changes: plan.profileChanges,
          inFlight: plan.inFlight,
          before: plan.perHub,
          region: "KE",
          prefix: "n",
        },
        "profiled line of 3",
        log,
      );
      const to = Date.now();
      const spawned = profiled.hubs.map((h) => h.spawnedAt ?? from);
      // The profiles are written when the processes exit normally.
      await profiled.stop(120_000);
      profiles = [];
      for (const i of profiled.hubs.keys()) {
        const summary = await summarizeProfileWindow(
          join(dir, `hub-${i + 1}`),
          from - (spawned[i] as number),
          to - (spawned[i] as number),
        );
        if (summary) profiles.push({ hub: `hub ${i + 1}`, summary });
      }
    }

    const median = (xs: number[]) => summarize(xs).p50;
    const conditions3 = {
      hubs: 3,
      topology: "line",
      trainersPerHub: plan.perHub,
      changes: plan.changes,
      inFlight: plan.inFlight,
      runs: runs.length,
    };
    const conditions5 = {
      hubs: 5,
      topology: "line",
      hops: 4,
      trainersPerHub: plan.perHub,
      changes: samples.length,
      runs: 1,
    };
    const figures: Figure[] = [
      figure({
        name: "replicated changes per second, API at hub 1 to verified at hub 3 (line of 3), median of runs",
        unit: "changes/s",
        ours: median(runs.map((r) => r.changesPerSecond)),
        targets: [{ on: "ours", op: ">=", value: THROUGHPUT_TARGET }],
        conditions: conditions3,
      }),
      figure({
        name: "replicated changes per second, worst run (line of 3)",
        unit: "changes/s",
        ours: Math.min(...runs.map((r) => r.changesPerSecond)),
        conditions: conditions3,
      }),
      figure({
        name: "changes per second hub 1's API took (line of 3), median of runs",
        unit: "changes/s",
        ours: median(runs.map((r) => r.apiChangesPerSecond)),
        conditions: conditions3,
      }),
      figure({
        name: "lag: last API answer at hub 1 to verified at hub 3 (line of 3), median of runs",
        unit: "ms",
        ours: median(runs.map((r) => r.lagMs)),
        conditions: conditions3,
      }),
      figure({
        name: "CPU per replicated change, hubs 1 + 2 + 3 together (line of 3), median of runs",
        unit: "ms",
        ours: median(runs.map((r) => r.cpuMsPerChange.reduce((a, b) => a + b, 0))),
        conditions: conditions3,
      }),
      figure({
        name: "CPU per change at hub 1 (API, transaction, LevelDB, signing), median of runs",
        unit: "ms",
        ours: median(runs.map((r) => r.cpuMsPerChange[0] as number)),
        conditions: conditions3,
      }),
      figure({
        name: "for comparison: the same number of trainers in one ImportTrainers call, per second verified at hub 3",
        unit: "changes/s",
        ours: imported.changesPerSecond,
        conditions: { ...conditions3, inFlight: 1, runs: 1, transactions: 1 },
      }),
      figure({
        name: "one-field change, API call at hub 1 to verified view at hub 5 (4 hops), p99",
        unit: "ms",
        ours: latency.p99,
        targets: [{ on: "ours", op: "<=", value: LATENCY_TARGET_MS }],
        conditions: conditions5,
      }),
      figure({
        name: "one-field change, API call at hub 1 to verified view at hub 5 (4 hops), p50",
        unit: "ms",
        ours: latency.p50,
        conditions: conditions5,
      }),
      figure({
        name: "one-field change, API call to hub 1's signed checkpoint (batch window + signing), p50",
        unit: "ms",
        ours: signedAfter.p50,
        conditions: conditions5,
      }),
      figure({
        name: "one-field change, per hop after signing (sync + verify at the next hub), p50 of 4 hops",
        unit: "ms",
        ours: median(perHop.map((h) => h.p50)),
        conditions: conditions5,
      }),
      figure({
        name: "one-field change, API call at hub 1 (UpdateTrainer), p50",
        unit: "ms",
        ours: summarize(samples.map((s) => s.apiMs)).p50,
        conditions: conditions5,
      }),
    ];
    const notes = [
      "Every hub is a separate `concordat start` process (the built CLI) on 127.0.0.1, linked over libp2p only to its neighbours in the line (hub k+1 dials hub k); hub 1 is also the secretariat. Idle heartbeats are off (federation.heartbeatSeconds 86,400), so every checkpoint follows a write.",
      `When a hub's verified view moved is read from its own debug log line "verified checkpoint applied" (pino's time, ms, same machine clock as the benchmark's); a checkpoint of a shard counts when it was signed after the change was made (its seq encodes the signing time in ms × 1000).`,
      `Throughput: hub 1 makes ${plan.changes.toLocaleString("en")} changes through its gRPC API, ${plan.inFlight} calls in flight: run 1 adds that many trainers (AddTrainer), later runs change one field (regions) of each (UpdateTrainer). The line of 3 is the line of 5 after the latency part, hubs 4 and 5 stopped. Timed from the first call until hub 3's verified views of hub 1's ${ROSTER_SHARDS} roster shards all reached a checkpoint signed after the last change; hub 3's FindAvailableTrainers must then count every change (checked). CPU per change is each process's user + system time over the run (/proc), divided by the changes: unlike the rates, it does not depend on what else the machine runs.`,
      `Checkpoints are batched, not debounced: the checkpointer signs ${BATCH_MS} ms after the first write of a batch (\`federation.checkpointBatchMs\`, at its default); writes during those ${BATCH_MS} ms join the batch, and the timer does not restart. So a single change cannot be verified anywhere before ~${BATCH_MS} ms: of the ${LATENCY_TARGET_MS} ms latency target, ${BATCH_MS} ms is the batch window.`,
      `Latency: ${samples.length} one-field changes (display_name), one at a time, each on another trainer (every shard in turn); each timed from the UpdateTrainer call at hub 1 to hub 5's log line; hub 5's FindAvailableTrainers shows every last name at the end (checked). Per hop: from hub 1's signed checkpoint to hub 2's view, then hub k to hub k+1.`,
    ];
    if (context.quick)
      notes.push(
        `Quick run: one run of ${plan.changes.toLocaleString("en")} changes (adds), ${plan.latencyChanges} latency changes, no profile (full: ${FULL.runs} runs of ${FULL.changes.toLocaleString("en")}, adds then updates, ${FULL.latencyChanges} latency changes, and a profiled run of ${FULL.profileChanges.toLocaleString("en")}).`,
      );
    if (profiles && profiledRun) {
      const top = (s: WindowSummary) =>
        s.byComponent
          .filter((c) => c.component !== "(idle)")
          .slice(0, 5)
          .map((c) => `${c.share}% ${c.component}`)
          .join(", ");
      notes.push(
        `Profiled run (one more line of 3, every hub under --cpu-prof, ${Math.round(profiledRun.changesPerSecond)} changes/s): CPU samples over the run's ${Math.round(profiledRun.totalMs)} ms, by component (innermost project frame): ` +
          profiles.map((p) => `${p.hub}: ${top(p.summary)} (busy ${p.summary.busyShare}%)`).join("; ") +
          ". details.profiles has self time by package and the top functions.",
      );
    }
    return {
      conditions: {
        transport: "libp2p on 127.0.0.1",
        processes: "one per hub",
        rosterShards: 4,
        checkpointBatchMs: BATCH_MS,
        heartbeats: "off",
        mode: context.quick ? "quick" : "full",
      },
      figures,
      details: {
        setupMs: { line5: Math.round(setup5Ms) },
        importRun: { ...imported, changesPerSecond: Math.round(imported.changesPerSecond) },
        throughputRuns: runs.map((r) => ({
          ...r,
          apiMs: Math.round(r.apiMs),
          changesPerSecond: Math.round(r.changesPerSecond),
          apiChangesPerSecond: Math.round(r.apiChangesPerSecond),
          callP50Ms: round(r.callP50Ms, 2),
          callP99Ms: round(r.callP99Ms, 2),
        })),
        latency: { toHub5: latency, signed: signedAfter, perHop },
        latencySamples: samples,
        ...(profiledRun ? { profiledRun } : {}),
        ...(profiles ? { profiles } : {}),
      },
      notes,
    };
  },
};
