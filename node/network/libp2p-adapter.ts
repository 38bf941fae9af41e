import type { NodeMetrics } from "../metrics.js";
import { multiaddr } from "@multiformats/multiaddr";
import type { Connection, Libp2p, Stream } from "@libp2p/interface";
import type { Logger } from "pino";
import {
  ChannelNetworkAdapter,
  type BindingPolicy,
  type Channel,
  type DialTarget as ChannelDialTarget,
} from "./channel-adapter.js";
import { DEFAULT_MAX_FRAME_BYTES, encodeFrame, FrameDecoder, FrameError } from "./frames.js";

export const SYNC_PROTOCOL = "/concordat/sync/1.0.0";

export interface DialTarget extends ChannelDialTarget {
  /** Multiaddrs without the /p2p/ part, e.g. /ip4/127.0.0.1/tcp/7500. */
  addrs: string[];
}

export interface Libp2pAdapterInit {
  policy: BindingPolicy;
  /** Peers to keep connected: a list, or a function read again on every dial and `refreshTargets`. */
  dial: readonly DialTarget[] | (() => readonly DialTarget[]);
  maxFrameBytes?: number;
  /** Redial delays: starts at `initialMs`, doubles up to `maxMs` (with jitter). */
  backoff?: { initialMs: number; maxMs: number };
  /** The adapter reports ready when first dials settle, or after this long at most. */
  readyTimeoutMs?: number;
  /** Counts sync messages per peer (when the node serves metrics). */
  metrics?: NodeMetrics | undefined;
}

export interface Libp2pAdapterComponents {
  libp2p: Libp2p;
  logger: Logger;
}

/** A libp2p stream as a Channel: frames out, frames in, with backpressure on `drain`. */
function streamChannel(stream: Stream, connection: Connection, direction: "inbound" | "outbound"): Channel {
  const queue: Uint8Array[] = [];
  let waiting = false;
  const flush = () => {
    while (queue.length > 0 && stream.status === "open") {
      if (!stream.send(queue.shift() as Uint8Array)) {
        waiting = true;
        stream.addEventListener(
          "drain",
          () => {
            waiting = false;
            flush();
          },
          { once: true },
        );
        return;
      }
    }
  };
  return {
    send(payload) {
      queue.push(encodeFrame(payload));
      if (!waiting) flush();
    },
    close() {
      if (stream.status === "open") stream.abort(new Error("closed by Concordat"));
    },
    authenticatedPeer: connection.remotePeer.toString(),
    direction,
    transport: "libp2p",
    remoteAddress: connection.remoteAddr.toString(),
  };
}

/**
 * automerge-repo NetworkAdapter over libp2p: one `/concordat/sync/1.0.0` stream per peer, carrying
 * length-prefixed frames. The remote's repo peer id is bound to the peer id its noise handshake
 * authenticated (see ChannelNetworkAdapter). Peers in `dial` are kept connected with backoff.
 */
export class Libp2pNetworkAdapter extends ChannelNetworkAdapter<DialTarget> {
  readonly #libp2p: Libp2p;
  readonly #init: Libp2pAdapterInit;
  readonly #maxFrame: number;
  readonly #streams = new Set<Stream>();

  constructor(init: Libp2pAdapterInit, components: Libp2pAdapterComponents) {
    super(
      { policy: init.policy, backoff: init.backoff, readyTimeoutMs: init.readyTimeoutMs, metrics: init.metrics },
      components.logger,
    );
    this.#libp2p = components.libp2p;
    this.#init = init;
    this.#maxFrame = init.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  }

  protected async listen(): Promise<void> {
    await this.#libp2p.handle(SYNC_PROTOCOL, (stream, connection) => void this.#run(stream, connection, "inbound"), {
      maxInboundStreams: 4,
      runOnLimitedConnection: false,
    });
  }

  protected async shutdown(): Promise<void> {
    for (const stream of this.#streams) if (stream.status === "open") stream.abort(new Error("adapter stopped"));
    await this.#libp2p.unhandle(SYNC_PROTOCOL).catch(() => undefined);
  }

  protected dialTargets(): readonly DialTarget[] {
    return typeof this.#init.dial === "function" ? this.#init.dial() : this.#init.dial;
  }

  protected async dialOnce(target: DialTarget): Promise<boolean> {
    const addrs = target.addrs.map((a) => multiaddr(`${a}/p2p/${target.peerId}`));
    const stream = await this.#libp2p.dialProtocol(addrs, SYNC_PROTOCOL, { signal: AbortSignal.timeout(10_000) });
    const connection = this.#libp2p.getConnections().find((c) => c.streams.includes(stream));
    if (!connection) {
      stream.abort(new Error("no connection for stream"));
      throw new Error("dialled stream has no connection");
    }
    return this.#run(stream, connection, "outbound");
  }

  #run(stream: Stream, connection: Connection, direction: "inbound" | "outbound"): Promise<boolean> {
    if (this.closed) {
      stream.abort(new Error("adapter closed"));
      return Promise.resolve(false);
    }
    const channel = streamChannel(stream, connection, direction);
    const remote = connection.remotePeer.toString();
    this.#streams.add(stream);
    const handlers = this.open(channel);
    const decoder = new FrameDecoder(this.#maxFrame);
    // One chunk off the wire can hold many frames, each a sync message that may take Automerge a
    // while to apply: hand them to the Repo one per turn of the event loop, in order, so that the
    // API and everything else get a turn between them (one whole chunk at once stalled a node for
    // over a second during an initial sync; see bench/README.md, replication.adapters).
    const inbox: Uint8Array[] = [];
    let scheduled = false;
    const deliverOne = () => {
      scheduled = false;
      const frame = inbox.shift();
      if (frame === undefined) return;
      handlers.onPayload(frame);
      if (inbox.length > 0) {
        scheduled = true;
        setImmediate(deliverOne);
      }
    };
    stream.addEventListener("message", (event) => {
      try {
        for (const frame of decoder.push(event.data.subarray())) inbox.push(frame);
      } catch (error) {
        const reason = error instanceof FrameError ? error.message : "unreadable frame";
        this.log.warn({ remote, reason }, "dropping sync channel");
        channel.close();
        return;
      }
      if (!scheduled) deliverOne();
    });
    /** What arrived before the stream ended is still delivered, before the channel closes. */
    const drainInbox = () => {
      while (inbox.length > 0) handlers.onPayload(inbox.shift() as Uint8Array);
    };
    let truncationLogged = false;
    const logTruncation = () => {
      if (decoder.pending > 0 && !truncationLogged) {
        truncationLogged = true;
        this.log.warn({ remote, bytes: decoder.pending }, "sync stream closed inside a frame (truncated)");
      }
    };
    // A remote that closes its writing side (a half-close) sends nothing more: end the channel too.
    stream.addEventListener("remoteCloseWrite", () => {
      logTruncation();
      drainInbox();
      channel.close();
    });
    stream.addEventListener("close", () => {
      logTruncation();
      drainInbox();
      this.#streams.delete(stream);
      handlers.onClose();
    });
    return handlers.bound;
  }
}
