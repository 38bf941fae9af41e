import type { Message } from "@automerge/automerge-repo";
import { parseSyncMessage, type SyncMessageParts } from "../admission/index.js";

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
 * - this node sent that peer a `request` for the document on this connection, and the peer's
 *   announcement came at most `crossWindowMs` after it (one that crosses a request arrives within a
 *   round trip; a later one is the peer sharing the document now, after it ignored the request — a
 *   core not yet released, a listing not yet verified — and no answer to the request will come);
 * - nothing carrying changes of it has come from that peer since, nor a refusal (`doc-unavailable`)
 *   or a request of its own (it lacks the document too);
 * - the message says this node has nothing (empty heads, no changes) and needs heads (which only
 *   that peer's own messages can have named: it has the document and will answer).
 * Every other message passes untouched. The first message carrying the document ends the hold (the
 * held reply is dropped: the asker replies again once it has applied the document); any other
 * message from the peer about the document ends it too, and sends the held reply. So the asker's
 * reply to the answer — even one saying it still has nothing, after admission
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
  readonly #crossWindowMs: number;
  #heldCount = 0;

  /** `send`: sends a held message after all (when its hold times out). */
  constructor(send: (message: Message) => void, holdMs = DEFAULT_HOLD_MS, crossWindowMs = DEFAULT_CROSS_WINDOW_MS) {
    this.#send = send;
    this.#holdMs = holdMs;
    this.#crossWindowMs = crossWindowMs;
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
      // Only what a request is for is kept, briefly: an entry no announcement crossed in time is of
      // no use, and an id no document has (a peer driving the adapter by hand) is not kept at all.
      if (documentId.length > MAX_DOCUMENT_ID) return true;
      const now = Date.now();
      this.#prune(now);
      const docs = this.#asked.get(targetId) ?? new Map<string, Asked>();
      if (!docs.has(documentId)) docs.set(documentId, { at: now });
      this.#asked.set(targetId, docs);
      return true;
    }
    if (message.type !== "sync") return true;
    const asked = this.#asked.get(targetId)?.get(documentId);
    if (!asked) return true;
    const parts = parse(message.data);
    if (asked.crossed && parts && parts.heads.length === 0 && parts.changes.length === 0 && parts.need.length > 0) {
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
    const asked = documentId === undefined ? undefined : this.#asked.get(senderId)?.get(documentId);
    if (documentId === undefined || !asked) return;
    let answered = false;
    if (message.type === "sync" && message.data instanceof Uint8Array) {
      const parts = parse(message.data);
      if (parts && parts.changes.length === 0 && parts.heads.length > 0) {
        // An announcement crossing our request: the answer is still to come. One long after it: the
        // request went unanswered (the peer shares the document only now), so the reply goes out.
        if (Date.now() - asked.at <= this.#crossWindowMs) {
          asked.crossed = true;
          return;
        }
      }
      answered = parts !== undefined && parts.changes.length > 0;
    }
    this.#settle(senderId, documentId);
    // Only the document itself makes the held reply redundant (this node replies again once it has
    // applied it). Anything else — a refusal, a request of the peer's own, a message without the
    // changes — means no answer is coming: the reply goes out, or the sync would wait on it forever.
    if (!answered && asked.held) this.#send(asked.held);
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

  /** Drops the requests no announcement crossed within the window (nothing will be held for them). */
  #prune(now: number): void {
    for (const [peer, docs] of this.#asked) {
      for (const [documentId, asked] of docs)
        if (!asked.crossed && !asked.held && now - asked.at > this.#crossWindowMs) docs.delete(documentId);
      if (docs.size === 0) this.#asked.delete(peer);
    }
  }

  #settle(peer: string, documentId: string): void {
    const docs = this.#asked.get(peer);
    clearTimeout(docs?.get(documentId)?.timer);
    docs?.delete(documentId);
    if (docs?.size === 0) this.#asked.delete(peer);
  }
}

/** Automerge document ids are 28 characters or so; a longer one is no document's (the admission gate's bound). */
const MAX_DOCUMENT_ID = 64;

/** A held reply is sent anyway if the request's answer has not come within this long. */
export const DEFAULT_HOLD_MS = 5_000;
/** An announcement later than this after the request did not cross it: the reply goes out. */
export const DEFAULT_CROSS_WINDOW_MS = 500;

interface Asked {
  /** When the request was sent. */
  at: number;
  /** The peer's announcement crossed the request: the reply to it may be held. */
  crossed?: boolean;
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
