import { randomBytes } from "node:crypto";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import * as A from "@automerge/automerge";
import type { DocumentId } from "@automerge/automerge-repo";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ChunkStore } from "../../node/documents/chunk-store.js";
import { snapshotOf } from "../../node/replica/index.js";
import { NodeStore } from "../../node/storage/node-store.js";
import { makeTempDir } from "../helpers/harness.js";

type Doc = { values: Record<string, number>; blob?: string };

const IDS = ["docA", "docB", "docC"] as DocumentId[];

let dir: string;
let store: NodeStore;

beforeEach(async () => {
  dir = await makeTempDir("concordat-chunks-");
  store = await NodeStore.open(join(dir, "db"), { sync: false });
});

afterEach(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

/** What the replica worker does to compact (node/replica/host.ts), here on the test's thread. */
const snapshot = async (chunks: Uint8Array[]) => snapshotOf(chunks);

function chunkStore(init: ConstructorParameters<typeof ChunkStore>[0] = {}): ChunkStore {
  return new ChunkStore(init, { store, snapshot });
}

async function chunkCount(id: DocumentId): Promise<number> {
  return (await store.docs.keys({ gt: `${id}/`, lt: `${id}/~` }).all()).length;
}

/** Appends `doc`'s changes since `stored` in one batch, as a transaction does; returns the new stored heads. */
async function write(chunks: ChunkStore, id: DocumentId, doc: A.Doc<Doc>, stored: A.Heads): Promise<A.Heads> {
  const append = await chunks.append(id, [A.saveSince(doc, stored)]);
  if (!append) return stored;
  await store.batch([...append.operations]);
  append.applied();
  return A.getHeads(doc);
}

/** Sets `values.k0` … `values.k{count-1}` in `count` changes, each appended in its own batch. */
async function writeValues(
  chunks: ChunkStore,
  id: DocumentId,
  count: number,
  afterEach: () => Promise<void> = async () => {},
): Promise<{ doc: A.Doc<Doc>; heads: A.Heads }> {
  let doc = A.from<Doc>({ values: {} });
  let heads: A.Heads = [];
  for (let i = 0; i < count; i += 1) {
    doc = A.change(doc, (d) => {
      d.values[`k${i}`] = i;
    });
    heads = await write(chunks, id, doc, heads);
    await afterEach();
  }
  return { doc, heads };
}

describe("ChunkStore", () => {
  it("compaction keeps every document readable, whole and with its history, after every batch and on reopen", async () => {
    const chunks = chunkStore({ compactAfterChunks: 3 });
    const docs = new Map<DocumentId, A.Doc<Doc>>(IDS.map((id) => [id, A.from<Doc>({ values: {} })]));
    const stored = new Map<DocumentId, A.Heads>(IDS.map((id) => [id, []]));
    for (let round = 0; round < 10; round += 1) {
      for (const id of IDS) {
        const doc = A.change(docs.get(id) as A.Doc<Doc>, (d) => {
          d.values[`r${round}`] = round;
        });
        docs.set(id, doc);
        stored.set(id, await write(chunks, id, doc, stored.get(id) ?? []));
        // A fresh store reads each document whole while compactions run and after them.
        const loaded = await chunkStore().load(id);
        expect(loaded && A.getHeads(loaded).sort()).toEqual(A.getHeads(doc).sort());
        await chunks.idle();
        expect(await chunkCount(id)).toBeLessThanOrEqual(3);
      }
      for (const id of IDS) {
        const loaded = await chunkStore().load(id);
        expect(loaded && A.getHeads(loaded).sort()).toEqual(A.getHeads(docs.get(id) as A.Doc<Doc>).sort());
        expect(loaded && A.getHistory(loaded)).toHaveLength(round + 2);
      }
    }
    expect(chunks.compactions).toBeGreaterThan(0);

    // Loaded again, a store appends after what is there, and still compacts to what it loaded.
    const again = chunkStore({ compactAfterChunks: 3 });
    for (const id of IDS) {
      const loaded = (await again.load(id)) as A.Doc<Doc>;
      let doc = loaded;
      let heads = A.getHeads(loaded);
      for (let i = 0; i < 4; i += 1) {
        doc = A.change(doc, (d) => {
          d.values[`after${i}`] = i;
        });
        heads = await write(again, id, doc, heads);
        await again.idle();
      }
      expect(await chunkCount(id)).toBeLessThanOrEqual(3);
      const reread = (await chunkStore().load(id)) as A.Doc<Doc>;
      expect(reread.values).toEqual(doc.values);
    }
  });

  it("stores a large change deflated, and compacts the document once its chunks pass the byte bound", async () => {
    const chunks = chunkStore({ compactAfterBytes: 32 * 1024 });
    const id = IDS[0] as DocumentId;
    let doc = A.from<Doc>({ values: { a: 1 } });
    let heads = await write(chunks, id, doc, []);
    doc = A.change(doc, (d) => {
      d.values.b = 2;
    });
    heads = await write(chunks, id, doc, heads);
    await chunks.idle();
    expect(await chunkCount(id)).toBe(2);
    // 100 KiB of hexadecimal text: half of it is redundancy that deflate removes.
    const blob = randomBytes(50 * 1024).toString("hex");
    doc = A.change(doc, (d) => {
      d.blob = blob;
    });
    const change = A.saveSince(doc, heads);
    // The append holds the change alone, deflated: its cost follows the change, not the document.
    const append = await chunks.append(id, [change]);
    expect(append?.operations).toHaveLength(1);
    const [put] = append?.operations ?? [];
    expect(put?.type === "put" && (put.value as Uint8Array).byteLength).toBeLessThan(0.7 * change.byteLength);
    await write(chunks, id, doc, heads);
    await chunks.idle();
    expect(chunks.compactions).toBe(1);
    expect(await chunkCount(id)).toBe(1);
    expect(((await chunkStore().load(id)) as A.Doc<Doc>).blob).toBe(blob);
  });

  it("keeps the changes appended while a compaction runs", async () => {
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const slow = new ChunkStore(
      { compactAfterChunks: 2 },
      {
        store,
        snapshot: async (c) => {
          await held;
          return snapshot(c);
        },
      },
    );
    const id = IDS[0] as DocumentId;
    let { doc, heads } = await writeValues(slow, id, 6);
    release();
    await slow.idle();
    expect(slow.compactions).toBeGreaterThanOrEqual(1);
    const reread = (await chunkStore().load(id)) as A.Doc<Doc>;
    expect(reread.values).toEqual(doc.values);
    expect(A.getHistory(reread)).toHaveLength(7);
    // and the store goes on appending where it was
    doc = A.change(doc, (d) => {
      d.values.last = 1;
    });
    heads = await write(slow, id, doc, heads);
    await slow.idle();
    expect(((await chunkStore().load(id)) as A.Doc<Doc>).values.last).toBe(1);
  });

  it("leaves the chunks as they were when a compaction fails", async () => {
    const failing = new ChunkStore(
      { compactAfterChunks: 2 },
      {
        store,
        snapshot: async () => {
          throw new Error("the worker is gone");
        },
      },
    );
    const id = IDS[0] as DocumentId;
    const { doc } = await writeValues(failing, id, 4, () => failing.idle());
    expect(failing.compactions).toBe(0);
    expect(await chunkCount(id)).toBe(4);
    expect(((await chunkStore().load(id)) as A.Doc<Doc>).values).toEqual(doc.values);
  });

  it("an append whose batch was never written leaves the next append where it was", async () => {
    const chunks = chunkStore({ compactAfterChunks: 2 });
    const id = IDS[0] as DocumentId;
    const first = A.from<Doc>({ values: { a: 1 } });
    const heads = await write(chunks, id, first, []);
    const second = A.change(first, (d) => {
      d.values.b = 2;
    });
    // Planned but not written (its batch failed): nothing is recorded.
    expect(await chunks.append(id, [A.saveSince(second, heads)])).toBeDefined();
    await write(chunks, id, second, heads);
    await chunks.idle();
    expect(((await chunkStore().load(id)) as A.Doc<Doc>).values).toEqual({ a: 1, b: 2 });
  });

  it("has nothing to load for a document it never stored, and nothing to append for an unchanged one", async () => {
    const chunks = chunkStore();
    expect(await chunks.load("nothing" as DocumentId)).toBeUndefined();
    expect(await chunks.append("nothing" as DocumentId, [])).toBeUndefined();
  });
});
