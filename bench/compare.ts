/**
 * Two full runs side by side, for a change that must not move the figures (a refactoring) or that
 * claims to move them: `npm run bench:compare -- BEFORE.json AFTER.json [--out FILE.md]`. Each file is
 * what `npm run bench -- --out PREFIX` wrote. Prints Markdown: per figure, before, after and
 * after ÷ before, with both runs' commits and load averages (other work on the machine moves every
 * figure, so read a ratio against them).
 */
import { readFile, writeFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { formatNumber, formatValue } from "./lib/report.js";
import type { RunResults } from "./lib/types.js";

/** A change of more than this factor either way is marked, so the eye finds it. */
const MARK = 1.25;

async function load(path: string): Promise<RunResults> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, "utf8"));
  } catch (error) {
    throw new Error(`${path}: not a benchmark results file (${(error as Error).message})`);
  }
  const results = parsed as Partial<RunResults>;
  if (results.schema !== 1 || !Array.isArray(results.benchmarks) || results.environment === undefined) {
    throw new Error(`${path}: not a benchmark results file (schema 1 with benchmarks and environment expected)`);
  }
  return results as RunResults;
}

function describeRun(label: string, run: RunResults): string {
  const env = run.environment;
  const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(" / ");
  return (
    `- ${label}: commit \`${env.commit.slice(0, 7)}\`${env.dirty ? " (uncommitted changes)" : ""}, ${run.mode} run ` +
    `of ${Math.round(run.durationMs / 1000)} s started ${run.startedAt}, ${env.cores} cores, Node ${env.node}, ` +
    `load average ${load(run.loadAverage.start)} at the start and ${load(run.loadAverage.end)} at the end`
  );
}

export function compare(before: RunResults, after: RunResults): string {
  const lines = [
    "# Benchmarks: two runs side by side",
    "",
    describeRun("before", before),
    describeRun("after", after),
    "",
    `after ÷ before is the change of the figure itself (for times, below 1 is faster); ` +
      `a change beyond ${MARK}× either way is marked ◆.`,
    "",
  ];
  const names = [...new Set([...before.benchmarks, ...after.benchmarks].map((b) => b.name))];
  for (const name of names) {
    const b = before.benchmarks.find((x) => x.name === name);
    const a = after.benchmarks.find((x) => x.name === name);
    lines.push(`## ${name}`, "");
    if (!b || !a || b.status !== "ok" || a.status !== "ok") {
      const state = (r: typeof b) =>
        r === undefined ? "not run" : r.status === "ok" ? "ok" : `failed: ${r.error ?? ""}`;
      lines.push(`before: ${state(b)}; after: ${state(a)}`, "");
      if (!b || !a) continue;
    }
    lines.push("| figure | before | after | after ÷ before |", "|---|---:|---:|---:|");
    const figureNames = [...new Set([...b.figures, ...a.figures].map((f) => f.name))];
    for (const figureName of figureNames) {
      const fb = b.figures.find((f) => f.name === figureName);
      const fa = a.figures.find((f) => f.name === figureName);
      const show = (f: typeof fb) => (f === undefined ? "—" : formatValue(f.ours, f.unit));
      let ratio = "—";
      if (fb && fa && fb.ours !== 0) {
        const r = fa.ours / fb.ours;
        ratio = `${formatNumber(r)}×${r > MARK || r < 1 / MARK ? " ◆" : ""}`;
      }
      lines.push(`| ${figureName} | ${show(fb)} | ${show(fa)} | ${ratio} |`);
    }
    lines.push("");
  }
  return `${lines.join("\n")}\n`;
}

async function main(): Promise<number> {
  const usage = "usage: npm run bench:compare -- BEFORE.json AFTER.json [--out FILE.md]\n";
  let parsed: ReturnType<typeof parseArgs<{ options: { out: { type: "string" } }; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ options: { out: { type: "string" } }, allowPositionals: true });
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${usage}`);
    return 2;
  }
  const [beforePath, afterPath, ...rest] = parsed.positionals;
  if (beforePath === undefined || afterPath === undefined || rest.length > 0) {
    process.stderr.write(usage);
    return 2;
  }
  try {
    const text = compare(await load(beforePath), await load(afterPath));
    if (parsed.values.out) await writeFile(parsed.values.out, text);
    process.stdout.write(text);
    return 0;
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    return 1;
  }
}

if (process.argv[1]?.endsWith("compare.js")) process.exitCode = await main();
