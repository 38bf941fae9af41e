import { spawn } from "node:child_process";
import { once } from "node:events";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, test } from "vitest";
import { isProcessAlive, readRuntimeFile } from "../../node/runtime-file.js";
import { waitUntil } from "../../bench/lib/wait.js";
import { makeTempDir } from "../helpers/harness.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

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
      CONCORDAT_CONSOLE_PORT: "0",
      CONCORDAT_NETWORK_LISTEN: "/ip4/127.0.0.1/tcp/0",
      CONCORDAT_LOG_LEVEL: "warn",
      CONCORDAT_LOG_PRETTY: "false",
    };
    // As a user's shell would run it: npm on its own (not the test's npm lifecycle).
    for (const name of Object.keys(env)) if (name.startsWith("npm_")) delete env[name];
    const npm = spawn("npm", ["run", "--silent", "concordat", "--", "--data", data, "start"], {
      cwd: ROOT,
      env,
      stdio: "ignore",
    });
    const npmExited = once(npm, "exit");
    let nodePid = 0;
    try {
      await waitUntil(
        "the node to start",
        async () => {
          const read = await readRuntimeFile(join(data, "node.json"));
          if (read.kind === "found" && read.runtime.state === "running") nodePid = read.runtime.pid;
          return nodePid !== 0;
        },
        60_000,
        100,
      );
      expect(nodePid).not.toBe(npm.pid);
      npm.kill("SIGTERM");
      await npmExited;
      await waitUntil(
        `the node (pid ${nodePid}) to end after npm was killed`,
        () => !isProcessAlive(nodePid),
        30_000,
        100,
      );
      expect((await readRuntimeFile(join(data, "node.json"))).kind).toBe("missing");
    } finally {
      if (nodePid && isProcessAlive(nodePid)) process.kill(nodePid, "SIGKILL");
      npm.kill("SIGKILL");
    }
  }, 120_000);
});
