import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseConfig } from "../../node/config/index.js";
import { NodeStore } from "../../node/storage/node-store.js";

/** Every batch the store hands its (real) LevelDB: the options it passed and how many operations. */
function countBatches(store: NodeStore): Array<{ sync: boolean; operations: number }> {
  const seen: Array<{ sync: boolean; operations: number }> = [];
  const db = store.db;
  const batch = db.batch.bind(db) as (operations: unknown[], options: { sync?: boolean }) => Promise<void>;
  (db as unknown as { batch: typeof batch }).batch = (operations, options) => {
    seen.push({ sync: options?.sync === true, operations: operations.length });
    return batch(operations, options);
  };
  return seen;
}

describe("durable by default, one fsync per group commit", () => {
  let dir: string;
  let store: NodeStore | undefined;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "concordat-store-sync-"));
  });
  afterEach(async () => {
    await store?.close();
    store = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  it("storage.sync defaults to true", () => {
    expect(parseConfig({ hub: { id: "hub-a", name: "A" } }, "test").storage.sync).toBe(true);
  });

  it("N concurrent writes go to LevelDB as one synced batch, the Repo's among them", async () => {
    store = await NodeStore.open(join(dir, "db"), { sync: true });
    const seen = countBatches(store);
    const meta = store.meta;
    const repo = store.repoLevel();
    const n = 50;
    const writes = Array.from({ length: n }, (_, i) =>
      store?.batch([{ type: "put", sublevel: meta, key: `k${i}`, value: { i } }]),
    );
    // A Repo save (no fsync of its own) in the same turn joins the group.
    writes.push(
      repo.batch([{ type: "put", key: "r", value: new Uint8Array([1]) }], {
        keyEncoding: "utf8",
        valueEncoding: "view",
      }),
    );
    await Promise.all(writes);
    expect(seen).toEqual([{ sync: true, operations: n + 1 }]);
    expect(await meta.get("k49")).toEqual({ i: 49 });

    // Writes that arrive while a group is being written form the next group: again one fsync.
    seen.length = 0;
    const first = store.batch([{ type: "put", sublevel: meta, key: "first", value: 1 }]);
    await new Promise<void>((resolve) => setImmediate(resolve));
    const more = Array.from({ length: n }, (_, i) =>
      store?.batch([{ type: "put", sublevel: meta, key: `m${i}`, value: i }]),
    );
    await Promise.all([first, ...more]);
    expect(seen.length).toBeLessThanOrEqual(2);
    expect(seen.every((b) => b.sync)).toBe(true);
    expect(seen.reduce((sum, b) => sum + b.operations, 0)).toBe(n + 1);
  });

  it("the Repo's writes alone are not fsynced; the store's own are unless it is opened without sync", async () => {
    store = await NodeStore.open(join(dir, "db"), { sync: true });
    const seen = countBatches(store);
    await store
      .repoLevel()
      .batch([{ type: "put", key: "r", value: new Uint8Array([1]) }], { keyEncoding: "utf8", valueEncoding: "view" });
    await store.batch([{ type: "put", sublevel: store.meta, key: "a", value: 1 }]);
    await store.close();
    store = await NodeStore.open(join(dir, "db"), { sync: false });
    const unsynced = countBatches(store);
    await store.batch([{ type: "put", sublevel: store.meta, key: "b", value: 2 }]);
    expect(seen.map((b) => b.sync)).toEqual([false, true]);
    expect(unsynced.map((b) => b.sync)).toEqual([false]);
  });
});
