import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NodeStore } from "../../node/storage/index.js";
import { draft } from "../helpers/federation.js";
import { startTestNode, type TestNode } from "../helpers/harness.js";

/**
 * Deployments in the persisted availability index: a restart loads them from the chunks (decoding
 * no record), and a chunk written before they were kept (version 2, no deployments in it) is not
 * trusted: its roster document is read again, so "delivered this module before" finds the trainer.
 */
const CHUNK = "availability/chunk/";
const WINDOW = [{ start: "2027-01-01T00:00:00Z", end: "2027-03-01T00:00:00Z" }];
const QUERY = {
  range: { start: Date.parse("2027-02-01T00:00:00Z"), end: Date.parse("2027-02-03T00:00:00Z") },
  deliveredModule: "M-HR",
};

describe("deployments in the persisted availability index", () => {
  let node: TestNode;
  let dataDir: string;
  const found = async (n: TestNode) => {
    const answer = await n.running.availability.find(QUERY, { size: 10, offset: 0 });
    return answer.trainers.map((t) => t.id);
  };

  beforeAll(async () => {
    node = await startTestNode();
    dataDir = node.dataDir;
    const roster = node.running.roster;
    for (const id of ["P-1", "P-2"]) await roster.add({ ...draft(id), availability: WINDOW }, "op");
    await roster.addDeployment(
      "P-1",
      {
        from: "2025-01-10",
        to: "2025-01-20",
        role: "lead-trainer",
        place: "Nairobi",
        country: "KE",
        module: "M-HR",
        hub: "",
        mission: "",
      },
      "op",
    );
    await node.running.availability.idle();
    expect(await found(node)).toEqual(["P-1"]);
  });
  afterAll(async () => {
    await node?.cleanup();
  });

  it("a restart loads the deployments from the chunks, decoding no record", async () => {
    await node.restart();
    await node.running.availability.idle();
    expect(node.running.availability.decodedSinceStart).toBe(0);
    expect(await found(node)).toEqual(["P-1"]);
    const hub = node.running.config.hub.id;
    expect(node.running.availability.indexed(hub, "P-1")?.deployments).toEqual([
      { module: "M-HR", country: "KE", end: Date.parse("2025-01-21T00:00:00Z") },
    ]);
  });

  it("a chunk of the version before deployments is read again from its roster document", async () => {
    await node.stop();
    // Chunks as the previous version wrote them: version 2, records of 11 fields.
    const store = await NodeStore.open(join(dataDir, "db"), { sync: false });
    try {
      const chunks = await store.meta.iterator({ gt: CHUNK, lt: `${CHUNK}~` }).all();
      expect(chunks.length).toBeGreaterThan(0);
      await store.batch(
        chunks.map(([key, value]) => {
          const chunk = value as { v: number; t: unknown[][] };
          return {
            type: "put" as const,
            sublevel: store.meta,
            key,
            value: { ...chunk, v: 2, t: chunk.t.map((record) => record.slice(0, 11)) },
          };
        }),
      );
    } finally {
      await store.close();
    }
    await node.restart();
    await node.running.availability.idle();
    expect(node.running.availability.decodedSinceStart).toBeGreaterThan(0);
    expect(await found(node)).toEqual(["P-1"]);
  });
});
