/**
 * bulk.import: a hub's roster of N trainers imported from a CSV file through the real CLI
 * (`concordat --data DIR --json trainers import FILE`, its own process) into a running node (a
 * `concordat start` process on 127.0.0.1). Each run uses a fresh data dir: the node starts empty,
 * the CLI reads and checks the file, streams it to ImportTrainers, the node validates every row and
 * writes them all in one transaction. Timed from the CLI's spawn to its exit; the resident memory
 * of both processes is sampled from /proc every 25 ms (and the node's VmHWM reset before the
 * import, the CLI's ru_maxrss read at its exit).
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { liveNodes, type NodeProcess } from "../lib/nodes.js";
import { median, round } from "../lib/stats.js";
import { figure, type Benchmark, type BenchmarkContext, type BenchmarkOutcome, type Figure } from "../lib/types.js";
import {
  cpuMsOf,
  initHub,
  logTime,
  memoryOf,
  resetPeak,
  RssSampler,
  runCli,
  sleep,
  startNode,
  writeNetwork,
} from "./harness.js";
import { writeRosterCsv, type RosterFile } from "./roster-file.js";

interface Plan {
  trainers: number;
  runs: number;
}

const FULL: Plan = { trainers: 10_000, runs: 3 };
const QUICK: Plan = { trainers: 2_000, runs: 1 };
export const IMPORT_HUB = "hub-bulk";
/** The node is watched this long after the CLI exits: the signed checkpoints of the new roster. */
const AFTERMATH_MS = 3_000;
const CLI_TIMEOUT_MS = 5 * 60_000;

export interface ImportRun {
  wallMs: number;
  trainersPerSecond: number;
  /** CLI spawn to the node's "importing trainers" log line (file read and checked, rows sent, validated), ms. */
  untilTransactionMs?: number;
  /** From that line to the CLI's exit (automerge writes, LevelDB batch, the reply, the CLI's exit), ms. */
  transactionToExitMs?: number;
  nodeIdleRssMb?: number;
  nodePeakRssMb?: number;
  /** Including the AFTERMATH_MS after the CLI's exit. */
  nodePeakRssWithAftermathMb?: number;
  nodeRssAfterMb?: number;
  nodeCpuMs?: number;
  cliPeakRssMb?: number;
  cliSampledPeakRssMb?: number;
  cliCpuMs?: number;
  peakResetWorked: boolean;
}

const mb = (kb: number | undefined) => (kb === undefined ? undefined : round(kb / 1024, 1));

/** One import of `file` into a fresh node in `dataDir`; `node` (already started) is not stopped. */
export async function importOnce(
  node: { proc: NodeProcess; dataDir: string },
  file: RosterFile,
  rssFile: string,
): Promise<ImportRun & { spawnedAt: number; exitedAt: number }> {
  const pid = node.proc.child.pid;
  const idle = await memoryOf(pid);
  const peakResetWorked = await resetPeak(pid);
  const cpuBefore = await cpuMsOf(pid);
  let cliPid: number | undefined;
  const sampler = new RssSampler(() => [pid, cliPid]);
  const cli = await runCli(
    ["--data", node.dataDir, "--json", "trainers", "import", file.path],
    rssFile,
    CLI_TIMEOUT_MS,
    (p) => (cliPid = p),
  );
  const atExit = await memoryOf(pid);
  const cpuAfter = await cpuMsOf(pid);
  const sampledAtExit = sampler.maxKb(pid);
  if (cli.code !== 0) throw new Error(`the CLI exited with ${cli.code}: ${cli.stderr.slice(-2000)}`);
  const result = JSON.parse(cli.stdout) as { imported: number; committed: boolean; errors: unknown[] };
  if (!result.committed || result.imported !== file.trainers)
    throw new Error(
      `imported ${result.imported} of ${file.trainers} (committed: ${result.committed}): ${JSON.stringify(result.errors.slice(0, 3))}`,
    );
  await sleep(AFTERMATH_MS);
  await sampler.stop();
  const after = await memoryOf(pid);
  const wallMs = cli.exitedAt - cli.spawnedAt;
  const transaction = logTime(node.proc, "importing trainers", cli.spawnedAt - 1);
  const run: ImportRun & { spawnedAt: number; exitedAt: number } = {
    spawnedAt: cli.spawnedAt,
    exitedAt: cli.exitedAt,
    wallMs,
    trainersPerSecond: file.trainers / (wallMs / 1000),
    peakResetWorked,
  };
  if (transaction !== undefined) {
    run.untilTransactionMs = transaction - cli.spawnedAt;
    run.transactionToExitMs = cli.exitedAt - transaction;
  }
  const nodeIdle = mb(idle?.rssKb);
  if (nodeIdle !== undefined) run.nodeIdleRssMb = nodeIdle;
  // VmHWM was reset to the idle RSS before the import (if allowed): it is then the import's peak.
  const peakAtExit = Math.max(sampledAtExit ?? 0, peakResetWorked ? (atExit?.hwmKb ?? 0) : (atExit?.rssKb ?? 0));
  if (peakAtExit > 0) run.nodePeakRssMb = mb(peakAtExit) as number;
  const peakAll = Math.max(peakAtExit, sampler.maxKb(pid) ?? 0, peakResetWorked ? (after?.hwmKb ?? 0) : 0);
  if (peakAll > 0) run.nodePeakRssWithAftermathMb = mb(peakAll) as number;
  const nodeAfter = mb(after?.rssKb);
  if (nodeAfter !== undefined) run.nodeRssAfterMb = nodeAfter;
  if (cpuBefore !== undefined && cpuAfter !== undefined) run.nodeCpuMs = cpuAfter - cpuBefore;
  const cliPeak = mb(cli.peakRssKb);
  if (cliPeak !== undefined) run.cliPeakRssMb = cliPeak;
  const cliSampled = mb(sampler.maxKb(cli.pid));
  if (cliSampled !== undefined) run.cliSampledPeakRssMb = cliSampled;
  if (cli.cpuMs !== undefined) run.cliCpuMs = cli.cpuMs;
  return run;
}

/** A fresh data dir for a node with libp2p off: a hub importing its roster before it joins anyone. */
export async function standaloneHub(dataDir: string, hubId = IMPORT_HUB): Promise<void> {
  await initHub(dataDir, hubId);
  await writeNetwork(dataDir, { listen: [], grpc: false, peers: [] });
}

export const bulkImport: Benchmark = {
  name: "bulk.import",
  title: "Bulk: a roster CSV imported through the CLI into a running node",
  async run(context: BenchmarkContext): Promise<BenchmarkOutcome> {
    const plan = context.quick ? QUICK : FULL;
    const { cleanup, log } = context;
    const work = await context.tempDir("concordat-bench-bulk-");
    const live = liveNodes(cleanup);
    const fileStart = performance.now();
    const file = await writeRosterCsv(join(work, "roster.csv"), IMPORT_HUB, plan.trainers);
    const fileMs = performance.now() - fileStart;
    const label = `${plan.trainers.toLocaleString("en")} trainers`;
    log(`  ${label}: CSV of ${round(file.bytes / 1024 / 1024, 1)} MiB written (${Math.round(fileMs)} ms)`);

    // The CLI's fixed cost: the same command on a file with the header row only (nothing to write).
    const empty = join(work, "empty.csv");
    await writeFile(empty, `${(await readFile(file.path, "utf8")).split("\n", 1)[0]}\n`);
    const fixed: Array<{ wallMs: number; peakRssMb?: number }> = [];

    const runs: ImportRun[] = [];
    for (let r = 0; r < plan.runs; r += 1) {
      const dataDir = join(work, `node-${r + 1}`);
      await standaloneHub(dataDir);
      const node = await startNode(dataDir, live, { loopFile: join(work, `loop-${r + 1}.txt`) });
      try {
        await node.probe.warmUp();
        const header = await runCli(
          ["--data", dataDir, "--json", "trainers", "import", empty],
          join(work, `cli-empty-${r + 1}.json`),
          CLI_TIMEOUT_MS,
        );
        if (header.code !== 0) throw new Error(`the CLI failed on a header-only file: ${header.stderr.slice(-1000)}`);
        const peakMb = mb(header.peakRssKb);
        fixed.push({
          wallMs: header.exitedAt - header.spawnedAt,
          ...(peakMb !== undefined ? { peakRssMb: peakMb } : {}),
        });
        await sleep(1_000); // let the start-up settle before the idle reading
        const { spawnedAt: _s, exitedAt: _e, ...run } = await importOnce(node, file, join(work, `cli-${r + 1}.json`));
        const status = await node.probe.status();
        if (status.trainerCount !== plan.trainers)
          throw new Error(
            `the node counts ${status.trainerCount} trainers after the import, expected ${plan.trainers}`,
          );
        runs.push(run);
        log(
          `  ${label}: run ${r + 1}: ${round(run.wallMs / 1000, 2)} s (${Math.round(run.trainersPerSecond)} trainers/s), ` +
            `node peak RSS ${run.nodePeakRssWithAftermathMb ?? run.nodePeakRssMb ?? "?"} MiB (idle ${run.nodeIdleRssMb ?? "?"} MiB), CLI peak ${run.cliPeakRssMb ?? "?"} MiB`,
        );
      } finally {
        await node.stop();
      }
    }

    const conditions = {
      trainers: plan.trainers,
      runs: plan.runs,
      fileMB: round(file.bytes / 1024 / 1024, 2),
      format: "csv with private columns",
      transport: "gRPC on 127.0.0.1",
    };
    const values = (pick: (r: ImportRun) => number | undefined) =>
      runs.map(pick).filter((x): x is number => x !== undefined);
    const figures: Figure[] = [
      figure({
        name: `import of ${label}, CLI spawn to exit, median of ${plan.runs}`,
        unit: "s",
        ours: round(median(runs.map((r) => r.wallMs)) / 1000, 2),
        conditions,
      }),
      figure({
        name: `import of ${label}, throughput, median of ${plan.runs}`,
        unit: "trainers/s",
        ours: Math.round(median(runs.map((r) => r.trainersPerSecond))),
        conditions,
      }),
    ];
    const nodePeak = values((r) => r.nodePeakRssWithAftermathMb ?? r.nodePeakRssMb);
    if (nodePeak.length > 0)
      figures.push(
        figure({
          name: `node's peak resident memory during the import of ${label} and ${AFTERMATH_MS / 1000} s after, highest of ${plan.runs}`,
          unit: "MiB",
          ours: Math.max(...nodePeak),
          conditions,
        }),
      );
    const nodeIdle = values((r) => r.nodeIdleRssMb);
    if (nodeIdle.length > 0)
      figures.push(
        figure({
          name: "node's resident memory before the import (idle, empty roster), median",
          unit: "MiB",
          ours: median(nodeIdle),
          conditions,
        }),
      );
    const nodeAfter = values((r) => r.nodeRssAfterMb);
    if (nodeAfter.length > 0)
      figures.push(
        figure({
          name: `node's resident memory ${AFTERMATH_MS / 1000} s after the import, median`,
          unit: "MiB",
          ours: median(nodeAfter),
          conditions,
        }),
      );
    const cliPeak = values((r) => r.cliPeakRssMb ?? r.cliSampledPeakRssMb);
    if (cliPeak.length > 0)
      figures.push(
        figure({
          name: `CLI's peak resident memory (ru_maxrss) importing ${label}, highest of ${plan.runs}`,
          unit: "MiB",
          ours: Math.max(...cliPeak),
          conditions,
        }),
      );
    figures.push(
      figure({
        name: "the same CLI command on a header-only file (its fixed cost), median",
        unit: "s",
        ours: round(median(fixed.map((f) => f.wallMs)) / 1000, 2),
        conditions: { ...conditions, trainers: 0 },
      }),
    );
    const fixedPeak = fixed.map((f) => f.peakRssMb).filter((x): x is number => x !== undefined);
    if (fixedPeak.length > 0)
      figures.push(
        figure({
          name: "the CLI's peak resident memory on a header-only file (modules loaded, connected), median",
          unit: "MiB",
          ours: median(fixedPeak),
          conditions: { ...conditions, trainers: 0 },
        }),
      );
    const split = runs.filter((r) => r.untilTransactionMs !== undefined);
    const notes = [
      "Each run: a fresh data dir, `concordat start` (libp2p off: a hub importing its roster on its own), then `concordat --data DIR --json trainers import roster.csv` as a separate process; the wall time runs from the CLI's spawn to its exit and includes its start-up (the header-only figure is that fixed cost: start-up, connecting, an empty import), reading and checking the file, streaming the rows, the node's validation and its one transaction.",
      "The CSV is the CLI's own format (written with its writer and read back whole before timing): trainers of the availability benchmarks plus e-mail, phone, sometimes a national id and notes (some quoted, with commas, quotes or a line break).",
      `Resident memory: VmRSS/VmHWM from /proc sampled every 25 ms; the node's VmHWM is reset before the import (clear_refs) when allowed${runs.every((r) => r.peakResetWorked) ? " (it was)" : " (it was not: the sampled maximum is used)"}; the CLI's peak is its ru_maxrss at exit.`,
    ];
    if (split.length > 0) {
      notes.push(
        `Where the time goes (median): ${Math.round(median(split.map((r) => r.untilTransactionMs as number)))} ms from the CLI's spawn to the node's "importing trainers" (CLI start-up, file read and checked, rows sent, every row validated by the node), ` +
          `${Math.round(median(split.map((r) => r.transactionToExitMs as number)))} ms from there to the CLI's exit (the roster's automerge changes, the LevelDB batch, the reply). ` +
          `CPU: node ${Math.round(median(values((r) => r.nodeCpuMs)))} ms, CLI ${Math.round(median(values((r) => r.cliCpuMs)))} ms (medians).`,
      );
    }
    if (context.quick)
      notes.push(
        `Quick run: ${label}, 1 run (full: ${FULL.trainers.toLocaleString("en")} trainers, ${FULL.runs} runs).`,
      );
    return {
      conditions: { trainers: plan.trainers, runs: plan.runs, mode: context.quick ? "quick" : "full" },
      figures,
      details: {
        fixedCost: fixed.map((f) => ({ wallMs: Math.round(f.wallMs), peakRssMb: f.peakRssMb })),
        file: { bytes: file.bytes, trainers: file.trainers, writeMs: Math.round(fileMs) },
        runs: runs.map((r) =>
          Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === "number" ? round(v, 1) : v])),
        ),
      },
      notes,
    };
  },
};
