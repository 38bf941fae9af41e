/**
 * Loaded into each soak node process with `node --expose-gc --import <this file>` (bench
 * instrumentation, not part of the node): the node's API exposes no memory figures, and a GC
 * cannot be forced from outside, so on SIGUSR2 this runs two full, synchronous garbage collections
 * (`gc()`) and then writes `process.memoryUsage()` and V8's heap statistics as JSON to the file
 * named by $SOAK_GC_PROBE_FILE (written to a temp name, then renamed: never read half-written).
 * It writes the file once at load with `sample: 0`, so the soak knows the handler is installed
 * before it ever sends the signal (SIGUSR2 would otherwise end the process).
 */
import { renameSync, writeFileSync } from "node:fs";
import { getHeapStatistics } from "node:v8";

export interface ProbeSample {
  pid: number;
  /** 0: loaded (no GC run yet); then one per SIGUSR2. */
  sample: number;
  /** Whether gc() was available and ran (the process was started with --expose-gc). */
  gcRan: boolean;
  at: string;
  memory: NodeJS.MemoryUsage;
  heap: {
    totalHeapSize: number;
    usedHeapSize: number;
    externalMemory: number;
    mallocedMemory: number;
    totalPhysicalSize: number;
  };
}

const file = process.env.SOAK_GC_PROBE_FILE;
if (file) {
  let sample = 0;
  const write = (gcRan: boolean) => {
    const h = getHeapStatistics();
    const out: ProbeSample = {
      pid: process.pid,
      sample,
      gcRan,
      at: new Date().toISOString(),
      memory: process.memoryUsage(),
      heap: {
        totalHeapSize: h.total_heap_size,
        usedHeapSize: h.used_heap_size,
        externalMemory: h.external_memory,
        mallocedMemory: h.malloced_memory,
        totalPhysicalSize: h.total_physical_size,
      },
    };
    writeFileSync(`${file}.tmp`, JSON.stringify(out));
    renameSync(`${file}.tmp`, file);
  };
  process.on("SIGUSR2", () => {
    sample += 1;
    const collect = globalThis.gc;
    if (collect) {
      collect();
      collect();
    }
    write(collect !== undefined);
  });
  write(false);
}
