import { rm } from "node:fs/promises";
import { join } from "node:path";
import * as A from "@automerge/automerge";
import { generateAutomergeUrl, type Message, type PeerId, parseAutomergeUrl } from "@automerge/automerge-repo";
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CHECK_DOCUMENTS } from "../../node/admission/index.js";
import { Replica } from "../../node/replica/index.js";
import { toPlain } from "../../node/replica/plain.js";
import { LevelStorageAdapter, NodeStore } from "../../node/storage/index.js";
import { waitUntil } from "../helpers/federation.js";
import { makeTempDir } from "../helpers/harness.js";
import { TestTransport } from "../helpers/replica.js";
import { lyingDocumentChunk, syncMessage } from "../helpers/sync-messages.js";

type Roster = { header: { type: A.ImmutableString }; trainers: Record<string, A.ImmutableString> };

describe("the replica worker", () => {
  let dir: string;
  let store: NodeStore;
  let replica: Replica;

  beforeEach(async () => {
    dir = await makeTempDir();
    store = await NodeStore.open(join(dir, "db"), { sync: false });
    replica = new Replica(
      { peerId: "hub-self" },
      { storage: new LevelStorageAdapter(store.repoLevel()), logger: pino({ level: "silent" }) },
    );
    await replica.start();
  });
  afterEach(async () => {
    await replica.stop();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  const newId = () => parseAutomergeUrl(generateAutomergeUrl()).documentId;
  /** Stops the replica and starts a new one on the same storage (another hub's documents then sit on disk, not loaded). */
  const restart = async (init: { unloadAfterMs?: number } = {}) => {
    await replica.stop();
    replica = new Replica(
      { peerId: "hub-self", ...init },
      { storage: new LevelStorageAdapter(store.repoLevel()), logger: pino({ level: "silent" }) },
    );
    await replica.start();
  };
  /** A roster, one later change of it, and a forgery on top of that. */
  const versions = () => {
    const early = roster(["T-1"]);
    const doc = A.change(A.clone(early), (d) => void (d.trainers["T-2"] = new A.ImmutableString("two")));
    const forged = A.change(A.clone(doc), (d) => void (d.trainers.EVIL = new A.ImmutableString("evil")));
    return { early, doc, forged };
  };
  const roster = (names: string[]) => {
    let doc = A.from<Roster>({ header: { type: new A.ImmutableString("roster") }, trainers: {} });
    for (const name of names)
      doc = A.change(doc, (d) => void (d.trainers[name] = new A.ImmutableString(`{"id":"${name}"}`)));
    return doc;
  };

  it("holds the Repo in another thread: a call resolves only after the main thread has turned", async () => {
    const id = newId();
    const doc = roster(["T-1"]);
    let turns = 0;
    let counting = true;
    const count = () => {
      turns += 1;
      if (counting) setImmediate(count);
    };
    setImmediate(count);
    await replica.import(id, A.save(doc));
    counting = false;
    // Done in this thread, the import would have finished before the first turn.
    expect(turns).toBeGreaterThan(0);
    expect(replica.heads(id) ?? (await waitUntil("the heads of the import", () => replica.heads(id)))).toEqual(
      A.getHeads(doc),
    );
  });

  it("reads documents as plain data, whole, in part, at earlier heads, and says when it lacks them", async () => {
    const id = newId();
    const first = roster(["T-1"]);
    // Each version from a clone: an Automerge document changed in place shares its state with the old one.
    const second = A.change(A.clone(first), (d) => void (d.trainers["T-2"] = new A.ImmutableString('{"id":"T-2"}')));
    await replica.import(id, A.save(first));
    const heard: string[][] = [];
    const stop = replica.watch(id, (heads) => heard.push(heads));
    await replica.apply(id, A.saveSince(second, A.getHeads(first)));
    await waitUntil("the watcher to hear the new heads", () =>
      heard.some((h) => h.join() === A.getHeads(second).join()),
    );
    stop();

    const now = await replica.read(id);
    expect(now?.heads).toEqual(A.getHeads(second));
    // Immutable strings arrive as strings: nothing Automerge crosses the link.
    expect(now?.value).toEqual({
      header: { type: "roster" },
      trainers: { "T-1": '{"id":"T-1"}', "T-2": '{"id":"T-2"}' },
    });
    expect((await replica.read(id, { path: ["trainers", "T-2"] }))?.value).toBe('{"id":"T-2"}');
    expect((await replica.read(id, { heads: A.getHeads(first) }))?.value).toEqual({
      header: { type: "roster" },
      trainers: { "T-1": '{"id":"T-1"}' },
    });
    const elsewhere = A.change(A.clone(first), (d) => void (d.trainers.X = new A.ImmutableString("x")));
    expect(await replica.read(id, { heads: A.getHeads(elsewhere) })).toBeUndefined();
    expect(await replica.hasHeads(id, A.getHeads(elsewhere))).toBe(false);
    expect(await replica.read(newId())).toBeUndefined();
    // The changes under the first heads are exactly the first version's.
    expect(await replica.changesUpTo(id, A.getHeads(first))).toEqual(A.getAllChanges(first));
    expect(await replica.descends(id, A.getHeads(second), A.getHeads(first))).toBe(true);
  });

  it("keeps every conflicting value of a map's keys when asked (a relay's write cannot hide the owner's)", async () => {
    const id = newId();
    const base = A.from<{ checkpoints: Record<string, string> }>({ checkpoints: {} });
    const owner = A.change(A.clone(base), (d) => void (d.checkpoints.doc = "owner's"));
    const relay = A.change(A.clone(base), (d) => void (d.checkpoints.doc = "relay's"));
    await replica.import(id, A.save(A.merge(owner, relay)));
    const read = await replica.read(id, { conflictsIn: ["checkpoints"] });
    expect([...(read?.conflicts?.doc ?? [])].sort()).toEqual(["owner's", "relay's"]);
  });

  it("drops a whole document whose real heads are not the ones it states, once its copy holds something; takes a true one", async () => {
    const id = newId();
    const { early, doc, forged } = versions();
    await replica.import(id, A.save(early));
    const transport = new TestTransport();
    replica.sharePolicy = () => true;
    replica.addNetworkAdapter(transport);
    const peer = "hub-peer" as PeerId;
    transport.emit("peer-candidate", { peerId: peer, peerMetadata: { isEphemeral: true } });
    const deliver = (data: Uint8Array) =>
      transport.emit("message", {
        type: "sync",
        senderId: peer,
        targetId: "hub-self" as PeerId,
        documentId: id,
        data,
        // As the admission gate marks a message whose whole document it let through on its signature.
        [CHECK_DOCUMENTS]: true,
      } as Message);
    const heads = A.getHeads(doc);
    deliver(syncMessage(heads, [lyingDocumentChunk(forged, heads)]));
    // The lie never enters; the true document, sent next, does (and the worker took messages in order).
    deliver(syncMessage(heads, [A.save(doc)]));
    await waitUntil("the true document in the copy", () => replica.hasHeads(id, heads));
    expect(await replica.hasHeads(id, A.getHeads(forged))).toBe(false);
    expect((await replica.read(id, { path: ["trainers"] }))?.value).not.toHaveProperty("EVIL");
  });

  it("applies late-admitted changes, checking a whole document's stated heads", async () => {
    const id = newId();
    const { early, doc, forged } = versions();
    await replica.import(id, A.save(early));
    const heads = A.getHeads(doc);
    await replica.admit(id, [{ bytes: lyingDocumentChunk(forged, heads), stated: heads }]);
    expect(await replica.hasHeads(id, A.getHeads(forged))).toBe(false);
    expect(await replica.hasHeads(id, heads)).toBe(false);
    await replica.admit(id, [{ bytes: A.save(doc), stated: heads }]);
    expect(await replica.hasHeads(id, heads)).toBe(true);
  });

  it("keeps what it was given across a restart (its storage is the node's LevelDB)", async () => {
    const id = newId();
    const doc = roster(["T-1", "T-2"]);
    await replica.import(id, A.save(doc));
    await restart();
    replica.request(id);
    await waitUntil("the document loaded from disk", () => replica.heads(id));
    expect((await replica.read(id, { path: ["trainers"] }))?.value).toEqual({
      "T-1": '{"id":"T-1"}',
      "T-2": '{"id":"T-2"}',
    });
  });

  it("unloads a document nobody watches once idle, and loads it again intact when it is read", async () => {
    const id = newId();
    const doc = roster(["T-1", "T-2", "T-3"]);
    // What another hub sent before the last stop: on disk, not loaded.
    await replica.import(id, A.save(doc));
    await restart({ unloadAfterMs: 100 });
    // Watched (as VerifiedViews waits for a checkpoint's heads): loaded, and kept loaded.
    const heard: string[][] = [];
    const unwatch = replica.watch(id, (heads) => heard.push(heads));
    await waitUntil("the document loaded", () => heard.length > 0);
    // Three idle sweeps pass (counted by the worker, not slept): it stays loaded while watched.
    const swept = (await replica.memory()).sweeps;
    await waitUntil("three idle sweeps", async () => (await replica.memory()).sweeps >= swept + 3, 10_000);
    expect(await replica.documentIds()).toContain(id);
    // Released: unloaded once idle…
    unwatch();
    await waitUntil("the idle document unloaded", async () => !(await replica.documentIds()).includes(id), 10_000);
    // …and read again from disk, whole: unloading never saved the empty document it leaves behind.
    expect((await replica.read(id))?.value).toEqual(toPlain(doc));
    expect(await replica.hasHeads(id, A.getHeads(doc))).toBe(true);
    await restart();
    expect((await replica.read(id))?.value).toEqual(toPlain(doc));
  });

  it("keeps a document loaded longer each time it is needed again soon after its unload", async () => {
    const id = newId();
    const doc = roster(["T-1"]);
    await replica.import(id, A.save(doc));
    await restart({ unloadAfterMs: 100 });
    const unloaded = async () => !(await replica.documentIds()).includes(id);
    // Read, then idle for 100 ms: unloaded.
    await replica.read(id);
    await waitUntil("the first unload", unloaded, 10_000);
    // Read again at once, twice over: each time it is given twice as long (200, then 400 ms)…
    for (const [n, stay] of [
      [1, 200],
      [2, 400],
    ] as const) {
      const before = Date.now();
      expect((await replica.read(id))?.value).toEqual(toPlain(doc));
      expect(await replica.memory()).toMatchObject({ unloads: n, reloads: n, reloadsSoon: n });
      await waitUntil(`unload ${n + 1}`, unloaded, 10_000);
      // …and stays loaded at least that long after it was last read.
      expect(Date.now() - before).toBeGreaterThanOrEqual(stay);
    }
    expect((await replica.read(id))?.value).toEqual(toPlain(doc));
  });

  it("survives unloading a document while a peer that came back is still being let in", async () => {
    const id = newId();
    const doc = roster(["T-1"]);
    // Another hub's document, received before the last stop (a hub's own stay loaded).
    await replica.import(id, A.save(doc));
    await restart({ unloadAfterMs: 100 });
    expect((await replica.read(id))?.value).toEqual(toPlain(doc));
    // The share policy answers at once, or (once the test says so) only when the test lets it.
    let release: (ok: boolean) => void = () => undefined;
    let held: Promise<boolean> | undefined;
    let asked = false;
    replica.sharePolicy = ((): boolean | Promise<boolean> => {
      if (!held) return true;
      asked = true;
      return held;
    }) as unknown as (peer: string, id: string) => boolean;
    const transport = new TestTransport();
    replica.addNetworkAdapter(transport);
    const peer = { peerId: "hub-peer" as PeerId, peerMetadata: { storageId: "peer-storage" as never } };
    // The peer syncs the document (its sync state stays in the Repo's memory), leaves…
    transport.emit("peer-candidate", peer);
    await waitUntil("a sync message to the peer", () => transport.sent.some((m) => m.documentId === id));
    transport.emit("peer-disconnected", { peerId: peer.peerId });
    // …and comes back while the Repo waits for the share policy; meanwhile the document is unloaded.
    held = new Promise<boolean>((resolve) => (release = resolve));
    transport.emit("peer-candidate", peer);
    await waitUntil("the share policy to be asked", () => asked);
    await waitUntil("the idle document unloaded", async () => !(await replica.documentIds()).includes(id), 10_000);
    // The Repo goes on to sync the document it no longer holds: the worker must not fall over.
    release(true);
    await waitUntil("the worker to settle the share policy", async () => (await replica.memory()).sweeps > 0);
    expect((await replica.read(id))?.value).toEqual(toPlain(doc));
    expect(await replica.hasHeads(id, A.getHeads(doc))).toBe(true);
  });
});
