import { describe, expect, it } from "vitest";
import { SerialQueue } from "../../node/serial-queue.js";

describe("SerialQueue", () => {
  it("runs jobs one at a time in the order queued, each caller gets its own result or error, idle waits for all", async () => {
    const queue = new SerialQueue();
    const log: string[] = [];
    let running = 0;
    const job =
      (name: string, fail = false) =>
      async () => {
        running += 1;
        expect(running).toBe(1);
        log.push(`start ${name}`);
        await new Promise((resolve) => setImmediate(resolve));
        log.push(`end ${name}`);
        running -= 1;
        if (fail) throw new Error(`${name} failed`);
        return name;
      };
    const a = queue.run(job("a"));
    const b = queue.run(job("b", true));
    const c = queue.run(job("c"));
    const idle = queue.idle();
    await expect(a).resolves.toBe("a");
    await expect(b).rejects.toThrow("b failed");
    await expect(c).resolves.toBe("c");
    await idle;
    expect(log).toEqual(["start a", "end a", "start b", "end b", "start c", "end c"]);
  });

  it("idle resolves after a failed job too, and at once when nothing is queued", async () => {
    const queue = new SerialQueue();
    await queue.idle();
    const failed = queue.run(() => Promise.reject(new Error("no")));
    await expect(queue.idle()).resolves.toBeUndefined();
    await expect(failed).rejects.toThrow("no");
  });
});
