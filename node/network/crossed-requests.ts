import type { Message } from "@automerge/automerge-repo";
import { parseSyncMessage, type SyncMessageParts } from "../admission/wire.js";

/**
 * Keeps a peer that asks for a document it lacks from being sent the whole document twice.
 *
 * When two peers connect, the one that has a document announces it (automerge-repo's
 * DocSynchronizer sends a sync message with its heads and no changes), and the one that lacks it
 * may at the same moment ask for it (a `request`: empty heads). The two cross on the wire. The owner
 * answers the request with every change. The asker, still empty, answers the announcement too —
 * empty heads, needing the announced ones — and Automerge's sync reads empty heads from a peer as
 * "that peer lost its data": it forgets what it already sent and sends every change again. So each
 * document crossed twice (see docs/architecture.md, "Replication between hubs").
 *
 * That second reply is redundant: the request already asked for everything, the owner will answer
 * it, and the asker replies again once it has applied the answer. So, on the asking side, an
 * outgoing sync message to a peer for a document is held back while all of these hold:
 * - this node sent that peer a `request` for the document on this connection;
 * - nothing carrying changes of it has come from that peer since, nor a refusal (`doc-unavailable`)
 *   or a request of its own (it lacks the document too);
 * - the message says this node has nothing (empty heads, no changes) and needs heads (which only
 *   that peer's own messages can have named: it has the document and will answer).
 * Every other message passes untouched, and the first message carrying the document ends the hold,
 * so the asker's reply to the answer — even one saying it still has nothing, after admission
 * refused the changes — goes out and lets the sync protocol retry as usual. If a channel to the
 * peer closes while the peer stays connected on another (the request or its answer may be lost
 * with it), or no answer came within `holdMs`, the held message is sent after all — at worst the
 * document crosses twice, as without this; when the peer disconnects, all is forgotten
 * (automerge-repo starts over on the next connection).
 */
export class CrossedRequests {
  /** Per peer: the documents asked of it and not yet answered, with the reply held back, if any. */
  readonly #asked = new Map<string, Map<string, Asked>>();
  readonly #send: (message: Message) => void;
  readonly #holdMs: number;
  #heldCount = 0;

  /** `send`: sends a held message after all (when its hold times out). */
  constructor(send: (message: Message) => void, holdMs = DEFAULT_HOLD_MS) {
    this.#send = send;
    this.#holdMs = holdMs;
  }

  /** How many replies were held back so far (for tests and logs). */
  get held(): number {
    return this.#heldCount;
  }

  /** Whether to send `message` now (false: held back, see the class comment). */
  outbound(message: Message): boolean {
    const { documentId, targetId } = message;
    if (documentId === undefined || !(message.data instanceof Uint8Array)) return true;
    if (message.type === "request") {
      const docs = this.#asked.get(targetId) ?? new Map<string, Asked>();
      if (!docs.has(documentId)) docs.set(documentId, {});
      this.#asked.set(targetId, docs);
      return true;
    }
    if (message.type !== "sync") return true;
    const asked = this.#asked.get(targetId)?.get(documentId);
    if (!asked) return true;
    const parts = parse(message.data);
    if (parts && parts.heads.length === 0 && parts.changes.length === 0 && parts.need.length > 0) {
      asked.held = message;
      this.#heldCount += 1;
      if (!asked.timer) {
        asked.timer = setTimeout(() => {
          const current = this.#asked.get(targetId)?.get(documentId);
          if (current !== asked) return;
          this.#settle(targetId, documentId);
          if (asked.held) this.#send(asked.held);
        }, this.#holdMs);
        asked.timer.unref();
      }
      return false;
    }
    // This node has the document now (from elsewhere) or says something else: stop holding.
    this.#settle(targetId, documentId);
    return true;
  }

  /** A message from `message.senderId`, as it arrived (before the Repo or admission read it). */
  inbound(message: Message): void {
    const { documentId, senderId } = message;
    if (documentId === undefined || !this.#asked.get(senderId)?.has(documentId)) return;
    if (message.type === "sync" && message.data instanceof Uint8Array) {
      const parts = parse(message.data);
      // An announcement crossing our request: the answer is still to come.
      if (parts && parts.changes.length === 0 && parts.heads.length > 0) return;
    }
    this.#settle(senderId, documentId);
  }

  /** A channel to `peer` closed and another is still open: returns the held messages, to send now. */
  release(peer: string): Message[] {
    const docs = [...(this.#asked.get(peer)?.values() ?? [])];
    this.forget(peer);
    return docs.flatMap((d) => (d.held ? [d.held] : []));
  }

  /** `peer` disconnected: nothing of it is kept. */
  forget(peer: string): void {
    for (const asked of this.#asked.get(peer)?.values() ?? []) clearTimeout(asked.timer);
    this.#asked.delete(peer);
  }

  clear(): void {
    for (const peer of [...this.#asked.keys()]) this.forget(peer);
  }

  #settle(peer: string, documentId: string): void {
    const docs = this.#asked.get(peer);
    clearTimeout(docs?.get(documentId)?.timer);
    docs?.delete(documentId);
    if (docs?.size === 0) this.#asked.delete(peer);
  }
}

/** A held reply is sent anyway if the request's answer has not come within this long. */
export const DEFAULT_HOLD_MS = 30_000;

interface Asked {
  /** The latest reply held back. */
  held?: Message;
  /** Sends it anyway when the answer is late (set on the first hold). */
  timer?: NodeJS.Timeout;
}

function parse(data: Uint8Array): SyncMessageParts | undefined {
  try {
    return parseSyncMessage(data);
  } catch {
    return undefined;
  }
}
