import type { DocumentId, Repo } from "@automerge/automerge-repo";
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
 * via the peer's storage id) equal to ours, and when did they last change?
 */
export function documentSync(
  repo: Repo,
  peers: readonly PeerStatus[],
  shares: (documentId: DocumentId) => boolean,
): DocumentSync[] {
  const rows: DocumentSync[] = [];
  for (const handle of Object.values(repo.handles)) {
    const documentId = handle.documentId;
    if (!shares(documentId) || !handle.isReady()) continue;
    const ours = handle.heads();
    for (const peer of peers) {
      const storageId = repo.getStorageIdOfPeer(peer.peerId);
      const info = storageId ? handle.getSyncInfo(storageId) : undefined;
      rows.push({
        documentId,
        peerId: peer.peerId,
        hub: peer.hub,
        inSync: info !== undefined && same(info.lastHeads, ours),
        lastSyncedAt: info?.lastSyncTimestamp,
        heads: [...ours],
      });
    }
  }
  return rows;
}
