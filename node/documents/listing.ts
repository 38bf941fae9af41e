import type { DocumentId } from "@automerge/automerge-repo";
import type { DocumentType } from "./header.js";
import type { AuthoringCopy } from "./registry.js";
import type { DocumentEdit } from "./transactions.js";

/** A replicated document as a listing names it. */
export interface ListedDocument {
  id: DocumentId;
  key: string;
  type: DocumentType;
}

/**
 * Where this node tells its peers which documents it shares: one owned document (the hub's directory,
 * supplied by the federation) that lists every replicated document, written in the same transaction
 * that creates the document. Owned documents know only this much of it.
 */
export interface DocumentListing {
  /** Key of the owned document that holds the listing (never listed in itself). */
  readonly key: string;
  /** Does the listing document `doc` list `documentId`? */
  lists(doc: unknown, documentId: DocumentId): boolean;
  /** Lists `document` in the listing document `doc`, inside an Automerge change. */
  list(doc: Record<string, unknown>, document: ListedDocument): void;
}

/** Replicated documents among `candidates` that the listing document `listingDoc` does not list yet. */
export function unlisted(
  listing: DocumentListing,
  listingDoc: unknown,
  candidates: readonly AuthoringCopy[],
): AuthoringCopy[] {
  return candidates.filter(
    (c) => c.entry.replicated && c.entry.key !== listing.key && !listing.lists(listingDoc, c.entry.id),
  );
}

/** Edits that list the replicated documents of `created` (the listing document excepted). */
export function listingEdits(listing: DocumentListing | undefined, created: readonly AuthoringCopy[]): DocumentEdit[] {
  if (!listing) return [];
  return created
    .filter((c) => c.entry.replicated && c.entry.key !== listing.key)
    .map(({ entry }) => ({
      key: listing.key,
      change: (doc: Record<string, unknown>) => listing.list(doc, { id: entry.id, key: entry.key, type: entry.type }),
    }));
}
