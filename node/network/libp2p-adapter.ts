import { multiaddr } from "@multiformats/multiaddr";
import type { Connection, Libp2p, Stream } from "@libp2p/interface";
import type { Logger } from "pino";
import { ChannelNetworkAdapter, type BindingPolicy, type Channel } from "./channel-adapter.js";
import { DEFAULT_MAX_FRAME_BYTES, encodeFrame, FrameDecoder, FrameError } from "./frames.js";

export const SYNC_PROTOCOL = "/concordat/sync/1.0.0";

export interface DialTarget {
  /** libp2p peer id (12D3KooW…). */
  peerId: string;
  /** Multiaddrs without the /p2p/ part, e.g. /ip4/127.0.0.1/tcp/7500. */
  addrs: string[];
}

export interface Libp2pAdapterInit {
  policy: BindingPolicy;
  /** Peers this node keeps a sync stream open to, redialling with backoff when it drops. */
  dial: DialTarget[];
  maxFrameBytes?: number;
  /** Redial delays: starts at `initialMs`, doubles up to `maxMs` (with jitter). */
  backoff?: { initialMs: number; maxMs: number };
  /** The adapter reports ready when first dials settle, or after this long at most. */
  readyTimeoutMs?: number;
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
        stream.addEventListener("drain", () => {
          waiting = false;
          flush();
        }, { once: true });
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
export class Libp2pNetworkAdapter extends ChannelNetworkAdapter {
  readonly #libp2p: Libp2p;
  readonly #init: Libp2pAdapterInit;
  readonly #maxFrame: number;
  /** Open channels per remote libp2p peer id (two while a duplicate is being resolved). */
  readonly #open = new Map<string, Set<Channel>>();
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #streams = new Set<Stream>();

  constructor(init: Libp2pAdapterInit, components: Libp2pAdapterComponents) {
    super({ policy: init.policy }, components.logger);
    this.#libp2p = components.libp2p;
    this.#init = init;
    this.#maxFrame = init.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  }

  protected async start(): Promise<void> {
    await this.#libp2p.handle(SYNC_PROTOCOL, (stream, connection) => void this.#run(stream, connection, "inbound"), {
      maxInboundStreams: 4,
      runOnLimitedConnection: false,
    });
    // Ready once the first attempt to each peer has settled (bound, refused or failed), so that a
    // Repo's first requests already see the peers that are up.
    const first = this.#init.dial.map((target) => new Promise<void>((resolve) => this.#dial(target, 0, resolve)));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(first), new Promise<void>((resolve) => (timer = setTimeout(resolve, this.#init.readyTimeoutMs ?? 5000)))]);
    clearTimeout(timer);
  }

  protected async stop(): Promise<void> {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.#open.clear();
    for (const stream of this.#streams) if (stream.status === "open") stream.abort(new Error("adapter stopped"));
    await this.#libp2p.unhandle(SYNC_PROTOCOL).catch(() => undefined);
  }

  #run(stream: Stream, connection: Connection, direction: "inbound" | "outbound"): Promise<boolean> {
    if (this.closed) {
      stream.abort(new Error("adapter closed"));
      return Promise.resolve(false);
    }
    const channel = streamChannel(stream, connection, direction);
    const remote = connection.remotePeer.toString();
    const channels = this.#open.get(remote) ?? new Set<Channel>();
    channels.add(channel);
    this.#open.set(remote, channels);
    this.#streams.add(stream);
    const handlers = this.attach(channel);
    const decoder = new FrameDecoder(this.#maxFrame);
    stream.addEventListener("message", (event) => {
      try {
        for (const frame of decoder.push(event.data.subarray())) handlers.onPayload(frame);
      } catch (error) {
        const reason = error instanceof FrameError ? error.message : "unreadable frame";
        this.log.warn({ remote, reason }, "dropping sync channel");
        channel.close();
      }
    });
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
      channel.close();
    });
    stream.addEventListener("close", () => {
      logTruncation();
      this.#streams.delete(stream);
      channels.delete(channel);
      if (channels.size === 0 && this.#open.get(remote) === channels) this.#open.delete(remote);
      handlers.onClose();
      // Keep dialled peers connected: redial once no channel to them is left.
      const target = this.#init.dial.find((t) => t.peerId === remote);
      if (target && !this.closed && channels.size === 0) this.#dial(target, 1);
    });
    return handlers.bound;
  }

  /**
   * Dials `target` after a backoff delay for the given attempt, unless a channel to it is open;
   * `settled` is called when this attempt has bound a channel or failed.
   */
  #dial(target: DialTarget, attempt: number, settled: () => void = () => undefined): void {
    const { initialMs, maxMs } = this.#init.backoff ?? { initialMs: 250, maxMs: 10_000 };
    const delay = attempt === 0 ? 0 : Math.min(maxMs, initialMs * 2 ** (attempt - 1)) * (0.75 + Math.random() / 2);
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      if (this.closed || this.#open.has(target.peerId)) {
        settled();
        return;
      }
      const addrs = target.addrs.map((a) => multiaddr(`${a}/p2p/${target.peerId}`));
      this.#libp2p
        .dialProtocol(addrs, SYNC_PROTOCOL, { signal: AbortSignal.timeout(10_000) })
        .then((stream) => {
          const connection = this.#libp2p.getConnections().find((c) => c.streams.includes(stream));
          if (!connection) {
            stream.abort(new Error("no connection for stream"));
            throw new Error("dialled stream has no connection");
          }
          return this.#run(stream, connection, "outbound");
        })
        .then(() => settled())
        .catch((error: unknown) => {
          settled();
          if (this.closed) return;
          this.log.debug({ peer: target.peerId, attempt, err: (error as Error).message }, "dial failed; will retry");
          this.#dial(target, attempt + 1);
        });
    }, delay);
    this.#timers.add(timer);
  }
}
