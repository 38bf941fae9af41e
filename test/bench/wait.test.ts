import { describe, expect, it } from "vitest";
import { allowance, waitUntil, WaitTimeoutError } from "../../bench/lib/wait.js";

describe("the shared bounded wait", () => {
  it("returns the probe's value once it gives one", async () => {
    let calls = 0;
    await expect(waitUntil("the third probe", () => (++calls === 3 ? "done" : false), 5_000, 1)).resolves.toBe("done");
  });

  it("gives up naming what it waited for and what its probe last saw", async () => {
    let n = 0;
    const error = await waitUntil(
      "the counter to reach 1000",
      (see) => {
        n += 1;
        see(`the counter at ${n}`);
        return false;
      },
      60,
      5,
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WaitTimeoutError);
    const message = (error as WaitTimeoutError).message;
    expect(message).toContain("waiting for the counter to reach 1000");
    expect(message).toContain(`the counter at ${n}`);
    expect((error as WaitTimeoutError).seen).toBe(`the counter at ${n}`);
  });

  it("looks once more at the deadline when the poller was held up past it", async () => {
    let calls = 0;
    const value = await waitUntil(
      "a slow probe",
      async () => {
        calls += 1;
        if (calls === 1) await new Promise((resolve) => setTimeout(resolve, 80));
        return calls === 2 ? "late" : false;
      },
      20,
      5,
    );
    expect(value).toBe("late");
  });

  it("scales a timeout with the work", () => {
    expect(allowance(30_000, 500, 10)).toBe(35_000);
    expect(allowance(30_000, 500, -1)).toBe(30_000);
  });
});
