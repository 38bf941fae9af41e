import { readFile } from "node:fs/promises";
import { afterEach, describe, expect, test } from "vitest";
import { shardOf } from "../../node/roster/index.js";
import { initDataDir } from "../../node/setup.js";
import { DEFAULT_CONFIG_URL, makeTempDir, startTestNode, type TestNode } from "../helpers/harness.js";

const MAX = 10;

async function smallShardNode(): Promise<TestNode> {
  const dataDir = await makeTempDir("concordat-growth-");
  const base = (await readFile(DEFAULT_CONFIG_URL, "utf8")).replace(
    /roster:\n(.*\n){2}/,
    `roster:\n  shards: 2\n  maxPerShard: ${MAX}\n`,
  );
  expect(base).toContain(`maxPerShard: ${MAX}`);
  await initDataDir({
    dataDir,
    hubId: "growing",
    name: "Growing hub",
    secretariat: false,
    baseConfig: base,
    baseConfigSource: "test",
  });
  return startTestNode({ dataDir });
}

function expectBounded(node: TestNode, expected: number): void {
  const roster = node.running.roster;
  const sizes = roster.shardSizes();
  expect(sizes.length).toBe(roster.shardCount);
  expect(Math.max(...sizes)).toBeLessThanOrEqual(MAX);
  expect(sizes.reduce((a, b) => a + b, 0)).toBe(expected);
  expect(roster.count()).toBe(expected);
}

const draft = (id: string) => ({
  id,
  displayName: `Trainer ${id}`,
  languages: [{ tag: "en", level: "B2" }],
  regions: ["KE"],
  accreditations: [],
  availability: [],
  blackouts: [],
  private: { email: `${id.toLowerCase()}@example.org`, phone: "", nationalId: "", notes: "" },
});

describe("the roster shards grow so that documents stay bounded", () => {
  const nodes: TestNode[] = [];
  afterEach(async () => {
    for (const n of nodes.splice(0)) await n.cleanup();
  });

  test("one add at a time: every shard stays within maxPerShard and every trainer stays readable", async () => {
    const node = await smallShardNode();
    nodes.push(node);
    expect(node.running.roster.shardCount).toBe(2);
    for (let i = 0; i < 60; i += 1) {
      await node.running.roster.add(draft(`G-${i}`), "op-1");
      expectBounded(node, i + 1);
    }
    const roster = node.running.roster;
    expect(roster.shardCount).toBeGreaterThanOrEqual(8);
    // The availability index follows records as they move between shards: none is lost.
    await node.running.availability.idle();
    expect(node.running.availability.size).toBe(60);
    for (let i = 0; i < 60; i += 1) {
      const t = roster.get(`G-${i}`, true);
      expect(t.private?.email).toBe(`g-${i}@example.org`);
    }
    // The documents agree with the hash: each record sits in shard hash(id) mod shardCount.
    const status = node.running.documents.describe().filter((d) => d.header.type === "roster");
    expect(status).toHaveLength(roster.shardCount);

    // History names the trainer's own changes only, not the moves the growth made.
    const moved = Array.from({ length: 60 }, (_, i) => `G-${i}`).find(
      (id) => shardOf(id, 2) !== shardOf(id, roster.shardCount),
    );
    expect(moved).toBeDefined();
    await roster.update({ ...draft(moved as string), displayName: "Renamed" }, ["display_name"], "op-2");
    expect(roster.history(moved as string).map((r) => [r.action, r.operatorId])).toEqual([
      ["trainer.add", "op-1"],
      ["trainer.update", "op-2"],
    ]);

    await node.restart();
    expectBounded(node, 60);
    // The index as persisted (one chunk per shard) has every trainer once, moved ones in their new shard's chunk.
    await node.running.availability.idle();
    expect(node.running.availability.decodedSinceStart).toBe(0);
    expect(node.running.availability.size).toBe(60);
    for (let i = 0; i < 60; i += 1)
      expect(node.running.availability.indexed(node.running.config.hub.id, `G-${i}`)).toBeDefined();
    expect(node.running.roster.get(moved as string, false).displayName).toBe("Renamed");
  });

  test("an import that needs several doublings does them in the same transaction", async () => {
    const node = await smallShardNode();
    nodes.push(node);
    const rows = Array.from({ length: 300 }, (_, i) => ({ line: i + 2, trainer: draft(`I-${i}`) }));
    const outcome = await node.running.roster.import(
      rows,
      { skipInvalid: false, dryRun: false, upsert: false },
      "op-1",
    );
    expect(outcome).toMatchObject({ imported: 300, committed: true });
    expectBounded(node, 300);
    expect(node.running.roster.shardCount).toBeGreaterThanOrEqual(32);
    await node.restart();
    expectBounded(node, 300);
    for (const { trainer } of rows)
      expect(node.running.roster.get(trainer.id, true).private?.email).toBe(trainer.private.email);
  });
});
