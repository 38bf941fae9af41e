import type { NodeMetrics } from "../metrics.js";
import { readFile } from "node:fs/promises";
import type { Repo } from "@automerge/automerge-repo";
import { failedPrecondition } from "../errors.js";
import { peerIdFromString } from "@libp2p/peer-id";
import type { Logger } from "pino";
import type { NodeConfig } from "../config/index.js";
import type { Federation } from "../federation/index.js";
import type { NodeIdentity } from "../identity/index.js";
import type { PeerInfo } from "./channel-adapter.js";
import { GrpcNetworkAdapter } from "./grpc-adapter.js";
import { Libp2pNetworkAdapter } from "./libp2p-adapter.js";
import { createLibp2pNode, type ConcordatLibp2p } from "./libp2p-node.js";
import { AdmittingNetworkAdapter, type AdmissionGate } from "../admission/index.js";

export interface PeerStatus extends PeerInfo {
  /** Hub id of the member with this peer id, if it is one. */
  hub: string;
}

/** The node's transports, built from `network` in the config, attached to its Repo. */
export interface NodeNetwork {
  libp2p: ConcordatLibp2p | undefined;
  libp2pAdapter: Libp2pNetworkAdapter | undefined;
  grpc: GrpcNetworkAdapter | undefined;
  /** Listen addresses with /p2p/<peer id>, as other hubs would dial them. */
  libp2pAddresses(): string[];
  peers(): PeerStatus[];
  /** Round-trip time to a peer over libp2p ping, in ms, or undefined if it cannot be measured. */
  rtt(peerId: string): Promise<number | undefined>;
  stop(): Promise<void>;
}

export async function startNetwork(
  config: NodeConfig,
  identity: NodeIdentity,
  federation: Federation,
  repo: Repo,
  gate: AdmissionGate,
  logger: Logger,
  metrics?: NodeMetrics,
): Promise<NodeNetwork> {
  const allowed = (peerId: string) => federation.allowed(peerId);
  // CA files are read once, at start: a missing one is a config error, named now.
  const cas = new Map<string, Buffer>();
  for (const peer of config.network.peers) {
    if (!peer.grpcCa || cas.has(peer.grpcCa)) continue;
    cas.set(
      peer.grpcCa,
      await readFile(peer.grpcCa).catch(() => {
        throw failedPrecondition(`cannot read network.peers[${peer.peerId}].grpcCa '${peer.grpcCa}'`);
      }),
    );
  }
  let libp2p: ConcordatLibp2p | undefined;
  let libp2pAdapter: Libp2pNetworkAdapter | undefined;
  let grpc: GrpcNetworkAdapter | undefined;

  if (config.network.listen.length > 0) {
    libp2p = await createLibp2pNode(
      { privateKey: identity.privateKey, listen: config.network.listen, allowed },
      logger.child({ transport: "libp2p" }),
    );
    libp2pAdapter = new Libp2pNetworkAdapter(
      {
        policy: "strict",
        metrics,
        dial: () =>
          federation
            .dialTargets()
            .filter((t) => t.libp2p.length > 0)
            .map((t) => ({ peerId: t.peerId, addrs: t.libp2p })),
      },
      { libp2p, logger: logger.child({ transport: "libp2p" }) },
    );
    repo.networkSubsystem.addNetworkAdapter(new AdmittingNetworkAdapter(libp2pAdapter, gate));
  }
  if (config.network.grpc) {
    grpc = new GrpcNetworkAdapter(
      {
        policy: "strict",
        metrics,
        federationId: config.federation.id,
        allowed,
        dial: () =>
          federation
            .dialTargets()
            .filter((t) => t.grpc !== undefined)
            .map((t) => {
              const tlsCa = t.grpcCa ? cas.get(t.grpcCa) : undefined;
              return { peerId: t.peerId, address: t.grpc as string, ...(tlsCa ? { tlsCa } : {}) };
            }),
      },
      { identity, logger: logger.child({ transport: "grpc" }) },
    );
    repo.networkSubsystem.addNetworkAdapter(new AdmittingNetworkAdapter(grpc, gate));
  }

  // A newer charter: dial whom it adds, hang up on whom it no longer allows (removed, re-keyed);
  // and when a rotation grace period or a removal notice window runs out (timed to the next one, and
  // at least once a minute).
  let expiry: NodeJS.Timeout | undefined;
  const reconsider = () => {
    gate.reconsider();
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
  const timer = setInterval(reconsider, 60_000);
  timer.unref();
  scheduleExpiry();
  const stopWatching = () => {
    unsubscribe();
    clearInterval(timer);
    clearTimeout(expiry);
  };

  return {
    libp2p,
    libp2pAdapter,
    grpc,
    libp2pAddresses: () => libp2p?.getMultiaddrs().map((a) => a.toString()) ?? [],
    peers: () =>
      [...(libp2pAdapter?.peers() ?? []), ...(grpc?.peers() ?? [])].map((p) => ({
        ...p,
        hub: federation.membership.hubOf(p.peerId),
      })),
    rtt: async (peerId) => {
      if (!libp2p) return undefined;
      try {
        return await libp2p.services.ping.ping(peerIdFromString(peerId), { signal: AbortSignal.timeout(2000) });
      } catch {
        return undefined;
      }
    },
    stop: async () => {
      stopWatching();
      libp2pAdapter?.disconnect();
      grpc?.disconnect();
      await libp2p?.stop();
    },
  };
}
