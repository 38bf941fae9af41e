import { spawn } from "node:child_process";
import { once } from "node:events";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, test } from "vitest";
import { isProcessAlive, readRuntimeFile } from "../../node/runtime-file.js";
import { makeTempDir } from "../helpers/harness.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Polls `check` every 100 ms until it holds or `timeoutMs` passes. */
async function until(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await delay(100);
  }
}

/**
 * `npm run concordat -- start &` then `kill $!`: the signal reaches npm, which ends with the shell it
 * ran the script in; the node below them (npm → sh → node) must not stay behind holding its ports
 * and its database.
 */
describe("a node started through npm", () => {
  let root = "";
  afterAll(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  test("stops when the npm process that started it is killed", async () => {
    root = await makeTempDir("concordat-npm-");
    const data = join(root, "data");
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      CONCORDAT_API_PORT: "0",
      CONCORDAT_NETWORK_LISTEN: "/ip4/127.0.0.1/tcp/0",
      CONCORDAT_LOG_LEVEL: "warn",
      CONCORDAT_LOG_PRETTY: "false",
    };
    // As a user's shell would run it: npm on its own (not the test's npm lifecycle).
    for (const name of Object.keys(env)) if (name.startsWith("npm_")) delete env[name];
    const npm = spawn("npm", ["run", "--silent", "concordat", "--", "--data", data, "start"], { cwd: ROOT, env, stdio: "ignore" });
    const npmExited = once(npm, "exit");
    let nodePid = 0;
    try {
      await until(
        async () => {
          const read = await readRuntimeFile(join(data, "node.json"));
          if (read.kind === "found" && read.runtime.state === "running") nodePid = read.runtime.pid;
          return nodePid !== 0;
        },
        60_000,
        "the node to start",
      );
      expect(nodePid).not.toBe(npm.pid);
      npm.kill("SIGTERM");
      await npmExited;
      await until(() => !isProcessAlive(nodePid), 30_000, `the node (pid ${nodePid}) to end after npm was killed`);
      expect((await readRuntimeFile(join(data, "node.json"))).kind).toBe("missing");
    } finally {
      if (nodePid && isProcessAlive(nodePid)) process.kill(nodePid, "SIGKILL");
      npm.kill("SIGKILL");
    }
  }, 120_000);
});
