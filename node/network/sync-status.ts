import type { DocumentId } from "@automerge/automerge-repo";
import type { Replica } from "../replica/index.js";
import type { PeerStatus } from "./node-network.js";

export interface DocumentSync {
  documentId: DocumentId;
  peerId: string;
  hub: string;
  inSync: boolean;
  /** Milliseconds since the epoch when the peer's heads last changed in a sync; undefined if never. */
  lastSyncedAt: number | undefined;
  /** This node's heads of the document. */
  heads: string[];
}

const same = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && [...a].sort().every((h, i) => h === [...b].sort()[i]);

/**
 * Per shared document and connected peer: are the peer's last known heads (from the sync protocol,
 * via the peer's storage id) equal to ours, and when did they last change? In document id order (the
 * worker's own order changes as it unloads and loads documents).
 */
export async function documentSync(
  replica: Replica,
  peers: readonly PeerStatus[],
  shares: (documentId: DocumentId) => boolean,
): Promise<DocumentSync[]> {
  const rows: DocumentSync[] = [];
  for (const row of await replica.syncRows([...new Set(peers.map((p) => p.peerId))])) {
    const documentId = row.documentId as DocumentId;
    if (!shares(documentId)) continue;
    const byPeer = new Map(row.peers.map((p) => [p.peerId, p]));
    for (const peer of peers) {
      const info = byPeer.get(peer.peerId);
      rows.push({
        documentId,
        peerId: peer.peerId,
        hub: peer.hub,
        inSync: info?.lastHeads !== undefined && same(info.lastHeads, row.heads),
        lastSyncedAt: info?.lastSyncTimestamp,
        heads: [...row.heads],
      });
    }
  }
  return rows.sort((a, b) => (a.documentId < b.documentId ? -1 : a.documentId > b.documentId ? 1 : 0));
}
