import * as A from "@automerge/automerge";
import { Repo, type DocumentId, type PeerId } from "@automerge/automerge-repo";
import { generateKeyPair } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CheckpointKind, signCheckpoint } from "../../node/authority/index.js";
import { charterIdOf, directoryIdOf, ownedDocumentId } from "../../node/federation/index.js";
import { encodeRequest, OUTBOX_KEY } from "../../node/bookings/index.js";
import { encodeMember, readCharter } from "../../node/federation/charter.js";
import { createLibp2pNode, Libp2pNetworkAdapter, type ConcordatLibp2p } from "../../node/network/index.js";
import { decodeTrainer, encodeTrainer } from "../../node/roster/records.js";
import { draft, startFederationWith, waitForForeignTrainer, waitUntil, type StartedFederation } from "../helpers/federation.js";

type Trainers = { trainers: Record<string, unknown> };
type Directory = { checkpoints: Record<string, unknown> };
type Charter = { members: Record<string, unknown> };

/**
 * A misbehaving member: a stock automerge-repo Repo with Concordat's libp2p adapter and a valid
 * member key. It writes into another hub's roster and directory, and relays: the owner never signs
 * what it wrote, and an honest third hub serves exactly what the owner signed.
 */
describe("a misbehaving member", () => {
  let fed: StartedFederation;
  let libp2p: ConcordatLibp2p;
  let repo: Repo;
  const a = () => fed.byName("a");
  const c = () => fed.byName("c");

  beforeAll(async () => {
    // a is the secretariat (the first node).
    fed = await startFederationWith(["a", "c"], [["c", "a"]], { keyOnly: ["m"] });
    await a().node.running.roster.add(draft("H-1"), "op");
    await a().node.running.checkpointer.flush();
    await waitForForeignTrainer(c(), a(), "H-1");
    const m = fed.key("m");
    libp2p = await createLibp2pNode({ privateKey: m.privateKey, listen: ["/ip4/127.0.0.1/tcp/0"] }, pino({ level: "silent" }));
    const address = a().node.running.network.libp2pAddresses()[0]?.replace(/\/p2p\/.*$/, "") as string;
    const adapter = new Libp2pNetworkAdapter({ policy: "strict", dial: [{ peerId: a().peerId, addrs: [address] }] }, { libp2p, logger: pino({ level: "silent" }) });
    repo = new Repo({ network: [adapter], peerId: m.peerId as PeerId, sharePolicy: async () => true });
  });
  afterAll(async () => {
    await repo?.shutdown();
    await libp2p?.stop();
    await fed?.stop();
  });

  const shardOf = (trainerId: string) => {
    const { documents } = a().node.running;
    const shard = documents.describe().find((d) => d.header.type === "roster" && Object.hasOwn((documents.get(d.key) as Trainers).trainers, trainerId));
    if (!shard) throw new Error(`no shard holds ${trainerId}`);
    return shard;
  };

  it("its writes into a's roster reach every Repo copy, but never a's authoring copy nor c's verified view", async () => {
    const shard = shardOf("H-1");
    const handle = await repo.find<Trainers>(shard.id as DocumentId);
    handle.change((d) => {
      d.trainers["EVIL-1"] = encodeTrainer({ ...decodeTrainer(d.trainers["H-1"]), id: "EVIL-1", displayName: "Injected" });
      d.trainers["H-1"] = encodeTrainer({ ...decodeTrainer(d.trainers["H-1"]), displayName: "Defaced" });
    });
    const forgedHeads = A.getHeads(handle.doc());
    // The forgery travels: a's published copy and, relayed by a, c's copy both hold it.
    await waitUntil("a's Repo copy to hold the forgery", () => {
      const h = a().node.running.repo.handles[shard.id];
      return h?.isReady() && Object.hasOwn((h.doc() as Trainers).trainers, "EVIL-1");
    }, 10_000);
    await waitUntil("c's Repo copy to hold the forgery", () => {
      const h = c().node.running.repo.handles[shard.id];
      return h?.isReady() && Object.hasOwn((h.doc() as Trainers).trainers, "EVIL-1");
    }, 10_000);
    // a's authoring copy never contains it, so a never signs it…
    expect(A.hasHeads(a().node.running.documents.get(shard.key), forgedHeads)).toBe(false);
    await a().node.running.roster.update({ ...draft("H-1"), displayName: "Owner's edit" }, ["display_name"], "op");
    await a().node.running.checkpointer.flush();
    const signed = a().node.running.checkpointer.latest(shard.id);
    expect(A.hasHeads(a().node.running.documents.get(shard.key), forgedHeads)).toBe(false);
    // …and c serves exactly what a signed: the owner's edit, no injected trainer, no defacement.
    await waitUntil("c's view to reach a's new checkpoint", () => c().node.running.views.view(shard.id)?.checkpoint.seq === signed?.checkpoint.seq, 10_000);
    const view = c().node.running.views.view(shard.id)?.doc as Trainers;
    expect(Object.hasOwn(view.trainers, "EVIL-1")).toBe(false);
    expect(decodeTrainer(view.trainers["H-1"]).displayName).toBe("Owner's edit");
    expect([...A.getHeads(view as A.Doc<unknown>)].sort()).toEqual(signed?.checkpoint.heads);
  });

  it("its forged and replayed checkpoint entries in a's directory are rejected and named; a's next checkpoint still gets through", async () => {
    const shard = shardOf("H-1");
    const m = fed.key("m");
    const directory = await repo.find<Directory>(directoryIdOf(a().peerId));
    const current = c().node.running.views.view(shard.id)?.checkpoint;
    const forged = await signCheckpoint(
      { federationId: "concordat-dev", owner: a().peerId, documentId: shard.id, heads: A.getHeads((await repo.find<Trainers>(shard.id as DocumentId)).doc()), seq: (current?.seq ?? 0) + 1, time: new Date().toISOString(), kind: CheckpointKind.Checkpoint },
      m.sign,
    );
    directory.change((d) => {
      d.checkpoints[shard.id] = new A.ImmutableString(JSON.stringify(forged));
    });
    const rejected = (pattern: RegExp) => c().node.running.views.rejections().some((r) => r.documentId === shard.id && pattern.test(r.reason));
    await waitUntil("c to reject the forged checkpoint", () => rejected(/bad signature/), 10_000);
    // A replay of an older checkpoint a really signed.
    const older = { ...current, seq: (current?.seq ?? 1) - 1 };
    const replay = await signCheckpoint(older as never, (data) => a().node.running.identity.sign(data));
    directory.change((d) => {
      d.checkpoints[shard.id] = new A.ImmutableString(JSON.stringify(replay));
    });
    await waitUntil("c to reject the replay", () => rejected(/not above the last seen/), 10_000);
    // Deleting the entry from the relayed directory: harmless (c keeps its verified view) and named.
    directory.change((d) => {
      delete d.checkpoints[shard.id];
    });
    await waitUntil("c to name the missing entry", () => c().node.logs.some((l) => l.includes("a directory no longer carries the checkpoint of a document") && l.includes(shard.id)), 10_000);
    // The view has not moved; a's next checkpoint still gets through.
    expect(c().node.running.views.view(shard.id)?.checkpoint.seq).toBe(current?.seq);
    await a().node.running.roster.update({ ...draft("H-1"), displayName: "Later edit" }, ["display_name"], "op");
    await a().node.running.checkpointer.flush();
    await waitUntil("c's view to follow a's next checkpoint", () => {
      const view = c().node.running.views.view(shard.id)?.doc as Trainers | undefined;
      return view && decodeTrainer(view.trainers["H-1"]).displayName === "Later edit";
    }, 10_000);
    const logged = c().node.logs.filter((l) => l.includes("rejected a checkpoint"));
    expect(logged.length).toBeGreaterThanOrEqual(2);
  });

  it("its writes into the charter change no one's membership: not at the secretariat, not at c", async () => {
    const m = fed.key("m");
    const charter = await repo.find<Charter>(charterIdOf(a().peerId) as DocumentId);
    const { state } = readCharter(charter.doc());
    const hubC = state.members.find((x) => x.hub === c().hub);
    const mine = state.members.find((x) => x.hub === m.hub);
    expect(hubC && mine).toBeTruthy();
    const now = new Date().toISOString();
    charter.change((d) => {
      // Remove c, make itself the secretariat, and admit an accomplice under m's own key.
      d.members[c().hub] = encodeMember({ ...(hubC as NonNullable<typeof hubC>), removedAt: now });
      d.members[m.hub] = encodeMember({ ...(mine as NonNullable<typeof mine>), role: "secretariat" });
      d.members["hub-evil"] = encodeMember({ ...(mine as NonNullable<typeof mine>), hub: "hub-evil", name: "Accomplice" });
    });
    const forgedHeads = A.getHeads(charter.doc());
    const charterId = charterIdOf(a().peerId);
    await waitUntil("c's Repo copy of the charter to hold the forgery", () => {
      const h = c().node.running.repo.handles[charterId];
      return h?.isReady() && A.hasHeads(h.doc() as A.Doc<unknown>, forgedHeads);
    }, 10_000);
    // The secretariat never takes it into its authoring copy…
    expect(A.hasHeads(a().node.running.documents.get("charter"), forgedHeads)).toBe(false);
    // …and the next charter it signs (admitting someone) reaches c without any of it.
    const newcomer = { hub: "hub-new", peerId: peerIdFromPrivateKey(await generateKeyPair("Ed25519")).toString() };
    await a().node.running.charter.admit("op", { hub: newcomer.hub, peerId: newcomer.peerId });
    await a().node.running.checkpointer.flush();
    await waitUntil("c to trust the charter that admits the newcomer", () => c().node.running.membership.member(newcomer.hub), 10_000);
    for (const membership of [a().node.running.membership, c().node.running.membership]) {
      expect(membership.member("hub-evil")).toBeUndefined();
      expect(membership.member(c().hub)?.removedAt).toBeUndefined();
      expect(membership.member(m.hub)?.role).toBe("hub");
    }
    expect(c().node.running.federation.allowed(c().peerId)).toBe(false); // itself, never
    expect(c().node.running.federation.allowed(a().peerId)).toBe(true);
  });

  it("it cannot claim a's document as its own: a checkpoint of a's shard in its own directory, signed with its own key, is rejected", async () => {
    const m = fed.key("m");
    const shard = shardOf("H-1");
    const handle = await repo.find<Trainers>(shard.id as DocumentId);
    handle.change((d) => {
      d.trainers["CLAIMED-1"] = encodeTrainer({ ...decodeTrainer(d.trainers["H-1"]), id: "CLAIMED-1", displayName: "Claimed" });
    });
    const before = c().node.running.views.view(shard.id)?.checkpoint;
    // Its own directory (the id the charter gives it) lists a's shard and carries its own checkpoint of it.
    const claim = await signCheckpoint(
      { federationId: "concordat-dev", owner: m.peerId, documentId: shard.id, heads: A.getHeads(handle.doc()), seq: Date.now() * 1000 + 7, time: new Date().toISOString(), kind: CheckpointKind.Checkpoint },
      m.sign,
    );
    const own = A.change(A.init<Record<string, unknown>>(), (d) => {
      d.documents = { [shard.id]: { type: new A.ImmutableString("roster"), key: new A.ImmutableString(shard.key) } };
      d.checkpoints = { [shard.id]: new A.ImmutableString(JSON.stringify(claim)) };
    });
    repo.import(A.save(own), { docId: directoryIdOf(m.peerId) });
    await waitUntil("c to reject the claim", () =>
      c().node.running.views.rejections().some((r) => r.hub === m.hub && r.documentId === shard.id && /is not hub 'hub-m''s/.test(r.reason)),
    10_000);
    const view = c().node.running.views.view(shard.id);
    expect(view?.hub).toBe(a().hub);
    expect(view?.checkpoint.seq).toBe(before?.seq);
    expect(Object.hasOwn((view?.doc as Trainers).trainers, "CLAIMED-1")).toBe(false);
  });

  it("a booking request it forges in c's outbox is never answered nor listed by a; c's own request is", async () => {
    await a().node.running.roster.update({ ...draft("H-1"), availability: [{ start: "2027-01-01T00:00:00Z", end: "2027-12-31T00:00:00Z" }] }, ["availability"], "op");
    await a().node.running.checkpointer.flush();
    await waitUntil("c to index H-1", () => c().node.running.availability.indexed("hub-a", "H-1")?.availability.length === 1, 15_000);
    const outboxId = ownedDocumentId(directoryIdOf(c().peerId), OUTBOX_KEY);
    const handle = await repo.find<{ requests: Record<string, unknown> }>(outboxId as DocumentId);
    const forged = { id: "forged-1", requester: "hub-c", trainer: { hub: "hub-a", id: "H-1" }, start: "2027-02-01T00:00:00.000Z", end: "2027-02-03T00:00:00.000Z", competency: "", course: "", note: "", expiresAt: "2027-01-01T00:00:00.000Z", createdAt: new Date().toISOString(), createdBy: "m" };
    handle.change((d) => {
      d.requests["forged-1"] = encodeRequest(forged);
    });
    await waitUntil("a's Repo copy of c's outbox to hold the forgery", () => {
      const h = a().node.running.repo.handles[outboxId];
      return h?.isReady() && Object.hasOwn((h.doc() as { requests: Record<string, unknown> }).requests, "forged-1");
    }, 10_000);
    // c's own request, signed by c, arrives after the forgery and is listed at a (a decides by hand: policy manual).
    const made = await c().node.running.bookings.request("op", { id: "real-1", trainerHub: "hub-a", trainerId: "H-1", start: "2027-02-01T00:00:00Z", end: "2027-02-03T00:00:00Z", competency: "", course: "", note: "", expiresAt: "", });
    await c().node.running.checkpointer.flush();
    await waitUntil("a to list c's request", () => a().node.running.bookings.list({ direction: "incoming" }).some((b) => b.key === made.booking.key), 15_000);
    await a().node.running.bookings.idle();
    expect(a().node.running.bookings.list({ direction: "incoming" }).map((b) => b.key)).toEqual(["hub-c/real-1"]);
    expect(() => a().node.running.bookings.show("hub-c/forged-1")).toThrow(/no booking/);
  });
});
