/**
 * Preloaded into a node process by the bulk benchmarks (`node --import …/loop-monitor.js`), so the
 * event loop's stalls are measured inside the node without touching node/: a timer due every
 * TICK_MS records how late it fires (a loop blocked for 300 ms fires it ~300 ms late), and a GC
 * observer records long collections. Lines go to $CONCORDAT_BENCH_LOOP_FILE, appended every 250 ms:
 *
 *   t <endMs> <lagMs>           a tick: it fired at endMs (epoch ms) lagMs late (only lags >= 1 ms)
 *   n <endMs> <ticks>           ticks so far (to know the timer ran even when nothing was late)
 *   gc <startMs> <ms> <kind>    a collection of at least 5 ms
 *   clock <epochMs> <hrtimeUs>  the two clocks at one moment (to align with a --cpu-prof profile)
 *
 * Without the variable it does nothing. The timer is unref'd: it never keeps the node alive. Only the
 * main thread (the one that answers the API) is measured: a worker thread inherits the preload, and
 * the replica worker's long Automerge calls are by design not the API's stalls.
 */
import { appendFileSync } from "node:fs";
import { PerformanceObserver, constants, performance, type PerformanceEntry } from "node:perf_hooks";
import { isMainThread } from "node:worker_threads";

const FILE = process.env.CONCORDAT_BENCH_LOOP_FILE;
const TICK_MS = 10;

const GC_KINDS: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MAJOR]: "major",
  [constants.NODE_PERFORMANCE_GC_MINOR]: "minor",
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: "incremental",
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: "weakcb",
};

if (FILE && isMainThread) {
  const epoch = () => performance.timeOrigin + performance.now();
  let lines: string[] = [`clock ${epoch().toFixed(3)} ${(process.hrtime.bigint() / 1000n).toString()}`];
  let ticks = 0;
  let due = performance.now() + TICK_MS;
  let lastFlush = performance.now();
  const flush = () => {
    if (lines.length === 0) return;
    try {
      appendFileSync(FILE, `${lines.join("\n")}\n`);
    } catch {
      // the bench's temp dir is gone: nothing to report to
    }
    lines = [];
  };
  const tick = () => {
    const now = performance.now();
    const lag = now - due;
    ticks += 1;
    if (lag >= 1) lines.push(`t ${(performance.timeOrigin + now).toFixed(1)} ${lag.toFixed(1)}`);
    if (now - lastFlush >= 250) {
      lines.push(`n ${(performance.timeOrigin + now).toFixed(1)} ${ticks}`);
      flush();
      lastFlush = performance.now();
    }
    due = performance.now() + TICK_MS;
    setTimeout(tick, TICK_MS).unref();
  };
  setTimeout(tick, TICK_MS).unref();
  const gc = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      if (entry.duration < 5) continue;
      const kind = ((entry as PerformanceEntry & { detail?: { kind?: number } | null }).detail ?? undefined)?.kind;
      lines.push(
        `gc ${(performance.timeOrigin + entry.startTime).toFixed(1)} ${entry.duration.toFixed(1)} ${kind === undefined ? "?" : (GC_KINDS[kind] ?? String(kind))}`,
      );
    }
  });
  gc.observe({ entryTypes: ["gc"] });
  process.on("exit", flush);
}
