import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { statusCommand } from "../../cli/commands/status.js";
import { connect } from "../../cli/connection.js";
import { ExitCode } from "../../cli/errors.js";
import { startingDataDir } from "../../cli/start-marker.js";
import { initDataDir } from "../../node/setup.js";
import {
  isProcessAlive,
  markStarting,
  readRuntimeFile,
  releaseRuntimeFile,
  writeRuntimeFile,
  type RuntimeFile,
} from "../../node/runtime-file.js";
import { waitUntil } from "../../bench/lib/wait.js";
import { DEFAULT_CONFIG_URL, makeTempDir, startTestNode, type TestNode } from "../helpers/harness.js";
import { expectCliError, memoryIo } from "../helpers/io.js";

/** A pid that no process has any more: a process that has ended (and was reaped). */
function deadPid(): number {
  const result = spawnSync(process.execPath, ["-e", ""], { timeout: 10_000 });
  if (!result.pid) throw new Error("could not run a process");
  return result.pid;
}

const nodes: TestNode[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.cleanup();
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

/** A second hub's data directory (initialised, never started), whose config names `apiPort`. */
async function otherHub(hubId: string, apiPort: number): Promise<{ data: string; peerId: string }> {
  const root = await makeTempDir("concordat-discovery-");
  dirs.push(root);
  const data = join(root, "kla");
  const init = await initDataDir({
    dataDir: data,
    hubId,
    name: "Kampala",
    secretariat: false,
    baseConfig: await readFile(DEFAULT_CONFIG_URL, "utf8"),
    baseConfigSource: DEFAULT_CONFIG_URL.pathname,
    listen: { apiPort, listen: ["/ip4/127.0.0.1/tcp/0"] },
  });
  return { data, peerId: init.peerId };
}

function portOf(address: string): number {
  return Number(address.slice(address.lastIndexOf(":") + 1));
}

describe("the CLI reaches the node of the data directory it was given", () => {
  test("a stopped node's directory is reported at once, not answered by whatever listens on its configured port", async () => {
    const other = await startTestNode({ hubId: "nairobi-ptc" });
    nodes.push(other);
    // kla's config names the port another hub's node holds now; kla's own node is not running.
    const kla = await otherHub("kla-hub", portOf(other.address));
    const error = await expectCliError(statusCommand({ data: kla.data }, memoryIo()));
    expect(error.exitCode).toBe(ExitCode.Unavailable);
    expect(error.message).toBe(
      `no node is running for ${kla.data} (start it with \`concordat --data ${kla.data} start\`)`,
    );
  });

  test("a node.json that points at another hub's node is refused, naming both hubs", async () => {
    const other = await startTestNode({ hubId: "nairobi-ptc" });
    nodes.push(other);
    const kla = await otherHub("kla-hub", 7400);
    // Left by kla's node that was killed; its pid now belongs to a live process (this one).
    await writeRuntimeFile(join(kla.data, "node.json"), {
      state: "running",
      pid: process.pid,
      api: other.address,
      tls: false,
      hubId: "kla-hub",
      peerId: kla.peerId,
      libp2p: [],
      startedAt: new Date().toISOString(),
    });
    const error = await expectCliError(statusCommand({ data: kla.data }, memoryIo()));
    expect(error.exitCode).toBe(ExitCode.Unavailable);
    expect(error.message).toContain(
      `the node at ${other.address} is hub 'nairobi-ptc', not ${kla.data}'s hub 'kla-hub'`,
    );
  });

  test("a node.json left by a node that was killed says that no node runs", async () => {
    const kla = await otherHub("kla-hub", 7400);
    const pid = deadPid();
    await writeRuntimeFile(join(kla.data, "node.json"), {
      state: "starting",
      pid,
      startedAt: new Date().toISOString(),
    });
    const error = await expectCliError(connect({ data: kla.data }, {}));
    expect(error.exitCode).toBe(ExitCode.Unavailable);
    expect(error.message).toMatch(
      new RegExp(`^no node is running for .*: its node \\(pid ${pid}\\) ended without removing`),
    );
  });

  test("a command waits while the directory's node starts, and says so when it takes too long", async () => {
    const hub = await startTestNode({ hubId: "sec-hub" });
    nodes.push(hub);
    const path = join(hub.dataDir, "node.json");
    const running = await readFile(path, "utf8");
    await writeRuntimeFile(path, { state: "starting", pid: process.pid, startedAt: "2026-01-01T00:00:00.000Z" });

    const late = await expectCliError(connect({ data: hub.dataDir, startWaitMs: 300 }, {}));
    expect(late.exitCode).toBe(ExitCode.Unavailable);
    expect(late.message).toMatch(/^the node in .* is still starting \(pid \d+, since 2026-01-01T00:00:00.000Z\)/);

    // The node answers once node.json says it runs: the command that waited goes on.
    const waiting = connect({ data: hub.dataDir, startWaitMs: 20_000 }, {});
    // Written whole, as the node writes it (a reader never meets half a file).
    setTimeout(() => void writeRuntimeFile(path, JSON.parse(running) as RuntimeFile), 300);
    const connection = await waiting;
    try {
      const status = await connection.node.getStatus({});
      expect(status.hubId).toBe("sec-hub");
    } finally {
      connection.close();
    }
  });
});

describe("node.json", () => {
  test("a starting marker never replaces another live process's file, and is removed only by its writer", async () => {
    const root = await makeTempDir("concordat-runtime-");
    dirs.push(root);
    const path = join(root, "node.json");
    const mine = await markStarting(path);
    expect(mine).toMatchObject({ state: "starting", pid: process.pid });
    // A second starter (another pid) finds a live node's marker and leaves it.
    const parent = process.ppid;
    expect(await markStarting(path, parent)).toBeUndefined();
    expect(await readRuntimeFile(path)).toEqual({ kind: "found", runtime: mine });
    // A marker of a process that is gone is replaced.
    await writeRuntimeFile(path, { state: "starting", pid: deadPid(), startedAt: "x" });
    const again = await markStarting(path);
    expect(again?.pid).toBe(process.pid);
    await releaseRuntimeFile(path, { pid: process.pid, startedAt: "another start" });
    expect((await readRuntimeFile(path)).kind).toBe("found");
    await releaseRuntimeFile(path, again as NonNullable<typeof again>);
    expect((await readRuntimeFile(path)).kind).toBe("missing");
  });

  test.runIf(process.platform === "linux")(
    "a process that has ended but was not reaped yet (a zombie) is not a live node",
    async () => {
      // The shell starts a child, then becomes a `sleep` that never reaps it.
      const shell = spawn("sh", ["-c", "sleep 0 & echo $!; exec sleep 20"], { stdio: ["ignore", "pipe", "ignore"] });
      try {
        const [line] = (await once(shell.stdout, "data")) as [Buffer];
        const child = Number(line.toString().trim());
        await waitUntil(
          "the child to end",
          async () => (await readFile(`/proc/${child}/stat`, "utf8")).includes(") Z "),
          10_000,
          20,
        );
        expect(isProcessAlive(child)).toBe(false);
        expect(isProcessAlive(shell.pid ?? 0)).toBe(true);
      } finally {
        shell.kill("SIGKILL");
      }
    },
  );

  test("the entry file finds the data directory of `start` as commander would", () => {
    const argv = (...args: string[]) => ["node", "main.js", ...args];
    expect(startingDataDir(argv("start"), {})).toBe("./data");
    expect(startingDataDir(argv("start"), { CONCORDAT_DATA: "/srv/hub" })).toBe("/srv/hub");
    expect(startingDataDir(argv("--data", "./sec", "start"), {})).toBe("./sec");
    expect(startingDataDir(argv("start", "--data", "./sec"), {})).toBe("./sec");
    expect(startingDataDir(argv("--json", "--data=./a", "start", "--config", "start"), {})).toBe("./a");
    expect(startingDataDir(argv("--data", "start", "status"), {})).toBeUndefined();
    expect(startingDataDir(argv("status", "--data", "./sec"), {})).toBeUndefined();
    expect(startingDataDir(argv("trainers", "start"), {})).toBeUndefined();
  });
});
