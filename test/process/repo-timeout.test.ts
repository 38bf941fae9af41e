import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const GUARD = fileURLToPath(new URL("../../dist/node/process-guard.js", import.meta.url));
const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Runs a small ESM program in a fresh Node process (the project's Node), returns its exit code and output. */
function run(body: string): { code: number | null; out: string } {
  const program = `
    import { pino } from "pino";
    import { withTimeout } from "@automerge/automerge-repo/helpers/withTimeout.js";
    import { guardRepoSyncTimeouts } from ${JSON.stringify(GUARD)};
    guardRepoSyncTimeouts(pino({ level: "info" }));
    ${body}
    setTimeout(() => { process.stdout.write("still running\\n"); process.exit(0); }, 200);
  `;
  const result = spawnSync(process.execPath, ["--input-type=module", "-e", program], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 20_000,
  });
  return { code: result.status, out: `${result.stdout}${result.stderr}` };
}

/**
 * automerge-repo rejects a sync that waits too long for a document without catching it (an
 * unhandled rejection): the node must survive it, and still end on any other unhandled rejection.
 */
describe("unhandled rejections in a node process", () => {
  it("survives automerge-repo's sync timeout, logging it", () => {
    // The library's own withTimeout, never awaited: exactly how DocSynchronizer leaks it.
    const { code, out } = run(`void withTimeout(new Promise(() => {}), 20);`);
    expect(out).toContain("a document sync timed out waiting for the document");
    expect(out).toContain("still running");
    expect(code).toBe(0);
  });

  it("still ends on any other unhandled rejection, logging it", () => {
    const { code, out } = run(`void Promise.reject(new Error("something else broke"));`);
    expect(out).toContain("unhandled rejection");
    expect(out).toContain("something else broke");
    expect(out).not.toContain("still running");
    expect(code).toBe(1);
  });
});

/**
 * A node that owns its process sends what would otherwise be bare text to its log: automerge-repo's
 * multi-line errors printed with console.log (with whole messages in them), one bounded JSON line
 * each; and process warnings, the harmless TimeoutNegativeWarning of automerge-repo's throttle kept
 * at debug, so it no longer appears in a node's log.
 */
describe("what libraries print, in a node process", () => {
  const ROUTE = fileURLToPath(new URL("../../dist/node/process-guard.js", import.meta.url));
  const runRouted = (body: string) => {
    const program = `
      import { pino } from "pino";
      import { routeProcessOutput } from ${JSON.stringify(ROUTE)};
      routeProcessOutput(pino({ level: "info" }));
      ${body}
      setTimeout(() => process.exit(0), 100);
    `;
    const result = spawnSync(process.execPath, ["--input-type=module", "-e", program], {
      cwd: ROOT,
      encoding: "utf8",
      timeout: 20_000,
    });
    return { stdout: result.stdout, stderr: result.stderr };
  };

  it("automerge-repo's console errors become one bounded log line each", () => {
    const { stdout, stderr } = runRouted(`
      const err = new RangeError("duplicate seq 3 found for actor 8d4e");
      console.log("error receiving message", { err, message: { type: "sync", data: new Uint8Array(4_000_000), documentId: "x".repeat(100_000) } });
    `);
    expect(stderr).toBe("");
    const lines = stdout.trim().split("\n");
    expect(lines).toHaveLength(1);
    const entry = JSON.parse(lines[0] as string) as { level: number; msg: string; source: string };
    expect(entry.source).toBe("console");
    expect(entry.msg).toContain("error receiving message");
    expect(entry.msg).toContain("duplicate seq 3");
    expect(entry.msg.length).toBeLessThan(2200);
  });

  it("the throttle's negative timeout warning is not in the log; other warnings are, as JSON", () => {
    const { stdout, stderr } = runRouted(`
      setTimeout(() => undefined, -30);
      process.emitWarning("something to know", "OtherWarning");
    `);
    expect(stderr).toBe("");
    expect(stdout).not.toContain("TimeoutNegativeWarning");
    const entries = stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { msg: string; warning: string });
    expect(entries).toEqual([expect.objectContaining({ msg: "process warning", warning: "OtherWarning" })]);
  });
});
