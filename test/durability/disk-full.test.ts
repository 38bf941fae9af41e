import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { mkdtemp, open, readFile, rm, unlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { credentials, Metadata, status, type ServiceError } from "@grpc/grpc-js";
import { afterEach, describe, expect, test } from "vitest";
import { Trainer, TrainerServiceClient } from "../../node/api/generated/concordat/v1/trainers.js";
import { CLI_ENTRY } from "../helpers/process-node.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const DIST = fileURLToPath(new URL("../../dist/", import.meta.url));

/**
 * A small filesystem that this test can fill: a tmpfs mounted in a user and mount namespace of its
 * own (`unshare`, no root privileges needed where unprivileged user namespaces are allowed). Returns
 * why that cannot be done here, or undefined.
 */
function namespaceUnavailable(): string | undefined {
  const dir = mkdtempSync(join(tmpdir(), "concordat-unshare-probe-"));
  try {
    const probe = spawnSync(
      "unshare",
      ["--user", "--map-root-user", "--mount", "sh", "-c", 'mount -t tmpfs -o size=1m tmpfs "$0" && echo mounted', dir],
      {
        encoding: "utf8",
        timeout: 10_000,
      },
    );
    if (probe.error) return `'unshare' cannot run here (${probe.error.message})`;
    if (probe.status !== 0 || !probe.stdout.includes("mounted"))
      return `'unshare' cannot mount a private tmpfs here: ${probe.stderr.trim() || `exit ${probe.status}`}`;
    return undefined;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
const unavailable = namespaceUnavailable();
if (unavailable) process.stderr.write(`test/durability/disk-full.test.ts skipped: ${unavailable}\n`);

/** Runs `script` with sh in a new user + mount namespace where `$MNT` is a tmpfs of `size`. */
function inNamespace(mnt: string, size: string, script: string, env: Record<string, string> = {}): ChildProcess {
  return spawn(
    "unshare",
    [
      "--user",
      "--map-root-user",
      "--mount",
      "sh",
      "-c",
      `mount -t tmpfs -o size=${size} tmpfs "$MNT" || exit 97\n${script}`,
    ],
    {
      cwd: ROOT,
      env: { ...process.env, MNT: mnt, NODE: process.execPath, CLI: CLI_ENTRY, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
}

/** JSON lines of a process's stdout, and a bounded wait for one that matches. */
function follow(child: ChildProcess): {
  logs: Array<Record<string, unknown>>;
  stderr: () => string;
  next: (match: (line: Record<string, unknown>) => boolean, timeoutMs?: number) => Promise<Record<string, unknown>>;
} {
  const logs: Array<Record<string, unknown>> = [];
  const waiters: Array<{
    match: (l: Record<string, unknown>) => boolean;
    resolve: (l: Record<string, unknown>) => void;
  }> = [];
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (text) => {
    let line: Record<string, unknown>;
    try {
      line = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return;
    }
    logs.push(line);
    for (const w of [...waiters]) {
      if (w.match(line)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  });
  const exited = once(child, "exit");
  return {
    logs,
    stderr: () => stderr,
    next: (match, timeoutMs = 60_000) => {
      let timer: NodeJS.Timeout | undefined;
      return Promise.race([
        new Promise<Record<string, unknown>>((resolve) => waiters.push({ match, resolve })),
        exited.then(([code]) =>
          Promise.reject(new Error(`the process exited (${String(code)}) while waiting: ${stderr}`)),
        ),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`no matching log line within ${timeoutMs} ms: ${stderr}`)),
            timeoutMs,
          );
        }),
      ]).finally(() => clearTimeout(timer));
    },
  };
}

/** Writes zeros to `path` until the filesystem is full; returns how many bytes fit. */
async function fill(path: string): Promise<number> {
  const handle = await open(path, "w");
  const chunk = Buffer.alloc(1024 * 1024);
  let written = 0;
  try {
    for (;;) {
      const { bytesWritten } = await handle.write(chunk);
      written += bytesWritten;
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOSPC") throw error;
  } finally {
    await handle.close();
  }
  return written;
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

const children: ChildProcess[] = [];
const pids: number[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const pid of pids.splice(0)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
      await once(child, "exit");
    }
  }
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

const FULL_DISK =
  /^the disk holding \S+\/db is full \(IO error: \S+: No space left on device\); writes are refused until there is room again, reads go on$/;

/**
 * The store and the Repo's storage wired as node.ts wires them, in a process of their own on a small
 * disk. "log": the disk fills up under small writes (LevelDB's log append fails). "compaction": large
 * incompressible writes, with room for LevelDB's log but not for the table its background compaction
 * writes, which leaves LevelDB refusing every later write by itself.
 */
async function components(
  mode: "log" | "compaction",
): Promise<{ out: Record<string, unknown>; logs: Array<Record<string, unknown>> }> {
  const mnt = await mkdtemp(join(tmpdir(), "concordat-full-"));
  dirs.push(mnt);
  const program = `
    import { randomBytes } from "node:crypto";
    import { open, rm, statfs } from "node:fs/promises";
    import { pino } from "pino";
    import { NodeStore } from ${JSON.stringify(join(DIST, "node/storage/node-store.js"))};
    import { LevelStorageAdapter } from ${JSON.stringify(join(DIST, "node/storage/level-storage-adapter.js"))};
    import { SealableStorage } from ${JSON.stringify(join(DIST, "node/storage/shutdown-guard.js"))};
    const mnt = process.env.MNT;
    const compaction = process.env.MODE === "compaction";
    const out = { unhandled: [] };
    process.on("unhandledRejection", (reason) => out.unhandled.push(String(reason)));
    const logger = pino({ level: "info" });
    const bytes = (n, seed) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);
    // "log": the store notices by itself that there is room again; "compaction": the next write does.
    const store = await NodeStore.open(mnt + "/db", { sync: false, logger, recheckMs: compaction ? 600000 : 100 });
    const repo = new SealableStorage(new LevelStorageAdapter(store.repoLevel()), logger, { refusals: store });
    await repo.save(["doc", "snapshot", "a"], bytes(2000, 1));
    // Fill the disk: all of it, or all but 6.5 MiB (more than LevelDB's 4 MiB log, less than log and table).
    const leave = compaction ? 6.5 * 2 ** 20 : 0;
    const { bavail, bsize } = await statfs(mnt);
    const filler = await open(mnt + "/filler", "w");
    try {
      for (let free = bavail * bsize; free > leave; free -= 2 ** 20) await filler.write(new Uint8Array(2 ** 20));
    } catch (e) {
      if (e.code !== "ENOSPC") throw e;
    } finally {
      await filler.close();
    }
    const acked = [];
    for (let i = 0; i < 20000 && !out.refused; i += 1) {
      const value = compaction ? { i, pad: randomBytes(2000).toString("hex") } : { i, pad: "p".repeat(200) };
      await store.batch([{ type: "put", sublevel: store.meta, key: "m" + i, value }]).then(
        () => acked.push("m" + i),
        (e) => { out.refused = { code: e.code, message: e.message, isRefusal: store.isRefusal(e) }; },
      );
    }
    // A database cannot even be created on the full disk: said so, not an obscure I/O error.
    if (!compaction) out.openFull = await NodeStore.open(mnt + "/other-db", { sync: false }).then((s) => s.close().then(() => "opened"), (e) => e.code + ": " + e.message);
    out.again = await store.batch([{ type: "put", sublevel: store.meta, key: "again", value: 1 }]).then(() => "written", (e) => e.code);
    out.writable = store.writable;
    // The Repo's writes while refused: they resolve, wait, and are what reads see.
    out.saves = await Promise.all([
      repo.save(["doc", "incremental", "b"], bytes(3000, 2)),
      repo.save(["doc", "incremental", "c"], bytes(100, 3)),
      repo.remove(["doc", "incremental", "c"]),
      repo.save(["doc", "sync-state", "peer"], bytes(50, 4)),
      repo.save(["doc", "sync-state", "peer"], bytes(60, 5)),
    ]).then(() => "resolved", (e) => "rejected: " + e.message);
    out.waiting = repo.waitingWrites;
    out.loadB = (await repo.load(["doc", "incremental", "b"]))?.length;
    out.loadC = (await repo.load(["doc", "incremental", "c"])) === undefined ? "absent" : "present";
    out.range = (await repo.loadRange(["doc"])).map((c) => c.key.join("/") + ":" + c.data.length);
    out.readMeta = (await store.meta.get(acked[0])).i;
    await rm(mnt + "/filler");
    // LevelDB itself, with room again, written past the store (only to show its sticky error).
    if (compaction) out.raw = await store.db.put("raw", new Uint8Array(1)).then(() => "written", (e) => e.message);
    if (!compaction) {
      for (let i = 0; i < 1000 && !store.writable; i += 1) await new Promise((r) => setTimeout(r, 10));
      out.writableByItself = store.writable;
    }
    // The store's next write reopens the database (if it has not yet), and the Repo's writes follow.
    out.after = await store.batch([{ type: "put", sublevel: store.meta, key: "after", value: 2 }]).then(() => "written", (e) => e.code + ": " + e.message);
    out.writableAfter = store.writable;
    for (let i = 0; i < 1000 && repo.waitingWrites > 0; i += 1) await new Promise((r) => setTimeout(r, 10));
    out.waitingAfter = repo.waitingWrites;
    await repo.seal();
    await store.close();
    const reopened = await NodeStore.open(mnt + "/db", { sync: false });
    const keys = new Set(await reopened.meta.keys().all());
    out.lost = acked.filter((k) => !keys.has(k));
    out.acked = acked.length;
    out.hasAfter = keys.has("after");
    out.hasAgain = keys.has("again");
    out.repoKeys = (await reopened.repo.keys().all()).filter((k) => k.startsWith("d:")).map((k) => k.slice(2).split("\\u0000").filter(Boolean).join("/")).sort();
    await reopened.close();
    process.stderr.write("RESULT " + JSON.stringify(out) + "\\n");
  `;
  const child = inNamespace(mnt, "16m", `exec "$NODE" --input-type=module -e "$PROGRAM"`, {
    PROGRAM: program,
    MODE: mode,
  });
  children.push(child);
  const followed = follow(child);
  const [code] = (await once(child, "exit")) as [number | null];
  const line = followed
    .stderr()
    .split("\n")
    .find((l) => l.startsWith("RESULT "));
  expect(line, followed.stderr()).toBeDefined();
  expect(code).toBe(0);
  return { out: JSON.parse((line as string).slice("RESULT ".length)) as Record<string, unknown>, logs: followed.logs };
}

describe("a full disk", () => {
  test.skipIf(unavailable !== undefined)(
    "NodeStore refuses writes with RESOURCE_EXHAUSTED, the Repo's writes wait (readable, no rejection), and both resume by themselves when space returns",
    async () => {
      const { out, logs } = await components("log");
      expect(out.refused).toMatchObject({ code: "RESOURCE_EXHAUSTED", isRefusal: true });
      expect((out.refused as { message: string }).message).toMatch(FULL_DISK);
      expect(out.again).toBe("RESOURCE_EXHAUSTED");
      expect(out.openFull).toMatch(
        /^RESOURCE_EXHAUSTED: the disk holding \S+\/other-db is full \(.*No space left on device\); the database cannot be opened until there is room again$/,
      );
      expect(out.writable).toBe(false);
      expect(out.saves).toBe("resolved");
      expect(out.waiting).toBe(3); // b, the remove of c, and the last sync state
      expect(out.loadB).toBe(3000);
      expect(out.loadC).toBe("absent");
      expect(out.range).toEqual(["doc/snapshot/a:2000", "doc/incremental/b:3000", "doc/sync-state/peer:60"]);
      expect(out.readMeta).toBe(0);
      expect(out.writableByItself).toBe(true);
      expect(out.after).toBe("written");
      expect(out.writableAfter).toBe(true);
      expect(out.waitingAfter).toBe(0);
      expect(out.unhandled).toEqual([]);
      expect(out.lost).toEqual([]);
      expect(out.acked).toBeGreaterThan(0);
      expect(out.hasAfter).toBe(true);
      expect(out.hasAgain).toBe(false);
      expect(out.repoKeys).toEqual(["doc/incremental/b", "doc/snapshot/a", "doc/sync-state/peer"]);
      // Logged once when writes start to be refused, once when they resume.
      expect(
        logs.filter(
          (l) =>
            typeof l.msg === "string" && l.msg.endsWith("writes are refused until there is room again; reads go on"),
        ),
      ).toHaveLength(1);
      expect(
        logs.filter(
          (l) =>
            l.msg ===
            "the database refuses writes: the Repo's writes wait in memory and are written when it takes writes again",
        ),
      ).toHaveLength(1);
      expect(logs.some((l) => l.msg === "there is room again: the database was reopened and takes writes")).toBe(true);
      expect(logs.some((l) => l.msg === "wrote the repo writes that waited for the database")).toBe(true);
    },
    120_000,
  );

  test.skipIf(unavailable !== undefined)(
    "LevelDB's sticky error after a compaction failed for lack of space is cleared by reopening: writes resume without a restart, nothing acknowledged lost",
    async () => {
      const { out } = await components("compaction");
      expect(out.refused).toMatchObject({ code: "RESOURCE_EXHAUSTED", isRefusal: true });
      // With room again, LevelDB itself still refuses every write (its background error) …
      expect(out.raw).toMatch(/^IO error: \S+\.ldb: No space left on device$/);
      // … and the store's next write reopens it and succeeds.
      expect(out.after).toBe("written");
      expect(out.lost).toEqual([]);
      expect(out.acked).toBeGreaterThan(500);
      expect(out.unhandled).toEqual([]);
    },
    120_000,
  );

  test.skipIf(unavailable !== undefined)(
    "a node process answers writes with RESOURCE_EXHAUSTED and reads as before, stays up, and takes writes again once space is freed; nothing acknowledged is lost across a restart",
    async () => {
      const mnt = await mkdtemp(join(tmpdir(), "concordat-full-"));
      dirs.push(mnt);
      // init, then the node; once it stops, the node again on the same (namespace's) disk.
      const script = [
        `"$NODE" "$CLI" init --data "$MNT/node" --hub full-disk --name "Full disk hub" >/dev/null || exit 98`,
        `"$NODE" "$CLI" start --data "$MNT/node"`,
        `exec "$NODE" "$CLI" start --data "$MNT/node"`,
      ].join("\n");
      const child = inNamespace(mnt, "32m", script, {
        CONCORDAT_API_PORT: "0",
        CONCORDAT_CONSOLE_PORT: "0",
        CONCORDAT_NETWORK_LISTEN: "/ip4/127.0.0.1/tcp/0",
        CONCORDAT_LOG_LEVEL: "info",
        CONCORDAT_LOG_PRETTY: "false",
      });
      children.push(child);
      const logs = follow(child);
      let exited = false;
      void once(child, "exit").then(() => (exited = true));
      const first = await logs.next((l) => l.msg === "node started");
      pids.push(first.pid as number);
      // The namespace's files, seen from outside.
      const root = `/proc/${child.pid}/root${mnt}`;
      const metadata = new Metadata();
      metadata.set("authorization", `Bearer ${(await readFile(`${root}/node/admin.token`, "utf8")).trim()}`);
      let client = new TrainerServiceClient(first.api as string, credentials.createInsecure());
      const add = (id: string) =>
        unary(
          client.addTrainer.bind(client),
          {
            trainer: Trainer.fromPartial({
              id,
              displayName: `Trainer ${id}`,
              languages: [{ tag: "fr", level: "B2" }],
              regions: ["SN"],
              private: { email: `${id.toLowerCase()}@example.org` },
            }),
          },
          metadata,
        );
      const acknowledged: string[] = [];
      for (let i = 0; i < 20; i += 1) {
        await add(`F-${i}`);
        acknowledged.push(`F-${i}`);
      }
      // Fill the disk right after a write, while the Repo's copy of it is still to be saved.
      await add("F-20");
      acknowledged.push("F-20");
      expect(await fill(`${root}/filler`)).toBeGreaterThan(0);

      // Writes: a few may still fit in the last page of LevelDB's log; then RESOURCE_EXHAUSTED.
      let refusal: ServiceError | undefined;
      for (let i = 21; i < 200 && !refusal; i += 1) {
        await add(`F-${i}`).then(
          () => acknowledged.push(`F-${i}`),
          (error: ServiceError) => {
            refusal = error;
          },
        );
      }
      expect(refusal?.code).toBe(status.RESOURCE_EXHAUSTED);
      expect(refusal?.details).toMatch(FULL_DISK);
      const refused = ["R-1", "R-2", "R-3"];
      for (const id of refused) {
        const error = await add(id).then(
          () => undefined,
          (e: ServiceError) => e,
        );
        expect(error?.code).toBe(status.RESOURCE_EXHAUSTED);
      }

      // Reads go on, with everything acknowledged (and its private part).
      const listed = await unary(client.listTrainers.bind(client), { pageSize: 1000, pageToken: "" }, metadata);
      expect(listed.trainers.map((t) => t.id).sort()).toEqual([...acknowledged].sort());
      const one = await unary(client.getTrainer.bind(client), { id: "F-3" }, metadata);
      expect(one.private?.email).toBe("f-3@example.org");
      expect(exited).toBe(false);
      // Said once, not once per refused write.
      expect(
        logs.logs.filter(
          (l) =>
            typeof l.msg === "string" && l.msg.endsWith("writes are refused until there is room again; reads go on"),
        ),
      ).toHaveLength(1);

      // Space again: the next write succeeds, without a restart.
      await unlink(`${root}/filler`);
      await add("F-after");
      acknowledged.push("F-after");
      for (let i = 0; i < 10; i += 1) {
        await add(`G-${i}`);
        acknowledged.push(`G-${i}`);
      }
      expect(logs.logs.some((l) => l.msg === "there is room again: the database was reopened and takes writes")).toBe(
        true,
      );
      expect(exited).toBe(false);
      client.close();

      // And it survives a restart: every acknowledged write, none of the refused ones.
      process.kill(first.pid as number, "SIGTERM");
      const second = await logs.next((l) => l.msg === "node started" && l.pid !== first.pid);
      pids.push(second.pid as number);
      client = new TrainerServiceClient(second.api as string, credentials.createInsecure());
      const after = await unary(client.listTrainers.bind(client), { pageSize: 1000, pageToken: "" }, metadata);
      expect(after.trainers.map((t) => t.id).sort()).toEqual([...acknowledged].sort());
      expect(after.trainers.find((t) => t.id === "F-after")).toBeDefined();
      expect((await unary(client.getTrainer.bind(client), { id: "G-9" }, metadata)).private?.email).toBe(
        "g-9@example.org",
      );
      client.close();
      expect(logs.logs.some((l) => l.msg === "unhandled rejection")).toBe(false);
      child.kill("SIGTERM");
      expect((await once(child, "exit"))[0]).toBe(0);
    },
    180_000,
  );
});
