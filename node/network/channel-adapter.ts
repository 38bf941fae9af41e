import { NO_METRICS, type NodeMetrics } from "../metrics.js";
import { NetworkAdapter, cbor, type Message, type PeerId, type PeerMetadata } from "@automerge/automerge-repo";
import type { Logger } from "pino";
import { isRepoPeerId } from "../ids.js";
import { CrossedRequests } from "./crossed-requests.js";

/**
 * How an adapter binds a remote's automerge-repo peer id (which automerge-repo never authenticates)
 * to the identity its transport authenticated:
 * - `strict`: the peer id in the remote's hello must equal the authenticated identity;
 * - `permissive`: any peer id is taken (automerge-repo's compliance suite uses names like "alice").
 * Under both, every later message must carry the bound peer id as its `senderId`.
 */
export type BindingPolicy = "strict" | "permissive";

/** A bidirectional pipe of payloads to one remote, opened by a transport. */
export interface Channel {
  /** Sends one payload; the transport frames it. */
  send(payload: Uint8Array): void;
  /** Closes the pipe (idempotent). */
  close(): void;
  /** The identity the transport authenticated (libp2p noise peer id, gRPC challenge–response). */
  readonly authenticatedPeer: string | undefined;
  /** Who dialled: this node ("outbound") or the remote ("inbound"). */
  readonly direction: "inbound" | "outbound";
  /** For logs and `concordat peers`: transport and remote address. */
  readonly transport: string;
  readonly remoteAddress: string;
}

/** The first payload each side sends on a channel. */
interface Hello {
  type: "hello";
  peerId: PeerId;
  peerMetadata: PeerMetadata;
}

export interface PeerInfo {
  peerId: PeerId;
  transport: string;
  remoteAddress: string;
  direction: "inbound" | "outbound";
  connectedAt: number;
  lastReceivedAt: number;
  bytesIn: number;
  bytesOut: number;
  messagesIn: number;
  messagesOut: number;
}

interface Session extends PeerInfo {
  /**
   * Open channels to this peer, oldest first; messages go out on the first. When both sides dial,
   * a peer has two, and both stay: closing one to resolve the duplicate races with the remote
   * doing the same, while two live channels cost nothing but a socket.
   */
  channels: Channel[];
}

/** Handlers a transport calls for a channel it attached. */
export interface ChannelHandlers {
  onPayload(payload: Uint8Array): void;
  /** The channel closed (remote closed, error, or local close). */
  onClose(): void;
  /** Settles once the remote's hello was accepted (true) or the channel closed first (false). */
  bound: Promise<boolean>;
}

export interface ChannelAdapterInit {
  policy: BindingPolicy;
  /** Redial delays: starts at `initialMs`, doubles up to `maxMs` (with jitter). */
  backoff?: { initialMs: number; maxMs: number } | undefined;
  /** The adapter reports ready when first dials settle, or after this long at most. */
  readyTimeoutMs?: number | undefined;
  /** Counts every sync message in and out, per peer (Prometheus, when the node serves metrics). */
  metrics?: NodeMetrics | undefined;
}

/** A peer this node keeps a channel open to, by the peer id its transport authenticates. */
export interface DialTarget {
  peerId: string;
}

function isMessage(value: unknown): value is Message {
  if (typeof value !== "object" || value === null) return false;
  const m = value as Record<string, unknown>;
  return (
    typeof m.type === "string" &&
    typeof m.senderId === "string" &&
    typeof m.targetId === "string" &&
    (m.data === undefined || m.data instanceof Uint8Array) &&
    (m.documentId === undefined || typeof m.documentId === "string")
  );
}

function isHello(value: unknown): value is Hello {
  if (typeof value !== "object" || value === null) return false;
  const h = value as Record<string, unknown>;
  return h.type === "hello" && isRepoPeerId(h.peerId) && typeof h.peerMetadata === "object" && h.peerMetadata !== null;
}

/**
 * An automerge-repo NetworkAdapter over channels that a transport opens (libp2p streams, gRPC
 * bidirectional calls). It runs the same protocol on each: a hello binding the remote's repo peer id
 * to the transport's authenticated identity, then CBOR-encoded repo messages. A channel that sends
 * anything else — garbage, a message from another sender id, a second hello — is closed, with a log
 * line naming why; the node goes on serving.
 */
export abstract class ChannelNetworkAdapter<Target extends DialTarget = DialTarget> extends NetworkAdapter {
  protected readonly log: Logger;
  readonly #policy: BindingPolicy;
  readonly #metrics: NodeMetrics;
  readonly #backoff: { initialMs: number; maxMs: number };
  readonly #readyTimeoutMs: number;
  /** Open channels per remote (authenticated) peer id: two when both sides dialled. */
  readonly #open = new Map<string, Set<Channel>>();
  readonly #timers = new Set<NodeJS.Timeout>();
  /** Peers with a dial loop running (waiting for its delay or dialling): one loop per peer. */
  readonly #dialing = new Set<string>();
  readonly #sessions = new Map<PeerId, Session>();
  #ready = false;
  #readyWaiters: Array<() => void> = [];
  #closed = false;
  /** Every channel attached and not yet closed, bound or not: disconnect closes them all. */
  readonly #attached = new Set<Channel>();
  /** Holds back our redundant replies while a peer answers our request (each document crosses once). */
  readonly #crossed = new CrossedRequests((message) => this.#transmit(message));

  constructor(init: ChannelAdapterInit, logger: Logger) {
    super();
    this.#policy = init.policy;
    this.#metrics = init.metrics ?? NO_METRICS;
    this.#backoff = init.backoff ?? { initialMs: 250, maxMs: 10_000 };
    this.#readyTimeoutMs = init.readyTimeoutMs ?? 5000;
    this.log = logger;
  }

  isReady(): boolean {
    return this.#ready;
  }

  whenReady(): Promise<void> {
    if (this.#ready) return Promise.resolve();
    return new Promise((resolve) => this.#readyWaiters.push(resolve));
  }

  protected get closed(): boolean {
    return this.#closed;
  }

  connect(peerId: PeerId, peerMetadata?: PeerMetadata): void {
    this.peerId = peerId;
    this.peerMetadata = peerMetadata ?? {};
    this.#closed = false;
    this.start().then(
      () => {
        this.#ready = true;
        for (const resolve of this.#readyWaiters.splice(0)) resolve();
      },
      (error: unknown) => this.log.error({ err: error }, "network adapter failed to start"),
    );
  }

  /** Starts listening (for transports that accept channels here). */
  protected abstract listen(): Promise<void>;
  /** Stops the transport and closes every channel. */
  protected abstract shutdown(): Promise<void>;
  /** The peers to keep a channel open to. */
  protected abstract dialTargets(): readonly Target[];
  /** Opens one channel to `target`; resolves with whether the remote's hello was accepted. */
  protected abstract dialOnce(target: Target): Promise<boolean>;

  /**
   * Listens, then dials every target once. Ready once each first attempt has settled (bound,
   * refused or failed), so that a Repo's first requests already see the peers that are up.
   */
  protected async start(): Promise<void> {
    await this.listen();
    const first = this.dialTargets().map((target) => new Promise<void>((resolve) => this.#dial(target, 0, resolve)));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(first),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, this.#readyTimeoutMs))),
    ]);
    clearTimeout(timer);
  }

  protected async stop(): Promise<void> {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.#dialing.clear();
    this.#open.clear();
    await this.shutdown();
  }

  /**
   * Dials `target` after the backoff delay of `attempt`, unless a channel to it is open or it is no
   * longer a target; `settled` runs when this attempt has bound a channel or failed. Failures redial
   * with a longer delay, at the target's current addresses. One loop per peer at a time.
   */
  #dial(target: Target, attempt: number, settled: () => void = () => undefined): void {
    const { initialMs, maxMs } = this.#backoff;
    const delay = attempt === 0 ? 0 : Math.min(maxMs, initialMs * 2 ** (attempt - 1)) * (0.75 + Math.random() / 2);
    this.#dialing.add(target.peerId);
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      const current = this.dialTargets().find((t) => t.peerId === target.peerId);
      if (this.#closed || this.#open.has(target.peerId) || !current) {
        this.#dialing.delete(target.peerId);
        settled();
        return;
      }
      const retry = () => {
        if (!this.#closed && !this.#open.has(target.peerId)) this.#dial(current, attempt + 1);
        else this.#dialing.delete(target.peerId);
      };
      this.dialOnce(current).then(
        (bound) => {
          settled();
          if (bound) this.#dialing.delete(target.peerId);
          else retry();
        },
        (error: unknown) => {
          settled();
          if (!this.#closed)
            this.log.debug({ peer: target.peerId, attempt, err: (error as Error).message }, "dial failed; will retry");
          retry();
        },
      );
    }, delay);
    this.#timers.add(timer);
  }

  /** The targets changed (a newer charter): dials new ones; dropped ones are not redialled. */
  refreshTargets(): void {
    if (this.#closed) return;
    for (const target of this.dialTargets()) {
      if (!this.#open.has(target.peerId) && !this.#dialing.has(target.peerId)) this.#dial(target, 0);
    }
  }

  /** Closes every channel to `peerId` (a member removed or re-keyed); returns how many. */
  hangUp(peerId: string): number {
    const channels = [...this.#attached].filter((c) => c.authenticatedPeer === peerId);
    for (const channel of channels) channel.close();
    return channels.length;
  }

  /**
   * Runs the protocol on a channel a transport opened (see `attach`) and tracks it as open to its
   * authenticated peer; when the last channel to a dial target closes, it is redialled.
   */
  protected open(channel: Channel): ChannelHandlers {
    const peer = channel.authenticatedPeer ?? "";
    const channels = this.#open.get(peer) ?? new Set<Channel>();
    channels.add(channel);
    this.#open.set(peer, channels);
    const handlers = this.attach(channel);
    let closed = false;
    return {
      onPayload: (payload) => handlers.onPayload(payload),
      bound: handlers.bound,
      onClose: () => {
        if (closed) return;
        closed = true;
        channels.delete(channel);
        if (channels.size === 0 && this.#open.get(peer) === channels) this.#open.delete(peer);
        handlers.onClose();
        const target = this.dialTargets().find((t) => t.peerId === peer);
        if (target && !this.#closed && channels.size === 0 && !this.#dialing.has(peer)) this.#dial(target, 1);
      },
    };
  }

  disconnect(): void {
    this.#closed = true;
    this.#crossed.clear();
    for (const peerId of [...this.#sessions.keys()]) {
      this.#sessions.delete(peerId);
      this.emit("peer-disconnected", { peerId });
    }
    // Unbound channels too: a hello arriving late on one must not bind a peer after disconnect.
    for (const channel of [...this.#attached]) channel.close();
    this.#attached.clear();
    this.stop().then(
      () => this.emit("close"),
      (error: unknown) => this.log.error({ err: error }, "network adapter failed to stop"),
    );
  }

  send(message: Message): void {
    if (!this.#crossed.outbound(message)) {
      this.log.debug(
        { target: message.targetId, documentId: message.documentId },
        "reply held back: the peer is answering our request for the document",
      );
      return;
    }
    this.#transmit(message);
  }

  #transmit(message: Message): void {
    const session = this.#sessions.get(message.targetId);
    if (!session) {
      this.log.debug({ target: message.targetId, type: message.type }, "no channel to peer; message dropped");
      return;
    }
    const payload = new Uint8Array(cbor.encode(message));
    session.bytesOut += payload.byteLength;
    session.messagesOut += 1;
    this.#metrics.syncMessage(message.targetId, session.transport, "out", payload.byteLength);
    if (this.log.isLevelEnabled("trace"))
      this.log.trace(
        { target: message.targetId, type: message.type, documentId: message.documentId, bytes: payload.byteLength },
        "sync message out",
      );
    (session.channels[0] as Channel).send(payload);
  }

  /** Peers with an open channel, for `concordat peers`. */
  peers(): PeerInfo[] {
    return [...this.#sessions.values()].map(({ channels: _c, ...info }) => info);
  }

  /**
   * Runs the protocol on a channel: sends our hello and returns the handlers for what arrives.
   */
  private attach(channel: Channel): ChannelHandlers {
    const log = this.log.child({
      transport: channel.transport,
      remote: channel.remoteAddress,
      authenticated: channel.authenticatedPeer,
    });
    let bound: PeerId | undefined;
    let session: Session | undefined;
    let dropped = false;
    let settle: (value: boolean) => void = () => undefined;
    const boundPromise = new Promise<boolean>((resolve) => {
      settle = resolve;
    });

    const drop = (reason: string, detail?: Record<string, unknown>) => {
      if (dropped) return;
      dropped = true;
      settle(false);
      log.warn({ reason, ...detail }, "dropping sync channel");
      channel.close();
    };

    if (!this.peerId || this.#closed) {
      // A handshake that finished after disconnect (or before connect) opens nothing.
      drop("adapter is not connected");
      return { onPayload: () => undefined, onClose: () => undefined, bound: boundPromise };
    }
    this.#attached.add(channel);
    const hello: Hello = { type: "hello", peerId: this.peerId, peerMetadata: this.peerMetadata ?? {} };
    channel.send(new Uint8Array(cbor.encode(hello)));

    return {
      onPayload: (payload) => {
        // A channel closed by disconnect may still deliver what was in flight: ignore it.
        if (dropped || !this.#attached.has(channel)) return;
        let decoded: unknown;
        try {
          decoded = cbor.decode(payload);
        } catch {
          drop("undecodable frame (not CBOR)", { bytes: payload.byteLength });
          return;
        }
        if (bound === undefined) {
          if (!isHello(decoded)) {
            drop("first frame is not a hello");
            return;
          }
          if (this.#policy === "strict" && decoded.peerId !== channel.authenticatedPeer) {
            drop("hello names another peer id than the transport authenticated", { claimed: decoded.peerId });
            return;
          }
          bound = decoded.peerId;
          session = this.#bind(bound, channel, decoded.peerMetadata, log);
          settle(true);
          return;
        }
        if (!isMessage(decoded)) {
          drop("frame is not a repo message");
          return;
        }
        if (decoded.senderId !== bound) {
          drop("message senderId does not match the channel's peer", { senderId: decoded.senderId, bound });
          return;
        }
        if (session) {
          session.bytesIn += payload.byteLength;
          session.messagesIn += 1;
          session.lastReceivedAt = Date.now();
          this.#metrics.syncMessage(bound, session.transport, "in", payload.byteLength);
        }
        this.#crossed.inbound(decoded);
        if (log.isLevelEnabled("trace"))
          log.trace(
            { type: decoded.type, documentId: decoded.documentId, bytes: payload.byteLength },
            "sync message in",
          );
        this.emit("message", decoded);
      },
      bound: boundPromise,
      onClose: () => {
        dropped = true;
        settle(false);
        this.#attached.delete(channel);
        if (bound === undefined) return;
        const current = this.#sessions.get(bound);
        if (!current?.channels.includes(channel)) return;
        current.channels = current.channels.filter((c) => c !== channel);
        if (current.channels.length > 0) {
          log.debug({ peer: bound, open: current.channels.length }, "a channel to the peer closed; another stays open");
          // Still connected through another channel; what went on this one may be lost.
          for (const held of this.#crossed.release(bound)) this.#transmit(held);
          return;
        }
        this.#crossed.forget(bound);
        this.#sessions.delete(bound);
        log.info({ peer: bound }, "peer disconnected");
        this.emit("peer-disconnected", { peerId: bound });
      },
    };
  }

  #bind(peerId: PeerId, channel: Channel, peerMetadata: PeerMetadata, log: Logger): Session {
    const existing = this.#sessions.get(peerId);
    if (existing) {
      existing.channels.push(channel);
      log.debug({ peer: peerId, channels: existing.channels.length }, "another channel to a connected peer");
      return existing;
    }
    const now = Date.now();
    const session: Session = {
      peerId,
      channels: [channel],
      transport: channel.transport,
      remoteAddress: channel.remoteAddress,
      direction: channel.direction,
      connectedAt: now,
      lastReceivedAt: now,
      bytesIn: 0,
      bytesOut: 0,
      messagesIn: 0,
      messagesOut: 0,
    };
    this.#sessions.set(peerId, session);
    log.info({ peer: peerId }, "peer connected");
    this.emit("peer-candidate", { peerId, peerMetadata });
    return session;
  }
}
