import * as A from "@automerge/automerge";
import { generateAutomergeUrl, parseAutomergeUrl, Repo, type Message, type PeerId } from "@automerge/automerge-repo";
import { generateKeyPair } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { pino } from "pino";
import { describe, expect, it, vi } from "vitest";
import { repoPeerId } from "../../node/ids.js";
import {
  CHECK_DOCUMENTS,
  AdmissionGate,
  encodeAttestation,
  parseSyncMessage,
  splitChunks,
  type DocumentOwner,
} from "../../node/admission/index.js";

import { lyingDocumentChunk, syncMessage } from "../helpers/sync-messages.js";

const FEDERATION = "concordat-dev";

async function setUp(
  mayReceive?: (peerId: string, documentId: string) => boolean,
  init: { unknownHoldMs?: number; unknownBytesPerPeer?: number } = {},
) {
  const ownerKey = await generateKeyPair("Ed25519");
  const owner = peerIdFromPrivateKey(ownerKey).toString();
  const repo = new Repo({ network: [] });
  const documentId = parseAutomergeUrl(generateAutomergeUrl()).documentId;
  const logs: string[] = [];
  const owners: Record<string, DocumentOwner> = {
    [documentId]: { kind: "member", hub: "hub-o", mayAttest: (p) => p === owner },
  };
  const gate = new AdmissionGate(
    { federationId: FEDERATION, ...init },
    {
      ownerOf: (id) => owners[id],
      attestableHeads: () => undefined,
      self: { peerId: "self", sign: () => new Uint8Array(64) },
      heads: (id) => {
        const handle = repo.handles[id];
        return handle?.isReady() ? A.getHeads(handle.doc() as A.Doc<unknown>) : [];
      },
      apply: async (id, chunks) => {
        for (const c of chunks) repo.handles[id]?.update((d) => A.loadIncremental(d, c.bytes));
      },
      logger: pino({ level: "warn" }, { write: (line: string) => void logs.push(line) }),
      ...(mayReceive ? { mayReceive } : {}),
    },
  );
  const attest = (heads: string[]) => ({
    signer: owner,
    heads: [...heads].sort(),
    signature: ownerKey.sign(encodeAttestation(FEDERATION, documentId, owner, heads)) as Uint8Array,
  });
  const message = (data: Uint8Array, attestations: unknown[] = []): Message =>
    ({
      type: "sync",
      senderId: repoPeerId("relay"),
      targetId: repoPeerId("self"),
      documentId,
      data,
      attestations,
    }) as Message;
  return { repo, documentId, gate, attest, message, logs, owners };
}

/** The chunks of what the gate lets through (none when it dropped the message). */
const passed = (m: Message | undefined) =>
  m?.data ? parseSyncMessage(m.data).changes.flatMap((c) => splitChunks(c, { maxInflatedBytes: 0 })) : [];

describe("the admission gate, on real Automerge documents", () => {
  const ownerDoc = () => {
    let doc = A.from<Record<string, unknown>>({ roster: {} });
    for (let i = 0; i < 5; i += 1)
      doc = A.change(
        doc,
        (d) => void ((d.roster as Record<string, unknown>)[`T-${i}`] = new A.ImmutableString(`trainer ${i}`)),
      );
    return doc;
  };

  it("admits the owner's whole document on its signature, marked for the Repo's side to check its heads", async () => {
    const { repo, documentId, gate, attest, message } = await setUp();
    const doc = ownerDoc();
    repo.findWithProgress(documentId); // the Repo is requesting it: its copy is empty
    await new Promise((resolve) => setImmediate(resolve));
    const heads = A.getHeads(doc);
    const out = gate.inbound(message(syncMessage(heads, [A.save(doc)]), [attest(heads)]));
    expect(passed(out)).toHaveLength(1);
    expect((out as unknown as Record<string, unknown>)[CHECK_DOCUMENTS]).toBe(true);
    // A chunk that lies about its heads is refused by Automerge itself when it is an empty copy's first.
    const forged = A.change(A.clone(doc), (d) => void (d.forged = true));
    expect(() => A.loadIncremental(A.init(), lyingDocumentChunk(forged, heads))).toThrow();
  });

  it("lets a whole document through on its signature only: one whose heads are not signed is refused", async () => {
    const { repo, documentId, gate, attest, message, logs } = await setUp();
    const doc = ownerDoc();
    repo.findWithProgress(documentId);
    await new Promise((resolve) => setImmediate(resolve));
    const first = A.getChanges(A.init(), A.clone(doc)).slice(0, 2);
    const early = A.applyChanges(A.init<Record<string, unknown>>(), first)[0];
    // Something is admitted first: later whole documents are loaded to be checked.
    expect(
      passed(gate.inbound(message(syncMessage(A.getHeads(early), first), [attest(A.getHeads(early))]))),
    ).toHaveLength(2);
    const heads = A.getHeads(doc);
    const forged = A.change(A.clone(doc), (d) => void (d.forged = true));
    // Its real heads are not signed: refused.
    const unsigned = gate.inbound(message(syncMessage(A.getHeads(forged), [A.save(forged)]), [attest(heads)]));
    expect(passed(unsigned)).toEqual([]);
    expect(logs.some((l) => l.includes("refused at admission") && l.includes('"reason":"unsigned"'))).toBe(true);
    // One that states signed heads it does not have passes the gate marked: the replica worker loads
    // it and drops it (test/replica/replica.test.ts).
    const lie = gate.inbound(message(syncMessage(heads, [lyingDocumentChunk(forged, heads)]), [attest(heads)]));
    expect((lie as unknown as Record<string, unknown>)[CHECK_DOCUMENTS]).toBe(true);
    // The true one is admitted.
    expect(passed(gate.inbound(message(syncMessage(heads, [A.save(doc)]), [attest(heads)])))).toHaveLength(1);
  });

  it("admits a change only on a path from attested heads; one under the owner's actor with its next seq is not", async () => {
    const { documentId, gate, attest, message } = await setUp();
    const doc = ownerDoc();
    const changes = A.getAllChanges(doc);
    const actor = A.decodeChange(changes.at(-1) as Uint8Array).actor;
    const forged = A.change(A.clone(doc, { actor }), (d) => void (d.forged = true));
    const forgedChange = A.getLastLocalChange(forged) as Uint8Array;
    const heads = A.getHeads(doc);
    const out = gate.inbound(message(syncMessage(A.getHeads(forged), [...changes, forgedChange]), [attest(heads)]));
    const hashes = passed(out).map((c) => c.hash);
    expect(hashes).toEqual(changes.map((c) => A.decodeChange(c).hash));
    // Its heads now read as if the sender did not have the forged change.
    expect(parseSyncMessage(out?.data as Uint8Array).heads).not.toContain(A.getHeads(forged)[0]);
    expect(documentId).toBeTruthy();
  });

  it("sends nothing of a document to a peer that may no longer see it (a removed member still connected); a doc-unavailable still goes", async () => {
    const removed = repoPeerId("removed");
    let shown = true;
    const { documentId, gate } = await setUp((peer) => peer !== removed || shown);
    const doc = ownerDoc();
    const sync = (targetId: PeerId, type: "sync" | "request" = "sync"): Message =>
      ({
        type,
        senderId: repoPeerId("self"),
        targetId,
        documentId,
        data: syncMessage(A.getHeads(doc), A.getAllChanges(doc)),
      }) as Message;
    expect(gate.outbound(sync(removed))).toBeDefined();
    // The charter removes it: what automerge-repo had generated for it before it re-read the share policy is dropped.
    shown = false;
    expect(gate.outbound(sync(removed))).toBeUndefined();
    expect(gate.outbound(sync(removed, "request"))).toBeUndefined();
    expect(
      gate.outbound({
        type: "doc-unavailable",
        senderId: repoPeerId("self"),
        targetId: removed,
        documentId,
      } as Message),
    ).toBeDefined();
    expect(gate.outbound(sync(repoPeerId("member")))).toBeDefined();
  });

  it("holds a message for a document no directory lists yet, and hands it on, admitted, once one does", async () => {
    const { documentId, gate, attest, message, owners, logs } = await setUp();
    const known = owners[documentId] as DocumentOwner;
    delete owners[documentId]; // as after a restart, before the directories are read again
    const doc = ownerDoc();
    const heads = A.getHeads(doc);
    const forged = A.change(A.clone(doc), (d) => void (d.forged = true));
    const delivered: Message[] = [];
    // Two messages from the peer, in this order: the owner's signed changes, then a forged one.
    expect(
      gate.inbound(message(syncMessage(heads, A.getAllChanges(doc)), [attest(heads)]), (m) => delivered.push(m)),
    ).toBeUndefined();
    expect(
      gate.inbound(message(syncMessage(A.getHeads(forged), [A.getLastLocalChange(forged) as Uint8Array])), (m) =>
        delivered.push(m),
      ),
    ).toBeUndefined();
    expect(gate.heldBytes().get(repoPeerId("relay"))).toBeGreaterThan(0);
    // Listing something else releases nothing.
    gate.documentsListed();
    expect(delivered).toEqual([]);
    // Its owner's directory lists it now: both are read again, in order, and judged as any message.
    owners[documentId] = known;
    gate.documentsListed();
    expect(delivered.map((m) => passed(m).length)).toEqual([A.getAllChanges(doc).length, 0]);
    expect(gate.heldBytes().get(repoPeerId("relay"))).toBe(0);
    expect(logs.some((l) => l.includes('"reason":"unknown-document"'))).toBe(false);
    expect(logs.some((l) => l.includes('"reason":"unsigned"'))).toBe(true);
  });

  it("refuses what it held once the hold runs out, the peer leaves or its quota is full; without a way to hand it on it holds nothing", async () => {
    const { documentId, gate, message, owners, logs } = await setUp(undefined, {
      unknownHoldMs: 60_000,
      unknownBytesPerPeer: 4096,
    });
    delete owners[documentId];
    const doc = ownerDoc();
    const data = syncMessage(A.getHeads(doc), []);
    const delivered: Message[] = [];
    const later = (m: Message) => delivered.push(m);
    const peer = repoPeerId("relay");
    const refusals = () => logs.filter((l) => l.includes('"reason":"unknown-document"')).length;
    // Not given a way to hand it on: refused at once.
    gate.inbound(message(data));
    expect(refusals()).toBe(1);
    // The quota: small messages are held until 4 KiB are; the next is refused (counted, logged once).
    let held = 0;
    while (gate.inbound(message(data), later) === undefined && (gate.heldBytes().get(peer) ?? 0) > held)
      held = gate.heldBytes().get(peer) ?? 0;
    expect(held).toBeLessThanOrEqual(4096);
    expect(held).toBeGreaterThan(4096 - 512);
    // Time runs out: listed later, nothing is handed on.
    const now = Date.now();
    const clock = vi.spyOn(Date, "now").mockReturnValue(now + 60_001);
    try {
      owners[documentId] = { kind: "member", hub: "hub-o", mayAttest: () => false };
      gate.documentsListed();
      expect(delivered).toEqual([]);
      expect(gate.heldBytes().get(peer)).toBe(0);
      // Held again, then the peer's channels close: dropped with it.
      delete owners[documentId];
      gate.inbound(message(data), later);
      expect(gate.heldBytes().get(peer)).toBeGreaterThan(0);
      gate.peerClosed(peer);
      owners[documentId] = { kind: "member", hub: "hub-o", mayAttest: () => false };
      gate.documentsListed();
      expect(delivered).toEqual([]);
      expect(gate.heldBytes().get(peer)).toBeUndefined();
    } finally {
      clock.mockRestore();
    }
  });

  it("admits an ancestor that comes after its signed descendants, and nothing else that comes with it", async () => {
    const { gate, attest, message } = await setUp();
    const doc = ownerDoc();
    const changes = A.getAllChanges(doc);
    const heads = A.getHeads(doc);
    const hashes = changes.map((c) => A.decodeChange(c).hash);
    // The last two changes first, with the owner's signature over the heads (the earlier ones were
    // lost on the way, as when a node restarts mid-sync)…
    expect(
      passed(gate.inbound(message(syncMessage(heads, changes.slice(-2)), [attest(heads)]))).map((c) => c.hash),
    ).toEqual(hashes.slice(-2));
    // …then the earlier ones, unsigned, with a forgery: the ancestors are the owner's (a signed
    // change's hash commits to its dependencies'); the forgery is not.
    const forged = A.change(A.load<Record<string, unknown>>(A.save(doc)), (d) => void (d.forged = true));
    const forgery = A.getLastLocalChange(forged) as Uint8Array;
    const out = gate.inbound(message(syncMessage(heads, [...changes.slice(0, -2), forgery])));
    expect(passed(out).map((c) => c.hash)).toEqual(hashes.slice(0, -2));
  });
});
