/**
 * `node --expose-gc dist/bench/availability/memory.js HUBS PER_HUB SEED`: the index's memory in a
 * fresh process (nothing else on the heap), printed as JSON. V8 heap used plus ArrayBuffers (the
 * index's bitmaps live outside the V8 heap) after forced GCs: before, with the records generated,
 * with the index built over them (it keeps the records).
 */
import { AvailabilityIndex, type TrainerRecord } from "../../node/query/index.js";
import { BENCH_INDEX_INIT, makeFramework, makeHubs, profiles, toRecord } from "./generate.js";

export interface MemoryMeasure {
  trainers: number;
  recordsBytes: number;
  indexStructuresBytes: number;
}

function settledHeap(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error("run with node --expose-gc");
  for (let i = 0; i < 3; i += 1) gc();
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return heapUsed + arrayBuffers;
}

const [hubs, perHub, seed] = process.argv.slice(2).map(Number) as [number, number, number];
const framework = makeFramework(seed);
const hubList = makeHubs(hubs);
const before = settledHeap();
const records: TrainerRecord[] = [];
for (const p of profiles(seed, framework, hubList, perHub)) records.push(toRecord(p));
const withRecords = settledHeap();
const index = new AvailabilityIndex(BENCH_INDEX_INIT);
for (const record of records) index.upsert(record);
const withIndex = settledHeap();
if (index.size !== records.length) throw new Error(`the index holds ${index.size} of ${records.length}`);
const out: MemoryMeasure = {
  trainers: records.length,
  recordsBytes: withRecords - before,
  indexStructuresBytes: withIndex - withRecords,
};
process.stdout.write(`${JSON.stringify(out)}\n`);
