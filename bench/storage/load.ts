/**
 * `node --expose-gc dist/bench/storage/load.js KIND DIR IDS_FILE`: loads the roster's shard documents
 * (ids one per line in IDS_FILE) from DIR through a fresh Repo on adapter KIND (level | nodefs), in
 * a fresh process so that nothing else sits on its heap, and prints a LoadMeasure as JSON.
 *
 * Timed: from opening the adapter (for ours, opening the LevelDB database) until every shard's
 * `repo.find` has resolved ready, one after the other as OwnedDocuments attaches them at a node's
 * start. Memory: the process's peak RSS (getrusage ru_maxrss) and the V8 heap used, sampled every
 * 5 ms and after each find (peak), and after forced GCs with the shards loaded (retained).
 */
import { readFileSync } from "node:fs";
import { getHeapStatistics } from "node:v8";
import { documentId } from "../../node/ids.js";
import { ADAPTERS, idsDigest, openStorage, storageRepo, type AdapterKind, type RosterShardDoc } from "./adapters.js";

export interface LoadMeasure {
  kind: AdapterKind;
  ms: number;
  /** Of which opening the adapter (for ours: the LevelDB database, replaying its log). */
  openMs: number;
  perFindMs: number[];
  shards: number;
  trainers: number;
  idsDigest: string;
  /** Each loaded shard's `shards` field (all must equal the shard count). */
  shardCounts: number[];
  /** RSS and V8 heap used after forced GCs, before opening anything (Node and the modules). */
  rssBeforeBytes: number;
  heapBeforeBytes: number;
  /** Peak RSS of the process over its life (includes the baseline above). */
  peakRssBytes: number;
  /** Highest V8 heap used seen while loading. */
  peakHeapUsedBytes: number;
  /** After forced GCs with every shard loaded and held: V8 heap used, and memory outside it (Wasm, buffers). */
  heapAfterBytes: number;
  externalAfterBytes: number;
}

function gc(): void {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (!collect) throw new Error("run with node --expose-gc");
  for (let i = 0; i < 3; i += 1) collect();
}

async function main(): Promise<void> {
  const [kindArg, dir, idsFile] = process.argv.slice(2);
  if (!kindArg || !dir || !idsFile || !(ADAPTERS as readonly string[]).includes(kindArg)) {
    throw new Error("usage: load.js level|nodefs DIR IDS_FILE");
  }
  const kind = kindArg as AdapterKind;
  const ids = readFileSync(idsFile, "utf8")
    .split("\n")
    .filter((line) => line !== "")
    .map((line, i) => documentId(line, `${idsFile}:${i + 1}`));
  gc();
  const rssBeforeBytes = process.memoryUsage.rss();
  const heapBeforeBytes = getHeapStatistics().used_heap_size;
  let peakHeap = heapBeforeBytes;
  const sample = () => {
    peakHeap = Math.max(peakHeap, getHeapStatistics().used_heap_size);
  };
  const sampler = setInterval(sample, 5);

  const start = performance.now();
  const opened = await openStorage(kind, dir);
  const openMs = performance.now() - start;
  const repo = storageRepo(opened.storage);
  const perFindMs: number[] = [];
  const docs: RosterShardDoc[] = [];
  for (const id of ids) {
    const findStart = performance.now();
    const handle = await repo.find<RosterShardDoc>(id);
    perFindMs.push(performance.now() - findStart);
    docs.push(handle.doc());
    sample();
  }
  const ms = performance.now() - start;
  clearInterval(sampler);

  const trainerIds = docs.flatMap((d) => Object.keys(d.trainers));
  gc();
  const memory = process.memoryUsage();
  const out: LoadMeasure = {
    kind,
    ms,
    openMs,
    perFindMs,
    shards: docs.length,
    trainers: trainerIds.length,
    idsDigest: idsDigest(trainerIds),
    shardCounts: docs.map((d) => d.shards),
    rssBeforeBytes,
    heapBeforeBytes,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    peakHeapUsedBytes: peakHeap,
    heapAfterBytes: memory.heapUsed,
    externalAfterBytes: memory.external,
  };
  // Nothing was changed, so nothing is left to write; close as the node does.
  await repo.shutdown();
  await opened.close();
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
