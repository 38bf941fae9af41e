/**
 * Storage: our LevelDB adapter (LevelStorageAdapter on the NodeStore's `repo` sublevel, as the node
 * runs it) against automerge-repo's stock NodeFSStorageAdapter (2.5.6), both under a real Repo with
 * no network, in the same run: saving and loading 1,000 small documents, and a 10,000-trainer roster
 * as the node shards it (time, the loading process's peak memory), and the bytes on disk after each
 * save. Every load is checked against what was saved.
 */
import { execFile } from "node:child_process";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { DocumentId } from "@automerge/automerge-repo";
import { Random } from "../lib/random.js";
import { median, round, summarize, type Summary } from "../lib/stats.js";
import {
  figure,
  type Benchmark,
  type BenchmarkContext,
  type BenchmarkOutcome,
  type Conditions,
  type Figure,
} from "../lib/types.js";
import {
  ADAPTER_NAMES,
  ADAPTERS,
  CountingStorage,
  diskUsage,
  openStorage,
  settleThrottledSaves,
  storageRepo,
  type AdapterKind,
  type DiskUsage,
} from "./adapters.js";
import type { LoadMeasure } from "./load.js";
import { buildRoster, type BuiltRoster } from "./roster.js";

const execFileAsync = promisify(execFile);
const SEED = 11;
const OURS: AdapterKind = "level";
const STOCK: AdapterKind = "nodefs";

interface Plan {
  docs: number;
  trainers: number;
  runs: number;
}

const FULL: Plan = { docs: 1_000, trainers: 10_000, runs: 5 };
const QUICK: Plan = { docs: 200, trainers: 2_000, runs: 2 };

/** Fails a step that hangs instead of hanging the run. */
async function bounded<T>(what: string, ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took over ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------------------------
// small documents

/** A small document: a few fields, as a note, a booking or a contact would have. */
interface SmallDoc {
  n: number;
  title: string;
  kind: string;
  owner: string;
  createdAt: string;
  done: boolean;
  tags: string[];
}

const KINDS = ["note", "booking", "contact", "task", "request"];
const WORDS = [
  "border",
  "training",
  "module",
  "interview",
  "oversight",
  "detention",
  "review",
  "visit",
  "curriculum",
  "session",
  "report",
  "region",
];

function makeSmallDocs(seed: number, count: number): SmallDoc[] {
  const random = new Random(seed);
  return Array.from({ length: count }, (_, n) => ({
    n,
    title: `${random.pick(WORDS)} ${random.pick(WORDS)} ${n}`,
    kind: random.pick(KINDS),
    owner: `hub-${String(random.int(1, 50)).padStart(2, "0")}`,
    createdAt: new Date(Date.UTC(2027, 0, 1) + random.int(0, 365 * 86_400) * 1000).toISOString(),
    done: random.chance(0.3),
    tags: random.sample(WORDS, random.int(0, 3)),
  }));
}

function sameSmallDoc(loaded: SmallDoc | undefined, expected: SmallDoc): boolean {
  return (
    loaded !== undefined &&
    loaded.n === expected.n &&
    String(loaded.title) === expected.title &&
    String(loaded.kind) === expected.kind &&
    String(loaded.owner) === expected.owner &&
    String(loaded.createdAt) === expected.createdAt &&
    loaded.done === expected.done &&
    loaded.tags.map(String).join(",") === expected.tags.join(",")
  );
}

interface SaveMeasure {
  ms: number;
  disk: DiskUsage;
  /** What the Repo asked of the adapter while saving (saves, bytes, removes). */
  calls: ReturnType<CountingStorage["counts"]>;
}

interface DocsRun {
  save: SaveMeasure;
  loadMs: number;
  /** Of which opening the adapter (for ours: the LevelDB database, replaying its log). */
  openMs: number;
  perFindMs: number[];
  /** After the load closed the adapter again: LevelDB turns its log into a table when it reopens. */
  diskAfterReopen: DiskUsage;
}

/** Saves the documents through a fresh Repo on `kind` in `dir`, then loads them in another fresh Repo. */
async function runDocs(kind: AdapterKind, dir: string, docs: readonly SmallDoc[]): Promise<DocsRun> {
  // Save: create each document, then Repo.flush (every handle's document written to storage).
  const opened = await openStorage(kind, dir);
  const storage = new CountingStorage(opened.storage);
  const repo = storageRepo(storage);
  await repo.storageId(); // the Repo's own first write, done before the clock starts
  const before = storage.counts();
  const start = performance.now();
  const ids: DocumentId[] = [];
  for (const doc of docs) ids.push(repo.create<SmallDoc>(doc).documentId);
  await bounded(`saving ${docs.length} documents (${kind})`, 120_000, repo.flush());
  const ms = performance.now() - start;
  await settleThrottledSaves();
  const after = storage.counts();
  await repo.shutdown();
  await opened.close();
  const disk = await diskUsage(dir);
  const calls = {
    saves: after.saves - before.saves,
    savedBytes: after.savedBytes - before.savedBytes,
    removes: after.removes - before.removes,
    loads: 0,
    rangeLoads: 0,
  };

  // Load: a fresh Repo on the same directory, each document found (ready) one after the other.
  const loadStart = performance.now();
  const reopened = await openStorage(kind, dir);
  const openMs = performance.now() - loadStart;
  const fresh = storageRepo(reopened.storage);
  const perFindMs: number[] = [];
  const loaded: Array<SmallDoc | undefined> = [];
  await bounded(
    `loading ${docs.length} documents (${kind})`,
    120_000,
    (async () => {
      for (const id of ids) {
        const findStart = performance.now();
        const handle = await fresh.find<SmallDoc>(id);
        perFindMs.push(performance.now() - findStart);
        loaded.push(handle.doc());
      }
    })(),
  );
  const loadMs = performance.now() - loadStart;
  docs.forEach((expected, i) => {
    if (!sameSmallDoc(loaded[i], expected))
      throw new Error(
        `${kind}: document ${i} (${ids[i]}) loaded as ${JSON.stringify(loaded[i])}, saved as ${JSON.stringify(expected)}`,
      );
  });
  await fresh.shutdown();
  await reopened.close();
  return { save: { ms, disk, calls }, loadMs, openMs, perFindMs, diskAfterReopen: await diskUsage(dir) };
}

// ---------------------------------------------------------------------------------------------
// the roster

interface RosterRun {
  save: SaveMeasure;
  load: LoadMeasure;
  diskAfterReopen: DiskUsage;
}

/** Stores the roster's shards through a fresh Repo (import, as OwnedDocuments publishes, then flush). */
async function saveRoster(kind: AdapterKind, dir: string, roster: BuiltRoster): Promise<SaveMeasure> {
  const opened = await openStorage(kind, dir);
  const storage = new CountingStorage(opened.storage);
  const repo = storageRepo(storage);
  await repo.storageId();
  const before = storage.counts();
  const start = performance.now();
  for (const shard of roster.shards) repo.import(shard.bytes, { docId: shard.id });
  await bounded(`saving the roster (${kind})`, 180_000, repo.flush());
  const ms = performance.now() - start;
  await settleThrottledSaves();
  const after = storage.counts();
  await repo.shutdown();
  await opened.close();
  const calls = {
    saves: after.saves - before.saves,
    savedBytes: after.savedBytes - before.savedBytes,
    removes: after.removes - before.removes,
    loads: 0,
    rangeLoads: 0,
  };
  return { ms, disk: await diskUsage(dir), calls };
}

/** Loads the roster in a fresh `node --expose-gc` process (load.ts) and checks what it found. */
async function loadRoster(kind: AdapterKind, dir: string, idsFile: string, roster: BuiltRoster): Promise<LoadMeasure> {
  const script = fileURLToPath(new URL("./load.js", import.meta.url));
  const { stdout } = await execFileAsync(process.execPath, ["--expose-gc", script, kind, dir, idsFile], {
    timeout: 180_000,
    maxBuffer: 1 << 20,
  });
  const measure = JSON.parse(stdout) as LoadMeasure;
  const shards = roster.shards.length;
  if (
    measure.shards !== shards ||
    measure.trainers !== roster.trainers ||
    measure.idsDigest !== roster.idsDigest ||
    measure.shardCounts.some((c) => c !== shards)
  ) {
    throw new Error(
      `${kind}: the roster loaded as ${measure.shards} shards of ${measure.trainers} trainers (shard counts ${measure.shardCounts.join(",")}, ids ${measure.idsDigest.slice(0, 12)}), ` +
        `saved as ${shards} shards of ${roster.trainers} (ids ${roster.idsDigest.slice(0, 12)})`,
    );
  }
  return measure;
}

// ---------------------------------------------------------------------------------------------
// the benchmark

type Runs<T> = Record<AdapterKind, T[]>;

const KiB = 1024;
const MiB = 1024 * 1024;

function pick(s: Summary): Record<string, number> {
  return {
    samples: s.samples,
    p50: round(s.p50, 3),
    p99: round(s.p99, 3),
    mean: round(s.mean, 3),
    max: round(s.max, 3),
  };
}

export const storageBenchmark: Benchmark = {
  name: "storage",
  title: "Storage: LevelStorageAdapter vs NodeFSStorageAdapter through a Repo",
  async run(context: BenchmarkContext): Promise<BenchmarkOutcome> {
    const plan = context.quick ? QUICK : FULL;
    const base = await context.tempDir("concordat-bench-storage-");
    const docs = makeSmallDocs(SEED, plan.docs);

    context.log(
      `  building a ${plan.trainers.toLocaleString("en")}-trainer roster with the node's Roster (one import)…`,
    );
    const roster = await bounded("building the roster", 300_000, buildRoster(join(base, "build"), plan.trainers, SEED));
    await rm(join(base, "build"), { recursive: true, force: true });
    const shards = roster.shards.length;
    const shardBytes = roster.shards.reduce((sum, s) => sum + s.bytes.byteLength, 0);
    context.log(
      `  roster: ${shards} shards (${roster.shardSizes.join(", ")} trainers), ${round(shardBytes / KiB, 0)} KiB saved, built in ${round(roster.buildMs / 1000, 1)} s`,
    );
    const idsFile = join(base, "roster-ids.txt");
    await writeFile(idsFile, `${roster.shards.map((s) => s.id).join("\n")}\n`);

    const docsRuns: Runs<DocsRun> = { level: [], nodefs: [] };
    const rosterRuns: Runs<RosterRun> = { level: [], nodefs: [] };
    for (let run = 0; run < plan.runs; run += 1) {
      // Alternate which adapter goes first, so neither always meets the warmer (or busier) machine.
      const order = run % 2 === 0 ? ADAPTERS : [...ADAPTERS].reverse();
      for (const kind of order) {
        const dir = join(base, `run-${run}`, kind);
        await mkdir(dir, { recursive: true });
        const docsRun = await runDocs(kind, join(dir, "docs"), docs);
        docsRuns[kind].push(docsRun);
        const save = await saveRoster(kind, join(dir, "roster"), roster);
        const load = await loadRoster(kind, join(dir, "roster"), idsFile, roster);
        rosterRuns[kind].push({ save, load, diskAfterReopen: await diskUsage(join(dir, "roster")) });
        context.log(
          `  run ${run + 1}/${plan.runs} ${kind.padEnd(6)}: ${plan.docs} docs save ${round(docsRun.save.ms, 0)} ms, load ${round(docsRun.loadMs, 0)} ms, ${round(docsRun.save.disk.bytes / KiB, 0)} KiB; ` +
            `roster save ${round(save.ms, 0)} ms, load ${round(load.ms, 0)} ms, peak RSS ${round(load.peakRssBytes / MiB, 0)} MiB, ${round(save.disk.bytes / KiB, 0)} KiB`,
        );
        await rm(dir, { recursive: true, force: true });
      }
    }

    const med = <T>(runs: Runs<T>, kind: AdapterKind, value: (r: T) => number) => median(runs[kind].map(value));
    const docConditions: Conditions = { documents: plan.docs, trainers: 0, shards: 0, runs: plan.runs };
    const rosterConditions: Conditions = { documents: shards, trainers: plan.trainers, shards, runs: plan.runs };
    const stock = ADAPTER_NAMES[STOCK];
    const compare = <T>(
      name: string,
      unit: string,
      conditions: Conditions,
      runs: Runs<T>,
      value: (r: T) => number,
    ): Figure =>
      figure({
        name,
        unit,
        ours: med(runs, OURS, value),
        baseline: { name: stock, value: med(runs, STOCK, value) },
        conditions,
      });
    const docsFinds = {
      level: summarize(docsRuns.level.flatMap((r) => r.perFindMs)),
      nodefs: summarize(docsRuns.nodefs.flatMap((r) => r.perFindMs)),
    };
    const findConditions: Conditions = { ...docConditions, samples: docsFinds.level.samples };
    const label = `${plan.docs.toLocaleString("en")} docs`;
    const rosterLabel = `roster ${plan.trainers.toLocaleString("en")} trainers / ${shards} shards`;

    const figures: Figure[] = [
      compare(`save ${label} (create + flush), median`, "ms", docConditions, docsRuns, (r) => r.save.ms),
      compare(`load ${label} (open + find each), median`, "ms", docConditions, docsRuns, (r) => r.loadMs),
      figure({
        name: `load ${label}: one find, p50`,
        unit: "ms",
        ours: docsFinds.level.p50,
        baseline: { name: stock, value: docsFinds.nodefs.p50 },
        conditions: findConditions,
      }),
      figure({
        name: `load ${label}: one find, p99`,
        unit: "ms",
        ours: docsFinds.level.p99,
        baseline: { name: stock, value: docsFinds.nodefs.p99 },
        conditions: findConditions,
      }),
      compare(
        `disk after saving ${label} (file sizes)`,
        "KiB",
        docConditions,
        docsRuns,
        (r) => r.save.disk.bytes / KiB,
      ),
      compare(
        `disk after saving ${label} (allocated blocks)`,
        "KiB",
        docConditions,
        docsRuns,
        (r) => r.save.disk.allocated / KiB,
      ),
      compare(`save ${rosterLabel} (import + flush), median`, "ms", rosterConditions, rosterRuns, (r) => r.save.ms),
      compare(`load ${rosterLabel} (fresh process), median`, "ms", rosterConditions, rosterRuns, (r) => r.load.ms),
      compare(`load ${rosterLabel}: peak RSS`, "MiB", rosterConditions, rosterRuns, (r) => r.load.peakRssBytes / MiB),
      compare(
        `load ${rosterLabel}: peak V8 heap used`,
        "MiB",
        rosterConditions,
        rosterRuns,
        (r) => r.load.peakHeapUsedBytes / MiB,
      ),
      compare(
        `disk after saving ${rosterLabel} (file sizes)`,
        "KiB",
        rosterConditions,
        rosterRuns,
        (r) => r.save.disk.bytes / KiB,
      ),
      compare(
        `disk after saving ${rosterLabel} (allocated blocks)`,
        "KiB",
        rosterConditions,
        rosterRuns,
        (r) => r.save.disk.allocated / KiB,
      ),
    ];

    const perAdapter = (kind: AdapterKind) => ({
      adapter: ADAPTER_NAMES[kind],
      docs: {
        saveMs: docsRuns[kind].map((r) => round(r.save.ms, 1)),
        loadMs: docsRuns[kind].map((r) => round(r.loadMs, 1)),
        openMs: docsRuns[kind].map((r) => round(r.openMs, 1)),
        find: pick(docsFinds[kind]),
        diskAfterSave: docsRuns[kind][0]?.save.disk,
        diskAfterReopen: docsRuns[kind][0]?.diskAfterReopen,
        repoCalls: docsRuns[kind][0]?.save.calls,
      },
      roster: {
        saveMs: rosterRuns[kind].map((r) => round(r.save.ms, 1)),
        loadMs: rosterRuns[kind].map((r) => round(r.load.ms, 1)),
        openMs: rosterRuns[kind].map((r) => round(r.load.openMs, 1)),
        findMs: rosterRuns[kind].map((r) => r.load.perFindMs.map((x) => round(x, 1))),
        peakRssMiB: rosterRuns[kind].map((r) => round(r.load.peakRssBytes / MiB, 1)),
        rssBeforeMiB: rosterRuns[kind].map((r) => round(r.load.rssBeforeBytes / MiB, 1)),
        peakHeapUsedMiB: rosterRuns[kind].map((r) => round(r.load.peakHeapUsedBytes / MiB, 1)),
        heapBeforeMiB: rosterRuns[kind].map((r) => round(r.load.heapBeforeBytes / MiB, 1)),
        heapAfterGcMiB: rosterRuns[kind].map((r) => round(r.load.heapAfterBytes / MiB, 1)),
        externalAfterGcMiB: rosterRuns[kind].map((r) => round(r.load.externalAfterBytes / MiB, 1)),
        diskAfterSave: rosterRuns[kind][0]?.save.disk,
        diskAfterReopen: rosterRuns[kind][0]?.diskAfterReopen,
        repoCalls: rosterRuns[kind][0]?.save.calls,
      },
    });

    const ourDocsDisk = docsRuns.level[0];
    const ourRosterDisk = rosterRuns.level[0];
    const notes = [
      `Both adapters under a real automerge-repo 2.5.6 Repo with no network and the default save throttle (100 ms), in the same run, in alternating order; ours is opened as the node opens it (NodeStore.open, then LevelStorageAdapter on its 'repo' sublevel, storage.sync false), the stock one as new NodeFSStorageAdapter(dir). Medians over ${plan.runs} runs, each on fresh directories under ${base.split("/").slice(0, -1).join("/") || "/"}.`,
      `Save: repo.create per document (the roster: repo.import of each shard's bytes with its id, as OwnedDocuments publishes), then repo.flush(), which writes every handle's document; the Repo's own storage-id write happens before the clock starts. Load: the adapter opened (for ours, the LevelDB database) and a fresh Repo, then repo.find of each id in turn until ready, as a node's start attaches its documents; every loaded document is compared with what was saved (the roster: shard count and the set of trainer ids).`,
      `Roster: ${plan.trainers.toLocaleString("en")} trainers (availability/generate.ts, seed ${SEED}, one hub) imported once with the node's own Roster and OwnedDocuments at the default configuration (${roster.initialShards} shards, a shard past ${roster.maxPerShard.toLocaleString("en")} trainers doubles them), which reached ${shards} shards of ${roster.shardSizes.join("/")} trainers; each run stores the Repo's copies of the ${shards} public shard documents (${round(shardBytes / KiB, 0)} KiB saved by Automerge). Private shards never enter the Repo. Its load runs in a fresh node --expose-gc process (load.ts): peak RSS is the process's ru_maxrss (Node and the modules take ${round(median(rosterRuns.level.map((r) => r.load.rssBeforeBytes)) / MiB, 0)} MiB of it before anything is opened), peak heap is V8's used heap sampled every 5 ms and after each find.`,
      `Disk: every regular file under the adapter's directory, after repo.shutdown() and the adapter (and, for ours, the LevelDB database) closed: the sum of file sizes, and of allocated blocks (st_blocks × 512, as du counts). LevelDB keeps freshly written data in its write-ahead log until it reopens, when it writes a compressed table: after the load reopened and closed it, ours took ${ourDocsDisk ? round(ourDocsDisk.diskAfterReopen.bytes / KiB, 0) : "?"} KiB for the documents and ${ourRosterDisk ? round(ourRosterDisk.diskAfterReopen.bytes / KiB, 0) : "?"} KiB for the roster (details.*.diskAfterReopen).`,
      "The filesystem's page cache is warm for both adapters' loads (the data was just written): these are warm-start loads.",
    ];
    if (context.quick)
      notes.push(
        `Quick run: ${QUICK.docs} documents, ${QUICK.trainers.toLocaleString("en")} trainers, ${QUICK.runs} runs (full: ${FULL.docs.toLocaleString("en")}, ${FULL.trainers.toLocaleString("en")}, ${FULL.runs}).`,
      );

    return {
      conditions: {
        seed: SEED,
        documents: plan.docs,
        trainers: plan.trainers,
        shards,
        runs: plan.runs,
        mode: context.quick ? "quick" : "full",
      },
      figures,
      details: {
        roster: {
          shards,
          shardSizes: roster.shardSizes,
          shardBytes: roster.shards.map((s) => s.bytes.byteLength),
          buildMs: round(roster.buildMs, 0),
        },
        ours: perAdapter(OURS),
        baseline: perAdapter(STOCK),
      },
      notes,
    };
  },
};
