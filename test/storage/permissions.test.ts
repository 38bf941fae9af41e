import { chmod, lstat, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { credentials, Metadata, type ServiceError } from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import { Trainer, TrainerServiceClient } from "../../node/api/generated/concordat/v1/trainers.js";
import { initDataDir } from "../../node/setup.js";
import { startNode, type StartedNode } from "../../bench/lib/nodes.js";
import { runCli } from "../helpers/process-node.js";

const dirs: string[] = [];
const nodes: StartedNode[] = [];
afterEach(async () => {
  for (const node of nodes.splice(0)) {
    node.child.kill("SIGKILL");
    await node.exited;
  }
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

/** Every directory under `root` (itself included) whose mode is not 0700 and every file not 0600. */
async function notPrivate(root: string): Promise<string[]> {
  const wrong: string[] = [];
  const visit = async (path: string) => {
    const info = await lstat(path);
    const mode = info.mode & 0o777;
    if (info.isDirectory()) {
      if (mode !== 0o700) wrong.push(`${path.slice(root.length) || "/"} ${mode.toString(8)}`);
      for (const name of await readdir(path)) await visit(join(path, name));
    } else if (mode !== 0o600) {
      wrong.push(`${path.slice(root.length)} ${mode.toString(8)}`);
    }
  };
  await visit(root);
  return wrong;
}

function unary<Req, Res>(
  fn: (req: Req, md: Metadata, opts: { deadline: Date }, cb: (e: ServiceError | null, r: Res) => void) => unknown,
  req: Req,
  md: Metadata,
): Promise<Res> {
  return new Promise((resolve, reject) =>
    fn(req, md, { deadline: new Date(Date.now() + 20_000) }, (e, r) => (e ? reject(e) : resolve(r))),
  );
}

async function bearer(dataDir: string): Promise<Metadata> {
  const metadata = new Metadata();
  metadata.set("authorization", `Bearer ${(await readFile(join(dataDir, "admin.token"), "utf8")).trim()}`);
  return metadata;
}

async function addTrainers(node: StartedNode, metadata: Metadata, count: number): Promise<void> {
  const client = new TrainerServiceClient(node.address, credentials.createInsecure());
  try {
    for (let i = 0; i < count; i += 1) {
      const id = `P-${i}`;
      await unary(
        client.addTrainer.bind(client),
        {
          trainer: Trainer.fromPartial({
            id,
            displayName: `Trainer ${i}`,
            languages: [{ tag: "fr", level: "B2" }],
            regions: ["SN"],
            private: { email: `${id.toLowerCase()}@example.org` },
          }),
        },
        metadata,
      );
    }
  } finally {
    client.close();
  }
}

/**
 * The data directory holds personal data and the node's key: only its user may read it, whatever
 * the umask of the shell that ran `init`, `start` or `restore`.
 */
describe("data directory permissions", () => {
  it("init, start, writes, backup and restore under umask 022 leave only 0700 directories and 0600 files", async () => {
    const dir = await mkdtemp(join(tmpdir(), "concordat-perms-"));
    dirs.push(dir);
    const data = join(dir, "node");
    const init = await runCli(["init", "--data", data, "--hub", "perm-hub", "--name", "Permissions hub"], {
      umask: 0o022,
    });
    expect(init.stderr).toBe("");
    expect(init.code).toBe(0);
    expect(await notPrivate(data)).toEqual([]);

    const node = await startNode(data, { loopback: true, umask: 0o022 });
    nodes.push(node);
    await addTrainers(node, await bearer(data), 30);
    // While it runs: LevelDB's files of this run and node.json.
    expect((await readdir(data)).sort()).toContain("node.json");
    expect(await notPrivate(data)).toEqual([]);

    const backupFile = join(dir, "hub.backup");
    const backup = await runCli(["--data", data, "backup", "--out", backupFile], { umask: 0o022 });
    expect(backup.code).toBe(0);
    node.child.kill("SIGTERM");
    expect((await node.exited).code).toBe(0);
    expect(await notPrivate(data)).toEqual([]);

    const restored = join(dir, "restored");
    const restore = await runCli(["restore", backupFile, "--data", restored], { umask: 0o022 });
    expect(restore.code).toBe(0);
    expect(await notPrivate(restored)).toEqual([]);
  });

  it("a data directory an older version left readable by others is made private at start, and the log says what was fixed", async () => {
    const dir = await mkdtemp(join(tmpdir(), "concordat-perms-"));
    dirs.push(dir);
    const data = join(dir, "node");
    await initDataDir({
      dataDir: data,
      hubId: "old-hub",
      name: "Old hub",
      secretariat: false,
      baseConfig: await readFile(new URL("../../config/default.yaml", import.meta.url), "utf8"),
      baseConfigSource: "config/default.yaml",
    });
    // What an older version left: directories 0755, the config and LevelDB's files 0644 (its key
    // and token were already 0600).
    await chmod(data, 0o755);
    await chmod(join(data, "db"), 0o755);
    await chmod(join(data, "config.yaml"), 0o644);
    const dbFiles = await readdir(join(data, "db"));
    for (const name of dbFiles) await chmod(join(data, "db", name), 0o644);
    expect((await notPrivate(data)).length).toBe(dbFiles.length + 3);

    const node = await startNode(data, { loopback: true });
    nodes.push(node);
    expect(await notPrivate(data)).toEqual([]);
    const fixed = node.logs.find(
      (l) => l.msg === "the data directory was readable by others: group and other permissions removed",
    );
    expect(fixed?.fixed).toBe(dbFiles.length + 3);
    expect(fixed?.files).toContain(`${join(data, "config.yaml")} 644 -> 600`);
    expect(fixed?.files).toContain(`${data} 755 -> 700`);
  });
});
