import { createHash } from "node:crypto";
import { cp, mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { credentials, Metadata, type ServiceError } from "@grpc/grpc-js";
import { afterAll, describe, expect, test } from "vitest";
import { Trainer, TrainerServiceClient } from "../../node/api/generated/concordat/v1/trainers.js";
import { initDataDir } from "../../node/setup.js";
import { startNode, type StartedNode } from "../../bench/lib/nodes.js";
import { runCli } from "../helpers/process-node.js";

const TRAINERS = 350;

function unary<Req, Res>(
  fn: (req: Req, md: Metadata, opts: { deadline: Date }, cb: (e: ServiceError | null, r: Res) => void) => unknown,
  req: Req,
  md: Metadata,
): Promise<Res> {
  return new Promise((resolve, reject) =>
    fn(req, md, { deadline: new Date(Date.now() + 20_000) }, (e, r) => (e ? reject(e) : resolve(r))),
  );
}

async function countTrainers(node: StartedNode, metadata: Metadata): Promise<number> {
  const client = new TrainerServiceClient(node.address, credentials.createInsecure());
  try {
    let count = 0;
    let pageToken = "";
    do {
      const page = await unary(client.listTrainers.bind(client), { pageSize: 1000, pageToken }, metadata);
      count += page.trainers.length;
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
    return count;
  } finally {
    client.close();
  }
}

/** The database's write-ahead log (the largest, should LevelDB have started a second). */
async function writeAheadLog(dataDir: string): Promise<string> {
  const db = join(dataDir, "db");
  const logs = (await readdir(db)).filter((n) => n.endsWith(".log"));
  const sized = await Promise.all(logs.map(async (n) => ({ path: join(db, n), size: (await stat(join(db, n))).size })));
  sized.sort((a, b) => b.size - a.size);
  return (sized[0] as { path: string }).path;
}

/**
 * LevelDB's default recovery drops a damaged log record, and what follows it, without a word: the node
 * would start with part of its trainers gone. A node process writes 350 trainers and is killed -9 (so
 * they are all in the log); bytes in the middle of the log are changed: the node refuses to start,
 * every time, naming the file and the byte and saying to restore from a backup, and leaves the log as
 * it was. A log whose last bytes are cut (a write interrupted by the kill) starts normally.
 */
describe("a damaged write-ahead log", () => {
  let dir = "";
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test("is refused at start with a message pointing at restore; a torn end of the log is not", async () => {
    dir = await mkdtemp(join(tmpdir(), "concordat-damaged-log-"));
    const dataDir = join(dir, "node");
    await initDataDir({
      dataDir,
      hubId: "damaged",
      name: "Damaged hub",
      secretariat: false,
      baseConfig: await readFile(new URL("../../config/default.yaml", import.meta.url), "utf8"),
      baseConfigSource: "config/default.yaml",
    });
    const metadata = new Metadata();
    metadata.set("authorization", `Bearer ${(await readFile(join(dataDir, "admin.token"), "utf8")).trim()}`);

    const node = await startNode(dataDir, { loopback: true });
    const client = new TrainerServiceClient(node.address, credentials.createInsecure());
    for (let i = 0; i < TRAINERS; i += 1) {
      const id = `D-${String(i).padStart(4, "0")}`;
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
    client.close();
    expect((await node.kill()).signal).toBe("SIGKILL");

    const torn = join(dir, "torn");
    await cp(dataDir, torn, { recursive: true });

    // Damage the middle of the log.
    const log = await writeAheadLog(dataDir);
    const bytes = await readFile(log);
    expect(bytes.byteLength).toBeGreaterThan(64 * 1024);
    const middle = Math.floor(bytes.byteLength / 2);
    for (let i = middle; i < middle + 16; i += 1) bytes[i] = (bytes[i] as number) ^ 0x5a;
    await writeFile(log, bytes);
    const digest = createHash("sha256").update(bytes).digest("hex");

    for (let attempt = 1; attempt <= 2; attempt += 1) {
      const outcome = await startNode(dataDir, { loopback: true }).then(
        async (started) => {
          const count = await countTrainers(started, metadata);
          await started.kill();
          return `attempt ${attempt}: the node started, with ${count} of ${TRAINERS} trainers`;
        },
        (error: Error) => error.message,
      );
      expect(outcome).toMatch(/^node exited before starting \(code 6, signal null\)/);
      expect(outcome).toContain(
        `the database ${join(dataDir, "db")} is damaged: its file ${log.slice(join(dataDir, "db").length + 1)} has`,
      );
      expect(outcome).toMatch(/ at byte \d+\./);
      expect(outcome).toContain("concordat restore BACKUP --data NEW_DIR");
      // Refused before LevelDB touched it: the next attempt finds the same damage.
      expect(
        createHash("sha256")
          .update(await readFile(log))
          .digest("hex"),
      ).toBe(digest);
    }
    // `--json` users get it too, with the same exit code.
    const json = await runCli(["start", "--data", dataDir, "--json"]);
    expect(json.code).toBe(6);
    expect(
      (JSON.parse(json.stderr.trim().split("\n").pop() as string) as { error: { message: string } }).error.message,
    ).toContain("is damaged");

    // The undamaged copy, with only the end of its log cut: starts, with at most the last write lost.
    const tornLog = await writeAheadLog(torn);
    await truncate(tornLog, (await stat(tornLog)).size - 3);
    const restarted = await startNode(torn, { loopback: true });
    try {
      const count = await countTrainers(restarted, metadata);
      expect(count).toBeGreaterThanOrEqual(TRAINERS - 1);
      expect(count).toBeLessThanOrEqual(TRAINERS);
      expect(
        restarted.logs.some(
          (l) =>
            l.msg ===
            "the database log ends with an interrupted write (normal after a crash); LevelDB discards that last record",
        ),
      ).toBe(true);
    } finally {
      restarted.child.kill("SIGTERM");
      await restarted.exited;
    }
  }, 180_000);
});
