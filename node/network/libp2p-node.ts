import { format } from "node:util";
import { noise } from "@chainsafe/libp2p-noise";
import { yamux } from "@chainsafe/libp2p-yamux";
import { identify } from "@libp2p/identify";
import type { ComponentLogger, Ed25519PrivateKey, Libp2p, Logger as Libp2pLogger, PeerId } from "@libp2p/interface";
import { ping, type Ping } from "@libp2p/ping";
import { tcp } from "@libp2p/tcp";
import { createLibp2p } from "libp2p";
import type { Logger } from "pino";

export type ConcordatLibp2p = Libp2p<{ identify: ReturnType<ReturnType<typeof identify>>; ping: Ping }>;

export interface Libp2pNodeInit {
  privateKey: Ed25519PrivateKey;
  /** Multiaddrs to listen on, e.g. /ip4/127.0.0.1/tcp/7500 (tcp/0 picks a port). */
  listen: string[];
  /** Who may connect, either way; undefined lets anyone in (compliance tests only). */
  allowed?: (peerId: string) => boolean;
}

/**
 * Bridges libp2p's debug-style loggers into pino: its chatter at trace, its errors at debug (a failed
 * dial is routine here; the adapters log what matters).
 */
export function pinoComponentLogger(logger: Logger): ComponentLogger {
  const make = (name: string): Libp2pLogger => {
    const child = logger.child({ libp2p: name });
    const log = ((formatter: unknown, ...args: unknown[]) => {
      if (child.isLevelEnabled("trace")) child.trace(format(formatter, ...args));
    }) as Libp2pLogger;
    log.error = (formatter: unknown, ...args: unknown[]) => {
      if (child.isLevelEnabled("debug")) child.debug(format(formatter, ...args));
    };
    log.trace = (formatter: unknown, ...args: unknown[]) => {
      if (child.isLevelEnabled("trace")) child.trace(format(formatter, ...args));
    };
    log.enabled = child.isLevelEnabled("trace");
    log.newScope = (scope: string) => make(`${name}:${scope}`);
    return log;
  };
  return { forComponent: make };
}

/** A libp2p node: TCP, noise, yamux, identify, ping; connection gating from `allowed`. */
export async function createLibp2pNode(init: Libp2pNodeInit, logger: Logger): Promise<ConcordatLibp2p> {
  const refuse = (peerId: PeerId, direction: string): boolean => {
    if (!init.allowed || init.allowed(peerId.toString())) return false;
    logger.warn({ peer: peerId.toString(), direction }, "refused a peer that is not allowed");
    return true;
  };
  return createLibp2p({
    privateKey: init.privateKey,
    addresses: { listen: init.listen },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify(), ping: ping() },
    connectionGater: {
      denyDialPeer: (peerId) => refuse(peerId, "outbound"),
      denyInboundEncryptedConnection: (peerId) => refuse(peerId, "inbound"),
      denyOutboundEncryptedConnection: (peerId) => refuse(peerId, "outbound"),
      // Loopback and private addresses are fine: federations run on private networks too.
      denyDialMultiaddr: () => false,
    },
    logger: pinoComponentLogger(logger),
  });
}
