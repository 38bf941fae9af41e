import { createHash } from "node:crypto";
import { parseAutomergeUrl, stringifyAutomergeUrl, type BinaryDocumentId, type DocumentId } from "@automerge/automerge-repo";

/**
 * Document ids that name their owner. A hub's directory id derives from its first peer id; every
 * other document it owns has an id derived from that directory id and the document's key (`roster/3`,
 * `charter`). So a reader can tell whose a document is from its id alone: a member cannot claim
 * another member's document by listing it in its own directory, because the id would not derive.
 */

function idFromDigest(material: string): DocumentId {
  const digest = createHash("sha256").update(material).digest();
  const binary = new Uint8Array(digest.subarray(0, 16)) as BinaryDocumentId;
  return parseAutomergeUrl(stringifyAutomergeUrl(binary)).documentId;
}

/** The directory id of a hub whose first key had this peer id (kept across key rotations). */
export function directoryIdOf(peerId: string): DocumentId {
  return idFromDigest(`concordat/directory/1\n${peerId}`);
}

/** The id of the document with `key` owned by the hub whose directory is `directoryId`. */
export function ownedDocumentId(directoryId: string, key: string): DocumentId {
  return idFromDigest(`concordat/document/1\n${directoryId}\n${key}`);
}

export const CHARTER_KEY = "charter";

/** The charter's id: owned by the secretariat, whose peer id is the trust anchor. */
export function charterIdOf(anchorPeerId: string): DocumentId {
  return ownedDocumentId(directoryIdOf(anchorPeerId), CHARTER_KEY);
}
