import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { initHub } from "../../bench/bulk/harness.js";
import { writeRosterCsv } from "../../bench/bulk/roster-file.js";
import { startNode, type StartedNode } from "../../bench/lib/nodes.js";
import { MAIN_THREAD_FLAGS, mainThreadBounded, SEMI_SPACE_MB } from "../../node/heap.js";
import { makeTempDir } from "../helpers/harness.js";
import { runCli } from "../helpers/process-node.js";

/** One gauge's value from a Prometheus text exposition (labels matched as written). */
function gauge(text: string, name: string, labels = ""): number | undefined {
  for (const line of text.split("\n")) {
    const match = /^([a-z_]+)(\{[^}]*\})?\s+(\S+)$/.exec(line);
    if (match?.[1] === name && (match[2] ?? "").includes(labels)) return Number(match[3]);
  }
  return undefined;
}

/**
 * Both threads of a node (the API's and the replica worker's) keep their young generation within
 * two semi-spaces of `SEMI_SPACE_MB` under an import, where V8 would grow each to 128 MiB and keep
 * it resident (node/heap.ts).
 */
describe("a node's young generations", () => {
  let root = "";
  let node: StartedNode | undefined;
  afterAll(async () => {
    await node?.kill();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it("stay bounded in both threads through a 3,000-trainer import, and the node says nothing of them", async () => {
    root = await makeTempDir("concordat-young-");
    const data = join(root, "hub");
    await initHub(data, "hub-young");
    node = await startNode(data, { loopback: true, env: { CONCORDAT_METRICS_PORT: "0" } });
    const file = await writeRosterCsv(join(root, "roster.csv"), "hub-young", 3_000);
    const imported = await runCli(["--data", data, "--json", "trainers", "import", file.path], { timeoutMs: 120_000 });
    expect(imported.code, imported.stderr).toBe(0);
    const runtime = JSON.parse(await readFile(join(data, "node.json"), "utf8")) as { metrics?: string };
    const response = await fetch(`http://${runtime.metrics}/metrics`, { signal: AbortSignal.timeout(10_000) });
    const text = await response.text();
    const bound = 2 * SEMI_SPACE_MB * 1024 * 1024;
    const main = gauge(text, "nodejs_heap_space_size_total_bytes", 'space="new"');
    const worker = gauge(text, "concordat_replica_new_space_bytes");
    expect(main).toBeGreaterThan(0);
    expect(main).toBeLessThanOrEqual(bound);
    expect(worker).toBeGreaterThan(0);
    expect(worker).toBeLessThanOrEqual(bound);
    // Started as the `concordat` command starts it: no note about an unbounded API thread.
    expect(node.stderr()).not.toMatch(/young generation/);
  });
});

describe("the flags a node is started with", () => {
  it("are in the `concordat` command's first line and in the npm scripts that start a node", async () => {
    const root = new URL("../../", import.meta.url);
    const entry = await readFile(new URL("cli/main.ts", root), "utf8");
    expect(entry.split("\n")[0]).toBe(`#!/usr/bin/env -S node ${MAIN_THREAD_FLAGS.join(" ")}`);
    const scripts = (
      JSON.parse(await readFile(new URL("package.json", root), "utf8")) as { scripts: Record<string, string> }
    ).scripts;
    for (const name of ["start", "concordat"])
      expect(scripts[name], name).toContain(`node ${MAIN_THREAD_FLAGS.join(" ")} dist/cli/main.js`);
  });

  it("are recognised on the command line or in NODE_OPTIONS, and missed when absent", () => {
    expect(mainThreadBounded(["--max-semi-space-size=8"], undefined)).toBe(true);
    expect(mainThreadBounded([], "--enable-source-maps --max_semi_space_size=4")).toBe(true);
    expect(mainThreadBounded(["--expose-gc"], "--max-old-space-size=512")).toBe(false);
  });
});
