import type { Checkpointer, VerifiedViews } from "../authority/index.js";
import type { SignedCheckpoint } from "../authority/index.js";
import type { CoreSource } from "../core/index.js";
import { changeGraph, changesUpTo } from "../documents/index.js";
import type { OwnedDocuments } from "../documents/index.js";
import type { Membership } from "../federation/index.js";
import type { Replica } from "../replica/index.js";
import { makeBundle, type AuditBundle, type BundleDocument } from "./bundle.js";
import { textOf } from "../documents/index.js";

export interface AuditSources {
  hubId: string;
  peerId: string;
  federationId: string;
  documents: OwnedDocuments;
  checkpointer: Checkpointer;
  views: VerifiedViews;
  /** The Repo's copies (in the replica worker), where foreign documents' changes are read. */
  replica: Replica;
  membership: Membership;
  coreSource: CoreSource;
}

interface DirectoryDoc {
  documents?: Record<string, { key?: unknown; type?: unknown } | undefined>;
}

/**
 * Builds an audit bundle of everything this node holds as signed: its own published documents up to
 * their latest checkpoints (the core up to its latest release, with every release), and every
 * foreign document up to the checkpoint its verified view is at (the core's releases that verified
 * here included). Only changes under signed heads go in; private documents never do.
 */
export async function buildAuditBundle(s: AuditSources): Promise<AuditBundle> {
  const documents: Array<Omit<BundleDocument, "changes"> & { changes: Uint8Array[] }> = [];
  const checkpoints: SignedCheckpoint[] = [];

  for (const d of s.documents.describe()) {
    if (!d.replicated || d.header.type === "directory") continue;
    const signed = d.releaseOnly
      ? s.checkpointer.releases(d.id)
      : [s.checkpointer.latest(d.id)].filter((x): x is SignedCheckpoint => x !== undefined);
    const last = signed.at(-1);
    if (!last) continue; // never signed (a core never released): nothing to vouch for
    documents.push({
      id: d.id,
      key: d.key,
      hub: s.hubId,
      type: d.header.type,
      changes: changesUpTo(changeGraph(s.documents.get(d.key)), last.checkpoint.heads),
    });
    checkpoints.push(...signed);
  }

  const released = await s.coreSource.signed();
  for (const view of s.views.views()) {
    const [changes, directory] = await Promise.all([
      s.replica.changesUpTo(view.documentId, view.checkpoint.heads),
      s.replica.read(view.ownerDirectory, { path: ["documents", view.documentId] }),
    ]);
    if (!changes || !directory) continue;
    const entry = directory.value as NonNullable<DirectoryDoc["documents"]>[string];
    documents.push({
      id: view.documentId,
      key: textOf(entry?.key) ?? "",
      hub: view.hub,
      type: textOf(entry?.type) ?? "",
      changes,
    });
    // The core: every release verified here, as signed; any other document: its latest checkpoint.
    const history = released.filter((r) => r.checkpoint.documentId === view.documentId);
    if (history.length > 0) checkpoints.push(...history);
    else checkpoints.push({ checkpoint: view.checkpoint, signature: view.signature });
  }

  return makeBundle({
    createdAt: new Date().toISOString(),
    federationId: s.federationId,
    anchor: s.membership.anchor ?? "",
    exportedBy: { hub: s.hubId, peerId: s.peerId },
    documents,
    checkpoints,
  });
}
