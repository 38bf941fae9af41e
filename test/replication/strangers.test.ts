import type { PeerId } from "@automerge/automerge-repo";
import { peerId } from "../../node/ids.js";
import { status } from "@grpc/grpc-js";
import { generateKeyPair } from "@libp2p/crypto/keys";
import type { Ed25519PrivateKey } from "@libp2p/interface";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { multiaddr } from "@multiformats/multiaddr";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GrpcNetworkAdapter } from "../../node/network/grpc-adapter.js";
import { SYNC_PROTOCOL } from "../../node/network/libp2p-adapter.js";
import { createLibp2pNode, type ConcordatLibp2p } from "../../node/network/libp2p-node.js";
import { startFederationWith, waitForLog, waitUntil, type StartedFederation } from "../helpers/federation.js";
import { clientHandshake, expectStillServing, openReplicate, within, type RawReplicate } from "./support.js";

const silent = pino({ level: "silent" });
const FEDERATION_ID = "concordat-dev"; // config/default.yaml

async function freshKey(): Promise<{ privateKey: Ed25519PrivateKey; peerId: PeerId }> {
  const privateKey = await generateKeyPair("Ed25519");
  return { privateKey, peerId: peerId(peerIdFromPrivateKey(privateKey).toString()) };
}

/** A member node refuses peers that are not members; it goes on serving its members. */
describe("a stranger over libp2p", () => {
  let fed: StartedFederation | undefined;
  let stranger: ConcordatLibp2p | undefined;

  beforeAll(async () => {
    fed = await startFederationWith(["a", "b"], [["b", "a"]], { transport: "libp2p" });
  });
  afterAll(async () => {
    await stranger?.stop();
    await fed?.stop();
  });

  it("is refused by the connection gater, logged by peer id, and the node goes on", async () => {
    const a = (fed as StartedFederation).byName("a");
    const b = (fed as StartedFederation).byName("b");
    const key = await freshKey();
    // No `allowed`: the stranger itself would let anyone in.
    stranger = await createLibp2pNode({ privateKey: key.privateKey, listen: ["/ip4/127.0.0.1/tcp/0"] }, silent);
    const [address] = a.node.running.network.libp2pAddresses();
    expect(address).toMatch(new RegExp(`/p2p/${a.peerId}$`));

    const since = a.node.logs.length;
    await expect(
      within(
        stranger.dialProtocol(multiaddr(address as string), SYNC_PROTOCOL, { signal: AbortSignal.timeout(5000) }),
        8000,
        "the stranger's dial to fail",
      ),
    ).rejects.toThrow();
    const refused = await waitForLog(a.node, "refused a peer that is not allowed", (e) => e.peer === key.peerId, since);
    expect(refused.direction).toBe("inbound");

    // No connection survives, no sync channel was ever bound.
    await waitUntil("a to hold no connection to the stranger", () =>
      a.node.running.network.libp2p?.getConnections().every((c) => c.remotePeer.toString() !== key.peerId),
    );
    expect(a.node.running.network.peers().map((p) => p.peerId)).toEqual([b.peerId]);
    await expectStillServing(a, b);
  });
});

describe("strangers and impostors over gRPC", () => {
  let fed: StartedFederation | undefined;
  const raws: RawReplicate[] = [];
  const adapters: GrpcNetworkAdapter[] = [];

  const a = () => (fed as StartedFederation).byName("a");
  const b = () => (fed as StartedFederation).byName("b");
  const open = () => {
    const raw = openReplicate(a().node.address);
    raws.push(raw);
    return raw;
  };

  beforeAll(async () => {
    // "m" is a member that exists only as a key: its identity drives the hand-made clients.
    fed = await startFederationWith(["a", "b"], [["b", "a"]], { transport: "grpc", keyOnly: ["m"] });
  });
  afterAll(async () => {
    for (const adapter of adapters) adapter.disconnect();
    for (const raw of raws) raw.close();
    await fed?.stop();
  });

  it("a GrpcNetworkAdapter with a non-member key is refused with PERMISSION_DENIED; the node goes on", async () => {
    const key = await freshKey();
    const lines: string[] = [];
    const logger = pino({ level: "debug" }, { write: (line: string) => void lines.push(line) });
    const since = a().node.logs.length;
    const adapter = new GrpcNetworkAdapter(
      {
        policy: "strict",
        federationId: FEDERATION_ID,
        dial: [{ peerId: a().peerId, address: a().node.address }],
        backoff: { initialMs: 5000, maxMs: 5000 },
        readyTimeoutMs: 5000,
      },
      { identity: { peerId: key.peerId, sign: async (data) => key.privateKey.sign(data) }, logger },
    );
    adapters.push(adapter);
    adapter.connect(key.peerId);

    const refused = await waitForLog(
      a().node,
      "refused a replication stream",
      (e) => String(e.reason).includes(key.peerId),
      since,
    );
    expect(refused.reason).toBe(`peer ${key.peerId} is not allowed`);
    // The stranger's side saw the refusal as PERMISSION_DENIED and bound nothing.
    const failed = await waitUntil("the stranger to log its failed handshake", () =>
      lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((e) => e.msg === "replication handshake failed"),
    );
    expect(String(failed.reason)).toMatch(/PERMISSION_DENIED/);
    expect(adapter.peers()).toEqual([]);
    adapter.disconnect();
    expect(
      a()
        .node.running.network.peers()
        .map((p) => p.peerId),
    ).toEqual([b().peerId]);
    await expectStillServing(a(), b());
  });

  it("a raw client with a non-member key gets PERMISSION_DENIED right after its hello", async () => {
    const key = await freshKey();
    const since = a().node.logs.length;
    const raw = open();
    await expect(
      clientHandshake(raw, {
        clientPeer: key.peerId,
        sign: async (d) => key.privateKey.sign(d),
        federationId: FEDERATION_ID,
      }),
    ).rejects.toThrow(/ended before the challenge/);
    const final = await within(raw.status, 5000, "the stream's status");
    expect(final.code).toBe(status.PERMISSION_DENIED);
    expect(final.details).toContain(key.peerId);
    // Refused before the node signed anything: no challenge was sent.
    expect(raw.received).toEqual([]);
    await waitForLog(a().node, "refused a replication stream", (e) => String(e.reason).includes(key.peerId), since);
    await expectStillServing(a(), b());
  });

  it("a member's key with another federation id is refused with PERMISSION_DENIED", async () => {
    const m = (fed as StartedFederation).key("m");
    const since = a().node.logs.length;
    const raw = open();
    await expect(
      clientHandshake(raw, { clientPeer: m.peerId, sign: m.sign, federationId: "another-federation" }),
    ).rejects.toThrow();
    const final = await within(raw.status, 5000, "the stream's status");
    expect(final.code).toBe(status.PERMISSION_DENIED);
    expect(final.details).toContain("another-federation");
    await waitForLog(
      a().node,
      "refused a replication stream",
      (e) => String(e.reason).includes("'another-federation'"),
      since,
    );
    await expectStillServing(a(), b());
  });

  it("a member's peer id with a proof signed by another key is refused with UNAUTHENTICATED", async () => {
    const m = (fed as StartedFederation).key("m");
    const impostor = await freshKey();
    const since = a().node.logs.length;
    const raw = open();
    // The challenge comes (m is a member), the proof does not verify with m's key.
    const server = await clientHandshake(raw, {
      clientPeer: m.peerId,
      sign: async (d) => impostor.privateKey.sign(d),
      federationId: FEDERATION_ID,
    });
    expect(server).toBe(a().peerId);
    const final = await within(raw.status, 5000, "the stream's status");
    expect(final.code).toBe(status.UNAUTHENTICATED);
    expect(final.details).toContain(m.peerId);
    const refused = await waitForLog(
      a().node,
      "refused a replication stream",
      (e) => String(e.reason).includes(m.peerId),
      since,
    );
    expect(refused.reason).toBe(`the proof does not verify with the key of ${m.peerId}`);
    // Only the challenge came back: no payload (no hello from a's repo) before the proof verified.
    expect(raw.received.map((r) => r.frame?.$case)).toEqual(["challenge"]);
    expect(
      a()
        .node.running.network.peers()
        .map((p) => p.peerId),
    ).toEqual([b().peerId]);
    await expectStillServing(a(), b());
  });

  it("the member's own key and the right federation id are accepted (the refusals above are not blanket)", async () => {
    const m = (fed as StartedFederation).key("m");
    const raw = open();
    await clientHandshake(raw, { clientPeer: m.peerId, sign: m.sign, federationId: FEDERATION_ID });
    // After the proof, a's adapter sends its hello as the first payload.
    const first = await raw.next("a's hello payload");
    expect(first.frame?.$case).toBe("payload");
    raw.close();
  });
});
