import { createHash } from "node:crypto";
import {
  type BinaryDocumentId,
  type DocumentId,
  isValidDocumentId,
  type PeerId,
  parseAutomergeUrl,
  stringifyAutomergeUrl,
} from "@automerge/automerge-repo";
import { invalidArgument } from "./errors.js";
import { quote, textProblem, TextKind } from "./text.js";

/**
 * The ids of the node, in one place: their types, the rule each one follows, and the functions
 * that turn untrusted text into one (or throw INVALID_ARGUMENT naming the problem).
 *
 * - `DocumentId`: automerge-repo's (base58check of the document's bytes). Ours derive from their
 *   owner (below); a document id from a peer, a file or a request is checked with `documentId`.
 * - `PeerId`: automerge-repo's name for a peer. A node's is its libp2p peer id (`12D3KooW…`, the
 *   Ed25519 key that signs its checkpoints): `peerId` checks that form. The sync layer also carries
 *   ids adapters chose freely (the compliance suites' `alice`): `isRepoPeerId` admits those.
 * - `HubId`: ours, a hub's short stable name (`nairobi`, `hub-ke-01`) from its config and the charter.
 *
 * A cast (`as DocumentId`) is the one thing this module exists to avoid: brand an id where it
 * enters (config, API request, decoded document, wire frame) or where it is computed.
 */

export type { DocumentId, PeerId };

/** A hub's id: 2-63 characters of a-z, 0-9 and '-', starting with a letter or digit. */
export type HubId = string & { __hubId: true };

/** Hub ids are short, stable, URL- and file-safe names such as `nairobi` or `hub-ke-01`. */
export const HUB_ID_PATTERN = /^[a-z0-9][a-z0-9-]{1,62}$/;
const HUB_ID_RULE = "2-63 characters of a-z, 0-9 and '-', starting with a letter or digit";

/** An Ed25519 libp2p peer id, base58btc (`12D3KooW…`): what every node's key is. */
export const PEER_ID_PATTERN = /^12D3KooW[1-9A-HJ-NP-Za-km-z]{44}$/;

/** The longest document id accepted (ours are 28 characters; the bound only keeps garbage short). */
const DOCUMENT_ID_MAX = 64;
/** The longest automerge-repo peer id a hello frame may name. */
const REPO_PEER_ID_MAX = 256;

function refuse(field: string, description: string): never {
  throw invalidArgument([{ field, description }]);
}

// ---------------------------------------------------------------------------------------------
// checks: a problem in words, or undefined

/** Why `text` is not a document id, or undefined when it is one. */
export function documentIdProblem(text: string): string | undefined {
  if (text === "") return "is empty";
  if (text.length > DOCUMENT_ID_MAX)
    return `is ${text.length} characters long; a document id has at most ${DOCUMENT_ID_MAX}`;
  const characters = textProblem(text, TextKind.Line);
  if (characters) return characters;
  if (text.startsWith("automerge:"))
    return `${quote(text)} is an automerge URL; give the document id after 'automerge:'`;
  if (!isValidDocumentId(text))
    return `${quote(text)} is not a document id (base58check, as automerge-repo makes them)`;
  return undefined;
}

/** Why `text` is not a hub id, or undefined when it is one. */
export function hubIdProblem(text: string): string | undefined {
  if (text === "") return "is empty";
  const characters = textProblem(text, TextKind.Line);
  if (characters) return characters;
  if (!HUB_ID_PATTERN.test(text)) return `${quote(text)} is not a hub id (${HUB_ID_RULE})`;
  return undefined;
}

/** Why `text` is not a node's peer id (an Ed25519 libp2p peer id), or undefined when it is one. */
export function peerIdProblem(text: string): string | undefined {
  if (text === "") return "is empty";
  const characters = textProblem(text, TextKind.Line);
  if (characters) return characters;
  if (!PEER_ID_PATTERN.test(text)) return `${quote(text)} is not an Ed25519 libp2p peer id (12D3KooW…)`;
  return undefined;
}

export function isDocumentId(value: unknown): value is DocumentId {
  return typeof value === "string" && documentIdProblem(value) === undefined;
}

export function isHubId(value: unknown): value is HubId {
  return typeof value === "string" && HUB_ID_PATTERN.test(value);
}

export function isPeerId(value: unknown): value is PeerId {
  return typeof value === "string" && PEER_ID_PATTERN.test(value);
}

/**
 * Is `value` a peer id the sync layer takes from a hello frame? Any non-empty text up to 256
 * characters: a strict adapter then requires it to equal the peer the transport authenticated (a
 * libp2p peer id); a permissive one (tests, compliance suites) takes the name a peer chose.
 */
export function isRepoPeerId(value: unknown): value is PeerId {
  return typeof value === "string" && value.length > 0 && value.length <= REPO_PEER_ID_MAX;
}

// ---------------------------------------------------------------------------------------------
// parsers: untrusted text in, a branded id out, or INVALID_ARGUMENT naming the field and the problem

/** `text` as a document id; throws INVALID_ARGUMENT naming `field` and the problem. */
export function documentId(text: string, field = "document_id"): DocumentId {
  const problem = documentIdProblem(text);
  if (problem !== undefined) refuse(field, problem);
  return text as DocumentId;
}

/** `text` as a hub id; throws INVALID_ARGUMENT naming `field` and the problem. */
export function hubId(text: string, field = "hub"): HubId {
  const problem = hubIdProblem(text);
  if (problem !== undefined) refuse(field, problem);
  return text as HubId;
}

/** `text` as a node's peer id (an Ed25519 libp2p peer id); throws INVALID_ARGUMENT naming `field` and the problem. */
export function peerId(text: string, field = "peer_id"): PeerId {
  const problem = peerIdProblem(text);
  if (problem !== undefined) refuse(field, problem);
  return text as PeerId;
}

/**
 * `text` as a peer id of the sync layer (see `isRepoPeerId`): for a Repo or adapter that does not
 * run as a node (benchmarks, tests); throws INVALID_ARGUMENT naming `field` and the problem.
 */
export function repoPeerId(text: string, field = "peer_id"): PeerId {
  if (!isRepoPeerId(text))
    refuse(
      field,
      text === "" ? "is empty" : `is ${text.length} characters long; a peer id has at most ${REPO_PEER_ID_MAX}`,
    );
  return text;
}

// ---------------------------------------------------------------------------------------------
// ids we compute: document ids that name their owner

/*
 * A hub's directory id derives from its first peer id; every other document it owns has an id
 * derived from that directory id and the document's key (`roster/3`, `charter`). So a reader can
 * tell whose a document is from its id alone: a member cannot claim another member's document by
 * listing it in its own directory, because the id would not derive.
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
