import type { Startable } from "../lifecycle.js";
import { NO_METRICS, type NodeMetrics } from "../metrics.js";
import type { DocumentId, HubId } from "../ids.js";
import type { Logger } from "pino";
import {
  charterIdOf,
  directoryIdOf,
  ownsListedDocument,
  readCharter,
  signerProblem,
  type CharterMember,
  type Membership,
} from "../federation/index.js";
import type { Replica } from "../replica/index.js";
import type { NodeStore } from "../storage/index.js";
import { checkpointProblem, type SignedCheckpoint } from "./checkpoint.js";
import { textOf } from "../documents/index.js";

/** A foreign document as its owner last signed it. */
export interface VerifiedView {
  documentId: DocumentId;
  /** Hub id of the owner. */
  hub: HubId;
  /** The owner's directory, which carried the checkpoint (the owner's identity across key rotations). */
  ownerDirectory: DocumentId;
  /** Set when the owner has been removed from the federation: the view is its last before removal. */
  removedAt?: string;
  checkpoint: SignedCheckpoint["checkpoint"];
  /** The owner's signature over the checkpoint (for audit bundles). */
  signature: string;
  /**
   * The document as of the checkpoint's heads, as plain data (read in the replica worker): nothing
   * the owner did not sign.
   */
  doc: unknown;
}

export interface Rejection {
  hub: string;
  documentId: string;
  reason: string;
  at: string;
}

export interface VerifiedViewsInit {
  federationId: string;
  /** This node's own directory (never read as foreign). */
  selfDirectoryId: string;
  /** A member whose newest verified checkpoint is older than this is flagged stale. */
  staleAfterMs?: number;
  /** The clock (tests inject one). */
  now?: () => number;
}

/** What this node knows of one member's documents, for `status`. */
export interface MemberFreshness {
  hub: string;
  peerId: string;
  /** Newest verified checkpoint over the member's documents, if any. */
  latest: { seq: number; time: string; documentId: string } | undefined;
  /** Seconds since the newest checkpoint's signed time. */
  ageSeconds: number | undefined;
  /** No verified checkpoint yet, or the newest is older than the limit. */
  stale: boolean;
  /** When the charter removed it: its documents stay readable as of its last checkpoint before. */
  removedAt: string | undefined;
  rejected: number;
  lastRejection: string | undefined;
}

export interface VerifiedViewsComponents {
  membership: Membership;
  /** The Repo's copies (in the replica worker), where directories and documents are read. */
  replica: Replica;
  store: NodeStore;
  logger: Logger;
  /** Counts verifications and rejections (Prometheus, when the node serves metrics). */
  metrics?: NodeMetrics;
}

interface DirectoryDoc {
  documents?: Record<string, unknown>;
  checkpoints?: Record<string, unknown>;
}

const SEEN_PREFIX = "verified-seq/";
const MAX_REJECTIONS = 100;

/**
 * What this node may serve of other hubs' documents: for each, the view at the heads of the
 * latest checkpoint that verifies — signed by a key the charter gives the member whose directory
 * carries it (not rotated out, the member not removed, before the checkpoint's time), for a document
 * whose id derives from that directory, with a `seq` above the last one seen (persisted, so a replay
 * after a restart is refused too). A checkpoint whose heads have not arrived yet waits, and is
 * applied when they do. Anything else is rejected with a log line naming why, and the view stays
 * where it was.
 *
 * Trust starts from the anchor: the secretariat's directory is verified against the anchor's key
 * alone; the charter it signs says who the other members are and which keys are theirs, and each
 * newly verified charter updates the membership and re-reads every directory.
 */
export class VerifiedViews implements Startable {
  readonly #init: VerifiedViewsInit;
  readonly #membership: Membership;
  readonly #replica: Replica;
  readonly #store: NodeStore;
  readonly #log: Logger;
  readonly #charterId: DocumentId | undefined;
  readonly #anchorDirectory: DocumentId | undefined;
  readonly #views = new Map<string, VerifiedView>();
  /** Per document: the highest seq verified, and the heads of the directory copy that carried it. */
  readonly #lastSeen = new Map<string, { seq: number; directoryHeads: string[] }>();
  readonly #pending = new Map<
    string,
    { hub: HubId; directoryId: DocumentId; signed: SignedCheckpoint; directoryHeads: string[] }
  >();
  readonly #rejections: Rejection[] = [];
  /** Directories read, by document id, with the change listener to remove on stop. */
  readonly #directories = new Map<DocumentId, { unfollow: () => void }>();
  /** Documents waiting for their checkpoint's heads, with the listener to remove (only ours). */
  readonly #waiting = new Map<string, () => void>();
  /** Documents whose view is being read in the worker, and those to try again once it is read. */
  readonly #applying = new Set<string>();
  readonly #again = new Set<string>();
  /** Views whose entry a directory no longer carries, by document and seq (named once each). */
  readonly #missing = new Set<string>();
  #unsubscribe: (() => void) | undefined;

  readonly #metrics: NodeMetrics;

  constructor(init: VerifiedViewsInit, components: VerifiedViewsComponents) {
    this.#init = init;
    this.#membership = components.membership;
    this.#replica = components.replica;
    this.#store = components.store;
    this.#log = components.logger;
    this.#metrics = components.metrics ?? NO_METRICS;
    const anchor = components.membership.anchor;
    this.#charterId = anchor ? charterIdOf(anchor) : undefined;
    this.#anchorDirectory = anchor ? directoryIdOf(anchor) : undefined;
  }

  /** Reads the highest seq seen per document (replays stay refused); `follow` then starts reading. */
  async start(): Promise<void> {
    if (this.#loaded) return;
    this.#loaded = true;
    for await (const [key, value] of this.#store.meta.iterator({ gt: SEEN_PREFIX, lt: `${SEEN_PREFIX}~` })) {
      // Stored as a number before the directory's heads were kept with it.
      const seen =
        typeof value === "number"
          ? { seq: value, directoryHeads: [] }
          : (value as { seq: number; directoryHeads: string[] });
      this.#lastSeen.set(key.slice(SEEN_PREFIX.length), seen);
    }
  }

  /**
   * Starts reading directories (the anchor's first): loading every member's documents from disk is
   * the heaviest part of a restart, so the node calls this once its API answers from what it
   * persisted (indexes answer at once; views catch up behind them).
   */
  follow(): void {
    if (this.#unsubscribe) return;
    this.#unsubscribe = this.#membership.onChange(() => this.#membershipChanged());
    if (this.#anchorDirectory) this.#watch(this.#anchorDirectory);
    this.#membershipChanged();
  }

  #loaded = false;

  stop(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    for (const { unfollow } of this.#directories.values()) unfollow();
    this.#directories.clear();
    for (const unfollow of this.#waiting.values()) unfollow();
    this.#waiting.clear();
  }

  /** Watches new members' directories, and re-reads all: keys or removals may have changed. */
  #membershipChanged(): void {
    for (const member of this.#membership.members()) this.#watch(member.directoryId);
    for (const id of this.#directories.keys()) void this.#readDirectory(id);
  }

  #watch(directoryId: DocumentId): void {
    if (directoryId === this.#init.selfDirectoryId || this.#directories.has(directoryId)) return;
    this.#directories.set(directoryId, {
      unfollow: this.#replica.watch(directoryId, () => void this.#readDirectory(directoryId)),
    });
  }

  readonly #appliedListeners = new Set<(view: VerifiedView) => void>();
  readonly #rejectedListeners = new Set<(rejection: Rejection) => void>();

  /** Listens for every checkpoint entry refused (signature, key, seq, …). Returns the unsubscribe. */
  onRejected(listener: (rejection: Rejection) => void): () => void {
    this.#rejectedListeners.add(listener);
    return () => this.#rejectedListeners.delete(listener);
  }

  /** Listens for every view that moves to a newer verified checkpoint (indexes follow them). */
  onApplied(listener: (view: VerifiedView) => void): () => void {
    this.#appliedListeners.add(listener);
    return () => this.#appliedListeners.delete(listener);
  }

  /** The verified view of a foreign document, if any checkpoint of it has verified. */
  view(documentId: string): VerifiedView | undefined {
    const view = this.#views.get(documentId);
    return view ? this.#marked(view) : undefined;
  }

  views(): VerifiedView[] {
    return [...this.#views.values()].map((v) => this.#marked(v));
  }

  #marked(view: VerifiedView): VerifiedView {
    // The owner as the charter names it now (a view applied before the charter was verified knew
    // the secretariat only as the trust anchor).
    const owner = this.#membership.memberByDirectory(view.ownerDirectory);
    if (!owner) return view;
    return { ...view, hub: owner.hub, ...(owner.removedAt ? { removedAt: owner.removedAt } : {}) };
  }

  /** Per member: the newest verified checkpoint, its age, whether it is stale, and rejections. */
  freshness(): MemberFreshness[] {
    const now = (this.#init.now ?? Date.now)();
    const staleAfter = this.#init.staleAfterMs ?? 15 * 60_000;
    return this.#membership
      .members()
      .filter((m) => m.directoryId !== this.#init.selfDirectoryId)
      .map((member) => {
        let latest: MemberFreshness["latest"];
        for (const view of this.#views.values()) {
          if (view.ownerDirectory !== member.directoryId) continue;
          if (!latest || view.checkpoint.time > latest.time)
            latest = { seq: view.checkpoint.seq, time: view.checkpoint.time, documentId: view.documentId };
        }
        const ageSeconds = latest ? Math.max(0, Math.round((now - Date.parse(latest.time)) / 1000)) : undefined;
        const rejections = this.#rejections.filter((r) => r.hub === member.hub);
        return {
          hub: member.hub,
          peerId: member.keys.at(-1)?.peerId ?? "",
          latest,
          ageSeconds,
          stale: ageSeconds === undefined || ageSeconds * 1000 > staleAfter,
          removedAt: member.removedAt,
          rejected: rejections.length,
          lastRejection: rejections.at(-1)?.reason,
        };
      });
  }

  /** The highest seq verified from a member, over all its documents (undefined if none yet). */
  latestSeq(hub: string): number | undefined {
    const member = this.#membership.member(hub);
    if (!member) return undefined;
    let best: number | undefined;
    for (const view of this.#views.values()) {
      if (view.ownerDirectory === member.directoryId && (best === undefined || view.checkpoint.seq > best))
        best = view.checkpoint.seq;
    }
    return best;
  }

  /** The latest rejections (newest last), for status. */
  rejections(): Rejection[] {
    return [...this.#rejections];
  }

  #reject(member: CharterMember, documentId: string, reason: string): void {
    const hub = member.hub;
    this.#log.warn({ hub, document: documentId, reason }, "rejected a checkpoint");
    this.#metrics.checkpointRejected(member.directoryId);
    const rejection = { hub, documentId, reason, at: new Date().toISOString() };
    this.#rejections.push(rejection);
    if (this.#rejections.length > MAX_REJECTIONS) this.#rejections.shift();
    for (const listener of this.#rejectedListeners) listener(rejection);
  }

  async #readDirectory(directoryId: DocumentId): Promise<void> {
    const member = this.#membership.ownerOfDirectory(directoryId);
    if (!member) return;
    const read = await this.#replica.read(directoryId, { conflictsIn: ["checkpoints"] }).catch(() => undefined);
    if (!read) return;
    const directory = (read.value as DirectoryDoc | undefined) ?? {};
    const checkpoints = directory.checkpoints ?? {};
    // An owner never deletes its checkpoint entries: one that is gone was deleted by a relay. That
    // is harmless (the view stays at the last verified checkpoint) but worth naming.
    for (const view of this.#views.values()) {
      const key = `${view.documentId}@${view.checkpoint.seq}`;
      if (view.ownerDirectory !== directoryId || Object.hasOwn(checkpoints, view.documentId) || this.#missing.has(key))
        continue;
      this.#missing.add(key);
      this.#log.warn(
        { hub: member.hub, document: view.documentId, seq: view.checkpoint.seq },
        "a directory no longer carries the checkpoint of a document this node holds a view of (deleted by a relay?); keeping the verified view",
      );
    }
    // A relay can write into its copy of the directory; its write then conflicts with the owner's.
    // Automerge keeps every conflicting value: consider them all, and keep the best that verifies.
    for (const [documentId, values] of Object.entries(read.conflicts ?? {})) {
      let best: { id: DocumentId; signed: SignedCheckpoint } | undefined;
      for (const raw of values) {
        const checked = await this.#check(member, documentId, raw, directory.documents?.[documentId], directoryId);
        if (checked && (!best || checked.signed.checkpoint.seq > best.signed.checkpoint.seq)) best = checked;
      }
      if (best) {
        this.#pending.set(best.id, {
          hub: member.hub,
          directoryId,
          signed: best.signed,
          directoryHeads: read.heads,
        });
        this.#tryApply(best.id);
      }
    }
  }

  /**
   * The entry if it is a new, valid checkpoint of the member's document (with the document's id,
   * which is well formed since it derives from the member's directory); rejects (and logs) otherwise.
   */
  async #check(
    member: CharterMember,
    documentId: string,
    raw: unknown,
    listing: unknown,
    directoryId: DocumentId,
  ): Promise<{ id: DocumentId; signed: SignedCheckpoint } | undefined> {
    let signed: SignedCheckpoint;
    try {
      signed = JSON.parse(textOf(raw) ?? "") as SignedCheckpoint;
      if (typeof signed?.signature !== "string" || typeof signed?.checkpoint !== "object" || signed.checkpoint === null)
        throw new Error("shape");
    } catch {
      this.#reject(member, documentId, "malformed checkpoint entry");
      return undefined;
    }
    const seq = signed.checkpoint.seq;
    const current = this.#views.get(documentId)?.checkpoint.seq ?? -1;
    const pending = this.#pending.get(documentId)?.signed.checkpoint.seq ?? -1;
    if (seq === current || seq === pending) return undefined; // already applied or waiting
    if (!ownsListedDocument(member.directoryId, documentId, listing)) {
      this.#reject(
        member,
        documentId,
        `document ${documentId} is not one of the documents of hub '${member.hub}' (its id does not derive from the hub's directory)`,
      );
      return undefined;
    }
    const problem =
      (await checkpointProblem(signed, { federationId: this.#init.federationId, documentId })) ??
      signerProblem(member, {
        owner: String(signed.checkpoint.owner),
        time: String(signed.checkpoint.time),
        seq: Number(signed.checkpoint.seq),
      });
    if (problem) {
      this.#reject(member, documentId, problem);
      return undefined;
    }
    // Reads of a directory overlap (each change of it starts one, and verifying awaits): another
    // read may have applied or queued this very checkpoint meanwhile. That is not a replay.
    if (
      seq === (this.#views.get(documentId)?.checkpoint.seq ?? -1) ||
      seq === (this.#pending.get(documentId)?.signed.checkpoint.seq ?? -1)
    )
      return undefined;
    const seen = this.#lastSeen.get(documentId);
    const lastSeen = seen?.seq ?? -1;
    if (seq < lastSeen || (seq === lastSeen && this.#views.has(documentId)) || seq < current) {
      // This node verified a newer one from a copy of the directory it no longer holds in full: its
      // own copy is behind (changes not yet saved when the node was killed), which is no replay. The
      // newer entry comes back with the next sync.
      if (
        seen &&
        seen.directoryHeads.length > 0 &&
        !(await this.#replica.hasHeads(directoryId, seen.directoryHeads).catch(() => true))
      ) {
        this.#log.debug(
          { hub: member.hub, document: documentId, seq, lastSeen },
          "this node's copy of a directory is behind what it verified before; waiting for the rest",
        );
        return undefined;
      }
      this.#reject(
        member,
        documentId,
        `seq ${seq} is not above the last seen ${Math.max(lastSeen, current)} (a replay)`,
      );
      return undefined;
    }
    if (seq < pending) {
      this.#reject(member, documentId, `seq ${seq} is below one already waiting (${pending})`);
      return undefined;
    }
    this.#metrics.checkpointVerified(member.directoryId);
    return { id: documentId, signed };
  }

  /**
   * Applies the pending checkpoint of `documentId` once the Repo holds its heads; waits otherwise.
   * One read per document at a time: a call while one runs makes it run again after.
   */
  #tryApply(documentId: DocumentId): void {
    if (this.#applying.has(documentId)) {
      this.#again.add(documentId);
      return;
    }
    this.#applying.add(documentId);
    this.#apply(documentId)
      .catch((error: unknown) =>
        this.#log.warn({ document: documentId, err: (error as Error).message }, "could not read a verified view"),
      )
      .finally(() => {
        this.#applying.delete(documentId);
        if (this.#again.delete(documentId)) this.#tryApply(documentId);
      });
  }

  async #apply(documentId: DocumentId): Promise<void> {
    const pending = this.#pending.get(documentId);
    if (!pending) return;
    const heads = pending.signed.checkpoint.heads;
    const read = await this.#replica.read(documentId, { heads });
    if (this.#pending.get(documentId) !== pending) {
      // A newer checkpoint came while this one was read: read again for it.
      this.#again.add(documentId);
      return;
    }
    if (!read) {
      if (!this.#waiting.has(documentId))
        this.#waiting.set(
          documentId,
          this.#replica.watch(documentId, () => this.#tryApply(documentId)),
        );
      return;
    }
    this.#waiting.get(documentId)?.();
    this.#waiting.delete(documentId);
    this.#pending.delete(documentId);
    const { checkpoint } = pending.signed;
    // Reads of a directory run concurrently: one that verified an older entry may finish last.
    if ((this.#views.get(documentId)?.checkpoint.seq ?? -1) >= checkpoint.seq) return;
    const view: VerifiedView = {
      documentId,
      hub: pending.hub,
      ownerDirectory: pending.directoryId,
      checkpoint,
      signature: pending.signed.signature,
      doc: read.value,
    };
    this.#views.set(documentId, view);
    const seen = { seq: checkpoint.seq, directoryHeads: pending.directoryHeads };
    if (checkpoint.seq < (this.#lastSeen.get(documentId)?.seq ?? -1)) return;
    this.#lastSeen.set(documentId, seen);
    void this.#store
      .batch([{ type: "put", sublevel: this.#store.meta, key: `${SEEN_PREFIX}${documentId}`, value: seen }])
      .catch((error: unknown) => this.#log.error({ err: error }, "could not persist the last seen seq"));
    this.#log.debug({ hub: pending.hub, document: documentId, seq: checkpoint.seq }, "verified checkpoint applied");
    if (documentId === this.#charterId) this.#charterVerified(view);
    for (const listener of this.#appliedListeners) listener(view);
  }

  /** A newer charter verified: it becomes the membership (if it is this federation's). */
  #charterVerified(view: VerifiedView): void {
    const { state, problems } = readCharter(view.doc);
    for (const problem of problems)
      this.#log.error({ problem }, "the verified charter holds a record that does not parse");
    if (state.federationId !== this.#init.federationId || state.anchor !== this.#membership.anchor) {
      this.#log.error(
        { federation: state.federationId, anchor: state.anchor },
        "the verified charter names another federation or anchor; ignored",
      );
      return;
    }
    this.#log.info({ seq: view.checkpoint.seq, members: state.members.length }, "charter verified");
    this.#membership.update(state, { kind: "verified", seq: view.checkpoint.seq, time: view.checkpoint.time });
  }
}
