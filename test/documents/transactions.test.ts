import { rm } from "node:fs/promises";
import { join } from "node:path";
import * as A from "@automerge/automerge";
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ChunkStore } from "../../node/documents/chunk-store.js";
import { snapshotOf } from "../../node/replica/index.js";
import { DocumentType } from "../../node/documents/index.js";
import { DocumentRegistry, type AuthoringCopy } from "../../node/documents/registry.js";
import { Transactions, type CommitPublisher, type StoredChanges } from "../../node/documents/transactions.js";
import { NodeStore } from "../../node/storage/node-store.js";
import { makeTempDir } from "../helpers/harness.js";

interface Counters {
  counters: Record<string, number>;
}

/** A publisher that records what it is given, and fails when told to. */
class RecordingPublisher implements CommitPublisher {
  readonly calls: Array<{ created: string[]; changed: string[] }> = [];
  failWith: Error | undefined;
  async committed(created: readonly AuthoringCopy[], changed: readonly StoredChanges[]): Promise<void> {
    this.calls.push({ created: created.map((c) => c.entry.key), changed: changed.map((c) => c.copy.entry.key) });
    if (this.failWith) throw this.failWith;
  }
}

let dir: string;
let store: NodeStore;
let publisher: RecordingPublisher;
let registry: DocumentRegistry;
let transactions: Transactions;
let told: string[][];

async function open(): Promise<void> {
  store = await NodeStore.open(join(dir, "db"), { sync: false });
  const chunks = new ChunkStore({}, { store, snapshot: async (stored) => snapshotOf(stored) });
  registry = new DocumentRegistry({ owner: "hub-a" }, { store, chunks });
  await registry.open();
  publisher = new RecordingPublisher();
  transactions = new Transactions({ store, registry, chunks, publisher, logger: pino({ level: "silent" }) });
  told = [];
  transactions.onCommit((keys) => told.push(keys));
}

const counters = (key: string): Record<string, number> =>
  (registry.get(key)?.doc as A.Doc<Counters> | undefined)?.counters ?? {};

function setCounter(key: string, name: string, value: number): Promise<void> {
  return transactions.transact({ operatorId: "op-1", action: "test.set" }, () => ({
    edits: [{ key, subject: name, change: (d) => void ((d as unknown as Counters).counters[name] = value) }],
    result: undefined,
  }));
}

function create(key: string): Promise<void> {
  return transactions.transact({ operatorId: "system", action: "document.create" }, () => ({
    edits: [],
    create: [{ key, type: DocumentType.Roster, replicated: true, initial: { counters: {} } }],
    result: undefined,
  }));
}

/** Makes the store's next batch fail as a full disk would, once. */
function failNextBatch(): void {
  const original = store.batch.bind(store);
  store.batch = async () => {
    store.batch = original;
    throw Object.assign(new Error("no space left on device"), { code: "ENOSPC" });
  };
}

beforeEach(async () => {
  dir = await makeTempDir("concordat-transactions-");
  await open();
});

afterEach(async () => {
  await transactions.idle();
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

describe("Transactions", () => {
  it("a transaction whose batch fails acknowledges nothing: refused, nothing published or told, documents as stored", async () => {
    await create("roster/0");
    await setCounter("roster/0", "a", 1);
    const published = publisher.calls.length;

    failNextBatch();
    await expect(setCounter("roster/0", "b", 2)).rejects.toThrow("no space left on device");
    expect(publisher.calls).toHaveLength(published);
    expect(told).toEqual([["roster/0"], ["roster/0"]]);
    expect(counters("roster/0")).toEqual({ a: 1 });

    // A document whose creation was not written is not registered either.
    failNextBatch();
    await expect(create("roster/1")).rejects.toThrow("no space left on device");
    expect(registry.has("roster/1")).toBe(false);

    // The disk has room again: the next transactions commit, and a restart finds only what was acknowledged.
    await setCounter("roster/0", "c", 3);
    await create("roster/1");
    expect(counters("roster/0")).toEqual({ a: 1, c: 3 });
    await transactions.idle();
    await store.close();
    await open();
    expect(counters("roster/0")).toEqual({ a: 1, c: 3 });
    expect(registry.has("roster/1")).toBe(true);
  });

  it("a publish that fails never fails a stored write: acknowledged, told, and there after a restart", async () => {
    await create("roster/0");
    publisher.failWith = new Error("the Repo refused");
    await expect(setCounter("roster/0", "a", 1)).resolves.toBeUndefined();
    await expect(create("roster/1")).resolves.toBeUndefined();
    expect(told.at(-2)).toEqual(["roster/0"]);
    await transactions.idle();
    await store.close();
    await open();
    expect(counters("roster/0")).toEqual({ a: 1 });
    expect(registry.has("roster/1")).toBe(true);
  });

  it("publishes once per group, with what it created and changed", async () => {
    await Promise.all([create("roster/0"), create("roster/1")]);
    await Promise.all([setCounter("roster/0", "a", 1), setCounter("roster/1", "a", 1), setCounter("roster/0", "b", 2)]);
    expect(publisher.calls).toEqual([
      { created: ["roster/0", "roster/1"], changed: ["roster/0", "roster/1"] },
      { created: [], changed: ["roster/0", "roster/1"] },
    ]);
    expect(transactions.batchesWritten).toBe(2);
  });

  it("makes a large write as changes of at most 50 edits, each naming its subjects, stored in one batch and all or none", async () => {
    await create("roster/0");
    const batches = transactions.batchesWritten;
    const names = Array.from({ length: 120 }, (_, i) => `k${i}`);
    const bulk = (fail: boolean) =>
      transactions.transact({ operatorId: "op-1", action: "test.bulk" }, () => ({
        edits: names.map((name, i) => ({
          key: "roster/0",
          subject: name,
          change: (d: Record<string, unknown>) => {
            if (fail && i === 110) throw new Error("edit 110 refused");
            (d as unknown as Counters).counters[name] = i;
          },
        })),
        result: undefined,
      }));

    // An edit in the last slice fails: the slices before it are not stored either.
    await expect(bulk(true)).rejects.toThrow("edit 110 refused");
    expect(counters("roster/0")).toEqual({});

    await bulk(false);
    expect(transactions.batchesWritten).toBe(batches + 1);
    const doc = registry.get("roster/0")?.doc as A.Doc<Counters>;
    const bulkChanges = A.getChangesMetaSince(doc, [])
      .map((c) => JSON.parse(c.message ?? "{}") as { action?: string; subjects?: string[] })
      .filter((m) => m.action === "test.bulk");
    expect(bulkChanges.map((m) => m.subjects?.length)).toEqual([50, 50, 20]);
    expect(bulkChanges.flatMap((m) => m.subjects)).toEqual(names);

    // What was stored reads back whole.
    await transactions.idle();
    await store.close();
    await open();
    expect(Object.keys(counters("roster/0"))).toHaveLength(120);
  });
});
