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
  logger: Logger,
): Promise<NodeNetwork> {
  const allowed = (peerId: string) => federation.allowed(peerId);
  const members = federation.members;
  let libp2p: ConcordatLibp2p | undefined;
  let libp2pAdapter: Libp2pNetworkAdapter | undefined;
  let grpc: GrpcNetworkAdapter | undefined;

  if (config.network.listen.length > 0) {
    libp2p = await createLibp2pNode({ privateKey: identity.privateKey, listen: config.network.listen, allowed }, logger.child({ transport: "libp2p" }));
    libp2pAdapter = new Libp2pNetworkAdapter(
      { policy: "strict", dial: members.filter((m) => m.libp2p.length > 0).map((m) => ({ peerId: m.peerId, addrs: m.libp2p })) },
      { libp2p, logger: logger.child({ transport: "libp2p" }) },
    );
    repo.networkSubsystem.addNetworkAdapter(libp2pAdapter);
  }
  if (config.network.grpc) {
    grpc = new GrpcNetworkAdapter(
      {
        policy: "strict",
        federationId: config.federation.id,
        allowed,
        dial: await Promise.all(
          members
            .filter((m) => m.grpc !== undefined)
            .map(async (m) => ({
              peerId: m.peerId,
              address: m.grpc as string,
              ...(m.grpcCa
                ? {
                    tlsCa: await readFile(m.grpcCa).catch(() => {
                      throw failedPrecondition(`cannot read network.members[${m.hub}].grpcCa '${m.grpcCa}'`);
                    }),
                  }
                : {}),
            })),
        ),
      },
      { identity, logger: logger.child({ transport: "grpc" }) },
    );
    repo.networkSubsystem.addNetworkAdapter(grpc);
  }

  const hubOf = new Map(members.map((m) => [m.peerId, m.hub]));
  return {
    libp2p,
    libp2pAdapter,
    grpc,
    libp2pAddresses: () => libp2p?.getMultiaddrs().map((a) => a.toString()) ?? [],
    peers: () =>
      [...(libp2pAdapter?.peers() ?? []), ...(grpc?.peers() ?? [])].map((p) => ({ ...p, hub: hubOf.get(p.peerId) ?? "" })),
    rtt: async (peerId) => {
      if (!libp2p) return undefined;
      try {
        return await libp2p.services.ping.ping(peerIdFromString(peerId), { signal: AbortSignal.timeout(2000) });
      } catch {
        return undefined;
      }
    },
    stop: async () => {
      libp2pAdapter?.disconnect();
      grpc?.disconnect();
      await libp2p?.stop();
    },
  };
}
