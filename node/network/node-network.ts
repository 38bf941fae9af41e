import type { NodeMetrics } from "../metrics.js";
import { readFile } from "node:fs/promises";
import { failedPrecondition } from "../errors.js";
import { peerIdFromString } from "@libp2p/peer-id";
import type { Logger } from "pino";
import type { Replica } from "../replica/index.js";
import type { NodeConfig } from "../config/index.js";
import type { Federation } from "../federation/index.js";
import type { NodeIdentity } from "../identity/index.js";
import type { PeerInfo } from "./channel-adapter.js";
import { GrpcNetworkAdapter } from "./grpc-adapter.js";
import { Libp2pNetworkAdapter } from "./libp2p-adapter.js";
import { createLibp2pNode, type ConcordatLibp2p } from "./libp2p-node.js";
import { AdmittingNetworkAdapter, type AdmissionGate } from "../admission/index.js";
import type { Startable } from "../lifecycle.js";

export interface PeerStatus extends PeerInfo {
  /** Hub id of the member with this peer id, if it is one. */
  hub: string;
}

/** A peer that connected or disconnected over one transport. */
export interface PeerChange {
  event: "connected" | "disconnected";
  peerId: string;
  /** Hub id of the member with this peer id ("" if none). */
  hub: string;
  transport: "libp2p" | "grpc";
}

/**
 * The node's transports, built from `network` in the config, attached to its Repo (in the replica worker) when started. The
 * gRPC adapter exists from construction (the API server serves its Replicate stream); libp2p is
 * created and listens at start.
 */
export class NodeNetwork implements Startable {
  readonly #config: NodeConfig;
  readonly #identity: NodeIdentity;
  readonly #federation: Federation;
  readonly #replica: Replica;
  readonly #gate: AdmissionGate;
  readonly #log: Logger;
  readonly #metrics: NodeMetrics | undefined;
  /** CA files, read once at start: a missing one is a config error, named then. */
  readonly #cas = new Map<string, Buffer>();
  readonly grpc: GrpcNetworkAdapter | undefined;
  #libp2p: ConcordatLibp2p | undefined;
  #libp2pAdapter: Libp2pNetworkAdapter | undefined;
  #started = false;
  #stopWatching: (() => void) | undefined;
  readonly #peerListeners = new Set<(change: PeerChange) => void>();

  constructor(
    config: NodeConfig,
    components: {
      identity: NodeIdentity;
      federation: Federation;
      replica: Replica;
      gate: AdmissionGate;
      logger: Logger;
      metrics?: NodeMetrics | undefined;
    },
  ) {
    this.#config = config;
    this.#identity = components.identity;
    this.#federation = components.federation;
    this.#replica = components.replica;
    this.#gate = components.gate;
    this.#log = components.logger;
    this.#metrics = components.metrics;
    const federation = components.federation;
    this.grpc = config.network.grpc
      ? new GrpcNetworkAdapter(
          {
            policy: "strict",
            metrics: components.metrics,
            federationId: config.federation.id,
            allowed: (peerId) => federation.allowed(peerId),
            dial: () =>
              federation
                .dialTargets()
                .filter((t) => t.grpc !== undefined)
                .map((t) => {
                  const tlsCa = t.grpcCa ? this.#cas.get(t.grpcCa) : undefined;
                  return { peerId: t.peerId, address: t.grpc as string, ...(tlsCa ? { tlsCa } : {}) };
                }),
          },
          { identity: components.identity, logger: components.logger.child({ transport: "grpc" }) },
        )
      : undefined;
    if (this.grpc) this.#reportPeers(this.grpc, "grpc");
  }

  /**
   * Calls `listener` when a peer connects or disconnects over a transport (a peer with channels on
   * both is reported once per transport). Returns the unsubscribe.
   */
  onPeer(listener: (change: PeerChange) => void): () => void {
    this.#peerListeners.add(listener);
    return () => this.#peerListeners.delete(listener);
  }

  #reportPeers(adapter: Libp2pNetworkAdapter | GrpcNetworkAdapter, transport: PeerChange["transport"]): void {
    const report = (event: PeerChange["event"], peerId: string) => {
      const change = { event, peerId, hub: this.#federation.membership.hubOf(peerId), transport };
      for (const listener of this.#peerListeners) {
        try {
          listener(change);
        } catch (error) {
          this.#log.error({ err: error }, "peer listener failed");
        }
      }
    };
    adapter.on("peer-candidate", ({ peerId }) => report("connected", peerId));
    adapter.on("peer-disconnected", ({ peerId }) => report("disconnected", peerId));
  }

  get libp2p(): ConcordatLibp2p | undefined {
    return this.#libp2p;
  }

  get libp2pAdapter(): Libp2pNetworkAdapter | undefined {
    return this.#libp2pAdapter;
  }

  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    const config = this.#config;
    const federation = this.#federation;
    const logger = this.#log;
    for (const peer of config.network.peers) {
      if (!peer.grpcCa || this.#cas.has(peer.grpcCa)) continue;
      this.#cas.set(
        peer.grpcCa,
        await readFile(peer.grpcCa).catch(() => {
          throw failedPrecondition(`cannot read network.peers[${peer.peerId}].grpcCa '${peer.grpcCa}'`);
        }),
      );
    }
    if (config.network.listen.length > 0) {
      const libp2p = await createLibp2pNode(
        { privateKey: this.#identity.privateKey, listen: config.network.listen, allowed: (p) => federation.allowed(p) },
        logger.child({ transport: "libp2p" }),
      );
      this.#libp2p = libp2p;
      this.#libp2pAdapter = new Libp2pNetworkAdapter(
        {
          policy: "strict",
          metrics: this.#metrics,
          dial: () =>
            federation
              .dialTargets()
              .filter((t) => t.libp2p.length > 0)
              .map((t) => ({ peerId: t.peerId, addrs: t.libp2p })),
        },
        { libp2p, logger: logger.child({ transport: "libp2p" }) },
      );
      this.#reportPeers(this.#libp2pAdapter, "libp2p");
      this.#replica.addNetworkAdapter(new AdmittingNetworkAdapter(this.#libp2pAdapter, this.#gate));
    }
    if (this.grpc) this.#replica.addNetworkAdapter(new AdmittingNetworkAdapter(this.grpc, this.#gate));

    // A newer charter: dial whom it adds, hang up on whom it no longer allows (removed, re-keyed);
    // and when a rotation grace period or a removal notice window runs out (timed to the next one, and
    // at least once a minute).
    const libp2p = this.#libp2p;
    const libp2pAdapter = this.#libp2pAdapter;
    const grpc = this.grpc;
    let expiry: NodeJS.Timeout | undefined;
    const reconsider = () => {
      this.#gate.reconsider();
      libp2pAdapter?.refreshTargets();
      grpc?.refreshTargets();
      const connected = new Set(
        [...(libp2pAdapter?.peers() ?? []), ...(grpc?.peers() ?? [])].map((p) => p.peerId as string),
      );
      for (const connection of libp2p?.getConnections() ?? []) connected.add(connection.remotePeer.toString());
      for (const peerId of connected) {
        if (federation.allowed(peerId)) continue;
        const channels = (libp2pAdapter?.hangUp(peerId) ?? 0) + (grpc?.hangUp(peerId) ?? 0);
        void libp2p?.hangUp(peerIdFromString(peerId)).catch(() => undefined);
        logger.warn(
          { peer: peerId, hub: federation.membership.hubOf(peerId), channels },
          "disconnected a peer the charter no longer allows",
        );
      }
      scheduleExpiry();
    };
    const scheduleExpiry = () => {
      clearTimeout(expiry);
      const next = federation.membership.nextExpiry();
      // A few ms late, so that the key is no longer allowed when it runs.
      expiry =
        next === undefined || next - Date.now() >= 60_000
          ? undefined
          : setTimeout(reconsider, Math.max(0, next - Date.now()) + 50);
      expiry?.unref();
    };
    const unsubscribe = federation.onChange(reconsider);
    // Messages for documents this node had not yet read as listed (after a restart) wait for this.
    const unlisten = federation.onDocumentsListed(() => this.#gate.documentsListed());
    const timer = setInterval(reconsider, 60_000);
    timer.unref();
    scheduleExpiry();
    this.#stopWatching = () => {
      unsubscribe();
      unlisten();
      clearInterval(timer);
      clearTimeout(expiry);
    };
  }

  /** Listen addresses with /p2p/<peer id>, as other hubs would dial them. */
  libp2pAddresses(): string[] {
    return this.#libp2p?.getMultiaddrs().map((a) => a.toString()) ?? [];
  }

  peers(): PeerStatus[] {
    return [...(this.#libp2pAdapter?.peers() ?? []), ...(this.grpc?.peers() ?? [])].map((p) => ({
      ...p,
      hub: this.#federation.membership.hubOf(p.peerId),
    }));
  }

  /** Round-trip time to a peer over libp2p ping, in ms, or undefined if it cannot be measured. */
  async rtt(peerId: string): Promise<number | undefined> {
    if (!this.#libp2p) return undefined;
    try {
      return await this.#libp2p.services.ping.ping(peerIdFromString(peerId), { signal: AbortSignal.timeout(2000) });
    } catch {
      return undefined;
    }
  }

  async stop(): Promise<void> {
    if (!this.#started) return;
    this.#started = false;
    this.#stopWatching?.();
    this.#stopWatching = undefined;
    this.#libp2pAdapter?.disconnect();
    this.grpc?.disconnect();
    await this.#libp2p?.stop();
  }
}
