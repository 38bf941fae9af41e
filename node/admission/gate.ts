import type { Startable } from "../lifecycle.js";
import type { DocumentId, Message } from "@automerge/automerge-repo";
import type { Logger } from "pino";
import { NO_METRICS, type NodeMetrics } from "../metrics.js";
import { encodeAttestation, readAttestations, verifySync, type Attestation } from "./attestation.js";
import {
  CHECK_DOCUMENTS,
  ChunkType,
  encodeSyncMessage,
  parseSyncMessage,
  splitChunks,
  WireError,
  type Chunk,
  type SyncMessageParts,
} from "./wire.js";

/** Whose a document is, as far as admission is concerned. */
export type DocumentOwner =
  | { kind: "self" }
  | {
      kind: "member";
      /** Hub id, for logs. */
      hub: string;
      /** May this key sign for the owner now (a key the charter gives it, not rotated out, the owner not removed)? */
      mayAttest(peerId: string): boolean;
    };

export interface AdmissionInit {
  federationId: string;
  /** At most this many bytes of changes waiting for their owner's signature, per peer. */
  pendingBytesPerPeer?: number;
  /** Waiting changes are dropped after this long. */
  pendingTtlMs?: number;
  /**
   * A compressed change may inflate to at most this many bytes; 0 (the default) refuses compressed
   * changes unread: Automerge's sync never sends one, and inflating is where a bomb would cost.
   */
  maxInflatedBytes?: number;
  /**
   * A message for a document no member's directory lists yet (this node may not have read them all,
   * as after a restart) waits this long for one to list it, and is then refused.
   */
  unknownHoldMs?: number;
  /** At most this many bytes of such messages wait, per peer. */
  unknownBytesPerPeer?: number;
}

/** Where a node keeps the attestations it verified, so that after a restart it can still relay. */
export interface AttestationStore {
  load(): Promise<Array<{ documentId: string; attestations: Attestation[] }>>;
  save(entries: Array<{ documentId: string; attestations: Attestation[] }>): Promise<void>;
}

export interface AdmissionComponents {
  /** Whose a document id is; undefined for any id no member of the charter owns (the message is dropped). */
  ownerOf(documentId: DocumentId): DocumentOwner | undefined;
  /**
   * May `peerId` be sent what this node has of `documentId` now (the share policy)? Asked of every
   * sync message this node sends: a message for a document the peer may no longer see is dropped
   * (when absent, all are sent).
   */
  mayReceive?(peerId: string, documentId: DocumentId): boolean;
  /** For this node's own document whose Repo copy is at `heads`: the heads to sign (its own history only). */
  attestableHeads(documentId: string, heads: string[]): string[] | undefined;
  /** This node's peer id and a synchronous Ed25519 signer with its key. */
  self: { peerId: string; sign(data: Uint8Array): Uint8Array };
  /** Keeps verified attestations across restarts (none kept when absent). */
  store?: AttestationStore;
  /** This node's heads of a document (empty when it holds none), as the Repo last reported them. */
  heads(documentId: DocumentId): string[];
  /**
   * Applies changes that waited for a signature, once it arrives (in the replica worker, which
   * checks each whole document's stated heads against its real ones when the copy is not empty).
   */
  apply(documentId: DocumentId, chunks: AdmittedChunk[]): Promise<unknown>;
  logger: Logger;
  metrics?: NodeMetrics;
}

/** A chunk let through: a whole document's stated heads must still be checked where it is applied. */
export interface AdmittedChunk {
  bytes: Uint8Array;
  /** For a whole document: the heads it states (the receiver loads it to check them). */
  stated?: string[];
}

/** Why changes or messages were refused, as counted in the metrics. */
export const RefusalReason = {
  Unsigned: "unsigned",
  OwnDocument: "own-document",
  UnknownDocument: "unknown-document",
  Malformed: "malformed",
  Unsupported: "unsupported-message",
} as const;
export type RefusalReason = (typeof RefusalReason)[keyof typeof RefusalReason];

interface Pending {
  documentId: DocumentId;
  chunk: Chunk;
  attestations: Attestation[];
  at: number;
}

/** A message for a document not (yet) known to be a member's, and how to hand it on if it becomes one. */
interface Held {
  message: Message;
  deliver: (message: Message) => void;
  at: number;
  bytes: number;
}

interface PeerState {
  pending: Pending[];
  pendingBytes: number;
  held: Held[];
  heldBytes: number;
  /** Hashes refused from this peer, per document: its heads are read as if it did not have them. */
  refused: Map<string, Set<string>>;
  refusedCount: number;
}

const MAX_DOCUMENT_ID = 64;
/** Attestations kept per foreign document, to pass on with what this node relays. */
const KEPT_PER_DOCUMENT = 4;
const MAX_LOGGED_PER_PEER = 1000;
/** Peers whose logged refusals are remembered (members, in practice). */
const MAX_LOGGED_PEERS = 1000;
/** Dependencies of admitted changes awaited at most, over all documents (see `#vouch`). */
const MAX_VOUCHED = 100_000;
/** Refused hashes remembered per peer (see `#acceptedHeads`). */
const MAX_REFUSED_PER_PEER = 10_000;

/** The hashes a chunk stands for: a change's own, or a whole document's heads. */
const chunkHashes = (c: Chunk): string[] => (c.hash !== undefined ? [c.hash] : (c.heads ?? []));

const sameHeads = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && a.every((h, i) => h === b[i]);

/**
 * Admission at the sync layer (docs/security.md): between the network adapters and the Repo, every
 * sync message is read before automerge-repo applies it, and a change to a document owned by a
 * member enters this node's copy only if that member signed it — if it is covered by (an ancestor
 * of, or equal to) heads that the owner attested with a key the charter gives it. An owner admits no
 * change into its own documents from anyone. A change under any actor id, however plausible its
 * sequence number, is refused unless the owner's signed history contains its hash.
 *
 * Messages are re-encoded without what was refused, so that the sync protocol goes on for the rest.
 * Changes that arrive before a signature covering them wait (bounded per peer, and in time) and are
 * applied when one arrives. Messages for ids no member owns, ephemeral messages and anything that
 * does not parse are dropped before they cost memory. Each refusal is logged once per peer and
 * document, and counted.
 *
 * Outbound, it attaches attestations: over the heads of the message for this node's own documents
 * (signed here, once per heads), the latest verified ones for documents it relays. And it drops a
 * sync message for a document its peer may no longer see: automerge-repo stops syncing a document
 * with a peer when the share policy changes, but only once it has re-read it, and a message it
 * generated before goes out all the same. A peer whose rights shrank (a member removed, a key
 * rotated out) and that stays connected gets nothing more of the documents it lost.
 */
export class AdmissionGate implements Startable {
  readonly #init: Required<AdmissionInit>;
  readonly #c: AdmissionComponents;
  readonly #log: Logger;
  readonly #metrics: NodeMetrics;
  readonly #peers = new Map<string, PeerState>();
  /** Verified attestations per foreign document, newest last. */
  readonly #kept = new Map<string, Attestation[]>();
  /** Signatures verified (document, signer, heads, signature), so that a repeated one costs nothing. */
  readonly #verified = new Set<string>();
  /**
   * Per foreign document, hashes that a change this node admitted depends on and that it has not
   * seen arrive: ancestors of what the owner signed (a change's hash commits to its dependencies'),
   * admitted when they come, whichever message brings them.
   */
  readonly #vouched = new Map<string, Set<string>>();
  #vouchedCount = 0;
  /** The last attestation this node signed per own document. */
  readonly #signed = new Map<string, Attestation>();
  /** Refusals already logged, per peer: one line per document and reason. */
  readonly #logged = new Map<string, Set<string>>();
  /** Documents whose kept attestations changed since they were last stored. */
  readonly #dirty = new Set<string>();
  #flushTimer: NodeJS.Timeout | undefined;

  constructor(init: AdmissionInit, components: AdmissionComponents) {
    this.#init = {
      pendingBytesPerPeer: 16 * 1024 * 1024,
      pendingTtlMs: 120_000,
      maxInflatedBytes: 0,
      unknownHoldMs: 30_000,
      unknownBytesPerPeer: 1024 * 1024,
      ...init,
    };
    this.#c = components;
    this.#log = components.logger;
    this.#metrics = components.metrics ?? NO_METRICS;
  }

  /** Reads the attestations kept before the last stop (they were verified when they came). */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    for (const { documentId, attestations } of (await this.#c.store?.load()) ?? [])
      this.#kept.set(documentId, attestations.slice(-KEPT_PER_DOCUMENT));
  }

  /** Stores what changed since the last store. */
  #started = false;

  async stop(): Promise<void> {
    if (!this.#started) return;
    this.#started = false;
    clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    await this.#flush();
  }

  async #flush(): Promise<void> {
    if (!this.#c.store || this.#dirty.size === 0) return;
    const entries = [...this.#dirty].map((documentId) => ({
      documentId,
      attestations: this.#kept.get(documentId) ?? [],
    }));
    this.#dirty.clear();
    await this.#c.store.save(entries);
  }

  /**
   * What of `message` from its (authenticated) sender may reach the Repo; undefined to drop it. A
   * message for a document that no member's directory lists as far as this node has read them is
   * held (bounded per peer and in time) when `later` is given, and handed to it, admitted, once a
   * directory lists the document (`documentsListed`): dropping it would stall that document's sync
   * with the peer for the rest of the session, as its Repo counts on what it sent having arrived.
   */
  inbound(message: Message, later?: (admitted: Message) => void): Message | undefined {
    const peer = message.senderId;
    switch (message.type) {
      case "sync":
      case "request":
        break;
      case "doc-unavailable":
        return this.#owner(message, peer, later) ? message : undefined;
      default:
        // Ephemeral messages (Concordat uses none; automerge-repo relays them under their original
        // sender, which makes the next node drop the honest relay) and remote-heads gossip.
        this.#refuse(
          peer,
          "",
          RefusalReason.Unsupported,
          `'${String(message.type).slice(0, 40)}' messages are not accepted`,
        );
        return undefined;
    }
    const owner = this.#owner(message, peer, later);
    const documentId = message.documentId;
    if (!owner || documentId === undefined || !(message.data instanceof Uint8Array)) return undefined;
    let parts: SyncMessageParts;
    try {
      parts = parseSyncMessage(message.data);
    } catch (error) {
      this.#refuse(
        peer,
        documentId,
        RefusalReason.Malformed,
        `a sync message that does not parse: ${(error as Error).message}`,
      );
      return undefined;
    }
    const attestations = readAttestations((message as { attestations?: unknown }).attestations);
    const valid = owner.kind === "member" ? attestations.filter((a) => this.#verify(documentId, owner, a)) : [];
    this.#keep(documentId, valid);
    // What reaches the Repo of the message's changes (undefined: all of them, unchanged).
    let kept: Uint8Array[] | undefined;
    let wholeDocuments = false;
    if (parts.changes.length > 0) {
      let chunks: Chunk[] | undefined;
      try {
        chunks = parts.changes.flatMap((entry) =>
          splitChunks(entry, { maxInflatedBytes: this.#init.maxInflatedBytes }),
        );
      } catch (error) {
        this.#refuse(
          peer,
          documentId,
          RefusalReason.Malformed,
          `changes that do not parse: ${(error as Error).message}`,
          parts.changes.length,
        );
        kept = [];
        this.#remember(
          peer,
          documentId,
          parts.heads.filter((h) => !this.#ourHeads(documentId).includes(h)),
        );
      }
      if (chunks && owner.kind === "self") {
        this.#refuse(
          peer,
          documentId,
          RefusalReason.OwnDocument,
          "changes to a document this node owns: it admits none from anyone",
          chunks.length,
        );
        kept = [];
        this.#remember(peer, documentId, chunks.flatMap(chunkHashes));
      } else if (chunks && owner.kind === "member") {
        const { admitted, refused } = this.#judge(documentId, owner, chunks);
        wholeDocuments = admitted.some((c) => c.type === ChunkType.Document);
        if (refused.length > 0) {
          this.#refuse(
            peer,
            documentId,
            RefusalReason.Unsigned,
            `change(s) to a document of hub '${owner.hub}' that it did not sign`,
            refused.length,
          );
          if (this.#log.isLevelEnabled("debug"))
            this.#log.debug(
              {
                peer,
                document: documentId,
                refused: refused.flatMap(chunkHashes).map((h) => h.slice(0, 12)),
                stated: parts.heads.map((h) => h.slice(0, 12)),
                attested: attestations.map((a) => ({
                  signer: a.signer.slice(-6),
                  heads: a.heads.map((h) => h.slice(0, 12)),
                  valid: valid.includes(a),
                })),
                trusted: this.#trustedHeads(documentId, owner).map((h) => h.slice(0, 12)),
              },
              "unsigned changes held",
            );
          this.#wait(peer, documentId, refused, attestations);
          this.#remember(peer, documentId, refused.flatMap(chunkHashes));
          kept = admitted.map((c) => c.bytes);
        }
      }
    }
    if (valid.length > 0) this.#retry(documentId);
    const seen = this.#asIfRefusedUnseen(peer, documentId, parts);
    const admitted =
      kept === undefined && seen === parts
        ? message
        : this.#rewrite(message, { ...seen, changes: kept ?? parts.changes });
    return wholeDocuments ? ({ ...admitted, [CHECK_DOCUMENTS]: true } as Message) : admitted;
  }

  /** `message` with the attestations that let the receiver admit its changes. */
  outbound(message: Message): Message | undefined {
    if (message.type === "ephemeral") return undefined; // never relayed (see inbound)
    if (
      (message.type !== "sync" && message.type !== "request") ||
      !(message.data instanceof Uint8Array) ||
      !message.documentId
    )
      return message;
    const documentId = message.documentId;
    if (this.#c.mayReceive && !this.#c.mayReceive(message.targetId, documentId)) {
      this.#withheld(message.targetId, documentId);
      return undefined;
    }
    let heads: string[];
    try {
      heads = parseSyncMessage(message.data).heads.sort();
    } catch {
      return message;
    }
    if (heads.length === 0) return message;
    const owner = this.#c.ownerOf(documentId);
    if (owner?.kind === "self") {
      const attested = this.#c.attestableHeads(documentId, heads);
      if (this.#log.isLevelEnabled("debug") && !(attested && sameHeads(attested, heads)))
        this.#log.debug(
          {
            target: message.targetId,
            document: documentId,
            heads: heads.map((h) => h.slice(0, 12)),
            attested: attested?.map((h) => h.slice(0, 12)),
          },
          "a sync message of an own document goes without a signature over its heads",
        );
      return attested ? withAttestations(message, [this.#sign(documentId, attested)]) : message;
    }
    const kept = this.#kept.get(documentId) ?? [];
    const exact = kept.filter((a) => sameHeads(a.heads, heads));
    const chosen = exact.length > 0 ? exact : kept;
    return chosen.length > 0 ? withAttestations(message, chosen) : message;
  }

  /** The peer's channels all closed: what it left waiting, and the hashes refused from it, go. */
  peerClosed(peer: string): void {
    const state = this.#peers.get(peer);
    if (state && state.held.length > 0) this.#refuseHeld(peer, state.held.length);
    this.#peers.delete(peer);
  }

  /** The charter changed (keys, removals): waiting changes may now be covered, or never. */
  reconsider(): void {
    const documents = new Set<DocumentId>();
    for (const state of this.#peers.values()) for (const p of state.pending) documents.add(p.documentId);
    for (const documentId of documents) this.#retry(documentId);
    this.documentsListed();
  }

  /**
   * Members' directories list more documents (or a newer charter more members): held messages whose
   * document now has an owner are read again, in the order they came, and handed on; expired ones
   * are refused.
   */
  documentsListed(): void {
    const now = Date.now();
    for (const [peer, state] of this.#peers) {
      if (state.held.length === 0) continue;
      const held = state.held;
      state.held = [];
      state.heldBytes = 0;
      let expired = 0;
      for (const h of held) {
        if (now - h.at > this.#init.unknownHoldMs) expired += 1;
        else if (this.#c.ownerOf(h.message.documentId as DocumentId) === undefined) {
          state.held.push(h);
          state.heldBytes += h.bytes;
        } else {
          const admitted = this.inbound(h.message);
          if (admitted) h.deliver(admitted);
        }
      }
      if (expired > 0) this.#refuseHeld(peer, expired);
    }
  }

  /** Bytes of messages held for documents not yet listed, per peer (for status and tests). */
  heldBytes(): Map<string, number> {
    return new Map([...this.#peers].map(([peer, s]) => [peer, s.heldBytes]));
  }

  /** Changes waiting for a signature, per peer (for status and tests). */
  pendingBytes(): Map<string, number> {
    return new Map([...this.#peers].map(([peer, s]) => [peer, s.pendingBytes]));
  }

  /**
   * What of a peer's waits for a signature, oldest first: each change's hash, and a whole document's
   * heads as it states them (for status and tests).
   */
  pendingChanges(peer: string): string[] {
    return (this.#peers.get(peer)?.pending ?? []).flatMap((p) =>
      p.chunk.hash !== undefined ? [p.chunk.hash] : (p.chunk.heads ?? []),
    );
  }

  #owner(message: Message, peer: string, later?: (admitted: Message) => void): DocumentOwner | undefined {
    const documentId = message.documentId;
    if (typeof documentId !== "string" || documentId.length === 0 || documentId.length > MAX_DOCUMENT_ID) {
      this.#refuse(peer, "", RefusalReason.Malformed, "a message without a well-formed document id");
      return undefined;
    }
    const owner = this.#c.ownerOf(documentId);
    if (!owner && !(later && this.#hold(peer, message, later)))
      this.#refuse(
        peer,
        "",
        RefusalReason.UnknownDocument,
        `a document no member of the federation owns (${documentId})`,
      );
    return owner;
  }

  /** Holds a message for a document not yet listed, if the peer's quota allows (the oldest expired go first). */
  #hold(peer: string, message: Message, deliver: (admitted: Message) => void): boolean {
    if (this.#init.unknownHoldMs <= 0) return false;
    const state = this.#state(peer);
    const now = Date.now();
    let expired = 0;
    while (state.held.length > 0 && now - (state.held[0] as Held).at > this.#init.unknownHoldMs) {
      state.heldBytes -= (state.held.shift() as Held).bytes;
      expired += 1;
    }
    if (expired > 0) this.#refuseHeld(peer, expired);
    const bytes = (message.data?.byteLength ?? 0) + 256;
    if (state.heldBytes + bytes > this.#init.unknownBytesPerPeer) return false;
    state.held.push({ message, deliver, at: now, bytes });
    state.heldBytes += bytes;
    return true;
  }

  /** Counts and logs held messages that no directory listed in time (or whose peer left). */
  #refuseHeld(peer: string, count: number): void {
    this.#refuse(
      peer,
      "",
      RefusalReason.UnknownDocument,
      `${count} message(s) for documents no member of the federation lists, held ${this.#init.unknownHoldMs / 1000} s at most`,
      count,
    );
  }

  #verify(documentId: string, owner: Extract<DocumentOwner, { kind: "member" }>, a: Attestation): boolean {
    if (!owner.mayAttest(a.signer)) return false;
    const key = `${documentId}\n${a.signer}\n${a.heads.join(",")}\n${Buffer.from(a.signature).toString("base64")}`;
    if (this.#verified.has(key)) return true;
    if (!verifySync(a.signer, encodeAttestation(this.#init.federationId, documentId, a.signer, a.heads), a.signature))
      return false;
    if (this.#verified.size >= 100_000) this.#verified.clear();
    this.#verified.add(key);
    return true;
  }

  /** Keeps the newest verified attestations of a document (distinct heads), to pass on when relaying. */
  #keep(documentId: string, attestations: readonly Attestation[]): void {
    const previous = this.#kept.get(documentId) ?? [];
    const fresh = attestations.filter((a) => !previous.some((k) => sameHeads(a.heads, k.heads)));
    if (fresh.length === 0) return;
    this.#kept.set(documentId, [...previous, ...fresh].slice(-KEPT_PER_DOCUMENT));
    if (!this.#c.store) return;
    // Stored in batches, at most once a second: a relay restarted while an owner is away can still
    // pass its documents on.
    this.#dirty.add(documentId);
    this.#flushTimer ??= setTimeout(() => {
      this.#flushTimer = undefined;
      this.#flush().catch((error: unknown) => this.#log.error({ err: error }, "could not store verified attestations"));
    }, 1000);
    this.#flushTimer.unref();
  }

  /** The heads this node trusts for a foreign document: every kept attestation whose signer may still sign. */
  #trustedHeads(documentId: string, owner: Extract<DocumentOwner, { kind: "member" }>): string[] {
    return (this.#kept.get(documentId) ?? []).filter((a) => owner.mayAttest(a.signer)).flatMap((a) => a.heads);
  }

  /**
   * Splits chunks into those covered by the trusted heads and the rest: a change is covered when a
   * path of dependencies inside the message leads to it from a trusted head, or from a dependency of
   * a change admitted before (a peer may send an ancestor after its descendants: after a restart,
   * or when an earlier message was lost); a whole document when its heads (checked by loading it)
   * are all covered.
   */
  #judge(
    documentId: DocumentId,
    owner: Extract<DocumentOwner, { kind: "member" }>,
    chunks: readonly Chunk[],
  ): { admitted: Chunk[]; refused: Chunk[] } {
    const byHash = new Map<string, Chunk>();
    for (const c of chunks) if (c.hash) byHash.set(c.hash, c);
    const reached = new Set<string>();
    const vouched = this.#vouched.get(documentId);
    const stack = [...this.#trustedHeads(documentId, owner), ...(vouched ?? [])];
    while (stack.length > 0) {
      const hash = stack.pop() as string;
      if (reached.has(hash)) continue;
      reached.add(hash);
      for (const dep of byHash.get(hash)?.deps ?? []) stack.push(dep);
    }
    const admitted: Chunk[] = [];
    const refused: Chunk[] = [];
    for (const c of chunks) {
      const covered =
        c.hash !== undefined ? reached.has(c.hash) : c.type === ChunkType.Document && statesCoveredHeads(c, reached);
      (covered ? admitted : refused).push(c);
    }
    this.#vouch(documentId, admitted, byHash);
    return { admitted, refused };
  }

  /**
   * Notes the dependencies of admitted changes that neither this message nor this node's heads hold;
   * forgets those that came (in a message, or in the copy's heads).
   */
  #vouch(documentId: DocumentId, admitted: readonly Chunk[], byHash: ReadonlyMap<string, Chunk>): void {
    const ours = new Set(this.#ourHeads(documentId));
    let set = this.#vouched.get(documentId);
    if (set)
      for (const h of set)
        if (ours.has(h)) {
          set.delete(h);
          this.#vouchedCount -= 1;
        }
    for (const c of admitted) {
      if (c.hash !== undefined && set?.delete(c.hash)) this.#vouchedCount -= 1;
      for (const dep of c.deps ?? []) {
        if (byHash.has(dep) || ours.has(dep)) continue;
        if (!set) {
          set = new Set();
          this.#vouched.set(documentId, set);
        }
        if (set.has(dep)) continue;
        if (this.#vouchedCount >= MAX_VOUCHED) {
          this.#vouched.clear();
          this.#vouchedCount = 0;
          set = new Set();
          this.#vouched.set(documentId, set);
        }
        set.add(dep);
        this.#vouchedCount += 1;
      }
    }
    if (set?.size === 0) this.#vouched.delete(documentId);
  }

  /** Keeps refused chunks that a later signature may cover, within the peer's quota; the oldest go first. */
  #wait(peer: string, documentId: DocumentId, chunks: readonly Chunk[], attestations: Attestation[]): void {
    const state = this.#state(peer);
    const now = Date.now();
    for (const chunk of chunks) {
      if (chunk.type === ChunkType.Bundle || chunk.bytes.byteLength > this.#init.pendingBytesPerPeer) continue;
      state.pending.push({ documentId, chunk, attestations, at: now });
      state.pendingBytes += chunk.bytes.byteLength;
    }
    while (
      state.pending.length > 0 &&
      (state.pendingBytes > this.#init.pendingBytesPerPeer ||
        now - (state.pending[0] as Pending).at > this.#init.pendingTtlMs)
    ) {
      const dropped = state.pending.shift() as Pending;
      state.pendingBytes -= dropped.chunk.bytes.byteLength;
    }
  }

  /** Applies the waiting changes of `documentId` that the trusted heads now cover. */
  #retry(documentId: DocumentId): void {
    const owner = this.#c.ownerOf(documentId);
    if (owner?.kind !== "member") return;
    const now = Date.now();
    const waiting: Pending[] = [];
    for (const state of this.#peers.values()) {
      for (const p of state.pending)
        if (p.documentId === documentId && now - p.at <= this.#init.pendingTtlMs) waiting.push(p);
    }
    if (waiting.length === 0) return;
    // Attestations that came with the waiting changes may verify now (a newer charter).
    this.#keep(
      documentId,
      waiting.flatMap((p) => p.attestations).filter((a) => this.#verify(documentId, owner, a)),
    );
    const { admitted } = this.#judge(
      documentId,
      owner,
      waiting.map((p) => p.chunk),
    );
    if (admitted.length === 0) return;
    const taken = new Set(admitted);
    const hashes = new Set(admitted.flatMap(chunkHashes));
    for (const state of this.#peers.values()) {
      const set = state.refused.get(documentId);
      if (set) for (const h of hashes) if (set.delete(h)) state.refusedCount -= 1;
      state.pending = state.pending.filter((p) => {
        if (!taken.has(p.chunk)) return true;
        state.pendingBytes -= p.chunk.bytes.byteLength;
        return false;
      });
    }
    this.#c
      .apply(
        documentId,
        admitted.map((c) =>
          c.type === ChunkType.Document ? { bytes: c.bytes, stated: c.heads ?? [] } : { bytes: c.bytes },
        ),
      )
      .then(
        () =>
          this.#log.debug(
            { document: documentId, changes: admitted.length },
            "admitted changes that waited for their owner's signature",
          ),
        (error: unknown) =>
          this.#log.warn(
            { document: documentId, err: (error as Error).message },
            "could not apply changes that waited for their owner's signature",
          ),
      );
  }

  #sign(documentId: string, heads: string[]): Attestation {
    const last = this.#signed.get(documentId);
    if (last && sameHeads(last.heads, heads)) return last;
    const signer = this.#c.self.peerId;
    const attestation = {
      signer,
      heads,
      signature: this.#c.self.sign(encodeAttestation(this.#init.federationId, documentId, signer, heads)),
    };
    this.#signed.set(documentId, attestation);
    return attestation;
  }

  #rewrite(message: Message, parts: SyncMessageParts): Message {
    const { attestations: _a, ...rest } = message as Message & { attestations?: unknown };
    return { ...rest, data: encodeSyncMessage(parts) };
  }

  #ourHeads(documentId: DocumentId): string[] {
    return this.#c.heads(documentId);
  }

  /** Notes hashes refused from `peer` for `documentId` (bounded), for `#acceptedHeads`. */
  #remember(peer: string, documentId: string, hashes: readonly string[]): void {
    if (hashes.length === 0) return;
    const state = this.#state(peer);
    if (state.refusedCount + hashes.length > MAX_REFUSED_PER_PEER) {
      state.refused.clear();
      state.refusedCount = 0;
    }
    const set = state.refused.get(documentId) ?? new Set<string>();
    for (const h of hashes)
      if (!set.has(h)) {
        set.add(h);
        state.refusedCount += 1;
      }
    state.refused.set(documentId, set);
  }

  /**
   * The message as if its sender had none of what this node refused from it: refused heads are
   * replaced by this node's own heads, and a summary of what it has ("have") counted from a refused
   * change counts from the start instead. Without this, each side's sync state asks for, or counts
   * on, changes that will never be taken, and the two Repos exchange messages forever (or one keeps
   * resetting the sync and never sends its own changes).
   */
  #asIfRefusedUnseen(peer: string, documentId: DocumentId, parts: SyncMessageParts): SyncMessageParts {
    const refused = this.#peers.get(peer)?.refused.get(documentId);
    if (!refused) return parts;
    const isRefused = (h: string) => refused.has(h);
    const headsRefused = parts.heads.some(isRefused);
    const haveRefused = parts.have.some((h) => h.lastSync.some(isRefused));
    if (!headsRefused && !haveRefused) return parts;
    const heads = headsRefused
      ? [...new Set([...parts.heads.filter((h) => !isRefused(h)), ...this.#ourHeads(documentId)])].sort()
      : parts.heads;
    const have = haveRefused
      ? parts.have.map((h) => (h.lastSync.some(isRefused) ? { ...h, lastSync: [] } : h))
      : parts.have;
    return { ...parts, heads, have };
  }

  #state(peer: string): PeerState {
    let state = this.#peers.get(peer);
    if (!state) {
      state = { pending: [], pendingBytes: 0, held: [], heldBytes: 0, refused: new Map(), refusedCount: 0 };
      this.#peers.set(peer, state);
    }
    return state;
  }

  /** Logs, once per peer and document, a message not sent because the peer may not see the document. */
  #withheld(peer: string, documentId: string): void {
    let logged = this.#logged.get(peer);
    if (!logged) {
      if (this.#logged.size >= MAX_LOGGED_PEERS) this.#logged.clear();
      logged = new Set();
      this.#logged.set(peer, logged);
    }
    const key = `${documentId}\nwithheld`;
    if (logged.has(key) || logged.size >= MAX_LOGGED_PER_PEER) return;
    logged.add(key);
    this.#log.debug({ peer, document: documentId }, "withheld a sync message for a document the peer may not see");
  }

  /** Counts a refusal, and logs it once per peer, document and reason. */
  #refuse(peer: string, documentId: string, reason: RefusalReason, detail: string, count = 1): void {
    this.#metrics.syncRefused(peer, reason, count);
    // Kept across the peer's reconnections (its channels are dropped for some of what it sends).
    let logged = this.#logged.get(peer);
    if (!logged) {
      if (this.#logged.size >= MAX_LOGGED_PEERS) this.#logged.clear();
      logged = new Set();
      this.#logged.set(peer, logged);
    }
    const key = `${documentId}\n${reason}`;
    if (logged.has(key) || logged.size >= MAX_LOGGED_PER_PEER) return;
    logged.add(key);
    this.#log.warn({ peer, ...(documentId ? { document: documentId } : {}), reason, detail }, "refused at admission");
  }
}

/** A repo message carrying attestations: an extra field, which automerge-repo ignores. */
function withAttestations(message: Message, attestations: Attestation[]): Message {
  const attested: Message & { attestations: Attestation[] } = { ...message, attestations };
  return attested;
}

/**
 * A whole document is covered when the heads its chunk states are all covered; that they are its
 * real heads is checked where it is applied (`CHECK_DOCUMENTS`).
 */
function statesCoveredHeads(chunk: Chunk, reached: ReadonlySet<string>): boolean {
  const stated = chunk.heads ?? [];
  return stated.length > 0 && stated.every((h) => reached.has(h));
}

export { WireError };
