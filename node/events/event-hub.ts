import type { Logger } from "pino";
import type { Startable } from "../lifecycle.js";
import { type EventDraft, stamped } from "./event.js";
import { EventWatcher } from "./watcher.js";

/** Reports events through `emit` from the moment it is called until the returned unsubscribe. */
export type EventSource = (emit: (event: EventDraft) => void) => () => void;

export interface EventHubInit {
  hubId: string;
  /** Events a watcher may fall behind before the oldest are dropped (default 1,000). */
  queueLimit?: number;
  /** A heartbeat to every watcher this often (default 15 s), so that a client can tell a dead stream. */
  heartbeatMs?: number;
}

export interface EventHubComponents {
  /** The change sources (node/events/sources.ts), subscribed at start, released at stop. */
  sources: readonly EventSource[];
  logger: Logger;
}

export const DEFAULT_QUEUE_LIMIT = 1000;
export const DEFAULT_HEARTBEAT_MS = 15_000;

/**
 * The node's live event stream (docs/events.md): it subscribes to the change sources when it starts
 * and fans every event out to the watchers, each with its own bounded queue (watcher.ts), so that a
 * slow client costs the others nothing and the node no more than its queue. Its stop releases the
 * sources and ends every watcher.
 */
export class EventHub implements Startable {
  readonly #init: Required<EventHubInit>;
  readonly #sources: readonly EventSource[];
  readonly #log: Logger;
  readonly #watchers = new Set<EventWatcher>();
  #unsubscribes: Array<() => void> = [];
  #heartbeat: NodeJS.Timeout | undefined;
  #started = false;
  #stopped = false;

  constructor(init: EventHubInit, components: EventHubComponents) {
    this.#init = {
      hubId: init.hubId,
      queueLimit: init.queueLimit ?? DEFAULT_QUEUE_LIMIT,
      heartbeatMs: init.heartbeatMs ?? DEFAULT_HEARTBEAT_MS,
    };
    this.#sources = components.sources;
    this.#log = components.logger;
  }

  start(): void {
    if (this.#started) return;
    this.#started = true;
    const emit = (draft: EventDraft) => this.publish(draft);
    for (const source of this.#sources) {
      try {
        this.#unsubscribes.push(source(emit));
      } catch (error) {
        // A source that cannot subscribe costs its events, not the node.
        this.#log.error({ err: error }, "an event source failed to subscribe");
      }
    }
    this.#heartbeat = setInterval(
      () => this.publish({ kind: "heartbeat", action: "beat", hub: this.#init.hubId, summary: "still here" }),
      this.#init.heartbeatMs,
    );
    this.#heartbeat.unref();
  }

  stop(): void {
    if (!this.#started) return;
    this.#started = false;
    this.#stopped = true;
    clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
    for (const unsubscribe of this.#unsubscribes.splice(0)) unsubscribe();
    for (const watcher of [...this.#watchers]) watcher.close();
  }

  /** Watchers open now. */
  get watching(): number {
    return this.#watchers.size;
  }

  /** Sends one event to every watcher (without waiting for any). */
  publish(draft: EventDraft): void {
    const event = stamped(draft);
    this.#log.debug({ event }, "event");
    for (const watcher of this.#watchers) watcher.push(event);
  }

  /**
   * A new watcher, whose first event is `hello`. It ends when closed (by its reader or by the hub's
   * stop); `close(error)` ends it with that error. One opened after the hub stopped ends after its hello.
   */
  watch(): EventWatcher {
    const watcher = new EventWatcher({
      limit: this.#init.queueLimit,
      onClose: () => this.#watchers.delete(watcher),
    });
    watcher.push(
      stamped({
        kind: "hello",
        action: "watching",
        hub: this.#init.hubId,
        summary: `watching the events of hub ${this.#init.hubId}`,
      }),
    );
    if (this.#stopped) watcher.close();
    else this.#watchers.add(watcher);
    return watcher;
  }
}
