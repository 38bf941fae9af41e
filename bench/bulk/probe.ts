/**
 * The responsiveness probe: a client that calls a node's GetStatus (a cheap read every operator
 * tool calls) every INTERVAL ms on its own schedule — open loop: a call is sent on time even while
 * earlier ones wait, so a stalled node shows as a run of slow answers rather than fewer calls — and
 * records each call's latency from send to answer. It also watches its own event loop (a late timer
 * in the bench process would delay sends, not answers; it is reported so that it can be ruled out).
 */
import { nodeClient, type NodeClient } from "../../node/api/index.js";
import type { GetStatusResponse } from "../../node/api/generated/concordat/v1/node.js";

export interface ProbeSample {
  /** When the call was sent, epoch ms. */
  at: number;
  /** Send to answer (or to the error), ms. */
  ms: number;
  ok: boolean;
}

const epoch = () => performance.timeOrigin + performance.now();

export class Probe {
  readonly #client: NodeClient;
  readonly #intervalMs: number;
  readonly #deadlineMs: number;
  readonly samples: ProbeSample[] = [];
  /** Errors, by message, with a count. */
  readonly errors = new Map<string, number>();
  /** The bench process's own timer lateness over 5 ms: [epoch ms, ms late]. */
  readonly ownLag: Array<[number, number]> = [];
  #timer: NodeJS.Timeout | undefined;
  #lagTimer: NodeJS.Timeout | undefined;
  #pending = new Set<Promise<void>>();

  constructor(address: string, token: string, intervalMs = 20, deadlineMs = 10_000) {
    this.#client = nodeClient(address, { token, deadlineMs, channel: { "grpc.use_local_subchannel_pool": 1 } });
    this.#intervalMs = intervalMs;
    this.#deadlineMs = deadlineMs;
  }

  /** One GetStatus call (waiting for the connection within the deadline). */
  status(deadlineMs = this.#deadlineMs): Promise<GetStatusResponse> {
    return this.#client.node.getStatus({}, { deadlineMs, waitForReady: true });
  }

  /** Connects and makes a few calls, so that the first timed call pays no connection set-up. */
  async warmUp(): Promise<void> {
    for (let i = 0; i < 5; i += 1) await this.status(30_000);
  }

  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => this.#call(), this.#intervalMs);
    let due = performance.now() + 10;
    const tick = () => {
      const now = performance.now();
      if (now - due > 5) this.ownLag.push([performance.timeOrigin + now, now - due]);
      due = now + 10;
      this.#lagTimer = setTimeout(tick, 10);
    };
    this.#lagTimer = setTimeout(tick, 10);
  }

  #call(): void {
    const at = epoch();
    const start = performance.now();
    const call = this.#client.node.getStatus({}).then(
      () => {
        this.samples.push({ at, ms: performance.now() - start, ok: true });
      },
      (error: Error) => {
        this.samples.push({ at, ms: performance.now() - start, ok: false });
        this.errors.set(error.message, (this.errors.get(error.message) ?? 0) + 1);
      },
    );
    this.#pending.add(call);
    void call.then(() => this.#pending.delete(call));
  }

  /** Stops sending; waits for the calls in flight (each ends by its deadline). */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    clearTimeout(this.#lagTimer);
    this.#timer = undefined;
    await Promise.all([...this.#pending]);
  }

  close(): void {
    clearInterval(this.#timer);
    clearTimeout(this.#lagTimer);
    this.#client.close();
  }
}
