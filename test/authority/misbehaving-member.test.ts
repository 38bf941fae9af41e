import * as A from "@automerge/automerge";
import { Repo, type DocumentId, type Message } from "@automerge/automerge-repo";
import { generateKeyPair } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CheckpointKind, signCheckpoint } from "../../node/authority/index.js";
import { charterIdOf, directoryIdOf, ownedDocumentId } from "../../node/federation/index.js";
import { encodeRequest, OUTBOX_KEY } from "../../node/bookings/index.js";
import { encodeMember, readCharter } from "../../node/federation/charter.js";
import { hubId } from "../../node/ids.js";
import { createLibp2pNode, Libp2pNetworkAdapter, type ConcordatLibp2p } from "../../node/network/index.js";
import { encodeAttestation, parseSyncMessage } from "../../node/admission/index.js";
import { toPlain } from "../../node/replica/plain.js";
import { decodeTrainer, encodeTrainer } from "../../node/roster/records.js";
import {
  draft,
  startFederationWith,
  waitForForeignTrainer,
  waitForLog,
  waitUntil,
  type FederationNode,
  type StartedFederation,
} from "../helpers/federation.js";
import { replicaHolds } from "../helpers/replica.js";

type Trainers = { trainers: Record<string, unknown> };
type Directory = { checkpoints: Record<string, unknown> };
type Charter = { members: Record<string, unknown> };

/**
 * A misbehaving member: a stock automerge-repo Repo with Concordat's libp2p adapter and a valid
 * member key. It writes into another hub's roster, directory, the charter and an outbox: admission
 * refuses every such change at the first honest node (none enters any copy), the owner never signs
 * it, and an honest third hub serves exactly what the owner signed. Signing what it writes into its
 * own directory gets it in, but claiming another hub's document there is rejected by the readers.
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
    libp2p = await createLibp2pNode(
      { privateKey: m.privateKey, listen: ["/ip4/127.0.0.1/tcp/0"] },
      pino({ level: "silent" }),
    );
    const address = a()
      .node.running.network.libp2pAddresses()[0]
      ?.replace(/\/p2p\/.*$/, "") as string;
    const adapter = new Libp2pNetworkAdapter(
      { policy: "strict", dial: [{ peerId: a().peerId, addrs: [address] }] },
      { libp2p, logger: pino({ level: "silent" }) },
    );
    // It signs the heads of what it sends of its own directory (as a Concordat node would), and
    // nothing else: what it writes into others' documents goes unsigned.
    const ownId = directoryIdOf(m.peerId);
    const send = adapter.send.bind(adapter);
    adapter.send = (message: Message) => {
      if (message.documentId !== ownId || !(message.data instanceof Uint8Array)) return send(message);
      const heads = parseSyncMessage(message.data).heads.sort();
      if (heads.length === 0) return send(message);
      const signature = m.privateKey.sign(encodeAttestation("concordat-dev", ownId, m.peerId, heads)) as Uint8Array;
      send({ ...message, attestations: [{ signer: m.peerId, heads, signature }] } as Message);
    };
    repo = new Repo({ network: [adapter], peerId: m.peerId, sharePolicy: async () => true });
  });
  afterAll(async () => {
    await repo?.shutdown();
    await libp2p?.stop();
    await fed?.stop();
  });

  /** Waits until `node` refused m's changes to `documentId` at admission. */
  const refused = (node: FederationNode, documentId: string) =>
    waitForLog(
      node.node,
      "refused at admission",
      (e) =>
        e.peer === fed.key("m").peerId &&
        e.document === documentId &&
        (e.reason === "unsigned" || e.reason === "own-document"),
      0,
      10_000,
    );
  const holds = (node: FederationNode, documentId: DocumentId, heads: A.Heads) =>
    replicaHolds(node.node.running, documentId, heads);

  const shardOf = (trainerId: string) => {
    const { documents } = a().node.running;
    const shard = documents
      .describe()
      .find((d) => d.header.type === "roster" && Object.hasOwn((documents.get(d.key) as Trainers).trainers, trainerId));
    if (!shard) throw new Error(`no shard holds ${trainerId}`);
    return shard;
  };

  it("its writes into a's roster enter no copy: not a's, not c's; c serves exactly what a signed", async () => {
    const shard = shardOf("H-1");
    const handle = await repo.find<Trainers>(shard.id);
    handle.change((d) => {
      d.trainers["EVIL-1"] = encodeTrainer({
        ...decodeTrainer(d.trainers["H-1"]),
        id: "EVIL-1",
        displayName: "Injected",
      });
      d.trainers["H-1"] = encodeTrainer({ ...decodeTrainer(d.trainers["H-1"]), displayName: "Defaced" });
    });
    const forgedHeads = A.getHeads(handle.doc());
    // a, the owner, admits no change into its own documents from anyone…
    await refused(a(), shard.id);
    for (const n of [a(), c()]) expect(await holds(n, shard.id, forgedHeads)).toBe(false);
    expect(A.hasHeads(a().node.running.documents.get(shard.key), forgedHeads)).toBe(false);
    await a().node.running.roster.update({ ...draft("H-1"), displayName: "Owner's edit" }, ["display_name"], "op");
    await a().node.running.checkpointer.flush();
    const signed = a().node.running.checkpointer.latest(shard.id);
    // …and c serves exactly what a signed: the owner's edit, no injected trainer, no defacement.
    await waitUntil(
      "c's view to reach a's new checkpoint",
      () => c().node.running.views.view(shard.id)?.checkpoint.seq === signed?.checkpoint.seq,
      10_000,
    );
    const view = c().node.running.views.view(shard.id)?.doc as Trainers;
    expect(Object.hasOwn(view.trainers, "EVIL-1")).toBe(false);
    expect(decodeTrainer(view.trainers["H-1"]).displayName).toBe("Owner's edit");
    // Exactly the owner's document at the signed heads.
    expect(view).toEqual(toPlain(A.view(a().node.running.documents.get(shard.key), signed?.checkpoint.heads ?? [])));
    for (const n of [a(), c()]) expect(await holds(n, shard.id, forgedHeads)).toBe(false);
  });

  it("its forged, replayed and deleted checkpoint entries in a's directory enter no copy; a's next checkpoint still gets through", async () => {
    const shard = shardOf("H-1");
    const m = fed.key("m");
    const directoryId = directoryIdOf(a().peerId);
    const directory = await repo.find<Directory>(directoryId);
    const current = c().node.running.views.view(shard.id)?.checkpoint;
    const forged = await signCheckpoint(
      {
        federationId: "concordat-dev",
        owner: a().peerId,
        documentId: shard.id,
        heads: A.getHeads((await repo.find<Trainers>(shard.id)).doc()),
        seq: (current?.seq ?? 0) + 1,
        time: new Date().toISOString(),
        kind: CheckpointKind.Checkpoint,
      },
      m.sign,
    );
    directory.change((d) => {
      d.checkpoints[shard.id] = new A.ImmutableString(JSON.stringify(forged));
    });
    // A replay of an older checkpoint a really signed, then a deletion.
    const replay = await signCheckpoint({ ...current, seq: (current?.seq ?? 1) - 1 } as never, (data) =>
      a().node.running.identity.sign(data),
    );
    directory.change((d) => {
      d.checkpoints[shard.id] = new A.ImmutableString(JSON.stringify(replay));
    });
    directory.change((d) => {
      delete d.checkpoints[shard.id];
    });
    const heads = A.getHeads(directory.doc());
    await refused(a(), directoryId);
    for (const n of [a(), c()]) expect(await holds(n, directoryId, heads)).toBe(false);
    // The view has not moved; a's next checkpoint still gets through.
    expect(c().node.running.views.view(shard.id)?.checkpoint.seq).toBe(current?.seq);
    await a().node.running.roster.update({ ...draft("H-1"), displayName: "Later edit" }, ["display_name"], "op");
    await a().node.running.checkpointer.flush();
    await waitUntil(
      "c's view to follow a's next checkpoint",
      () => {
        const view = c().node.running.views.view(shard.id)?.doc as Trainers | undefined;
        return view && decodeTrainer(view.trainers["H-1"]).displayName === "Later edit";
      },
      10_000,
    );
    expect(c().node.running.views.rejections()).toEqual([]);
  });

  it("its writes into the charter change no one's membership: not at the secretariat, not at c", async () => {
    const m = fed.key("m");
    const charter = await repo.find<Charter>(charterIdOf(a().peerId));
    const { state } = readCharter(charter.doc());
    const hubC = state.members.find((x) => x.hub === c().hub);
    const mine = state.members.find((x) => x.hub === m.hub);
    expect(hubC && mine).toBeTruthy();
    const now = new Date().toISOString();
    charter.change((d) => {
      // Remove c, make itself the secretariat, and admit an accomplice under m's own key.
      d.members[c().hub] = encodeMember({ ...(hubC as NonNullable<typeof hubC>), removedAt: now });
      d.members[m.hub] = encodeMember({ ...(mine as NonNullable<typeof mine>), role: "secretariat" });
      d.members["hub-evil"] = encodeMember({
        ...(mine as NonNullable<typeof mine>),
        hub: hubId("hub-evil"),
        name: "Accomplice",
      });
    });
    const forgedHeads = A.getHeads(charter.doc());
    const charterId = charterIdOf(a().peerId);
    await refused(a(), charterId);
    for (const n of [a(), c()]) expect(await holds(n, charterId, forgedHeads)).toBe(false);
    // The secretariat never takes it into its authoring copy…
    expect(A.hasHeads(a().node.running.documents.get("charter"), forgedHeads)).toBe(false);
    // …and the next charter it signs (admitting someone) reaches c without any of it.
    const newcomer = { hub: "hub-new", peerId: peerIdFromPrivateKey(await generateKeyPair("Ed25519")).toString() };
    await a().node.running.charter.admit("op", { hub: newcomer.hub, peerId: newcomer.peerId });
    await a().node.running.checkpointer.flush();
    await waitUntil(
      "c to trust the charter that admits the newcomer",
      () => c().node.running.membership.member(newcomer.hub),
      10_000,
    );
    for (const membership of [a().node.running.membership, c().node.running.membership]) {
      expect(membership.member("hub-evil")).toBeUndefined();
      expect(membership.member(c().hub)?.removedAt).toBeUndefined();
      expect(membership.member(m.hub)?.role).toBe("hub");
    }
    expect(c().node.running.federation.allowed(c().peerId)).toBe(false); // itself, never
    expect(c().node.running.federation.allowed(a().peerId)).toBe(true);
  });

  it("it cannot claim a's document as its own: signing its own directory gets it in, but a checkpoint of a's shard there is rejected", async () => {
    const m = fed.key("m");
    const shard = shardOf("H-1");
    const before = c().node.running.views.view(shard.id)?.checkpoint;
    // Its own directory (the id the charter gives it) lists a's shard and carries its own checkpoint
    // of it; it signs what it publishes (as a Concordat node would), so admission lets it in.
    const claim = await signCheckpoint(
      {
        federationId: "concordat-dev",
        owner: m.peerId,
        documentId: shard.id,
        heads: shard.heads,
        seq: Date.now() * 1000 + 7,
        time: new Date().toISOString(),
        kind: CheckpointKind.Checkpoint,
      },
      m.sign,
    );
    const own = A.change(A.init<Record<string, unknown>>(), (d) => {
      d.documents = { [shard.id]: { type: new A.ImmutableString("roster"), key: new A.ImmutableString(shard.key) } };
      d.checkpoints = { [shard.id]: new A.ImmutableString(JSON.stringify(claim)) };
    });
    const ownId = directoryIdOf(m.peerId);
    repo.import(A.save(own), { docId: ownId });
    await waitUntil("c to hold m's directory", () => holds(c(), ownId, A.getHeads(own)), 10_000);
    await waitUntil(
      "c to reject the claim",
      () =>
        c()
          .node.running.views.rejections()
          .some(
            (r) =>
              r.hub === m.hub &&
              r.documentId === shard.id &&
              /is not one of the documents of hub 'hub-m'/.test(r.reason),
          ),
      10_000,
    );
    const view = c().node.running.views.view(shard.id);
    expect(view?.hub).toBe(a().hub);
    expect(view?.checkpoint.seq).toBe(before?.seq);
  });

  it("a booking request it forges in c's outbox is never answered nor listed by a; c's own request is", async () => {
    await a().node.running.roster.update(
      { ...draft("H-1"), availability: [{ start: "2027-01-01T00:00:00Z", end: "2027-12-31T00:00:00Z" }] },
      ["availability"],
      "op",
    );
    await a().node.running.checkpointer.flush();
    await waitUntil(
      "c to index H-1",
      () => c().node.running.availability.indexed("hub-a", "H-1")?.availability.length === 1,
      15_000,
    );
    const outboxId = ownedDocumentId(directoryIdOf(c().peerId), OUTBOX_KEY);
    const handle = await repo.find<{ requests: Record<string, unknown> }>(outboxId);
    const forged = {
      id: "forged-1",
      requester: "hub-c",
      trainer: { hub: "hub-a", id: "H-1" },
      start: "2027-02-01T00:00:00.000Z",
      end: "2027-02-03T00:00:00.000Z",
      competency: "",
      course: "",
      note: "",
      expiresAt: "2027-01-01T00:00:00.000Z",
      createdAt: new Date().toISOString(),
      createdBy: "m",
    };
    handle.change((d) => {
      d.requests["forged-1"] = encodeRequest(forged);
    });
    await refused(a(), outboxId);
    expect(await holds(a(), outboxId, A.getHeads(handle.doc()))).toBe(false);
    // c's own request, signed by c, arrives after the forgery and is listed at a (a decides by hand: policy manual).
    const made = await c().node.running.bookings.request("op", {
      id: "real-1",
      trainerHub: "hub-a",
      trainerId: "H-1",
      start: "2027-02-01T00:00:00Z",
      end: "2027-02-03T00:00:00Z",
      competency: "",
      course: "",
      note: "",
      expiresAt: "",
    });
    await c().node.running.checkpointer.flush();
    await waitUntil(
      "a to list c's request",
      () =>
        a()
          .node.running.bookings.list({ direction: "incoming" })
          .some((b) => b.key === made.booking.key),
      15_000,
    );
    await a().node.running.bookings.idle();
    expect(
      a()
        .node.running.bookings.list({ direction: "incoming" })
        .map((b) => b.key),
    ).toEqual(["hub-c/real-1"]);
    expect(() => a().node.running.bookings.show("hub-c/forged-1")).toThrow(/no booking/);
  });
});
