/**
 * A small typed RPC over a worker thread's message port: each side exposes an object of methods
 * (`Local`) and calls the other's (`Remote`). A call resolves with the remote method's result (or
 * rejects with its error's message); a notification runs the remote method without an answer.
 * Messages are handled in the order they were posted, so calls and notifications from one side
 * start in order on the other.
 */

/** A method table one side exposes; arguments and results must survive structured cloning. */
// biome-ignore lint/suspicious/noExplicitAny: a method table of any signatures, narrowed by each interface
export type Methods = { [name: string]: (...args: any[]) => unknown };

/** What both a `MessagePort` and `parentPort`/`Worker` offer. */
export interface Endpoint {
  postMessage(value: unknown, transferList?: readonly ArrayBuffer[]): void;
  on(event: "message", listener: (value: unknown) => void): unknown;
  off(event: "message", listener: (value: unknown) => void): unknown;
}

type Envelope =
  | { k: "call"; id: number; m: string; a: unknown[] }
  | { k: "note"; m: string; a: unknown[] }
  | { k: "ok"; id: number; v: unknown }
  | { k: "err"; id: number; e: { name: string; message: string } };

export class RemoteError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

export class Rpc<Local extends Methods, Remote extends Methods> {
  readonly #port: Endpoint;
  readonly #local: Local;
  readonly #onNoteError: (method: string, error: unknown) => void;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  readonly #listener = (value: unknown) => this.#receive(value as Envelope);
  #next = 1;
  #closed: Error | undefined;

  constructor(port: Endpoint, local: Local, onNoteError: (method: string, error: unknown) => void) {
    this.#port = port;
    this.#local = local;
    this.#onNoteError = onNoteError;
    port.on("message", this.#listener);
  }

  /** Calls the other side's `method`; rejects if it throws, or once the link is closed. */
  call<K extends keyof Remote & string>(
    method: K,
    ...args: Parameters<Remote[K]>
  ): Promise<Awaited<ReturnType<Remote[K]>>> {
    if (this.#closed) return Promise.reject(this.#closed);
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.#port.postMessage({ k: "call", id, m: method, a: args } satisfies Envelope);
    });
  }

  /** Runs the other side's `method` without waiting for it. */
  notify<K extends keyof Remote & string>(method: K, ...args: Parameters<Remote[K]>): void {
    if (this.#closed) return;
    this.#port.postMessage({ k: "note", m: method, a: args } satisfies Envelope);
  }

  /** Rejects every call still waiting, and every later one, with `error`. */
  close(error: Error): void {
    if (this.#closed) return;
    this.#closed = error;
    this.#port.off("message", this.#listener);
    for (const { reject } of this.#pending.values()) reject(error);
    this.#pending.clear();
  }

  #receive(envelope: Envelope): void {
    switch (envelope.k) {
      case "ok":
      case "err": {
        const pending = this.#pending.get(envelope.id);
        if (!pending) return;
        this.#pending.delete(envelope.id);
        if (envelope.k === "ok") pending.resolve(envelope.v);
        else pending.reject(new RemoteError(envelope.e.name, envelope.e.message));
        return;
      }
      case "call": {
        const { id } = envelope;
        this.#run(envelope.m, envelope.a).then(
          (v) => this.#closed || this.#port.postMessage({ k: "ok", id, v } satisfies Envelope),
          (e: unknown) => {
            if (this.#closed) return;
            const error = e instanceof Error ? e : new Error(String(e));
            this.#port.postMessage({
              k: "err",
              id,
              e: { name: error.name, message: error.message },
            } satisfies Envelope);
          },
        );
        return;
      }
      case "note":
        this.#run(envelope.m, envelope.a).catch((e: unknown) => this.#onNoteError(envelope.m, e));
        return;
    }
  }

  async #run(method: string, args: unknown[]): Promise<unknown> {
    const fn = Object.hasOwn(this.#local, method) ? this.#local[method] : undefined;
    if (typeof fn !== "function") throw new Error(`no method '${method}' on this side of the replica link`);
    return fn(...args);
  }
}
