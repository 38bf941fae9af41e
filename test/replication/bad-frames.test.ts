import { randomBytes } from "node:crypto";
import { connect } from "node:http2";
import { cbor } from "@automerge/automerge-repo";
import { status } from "@grpc/grpc-js";
import { peerIdFromString } from "@libp2p/peer-id";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { API_MAX_RECEIVE_MESSAGE_BYTES } from "../../node/api/server.js";
import { directoryIdOf } from "../../node/federation/index.js";
import { DEFAULT_MAX_FRAME_BYTES, encodeFrame } from "../../node/network/frames.js";
import { GRPC_PART_BYTES } from "../../node/network/grpc-adapter.js";
import { createLibp2pNode, type ConcordatLibp2p } from "../../node/network/libp2p-node.js";
import {
  startFederationWith,
  waitForLog,
  waitUntil,
  type FederationNode,
  type StartedFederation,
} from "../helpers/federation.js";
import {
  clientHandshake,
  expectStillServing,
  openReplicate,
  openSyncStream,
  payload,
  within,
  type RawReplicate,
  type RawSyncStream,
} from "./support.js";

const FEDERATION_ID = "concordat-dev"; // config/default.yaml
const CLOSE_WITHIN_MS = 5000;

const hello = (peerId: string) => new Uint8Array(cbor.encode({ type: "hello", peerId, peerMetadata: {} }));
/** Bytes that no CBOR decoder takes: a top-level "break" code, then reserved tokens. */
const notCbor = () => new Uint8Array([0xff, 0x1c, 0x1d, 0x1e, ...randomBytes(28)]);
const decode = (bytes: Uint8Array) => cbor.decode(bytes) as Record<string, unknown>;

/**
 * A member's key driving a libp2p sync stream or a gRPC Replicate stream by hand, sending what no
 * honest node sends. Each time the node must drop that stream, say why in its log, and go on serving
 * its other member, which still replicates.
 */
describe("malformed sync streams over libp2p, from a member's key", () => {
  let fed: StartedFederation | undefined;
  let raw: ConcordatLibp2p | undefined;
  const streams: RawSyncStream[] = [];

  const a = () => (fed as StartedFederation).byName("a");
  const b = () => (fed as StartedFederation).byName("b");
  const m = () => (fed as StartedFederation).key("m");

  /** Opens a sync stream from m to a; a sends its hello first. */
  const open = async () => {
    const stream = await openSyncStream(
      raw as ConcordatLibp2p,
      a().node.running.network.libp2pAddresses()[0] as string,
    );
    streams.push(stream);
    return stream;
  };
  /** a closed the stream (a reset or close from its side, not ours), within a bounded time. */
  const expectClosedByA = async (stream: RawSyncStream) => {
    const closed = await within(stream.closed, CLOSE_WITHIN_MS, "a to close the stream");
    expect(closed.local).toBe(false);
    expect(stream.stream.status).not.toBe("open");
  };
  const dropped = (since: number, reason: (r: string) => boolean) =>
    waitForLog(a().node, "dropping sync channel", (e) => reason(String(e.reason)), since, CLOSE_WITHIN_MS);

  beforeAll(async () => {
    fed = await startFederationWith(["a", "b"], [["b", "a"]], { transport: "libp2p", keyOnly: ["m"] });
    raw = await createLibp2pNode(
      { privateKey: m().privateKey, listen: ["/ip4/127.0.0.1/tcp/0"] },
      pino({ level: "silent" }),
    );
  });
  afterAll(async () => {
    for (const s of streams) if (s.stream.status === "open") s.stream.abort(new Error("test over"));
    await raw?.stop();
    await fed?.stop();
  });

  it("a member's key is let in, and a greets it with its hello (the baseline)", async () => {
    const stream = await open();
    await waitUntil("a's hello", () => stream.frames.length > 0, CLOSE_WITHIN_MS);
    const greeting = decode(stream.frames[0] as Uint8Array);
    expect(greeting).toMatchObject({ type: "hello", peerId: a().peerId });
    stream.stream.abort(new Error("done"));
  });

  it("(i) a first frame that is not CBOR", async () => {
    const since = a().node.logs.length;
    const stream = await open();
    stream.send(encodeFrame(notCbor()));
    const entry = await dropped(since, (r) => r === "undecodable frame (not CBOR)");
    expect(entry.authenticated).toBe(m().peerId);
    await expectClosedByA(stream);
    await expectStillServing(a(), b());
  });

  it("(ii) a valid hello, then a frame of random bytes", async () => {
    const since = a().node.logs.length;
    const stream = await open();
    stream.send(encodeFrame(hello(m().peerId)));
    await connected(a(), m().peerId);
    stream.send(encodeFrame(new Uint8Array(randomBytes(64))));
    // Random bytes are almost never CBOR; if they happen to be, they are not a repo message.
    await dropped(since, (r) => r === "undecodable frame (not CBOR)" || r === "frame is not a repo message");
    await expectClosedByA(stream);
    await disconnected(a(), m().peerId);
    await expectStillServing(a(), b());
  });

  it("(iii) a frame header announcing more than the limit: dropped on the header, nothing buffered", async () => {
    const since = a().node.logs.length;
    const stream = await open();
    stream.send(encodeFrame(hello(m().peerId)));
    const announced = DEFAULT_MAX_FRAME_BYTES + 1;
    const header = new Uint8Array(4);
    new DataView(header.buffer).setUint32(0, announced, false);
    // The header and a few bytes of body: a must not wait for the rest (it would never come).
    stream.send(header);
    stream.send(new Uint8Array(randomBytes(16)));
    const entry = await dropped(since, (r) => r.includes("exceeds"));
    expect(entry.reason).toBe(`frame of ${announced} bytes exceeds the ${DEFAULT_MAX_FRAME_BYTES}-byte limit`);
    await expectClosedByA(stream);
    await expectStillServing(a(), b());
  });

  it("(iv) a valid hello, then a repo message whose senderId is another peer", async () => {
    const since = a().node.logs.length;
    const stream = await open();
    stream.send(encodeFrame(hello(m().peerId)));
    const forged = {
      type: "request",
      senderId: b().peerId,
      targetId: a().peerId,
      documentId: directoryIdOf(a().peerId),
      data: new Uint8Array([0x42]),
    };
    stream.send(encodeFrame(new Uint8Array(cbor.encode(forged))));
    const entry = await dropped(since, (r) => r === "message senderId does not match the channel's peer");
    expect(entry).toMatchObject({ senderId: b().peerId, bound: m().peerId });
    await expectClosedByA(stream);
    await expectStillServing(a(), b());
  });

  it("(iv b) a hello naming another peer than the key the transport authenticated", async () => {
    const since = a().node.logs.length;
    const stream = await open();
    stream.send(encodeFrame(hello(b().peerId)));
    const entry = await dropped(since, (r) => r === "hello names another peer id than the transport authenticated");
    expect(entry.claimed).toBe(b().peerId);
    await expectClosedByA(stream);
    await expectStillServing(a(), b());
  });

  it("(v b) a truncated frame, then the remote resets the stream", async () => {
    const since = a().node.logs.length;
    const stream = await open();
    stream.send(encodeFrame(hello(m().peerId)));
    await connected(a(), m().peerId);
    stream.send(truncatedFrame());
    // A ping over the same connection as a barrier: a has read the partial frame before the reset
    // (a reset may discard what is still queued).
    await (raw as ConcordatLibp2p).services.ping.ping(peerIdFromString(a().peerId), {
      signal: AbortSignal.timeout(CLOSE_WITHIN_MS),
    });
    stream.stream.abort(new Error("reset by the test"));
    await waitForLog(
      a().node,
      "sync stream closed inside a frame (truncated)",
      (e) => e.remote === m().peerId,
      since,
      CLOSE_WITHIN_MS,
    );
    await disconnected(a(), m().peerId);
    await expectStillServing(a(), b());
  });

  // Fails today: Libp2pNetworkAdapter (node/network/libp2p-adapter.ts, #run) acts only on the stream's
  // "close" event, which libp2p emits once *both* ends have closed; a remote that half-closes leaves a
  // bound channel that can never receive again and a partial frame that is never reported. Listening
  // for "remoteCloseWrite" (report the truncation, close the channel) fixes it.
  // Last in this block: while the bug stands, m stays bound and would skew later cases.
  it("(v) a truncated frame, then the remote closes its end of the stream", async () => {
    const since = a().node.logs.length;
    const stream = await open();
    stream.send(encodeFrame(hello(m().peerId)));
    await connected(a(), m().peerId);
    stream.send(truncatedFrame());
    // A graceful close of our writable end: no more bytes will ever come, so the frame is truncated.
    await within(stream.stream.close(), CLOSE_WITHIN_MS, "our side of the stream to close");
    const entry = await waitForLog(
      a().node,
      "sync stream closed inside a frame (truncated)",
      (e) => e.remote === m().peerId,
      since,
      CLOSE_WITHIN_MS,
    );
    expect(entry.bytes).toBe(14);
    // A sync channel that can no longer receive is over: a closes its end too and forgets the peer.
    await disconnected(a(), m().peerId);
    await within(stream.closed, CLOSE_WITHIN_MS, "the stream to close at both ends");
    await expectStillServing(a(), b());
  });
});

describe("malformed Replicate streams over gRPC, from a member's key", () => {
  let fed: StartedFederation | undefined;
  const raws: RawReplicate[] = [];

  const a = () => (fed as StartedFederation).byName("a");
  const b = () => (fed as StartedFederation).byName("b");
  const m = () => (fed as StartedFederation).key("m");
  const open = () => {
    const raw = openReplicate(a().node.address);
    raws.push(raw);
    return raw;
  };
  /** Opens a stream and completes the real handshake with m's key; returns it once a's hello payload came. */
  const handshaken = async () => {
    const raw = open();
    await clientHandshake(raw, { clientPeer: m().peerId, sign: m().sign, federationId: FEDERATION_ID });
    const first = (await raw.next("a's hello payload")).frame;
    if (first?.$case !== "payload") throw new Error(`expected a payload, got ${first?.$case}`);
    expect(decode(first.value)).toMatchObject({ type: "hello", peerId: a().peerId });
    return raw;
  };
  const dropped = (since: number, reason: string) =>
    waitForLog(a().node, "dropping sync channel", (e) => e.reason === reason, since, CLOSE_WITHIN_MS);

  beforeAll(async () => {
    fed = await startFederationWith(["a", "b"], [["b", "a"]], { transport: "grpc", keyOnly: ["m"] });
  });
  afterAll(async () => {
    for (const raw of raws) raw.close();
    await fed?.stop();
  });

  it("(i) a payload frame before the handshake is refused with INVALID_ARGUMENT", async () => {
    const since = a().node.logs.length;
    const raw = open();
    raw.write(payload(hello(m().peerId)));
    const final = await within(raw.status, CLOSE_WITHIN_MS, "the stream's status");
    expect(final.code).toBe(status.INVALID_ARGUMENT);
    expect(raw.received).toEqual([]);
    await waitForLog(
      a().node,
      "refused a replication stream",
      (e) => e.reason === "the first frame must be a hello",
      since,
      CLOSE_WITHIN_MS,
    );
    await expectStillServing(a(), b());
  });

  it("(ii) a garbage payload after a correct handshake: the channel is dropped, the stream ended by a", async () => {
    const since = a().node.logs.length;
    const raw = await handshaken();
    raw.write(payload(notCbor()));
    const entry = await dropped(since, "undecodable frame (not CBOR)");
    expect(entry.authenticated).toBe(m().peerId);
    const final = await within(raw.status, CLOSE_WITHIN_MS, "a to end the stream");
    expect(final.code).toBe(status.OK);
    await expectStillServing(a(), b());
  });

  it("(iii) a message whose senderId is another peer, after hello: dropped", async () => {
    const since = a().node.logs.length;
    const raw = await handshaken();
    raw.write(payload(hello(m().peerId)));
    await connected(a(), m().peerId);
    const forged = {
      type: "request",
      senderId: b().peerId,
      targetId: a().peerId,
      documentId: directoryIdOf(a().peerId),
      data: new Uint8Array([0x42]),
    };
    raw.write(payload(new Uint8Array(cbor.encode(forged))));
    const entry = await dropped(since, "message senderId does not match the channel's peer");
    expect(entry).toMatchObject({ senderId: b().peerId, bound: m().peerId });
    await within(raw.status, CLOSE_WITHIN_MS, "a to end the stream");
    await disconnected(a(), m().peerId);
    expect(
      a()
        .node.running.network.peers()
        .map((p) => p.peerId),
    ).toEqual([b().peerId]);
    await expectStillServing(a(), b());
  });

  it("(vi) a payload over the 64 MiB frame limit, in parts: the channel is dropped with a log line, the node serving", async () => {
    const since = a().node.logs.length;
    const raw = openReplicate(a().node.address);
    raws.push(raw);
    await clientHandshake(raw, { clientPeer: m().peerId, sign: m().sign, federationId: FEDERATION_ID });
    // 1 MiB parts (as the adapter sends a large payload), adding up to more than the frame limit.
    const part = new Uint8Array(GRPC_PART_BYTES);
    for (let sent = 0; sent <= DEFAULT_MAX_FRAME_BYTES; sent += part.byteLength)
      raw.write({ frame: { $case: "payloadPart", value: Buffer.from(part) } });
    await waitForLog(
      a().node,
      "dropping sync channel",
      (e) => typeof e.reason === "string" && /exceeds the 67108864-byte limit/.test(e.reason),
      since,
      20_000,
    );
    await within(raw.status, 20_000, "a to end the stream");
    await expectStillServing(a(), b());
  });

  it("(vi) one gRPC message over the 1 MiB part limit: the channel is dropped with a log line, the node serving", async () => {
    const since = a().node.logs.length;
    const raw = openReplicate(a().node.address, { maxSendBytes: 80 * 1024 * 1024 });
    raws.push(raw);
    await clientHandshake(raw, { clientPeer: m().peerId, sign: m().sign, federationId: FEDERATION_ID });
    raw.write(payload(new Uint8Array(GRPC_PART_BYTES + 1)));
    await waitForLog(
      a().node,
      "dropping sync channel",
      (e) => typeof e.reason === "string" && e.reason.includes(`exceeds the ${GRPC_PART_BYTES}-byte part limit`),
      since,
      20_000,
    );
    await within(raw.status, 20_000, "a to end the stream");
    await expectStillServing(a(), b());
  });

  it("(vi) a message over the API port's receive limit: refused by grpc-js before it is read (RESOURCE_EXHAUSTED), the node serving", async () => {
    const raw = openReplicate(a().node.address, { maxSendBytes: 80 * 1024 * 1024 });
    raws.push(raw);
    await clientHandshake(raw, { clientPeer: m().peerId, sign: m().sign, federationId: FEDERATION_ID });
    raw.write(payload(new Uint8Array(API_MAX_RECEIVE_MESSAGE_BYTES + 1024)));
    expect((await within(raw.status, 20_000, "a to end the stream")).code).toBe(status.RESOURCE_EXHAUSTED);
    await expectStillServing(a(), b());
  });

  it("(iv) a second hello (a handshake frame) after the handshake: dropped", async () => {
    const since = a().node.logs.length;
    const raw = await handshaken();
    raw.write({
      frame: { $case: "hello", value: { peerId: m().peerId, federationId: FEDERATION_ID, nonce: randomBytes(32) } },
    });
    await dropped(since, "a handshake frame after the handshake");
    await within(raw.status, CLOSE_WITHIN_MS, "a to end the stream");
    await expectStillServing(a(), b());
  });

  it("(vii) a truncated gRPC message (a length prefix promising more than is sent), then the end of the stream", async () => {
    const since = a().node.logs.length;
    // grpc-js will not write a broken message, so speak HTTP/2 directly.
    const session = connect(`http://${a().node.address}`);
    try {
      const stream = session.request({
        ":method": "POST",
        ":path": "/concordat.v1.ReplicationService/Replicate",
        "content-type": "application/grpc",
        te: "trailers",
      });
      stream.on("error", () => undefined);
      const header = Buffer.alloc(5);
      header.writeUInt8(0, 0);
      header.writeUInt32BE(1000, 1); // promises 1,000 bytes
      stream.end(Buffer.concat([header, randomBytes(10)])); // sends 10, then ends
      await waitForLog(
        a().node,
        "refused a replication stream",
        (e) => e.reason === "the stream ended before the hello",
        since,
        CLOSE_WITHIN_MS,
      );
      await new Promise<void>((resolve) => (stream.closed ? resolve() : stream.once("close", () => resolve())));
    } finally {
      session.close();
    }
    await expectStillServing(a(), b());
  });

  it("(v) the client ends its side after the hello: a forgets the peer and ends the stream", async () => {
    const raw = await handshaken();
    raw.write(payload(hello(m().peerId)));
    await connected(a(), m().peerId);
    raw.call.end();
    await within(raw.status, CLOSE_WITHIN_MS, "a to end the stream");
    await disconnected(a(), m().peerId);
    await expectStillServing(a(), b());
  });
});

/** A header announcing 100 bytes, then only 10 of them. */
function truncatedFrame(): Uint8Array {
  const bytes = new Uint8Array(14);
  new DataView(bytes.buffer).setUint32(0, 100, false);
  bytes.set(randomBytes(10), 4);
  return bytes;
}

/** `node` lists `peerId` among its connected peers (its hello was accepted). */
function connected(node: FederationNode, peerId: string): Promise<unknown> {
  return waitUntil(
    `${node.name} to list ${peerId} as a peer`,
    () => node.node.running.network.peers().some((p) => p.peerId === peerId),
    CLOSE_WITHIN_MS,
  );
}

/** `node` no longer lists `peerId` among its connected peers. */
function disconnected(node: FederationNode, peerId: string): Promise<unknown> {
  return waitUntil(
    `${node.name} to forget ${peerId}`,
    () => node.node.running.network.peers().every((p) => p.peerId !== peerId),
    CLOSE_WITHIN_MS,
  );
}
