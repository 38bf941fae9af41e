import type { Startable } from "../lifecycle.js";
import * as A from "@automerge/automerge";
import type { DocumentId } from "@automerge/automerge-repo";
import type { Replica } from "../replica/index.js";
import type { Logger } from "pino";
import { DocumentType, type DocumentListing, type OwnedDocumentSpec, type OwnedDocuments } from "../documents/index.js";
import { currentKey, grpcAddresses, libp2pAddresses, type CharterMember } from "./charter.js";
import { charterIdOf, directoryIdOf, type HubId, ownedDocumentId, type PeerId } from "../ids.js";
import type { Membership } from "./membership.js";
import { textOf } from "../documents/index.js";
import type { DocumentOwner } from "../admission/index.js";

export const DIRECTORY_KEY = "directory";

/** Where to reach a peer, from the node's config: bootstrap peers, and local overrides. */
export interface PeerAddress {
  peerId: string;
  /** libp2p multiaddrs (without /p2p/…). */
  libp2p: string[];
  /** host:port of its gRPC API. */
  grpc?: string | undefined;
  /** PEM CA file for its gRPC API's TLS certificate. */
  grpcCa?: string | undefined;
}

/** A new hub's directory: its id derives from the hub's first key (and stays across rotations). */
export function directorySpec(hubId: HubId, peerId: PeerId): OwnedDocumentSpec {
  return {
    key: DIRECTORY_KEY,
    id: directoryIdOf(peerId),
    type: DocumentType.Directory,
    replicated: true,
    initial: { hub: new A.ImmutableString(hubId), documents: {}, checkpoints: {} },
  };
}

interface DirectoryDoc {
  documents?: Record<string, { key?: unknown } | undefined>;
}

/**
 * The hub's directory as the listing of its replicated documents: `documents` maps each one's id to
 * its type and key (so peers learn what this hub shares, and `ownsListedDocument` can check it).
 */
export const directoryListing: DocumentListing = {
  key: DIRECTORY_KEY,
  lists: (doc, documentId) => Object.hasOwn((doc as DirectoryDoc | undefined)?.documents ?? {}, documentId),
  list: (doc, { id, key, type }) => {
    const documents = doc.documents as Record<string, unknown>;
    documents[id] = { type: new A.ImmutableString(type), key: new A.ImmutableString(key) };
  },
};

/**
 * Is `documentId`, listed in a directory under `entry`, really a document of the hub whose directory
 * that is? Its id must derive from the directory id and the key (see ids.ts); so, if it is, it is a
 * well-formed document id.
 */
export function ownsListedDocument(
  directoryId: DocumentId,
  documentId: string,
  entry: unknown,
): documentId is DocumentId {
  if (documentId === directoryId) return true;
  const key = textOf((entry as { key?: unknown } | undefined)?.key);
  return key !== undefined && ownedDocumentId(directoryId, key) === documentId;
}

export interface FederationInit {
  self: { hubId: HubId; peerId: PeerId; directoryId: DocumentId };
  /** Peers from the config: dialled first, allowed to connect before a charter is verified. */
  peers: readonly PeerAddress[];
}

export interface FederationComponents {
  /** The Repo's copies (in the replica worker): directories are read there. */
  replica: Replica;
  documents: OwnedDocuments;
  membership: Membership;
  logger: Logger;
}

/**
 * Who may connect, and what is shared with them: an allow-list built from the verified charter,
 * never "any id a peer names".
 *
 * Connections: the trust anchor and the charter's members (current keys; a rotated-out key for a
 * grace period; a removed member's keys for the removal notice window, so that it learns it was
 * removed). Before this node has verified any charter, the config's bootstrap peers may connect
 * too. A bootstrap peer, a rotated-out key and a removed member get only the charter and the
 * secretariat's directory, and no node dials the last two.
 *
 * Documents: this node's own replicated documents and directory, the charter, the members'
 * directories, and the documents those directories list whose ids derive from the directory (so a
 * member two hops away still gets them through relays, and no member can claim another's). Private
 * documents are never in the Repo, so they cannot be shared at all.
 */
export class Federation implements Startable {
  readonly #self: FederationInit["self"];
  readonly #peers: readonly PeerAddress[];
  readonly #replica: Replica;
  readonly #documents: OwnedDocuments;
  readonly #membership: Membership;
  readonly #log: Logger;
  readonly #charterId: DocumentId | undefined;
  readonly #anchorDirectory: DocumentId | undefined;
  /** Documents listed in members' directories (whose ids derive from them), by the directory that lists them. */
  readonly #listed = new Map<DocumentId, DocumentId>();
  /** The type each listed document's directory entry gives (for people: `peers --documents`). */
  readonly #listedTypes = new Map<string, string>();
  /** Listings refused because the id does not derive from the directory (logged once each). */
  readonly #refused = new Set<string>();
  readonly #watched = new Map<string, () => void>();
  readonly #listeners = new Set<() => void>();
  readonly #listedListeners = new Set<() => void>();
  #unsubscribe: (() => void) | undefined;
  #toldRemoved = false;

  constructor(init: FederationInit, components: FederationComponents) {
    this.#self = init.self;
    this.#peers = init.peers;
    this.#replica = components.replica;
    this.#documents = components.documents;
    this.#membership = components.membership;
    this.#log = components.logger;
    const anchor = components.membership.anchor;
    this.#charterId = anchor ? charterIdOf(anchor) : undefined;
    this.#anchorDirectory = anchor ? directoryIdOf(anchor) : undefined;
  }

  get self(): FederationInit["self"] {
    return this.#self;
  }

  get membership(): Membership {
    return this.#membership;
  }

  get charterId(): DocumentId | undefined {
    return this.#charterId;
  }

  /** May this libp2p peer id connect (either transport)? */
  allowed(peerId: string): boolean {
    if (peerId === this.#self.peerId) return false;
    if (this.#membership.allowed(peerId)) return true;
    return this.#membership.state === undefined && this.#peers.some((p) => p.peerId === peerId);
  }

  /** Is this document one this node shares with members? */
  shares(documentId: DocumentId): boolean {
    return (
      documentId === this.#charterId ||
      documentId === this.#anchorDirectory ||
      this.#documents.isPublished(documentId) ||
      this.#membership.memberByDirectory(documentId) !== undefined ||
      this.#listed.has(documentId)
    );
  }

  /**
   * Whose a document is, for admission at the sync layer: this node's own published documents; the
   * charter and the anchor's directory (the trust anchor's, before any charter is verified); a
   * member's directory; a document a member's directory lists. Undefined for any other id: no
   * member of the federation owns it, so no message about it is read.
   */
  ownerOf(documentId: DocumentId): DocumentOwner | undefined {
    if (this.#documents.isPublished(documentId)) return { kind: "self" };
    let directory: string | undefined;
    if (documentId === this.#charterId) directory = this.#anchorDirectory;
    else if (documentId === this.#anchorDirectory || this.#membership.memberByDirectory(documentId))
      directory = documentId;
    else directory = this.#listed.get(documentId);
    const member = directory ? this.#membership.ownerOfDirectory(directory) : undefined;
    if (!member || member.directoryId === this.#self.directoryId) return undefined;
    const membership = this.#membership;
    return {
      kind: "member",
      hub: member.hub,
      // A key the charter gives the member that may still connect: its current key, or one rotated
      // out within the grace period; none once the member is removed.
      mayAttest: (peerId) =>
        !member.removedAt && member.keys.some((k) => k.peerId === peerId) && membership.allowed(peerId),
    };
  }

  /**
   * automerge-repo's `access` and `announce` both ask this (and the admission gate, for every message
   * this node sends): a document is shared with a peer only if the peer may connect and this node
   * shares the document; a bootstrap peer that is not (yet known as) a member, a key rotated out
   * within its grace period and a member removed within the removal notice window get only the
   * charter and the secretariat's directory.
   */
  mayShare(peer: string, documentId: DocumentId): boolean {
    if (!this.allowed(peer)) return false;
    if (peer === this.#membership.anchor || this.#membership.isCurrentKey(peer)) return this.shares(documentId);
    // A bootstrap peer not (yet) known as a member, a key rotated out within its grace period, a
    // member removed within the notice window: only what it needs to learn the charter.
    return documentId === this.#charterId || documentId === this.#anchorDirectory;
  }

  /**
   * Whom to keep a connection to, and where: the charter's members with addresses (current keys, not
   * removed, not this node), then the config's peers for what the charter does not say (bootstrap
   * before a charter, or a local override such as a CA file or a proxy address).
   */
  dialTargets(): PeerAddress[] {
    const targets = new Map<string, PeerAddress>();
    for (const member of this.#membership.members()) {
      const key = currentKey(member);
      if (!key || key === this.#self.peerId) continue;
      const grpc = grpcAddresses(member)[0];
      targets.set(key, { peerId: key, libp2p: libp2pAddresses(member), ...(grpc ? { grpc } : {}) });
    }
    for (const peer of this.#peers) {
      // A removed member may connect for a while, to learn of its removal; it is not called.
      if (!this.allowed(peer.peerId) || this.#membership.holderOf(peer.peerId)?.removedAt) continue;
      const charter = targets.get(peer.peerId);
      targets.set(peer.peerId, {
        peerId: peer.peerId,
        libp2p: peer.libp2p.length > 0 ? peer.libp2p : (charter?.libp2p ?? []),
        grpc: peer.grpc ?? charter?.grpc,
        grpcCa: peer.grpcCa,
      });
    }
    return [...targets.values()].filter((t) => t.libp2p.length > 0 || t.grpc !== undefined);
  }

  /** Listens for changes of who may connect or be dialled (a newer charter). */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Listens for members' directories listing documents this node did not know were theirs. */
  onDocumentsListed(listener: () => void): () => void {
    this.#listedListeners.add(listener);
    return () => this.#listedListeners.delete(listener);
  }

  #started = false;

  /** Pulls the charter and watches the members' directories, widening the shared set as they list documents. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    if (this.#charterId && !this.#documents.isReplicated(this.#charterId)) this.#replica.request(this.#charterId);
    this.#unsubscribe = this.#membership.onChange(() => this.#charterChanged());
    this.#charterChanged();
  }

  #charterChanged(): void {
    const removedAt = this.#membership.member(this.#self.hubId)?.removedAt;
    if (removedAt && !this.#toldRemoved) {
      // Said once: `concordat status` keeps showing it.
      this.#toldRemoved = true;
      this.#log.warn(
        { hub: this.#self.hubId, removedAt },
        "this hub was removed from the federation: members no longer take what it signs, and refuse its connections once the removal notice window ends",
      );
    }
    for (const member of this.#membership.members()) {
      if (member.directoryId !== this.#self.directoryId) this.#watch(member);
    }
    this.#replica.shareConfigChanged();
    for (const listener of this.#listeners) listener();
  }

  #watch(member: CharterMember): void {
    const id = member.directoryId;
    if (this.#watched.has(id)) return;
    const refresh = async () => {
      const read = await this.#replica.read(id, { path: ["documents"] }).catch(() => undefined);
      const documents = (read?.value ?? {}) as NonNullable<DirectoryDoc["documents"]>;
      let added = 0;
      for (const [docId, entry] of Object.entries(documents)) {
        if (this.#refused.has(`${id}/${docId}`)) continue;
        if (!ownsListedDocument(id, docId, entry)) {
          this.#refused.add(`${id}/${docId}`);
          this.#log.warn(
            { hub: member.hub, document: docId },
            "a directory lists a document that is not its hub's; ignored",
          );
          continue;
        }
        if (this.#listed.has(docId)) continue;
        this.#listed.set(docId, id);
        this.#listedTypes.set(docId, textOf((entry as { type?: unknown } | undefined)?.type) ?? "");
        added += 1;
        // Ask for it too: an announcement that arrived before this node knew the document was
        // refused by its share policy and is not repeated, so pull what the directory lists.
        this.#replica.request(docId);
      }
      if (added > 0) {
        this.#log.debug({ hub: member.hub, added }, "member directory lists new documents");
        this.#replica.shareConfigChanged();
        for (const listener of this.#listedListeners) listener();
      }
    };
    this.#watched.set(
      id,
      this.#replica.watch(id, () => void refresh()),
    );
  }

  stop(): void {
    this.#started = false;
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    for (const unfollow of this.#watched.values()) unfollow();
    this.#watched.clear();
    this.#listeners.clear();
    this.#listedListeners.clear();
  }

  /**
   * A document of another member, for people: its type and its owning hub, as the charter and the
   * members' directories give them (undefined for this node's own documents and for unknown ids).
   */
  describeForeign(documentId: DocumentId): { type: string; owner: string } | undefined {
    const secretariat = () =>
      this.#membership.members().find((m) => m.role === "secretariat")?.hub ??
      this.#membership.ownerOfDirectory(this.#anchorDirectory ?? "")?.hub ??
      "";
    if (documentId === this.#charterId) return { type: DocumentType.Charter, owner: secretariat() };
    const member = this.#membership.memberByDirectory(documentId);
    if (member) return { type: DocumentType.Directory, owner: member.hub };
    if (documentId === this.#anchorDirectory) return { type: DocumentType.Directory, owner: secretariat() };
    const directory = this.#listed.get(documentId);
    if (directory === undefined) return undefined;
    return {
      type: this.#listedTypes.get(documentId) || "?",
      owner: this.#membership.ownerOfDirectory(directory)?.hub ?? "?",
    };
  }

  /** Documents listed by members' directories (for status). */
  listedDocuments(): DocumentId[] {
    return [...this.#listed.keys()];
  }
}
