import pino from "pino";
import { describe, expect, it } from "vitest";
import { Lifecycle, type Step, step } from "../../node/lifecycle.js";

const silent = pino({ level: "silent" });

/** Steps that record their starts and stops in `log`; `failing` names one whose start throws. */
function steps(names: string[], log: string[], failing?: string): Step[] {
  return names.map((name) =>
    step(name, {
      start: async () => {
        await new Promise((resolve) => setImmediate(resolve));
        if (name === failing) throw new Error(`${name} cannot start`);
        log.push(`start ${name}`);
      },
      stop: async () => {
        await new Promise((resolve) => setImmediate(resolve));
        log.push(`stop ${name}`);
      },
    }),
  );
}

describe("Lifecycle", () => {
  it("starts the steps one at a time in the declared order and stops them in reverse", async () => {
    const log: string[] = [];
    const lifecycle = new Lifecycle(silent);
    await lifecycle.startAll(steps(["store", "repo", "network", "api"], log));
    expect(lifecycle.started).toEqual(["store", "repo", "network", "api"]);
    await lifecycle.stop();
    expect(log).toEqual([
      "start store",
      "start repo",
      "start network",
      "start api",
      "stop api",
      "stop network",
      "stop repo",
      "stop store",
    ]);
  });

  it("a start that fails stops what already started, in reverse, and rethrows; the failed step is not stopped", async () => {
    const log: string[] = [];
    const lifecycle = new Lifecycle(silent);
    // One started by hand before (as the node does with the store it opens while building).
    await lifecycle.start(steps(["store"], log)[0] as Step);
    await expect(lifecycle.startAll(steps(["repo", "network", "api"], log, "network"))).rejects.toThrow(
      "network cannot start",
    );
    expect(log).toEqual(["start store", "start repo", "stop repo", "stop store"]);
    expect(lifecycle.started).toEqual([]);
    expect(lifecycle.failed).toBe("network");
  });

  it("stop is idempotent, harmless before start, and a failing stop does not keep the others from stopping", async () => {
    const log: string[] = [];
    const lifecycle = new Lifecycle(silent);
    await lifecycle.stop();
    expect(log).toEqual([]);
    await lifecycle.startAll([
      ...steps(["a"], log),
      step("broken", {
        stop: () => {
          throw new Error("broken cannot stop");
        },
      }),
      ...steps(["c"], log),
    ]);
    await lifecycle.stop();
    await lifecycle.stop();
    expect(log).toEqual(["start a", "start c", "stop c", "stop a"]);
  });
});
