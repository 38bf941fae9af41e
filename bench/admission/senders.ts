/**
 * A member sending raw sync frames to a node over either transport, as a misbehaving member's own
 * code would: it authenticates with its key (noise for libp2p; the signed handshake for gRPC), sends
 * its hello, then whatever frames it likes; when the node drops the channel, it opens a new one.
 * Used by the admission.fuzz benchmark and test/admission/fuzz.test.ts.
 */
import { randomBytes } from "node:crypto";
import { closeClient, credentials, type ClientDuplexStream } from "@grpc/grpc-js";
import type { Ed25519PrivateKey, Stream } from "@libp2p/interface";
import { multiaddr } from "@multiformats/multiaddr";
import { cbor } from "@automerge/automerge-repo";
import { pino } from "pino";
import {
  ReplicationServiceClient,
  type ReplicateRequest,
  type ReplicateResponse,
} from "../../node/api/generated/concordat/v1/replication.js";
import {
  createLibp2pNode,
  encodeFrame,
  handshakeTranscript,
  SYNC_PROTOCOL,
  type ConcordatLibp2p,
} from "../../node/network/index.js";

export interface RawSender {
  /** Sends one frame; resolves when the transport took it (waiting for a new channel if the last was dropped). */
  send(payload: Uint8Array): Promise<void>;
  /** Resolves when the current channel has been dropped by the node (bounded), then a new one opens on the next send. */
  awaitDrop(timeoutMs: number): Promise<boolean>;
  /** Channels opened so far (1 + the node's drops). */
  readonly channels: number;
  close(): Promise<void>;
}

const hello = (peerId: string) => new Uint8Array(cbor.encode({ type: "hello", peerId, peerMetadata: {} }));

function dropWatch(): { dropped: Promise<void>; drop(): void } {
  let drop: () => void = () => undefined;
  const dropped = new Promise<void>((resolve) => (drop = resolve));
  return { dropped, drop };
}

function bounded(promise: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.then(() => true),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms))),
  ]).finally(() => clearTimeout(timer));
}

/** Frames over `/concordat/sync/1.0.0` streams to `address` (a multiaddr with /p2p/). */
export async function libp2pSender(privateKey: Ed25519PrivateKey, peerId: string, address: string): Promise<RawSender> {
  const libp2p: ConcordatLibp2p = await createLibp2pNode({ privateKey, listen: [] }, pino({ level: "silent" }));
  let stream: Stream | undefined;
  let watch = dropWatch();
  let channels = 0;
  const open = async () => {
    const s = await libp2p.dialProtocol(multiaddr(address), SYNC_PROTOCOL, { signal: AbortSignal.timeout(10_000) });
    const w = dropWatch();
    s.addEventListener("message", () => undefined);
    s.addEventListener("close", () => w.drop(), { once: true });
    s.addEventListener("remoteCloseWrite", () => w.drop(), { once: true });
    watch = w;
    stream = s;
    channels += 1;
    await write(s, encodeFrame(hello(peerId)));
  };
  const write = async (s: Stream, bytes: Uint8Array) => {
    // Backpressure: wait for the stream to drain, or for the node to drop it (then no drain comes).
    if (!s.send(bytes))
      await Promise.race([
        new Promise<void>((resolve) => s.addEventListener("drain", () => resolve(), { once: true })),
        watch.dropped,
      ]);
  };
  return {
    async send(payload) {
      if (stream?.status !== "open" || stream.writeStatus !== "writable") await open();
      await write(stream as Stream, encodeFrame(payload));
    },
    awaitDrop: (ms) => bounded(watch.dropped, ms),
    get channels() {
      return channels;
    },
    async close() {
      stream?.abort(new Error("done"));
      await libp2p.stop();
    },
  };
}

/** Frames over gRPC Replicate streams to `address` (host:port of the node's API). */
export async function grpcSender(
  sign: (data: Uint8Array) => Uint8Array | Promise<Uint8Array>,
  peerId: string,
  federationId: string,
  address: string,
): Promise<RawSender> {
  const client = new ReplicationServiceClient(address, credentials.createInsecure());
  let call: ClientDuplexStream<ReplicateRequest, ReplicateResponse> | undefined;
  let watch = dropWatch();
  let channels = 0;
  const open = async () => {
    const c = client.replicate();
    const w = dropWatch();
    const responses: ReplicateResponse[] = [];
    let wake: () => void = () => undefined;
    c.on("data", (r: ReplicateResponse) => {
      responses.push(r);
      wake();
    });
    c.on("error", () => w.drop());
    c.on("end", () => w.drop());
    c.on("close", () => w.drop());
    const clientNonce = randomBytes(32);
    c.write({ frame: { $case: "hello", value: { peerId, federationId, nonce: clientNonce } } });
    while (responses.length === 0) {
      const arrived = new Promise<void>((resolve) => (wake = resolve));
      if (!(await bounded(Promise.race([arrived, w.dropped]), 10_000)) || responses.length === 0)
        throw new Error("no challenge from the node");
    }
    const challenge = (responses[0] as ReplicateResponse).frame;
    if (challenge?.$case !== "challenge") throw new Error("the node did not send a challenge");
    const transcript = handshakeTranscript(
      federationId,
      peerId,
      challenge.value.peerId,
      clientNonce,
      challenge.value.nonce,
      "client",
    );
    c.write({ frame: { $case: "proof", value: { signature: Buffer.from(await sign(transcript)) } } });
    c.write({ frame: { $case: "payload", value: Buffer.from(hello(peerId)) } });
    watch = w;
    call = c;
    dropped = false;
    void w.dropped.then(() => {
      if (call === c) dropped = true;
    });
    channels += 1;
  };
  let dropped = true;
  return {
    async send(payload) {
      if (!call || dropped) await open();
      const c = call as ClientDuplexStream<ReplicateRequest, ReplicateResponse>;
      // Backpressure: wait for the stream to drain, or for the node to drop it (then no drain comes).
      if (!c.write({ frame: { $case: "payload", value: Buffer.from(payload) } }))
        await Promise.race([new Promise<void>((resolve) => c.once("drain", () => resolve())), watch.dropped]);
    },
    awaitDrop: (ms) => bounded(watch.dropped, ms),
    get channels() {
      return channels;
    },
    async close() {
      call?.cancel();
      closeClient(client);
    },
  };
}
