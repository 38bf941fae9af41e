import { withConnection, type ConnectionOptions } from "../connection.js";
import { printJson, printLine, printTable, type Io } from "../io.js";

const ago = (iso: string): string => {
  if (iso === "") return "never";
  const seconds = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  return seconds < 120 ? `${seconds}s ago` : `${Math.round(seconds / 60)}m ago`;
};

const bytes = (n: number): string =>
  n < 1024 ? `${n} B` : n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1024 / 1024).toFixed(1)} MiB`;

/** `concordat peers`: connected peers (transport, address, round-trip time) and, with --documents, sync state. */
export async function peersCommand(options: ConnectionOptions & { documents?: boolean }, io: Io): Promise<void> {
  const result = await withConnection(options, (c) =>
    c.node.listPeers({ includeDocuments: options.documents ?? false }),
  );
  if (io.json) {
    printJson(io, result);
    return;
  }
  if (result.peers.length === 0) {
    printLine(
      io,
      "No peers connected. Check `concordat federation list` (the charter), network.peers in the config, and that the other hubs are running.",
    );
  } else {
    printTable(
      io,
      ["hub", "peer id", "transport", "address", "dir", "rtt", "in", "out", "last heard"],
      result.peers.map((p) => [
        p.hub || "?",
        `${p.peerId.slice(0, 16)}…`,
        p.transport,
        p.address,
        p.direction,
        p.rttMs >= 0 ? `${p.rttMs.toFixed(0)} ms` : "-",
        bytes(p.bytesIn),
        bytes(p.bytesOut),
        ago(p.lastReceivedAt),
      ]),
    );
  }
  if (options.documents) {
    printTable(
      io,
      ["document", "type", "owner", "peer", "in sync", "last synced"],
      result.documents.map((d) => [
        d.documentId,
        d.type || "?",
        d.owner || "?",
        d.hub || d.peerId.slice(0, 16),
        d.inSync ? "yes" : "no",
        ago(d.lastSyncedAt),
      ]),
    );
  }
}
