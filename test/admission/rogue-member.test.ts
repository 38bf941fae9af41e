import { runInNewContext } from "node:vm";
import { setFlagsFromString } from "node:v8";
import * as A from "@automerge/automerge";
import {
  generateAutomergeUrl,
  parseAutomergeUrl,
  Repo,
  type DocHandle,
  type DocumentId,
  type Message,
  type NetworkAdapterInterface,
} from "@automerge/automerge-repo";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { charterIdOf, directoryIdOf } from "../../node/federation/index.js";
import {
  createLibp2pNode,
  GrpcNetworkAdapter,
  Libp2pNetworkAdapter,
  type ConcordatLibp2p,
} from "../../node/network/index.js";
import { decodeTrainer, encodeTrainer } from "../../node/roster/records.js";
import { releaseCore } from "../helpers/core.js";
import { makeTrainer } from "../helpers/harness.js";
import {
  draft,
  logEntries,
  startFederationWith,
  waitForForeignTrainer,
  waitForLog,
  waitUntil,
  type FederationNode,
  type StartedFederation,
  type Transport,
} from "../helpers/federation.js";
import { replicaHolds } from "../helpers/replica.js";

type Trainers = { trainers: Record<string, unknown> };

/** The actor and highest sequence number of the newest change in a document's history. */
function lastActorSeq(doc: A.Doc<unknown>): { actor: string; seq: number } {
  const changes = A.getAllChanges(doc).map((c) => A.decodeChange(c));
  const last = changes.at(-1) as ReturnType<typeof A.decodeChange>;
  const seq = Math.max(...changes.filter((c) => c.actor === last.actor).map((c) => c.seq));
  return { actor: last.actor, seq };
}

/**
 * The change the attack makes: under the owner's actor id and its next sequence number, so that the
 * owner's own next change would be a duplicate everywhere it went.
 */
function forgeAs<T>(doc: A.Doc<T>, edit: (d: T) => void): A.Doc<T> {
  const { actor, seq } = lastActorSeq(doc as A.Doc<unknown>);
  const forged = A.change(A.clone(doc, { actor }), edit);
  const change = A.decodeChange(A.getLastLocalChange(forged) as Uint8Array);
  expect(change.actor).toBe(actor);
  expect(change.seq).toBe(seq + 1);
  return forged;
}

/** Heap in use after a full collection, in this process (the nodes under test run here too). */
function heapAfterGc(): number {
  setFlagsFromString("--expose-gc");
  (runInNewContext("gc") as () => void)();
  return process.memoryUsage().heapUsed;
}

/**
 * A member that holds a valid key and drives a stock automerge-repo Repo with Concordat's exported
 * adapters, over real sockets, attacks the federation through Automerge itself: changes under the
 * owners' actor ids with their next sequence numbers (to a hub's roster, the charter and the core),
 * ephemeral messages that automerge-repo would relay under its name, and requests that would make a
 * node remember ids. Nothing it does enters any honest copy; the owners keep writing and restarting;
 * every honest hub keeps receiving; it can still be removed; no honest channel is dropped.
 */
/**
 * The rogue's own Repo fails to apply the owners' changes once its copy holds a forged change under
 * their actor ids (the attack turned on itself), and automerge-repo prints each failure: keep those
 * out of the test output, and nothing else.
 */
const rogues = new Set<string>();
beforeAll(() => {
  const print = console.log.bind(console);
  vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => {
    if (
      args[0] === "error receiving message" &&
      rogues.has((args[1] as { message?: { targetId?: string } })?.message?.targetId ?? "")
    )
      return;
    print(...args);
  });
});
afterAll(() => {
  vi.restoreAllMocks();
});

describe.each(["libp2p", "grpc"] as Transport[])("a rogue member driving a stock Repo (%s)", (transport) => {
  let fed: StartedFederation;
  let libp2p: ConcordatLibp2p | undefined;
  let adapter: NetworkAdapterInterface;
  let repo: Repo;
  const s = () => fed.byName("s");
  const a = () => fed.byName("a");
  const b = () => fed.byName("b");
  const honest = () => [s(), a(), b()];
  const logStart = new Map<string, number>();

  beforeAll(async () => {
    // s is the secretariat; a and b are hubs linked to each other and to s; the rogue m reaches b.
    fed = await startFederationWith(
      ["s", "a", "b"],
      [
        ["a", "s"],
        ["b", "s"],
        ["b", "a"],
      ],
      { transport, keyOnly: ["m"] },
    );
    for (const n of honest()) logStart.set(n.name, n.node.logs.length);
    await a().node.running.roster.add(draft("A-1"), "op");
    await waitForForeignTrainer(b(), a(), "A-1");
    await releaseCore(s(), { items: [["hr-1", "Competency"]] }, "1.0.0");
    await waitUntil(
      "b to verify core release 1.0.0",
      async () => (await b().node.running.coreSource.releases()).some((r) => r.version === "1.0.0"),
      20_000,
    );

    const m = fed.key("m");
    const logger = pino({ level: "silent" });
    if (transport === "libp2p") {
      libp2p = await createLibp2pNode({ privateKey: m.privateKey, listen: ["/ip4/127.0.0.1/tcp/0"] }, logger);
      const address = b()
        .node.running.network.libp2pAddresses()[0]
        ?.replace(/\/p2p\/.*$/, "") as string;
      adapter = new Libp2pNetworkAdapter(
        { policy: "strict", dial: [{ peerId: b().peerId, addrs: [address] }] },
        { libp2p, logger },
      );
    } else {
      adapter = new GrpcNetworkAdapter(
        { policy: "strict", federationId: "concordat-dev", dial: [{ peerId: b().peerId, address: b().node.address }] },
        { identity: { peerId: m.peerId, sign: m.sign }, logger },
      );
    }
    repo = new Repo({ network: [adapter], peerId: m.peerId, sharePolicy: async () => true });
    rogues.add(m.peerId);
  });

  afterAll(async () => {
    await repo?.shutdown();
    await libp2p?.stop();
    await fed?.stop();
  });

  const shardOf = (trainerId: string) => {
    const { documents } = a().node.running;
    const shard = documents
      .describe()
      .find((d) => d.header.type === "roster" && Object.hasOwn((documents.get(d.key) as Trainers).trainers, trainerId));
    if (!shard) throw new Error(`no shard holds ${trainerId}`);
    return shard;
  };

  const holds = (node: FederationNode, documentId: DocumentId, heads: A.Heads) =>
    replicaHolds(node.node.running, documentId, heads);

  /** Waits until `node` took the forged change into its copy, or refused it at admission; says which. */
  const takenOrRefused = (node: FederationNode, documentId: DocumentId, heads: A.Heads) =>
    waitUntil(
      `${node.name} to take or refuse m's change to ${documentId}`,
      async () =>
        ((await holds(node, documentId, heads)) && "taken") ||
        (logEntries(node.node, "refused at admission", logStart.get(node.name)).some(
          (e) => e.peer === fed.key("m").peerId && e.document === documentId && e.reason === "unsigned",
        ) &&
          "refused"),
      15_000,
    );

  /** Replaces the rogue's copy with `doc` (its history plus the forged change), which its Repo then syncs. */
  const push = (handle: DocHandle<unknown>, doc: A.Doc<unknown>) => handle.update(() => doc);

  it("a change under the owner's actor id and next seq, synced to b, enters no copy; the owner keeps writing, restarting and reaching everyone", async () => {
    const shard = shardOf("A-1");
    const handle = await repo.find<Trainers>(shard.id);
    const forged = forgeAs(handle.doc(), (d) => {
      d.trainers["A-1"] = encodeTrainer({ ...decodeTrainer(d.trainers["A-1"]), displayName: "Defaced" });
    });
    const forgedHeads = A.getHeads(forged);
    // Messages about the shard that b's transport takes from the rogue.
    let fromRogue = 0;
    const network = b().node.running.network;
    const transportAdapter = (network.libp2pAdapter ?? network.grpc) as NetworkAdapterInterface;
    const count = (message: Message) => {
      if (message.senderId === fed.key("m").peerId && message.documentId === shard.id) fromRogue += 1;
    };
    transportAdapter.on("message", count);
    push(handle as DocHandle<unknown>, forged);
    expect(await takenOrRefused(b(), shard.id, forgedHeads)).toBe("refused");
    expect(await holds(b(), shard.id, forgedHeads)).toBe(false);
    expect(await holds(a(), shard.id, forgedHeads)).toBe(false);

    // b relays the owner's next edit to the rogue: a message about the shard that carries a change.
    let relays = 0;
    const onRelay = (message: Message) => {
      if (
        message.documentId === shard.id &&
        message.data instanceof Uint8Array &&
        A.decodeSyncMessage(message.data).changes.length > 0
      )
        relays += 1;
    };
    adapter.on("message", onRelay);
    // The owner's next write is acknowledged (never INTERNAL), and reaches b and the secretariat.
    await a()
      .node.clients(a().node.adminToken)
      .trainers.updateTrainer({
        trainer: makeTrainer("A-1", { displayName: "Owner's edit" }),
        updateMask: ["display_name"],
      });
    for (const reader of [b(), s()]) await waitForForeignTrainer(reader, a(), "A-1", (name) => name === "Owner's edit");
    await waitUntil("b to relay the owner's edit to the rogue", () => relays > 0, 15_000);
    adapter.off("message", onRelay);
    transportAdapter.off("message", count);
    // The refusal ends the exchange: b reads the rogue's heads as if it had no forged change, so the
    // two sync states do not ask each other for it forever (with heads as they came, the rogue sent
    // b hundreds of messages about the shard a second). A handful carried the forgery and replies.
    console.log(`[figure] messages about the shard from the rogue after the forgery: ${fromRogue}`);
    expect(fromRogue).toBeLessThan(20);
    // It restarts, and its writes after the restart still reach everyone.
    await a().node.restart();
    await a()
      .node.clients(a().node.adminToken)
      .trainers.updateTrainer({
        trainer: makeTrainer("A-1", { displayName: "After restart" }),
        updateMask: ["display_name"],
      });
    for (const reader of [b(), s()])
      await waitForForeignTrainer(reader, a(), "A-1", (name) => name === "After restart");
    for (const n of honest()) expect(await holds(n, shard.id, forgedHeads)).toBe(false);
    // b sees a as fresh, as of a's newest checkpoint.
    await a().node.running.checkpointer.flush();
    const latest = a().node.running.checkpointer.latest(shard.id)?.checkpoint.seq;
    await waitUntil(
      "b's view of a's shard at a's newest checkpoint",
      () => b().node.running.views.view(shard.id)?.checkpoint.seq === latest,
      15_000,
    );
    expect(
      b()
        .node.running.views.freshness()
        .find((f) => f.hub === a().hub)?.stale,
    ).toBe(false);
  });

  it("the same against the core: the secretariat's next release reaches b, without the forgery", async () => {
    const coreId = s().node.running.documents.idOf("core");
    const handle = await repo.find<Record<string, unknown>>(coreId);
    const forged = forgeAs(handle.doc(), (d) => {
      d.forged = "by m";
    });
    push(handle as DocHandle<unknown>, forged);
    expect(await takenOrRefused(b(), coreId, A.getHeads(forged))).toBe("refused");
    for (const n of honest()) expect(await holds(n, coreId, A.getHeads(forged))).toBe(false);
    await releaseCore(
      s(),
      {
        items: [
          ["hr-1", "Competency"],
          ["hr-2", "Competency"],
        ],
      },
      "1.1.0",
    );
    await waitUntil(
      "b to verify core release 1.1.0",
      async () => (await b().node.running.coreSource.releases()).some((r) => r.version === "1.1.0"),
      20_000,
    );
  });

  it("ephemeral messages are neither taken nor relayed: no honest channel is dropped", async () => {
    const handle = await repo.find(directoryIdOf(a().peerId));
    for (let i = 0; i < 20; i += 1) handle.broadcast({ hello: i });
    await waitForLog(
      b().node,
      "refused at admission",
      (e) => e.peer === fed.key("m").peerId && e.reason === "unsupported-message",
      logStart.get("b"),
      15_000,
    );
    // b's next write crosses the channels that relayed ephemerals would have broken (automerge-repo
    // relays them under the original sender, and the next node drops the relay as a spoofer)…
    await b().node.running.roster.add(draft("B-1"), "op");
    await waitForForeignTrainer(s(), b(), "B-1");
    await waitForForeignTrainer(a(), b(), "B-1");
    // …and none was dropped on the way.
    for (const n of [s(), a()]) expect(logEntries(n.node, "dropping sync channel", logStart.get(n.name))).toEqual([]);
  });

  it("requests with unknown or 4 MB document ids cost nothing that stays: no handle, bounded memory", async () => {
    const m = fed.key("m");
    const heapBefore = heapAfterGc();
    const data = A.generateSyncMessage(A.init(), A.initSyncState())[1] as Uint8Array;
    const request = (documentId: string): Message => ({
      type: "request",
      senderId: m.peerId,
      targetId: b().peerId,
      // Forged on purpose: ids no node would make (unknown, or 4 MB long).
      documentId: documentId as DocumentId,
      data,
    });
    // Messages b's transport has handed on from m (admission reads each as it is handed on).
    const received = () =>
      b()
        .node.running.network.peers()
        .filter((p) => p.peerId === m.peerId)
        .reduce((n, p) => n + p.messagesIn, 0);
    await waitUntil("m to be connected to b", () => received() > 0, 15_000);
    const start = received();
    for (let i = 0; i < 150; i += 1) adapter.send(request(`${i}`.padStart(8, "x").repeat(512 * 1024)));
    const unknown = Array.from({ length: 150 }, () => parseAutomergeUrl(generateAutomergeUrl()).documentId as string);
    for (const id of unknown) adapter.send(request(id));
    await waitUntil("b to read all 300 requests", () => received() >= start + 300, 60_000);
    // 300 requests, 600 MB of ids: nothing of them is held once they are read…
    expect(heapAfterGc() - heapBefore).toBeLessThan(64 * 1024 * 1024);
    // No handle for any of them.
    const after = new Set(await b().node.running.replica.documentIds());
    expect(unknown.filter((id) => after.has(id))).toEqual([]);
    expect([...after].filter((id) => id.length > 64)).toEqual([]);
    // …and the refusals are named.
    expect(
      logEntries(b().node, "refused at admission", logStart.get("b")).filter(
        (e) => e.reason === "unknown-document" || e.reason === "malformed",
      ),
    ).not.toHaveLength(0);
  });

  it("changes it keeps sending wait within a bound, never in a copy", async () => {
    // a's curriculum: a document whose copy at the rogue its own forgery has not broken.
    const shard = { id: a().node.running.documents.idOf("curriculum") };
    const handle = await repo.find<Record<string, unknown>>(shard.id);
    const m = fed.key("m").peerId;
    const pending = () => b().node.running.admission.pendingBytes().get(m) ?? 0;
    // A sync message carries changes, or a whole document when the peer seems to have nothing.
    const hashesOf = (chunk: Uint8Array): string[] => {
      try {
        return [A.decodeChange(chunk).hash as string];
      } catch {
        return A.getHeads(A.load(chunk));
      }
    };
    // The changes the rogue's Repo sends b for the shard, per message (it decides what to send when).
    const sent: string[][] = [];
    const send = adapter.send.bind(adapter);
    adapter.send = (message: Message) => {
      if (message.documentId === shard.id && message.targetId === b().peerId && message.data instanceof Uint8Array)
        sent.push(A.decodeSyncMessage(message.data).changes.flatMap(hashesOf));
      send(message);
    };
    try {
      // One change of 1–2 MiB at a time, each message read by b before the next change: 40 MiB
      // offered, 16 MiB kept at most, the oldest going first.
      let most = 0;
      for (let i = 0; i < 24; i += 1) {
        const before = sent.length;
        handle.change((d) => {
          d[`JUNK-${i}`] = new A.ImmutableString(`${i}`.repeat(1024 * 1024));
        });
        await waitUntil(`the rogue to send b a message after junk change ${i}`, () => sent.length > before, 20_000);
        // Waiting for the changes themselves: equal-sized changes leave the byte count as it was.
        const hashes = sent.slice(before).flat();
        await waitUntil(
          `b to take or hold back junk change ${i}`,
          async () =>
            hashes.every((h) => b().node.running.admission.pendingChanges(m).includes(h)) ||
            (await holds(b(), shard.id, hashes)),
          20_000,
        );
        most = Math.max(most, pending());
        expect(await holds(b(), shard.id, A.getHeads(handle.doc()))).toBe(false);
      }
      // Not vacuous: nearly every junk change was sent, and they filled the bound.
      expect(sent.flat().length).toBeGreaterThanOrEqual(20);
      expect(most).toBeGreaterThan(8 * 1024 * 1024);
      expect(most).toBeLessThanOrEqual(16 * 1024 * 1024);
    } finally {
      adapter.send = send;
    }
  });

  it("the same against the charter: the secretariat still removes the rogue, which is then shown only the charter", async () => {
    const charterId = charterIdOf(s().peerId);
    const handle = await repo.find<{ members: Record<string, unknown> }>(charterId);
    const forged = forgeAs(handle.doc(), (d) => {
      delete d.members[b().hub];
    });
    push(handle as DocHandle<unknown>, forged);
    expect(await takenOrRefused(b(), charterId, A.getHeads(forged))).toBe("refused");
    for (const n of honest()) expect(await holds(n, charterId, A.getHeads(forged))).toBe(false);
    await s().node.running.charter.remove("op", fed.key("m").hub);
    for (const n of honest())
      await waitUntil(
        `${n.name} to see m removed`,
        () => n.node.running.membership.member(fed.key("m").hub)?.removedAt !== undefined,
        20_000,
      );
    // It may stay connected for the removal notice window (to learn of its removal), but is shown
    // nothing but the charter and the secretariat's directory, and nothing it signs counts.
    for (const n of honest()) {
      const { federation } = n.node.running;
      expect(federation.mayShare(fed.key("m").peerId, charterId)).toBe(true);
      expect(federation.mayShare(fed.key("m").peerId, shardOf("A-1").id)).toBe(false);
      const owner = federation.ownerOf(directoryIdOf(fed.key("m").peerId));
      expect(owner?.kind === "member" && owner.mayAttest(fed.key("m").peerId)).toBe(false);
    }
    // Through all of it, no honest node dropped a channel to another honest node.
    const m = fed.key("m").peerId;
    for (const n of honest()) {
      const dropped = logEntries(n.node, "dropping sync channel", logStart.get(n.name)).filter(
        (e) => e.authenticated !== m,
      );
      expect(dropped).toEqual([]);
    }
  });
});
