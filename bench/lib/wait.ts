/**
 * Bounded waits for benchmarks and tests (the test helpers re-export `waitUntil`): a wait polls a
 * probe until it gives a value, and when it gives up it says what it waited for, what the probe last
 * saw, and how long it waited. Waits on work that grows (hubs, trainers, documents) take a timeout
 * from `allowance`, so that a larger run or a busy machine does not fail where a small one passes.
 * No paths or node modules here: it compiles into dist/ with the bench and runs under vitest alike.
 */

/** A probe: gives the value waited for (anything but undefined/false) and may say what it saw meanwhile. */
export type Probe<T> = (see: (seen: string) => void) => T | undefined | false | Promise<T | undefined | false>;

/** A wait that gave up: `what` it waited for, what its probe last `seen`, after `waitedMs`. */
export class WaitTimeoutError extends Error {
  override readonly name = "WaitTimeoutError";
  readonly what: string;
  readonly seen: string | undefined;
  readonly waitedMs: number;

  constructor(what: string, seen: string | undefined, waitedMs: number, timeoutMs: number) {
    super(
      `timed out after ${seconds(waitedMs)} (limit ${seconds(timeoutMs)}) waiting for ${what}${seen === undefined ? "" : `: ${seen}`}`,
    );
    this.what = what;
    this.seen = seen;
    this.waitedMs = waitedMs;
  }
}

function seconds(ms: number): string {
  return ms < 10_000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/**
 * Polls `probe` every `intervalMs` until it gives a value (not undefined/false), and returns it;
 * after `timeoutMs` it fails with a `WaitTimeoutError` naming `what` and the last thing the probe
 * passed to `see`. The last look always starts at or after the deadline: a probe that began before
 * it and ran past it (a busy machine) is followed by one more.
 */
export async function waitUntil<T>(what: string, probe: Probe<T>, timeoutMs = 10_000, intervalMs = 20): Promise<T> {
  const began = Date.now();
  const deadline = began + timeoutMs;
  let seen: string | undefined;
  const see = (description: string) => {
    seen = description;
  };
  for (;;) {
    const lookedAt = Date.now();
    const value = await probe(see);
    if (value !== undefined && value !== false) return value;
    const now = Date.now();
    if (lookedAt >= deadline) throw new WaitTimeoutError(what, seen, now - began, timeoutMs);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, Math.min(intervalMs, deadline - now))));
  }
}

/** A timeout for work that grows with `count` items: `baseMs` plus `perItemMs` for each. */
export function allowance(baseMs: number, perItemMs: number, count: number): number {
  return Math.round(baseMs + perItemMs * Math.max(0, count));
}
