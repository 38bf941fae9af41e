import * as A from "@automerge/automerge";
import type { DocumentId } from "@automerge/automerge-repo";
import { generateKeyPair } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pino } from "pino";
import { CheckpointKind, signCheckpoint, VerifiedViews, type SignedCheckpoint } from "../../node/authority/index.js";
import { directoryIdOf } from "../../node/federation/index.js";
import { shardOf as rosterShard } from "../../node/roster/index.js";
import { toPlain } from "../../node/replica/plain.js";
import { decodeTrainer, encodeTrainer } from "../../node/roster/records.js";
import {
  draft,
  startFederation,
  stopFederation,
  waitForForeignTrainer,
  waitUntil,
  type FederationNode,
} from "../helpers/federation.js";
import { changeReplicaCopy } from "../helpers/replica.js";

type Trainers = { trainers: Record<string, unknown> };

/** b serves a's documents only as a signed them: forged, replayed and unsigned changes never show. */
describe("verified views of foreign documents", () => {
  let nodes: FederationNode[] = [];
  const a = () => nodes[0] as FederationNode;
  const b = () => nodes[1] as FederationNode;

  /** The shard of a's roster that holds `trainerId`, by document id. */
  const shardOf = (trainerId: string): DocumentId => {
    const { documents } = a().node.running;
    const shard = documents
      .describe()
      .find((d) => d.header.type === "roster" && Object.hasOwn((documents.get(d.key) as Trainers).trainers, trainerId));
    if (!shard) throw new Error(`no shard holds ${trainerId}`);
    return shard.id;
  };
  const viewHas = (documentId: string, trainerId: string) => {
    const view = b().node.running.views.view(documentId);
    return view !== undefined && Object.hasOwn((view.doc as Trainers).trainers, trainerId);
  };
  const rejectedFor = (documentId: string, pattern: RegExp) =>
    b()
      .node.running.views.rejections()
      .some((r) => r.documentId === documentId && pattern.test(r.reason));
  /** Writes `entry` into b's own copy of a's directory, as a misbehaving relay would deliver it. */
  const relayEntry = async (documentId: string, entry: SignedCheckpoint | string) => {
    await changeReplicaCopy<{ checkpoints: Record<string, unknown> }>(
      b().node.running,
      directoryIdOf(a().peerId),
      (d) => {
        d.checkpoints[documentId] = new A.ImmutableString(typeof entry === "string" ? entry : JSON.stringify(entry));
      },
    );
  };

  beforeAll(async () => {
    nodes = await startFederation(["a", "b"], [["b", "a"]]);
    await a().node.running.roster.add(draft("V-1"), "op");
    await a().node.running.checkpointer.flush();
    await waitForForeignTrainer(b(), a(), "V-1");
  });
  afterAll(async () => {
    await stopFederation(nodes);
  });

  it("a's signed document is served at b, at exactly the checkpoint's heads", async () => {
    const id = shardOf("V-1");
    await waitUntil("b's verified view of a's shard", () => viewHas(id, "V-1"), 10_000);
    const view = b().node.running.views.view(id);
    expect(view?.hub).toBe("hub-a");
    expect(view?.checkpoint.heads).toEqual(a().node.running.checkpointer.latest(id)?.checkpoint.heads);
    // The view is the owner's document at exactly those heads (read in b's replica worker, as plain data).
    const key =
      a()
        .node.running.documents.describe()
        .find((d) => d.id === id)?.key ?? "";
    const atHeads = A.view(a().node.running.documents.get(key), view?.checkpoint.heads ?? []);
    expect(view?.doc).toEqual(toPlain(atHeads));
  });

  it("an unsigned change made to a's document by someone else never shows in the view", async () => {
    const id = shardOf("V-1");
    await changeReplicaCopy<Trainers>(b().node.running, id, (d) => {
      d.trainers["FORGED-1"] = encodeTrainer({
        ...decodeTrainer(d.trainers["V-1"]),
        id: "FORGED-1",
        displayName: "Forged",
      });
    });
    const copy = (await b().node.running.replica.read(id, { path: ["trainers"] }))?.value as Record<string, unknown>;
    expect(Object.hasOwn(copy, "FORGED-1")).toBe(true); // in the Repo's copy…
    expect(viewHas(id, "FORGED-1")).toBe(false); // …but not in what b serves
    // a's next signed checkpoint of the same shard moves the view on, still without the forgery.
    const shards = a().node.running.roster.shardCount;
    let sibling = "V-2";
    for (let i = 0; rosterShard(sibling, shards) !== rosterShard("V-1", shards); i += 1) sibling = `V-2-${i}`;
    await a().node.running.roster.add(draft(sibling), "op");
    await a().node.running.checkpointer.flush();
    expect(shardOf(sibling)).toBe(id);
    await waitUntil("the view to follow a's new checkpoint", () => viewHas(id, sibling), 10_000);
    expect(viewHas(id, "FORGED-1")).toBe(false);
  });

  it("a checkpoint forged with another key, or claimed for a but signed by another, is rejected and named", async () => {
    const id = shardOf("V-1");
    const before = b().node.running.views.view(id)?.checkpoint.seq;
    const key = await generateKeyPair("Ed25519");
    const intruder = peerIdFromPrivateKey(key).toString();
    const sign = async (d: Uint8Array) => key.sign(d);
    const base = {
      federationId: "concordat-dev",
      documentId: id,
      heads: ["00".repeat(32)],
      seq: Date.now() * 1000 + 999,
      time: new Date().toISOString(),
      kind: CheckpointKind.Checkpoint,
    };
    await relayEntry(id, await signCheckpoint({ ...base, owner: intruder }, sign));
    await waitUntil(
      "the rejection of the intruder's checkpoint",
      () => rejectedFor(id, /which the charter does not give hub .hub-a./),
      10_000,
    );
    await relayEntry(id, await signCheckpoint({ ...base, owner: a().peerId }, sign));
    await waitUntil("the rejection of the bad signature", () => rejectedFor(id, /bad signature/), 10_000);
    await relayEntry(id, "{not json");
    await waitUntil("the rejection of the malformed entry", () => rejectedFor(id, /malformed/), 10_000);
    expect(b().node.running.views.view(id)?.checkpoint.seq).toBe(before);
  });

  it("an old checkpoint of a's, replayed, is rejected as a replay", async () => {
    const id = shardOf("V-1");
    const current = b().node.running.views.view(id)?.checkpoint;
    const { identity } = a().node.running;
    const old = await signCheckpoint(
      {
        federationId: "concordat-dev",
        owner: a().peerId,
        documentId: id,
        heads: current?.heads ?? [],
        seq: (current?.seq ?? 1) - 1,
        time: new Date().toISOString(),
        kind: CheckpointKind.Checkpoint,
      },
      (d) => identity.sign(d),
    );
    await relayEntry(id, old);
    await waitUntil("the rejection of the replay", () => rejectedFor(id, /not above the last seen/), 10_000);
    expect(b().node.running.views.view(id)?.checkpoint.seq).toBe(current?.seq);
  });

  it("a relay overwriting a's entry in its copy of the directory cannot hide a's next checkpoint", async () => {
    const id = shardOf("V-1");
    const relayChange = (change: (d: { checkpoints: Record<string, unknown>; noise?: number }) => void) =>
      changeReplicaCopy(b().node.running, directoryIdOf(a().peerId), change);
    // Many ops first: the relay's next write then carries a higher Lamport counter than a's coming
    // one, so it is the value Automerge shows — a's entry survives only as a conflict.
    await relayChange((d) => {
      for (let i = 0; i < 2000; i += 1) d.noise = i;
    });
    await relayEntry(id, "{overwritten by a relay");
    const shards = a().node.running.roster.shardCount;
    let sibling = "V-R";
    for (let i = 0; rosterShard(sibling, shards) !== rosterShard("V-1", shards); i += 1) sibling = `V-R-${i}`;
    await a().node.running.roster.add(draft(sibling), "op");
    await a().node.running.checkpointer.flush();
    await waitUntil(
      "b's view to reach a's newest checkpoint despite the relay's writes",
      () => viewHas(id, sibling),
      10_000,
    );
  });

  it("freshness: each read says as of which checkpoint; a member is stale past the limit (injected clock)", async () => {
    const running = b().node.running;
    let now = Date.now();
    const views = new VerifiedViews(
      {
        federationId: "concordat-dev",
        selfDirectoryId: running.federation.self.directoryId,
        staleAfterMs: 60_000,
        now: () => now,
      },
      {
        membership: running.membership,
        replica: running.replica,
        store: running.store,
        logger: pino({ level: "silent" }),
      },
    );
    await a().node.running.roster.add(draft("V-F"), "op");
    await a().node.running.checkpointer.flush();
    await views.start();
    views.follow();
    try {
      const id = shardOf("V-F");
      await waitUntil("a view of a's shard", () => views.view(id), 10_000);
      // Freshness is judged by the member's newest verified checkpoint, whichever document it is of.
      const signedAt = Date.parse(views.freshness()[0]?.latest?.time as string);
      expect(signedAt).toBeGreaterThanOrEqual(Date.parse(views.view(id)?.checkpoint.time as string));
      now = signedAt + 10_000;
      expect(views.freshness()).toEqual([expect.objectContaining({ hub: "hub-a", stale: false, ageSeconds: 10 })]);
      now = signedAt + 120_000;
      expect(views.freshness()).toEqual([expect.objectContaining({ hub: "hub-a", stale: true, ageSeconds: 120 })]);
    } finally {
      views.stop();
    }
    // The node's own status reports the member with its verified checkpoint and rejections.
    const status = await b().node.clients(b().node.adminToken).node.getStatus({});
    expect(status.members).toEqual([expect.objectContaining({ hub: "hub-a", stale: false })]);
    expect(status.members[0]?.verifiedSeq).toBeGreaterThan(0);
    expect(status.members[0]?.rejected).toBeGreaterThan(0);
  });

  it("a checkpoint whose heads have not arrived waits, and is applied when they do", async () => {
    const { libp2pAdapter } = b().node.running.network;
    libp2pAdapter?.disconnect(); // b is cut off
    await a().node.running.roster.add(draft("V-3"), "op");
    await a().node.running.checkpointer.flush();
    const id = shardOf("V-3");
    const signed = a().node.running.checkpointer.latest(id) as SignedCheckpoint;
    // The directory entry reaches b first (relayed), the document's changes not yet.
    await relayEntry(id, signed);
    await waitUntil(
      "b to hold the checkpoint as pending",
      () => !viewHas(id, "V-3") && b().node.running.views.view(id) !== undefined,
      5_000,
    );
    libp2pAdapter?.connect(b().peerId as never, libp2pAdapter.peerMetadata);
    await waitUntil("the pending checkpoint to apply once the heads arrive", () => viewHas(id, "V-3"), 20_000);
    expect(b().node.running.views.view(id)?.checkpoint.seq).toBe(signed.checkpoint.seq);
  });
});
