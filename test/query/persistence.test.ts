import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestNode, type TestNode } from "../helpers/harness.js";
import { draft } from "../helpers/federation.js";

/** The index is persisted with the heads it reflects: a restart answers at once and re-reads only what moved. */
describe("the availability index across restarts", () => {
  let node: TestNode;
  const query = { range: { start: Date.parse("2027-02-01T00:00:00Z"), end: Date.parse("2027-02-03T00:00:00Z") } };
  const window = [{ start: "2027-01-01T00:00:00Z", end: "2027-03-01T00:00:00Z" }];

  beforeAll(async () => {
    node = await startTestNode();
    await node.running.roster.import(
      Array.from({ length: 120 }, (_, i) => ({ line: i + 2, trainer: { ...draft(`P-${i}`), availability: window } })),
      { skipInvalid: false, dryRun: false, upsert: false },
      "op",
    );
    await node.running.availability.idle();
  });
  afterAll(async () => {
    await node?.cleanup();
  });

  it("answers after a restart without decoding a single unchanged record, and re-reads only what changed", async () => {
    const before = await node.running.availability.find(query, { size: 500, offset: 0 });
    expect(before.total).toBe(120);
    await node.restart();
    expect(node.running.availability.decodedSinceStart).toBe(0);
    expect(node.running.availability.size).toBe(120);
    const after = await node.running.availability.find(query, { size: 500, offset: 0 });
    expect(after.trainers.map((t) => t.id)).toEqual(before.trainers.map((t) => t.id));
    // One trainer changes: one record decoded; one removed: gone from the answer.
    await node.running.roster.update({ ...draft("P-7"), availability: [] }, ["availability"], "op");
    await node.running.roster.remove("P-8", "op");
    await node.running.availability.idle();
    expect(node.running.availability.decodedSinceStart).toBe(1);
    const changed = await node.running.availability.find(query, { size: 500, offset: 0 });
    expect(changed.total).toBe(118);
    await node.restart();
    expect(node.running.availability.size).toBe(119);
    expect((await node.running.availability.find(query, { size: 500, offset: 0 })).total).toBe(118);
  });
});
