import { createHash } from "node:crypto";
import * as A from "@automerge/automerge";
import {
  parseAutomergeUrl,
  stringifyAutomergeUrl,
  type BinaryDocumentId,
  type DocHandle,
  type DocumentId,
  type Repo,
} from "@automerge/automerge-repo";
import type { Logger } from "pino";
import { DocumentType, type OwnedDocumentSpec, type OwnedDocuments } from "../documents/index.js";

/** A member of the federation this node replicates with (config for now; the charter in issue 4). */
export interface Member {
  hub: string;
  /** libp2p peer id: the key that authenticates it on both transports. */
  peerId: string;
  /** libp2p addresses to dial. */
  libp2p: string[];
  /** gRPC address to dial. */
  grpc?: string | undefined;
  /** PEM CA file for its gRPC API's TLS certificate. */
  grpcCa?: string | undefined;
}

export const DIRECTORY_KEY = "directory";

/**
 * A node's directory document has a well-known id derived from its peer id, so that any member can
 * find any other's directory knowing only its peer id (the charter of issue 4 will list them too).
 */
export function directoryIdOf(peerId: string): DocumentId {
  const digest = createHash("sha256").update(`concordat/directory/1\n${peerId}`).digest();
  const binary = new Uint8Array(digest.subarray(0, 16)) as BinaryDocumentId;
  return parseAutomergeUrl(stringifyAutomergeUrl(binary)).documentId;
}

export function directorySpec(hubId: string, peerId: string): OwnedDocumentSpec {
  return {
    key: DIRECTORY_KEY,
    id: directoryIdOf(peerId),
    type: DocumentType.Directory,
    replicated: true,
    initial: { hub: new A.ImmutableString(hubId), peerId: new A.ImmutableString(peerId), documents: {}, checkpoints: {} },
  };
}

interface DirectoryDoc {
  documents?: Record<string, unknown>;
}

export interface FederationInit {
  self: { hubId: string; peerId: string };
  members: readonly Member[];
}

export interface FederationComponents {
  repo: Repo;
  documents: OwnedDocuments;
  logger: Logger;
}

/**
 * Who may connect, and what is shared with them: an allow-list, never "any id a peer names".
 *
 * A node shares its own replicated documents (listed in its directory), its directory, the
 * directories of the federation's members, and the documents those directories list — so a member
 * two hops away still gets them through relays. Private documents are never in the Repo, so they
 * cannot be shared at all. Peers outside the member list get nothing, and cannot even connect.
 */
export class Federation {
  readonly #self: FederationInit["self"];
  readonly #members: Map<string, Member>;
  readonly #repo: Repo;
  readonly #documents: OwnedDocuments;
  readonly #log: Logger;
  /** Documents listed in members' directories, as seen locally. */
  readonly #listed = new Set<string>();
  readonly #directories: Set<string>;
  readonly #watched = new Map<string, DocHandle<DirectoryDoc>>();

  constructor(init: FederationInit, components: FederationComponents) {
    this.#self = init.self;
    this.#members = new Map(init.members.map((m) => [m.peerId, m]));
    this.#repo = components.repo;
    this.#documents = components.documents;
    this.#log = components.logger;
    this.#directories = new Set([directoryIdOf(init.self.peerId), ...init.members.map((m) => directoryIdOf(m.peerId))]);
  }

  get members(): readonly Member[] {
    return [...this.#members.values()];
  }

  /** May this libp2p peer id connect (either transport)? */
  allowed(peerId: string): boolean {
    return this.#members.has(peerId);
  }

  /** Is this document one this node shares with members? */
  shares(documentId: string): boolean {
    return this.#directories.has(documentId) || this.#documents.isReplicated(documentId) || this.#listed.has(documentId);
  }

  /**
   * automerge-repo's `access` and `announce` both ask this: a document is shared with a peer only if
   * the peer is a member and this node shares the document (announce never says more than access).
   */
  mayShare(peer: string, documentId: string): boolean {
    return this.allowed(peer) && this.shares(documentId);
  }

  /** Watches the members' directories and widens the shared set as they list documents. */
  start(): void {
    for (const member of this.#members.values()) this.#watch(directoryIdOf(member.peerId), member.hub);
  }

  #watch(id: DocumentId, hub: string): void {
    if (this.#watched.has(id)) return;
    const handle = this.#repo.findWithProgress<DirectoryDoc>(id).handle;
    this.#watched.set(id, handle);
    const refresh = () => {
      if (!handle.isReady()) return;
      const documents = handle.doc()?.documents ?? {};
      let added = 0;
      for (const docId of Object.keys(documents)) {
        if (!this.#listed.has(docId)) {
          this.#listed.add(docId);
          added += 1;
          // Ask for it too: an announcement that arrived before this node knew the document was
          // refused by its share policy and is not repeated, so pull what the directory lists.
          this.#repo.findWithProgress(docId as DocumentId);
        }
      }
      if (added > 0) {
        this.#log.debug({ hub, added }, "member directory lists new documents");
        this.#repo.shareConfigChanged();
      }
    };
    handle.on("change", refresh);
    refresh();
    handle.whenReady().then(refresh, () => undefined);
  }

  stop(): void {
    for (const handle of this.#watched.values()) handle.removeAllListeners("change");
    this.#watched.clear();
  }

  /** Documents listed by members' directories (for status). */
  listedDocuments(): string[] {
    return [...this.#listed];
  }

  get self(): FederationInit["self"] {
    return this.#self;
  }
}
