/**
 * `node --expose-gc dist/bench/cases/memory.js PER_HUB SEED`: the case search index's memory in a
 * fresh process (nothing else on the heap), printed as JSON. V8 heap used after forced GCs: before,
 * with the cases generated, with the index built over them. The index keeps no record (MiniSearch
 * stores no field here), so its figure is its own structures: terms, postings, field lengths, ids.
 */
import { CaseSearchIndex } from "../../node/cases/search.js";
import { makeCases, makeFramework, makeHubs } from "./generate.js";

export interface MemoryMeasure {
  cases: number;
  recordsBytes: number;
  indexBytes: number;
}

function settledHeap(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error("run with node --expose-gc");
  for (let i = 0; i < 3; i += 1) gc();
  return process.memoryUsage().heapUsed;
}

const [perHub, seed] = process.argv.slice(2).map(Number) as [number, number];
const framework = makeFramework();
const hubs = makeHubs();
const before = settledHeap();
const cases = makeCases(seed, framework, hubs, perHub);
const withRecords = settledHeap();
const index = new CaseSearchIndex();
for (const c of cases) index.upsert(c.key, c.record);
const withIndex = settledHeap();
if (index.size !== cases.length) throw new Error(`the index holds ${index.size} of ${cases.length} cases`);
const out: MemoryMeasure = {
  cases: cases.length,
  recordsBytes: withRecords - before,
  indexBytes: withIndex - withRecords,
};
process.stdout.write(`${JSON.stringify(out)}\n`);
