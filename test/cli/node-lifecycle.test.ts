import { spawn } from "node:child_process";
import { once } from "node:events";
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { parse } from "yaml";
import { isProcessAlive } from "../../node/runtime-file.js";
import { makeTempDir } from "../helpers/harness.js";
import { CLI_ENTRY, runCli } from "../helpers/process-node.js";

/** Loopback and free ports, stored in the data directory's config by `init`: no environment needed. */
const LISTEN = ["--api-port", "0", "--listen", "/ip4/127.0.0.1/tcp/0"];

describe("a node's data directory, from the command line", () => {
  let root = "";
  afterAll(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  test("init stores --api-port and --listen; a command right after `start &` waits for the node; `stop` stops it", async () => {
    root = await makeTempDir("concordat-lifecycle-");
    const data = join(root, "sec");
    const init = await runCli([
      "--data",
      data,
      "init",
      "--secretariat",
      "--hub",
      "sec-one",
      "--name",
      "Secretariat",
      ...LISTEN,
    ]);
    expect(init.code).toBe(0);
    const config = parse(await readFile(join(data, "config.yaml"), "utf8")) as {
      api: { port: number };
      console: { port: number };
      network: { listen: string[] };
    };
    expect(config.api.port).toBe(0);
    // Its own API port and no console port: a free one, so that it never takes another node's 7480.
    expect(config.console.port).toBe(0);
    expect(config.network.listen).toEqual(["/ip4/127.0.0.1/tcp/0"]);

    // `concordat --data DIR start &`, with none of the environment's overrides: the config decides.
    const env: NodeJS.ProcessEnv = { ...process.env, CONCORDAT_LOG_LEVEL: "warn", CONCORDAT_LOG_PRETTY: "false" };
    for (const name of [
      "CONCORDAT_API_PORT",
      "CONCORDAT_NETWORK_LISTEN",
      "CONCORDAT_DATA",
      "CONCORDAT_API",
      "CONCORDAT_TOKEN",
    ])
      delete env[name];
    const node = spawn(process.execPath, [CLI_ENTRY, "--data", data, "start"], { env, stdio: "ignore" });
    const exited = once(node, "exit");
    try {
      const status = await runCli(["--data", data, "status", "--json"], { timeoutMs: 60_000 });
      expect(status.stderr).toBe("");
      expect(status.code).toBe(0);
      expect(JSON.parse(status.stdout)).toMatchObject({ hubId: "sec-one", role: "secretariat" });

      const stop = await runCli(["--data", data, "stop"], { timeoutMs: 60_000 });
      expect(stop.stderr).toBe("");
      expect(stop.stdout).toMatch(new RegExp(`^Stopped the node of .* \\(hub 'sec-one', pid ${node.pid}\\)\\.`));
      expect(stop.code).toBe(0);
      expect(isProcessAlive(node.pid as number)).toBe(false);
      const [code] = (await exited) as [number | null];
      expect(code).toBe(0);

      const again = await runCli(["--data", data, "stop"]);
      expect(again.code).toBe(3);
      expect(again.stderr).toContain(
        `no node is running for ${data} (start it with \`concordat --data ${data} start\`)`,
      );
    } finally {
      node.kill("SIGKILL");
    }
  }, 120_000);

  test("a command right after the very first `start &` on a directory that does not exist yet waits for the node", async () => {
    root ||= await makeTempDir("concordat-lifecycle-");
    const data = join(root, "first", "data");
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      CONCORDAT_LOG_LEVEL: "warn",
      CONCORDAT_API_PORT: "0",
      CONCORDAT_CONSOLE_PORT: "0",
      CONCORDAT_NETWORK_LISTEN: "/ip4/127.0.0.1/tcp/0",
    };
    for (const name of ["CONCORDAT_DATA", "CONCORDAT_API", "CONCORDAT_TOKEN"]) delete env[name];
    const node = spawn(process.execPath, [CLI_ENTRY, "--data", data, "start"], { env, stdio: "ignore" });
    const exited = once(node, "exit");
    try {
      const status = await runCli(["--data", data, "status", "--json"], { timeoutMs: 60_000 });
      expect(status.stderr).toBe("");
      expect(status.code).toBe(0);
      expect(JSON.parse(status.stdout)).toMatchObject({ hubId: "local-hub", role: "hub" });
      expect((await runCli(["--data", data, "stop"], { timeoutMs: 60_000 })).code).toBe(0);
      await exited;
    } finally {
      node.kill("SIGKILL");
    }
  }, 120_000);

  test("`start` prints the web console's address, and the console answers there", async () => {
    root ||= await makeTempDir("concordat-lifecycle-");
    const data = join(root, "console");
    expect(
      (await runCli(["--data", data, "init", "--hub", "con-one", "--name", "Hub", ...LISTEN, "--console-port", "0"]))
        .code,
    ).toBe(0);
    const env: NodeJS.ProcessEnv = { ...process.env, CONCORDAT_LOG_LEVEL: "warn", CONCORDAT_LOG_PRETTY: "false" };
    const node = spawn(process.execPath, [CLI_ENTRY, "--data", data, "start"], {
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    try {
      let printed = "";
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no console address printed within 60 s: ${printed}`)), 60_000);
        const read = (chunk: Buffer) => {
          printed += chunk.toString();
          const match = /web console: open (http:\/\/127\.0\.0\.1:\d+\/) and sign in with an access token/.exec(
            printed,
          );
          if (match) {
            clearTimeout(timer);
            resolve(match[1] as string);
          }
        };
        node.stdout?.on("data", read);
        node.stderr?.on("data", read);
      });
      const response = await fetch(url);
      expect(response.status).toBe(200);
      expect(response.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
      expect(await response.text()).toContain("<title>Concordat</title>");
      const runtime = JSON.parse(await readFile(join(data, "node.json"), "utf8")) as { console?: string };
      expect(runtime.console).toBe(url);
      expect((await runCli(["--data", data, "stop"], { timeoutMs: 60_000 })).code).toBe(0);
    } finally {
      node.kill("SIGKILL");
    }
  }, 120_000);

  test("restore takes --api-port and --listen into the restored config, keeping the rest", async () => {
    root ||= await makeTempDir("concordat-lifecycle-");
    const data = join(root, "hub");
    expect((await runCli(["--data", data, "init", "--hub", "hub-one", "--name", "Hub", ...LISTEN])).code).toBe(0);
    const node = spawn(process.execPath, [CLI_ENTRY, "--data", data, "start"], {
      env: { ...process.env, CONCORDAT_LOG_LEVEL: "warn" },
      stdio: "ignore",
    });
    try {
      const out = join(root, "hub.backup");
      const backup = await runCli(["--data", data, "backup", "--out", out], { timeoutMs: 60_000 });
      expect(backup.code).toBe(0);
      const restored = join(root, "restored");
      const restore = await runCli([
        "--data",
        restored,
        "restore",
        out,
        "--api-port",
        "7431",
        "--listen",
        "/ip4/127.0.0.1/tcp/7531",
      ]);
      expect(restore.stderr).toBe("");
      expect(restore.code).toBe(0);
      const config = parse(await readFile(join(restored, "config.yaml"), "utf8")) as {
        hub: { id: string };
        api: { port: number };
        network: { listen: string[] };
      };
      expect(config).toMatchObject({
        hub: { id: "hub-one" },
        api: { port: 7431 },
        network: { listen: ["/ip4/127.0.0.1/tcp/7531"] },
      });
    } finally {
      node.kill("SIGTERM");
      await once(node, "exit");
    }
    const badPort = await runCli([
      "--data",
      join(root, "bad"),
      "init",
      "--hub",
      "bad-one",
      "--name",
      "Bad",
      "--api-port",
      "70000",
    ]);
    expect(badPort.code).toBe(2);
    expect(badPort.stderr).toContain("'70000' is not a port");
    const badListen = await runCli([
      "--data",
      join(root, "bad"),
      "init",
      "--hub",
      "bad-one",
      "--name",
      "Bad",
      "--listen",
      "127.0.0.1:7500",
    ]);
    expect(badListen.code).toBe(2);
    expect(badListen.stderr).toContain("network.listen.0: must be a multiaddr");
  }, 120_000);
});
