/**
 * `npm run bench [-- --quick] [NAME...]`: runs the benchmarks (all, or those whose name contains one
 * of NAME), prints a summary table and writes docs/bench/latest.json and latest.md (or --out
 * PREFIX.json/.md). Exit code 1 when a benchmark failed (a wrong answer, a timeout); a missed
 * target is reported, not a failure.
 */
import { loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { availabilityQuery } from "./availability/query.js";
import { availabilityRestart } from "./availability/restart.js";
import { casesSearch } from "./cases/search.js";
import { replicationAdapters } from "./replication/adapters.js";
import { replicationNodes } from "./replication/nodes-stack.js";
import { replicationScale } from "./replication/scale-curve.js";
import { storageBenchmark } from "./storage/storage.js";
import { storageSync } from "./storage/sync.js";
import { bulkImport } from "./bulk/import.js";
import { apiResponsiveness } from "./bulk/responsiveness.js";
import { admissionFuzz } from "./admission/fuzz.js";
import { consoleFirstLoad } from "./console/first-load.js";
import { consoleInteractions } from "./console/interactions.js";
import { describeEnvironment } from "./lib/environment.js";
import { Cleanup, ROOT, tempDir } from "./lib/nodes.js";
import { SharedSetups } from "./lib/shared.js";
import { toConsoleTable, writeResults } from "./lib/report.js";
import type { Benchmark, BenchmarkResult, RunResults } from "./lib/types.js";

/**
 * Every benchmark, in the order they run (bench/README.md says what each measures). A name filter
 * keeps this order: `console.interactions` adds to the target node it shares with
 * `availability.restart` (its own roster, booking requests), so it comes after it.
 */
const BENCHMARKS: readonly Benchmark[] = [
  availabilityQuery,
  availabilityRestart,
  consoleInteractions,
  consoleFirstLoad,
  casesSearch,
  storageBenchmark,
  storageSync,
  replicationAdapters,
  replicationNodes,
  replicationScale,
  bulkImport,
  apiResponsiveness,
  admissionFuzz,
];

const USAGE = `usage: npm run bench -- [--quick] [--out PREFIX] [--list] [NAME...]

  --quick       reduced sizes and rounds (each benchmark says what it reduced)
  --out PREFIX  write PREFIX.json and PREFIX.md (default docs/bench/latest)
  --keep        keep the benchmarks' temp dirs (data dirs, profiles) and print where
  --list        list the benchmarks and exit
  NAME          run only benchmarks whose name contains NAME (e.g. availability.query)
`;

function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    options: {
      quick: { type: "boolean", default: false },
      keep: { type: "boolean", default: false },
      out: { type: "string" },
      list: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    allowPositionals: true,
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (values.list) {
    for (const b of BENCHMARKS) process.stdout.write(`${b.name.padEnd(24)} ${b.title}\n`);
    return 0;
  }
  const selected =
    positionals.length === 0 ? BENCHMARKS : BENCHMARKS.filter((b) => positionals.some((name) => b.name.includes(name)));
  if (selected.length === 0) {
    process.stderr.write(
      `no benchmark matches ${positionals.join(", ")}; there are: ${BENCHMARKS.map((b) => b.name).join(", ")}\n`,
    );
    return 2;
  }
  const environment = describeEnvironment();
  const mode = values.quick ? "quick" : "full";
  log(
    `bench (${mode}): ${selected.map((b) => b.name).join(", ")} — Node ${environment.node}, ${environment.cores} cores`,
  );

  let cleanup = new Cleanup();
  const shared = new SharedSetups(values.keep);
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = true;
    log(`\n${signal}: cleaning up…`);
    void cleanup
      .run(log)
      .then(() => shared.release(new Set(), log))
      .finally(() => process.exit(130));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  // A rejection nobody handled (e.g. a library's timer firing late) is recorded and reported, not
  // allowed to end the run half-way with node processes and temp dirs left behind.
  const stray: string[] = [];
  process.on("unhandledRejection", (reason: unknown) => {
    const message = reason instanceof Error ? `${reason.name}: ${reason.message}` : String(reason);
    stray.push(message);
    log(`  (unhandled rejection, recorded: ${message})`);
  });

  const loadAtStart = loadavg().map((x) => Math.round(x * 100) / 100);
  const startedAt = new Date();
  const runStart = performance.now();
  const benchmarks: BenchmarkResult[] = [];
  for (const [index, benchmark] of selected.entries()) {
    log(`\n▶ ${benchmark.name}: ${benchmark.title}`);
    const start = performance.now();
    try {
      const current = cleanup;
      const outcome = await benchmark.run({
        quick: values.quick,
        environment,
        cleanup: current,
        tempDir: (prefix) => tempDir(prefix, current, values.keep),
        log,
        shared: (key, build) => {
          if (!benchmark.shares?.includes(key))
            throw new Error(`${benchmark.name} asks for the shared setup ${key} without listing it in its shares`);
          return shared.get(key, build);
        },
      });
      // Every figure says where it was measured, on top of what its benchmark says.
      const figures = outcome.figures.map((f) => ({
        ...f,
        conditions: { ...f.conditions, cores: environment.cores, node: environment.node },
      }));
      benchmarks.push({
        name: benchmark.name,
        title: benchmark.title,
        status: "ok",
        durationMs: performance.now() - start,
        ...outcome,
        figures,
      });
    } catch (error) {
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      log(`✖ ${benchmark.name} failed: ${message}`);
      benchmarks.push({
        name: benchmark.name,
        title: benchmark.title,
        status: "failed",
        error: error instanceof Error ? error.message : String(error),
        durationMs: performance.now() - start,
        conditions: {},
        figures: [],
        details: {},
        notes: [],
      });
    } finally {
      await cleanup.run(log);
      cleanup = new Cleanup();
      // A shared setup lives until the last benchmark of this run that shares it.
      await shared.release(new Set(selected.slice(index + 1).flatMap((b) => b.shares ?? [])), log);
    }
    log(`  (${Math.round((performance.now() - start) / 1000)} s)`);
  }
  const results: RunResults = {
    schema: 1,
    mode,
    filter: positionals,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    durationMs: performance.now() - runStart,
    environment,
    benchmarks,
    loadAverage: { start: loadAtStart, end: loadavg().map((x) => Math.round(x * 100) / 100) },
    unhandledRejections: stray,
  };
  const written = await writeResults(values.out ?? join(ROOT, "docs", "bench", "latest"), results);
  process.stdout.write(`\n${toConsoleTable(results)}\n`);
  process.stdout.write(
    `\n${mode} run in ${Math.round(results.durationMs / 1000)} s; results in ${written.json} and ${written.markdown}\n`,
  );
  return benchmarks.some((b) => b.status === "failed") ? 1 : 0;
}

// Exit explicitly: a client's or library's leftover handle must not keep the runner alive.
main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
