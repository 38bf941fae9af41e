import * as A from "@automerge/automerge";

/**
 * One compressed snapshot of the document that `chunks` store (a snapshot, then incremental
 * changes): an owned document's compaction (node/documents/chunk-store.ts). Its work grows with the
 * document, so the node runs it in the replica worker.
 */
export function snapshotOf(chunks: readonly Uint8Array[]): Uint8Array {
  return A.save(A.load(Buffer.concat(chunks)));
}
