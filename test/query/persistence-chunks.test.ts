import { join } from "node:path";
import { rm } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NodeStore, type StoreBatchOperation } from "../../node/storage/index.js";
import type { TrainerRecord } from "../../node/query/model.js";
import { startTestNode, type TestNode } from "../helpers/harness.js";
import { draft } from "../helpers/federation.js";

/**
 * The availability index is persisted as one chunk per roster document (docs/architecture.md): a
 * restart loads what was persisted, equal to what deriving everything again gives; a one-trainer
 * change rewrites one chunk; a store in the layout before the chunks (one JSON text per record) is
 * converted at its first start.
 */
const TRAINERS = 120;
const CHUNK = "availability/chunk/";
const REC = "availability/rec/";
const DOC = "availability/doc/";
const query = { range: { start: Date.parse("2027-02-01T00:00:00Z"), end: Date.parse("2027-02-03T00:00:00Z") } };
const window = [{ start: "2027-01-01T00:00:00Z", end: "2027-03-01T00:00:00Z" }];
const ids = Array.from({ length: TRAINERS }, (_, i) => `C-${i}`);

function snapshot(node: TestNode): Record<string, TrainerRecord | undefined> {
  const hub = node.running.config.hub.id;
  return Object.fromEntries(ids.map((id) => [id, node.running.availability.indexed(hub, id)]));
}

/** The `meta` entries under `prefix`, read with the node stopped. */
async function metaEntries(dataDir: string, prefix: string): Promise<Array<[string, unknown]>> {
  const store = await NodeStore.open(join(dataDir, "db"), { sync: false });
  try {
    return await store.meta.iterator({ gt: prefix, lt: `${prefix}~` }).all();
  } finally {
    await store.close();
  }
}

async function rewriteMeta(dataDir: string, ops: (store: NodeStore) => Promise<StoreBatchOperation[]>): Promise<void> {
  const store = await NodeStore.open(join(dataDir, "db"), { sync: false });
  try {
    await store.batch(await ops(store));
  } finally {
    await store.close();
  }
}

describe("the availability index persisted in chunks", () => {
  let node: TestNode;
  let dataDir: string;
  const others: TestNode[] = [];

  beforeAll(async () => {
    node = await startTestNode();
    dataDir = node.dataDir;
    await node.running.roster.import(
      ids.map((id, i) => ({ line: i + 2, trainer: { ...draft(id), availability: window } })),
      { skipInvalid: false, dryRun: false, upsert: false },
      "op",
    );
    await node.running.availability.idle();
  });
  afterAll(async () => {
    for (const other of others) await other.stop().catch(() => undefined);
    await node?.cleanup();
    await rm(dataDir, { recursive: true, force: true });
  });

  async function startAgain(): Promise<TestNode> {
    const again = await startTestNode({ dataDir });
    others.push(again);
    await again.running.availability.idle();
    return again;
  }

  it("a one-trainer change rewrites only its document's chunk, with that document's trainers", async () => {
    const store = node.running.store;
    const writes: StoreBatchOperation[] = [];
    const batch = store.batch.bind(store);
    store.batch = (operations, options) => {
      writes.push(...operations);
      return batch(operations, options);
    };
    try {
      await node.running.roster.update({ ...draft("C-3"), availability: [] }, ["availability"], "op");
      await node.running.availability.idle();
    } finally {
      store.batch = batch;
    }
    const chunks = writes.filter((w) => w.key.startsWith(CHUNK));
    expect(chunks).toHaveLength(1);
    const chunk = (chunks[0] as { value: { t: unknown[]; heads: string } }).value;
    expect(chunk.t.length).toBeGreaterThan(0);
    expect(chunk.t.length).toBeLessThan(TRAINERS);
    expect(chunk.heads).not.toBe("");
    expect(writes.some((w) => w.key.startsWith(REC))).toBe(false);
  });

  it("a restart loads the chunks, decoding nothing, and equals the index derived again from the documents", async () => {
    const before = snapshot(node);
    const answer = await node.running.availability.find(query, { size: 500, offset: 0 });
    await node.stop();
    const chunks = await metaEntries(dataDir, CHUNK);
    expect(chunks.length).toBeGreaterThanOrEqual(4);
    expect(chunks.reduce((n, [, v]) => n + (v as { t: unknown[] }).t.length, 0)).toBe(TRAINERS);
    expect(await metaEntries(dataDir, REC)).toEqual([]);

    const restarted = await startAgain();
    expect(restarted.running.availability.decodedSinceStart).toBe(0);
    expect(snapshot(restarted)).toEqual(before);
    expect(await restarted.running.availability.find(query, { size: 500, offset: 0 })).toEqual({
      ...answer,
      hubs: answer.hubs.map((h) => ({ ...h, time: expect.any(String) })),
    });
    await restarted.stop();

    // Nothing persisted: everything derived again from the documents gives the same index.
    const persisted = await metaEntries(dataDir, "availability/");
    await rewriteMeta(dataDir, async (store) =>
      persisted.map(([key]) => ({ type: "del" as const, sublevel: store.meta, key })),
    );
    const rederived = await startAgain();
    expect(rederived.running.availability.decodedSinceStart).toBe(TRAINERS);
    expect(snapshot(rederived)).toEqual(before);
    await rederived.stop();
  });

  it("a store in the layout before the chunks loads as it was, and is converted at its first start", async () => {
    const reference = await startAgain();
    const before = snapshot(reference);
    await reference.stop();
    // What the code before the chunks wrote: per trainer a JSON text under REC, per document its heads under DOC.
    const chunks = (await metaEntries(dataDir, CHUNK)) as Array<
      [string, { hub: string; heads: string; t: Array<[string, string, string, ...unknown[]]> }]
    >;
    await rewriteMeta(dataDir, async (store) => {
      const ops: StoreBatchOperation[] = [];
      for (const [key, chunk] of chunks) {
        const doc = key.slice(CHUNK.length);
        ops.push({ type: "del", sublevel: store.meta, key });
        ops.push({ type: "put", sublevel: store.meta, key: `${DOC}${doc}`, value: chunk.heads });
        for (const [id, digest, name, , , , , , , , issuers] of chunk.t) {
          const derived = before[id];
          ops.push({
            type: "put",
            sublevel: store.meta,
            key: `${REC}${chunk.hub}/${id}`,
            value: JSON.stringify({ doc, digest, name, derived, issuers }),
          });
        }
      }
      return ops;
    });
    expect(await metaEntries(dataDir, CHUNK)).toEqual([]);
    expect((await metaEntries(dataDir, REC)).length).toBe(TRAINERS);

    const upgraded = await startAgain();
    expect(upgraded.running.availability.decodedSinceStart).toBe(0);
    expect(snapshot(upgraded)).toEqual(before);
    await upgraded.stop();
    expect(await metaEntries(dataDir, REC)).toEqual([]);
    expect((await metaEntries(dataDir, CHUNK)).length).toBe(chunks.length);
    expect(
      (await metaEntries(dataDir, DOC)).filter(([k]) => chunks.some(([c]) => c.endsWith(k.slice(DOC.length)))),
    ).toEqual([]);

    // And the converted store starts as one written in chunks.
    const again = await startAgain();
    expect(again.running.availability.decodedSinceStart).toBe(0);
    expect(snapshot(again)).toEqual(before);
  });
});
