import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { startNode } from "../../bench/lib/nodes.js";
import { CLI_ENTRY } from "../helpers/process-node.js";

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the built `concordat` command as a user would, with a bounded time. */
function concordat(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI_ENTRY, ...args],
      { env: { ...process.env, CONCORDAT_DATA: "", CONCORDAT_TOKEN: "", CONCORDAT_API: "", ...env }, timeout: 30_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

const COMMANDS = [
  [],
  ["init"],
  ["id"],
  ["start"],
  ["stop"],
  ["status"],
  ["peers"],
  ["events"],
  ["federation"],
  ["federation", "create"],
  ["federation", "admit"],
  ["federation", "remove"],
  ["federation", "rotate-key"],
  ["federation", "list"],
  ["core"],
  ["core", "release"],
  ["curriculum"],
  ["mappings"],
  ["audit"],
  ["audit", "verify"],
  ["credentials"],
  ["credentials", "verify"],
  ["keys"],
  ["keys", "rotate"],
  ["keys", "status"],
  ["operators"],
  ["operators", "add"],
  ["operators", "list"],
  ["operators", "revoke"],
  ["trainers"],
  ["trainers", "add"],
  ["trainers", "get"],
  ["trainers", "list"],
  ["trainers", "update"],
  ["trainers", "remove"],
  ["trainers", "import"],
  ["trainers", "export"],
  ["trainers", "history"],
  ["trainers", "deploy"],
  ["trainers", "lineage"],
  ["trainers", "release"],
  ["trainers", "accept"],
  ["trainers", "find"],
  ["trainers", "freebusy"],
  ["backup"],
  ["restore"],
];

describe("the concordat command", () => {
  let dir = "";
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test.each(COMMANDS.map((c) => [c.join(" ") || "(root)", c]))("%s --help", async (_name, command) => {
    const run = await concordat([...(command as string[]), "--help"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Usage: concordat/);
  });

  test("usage mistakes exit 2 and say what is wrong", async () => {
    const unknown = await concordat(["trainers", "frobnicate"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command 'frobnicate'/);
    const missing = await concordat(["init", "--hub", "x1"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--name/);
    const role = await concordat(["operators", "add", "--name", "a", "--role", "root"]);
    expect(role.code).toBe(2);
    expect(role.stderr).toMatch(/Allowed choices are admin, operator, viewer/);
  });

  test("init creates a 0600 key and refuses to overwrite it; no node running means exit 3", async () => {
    dir = await mkdtemp(join(tmpdir(), "concordat-cli-"));
    const data = join(dir, "hub");
    const first = await concordat(["init", "--data", data, "--hub", "kigali", "--name", "Kigali hub", "--json"]);
    expect(first.code).toBe(0);
    const created = JSON.parse(first.stdout) as { peerId: string; identity: string };
    expect(created.peerId).toMatch(/^12D3KooW/);
    expect((await stat(created.identity)).mode & 0o777).toBe(0o600);
    const keyBefore = await readFile(created.identity);

    const id = await concordat(["id", "--data", data]);
    expect(id.stdout.trim()).toBe(created.peerId);
    const noNode = await concordat(["id", "--data", join(dir, "nowhere")]);
    expect(noNode.code).toBe(5);
    expect(noNode.stderr).toMatch(/holds no node identity/);

    const again = await concordat(["init", "--data", data, "--hub", "kigali", "--name", "Kigali hub"]);
    expect(again.code).toBe(6);
    expect(again.stderr).toMatch(/refusing to overwrite/);
    expect(await readFile(created.identity)).toEqual(keyBefore);

    const badHub = await concordat(["init", "--data", join(dir, "other"), "--hub", "Bad Hub!", "--name", "x"]);
    expect(badHub.code).toBe(2);
    expect(badHub.stderr).toMatch(/hub\.id/);

    const down = await concordat(["status", "--data", data]);
    expect(down.code).toBe(3);
    expect(down.stderr).toContain(`no node is running for ${data} (start it with \`concordat --data ${data} start\`)`);

    const json = await concordat(["status", "--data", data, "--json"]);
    expect(JSON.parse(json.stderr)).toMatchObject({ error: { exitCode: 3 } });
  }, 180_000);

  test("start on an empty directory initialises a default hub from config/default.yaml and says so", async () => {
    dir ||= await mkdtemp(join(tmpdir(), "concordat-cli-"));
    const data = join(dir, "fresh");
    const node = await startNode(data, { loopback: true });
    try {
      expect(node.stderr()).toMatch(
        /First start: initialised a new hub identity 'local-hub' from .*config\/default\.yaml/,
      );
      const status = await concordat(["status", "--data", data, "--json"]);
      expect(status.code).toBe(0);
      expect(JSON.parse(status.stdout)).toMatchObject({ hubId: "local-hub", role: "hub", trainerCount: 0 });
      const wrongToken = await concordat([
        "status",
        "--data",
        data,
        "--token",
        "cct_0000000000000000.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
      ]);
      expect(wrongToken.code).toBe(4);
      expect(wrongToken.stderr).toMatch(/UNAUTHENTICATED/);
    } finally {
      node.child.kill("SIGTERM");
      const exit = await node.exited;
      expect(exit.code).toBe(0);
    }
  });
});
