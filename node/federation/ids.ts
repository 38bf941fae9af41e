import { createHash } from "node:crypto";
import {
  parseAutomergeUrl,
  stringifyAutomergeUrl,
  type BinaryDocumentId,
  type DocumentId,
} from "@automerge/automerge-repo";

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

/**
 * Ids derived so far: a SHA-256 and a base58 encoding each, asked for once per trainer when an
 * index re-derives (a profile of an initial sync found 12% of its stalls here). Bounded: members
 * times document keys, and it is cleared if it ever grows past that by far.
 */
const derived = new Map<string, DocumentId>();

/** The id of the document with `key` owned by the hub whose directory is `directoryId`. */
export function ownedDocumentId(directoryId: string, key: string): DocumentId {
  const input = `concordat/document/1\n${directoryId}\n${key}`;
  let id = derived.get(input);
  if (id === undefined) {
    id = idFromDigest(input);
    if (derived.size >= 100_000) derived.clear();
    derived.set(input, id);
  }
  return id;
}

export const CHARTER_KEY = "charter";

/** The charter's id: owned by the secretariat, whose peer id is the trust anchor. */
export function charterIdOf(anchorPeerId: string): DocumentId {
  return ownedDocumentId(directoryIdOf(anchorPeerId), CHARTER_KEY);
}
