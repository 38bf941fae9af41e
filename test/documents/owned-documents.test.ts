import { rm } from "node:fs/promises";
import { join } from "node:path";
import * as A from "@automerge/automerge";
import { generateAutomergeUrl, parseAutomergeUrl, type DocumentId } from "@automerge/automerge-repo";
import { Replica } from "../../node/replica/index.js";
import { waitUntil } from "../helpers/federation.js";
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  DocumentType,
  OwnedDocuments,
  type DocumentListing,
  type OwnedDocumentSpec,
} from "../../node/documents/index.js";
import { LevelStorageAdapter } from "../../node/storage/index.js";
import { NodeStore, type StoreBatchOperation } from "../../node/storage/node-store.js";
import { makeTempDir } from "../helpers/harness.js";

interface Counters {
  header: unknown;
  counters: Record<string, number>;
  [key: string]: unknown;
}

const SPECS: OwnedDocumentSpec[] = [
  { key: "roster/0", type: DocumentType.Roster, replicated: true, initial: { counters: {} } },
  { key: "private/roster", type: DocumentType.PrivateRoster, replicated: false, initial: { counters: {} } },
];

interface Opened {
  store: NodeStore;
  replica: Replica;
  repoStorage: LevelStorageAdapter;
  docs: OwnedDocuments;
  close(): Promise<void>;
}

/** A listing of a shape the documents do not know: `names` maps each listed id to its key. */
const INDEX_LISTING: DocumentListing = {
  key: "index",
  lists: (doc, id) => Object.hasOwn((doc as { names?: object }).names ?? {}, id),
  list: (doc, { id, key }) => {
    (doc.names as Record<string, unknown>)[id] = new A.ImmutableString(key);
  },
};
const INDEX_SPEC: OwnedDocumentSpec = {
  key: "index",
  type: DocumentType.Directory,
  replicated: true,
  initial: { names: {} },
};

async function openDocs(
  dir: string,
  options: { compactAfterChunks?: number; ensure?: boolean; listing?: DocumentListing } = {},
): Promise<Opened> {
  const store = await NodeStore.open(join(dir, "db"), { sync: false });
  const repoStorage = new LevelStorageAdapter(store.repo);
  const replica = new Replica({ peerId: "hub-a:test" }, { storage: repoStorage, logger: pino({ level: "silent" }) });
  await replica.start();
  const docs = new OwnedDocuments(
    {
      owner: "hub-a",
      ...(options.compactAfterChunks !== undefined ? { compactAfterChunks: options.compactAfterChunks } : {}),
      ...(options.listing ? { listing: options.listing } : {}),
    },
    { store, replica, repoStorage, logger: pino({ level: "silent" }) },
  );
  const close = async () => {
    await docs.idle();
    await replica.stop();
    await store.close();
  };
  try {
    await docs.open();
    if (options.ensure !== false) await docs.ensure(SPECS);
  } catch (error) {
    await replica.stop();
    await store.close();
    throw error;
  }
  return { store, replica, repoStorage, docs, close };
}

const idOf = (docs: OwnedDocuments, key: string): DocumentId => {
  const found = docs.describe().find((d) => d.key === key);
  if (!found) throw new Error(`no document ${key}`);
  return found.id;
};

/** The authoring copy as stored: every chunk under the document's id, loaded in key order. */
async function storedDoc(store: NodeStore, id: DocumentId): Promise<{ doc: A.Doc<Counters>; chunks: number }> {
  let doc = A.init<Counters>();
  let chunks = 0;
  for await (const [, value] of store.docs.iterator({ gt: `${id}/`, lt: `${id}/~` })) {
    doc = A.loadIncremental(doc, value);
    chunks += 1;
  }
  return { doc, chunks };
}

/** A transaction that sets `counters[name] = value` in one document. */
function setCounter(
  docs: OwnedDocuments,
  key: string,
  name: string,
  value: number,
  operatorId = "op-1",
): Promise<void> {
  return docs.transact({ operatorId, action: "test.set" }, () => ({
    edits: [{ key, subject: name, change: (d) => void ((d as unknown as Counters).counters[name] = value) }],
    result: undefined,
  }));
}

const plain = <T>(doc: A.Doc<T>): unknown => JSON.parse(JSON.stringify(doc));
const ticks = async (n = 20) => {
  for (let i = 0; i < n; i += 1) await new Promise<void>((resolve) => setImmediate(resolve));
};

let dir: string;
let opened: Opened | undefined;

beforeEach(async () => {
  dir = await makeTempDir("concordat-docs-");
});

afterEach(async () => {
  await opened?.close();
  opened = undefined;
  await rm(dir, { recursive: true, force: true });
});

describe("OwnedDocuments", () => {
  it("creates the documents once, with headers, and finds them again on reopen", async () => {
    opened = await openDocs(dir);
    const before = opened.docs.describe();
    expect(before.map((d) => [d.key, d.header, d.replicated])).toEqual([
      ["roster/0", { type: "roster", owner: "hub-a", schemaVersion: "1.0" }, true],
      ["private/roster", { type: "private-roster", owner: "hub-a", schemaVersion: "1.0" }, false],
    ]);
    await opened.close();
    opened = await openDocs(dir);
    expect(opened.docs.describe()).toEqual(before);
  });

  it("tells commit listeners the changed keys until they unsubscribe", async () => {
    opened = await openDocs(dir);
    const heard: string[][] = [];
    const unsubscribe = opened.docs.onCommit((keys) => heard.push(keys));
    await setCounter(opened.docs, "roster/0", "a", 1);
    unsubscribe();
    await setCounter(opened.docs, "roster/0", "b", 2);
    expect(heard).toEqual([["roster/0"]]);
  });

  it("transact persists to LevelDB before it resolves, and before the Repo copy sees the change", async () => {
    opened = await openDocs(dir);
    const { store, docs, replica } = opened;
    const id = idOf(docs, "roster/0");
    const published = async () =>
      (await replica.read(id, { path: ["counters"] }))?.value as Counters["counters"] | undefined;
    await waitUntil("the Repo's copy of roster/0", () => replica.heads(id) !== undefined);

    // Hold the batch: the transaction must not resolve, nor publish, while it is unwritten.
    const original = store.batch.bind(store);
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const events: string[] = [];
    store.batch = async (ops: StoreBatchOperation[]) => {
      await gate;
      await original(ops);
      events.push("written");
    };
    const done = setCounter(docs, "roster/0", "a", 1).then(() => events.push("resolved"));
    try {
      await ticks();
      expect(events).toEqual([]);
      expect((await published())?.a).toBeUndefined();
    } finally {
      // Never leave the batch held: a failed expectation must not hang the cleanup.
      release();
      await done;
      store.batch = original;
    }
    expect(events).toEqual(["written", "resolved"]);

    // What LevelDB holds right now has the change, and so has the Repo copy.
    expect((await storedDoc(store, id)).doc.counters).toEqual({ a: 1 });
    await waitUntil("the Repo's copy to have the change", async () => (await published())?.a === 1);

    // And a fresh process sees it.
    await opened.close();
    opened = await openDocs(dir);
    expect(opened.docs.get<Counters>("roster/0").counters).toEqual({ a: 1 });
  });

  it("writes a transaction over several documents in one LevelDB batch", async () => {
    opened = await openDocs(dir);
    const { store, docs } = opened;
    const original = store.batch.bind(store);
    const batches: number[] = [];
    store.batch = async (ops: StoreBatchOperation[]) => {
      batches.push(ops.length);
      await original(ops);
    };
    await docs.transact({ operatorId: "op-1", action: "test.both" }, () => ({
      edits: [
        { key: "roster/0", subject: "x", change: (d) => void ((d as unknown as Counters).counters.x = 1) },
        { key: "private/roster", subject: "x", change: (d) => void ((d as unknown as Counters).counters.x = 2) },
      ],
      result: undefined,
    }));
    store.batch = original;
    expect(batches).toEqual([2]);
  });

  it("records operator, action and subjects in each change message", async () => {
    opened = await openDocs(dir);
    const { docs } = opened;
    await setCounter(docs, "roster/0", "a", 1, "op-alice");
    await setCounter(docs, "roster/0", "b", 2, "op-bob");
    await docs.transact({ operatorId: "op-carol", action: "test.two" }, () => ({
      edits: [
        { key: "roster/0", subject: "c", change: (d) => void ((d as unknown as Counters).counters.c = 3) },
        { key: "roster/0", subject: "d", change: (d) => void ((d as unknown as Counters).counters.d = 4) },
      ],
      result: undefined,
    }));
    const history = docs.history("roster/0");
    expect(history.map((r) => [r.operatorId, r.action, r.subjects])).toEqual([
      ["system", "document.create", ["roster/0"]],
      ["op-alice", "test.set", ["a"]],
      ["op-bob", "test.set", ["b"]],
      ["op-carol", "test.two", ["c", "d"]],
    ]);
    for (const r of history) expect(r.documentKey).toBe("roster/0");
    // The messages are in the Automerge changes themselves, so they survive a reopen.
    const messages = A.getChangesMetaSince(docs.get("roster/0"), []).map(
      (c) => JSON.parse(c.message ?? "{}") as { operatorId: string },
    );
    expect(messages.map((m) => m.operatorId)).toEqual(["system", "op-alice", "op-bob", "op-carol"]);
    await opened.close();
    opened = await openDocs(dir);
    expect(opened.docs.history("roster/0").map((r) => r.operatorId)).toEqual([
      "system",
      "op-alice",
      "op-bob",
      "op-carol",
    ]);
  });

  it("an edit that throws leaves every document unchanged and usable", async () => {
    opened = await openDocs(dir);
    const { docs, store } = opened;
    await setCounter(docs, "roster/0", "a", 1);
    await setCounter(docs, "private/roster", "a", 1);
    const before = { roster: plain(docs.get("roster/0")), priv: plain(docs.get("private/roster")) };
    const heads = { roster: A.getHeads(docs.get("roster/0")), priv: A.getHeads(docs.get("private/roster")) };

    // The first document's edit succeeds, the second's throws half-way.
    const failing = docs.transact({ operatorId: "op-1", action: "test.fail" }, () => ({
      edits: [
        { key: "roster/0", subject: "a", change: (d) => void ((d as unknown as Counters).counters.a = 99) },
        {
          key: "private/roster",
          subject: "a",
          change: (d) => {
            (d as unknown as Counters).counters.a = 99;
            throw new Error("refused half-way");
          },
        },
      ],
      result: undefined,
    }));
    await expect(failing).rejects.toThrow("refused half-way");
    // A plan that throws is refused too.
    await expect(
      docs.transact({ operatorId: "op-1", action: "test.fail" }, () => {
        throw new Error("plan refused");
      }),
    ).rejects.toThrow("plan refused");

    expect({ roster: plain(docs.get("roster/0")), priv: plain(docs.get("private/roster")) }).toEqual(before);
    expect(A.getHeads(docs.get("roster/0"))).toEqual(heads.roster);
    expect(A.getHeads(docs.get("private/roster"))).toEqual(heads.priv);
    expect((await storedDoc(store, idOf(docs, "roster/0"))).doc.counters).toEqual({ a: 1 });
    expect(docs.history("roster/0").map((r) => r.action)).not.toContain("test.fail");

    // Still usable.
    await setCounter(docs, "roster/0", "b", 2);
    await setCounter(docs, "private/roster", "b", 2);
    expect(docs.get<Counters>("roster/0").counters).toEqual({ a: 1, b: 2 });
    expect(docs.get<Counters>("private/roster").counters).toEqual({ a: 1, b: 2 });
    await opened.close();
    opened = await openDocs(dir);
    expect(opened.docs.get<Counters>("roster/0").counters).toEqual({ a: 1, b: 2 });
    expect(opened.docs.get<Counters>("private/roster").counters).toEqual({ a: 1, b: 2 });
  });

  it("serialises concurrent transactions: read-then-write never interleaves", async () => {
    opened = await openDocs(dir);
    const { docs } = opened;
    const N = 40;
    await setCounter(docs, "roster/0", "total", 0);
    await Promise.all(
      Array.from({ length: N }, (_, i) =>
        docs.transact({ operatorId: `op-${i}`, action: "test.increment" }, () => {
          const current = docs.get<Counters>("roster/0").counters.total ?? 0;
          return {
            edits: [
              {
                key: "roster/0",
                subject: `k${i}`,
                change: (d) => {
                  const counters = (d as unknown as Counters).counters;
                  counters[`k${i}`] = i;
                  counters.total = current + 1;
                },
              },
            ],
            result: undefined,
          };
        }),
      ),
    );
    const counters = docs.get<Counters>("roster/0").counters;
    expect(counters.total).toBe(N);
    for (let i = 0; i < N; i += 1) expect(counters[`k${i}`]).toBe(i);
    await opened.close();
    opened = await openDocs(dir);
    expect(opened.docs.get<Counters>("roster/0").counters).toEqual(counters);
  });

  it("group commit: concurrent transactions share batches, each stays its own change, and one refused among them costs the others nothing", async () => {
    opened = await openDocs(dir);
    const { docs, store } = opened;
    await setCounter(docs, "roster/0", "seed", 0);
    const batchesBefore = docs.batchesWritten;
    const N = 30;
    const refused = 10;
    const failing = 20;
    const calls = Array.from({ length: N }, (_, i) => {
      if (i === refused) {
        return docs.transact({ operatorId: `op-${i}`, action: "test.set" }, () => {
          throw new Error(`plan ${i} refused`);
        });
      }
      if (i === failing) {
        return docs.transact({ operatorId: `op-${i}`, action: "test.set" }, () => ({
          edits: [
            {
              key: "roster/0",
              subject: `k${i}`,
              change: (d) => {
                (d as unknown as Counters).counters[`k${i}`] = i;
                throw new Error(`edit ${i} failed`);
              },
            },
          ],
          result: undefined,
        }));
      }
      return setCounter(docs, i % 2 === 0 ? "roster/0" : "private/roster", `k${i}`, i, `op-${i}`);
    });
    const settled = await Promise.allSettled(calls);
    expect(settled[refused]).toMatchObject({ status: "rejected", reason: { message: `plan ${refused} refused` } });
    expect(settled[failing]).toMatchObject({ status: "rejected", reason: { message: `edit ${failing} failed` } });
    expect(settled.filter((r) => r.status === "fulfilled")).toHaveLength(N - 2);
    // Grouped: far fewer batches than transactions.
    expect(docs.batchesWritten - batchesBefore).toBeLessThan(N / 2);

    // Every accepted transaction is persisted, as its own change naming its operator; the two refused left nothing.
    const roster = (await storedDoc(store, idOf(docs, "roster/0"))).doc.counters;
    const personal = (await storedDoc(store, idOf(docs, "private/roster"))).doc.counters;
    const operators = new Set(
      [...docs.history("roster/0"), ...docs.history("private/roster")]
        .filter((r) => r.action === "test.set")
        .map((r) => r.operatorId),
    );
    for (let i = 0; i < N; i += 1) {
      const stored = i % 2 === 0 ? roster : personal;
      if (i === refused || i === failing) {
        expect(stored[`k${i}`]).toBeUndefined();
        expect(operators.has(`op-${i}`)).toBe(false);
      } else {
        expect(stored[`k${i}`]).toBe(i);
        expect(operators.has(`op-${i}`)).toBe(true);
      }
    }
    await opened.close();
    opened = await openDocs(dir);
    expect(opened.docs.get<Counters>("roster/0").counters).toEqual(roster);
    expect(opened.docs.get<Counters>("private/roster").counters).toEqual(personal);
  });

  it("group commit: a burst larger than a group is written in groups of at most 128", async () => {
    opened = await openDocs(dir);
    const { docs } = opened;
    const before = docs.batchesWritten;
    const N = 300;
    await Promise.all(Array.from({ length: N }, (_, i) => setCounter(docs, "roster/0", `k${i}`, i, `op-${i}`)));
    const batches = docs.batchesWritten - before;
    expect(batches).toBeGreaterThanOrEqual(Math.ceil(N / 128));
    expect(batches).toBeLessThan(N / 10);
    expect(Object.keys(docs.get<Counters>("roster/0").counters)).toHaveLength(N);
  });

  it("compacts a document's chunks after compactAfterChunks and keeps its content and history", async () => {
    opened = await openDocs(dir, { compactAfterChunks: 4 });
    const { docs, store } = opened;
    const id = idOf(docs, "roster/0");
    const counts: number[] = [];
    for (let i = 0; i < 10; i += 1) {
      await setCounter(docs, "roster/0", `c${i}`, i, `op-${i}`);
      await docs.idle(); // compaction runs after the write, in the replica worker
      counts.push((await storedDoc(store, id)).chunks);
    }
    for (const n of counts) expect(n).toBeLessThanOrEqual(4);
    expect(counts).toContain(1); // it did compact
    const expected = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`c${i}`, i]));
    expect((await storedDoc(store, id)).doc.counters).toEqual(expected);
    const history = docs.history("roster/0").map((r) => r.operatorId);

    await opened.close();
    opened = await openDocs(dir, { compactAfterChunks: 4 });
    expect(opened.docs.get<Counters>("roster/0").counters).toEqual(expected);
    expect(opened.docs.history("roster/0").map((r) => r.operatorId)).toEqual(history);
    await setCounter(opened.docs, "roster/0", "after", 1);
    expect(opened.docs.get<Counters>("roster/0").counters.after).toBe(1);
  });

  it("publishes into the Repo copy; foreign changes there never reach the authoring copy", async () => {
    opened = await openDocs(dir);
    const { docs, replica } = opened;
    const id = idOf(docs, "roster/0");
    const published = async () => (await replica.read(id))?.value as Counters & { injected?: string };
    await setCounter(docs, "roster/0", "mine", 1);
    await waitUntil("the Repo's copy to have mine", async () => (await published())?.counters.mine === 1);
    expect((await published()).counters).toEqual({ mine: 1 });

    // Someone else's change, straight into the Repo's copy.
    const foreign = A.change(
      A.load<Counters & { injected?: string }>((await replica.export(id)) as Uint8Array),
      (d) => {
        d.counters.foreign = 666;
        d.injected = "from elsewhere";
      },
    );
    await replica.apply(id, A.getLastLocalChange(foreign) as Uint8Array);
    expect((await published()).counters.foreign).toBe(666);
    await setCounter(docs, "roster/0", "mine2", 2);
    expect(docs.get<Counters>("roster/0").counters).toEqual({ mine: 1, mine2: 2 });
    expect(docs.get<Counters>("roster/0").injected).toBeUndefined();
    await waitUntil("the Repo's copy to have mine2", async () => (await published())?.counters.mine2 === 2);
    expect((await published()).counters).toEqual({ mine: 1, mine2: 2, foreign: 666 });
    const foreignHeads = A.getHeads(foreign);
    expect(A.hasHeads(docs.get("roster/0"), foreignHeads)).toBe(false);

    // Not after a restart either, although the Repo copy is persisted with the foreign change.
    await opened.close();
    opened = await openDocs(dir);
    expect(opened.docs.get<Counters>("roster/0").counters).toEqual({ mine: 1, mine2: 2 });
    expect(opened.docs.get<Counters>("roster/0").injected).toBeUndefined();
  });

  it("never publishes a private document into the Repo", async () => {
    opened = await openDocs(dir);
    const { docs, store } = opened;
    await setCounter(docs, "private/roster", "secret", 1);
    await opened.replica.flush();
    const privateId = idOf(docs, "private/roster");
    const repoKeys = await store.repo.keys().all();
    expect(repoKeys.some((k) => k.includes(privateId))).toBe(false);
    expect(repoKeys.some((k) => k.includes(idOf(docs, "roster/0")))).toBe(true);
  });
});

describe("the listing it is given", () => {
  it("lists a new replicated document in the change and batch that create it, never a private one", async () => {
    opened = await openDocs(dir, { ensure: false, listing: INDEX_LISTING });
    const { docs, store } = opened;
    await docs.ensure([INDEX_SPEC]);
    const original = store.batch.bind(store);
    const batches: number[] = [];
    store.batch = async (ops: StoreBatchOperation[]) => {
      batches.push(ops.length);
      await original(ops);
    };
    await docs.ensure(SPECS);
    store.batch = original;
    expect(batches).toHaveLength(1);
    const names = plain(docs.get("index")) as { names: Record<string, string> };
    expect(names.names).toEqual({ [idOf(docs, "roster/0")]: "roster/0" });
    expect(docs.history("index").map((r) => r.action)).toEqual(["document.create", "document.create"]);
  });

  it("lists the documents made before the listing document existed when it is ensured", async () => {
    // Made by a node that had no listing yet.
    opened = await openDocs(dir);
    await opened.close();
    opened = await openDocs(dir, { ensure: false, listing: INDEX_LISTING });
    await opened.docs.ensure([INDEX_SPEC, ...SPECS]);
    const names = plain(opened.docs.get("index")) as { names: Record<string, string> };
    expect(names.names).toEqual({ [idOf(opened.docs, "roster/0")]: "roster/0" });
    expect(opened.docs.history("index").map((r) => r.action)).toEqual(["document.create", "directory.list"]);
  });
});

describe("the Repo's copy", () => {
  it("a new replicated document whose Repo copy cannot be made is still created, acknowledged, and published at the next start", async () => {
    opened = await openDocs(dir);
    const { docs, repoStorage } = opened;
    const removeRange = repoStorage.removeRange.bind(repoStorage);
    repoStorage.removeRange = async () => {
      throw new Error("the Repo's storage is unavailable");
    };
    try {
      // As the roster adds a shard: created in a transaction of its own.
      await docs.transact({ operatorId: "op-1", action: "test.shard" }, () => ({
        edits: [],
        create: [{ key: "roster/1", type: DocumentType.Roster, replicated: true, initial: { counters: {} } }],
        result: undefined,
      }));
    } finally {
      repoStorage.removeRange = removeRange;
    }
    expect(docs.has("roster/1")).toBe(true);
    await setCounter(docs, "roster/1", "a", 1);
    const id = idOf(docs, "roster/1");

    await opened.close();
    opened = await openDocs(dir);
    await opened.docs.ensure([
      { key: "roster/1", type: DocumentType.Roster, replicated: true, initial: { counters: {} } },
    ]);
    const replica = opened.replica;
    await waitUntil("roster/1 in the Repo", () => replica.heads(id) !== undefined);
    expect((await replica.read(id, { path: ["counters"] }))?.value).toEqual({ a: 1 });
  });
});

describe("schema versions", () => {
  /** Writes one roster document with the given header version straight into a fresh store. */
  async function writeForeignDocument(schemaVersion: string): Promise<DocumentId> {
    const store = await NodeStore.open(join(dir, "db"), { sync: false });
    try {
      const id = parseAutomergeUrl(generateAutomergeUrl()).documentId;
      const doc = A.change(
        A.init<Record<string, unknown>>(),
        { message: JSON.stringify({ operatorId: "system", action: "document.create", subjects: ["roster/0"] }) },
        (d) => {
          d.header = {
            type: new A.ImmutableString("roster"),
            owner: new A.ImmutableString("hub-a"),
            schemaVersion: new A.ImmutableString(schemaVersion),
          };
          d.counters = {};
          d.futureField = "added by a newer schema";
        },
      );
      await store.batch([
        { type: "put", sublevel: store.docs, key: `${id}/${"0".repeat(12)}`, value: A.save(doc) },
        {
          type: "put",
          sublevel: store.meta,
          key: "documents",
          value: [{ key: "roster/0", id, type: "roster", replicated: true }],
        },
      ]);
      return id;
    } finally {
      await store.close();
    }
  }

  it("refuses to open a document from a newer major schema version, naming the version", async () => {
    const id = await writeForeignDocument("2.0");
    await expect(openDocs(dir, { ensure: false })).rejects.toThrow(/2\.0/);
    await expect(openDocs(dir, { ensure: false })).rejects.toThrow(id);
  });

  it("accepts a newer minor version of the same major", async () => {
    const id = await writeForeignDocument("1.5");
    opened = await openDocs(dir, { ensure: false });
    expect(opened.docs.describe()).toEqual([
      expect.objectContaining({
        key: "roster/0",
        id,
        header: { type: "roster", owner: "hub-a", schemaVersion: "1.5" },
      }),
    ]);
    expect(opened.docs.get<Counters>("roster/0").futureField).toBe("added by a newer schema");
    await setCounter(opened.docs, "roster/0", "a", 1);
    expect(opened.docs.get<Counters>("roster/0").counters).toEqual({ a: 1 });
  });
});
