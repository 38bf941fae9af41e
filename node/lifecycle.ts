import type { Logger } from "pino";

/**
 * A component with a lifecycle, as in js-libp2p (`packages/interface/src/startable.ts`). Both
 * methods are idempotent: a second `start` does nothing, and `stop` before `start` (or twice) is
 * harmless. A component that only needs undoing (a store opened by its factory) has a `start` that
 * does nothing.
 */
export interface Startable {
  start(): void | Promise<void>;
  stop(): void | Promise<void>;
}

/** One entry of a start order: a name for the logs and the component it starts. */
export interface Step {
  name: string;
  component: Startable;
}

export function isStartable(value: unknown): value is Startable {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as Startable).start === "function" &&
    typeof (value as Startable).stop === "function"
  );
}

/** A step that only undoes (what a factory opened), or only starts (nothing to undo). */
export function step(
  name: string,
  hooks: { start?: () => void | Promise<void>; stop?: () => void | Promise<void> },
): Step {
  return { name, component: { start: hooks.start ?? (() => undefined), stop: hooks.stop ?? (() => undefined) } };
}

/**
 * The undo stack of a start: components start one at a time in the declared order, each pushed once
 * started; `stop` stops them in reverse order. A step whose start fails is not pushed (it undid its
 * own part); `startAll` then stops the ones already started, in reverse, and rethrows. A stop that
 * fails is logged and the others still stop.
 */
export class Lifecycle {
  readonly #log: Logger;
  readonly #started: Step[] = [];

  constructor(logger: Logger) {
    this.#log = logger;
  }

  /** The names of the started steps, in start order. */
  get started(): string[] {
    return this.#started.map((s) => s.name);
  }

  /** The step whose start failed last, for the log. */
  get failed(): string | undefined {
    return this.#failed;
  }

  #failed: string | undefined;

  /** Starts one step and pushes it (the caller stops the lifecycle if it throws). */
  async start(entry: Step): Promise<void> {
    try {
      await entry.component.start();
    } catch (error) {
      this.#failed = entry.name;
      throw error;
    }
    this.#started.push(entry);
  }

  /** Starts `steps` in order; if one fails, stops everything this lifecycle started, in reverse, and rethrows. */
  async startAll(steps: Iterable<Step>): Promise<void> {
    try {
      for (const entry of steps) await this.start(entry);
    } catch (error) {
      await this.stop();
      throw error;
    }
  }

  /** Stops every started step in reverse order; a second call finds nothing left to stop. */
  async stop(): Promise<void> {
    for (let entry = this.#started.pop(); entry; entry = this.#started.pop()) {
      try {
        await entry.component.stop();
      } catch (error) {
        this.#log.error({ err: error, component: entry.name }, "stop failed");
      }
    }
  }
}
