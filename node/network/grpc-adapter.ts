import type { NodeMetrics } from "../metrics.js";
import { randomBytes } from "node:crypto";
import {
  credentials as grpcCredentials,
  status,
  type ChannelCredentials,
  type ClientDuplexStream,
  type ServerDuplexStream,
  type ServiceError,
} from "@grpc/grpc-js";
import { verifyPeerSignature } from "../identity/index.js";
import type { Logger } from "pino";
import {
  ReplicationServiceClient,
  ReplicationServiceService,
  type ReplicateRequest,
  type ReplicateResponse,
  type ReplicationServiceServer,
} from "../api/generated/concordat/v1/replication.js";
import { ChannelNetworkAdapter, type BindingPolicy, type Channel, type DialTarget } from "./channel-adapter.js";
import { DEFAULT_MAX_FRAME_BYTES } from "./frames.js";

export { ReplicationServiceService };

const DOMAIN = "concordat/replicate/1";
const NONCE_BYTES = 32;
/**
 * A sync payload larger than this travels as several gRPC messages (`payload_part`s, then the final
 * `payload`), joined by the receiver up to the sync frame limit: so no gRPC message on a
 * replication stream exceeds it, and the node's server can refuse anything much larger before it is
 * read, whoever sends it.
 */
export const GRPC_PART_BYTES = 1024 * 1024;
/** Largest gRPC message either side accepts on a replication stream: one part and its envelope. */
export const GRPC_MAX_MESSAGE_BYTES = 2 * GRPC_PART_BYTES;

/** Writes one sync payload as gRPC messages of at most GRPC_PART_BYTES each. */
function writePayload(
  write: (frame: { $case: "payload" | "payloadPart"; value: Buffer }) => void,
  payload: Uint8Array,
): void {
  for (let offset = 0; offset + GRPC_PART_BYTES < payload.byteLength; offset += GRPC_PART_BYTES) {
    write({ $case: "payloadPart", value: Buffer.from(payload.subarray(offset, offset + GRPC_PART_BYTES)) });
  }
  const last = payload.byteLength === 0 ? 0 : Math.floor((payload.byteLength - 1) / GRPC_PART_BYTES) * GRPC_PART_BYTES;
  write({ $case: "payload", value: Buffer.from(payload.subarray(last)) });
}
const HANDSHAKE_TIMEOUT_MS = 10_000;

export interface GrpcDialTarget extends DialTarget {
  /** host:port of its gRPC API. */
  address: string;
  /** PEM CA to verify its TLS certificate; plaintext when absent. */
  tlsCa?: Buffer;
}

export interface GrpcAdapterInit {
  policy: BindingPolicy;
  federationId: string;
  /** Peers to keep connected: a list, or a function read again on every dial and `refreshTargets`. */
  dial: readonly GrpcDialTarget[] | (() => readonly GrpcDialTarget[]);
  /** Who may replicate with this node; undefined admits anyone who proves a key (tests only). */
  allowed?: (peerId: string) => boolean;
  backoff?: { initialMs: number; maxMs: number };
  readyTimeoutMs?: number;
  /** Counts sync messages per peer (when the node serves metrics). */
  metrics?: NodeMetrics | undefined;
}

export interface GrpcAdapterComponents {
  /** This node's identity: its libp2p peer id and a signer with the same key. */
  identity: { peerId: string; sign(data: Uint8Array): Promise<Uint8Array> };
  logger: Logger;
}

/** The bytes each side signs: binds the signature to this federation, these peers, these nonces and a role. */
export function handshakeTranscript(
  federationId: string,
  clientPeer: string,
  serverPeer: string,
  clientNonce: Uint8Array,
  serverNonce: Uint8Array,
  role: "server" | "client",
): Uint8Array {
  const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
  return new TextEncoder().encode(
    [DOMAIN, federationId, clientPeer, serverPeer, hex(clientNonce), hex(serverNonce), role].join("\n"),
  );
}

export { verifyPeerSignature };

class HandshakeError extends Error {
  readonly code: status;
  constructor(code: status, message: string) {
    super(message);
    this.name = "HandshakeError";
    this.code = code;
  }
}

/**
 * Frames of a gRPC stream, read through events: `next()` for the handshake (with a timeout), then
 * `pipe()` hands every later frame (queued ones first) to a callback. An async iterator would end
 * the call when abandoned; events leave its lifetime to the channel.
 */
class FrameReader<T> {
  readonly #queue: T[] = [];
  #waiter: { what: string; resolve(v: T): void; reject(e: Error): void } | undefined;
  #sink: ((frame: T) => void) | undefined;
  #ended: Error | undefined;
  #onEnd: ((error: Error) => void) | undefined;

  constructor(stream: NodeJS.EventEmitter) {
    stream.on("data", (frame: T) => {
      if (this.#sink) this.#sink(frame);
      else if (this.#waiter) {
        const w = this.#waiter;
        this.#waiter = undefined;
        w.resolve(frame);
      } else this.#queue.push(frame);
    });
    const end = (error: Error) => {
      if (this.#ended) return;
      this.#ended = error;
      // A stream that ends during the handshake is reported by what it still owed.
      const waiter = this.#waiter;
      this.#waiter = undefined;
      waiter?.reject(
        error instanceof HandshakeError
          ? new HandshakeError(error.code, `the stream ended before the ${waiter.what}`)
          : error,
      );
      this.#onEnd?.(error);
    };
    stream.on("end", () => end(new HandshakeError(status.CANCELLED, "the stream ended")));
    stream.on("error", (error: Error) => end(error));
    stream.on("close", () => end(new HandshakeError(status.CANCELLED, "the stream closed")));
  }

  next(what: string): Promise<T> {
    const queued = this.#queue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.#ended) return Promise.reject(new HandshakeError(status.CANCELLED, `stream ended before the ${what}`));
    let timer: NodeJS.Timeout | undefined;
    return new Promise<T>((resolve, reject) => {
      this.#waiter = { what, resolve, reject };
      timer = setTimeout(() => {
        this.#waiter = undefined;
        reject(new HandshakeError(status.DEADLINE_EXCEEDED, `no ${what} within ${HANDSHAKE_TIMEOUT_MS} ms`));
      }, HANDSHAKE_TIMEOUT_MS);
    }).finally(() => clearTimeout(timer));
  }

  /** Delivers queued and later frames to `sink`; `onEnd` runs once when the stream ends. */
  pipe(sink: (frame: T) => void, onEnd: (error: Error) => void): void {
    this.#sink = sink;
    for (const frame of this.#queue.splice(0)) sink(frame);
    if (this.#ended) onEnd(this.#ended);
    else this.#onEnd = onEnd;
  }
}

/**
 * automerge-repo NetworkAdapter over the gRPC `Replicate` bidirectional stream, for hubs that can
 * only reach each other over HTTP/2. Serves the stream (add `service()` to the node's gRPC server)
 * and dials the peers in `dial`, keeping them connected with backoff. Peers prove their Ed25519 keys
 * in the first frames; the channel's authenticated peer is that proven key's peer id.
 */
export class GrpcNetworkAdapter extends ChannelNetworkAdapter<GrpcDialTarget> {
  readonly #init: GrpcAdapterInit;
  readonly #identity: GrpcAdapterComponents["identity"];
  readonly #calls = new Set<{ cancel(): void }>();
  readonly #clients = new Set<InstanceType<typeof ReplicationServiceClient>>();

  constructor(init: GrpcAdapterInit, components: GrpcAdapterComponents) {
    super(
      { policy: init.policy, backoff: init.backoff, readyTimeoutMs: init.readyTimeoutMs, metrics: init.metrics },
      components.logger,
    );
    this.#init = init;
    this.#identity = components.identity;
  }

  /** The server side, to be added to a grpc-js Server with `ReplicationServiceService`. */
  service(): ReplicationServiceServer {
    return {
      replicate: (call: ServerDuplexStream<ReplicateRequest, ReplicateResponse>) => {
        this.#serve(call).catch((error: unknown) => {
          const code = error instanceof HandshakeError ? error.code : status.INTERNAL;
          const message = error instanceof HandshakeError ? error.message : "replication failed";
          this.log.warn({ remote: call.getPeer(), reason: (error as Error).message }, "refused a replication stream");
          call.emit("error", { code, details: message });
        });
      },
    };
  }

  /** The server side is served by the node's gRPC server (see `service()`): nothing to open here. */
  protected async listen(): Promise<void> {}

  protected async shutdown(): Promise<void> {
    for (const call of this.#calls) call.cancel();
    this.#calls.clear();
    for (const client of this.#clients) client.close();
    this.#clients.clear();
  }

  protected dialTargets(): readonly GrpcDialTarget[] {
    return typeof this.#init.dial === "function" ? this.#init.dial() : this.#init.dial;
  }

  protected dialOnce(target: GrpcDialTarget): Promise<boolean> {
    return this.#connect(target);
  }

  #allowed(peerId: string): boolean {
    return !this.#init.allowed || this.#init.allowed(peerId);
  }

  async #serve(call: ServerDuplexStream<ReplicateRequest, ReplicateResponse>): Promise<void> {
    if (this.closed || !this.peerId) throw new HandshakeError(status.UNAVAILABLE, "replication is not running");
    const frames = new FrameReader<ReplicateRequest>(call);
    const hello = (await frames.next("hello")).frame;
    if (hello?.$case !== "hello") throw new HandshakeError(status.INVALID_ARGUMENT, "the first frame must be a hello");
    const { peerId: clientPeer, federationId, nonce: clientNonce } = hello.value;
    if (federationId !== this.#init.federationId) {
      throw new HandshakeError(
        status.PERMISSION_DENIED,
        `federation '${federationId}' is not this node's ('${this.#init.federationId}')`,
      );
    }
    if (clientNonce.byteLength !== NONCE_BYTES)
      throw new HandshakeError(status.INVALID_ARGUMENT, `the nonce must be ${NONCE_BYTES} bytes`);
    if (!this.#allowed(clientPeer))
      throw new HandshakeError(status.PERMISSION_DENIED, `peer ${clientPeer} is not allowed`);

    const serverNonce = randomBytes(NONCE_BYTES);
    const me = this.#identity.peerId;
    const transcript = (role: "server" | "client") =>
      handshakeTranscript(federationId, clientPeer, me, clientNonce, serverNonce, role);
    const signature = await this.#identity.sign(transcript("server"));
    call.write({
      frame: { $case: "challenge", value: { peerId: me, nonce: serverNonce, signature: Buffer.from(signature) } },
    });

    const proof = (await frames.next("proof")).frame;
    if (proof?.$case !== "proof") throw new HandshakeError(status.INVALID_ARGUMENT, "the second frame must be a proof");
    if (!(await verifyPeerSignature(clientPeer, transcript("client"), proof.value.signature))) {
      throw new HandshakeError(status.UNAUTHENTICATED, `the proof does not verify with the key of ${clientPeer}`);
    }

    const channel: Channel = {
      send: (payload) => writePayload((frame) => void call.write({ frame }), payload),
      close: () => {
        if (!call.writableEnded) call.end();
      },
      authenticatedPeer: clientPeer,
      direction: "inbound",
      transport: "grpc",
      remoteAddress: call.getPeer(),
    };
    const handlers = this.open(channel);
    this.#pump(frames, clientPeer, handlers, () => channel.close());
  }

  /** Hands every payload frame to the channel's handlers until the stream ends or misbehaves. */
  #pump<T extends ReplicateRequest | ReplicateResponse>(
    frames: FrameReader<T>,
    peer: string,
    handlers: { onPayload(p: Uint8Array): void; onClose(): void },
    closeStream: () => void,
  ): void {
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      closeStream();
      handlers.onClose();
    };
    // Parts of a payload received so far (see GRPC_PART_BYTES), joined when its last part arrives.
    let parts: Buffer[] = [];
    let partBytes = 0;
    const tooLarge = (bytes: number) => {
      this.log.warn(
        { peer, reason: `frame of ${bytes} bytes exceeds the ${DEFAULT_MAX_FRAME_BYTES}-byte limit` },
        "dropping sync channel",
      );
      finish();
    };
    frames.pipe(
      (message) => {
        if (done) return;
        const frame = message.frame;
        if (frame?.$case !== "payload" && frame?.$case !== "payloadPart") {
          this.log.warn({ peer, reason: "a handshake frame after the handshake" }, "dropping sync channel");
          finish();
          return;
        }
        if (frame.value.byteLength > GRPC_PART_BYTES) {
          this.log.warn(
            {
              peer,
              reason: `a gRPC message of ${frame.value.byteLength} bytes exceeds the ${GRPC_PART_BYTES}-byte part limit`,
            },
            "dropping sync channel",
          );
          finish();
          return;
        }
        partBytes += frame.value.byteLength;
        if (partBytes > DEFAULT_MAX_FRAME_BYTES) {
          tooLarge(partBytes);
          return;
        }
        parts.push(frame.value);
        if (frame.$case === "payloadPart") return;
        const payload = parts.length === 1 ? new Uint8Array(frame.value) : new Uint8Array(Buffer.concat(parts));
        parts = [];
        partBytes = 0;
        handlers.onPayload(payload);
      },
      (error) => {
        // A stream that fails (not one that ends or is cancelled) is dropped for a reason worth a line:
        // e.g. a message over the size limit, refused by gRPC before it reached this code.
        const code = (error as { code?: number }).code;
        if (!(error instanceof HandshakeError) && code !== status.CANCELLED) {
          this.log.warn({ peer, reason: error.message }, "dropping sync channel");
        }
        finish();
      },
    );
  }

  /** Opens a Replicate stream to `target`, runs the handshake, and pumps payloads. */
  async #connect(target: GrpcDialTarget): Promise<boolean> {
    const creds: ChannelCredentials = target.tlsCa
      ? grpcCredentials.createSsl(target.tlsCa)
      : grpcCredentials.createInsecure();
    const client = new ReplicationServiceClient(target.address, creds, {
      "grpc.max_receive_message_length": GRPC_MAX_MESSAGE_BYTES,
      "grpc.max_send_message_length": GRPC_MAX_MESSAGE_BYTES,
    });
    this.#clients.add(client);
    const call: ClientDuplexStream<ReplicateRequest, ReplicateResponse> = client.replicate();
    this.#calls.add(call);
    const cleanup = () => {
      this.#calls.delete(call);
      this.#clients.delete(client);
      client.close();
    };
    call.on("error", (error: ServiceError) => {
      if (error.code !== status.CANCELLED)
        this.log.debug({ peer: target.peerId, reason: error.details }, "replication stream ended");
    });
    const frames = new FrameReader<ReplicateResponse>(call);
    try {
      const me = this.#identity.peerId;
      const clientNonce = randomBytes(NONCE_BYTES);
      call.write({
        frame: { $case: "hello", value: { peerId: me, federationId: this.#init.federationId, nonce: clientNonce } },
      });
      const challenge = (await frames.next("challenge")).frame;
      if (challenge?.$case !== "challenge")
        throw new HandshakeError(status.INVALID_ARGUMENT, "the server did not send a challenge");
      const { peerId: serverPeer, nonce: serverNonce, signature } = challenge.value;
      if (serverPeer !== target.peerId) {
        throw new HandshakeError(
          status.PERMISSION_DENIED,
          `the server at ${target.address} is ${serverPeer}, not ${target.peerId}`,
        );
      }
      const transcript = (role: "server" | "client") =>
        handshakeTranscript(this.#init.federationId, me, serverPeer, clientNonce, serverNonce, role);
      if (!(await verifyPeerSignature(serverPeer, transcript("server"), signature))) {
        throw new HandshakeError(
          status.UNAUTHENTICATED,
          `the server's signature does not verify with the key of ${serverPeer}`,
        );
      }
      call.write({
        frame: { $case: "proof", value: { signature: Buffer.from(await this.#identity.sign(transcript("client"))) } },
      });
    } catch (error) {
      this.log.warn(
        { peer: target.peerId, address: target.address, reason: (error as Error).message },
        "replication handshake failed",
      );
      call.cancel();
      cleanup();
      throw error;
    }

    const channel: Channel = {
      send: (payload) => writePayload((frame) => void call.write({ frame }), payload),
      close: () => call.cancel(),
      authenticatedPeer: target.peerId,
      direction: "outbound",
      transport: "grpc",
      remoteAddress: target.address,
    };
    const handlers = this.open(channel);
    this.#pump(frames, target.peerId, handlers, () => {
      call.cancel();
      cleanup();
    });
    return handlers.bound;
  }
}
