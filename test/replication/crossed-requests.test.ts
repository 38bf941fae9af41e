import * as A from "@automerge/automerge";
import { Repo, type DocHandle, type DocumentId, type Message, type PeerId } from "@automerge/automerge-repo";
import { Server, ServerCredentials } from "@grpc/grpc-js";
import { generateKeyPair } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { parseSyncMessage } from "../../node/admission/wire.js";
import {
  createLibp2pNode,
  GRPC_MAX_MESSAGE_BYTES,
  GrpcNetworkAdapter,
  Libp2pNetworkAdapter,
  ReplicationServiceService,
  type ChannelNetworkAdapter,
} from "../../node/network/index.js";
import { within } from "./support.js";

/**
 * A peer that lacks documents asks for them (automerge-repo's `request`) while the peer that has
 * them announces them: the two messages cross. Each document's changes must still reach the asking
 * peer once, not twice (see node/network/crossed-requests.ts).
 */

const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });
const DOCUMENTS = 6;
type Transport = "libp2p" | "grpc";

interface Peer {
  peerId: string;
  repo: Repo;
  adapter: ChannelNetworkAdapter;
  /** Keep a channel open to `other` (this peer dials it). */
  dial(other: Peer): void;
  stop(): Promise<void>;
}

async function startPeer(transport: Transport, allow: Set<string>): Promise<Peer> {
  const key = await generateKeyPair("Ed25519");
  const peerId = peerIdFromPrivateKey(key).toString();
  if (transport === "libp2p") {
    const libp2p = await createLibp2pNode(
      { privateKey: key, listen: ["/ip4/127.0.0.1/tcp/0"], allowed: (p) => allow.has(p) },
      logger,
    );
    const targets: Array<{ peerId: string; addrs: string[] }> = [];
    const adapter = new Libp2pNetworkAdapter({ policy: "strict", dial: () => targets }, { libp2p, logger });
    const repo = new Repo({ network: [adapter], peerId: peerId as PeerId });
    const address =
      libp2p
        .getMultiaddrs()[0]
        ?.toString()
        .replace(/\/p2p\/.*$/, "") ?? "";
    return {
      peerId,
      repo,
      adapter,
      dial: (other) => {
        targets.push({ peerId: other.peerId, addrs: [(other as Peer & { address: string }).address] });
        adapter.refreshTargets();
      },
      stop: async () => {
        adapter.disconnect();
        await libp2p.stop();
      },
      address,
    } as Peer & { address: string };
  }
  const server = new Server({ "grpc.max_receive_message_length": GRPC_MAX_MESSAGE_BYTES });
  const targets: Array<{ peerId: string; address: string }> = [];
  const adapter = new GrpcNetworkAdapter(
    { policy: "strict", federationId: "crossed", dial: () => targets, allowed: (p) => allow.has(p) },
    { identity: { peerId, sign: async (data) => key.sign(data) }, logger },
  );
  server.addService(ReplicationServiceService, adapter.service());
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (error, p) =>
      error ? reject(error) : resolve(p),
    ),
  );
  const repo = new Repo({ network: [adapter], peerId: peerId as PeerId });
  return {
    peerId,
    repo,
    adapter,
    dial: (other) => {
      targets.push({ peerId: other.peerId, address: (other as Peer & { address: string }).address });
      adapter.refreshTargets();
    },
    stop: async () => {
      adapter.disconnect();
      server.forceShutdown();
    },
    address: `127.0.0.1:${port}`,
  } as Peer & { address: string };
}

const parts = (m: Message) => (m.data instanceof Uint8Array ? parseSyncMessage(m.data) : undefined);

/** Resolves when `check` holds, tested now and on every message either adapter sees; fails after `ms`. */
function until(peers: Peer[], what: string, check: () => boolean, ms = 20_000): Promise<void> {
  const listeners: Array<() => void> = [];
  return within(
    new Promise<void>((resolve) => {
      const poll = setInterval(() => test(), 50);
      const test = () => {
        if (check()) resolve();
      };
      listeners.push(() => clearInterval(poll));
      for (const p of peers) {
        p.adapter.on("message", test);
        p.repo.networkSubsystem.on("peer", test);
        listeners.push(() => {
          p.adapter.off("message", test);
          p.repo.networkSubsystem.off("peer", test);
        });
      }
      test();
    }),
    ms,
    what,
  ).finally(() => {
    for (const off of listeners) off();
  });
}

describe.each<Transport>(["libp2p", "grpc"])("a fresh peer's request crossing the announcement (%s)", (transport) => {
  let peers: Peer[] = [];
  afterEach(async () => {
    await Promise.all(peers.map((p) => p.stop()));
    peers = [];
  });

  it("receives each document's changes once, and later changes and documents still reach it", async () => {
    const allow = new Set<string>();
    const source = await startPeer(transport, allow);
    const fresh = await startPeer(transport, allow);
    peers = [source, fresh];
    allow.add(source.peerId).add(fresh.peerId);

    const handles: DocHandle<{ items: string[] }>[] = [];
    for (let i = 0; i < DOCUMENTS; i += 1) {
      const h = source.repo.create<{ items: string[] }>();
      h.change((d) => {
        d.items = Array.from({ length: 300 }, (_, j) => `document ${i}, item ${j}: ${"x".repeat(40)}`);
      });
      handles.push(h);
    }
    const ids = handles.map((h) => h.documentId);

    // What the source sends the fresh peer, and when it hears the fresh peer's requests, in order.
    const events: string[] = [];
    // The wire's order, as when a hub joins (the replication.adapters benchmark's order), held in
    // place so that each run is the same: the source's announcements leave once the fresh peer knows
    // the source, and the fresh peer asks for every document at that moment, so the two cross; the
    // source's answers (the documents' changes) leave once the fresh peer, still empty, has answered
    // every announcement.
    let finding: Promise<DocHandle<{ items: string[] }>[]> | undefined;
    const waiting: Message[] = [];
    const send = source.adapter.send.bind(source.adapter);
    const release = () => {
      if (finding || waiting.length < DOCUMENTS || !fresh.repo.peers.includes(source.peerId as PeerId)) return;
      for (const m of waiting.splice(0)) {
        events.push(`announce ${m.documentId}`);
        send(m);
      }
      finding = Promise.all(ids.map((id) => fresh.repo.find<{ items: string[] }>(id)));
    };
    const answers: Message[] = [];
    let answered = false;
    source.adapter.send = (message: Message) => {
      const p = message.type === "sync" ? parts(message) : undefined;
      if (!finding && p !== undefined && p.changes.length === 0 && p.heads.length > 0) {
        waiting.push(message);
        release();
      } else if (!answered && p !== undefined && p.changes.length > 0) answers.push(message);
      else send(message);
    };
    fresh.repo.networkSubsystem.on("peer", release);
    // The fresh peer's Repo answering an announcement while it has nothing (whether the adapter sends it or not).
    const repliedEmpty = new Set<string>();
    const freshSend = fresh.adapter.send.bind(fresh.adapter);
    fresh.adapter.send = (message: Message) => {
      const p = message.type === "sync" ? parts(message) : undefined;
      if (p && p.heads.length === 0 && p.need.length > 0) repliedEmpty.add(String(message.documentId));
      freshSend(message);
      if (!answered && repliedEmpty.size === DOCUMENTS) {
        answered = true;
        for (const m of answers.splice(0)) send(m);
      }
    };
    // The heads the fresh peer last told the source it has, per document.
    const heard = new Map<string, string>();
    source.adapter.on("message", (m) => {
      if (m.type === "request") events.push(`request ${m.documentId}`);
      const p = m.type === "sync" ? parts(m) : undefined;
      if (p) heard.set(String(m.documentId), p.heads.join());
    });
    // What reaches the fresh peer carrying changes, per document.
    const received = new Map<string, number>();
    fresh.adapter.on("message", (m) => {
      if (m.type === "sync" && (parts(m)?.changes.length ?? 0) > 0)
        received.set(String(m.documentId), (received.get(String(m.documentId)) ?? 0) + 1);
    });

    fresh.dial(source);
    await until(peers, "the source's announcements", () => finding !== undefined);
    const found = await within(finding as NonNullable<typeof finding>, 20_000, "the documents");
    for (const id of ids) expect(events.indexOf(`announce ${id}`)).toBeLessThan(events.indexOf(`request ${id}`));

    // Settled: the source heard the fresh peer hold every document, and everything sent arrived.
    const heads = (h: DocHandle<unknown>) => A.getHeads(h.doc() as A.Doc<unknown>).join();
    const stats = (p: Peer) => p.adapter.peers()[0];
    await until(
      peers,
      "the sync to settle",
      () =>
        handles.every((h) => heard.get(h.documentId) === heads(h)) &&
        stats(source)?.bytesOut === stats(fresh)?.bytesIn &&
        stats(fresh)?.bytesOut === stats(source)?.bytesIn,
    );
    for (const [i, h] of found.entries()) expect(h.doc()?.items).toEqual(handles[i]?.doc()?.items);
    expect(Object.fromEntries(ids.map((id) => [id, received.get(id) ?? 0]))).toEqual(
      Object.fromEntries(ids.map((id) => [id, 1])),
    );

    // Nothing stalls after: a change still reaches the fresh peer, and so does a new document.
    handles[0]?.change((d) => {
      d.items.push("a later item");
    });
    const later = source.repo.create<{ items: string[] }>({ items: ["shared later"] });
    await until(
      peers,
      "the later change and document to arrive",
      () =>
        found[0]?.doc()?.items.at(-1) === "a later item" &&
        fresh.repo.handles[later.documentId as DocumentId]?.isReady() === true,
    );
    expect(fresh.repo.handles[later.documentId]?.doc()).toEqual({ items: ["shared later"] });
  });
});
