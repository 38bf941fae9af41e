import { rm } from "node:fs/promises";
import { join } from "node:path";
import * as A from "@automerge/automerge";
import type { DocumentId } from "@automerge/automerge-repo";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ChunkStore } from "../../node/documents/chunk-store.js";
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

async function chunkCount(id: DocumentId): Promise<number> {
  return (await store.docs.keys({ gt: `${id}/`, lt: `${id}/~` }).all()).length;
}

/** Appends `doc`'s changes since `stored` in one batch, as a transaction does; returns the new stored heads. */
async function write(chunks: ChunkStore, id: DocumentId, doc: A.Doc<Doc>, stored: A.Heads): Promise<A.Heads> {
  const append = chunks.append(id, doc, stored);
  if (!append) return stored;
  await store.batch([...append.operations]);
  append.applied();
  return A.getHeads(doc);
}

describe("ChunkStore", () => {
  it("compaction keeps every document readable, whole and with its history, after every batch and on reopen", async () => {
    const chunks = new ChunkStore({ compactAfterChunks: 3 }, { store });
    const docs = new Map<DocumentId, A.Doc<Doc>>(IDS.map((id) => [id, A.from<Doc>({ values: {} })]));
    const stored = new Map<DocumentId, A.Heads>(IDS.map((id) => [id, []]));
    let compactions = 0;
    for (let round = 0; round < 10; round += 1) {
      for (const id of IDS) {
        const doc = A.change(docs.get(id) as A.Doc<Doc>, (d) => {
          d.values[`r${round}`] = round;
        });
        docs.set(id, doc);
        const append = chunks.append(id, doc, stored.get(id) ?? []);
        if (!append) throw new Error("a change gave nothing to append");
        if (append.compacted) compactions += 1;
        await store.batch([...append.operations]);
        append.applied();
        stored.set(id, A.getHeads(doc));
        expect(await chunkCount(id)).toBeLessThanOrEqual(3);
      }
      // A fresh store reads each document whole after every batch.
      const reader = new ChunkStore({}, { store });
      for (const id of IDS) {
        const loaded = await reader.load(id);
        expect(loaded && A.getHeads(loaded).sort()).toEqual(A.getHeads(docs.get(id) as A.Doc<Doc>).sort());
        expect(loaded && A.getHistory(loaded)).toHaveLength(round + 2);
      }
    }
    expect(compactions).toBeGreaterThan(0);

    // Loaded again, a store appends after what is there, and still compacts to what it loaded.
    const again = new ChunkStore({ compactAfterChunks: 3 }, { store });
    for (const id of IDS) {
      const loaded = (await again.load(id)) as A.Doc<Doc>;
      let doc = loaded;
      let heads = A.getHeads(loaded);
      for (let i = 0; i < 4; i += 1) {
        doc = A.change(doc, (d) => {
          d.values[`after${i}`] = i;
        });
        heads = await write(again, id, doc, heads);
      }
      expect(await chunkCount(id)).toBeLessThanOrEqual(3);
      const reread = (await new ChunkStore({}, { store }).load(id)) as A.Doc<Doc>;
      expect(reread.values).toEqual(doc.values);
    }
  });

  it("a large change is written as one snapshot", async () => {
    const chunks = new ChunkStore({}, { store });
    const id = IDS[0] as DocumentId;
    let doc = A.from<Doc>({ values: { a: 1 } });
    let heads = await write(chunks, id, doc, []);
    doc = A.change(doc, (d) => {
      d.values.b = 2;
    });
    heads = await write(chunks, id, doc, heads);
    expect(await chunkCount(id)).toBe(2);
    doc = A.change(doc, (d) => {
      d.blob = "x".repeat(100 * 1024);
    });
    const append = chunks.append(id, doc, heads);
    expect(append?.compacted).toBe(true);
    await write(chunks, id, doc, heads);
    expect(await chunkCount(id)).toBe(1);
    expect(((await new ChunkStore({}, { store }).load(id)) as A.Doc<Doc>).blob).toHaveLength(100 * 1024);
  });

  it("an append whose batch was never written leaves the next append where it was", async () => {
    const chunks = new ChunkStore({ compactAfterChunks: 2 }, { store });
    const id = IDS[0] as DocumentId;
    const first = A.from<Doc>({ values: { a: 1 } });
    const heads = await write(chunks, id, first, []);
    const second = A.change(first, (d) => {
      d.values.b = 2;
    });
    // Planned but not written (its batch failed): nothing is recorded.
    expect(chunks.append(id, second, heads)).toBeDefined();
    await write(chunks, id, second, heads);
    expect(await chunkCount(id)).toBe(2);
    expect(((await new ChunkStore({}, { store }).load(id)) as A.Doc<Doc>).values).toEqual({ a: 1, b: 2 });
  });

  it("has nothing to load for a document it never stored, and nothing to append for an unchanged one", async () => {
    const chunks = new ChunkStore({}, { store });
    expect(await chunks.load("nothing" as DocumentId)).toBeUndefined();
    const doc = A.from<Doc>({ values: {} });
    expect(chunks.append("nothing" as DocumentId, doc, A.getHeads(doc))).toBeUndefined();
  });
});
