/**
 * storage.sync: what `storage.sync: true` (the default) costs. The same stream of AddTrainer writes
 * goes through the node's own code (a NodeStore, OwnedDocuments with a Repo (in the replica worker) on its `repo` sublevel,
 * a Roster, as node/components.ts makes them) with the store opened `sync: true` (ours) and
 * `sync: false` (baseline), in the same run, in alternating order, on fresh directories: one write
 * at a time (each its own group, so its own fsync), and many in flight at once (group commit: one
 * fsync per group). Also one import of many trainers (one transaction, one fsync). Every batch the
 * store hands LevelDB is counted, with whether it asked for an fsync.
 */
import { openBenchHub } from "./hub.js";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { ImportRowInput } from "../../node/roster/index.js";
import type { RawTrainerDraft } from "../../node/roster/index.js";
import { makeFramework, makeHubs, profiles, toDraft } from "../availability/generate.js";
import { median, percentile, round } from "../lib/stats.js";
import { figure, type Benchmark, type BenchmarkContext, type BenchmarkOutcome, type Figure } from "../lib/types.js";

const SEED = 13;
interface Plan {
  /** AddTrainer calls one at a time. */
  serial: number;
  /** AddTrainer calls with `inFlight` outstanding. */
  concurrent: number;
  inFlight: number;
  /** Trainers in the one import. */
  imported: number;
  runs: number;
}
const FULL: Plan = { serial: 300, concurrent: 2_000, inFlight: 32, imported: 5_000, runs: 3 };
const QUICK: Plan = { serial: 100, concurrent: 500, inFlight: 32, imported: 1_000, runs: 1 };

interface StreamResult {
  ms: number;
  perSecond: number;
  latencies: number[];
  /** LevelDB batches the store wrote during the stream, and how many of them were fsynced. */
  batches: number;
  synced: number;
}

interface SyncRun {
  serial: StreamResult;
  concurrent: StreamResult;
  importMs: number;
  importSynced: number;
}

/** A node's store and roster, as the node opens them, with `sync` as given. */
async function openHub(dir: string, sync: boolean) {
  const { store, roster, close } = await openBenchHub(dir, { hubId: "hub-sync", sync });
  const counts = { batches: 0, synced: 0 };
  const db = store.db;
  const batch = db.batch.bind(db) as (operations: unknown[], options: { sync?: boolean }) => Promise<void>;
  (db as unknown as { batch: typeof batch }).batch = (operations, options) => {
    counts.batches += 1;
    if (options?.sync) counts.synced += 1;
    return batch(operations, options);
  };
  return {
    roster,
    counts,
    close,
  };
}

async function stream(
  hub: Awaited<ReturnType<typeof openHub>>,
  drafts: readonly RawTrainerDraft[],
  inFlight: number,
): Promise<StreamResult> {
  const before = { ...hub.counts };
  const latencies: number[] = [];
  let next = 0;
  const start = performance.now();
  const worker = async () => {
    while (next < drafts.length) {
      const draft = drafts[next++] as RawTrainerDraft;
      const at = performance.now();
      await hub.roster.add(draft, "bench");
      latencies.push(performance.now() - at);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  const ms = performance.now() - start;
  return {
    ms,
    perSecond: drafts.length / (ms / 1000),
    latencies: latencies.sort((a, b) => a - b),
    batches: hub.counts.batches - before.batches,
    synced: hub.counts.synced - before.synced,
  };
}

async function runOnce(dir: string, sync: boolean, plan: Plan, drafts: RawTrainerDraft[]): Promise<SyncRun> {
  await mkdir(dir, { recursive: true });
  const hub = await openHub(join(dir, "streams"), sync);
  let serial: StreamResult;
  let concurrent: StreamResult;
  try {
    serial = await stream(hub, drafts.slice(0, plan.serial), 1);
    concurrent = await stream(hub, drafts.slice(plan.serial, plan.serial + plan.concurrent), plan.inFlight);
  } finally {
    await hub.close();
  }
  const importer = await openHub(join(dir, "import"), sync);
  try {
    const rows: ImportRowInput[] = drafts
      .slice(plan.serial + plan.concurrent)
      .map((trainer, i) => ({ line: i + 2, trainer }));
    const before = importer.counts.synced;
    const start = performance.now();
    const outcome = await importer.roster.import(rows, { skipInvalid: false, dryRun: false, upsert: false }, "bench");
    const importMs = performance.now() - start;
    if (!outcome.committed || outcome.imported !== rows.length)
      throw new Error(`the import took ${outcome.imported} of ${rows.length} trainers`);
    return { serial, concurrent, importMs, importSynced: importer.counts.synced - before };
  } finally {
    await importer.close();
  }
}

export const storageSync: Benchmark = {
  name: "storage.sync",
  title: "Storage: storage.sync true (fsync per group commit) vs false, the same AddTrainer stream",
  async run(context: BenchmarkContext): Promise<BenchmarkOutcome> {
    const plan = context.quick ? QUICK : FULL;
    const base = await context.tempDir("concordat-bench-sync-");
    const framework = makeFramework(SEED);
    const [hubSpec] = makeHubs(1);
    if (!hubSpec) throw new Error("no hub");
    const drafts: RawTrainerDraft[] = [];
    for (const p of profiles(SEED, framework, [hubSpec], plan.serial + plan.concurrent + plan.imported))
      drafts.push(toDraft(p));
    const runs: Record<"on" | "off", SyncRun[]> = { on: [], off: [] };
    for (let r = 0; r < plan.runs; r += 1) {
      const order: Array<"on" | "off"> = r % 2 === 0 ? ["on", "off"] : ["off", "on"];
      for (const mode of order) {
        const result = await runOnce(join(base, `run-${r}`, mode), mode === "on", plan, drafts);
        runs[mode].push(result);
        context.log(
          `  sync ${mode}: run ${r + 1}: one at a time ${Math.round(result.serial.perSecond)}/s, ${plan.inFlight} in flight ${Math.round(result.concurrent.perSecond)}/s (${result.concurrent.synced} fsyncs for ${plan.concurrent} writes), import ${Math.round(result.importMs)} ms`,
        );
      }
    }
    const med = (mode: "on" | "off", pick: (r: SyncRun) => number) => median(runs[mode].map(pick));
    const conditions = { runs: plan.runs, serial: plan.serial, concurrent: plan.concurrent, inFlight: plan.inFlight };
    const baseline = (value: number) => ({ name: "storage.sync false", value });
    const both = (name: string, unit: string, pick: (r: SyncRun) => number, digits = 1): Figure =>
      figure({
        name,
        unit,
        ours: round(med("on", pick), digits),
        baseline: baseline(round(med("off", pick), digits)),
        conditions,
      });
    const figures: Figure[] = [
      both(
        `AddTrainer one at a time (${plan.serial}), throughput, median of ${plan.runs}`,
        "writes/s",
        (r) => r.serial.perSecond,
        0,
      ),
      both(`AddTrainer one at a time, latency p50`, "ms", (r) => percentile(r.serial.latencies, 50), 2),
      both(
        `AddTrainer, ${plan.inFlight} in flight (${plan.concurrent}), throughput, median of ${plan.runs}`,
        "writes/s",
        (r) => r.concurrent.perSecond,
        0,
      ),
      both(
        `AddTrainer, ${plan.inFlight} in flight, latency p99`,
        "ms",
        (r) => percentile(r.concurrent.latencies, 99),
        1,
      ),
      both(
        `AddTrainer, ${plan.inFlight} in flight: fsynced LevelDB writes per AddTrainer`,
        "fsyncs/write",
        (r) => r.concurrent.synced / plan.concurrent,
        3,
      ),
      both(
        `import of ${plan.imported.toLocaleString("en")} trainers (one transaction), median of ${plan.runs}`,
        "ms",
        (r) => r.importMs,
        0,
      ),
    ];
    const notes = [
      "In process, through the node's own NodeStore, OwnedDocuments (the Repo on the store's `repo` sublevel, as node/components.ts makes it) and Roster at the default configuration; ours opens the store with storage.sync true (the default), the baseline with false; alternating which goes first, on fresh directories under the bench's temp dir (ext4 here, on a virtual disk: an fsync's cost depends on the disk).",
      `One at a time: each AddTrainer is its own transaction and its own group, so with sync each waits for one fsync. ${plan.inFlight} in flight: AddTrainers that arrive while a group is written are planned and written together (group commit), one LevelDB batch, one fsync for the group; the Repo's own saves (not fsynced by themselves) join the groups they meet. The import is one transaction: one fsync.`,
      `Fsynced LevelDB writes per AddTrainer, ${plan.inFlight} in flight, sync on: ${round(
        med("on", (r) => r.concurrent.synced / plan.concurrent),
        3,
      )} (LevelDB batches in all, the Repo's unsynced ones included: ${Math.round(med("on", (r) => r.concurrent.batches))} for ${plan.concurrent} writes).`,
    ];
    if (context.quick)
      notes.push(
        `Quick run: ${QUICK.serial} + ${QUICK.concurrent} writes, ${QUICK.imported} imported, 1 run (full: ${FULL.serial} + ${FULL.concurrent}, ${FULL.imported}, ${FULL.runs} runs).`,
      );
    return {
      conditions: { ...conditions, imported: plan.imported, mode: context.quick ? "quick" : "full" },
      figures,
      details: Object.fromEntries(
        (["on", "off"] as const).map((mode) => [
          mode,
          runs[mode].map((r) => ({
            serial: { ms: round(r.serial.ms, 0), batches: r.serial.batches, synced: r.serial.synced },
            concurrent: { ms: round(r.concurrent.ms, 0), batches: r.concurrent.batches, synced: r.concurrent.synced },
            importMs: round(r.importMs, 0),
            importSynced: r.importSynced,
          })),
        ]),
      ),
      notes,
    };
  },
};
