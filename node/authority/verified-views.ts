import * as A from "@automerge/automerge";
import type { DocHandle, DocumentId, Repo } from "@automerge/automerge-repo";
import type { Logger } from "pino";
import { directoryIdOf, type Member } from "../federation/index.js";
import type { NodeStore } from "../storage/node-store.js";
import { checkpointProblem, type SignedCheckpoint } from "./checkpoint.js";

/** A foreign document as its owner last signed it. */
export interface VerifiedView {
  documentId: string;
  /** Hub id of the owner. */
  hub: string;
  checkpoint: SignedCheckpoint["checkpoint"];
  /** The document as of the checkpoint's heads: nothing the owner did not sign. */
  doc: A.Doc<unknown>;
}

export interface Rejection {
  hub: string;
  documentId: string;
  reason: string;
  at: string;
}

export interface VerifiedViewsInit {
  federationId: string;
  members: readonly Member[];
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
  rejected: number;
  lastRejection: string | undefined;
}

export interface VerifiedViewsComponents {
  repo: Repo;
  store: NodeStore;
  logger: Logger;
}

interface DirectoryDoc {
  checkpoints?: Record<string, unknown>;
}

const SEEN_PREFIX = "verified-seq/";
const MAX_REJECTIONS = 100;

function text(value: unknown): string | undefined {
  if (value instanceof A.ImmutableString) return value.val;
  return typeof value === "string" ? value : undefined;
}

/**
 * What this node may serve of other hubs' documents: for each, the view at the heads of the
 * latest checkpoint that verifies — signed by the member whose directory carries it, with a `seq`
 * above the last one seen (persisted, so a replay after a restart is refused too). A checkpoint
 * whose heads have not arrived yet waits, and is applied when they do. Anything else is rejected
 * with a log line naming why, and the view stays where it was.
 */
export class VerifiedViews {
  readonly #init: VerifiedViewsInit;
  readonly #repo: Repo;
  readonly #store: NodeStore;
  readonly #log: Logger;
  readonly #views = new Map<string, VerifiedView>();
  readonly #lastSeen = new Map<string, number>();
  readonly #pending = new Map<string, { hub: string; signed: SignedCheckpoint }>();
  readonly #rejections: Rejection[] = [];
  readonly #handles: Array<{ handle: DocHandle<unknown>; listener: () => void }> = [];
  /** Documents waiting for their checkpoint's heads, with the listener to remove (only ours). */
  readonly #waiting = new Map<string, { handle: DocHandle<unknown>; retry: () => void }>();

  constructor(init: VerifiedViewsInit, components: VerifiedViewsComponents) {
    this.#init = init;
    this.#repo = components.repo;
    this.#store = components.store;
    this.#log = components.logger;
  }

  async start(): Promise<void> {
    for await (const [key, value] of this.#store.meta.iterator({ gt: SEEN_PREFIX, lt: `${SEEN_PREFIX}~` })) {
      this.#lastSeen.set(key.slice(SEEN_PREFIX.length), value as number);
    }
    for (const member of this.#init.members) {
      const handle = this.#repo.findWithProgress<unknown>(directoryIdOf(member.peerId)).handle;
      const listener = () => void this.#readDirectory(member, handle);
      handle.on("change", listener);
      this.#handles.push({ handle, listener });
      handle.whenReady().then(listener, () => undefined);
    }
  }

  stop(): void {
    for (const { handle, listener } of this.#handles) handle.off("change", listener);
    this.#handles.length = 0;
    for (const { handle, retry } of this.#waiting.values()) handle.off("heads-changed", retry);
    this.#waiting.clear();
  }

  /** The verified view of a foreign document, if any checkpoint of it has verified. */
  view(documentId: string): VerifiedView | undefined {
    return this.#views.get(documentId);
  }

  views(): VerifiedView[] {
    return [...this.#views.values()];
  }

  /** Per member: the newest verified checkpoint, its age, whether it is stale, and rejections. */
  freshness(): MemberFreshness[] {
    const now = (this.#init.now ?? Date.now)();
    const staleAfter = this.#init.staleAfterMs ?? 15 * 60_000;
    return this.#init.members.map((member) => {
      let latest: MemberFreshness["latest"];
      for (const view of this.#views.values()) {
        if (view.hub !== member.hub) continue;
        if (!latest || view.checkpoint.time > latest.time) latest = { seq: view.checkpoint.seq, time: view.checkpoint.time, documentId: view.documentId };
      }
      const ageSeconds = latest ? Math.max(0, Math.round((now - Date.parse(latest.time)) / 1000)) : undefined;
      const rejections = this.#rejections.filter((r) => r.hub === member.hub);
      return {
        hub: member.hub,
        peerId: member.peerId,
        latest,
        ageSeconds,
        stale: ageSeconds === undefined || ageSeconds * 1000 > staleAfter,
        rejected: rejections.length,
        lastRejection: rejections.at(-1)?.reason,
      };
    });
  }

  /** The latest rejections (newest last), for status. */
  rejections(): Rejection[] {
    return [...this.#rejections];
  }

  #reject(hub: string, documentId: string, reason: string): void {
    this.#log.warn({ hub, document: documentId, reason }, "rejected a checkpoint");
    this.#rejections.push({ hub, documentId, reason, at: new Date().toISOString() });
    if (this.#rejections.length > MAX_REJECTIONS) this.#rejections.shift();
  }

  async #readDirectory(member: Member, handle: DocHandle<unknown>): Promise<void> {
    if (!handle.isReady()) return;
    const checkpoints = (handle.doc() as DirectoryDoc | undefined)?.checkpoints ?? {};
    for (const documentId of Object.keys(checkpoints)) {
      // A relay can write into its copy of the directory; its write then conflicts with the owner's.
      // Automerge keeps every conflicting value: consider them all, and keep the best that verifies.
      const conflicts = A.getConflicts(checkpoints as A.Doc<Record<string, unknown>>, documentId);
      const values = conflicts ? Object.values(conflicts) : [checkpoints[documentId]];
      let best: SignedCheckpoint | undefined;
      for (const raw of values) {
        const signed = await this.#check(member, documentId, raw);
        if (signed && (!best || signed.checkpoint.seq > best.checkpoint.seq)) best = signed;
      }
      if (best) {
        this.#pending.set(documentId, { hub: member.hub, signed: best });
        this.#tryApply(documentId);
      }
    }
  }

  /** The entry if it is a new, valid checkpoint of the member's document; rejects (and logs) otherwise. */
  async #check(member: Member, documentId: string, raw: unknown): Promise<SignedCheckpoint | undefined> {
    let signed: SignedCheckpoint;
    try {
      signed = JSON.parse(text(raw) ?? "") as SignedCheckpoint;
      if (typeof signed?.signature !== "string" || typeof signed?.checkpoint !== "object" || signed.checkpoint === null) throw new Error("shape");
    } catch {
      this.#reject(member.hub, documentId, "malformed checkpoint entry");
      return undefined;
    }
    const seq = signed.checkpoint.seq;
    const current = this.#views.get(documentId)?.checkpoint.seq ?? -1;
    const pending = this.#pending.get(documentId)?.signed.checkpoint.seq ?? -1;
    if (seq === current || seq === pending) return undefined; // already applied or waiting
    const problem = await checkpointProblem(signed, { federationId: this.#init.federationId, owner: member.peerId, documentId });
    if (problem) {
      this.#reject(member.hub, documentId, problem);
      return undefined;
    }
    const lastSeen = this.#lastSeen.get(documentId) ?? -1;
    if (seq < lastSeen || (seq === lastSeen && this.#views.has(documentId)) || seq < current) {
      this.#reject(member.hub, documentId, `seq ${seq} is not above the last seen ${Math.max(lastSeen, current)} (a replay)`);
      return undefined;
    }
    if (seq < pending) {
      this.#reject(member.hub, documentId, `seq ${seq} is below one already waiting (${pending})`);
      return undefined;
    }
    return signed;
  }

  /** Applies the pending checkpoint of `documentId` once the Repo holds its heads; waits otherwise. */
  #tryApply(documentId: string): void {
    const pending = this.#pending.get(documentId);
    if (!pending) return;
    const handle = this.#repo.findWithProgress<unknown>(documentId as DocumentId).handle;
    const heads = pending.signed.checkpoint.heads;
    const doc = handle.isReady() ? handle.doc() : undefined;
    if (!doc || !A.hasHeads(doc, heads)) {
      if (!this.#waiting.has(documentId)) {
        const retry = () => this.#tryApply(documentId);
        this.#waiting.set(documentId, { handle, retry });
        handle.on("heads-changed", retry);
        handle.whenReady().then(retry, () => undefined);
      }
      return;
    }
    const waiting = this.#waiting.get(documentId);
    if (waiting) waiting.handle.off("heads-changed", waiting.retry);
    this.#waiting.delete(documentId);
    this.#pending.delete(documentId);
    const { checkpoint } = pending.signed;
    this.#views.set(documentId, { documentId, hub: pending.hub, checkpoint, doc: A.view(doc, heads) });
    this.#lastSeen.set(documentId, checkpoint.seq);
    void this.#store
      .batch([{ type: "put", sublevel: this.#store.meta, key: `${SEEN_PREFIX}${documentId}`, value: checkpoint.seq }])
      .catch((error: unknown) => this.#log.error({ err: error }, "could not persist the last seen seq"));
    this.#log.debug({ hub: pending.hub, document: documentId, seq: checkpoint.seq }, "verified checkpoint applied");
  }
}
