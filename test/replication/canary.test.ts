import { randomBytes } from "node:crypto";
import { cbor, type DocumentId, type Message } from "@automerge/automerge-repo";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { ChannelNetworkAdapter } from "../../node/network/channel-adapter.js";
import {
  draft,
  startFederationWith,
  waitForForeignTrainer,
  waitUntil,
  type StartedFederation,
} from "../helpers/federation.js";
import { carries, grpcMessages, http2Data, startTcpProxy, type TcpProxy } from "./support.js";

/**
 * A trainer's personal data stays on its home node: a canary string in the private part of a record
 * must never be in any byte a node sends, on either transport, while the public part does replicate.
 * Checked at the adapters (every repo message they send, CBOR-encoded as on the wire) and, for gRPC,
 * on the TCP wire itself through a recording proxy between the two nodes.
 */
describe.each(["libp2p", "grpc"] as const)("private data never leaves its node (%s)", (transport) => {
  const canary = `canary${randomBytes(8).toString("hex")}`;
  const marker = `public${randomBytes(8).toString("hex")}`;
  let fed: StartedFederation | undefined;
  let proxy: TcpProxy | undefined;
  /** Every payload an adapter sent, as the bytes it framed. */
  const sent: Array<{ node: string; transport: string; bytes: Uint8Array }> = [];

  const federation = () => fed as StartedFederation;
  const a = () => federation().byName("a");
  const b = () => federation().byName("b");
  const verbatim = (bytes: Uint8Array, needle: string) =>
    Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).includes(needle);

  /** The proxy's capture, as raw bytes per direction and as the gRPC messages inside HTTP/2 DATA. */
  const wire = () => {
    // A connection that never carried a byte has nothing to read (and no HTTP/2 preface).
    const connections = (proxy as TcpProxy).connections.filter((c) => c.up.length > 0);
    const raw = connections.flatMap((c) => [Buffer.concat(c.up), Buffer.concat(c.down)]);
    const messages = connections.flatMap((c) =>
      [...http2Data(Buffer.concat(c.up), true).values(), ...http2Data(Buffer.concat(c.down), false).values()].flatMap(
        (data) => grpcMessages(data),
      ),
    );
    return { raw, messages };
  };

  const expectNoCanary = () => {
    const leaks = sent.filter((s) => carries(s.bytes, canary));
    expect(leaks.map((l) => `${l.node}/${l.transport}`)).toEqual([]);
    if (transport === "grpc") {
      const { raw, messages } = wire();
      expect(raw.some((bytes) => verbatim(bytes, canary))).toBe(false);
      expect(messages.some((m) => carries(m.message, canary))).toBe(false);
    }
  };

  beforeAll(async () => {
    fed = await startFederationWith(["a", "b"], [["b", "a"]], {
      transport,
      // b reaches a's API through the proxy: every byte of the Replicate stream passes through it.
      grpcAddress: async (_from, _to, port) => {
        proxy = await startTcpProxy(port);
        return proxy.address;
      },
    });
    for (const n of federation().nodes) {
      const network = n.node.running.network;
      for (const [name, adapter] of [
        ["libp2p", network.libp2pAdapter],
        ["grpc", network.grpc],
      ] as const) {
        if (!adapter) continue;
        const original = adapter.send.bind(adapter);
        vi.spyOn(adapter as ChannelNetworkAdapter, "send").mockImplementation((message: Message) => {
          sent.push({ node: n.name, transport: name, bytes: new Uint8Array(cbor.encode(message)) });
          original(message);
        });
      }
    }
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await fed?.stop();
    await proxy?.close();
  });

  it("the public record replicates, its private part is in no byte sent", async () => {
    await a().node.running.roster.add(
      {
        ...draft("CANARY-1", `Trainer ${marker}`),
        private: {
          email: `${canary}@example.org`,
          phone: "+254 700 000001",
          nationalId: `ID-${canary}`,
          notes: `notes ${canary}`,
        },
      },
      "op",
    );
    // The private part is stored at a.
    expect(a().node.running.roster.get("CANARY-1", true).private?.notes).toBe(`notes ${canary}`);
    await waitForForeignTrainer(b(), a(), "CANARY-1", (name) => name.includes(marker));
    // A grievance: who complained, what they said and about whom stay at a; its codes and days replicate.
    const grievance = await a().node.running.grievances.receive("op", {
      category: "conduct",
      source: "trainee",
      receivedOn: "",
      acknowledgeWithinDays: 0,
      resolveWithinDays: 0,
      complainant: { name: `Complainant ${canary}`, contact: `${canary}@example.org`, anonymous: true },
      description: `What happened: ${canary}`,
      about: { delivery: `d-${canary}`, trainer: `T-${canary}`, module: "" },
    });
    await a().node.running.grievances.acknowledge("op", grievance.id, "");
    await a().node.running.grievances.investigate("op", grievance.id, "", `Investigation note ${canary}`);
    await waitUntil(
      "b to verify a's grievance record",
      async () =>
        b()
          .node.running.grievances.records(a().hub)
          .some((g) => g.id === grievance.id),
      20_000,
    );
    // Not blind for grievances either: the record's opaque id is found in what a sent.
    expect(sent.some((s) => s.node === "a" && s.transport === transport && carries(s.bytes, grievance.id))).toBe(true);

    // The capture is not blind: the public marker is found, by the same search, in what a's
    // adapter sent and, for gRPC, in the gRPC messages on the wire (none of them gRPC-compressed).
    expect(sent.some((s) => s.node === "a" && s.transport === transport && carries(s.bytes, marker))).toBe(true);
    if (transport === "grpc") {
      const { messages } = wire();
      expect(messages.length).toBeGreaterThan(0);
      expect(messages.filter((m) => m.compressed)).toEqual([]);
      expect(messages.some((m) => carries(m.message, marker))).toBe(true);
    }
    expectNoCanary();
  });

  it("b holds none of a's private documents, and asking a for one gets nothing", async () => {
    const described = a().node.running.documents.describe();
    const privateIds = described.filter((d) => !d.replicated).map((d) => d.id);
    const publicIds = described.filter((d) => d.replicated).map((d) => d.id);
    expect(privateIds.length).toBeGreaterThan(0);
    const bHandles = await b().node.running.replica.documentIds();
    const aHandles = await a().node.running.replica.documentIds();
    // Sanity: b does hold a's public documents.
    expect(publicIds.some((id) => b().node.running.replica.heads(id) !== undefined)).toBe(true);
    for (const id of privateIds) {
      expect(bHandles, `b has a handle for a's private ${id}`).not.toContain(id);
      expect(aHandles, `a's private ${id} is in its Repo`).not.toContain(id);
    }

    // b asks for each of them by id: a answers that it has nothing to share.
    for (const id of privateIds) b().node.running.replica.request(id);
    await waitUntil(
      "b's requests for a's private documents to end",
      async () =>
        (await Promise.all(privateIds.map((id: DocumentId) => b().node.running.replica.documentState(id)))).every(
          (state) => state === "unavailable",
        ),
      10_000,
    );
    for (const id of privateIds) expect(b().node.running.replica.heads(id)).toBeUndefined();
    // a created nothing for them either, and the canary is still nowhere on the wire.
    const aAfter = await a().node.running.replica.documentIds();
    for (const id of privateIds) expect(aAfter).not.toContain(id);
    expectNoCanary();
  });
});
