/**
 * Hand-driven peers and wire taps for the replication tests: a raw gRPC Replicate client (doing the
 * handshake itself, or not), a raw libp2p sync stream, and a loopback TCP proxy that records every
 * byte it forwards (with an HTTP/2 + gRPC frame parser to read what it saw).
 */
import { randomBytes } from "node:crypto";
import { connect, createServer, type Server, type Socket } from "node:net";
import * as A from "@automerge/automerge";
import { closeClient, credentials, type ClientDuplexStream, type StatusObject } from "@grpc/grpc-js";
import type { Stream } from "@libp2p/interface";
import { multiaddr } from "@multiformats/multiaddr";
import {
  ReplicationServiceClient,
  type ReplicateRequest,
  type ReplicateResponse,
} from "../../node/api/generated/concordat/v1/replication.js";
import { handshakeTranscript, verifyPeerSignature } from "../../node/network/grpc-adapter.js";
import { FrameDecoder } from "../../node/network/frames.js";
import { SYNC_PROTOCOL } from "../../node/network/libp2p-adapter.js";
import type { ConcordatLibp2p } from "../../node/network/libp2p-node.js";
import { draft, waitForForeignTrainer, type FederationNode } from "../helpers/federation.js";

/** Rejects after `ms` with a message naming `what`, unless `promise` settles first. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// ---------------------------------------------------------------------------------------------
// gRPC Replicate, by hand

export interface RawReplicate {
  call: ClientDuplexStream<ReplicateRequest, ReplicateResponse>;
  /** Responses received so far (in order). */
  received: ReplicateResponse[];
  /** The next response not yet returned by `next` (within `ms`). */
  next(what: string, ms?: number): Promise<ReplicateResponse>;
  /** Settles with the call's final status (OK when the server ended the stream). */
  status: Promise<StatusObject>;
  write(request: ReplicateRequest): void;
  close(): void;
}

/** Opens a Replicate stream to a node's API without doing anything on it. */
export function openReplicate(address: string, options: { maxSendBytes?: number } = {}): RawReplicate {
  const client = new ReplicationServiceClient(
    address,
    credentials.createInsecure(),
    options.maxSendBytes ? { "grpc.max_send_message_length": options.maxSendBytes } : {},
  );
  const call = client.replicate({ deadline: Date.now() + 30_000 });
  const received: ReplicateResponse[] = [];
  let read = 0;
  const waiters: Array<() => void> = [];
  call.on("data", (response: ReplicateResponse) => {
    received.push(response);
    for (const w of waiters.splice(0)) w();
  });
  // Errors also arrive as a status; without a listener an 'error' event would throw.
  call.on("error", () => undefined);
  let finished = false;
  const status = new Promise<StatusObject>((resolve) =>
    call.on("status", (s: StatusObject) => {
      finished = true;
      resolve(s);
      for (const w of waiters.splice(0)) w();
    }),
  );
  return {
    call,
    received,
    status,
    next(what, ms = 5000) {
      return within(
        new Promise<ReplicateResponse>((resolve, reject) => {
          const check = () => {
            if (read < received.length) {
              resolve(received[read++] as ReplicateResponse);
              return;
            }
            if (finished) {
              reject(new Error(`the stream ended before the ${what}`));
              return;
            }
            waiters.push(check);
          };
          check();
        }),
        ms,
        what,
      );
    },
    write: (request) => void call.write(request),
    close: () => {
      call.cancel();
      closeClient(client);
    },
  };
}

export interface HandshakeOptions {
  /** The peer id the client claims. */
  clientPeer: string;
  /** Signs the client's transcript (the claimed peer's key, or another to test refusal). */
  sign(data: Uint8Array): Promise<Uint8Array>;
  federationId: string;
}

/**
 * Runs the client side of the handshake: hello, read and verify the challenge, proof. Returns the
 * server's peer id. Does not wait for the server's verdict on the proof.
 */
export async function clientHandshake(raw: RawReplicate, options: HandshakeOptions): Promise<string> {
  const clientNonce = randomBytes(32);
  raw.write({
    frame: {
      $case: "hello",
      value: { peerId: options.clientPeer, federationId: options.federationId, nonce: clientNonce },
    },
  });
  const challenge = (await raw.next("challenge")).frame;
  if (challenge?.$case !== "challenge") throw new Error(`expected a challenge, got ${challenge?.$case}`);
  const { peerId: serverPeer, nonce: serverNonce, signature } = challenge.value;
  const transcript = (role: "server" | "client") =>
    handshakeTranscript(options.federationId, options.clientPeer, serverPeer, clientNonce, serverNonce, role);
  if (!(await verifyPeerSignature(serverPeer, transcript("server"), signature)))
    throw new Error("the server's signature does not verify");
  raw.write({ frame: { $case: "proof", value: { signature: Buffer.from(await options.sign(transcript("client"))) } } });
  return serverPeer;
}

export function payload(bytes: Uint8Array): ReplicateRequest {
  return { frame: { $case: "payload", value: Buffer.from(bytes) } };
}

// ---------------------------------------------------------------------------------------------
// libp2p sync stream, by hand

export interface RawSyncStream {
  stream: Stream;
  /** Whole frames received so far. */
  frames: Uint8Array[];
  /** Settles when the stream closes, with the close event's error (if any) and whether we aborted it. */
  closed: Promise<{ error: Error | undefined; local: boolean }>;
  send(bytes: Uint8Array): void;
}

/** Opens `/concordat/sync/1.0.0` to `address` (with /p2p/) and collects frames as they come. */
export async function openSyncStream(libp2p: ConcordatLibp2p, address: string): Promise<RawSyncStream> {
  const stream = await libp2p.dialProtocol(multiaddr(address), SYNC_PROTOCOL, { signal: AbortSignal.timeout(5000) });
  const frames: Uint8Array[] = [];
  const decoder = new FrameDecoder();
  stream.addEventListener("message", (event) => {
    for (const frame of decoder.push(event.data.subarray())) frames.push(frame);
  });
  const closed = new Promise<{ error: Error | undefined; local: boolean }>((resolve) => {
    stream.addEventListener("close", (event) => resolve({ error: event.error, local: event.local === true }), {
      once: true,
    });
  });
  return { stream, frames, closed, send: (bytes) => void stream.send(bytes) };
}

// ---------------------------------------------------------------------------------------------
// a recording TCP proxy

export interface ProxiedConnection {
  /** Bytes from the dialler to the target, in order. */
  up: Buffer[];
  /** Bytes from the target to the dialler. */
  down: Buffer[];
}

export interface TcpProxy {
  /** host:port to dial instead of the target. */
  address: string;
  connections: ProxiedConnection[];
  close(): Promise<void>;
}

/** Forwards every connection to 127.0.0.1:`targetPort`, recording what passes either way. */
export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const connections: ProxiedConnection[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((inbound) => {
    const record: ProxiedConnection = { up: [], down: [] };
    connections.push(record);
    const outbound = connect(targetPort, "127.0.0.1");
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => undefined);
    }
    inbound.on("data", (chunk: Buffer) => {
      record.up.push(Buffer.from(chunk));
      outbound.write(chunk);
    });
    outbound.on("data", (chunk: Buffer) => {
      record.down.push(Buffer.from(chunk));
      inbound.write(chunk);
    });
    inbound.on("close", () => outbound.destroy());
    outbound.on("close", () => inbound.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    address: `127.0.0.1:${port}`,
    connections,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const HTTP2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

/**
 * The DATA of each HTTP/2 stream in one direction of a connection, concatenated per stream id
 * (padding removed). Throws if the bytes are not HTTP/2 frames, so that a test cannot pass by
 * failing to read them.
 */
export function http2Data(bytes: Buffer, fromClient: boolean): Map<number, Buffer> {
  let offset = 0;
  if (fromClient) {
    if (!bytes.subarray(0, HTTP2_PREFACE.byteLength).equals(HTTP2_PREFACE)) throw new Error("no HTTP/2 client preface");
    offset = HTTP2_PREFACE.byteLength;
  }
  const parts = new Map<number, Buffer[]>();
  while (offset + 9 <= bytes.byteLength) {
    const length = bytes.readUIntBE(offset, 3);
    const type = bytes[offset + 3] as number;
    const flags = bytes[offset + 4] as number;
    const stream = bytes.readUInt32BE(offset + 5) & 0x7fffffff;
    const body = bytes.subarray(offset + 9, offset + 9 + length);
    if (body.byteLength < length) break; // a frame cut by the end of the capture
    offset += 9 + length;
    if (type !== 0) continue;
    let data = body;
    if (flags & 0x8) {
      const pad = data[0] as number;
      data = data.subarray(1, data.byteLength - pad);
    }
    const list = parts.get(stream) ?? [];
    list.push(data);
    parts.set(stream, list);
  }
  return new Map([...parts].map(([id, list]) => [id, Buffer.concat(list)]));
}

/** gRPC length-prefixed messages in a stream's DATA: `compressed` is the message's flag. */
export function grpcMessages(data: Buffer): Array<{ compressed: boolean; message: Buffer }> {
  const messages: Array<{ compressed: boolean; message: Buffer }> = [];
  let offset = 0;
  while (offset + 5 <= data.byteLength) {
    const compressed = data[offset] === 1;
    const length = data.readUInt32BE(offset + 1);
    if (offset + 5 + length > data.byteLength) break;
    messages.push({ compressed, message: data.subarray(offset + 5, offset + 5 + length) });
    offset += 5 + length;
  }
  return messages;
}

// ---------------------------------------------------------------------------------------------
// what Automerge bytes say

const AUTOMERGE_MAGIC = Buffer.from([0x85, 0x6f, 0x4a, 0x83]);

/**
 * The content of every Automerge chunk (document or change, compressed or not) inside `bytes`, as
 * JSON text: sync messages carry documents and changes whose columns may be DEFLATE-compressed, so a
 * string written to a document need not appear verbatim on the wire. Throws on a chunk it cannot
 * decode, so that nothing passes unread.
 */
export function automergeContent(bytes: Uint8Array): string {
  const data = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: string[] = [];
  for (let at = data.indexOf(AUTOMERGE_MAGIC); at >= 0; at = data.indexOf(AUTOMERGE_MAGIC, at + 1)) {
    // magic (4), checksum (4), chunk type (1), body length (ULEB128), body
    let p = at + 9;
    let length = 0;
    for (let shift = 0; p < data.byteLength; shift += 7) {
      const byte = data[p++] as number;
      length += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) break;
    }
    const chunk = data.subarray(at, p + length);
    const type = data[at + 8];
    try {
      out.push(type === 0 ? JSON.stringify(A.toJS(A.load(chunk))) : JSON.stringify(A.decodeChange(chunk)));
    } catch (error) {
      throw new Error(
        `an Automerge chunk (type ${type}, ${chunk.byteLength} bytes) does not decode: ${(error as Error).message}`,
      );
    }
  }
  return out.join("\n");
}

/** Does `needle` appear in `bytes`, verbatim or inside an Automerge chunk they carry? */
export function carries(bytes: Uint8Array, needle: string): boolean {
  return (
    Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).includes(needle) ||
    automergeContent(bytes).includes(needle)
  );
}

// ---------------------------------------------------------------------------------------------
// the node goes on

let serial = 0;

/**
 * `node` still answers GetStatus (reporting `member` among its connected peers) and still replicates
 * to `member`: a trainer it adds now reaches it.
 */
export async function expectStillServing(node: FederationNode, member: FederationNode): Promise<void> {
  const clients = node.node.clients(node.node.adminToken);
  const status = await clients.node.getStatus({});
  if (status.peerId !== node.peerId) throw new Error(`GetStatus answered for ${status.peerId}, not ${node.peerId}`);
  serial += 1;
  const id = `STILL-${process.pid}-${serial}`;
  await node.node.running.roster.add(draft(id), "op");
  await waitForForeignTrainer(member, node, id, () => true, 10_000);
}
