import { type NodeEvent, stamped } from "./event.js";

/**
 * One client's view of the event stream: a bounded queue between the hub, which pushes without
 * waiting, and the client, which takes at its own pace. When a slow client falls `limit` events
 * behind, the oldest are dropped and one `overflow` event goes ahead of what is left, counting what
 * was dropped, so that the client knows to refetch everything; further drops before it is taken
 * add to its count rather than a second one. The queue holds at most `limit` events and that one.
 */
export class EventWatcher implements AsyncIterable<NodeEvent> {
  readonly #limit: number;
  readonly #queue: NodeEvent[] = [];
  #overflow: { dropped: number; since: string } | undefined;
  #wake: (() => void) | undefined;
  #ended: { error: unknown } | undefined;
  readonly #onClose: () => void;
  #dropped = 0;

  constructor(init: { limit: number; onClose?: () => void }) {
    if (!Number.isInteger(init.limit) || init.limit < 1) throw new Error("a watcher's queue holds at least one event");
    this.#limit = init.limit;
    this.#onClose = init.onClose ?? (() => undefined);
  }

  /** Events waiting, the overflow event included. */
  get queued(): number {
    return this.#queue.length + (this.#overflow ? 1 : 0);
  }

  /** Events dropped so far because this client fell behind. */
  get dropped(): number {
    return this.#dropped;
  }

  get closed(): boolean {
    return this.#ended !== undefined;
  }

  push(event: NodeEvent): void {
    if (this.#ended) return;
    this.#queue.push(event);
    if (this.#queue.length > this.#limit) {
      const oldest = this.#queue.shift() as NodeEvent;
      this.#dropped += 1;
      if (this.#overflow) this.#overflow.dropped += 1;
      else this.#overflow = { dropped: 1, since: oldest.at };
    }
    this.#wakeUp();
  }

  /**
   * Ends the stream: with `error`, the iteration throws it at once (what is queued is not
   * delivered: a revoked credential sees nothing more); without, it ends after what is queued.
   */
  close(error?: unknown): void {
    if (this.#ended) return;
    this.#ended = { error };
    this.#onClose();
    this.#wakeUp();
  }

  #wakeUp(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  #take(): NodeEvent | undefined {
    if (this.#overflow) {
      const { dropped, since } = this.#overflow;
      this.#overflow = undefined;
      return stamped({
        kind: "overflow",
        action: "dropped",
        subject: String(dropped),
        summary: `${dropped} event${dropped === 1 ? " was" : "s were"} dropped (since ${since}) because this stream fell behind: refetch the state`,
      });
    }
    return this.#queue.shift();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<NodeEvent> {
    try {
      for (;;) {
        if (this.#ended && this.#ended.error !== undefined) throw this.#ended.error;
        const next = this.#take();
        if (next) {
          yield next;
          continue;
        }
        if (this.#ended) return;
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
        });
      }
    } finally {
      this.close();
    }
  }
}
