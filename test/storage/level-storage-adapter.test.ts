import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { Repo, type StorageKey } from "@automerge/automerge-repo";
import { runStorageAdapterTests } from "@automerge/automerge-repo/helpers/tests/storage-adapter-tests.js";
import { Level } from "level";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";

import { LevelStorageAdapter } from "../../node/storage/index.js";
import { NodeStore } from "../../node/storage/node-store.js";

// ---------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------

const makeTempDir = () => mkdtemp(join(tmpdir(), "concordat-level-"));
const removeDir = (dir: string) => rm(dir, { recursive: true, force: true });

/** Deterministic PRNG (mulberry32) so failures are reproducible. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function bytes(rand: () => number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = Math.floor(rand() * 256);
  return out;
}

function isPlainUint8Array(x: unknown): boolean {
  return x !== null && typeof x === "object" && Object.getPrototypeOf(x) === Uint8Array.prototype;
}

/** Fast byte-exact comparison (deep-equal on a 1 MiB array is very slow). */
function expectSameBytes(got: Uint8Array | undefined, want: Uint8Array): void {
  expect(isPlainUint8Array(got)).toBe(true);
  expect(got!.byteLength).toBe(want.byteLength);
  expect(Buffer.compare(Buffer.from(got!), Buffer.from(want))).toBe(0);
}

/**
 * Chunks as "key/parts=hexdata" strings: compact to compare, and a failing
 * assertion produces a readable diff quickly (diffing thousands of typed arrays
 * is extremely slow).
 */
const summary = (chunks: { key: StorageKey; data: Uint8Array | undefined }[]) =>
  chunks.map((c) => `${JSON.stringify(c.key)}=${c.data ? Buffer.from(c.data).toString("hex") : "-"}`);

const enc = (s: string) => new TextEncoder().encode(s);
const keysOf = (chunks: { key: StorageKey }[]) => chunks.map((c) => c.key);

// ---------------------------------------------------------------------------
// automerge-repo compliance suite
// ---------------------------------------------------------------------------

describe("compliance: own Level in a temp dir", () => {
  runStorageAdapterTests(async () => {
    const dir = await makeTempDir();
    const adapter = new LevelStorageAdapter(dir);
    return {
      adapter,
      teardown: async () => {
        await adapter.close();
        await removeDir(dir);
      },
    };
  }, "LevelStorageAdapter (own Level in a temp dir)");
});

describe("compliance: sublevel of a shared Level", () => {
  let dir: string;
  let shared: Level<string, Uint8Array>;
  let n = 0;

  beforeAll(async () => {
    dir = await makeTempDir();
    shared = new Level<string, Uint8Array>(dir, { valueEncoding: "view" });
    await shared.open();
  });
  afterAll(async () => {
    await shared.close();
    await removeDir(dir);
  });

  runStorageAdapterTests(async () => {
    // A fresh sublevel per test keeps the tests independent.
    const sub = shared.sublevel<string, Uint8Array>(`t${n++}`, {
      keyEncoding: "utf8",
      valueEncoding: "view",
    });
    const adapter = new LevelStorageAdapter(sub);
    return {
      adapter,
      teardown: async () => {
        await adapter.close();
        // The adapter must not close a database it was handed.
        expect(shared.status).toBe("open");
      },
    };
  }, "LevelStorageAdapter (sublevel of a shared Level)");
});

describe("compliance: the node's store (NodeStore.repoLevel, writes through its queue)", () => {
  runStorageAdapterTests(async () => {
    const dir = await makeTempDir();
    const store = await NodeStore.open(dir, { sync: false });
    const adapter = new LevelStorageAdapter(store.repoLevel());
    return {
      adapter,
      teardown: async () => {
        await adapter.close();
        await store.close();
        await removeDir(dir);
      },
    };
  }, "LevelStorageAdapter (NodeStore.repoLevel)");
});

// ---------------------------------------------------------------------------
// own tests
// ---------------------------------------------------------------------------

describe("LevelStorageAdapter", () => {
  let dir: string;
  const open: LevelStorageAdapter[] = [];
  /** New adapter on the test's temp dir, closed automatically after the test. */
  const openAdapter = (options?: { sync?: boolean }) => {
    const adapter = new LevelStorageAdapter(dir, options);
    open.push(adapter);
    return adapter;
  };

  beforeEach(async () => {
    dir = await makeTempDir();
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((a) => a.close()));
    await removeDir(dir);
  });

  it("returns undefined / [] for missing data", async () => {
    const adapter = openAdapter();
    expect(await adapter.load(["nope"])).toBeUndefined();
    expect(await adapter.load(["a", "b", "c"])).toBeUndefined();
    expect(await adapter.loadRange(["nope"])).toEqual([]);
    expect(await adapter.loadRange([])).toEqual([]);
    await adapter.remove(["nope"]); // no-op, no error
    await adapter.removeRange(["nope"]);
  });

  it("stores 2,000 chunks across several prefixes; loadRange/removeRange are exact", async () => {
    const adapter = openAdapter();
    const rand = prng(1);
    const docs = ["docA", "docB", "docAB", "doc"]; // docA is a string prefix of docAB
    const kinds = ["snapshot", "incremental", "sync-state"];
    const expected = new Map<string, { key: StorageKey; data: Uint8Array }[]>();
    const writes: Promise<void>[] = [];
    for (let i = 0; i < 2000; i++) {
      const doc = docs[i % docs.length]!;
      const kind = kinds[Math.floor(rand() * kinds.length)]!;
      const key = [doc, kind, `h${(1999 - i).toString().padStart(4, "0")}`];
      const data = bytes(rand, Math.floor(rand() * 300));
      writes.push(adapter.save(key, data));
      for (const p of [doc, `${doc}/${kind}`]) {
        if (!expected.has(p)) expected.set(p, []);
        expected.get(p)!.push({ key, data });
      }
    }
    await Promise.all(writes);

    const range = (prefix: StorageKey) => adapter.loadRange(prefix).then(summary);
    expect((await adapter.loadRange([])).length).toBe(2000);
    for (const doc of docs) {
      // Exact set, byte-identical, in insertion order.
      expect(await range([doc])).toEqual(summary(expected.get(doc)!));
      for (const kind of kinds) {
        expect(await range([doc, kind])).toEqual(summary(expected.get(`${doc}/${kind}`) ?? []));
      }
    }

    await adapter.removeRange(["docA", "incremental"]);
    await adapter.removeRange(["doc"]);
    expect(await range(["docA", "incremental"])).toEqual([]);
    expect(await range(["doc"])).toEqual([]);
    expect(await range(["docA"])).toEqual(summary(expected.get("docA")!.filter((c) => c.key[1] !== "incremental")));
    expect(await range(["docAB"])).toEqual(summary(expected.get("docAB")!));
    expect(await range(["docB"])).toEqual(summary(expected.get("docB")!));
    const survivors = 2000 - 500 - expected.get("docA/incremental")!.length;
    expect((await adapter.loadRange([])).length).toBe(survivors);
  });

  it("returns byte-identical plain Uint8Arrays (not Buffers) and snapshots input on save", async () => {
    const adapter = openAdapter();
    const rand = prng(2);
    const big = bytes(rand, 1 << 20);
    const backing = bytes(rand, 64);
    const cases: [string, Uint8Array][] = [
      ["empty", new Uint8Array(0)],
      ["zeros", new Uint8Array(17)],
      ["all-bytes", Uint8Array.from({ length: 256 }, (_, i) => i)],
      ["big", big],
      ["buffer", Buffer.from([9, 8, 7, 0, 255])],
      ["view-with-offset", backing.subarray(5, 40)],
    ];
    for (const [name, data] of cases) await adapter.save(["bin", name], data);

    for (const [name, data] of cases) {
      expectSameBytes(await adapter.load(["bin", name]), data);
    }
    const range = await adapter.loadRange(["bin"]);
    expect(range.map((c) => c.key[1])).toEqual(cases.map(([n]) => n));
    for (const [i, chunk] of range.entries()) {
      expectSameBytes(chunk.data, cases[i]![1]);
    }

    // Mutating the caller's array after save() must not change what is stored.
    const mutable = Uint8Array.of(1, 2, 3);
    const saved = adapter.save(["mut"], mutable);
    mutable[0] = 42;
    await saved;
    expect(await adapter.load(["mut"])).toStrictEqual(Uint8Array.of(1, 2, 3));
    // ...and mutating a returned array must not affect the next load.
    const first = (await adapter.load(["mut"]))!;
    first[1] = 99;
    expect(await adapter.load(["mut"])).toStrictEqual(Uint8Array.of(1, 2, 3));
  });

  it("keeps prefixes isolated by component (['a'] vs ['ab']) incl. separator-like characters", async () => {
    const adapter = openAdapter();
    const keys: StorageKey[] = [
      ["a"],
      ["a", "b"],
      ["a", "b", "c"],
      ["ab"],
      ["ab", "c"],
      ["a", ""],
      ["", "a"],
      ["a\u0000b"],
      ["a", "\u0000b"],
      ["a\u0001", "b"],
      ["a\u0001\u0001"],
      ["a/b"],
      ["a:b", "ünï©ødé 🚀"],
    ];
    for (const [i, key] of keys.entries()) await adapter.save(key, Uint8Array.of(i));

    // Every key round-trips to its own value.
    for (const [i, key] of keys.entries()) {
      expect(await adapter.load(key)).toStrictEqual(Uint8Array.of(i));
    }
    expect(keysOf(await adapter.loadRange([]))).toEqual(keys);
    expect(keysOf(await adapter.loadRange(["a"]))).toEqual([
      ["a"],
      ["a", "b"],
      ["a", "b", "c"],
      ["a", ""],
      ["a", "\u0000b"],
    ]);
    expect(keysOf(await adapter.loadRange(["a", "b"]))).toEqual([
      ["a", "b"],
      ["a", "b", "c"],
    ]);
    expect(keysOf(await adapter.loadRange(["ab"]))).toEqual([["ab"], ["ab", "c"]]);
    expect(keysOf(await adapter.loadRange(["a\u0001"]))).toEqual([["a\u0001", "b"]]);
    expect(keysOf(await adapter.loadRange([""]))).toEqual([["", "a"]]);

    await adapter.removeRange(["a"]);
    expect(keysOf(await adapter.loadRange([]))).toEqual(keys.filter((k) => k[0] !== "a"));
    await adapter.remove(["ab"]);
    expect(await adapter.load(["ab"])).toBeUndefined();
    expect(await adapter.load(["ab", "c"])).toStrictEqual(Uint8Array.of(4));
  });

  it("persists data and insertion order across reopen; new inserts sort after old ones", async () => {
    const first = openAdapter();
    // Insert in reverse lexicographic order so key order != insertion order.
    const before = Array.from({ length: 50 }, (_, i) => ["doc", "incremental", `k${String(49 - i).padStart(2, "0")}`]);
    for (const key of before) await first.save(key, enc(key.join("/")));
    // Overwriting moves a key to the end ("order of last write").
    await first.save(before[0]!, enc("rewritten"));
    await first.close();

    const second = openAdapter();
    const expectedBefore = [...before.slice(1), before[0]!];
    const loaded = await second.loadRange(["doc"]);
    expect(keysOf(loaded)).toEqual(expectedBefore);
    expect(loaded.at(-1)!.data).toStrictEqual(enc("rewritten"));
    expect(loaded[0]!.data).toStrictEqual(enc(before[1]!.join("/")));

    // Lexicographically smallest keys, inserted after reopen: must come last.
    const after = [
      ["doc", "incremental", "a1"],
      ["doc", "incremental", "a0"],
    ];
    for (const key of after) await second.save(key, enc(key.join("/")));
    expect(keysOf(await second.loadRange(["doc"]))).toEqual([...expectedBefore, ...after]);
    await second.close();

    // Still true after a second reopen.
    const third = openAdapter();
    expect(keysOf(await third.loadRange(["doc", "incremental"]))).toEqual([...expectedBefore, ...after]);
  });

  it("applies hundreds of concurrent saves/removes in call order (last write per key wins)", async () => {
    const adapter = openAdapter();
    const rand = prng(3);
    const keyPool: StorageKey[] = Array.from({ length: 24 }, (_, i) => [`d${i % 4}`, "incremental", `k${i}`]);
    // Model of the expected state: encoded key -> last written value (insertion order = Map order).
    const model = new Map<string, { key: StorageKey; data: Uint8Array }>();
    const ops: Promise<void>[] = [];
    for (let i = 0; i < 600; i++) {
      const key = keyPool[Math.floor(rand() * keyPool.length)]!;
      const id = JSON.stringify(key);
      const r = rand();
      if (r < 0.65) {
        const data = Uint8Array.of(i & 0xff, i >> 8, Math.floor(rand() * 256));
        ops.push(adapter.save(key, data));
        model.delete(id); // an overwrite moves the key to the end
        model.set(id, { key, data });
      } else if (r < 0.97) {
        ops.push(adapter.remove(key));
        model.delete(id);
      } else {
        const prefix = key.slice(0, 1);
        ops.push(adapter.removeRange(prefix));
        for (const [k, v] of model) if (v.key[0] === prefix[0]) model.delete(k);
      }
    }
    // A read issued without awaiting the writes still observes all of them.
    const [rangeDuring] = await Promise.all([adapter.loadRange([]), ...ops]);

    const expected = summary([...model.values()]);
    expect(summary(rangeDuring)).toEqual(expected);
    expect(summary(await adapter.loadRange([]))).toEqual(expected);
    for (const key of keyPool) {
      expect(await adapter.load(key)).toEqual(model.get(JSON.stringify(key))?.data);
    }
  });

  it("works with sync: true", async () => {
    const adapter = openAdapter({ sync: true });
    await Promise.all(Array.from({ length: 20 }, (_, i) => adapter.save(["s", `${i}`], Uint8Array.of(i))));
    expect((await adapter.loadRange(["s"])).map((c) => c.data?.[0])).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it("close() is idempotent and later operations reject", async () => {
    const adapter = openAdapter();
    await adapter.save(["x"], Uint8Array.of(1));
    await Promise.all([adapter.close(), adapter.close()]);
    await adapter.close();
    await expect(adapter.load(["x"])).rejects.toThrow(/closed/);
    await expect(adapter.save(["x"], Uint8Array.of(2))).rejects.toThrow(/closed/);
    await expect(adapter.removeRange(["x"])).rejects.toThrow(/closed/);
  });

  it("sublevels of one Level are isolated and the parent stays open", async () => {
    // Parent with default (utf8) encodings: the adapter passes its own encodings.
    const db = new Level(dir);
    try {
      const a = new LevelStorageAdapter(db.sublevel("a"));
      const b = new LevelStorageAdapter(db.sublevel<string, Uint8Array>("b", { valueEncoding: "view" }));
      const raw = Uint8Array.of(0, 0xff, 0xc3, 0x28); // invalid UTF-8 must survive
      await a.save(["k"], raw);
      await b.save(["k"], Uint8Array.of(2));
      await b.save(["k2"], Uint8Array.of(3));
      expect(await a.load(["k"])).toStrictEqual(raw);
      expect(keysOf(await a.loadRange([]))).toEqual([["k"]]);
      await b.removeRange([]);
      expect(await b.loadRange([])).toEqual([]);
      expect(await a.load(["k"])).toStrictEqual(raw);
      await a.close();
      await b.close();
      expect(db.status).toBe("open");
    } finally {
      await db.close();
    }
  });

  it("end to end: a Repo persists a document and a new Repo finds it after reopen", async () => {
    type Doc = { title: string; items: string[]; count: number };

    const adapter1 = openAdapter();
    const repo1 = new Repo({ storage: adapter1, network: [] });
    // The Repo's own constructor asks for its storage id too, and automerge-repo generates and
    // saves one per concurrent first call, so read the id that stays only after flushing.
    expect(await repo1.storageId()).toBeTypeOf("string");
    const handle = repo1.create<Doc>({ title: "draft", items: [], count: 0 });
    for (let i = 0; i < 5; i++) {
      handle.change((d) => {
        d.items.push(`item ${i}`);
        d.count += 1;
      });
    }
    handle.change((d) => {
      d.title = "final";
    });
    await repo1.flush();
    const storageId = await repo1.storageId();
    await repo1.shutdown();
    await adapter1.close();

    const adapter2 = openAdapter();
    const repo2 = new Repo({ storage: adapter2, network: [] });
    try {
      const found = await repo2.find<Doc>(handle.documentId);
      expect(found.doc()).toEqual({
        title: "final",
        items: ["item 0", "item 1", "item 2", "item 3", "item 4"],
        count: 5,
      });
      expect(await repo2.storageId()).toBe(storageId);
    } finally {
      await repo2.shutdown();
    }
  });
});
