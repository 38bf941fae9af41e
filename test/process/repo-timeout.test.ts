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
  const result = spawnSync(process.execPath, ["--input-type=module", "-e", program], { cwd: ROOT, encoding: "utf8", timeout: 20_000 });
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
