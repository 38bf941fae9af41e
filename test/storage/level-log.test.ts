import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { Level } from "level";
import { afterEach, describe, expect, it } from "vitest";
import { ErrorCode, isConcordatError } from "../../node/errors.js";
import {
  checkDatabaseLogs,
  crc32c,
  LOG_BLOCK_SIZE,
  recordChecksum,
  RecordType,
  scanLogBytes,
} from "../../node/storage/level-log.js";
import { NodeStore } from "../../node/storage/node-store.js";

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "concordat-level-log-"));
  dirs.push(dir);
  return dir;
}

const ENTRIES = 400;
const valueAt = (i: number) => `${"v".repeat(200 + (i % 13) * 37)}${i}`;

/**
 * A real LevelDB database whose entries are all still in its write-ahead log: LevelDB does not
 * compact the log on close (the memtable is far below its 4 MiB), so the next open replays it. One
 * entry is larger than a block, so the log also holds FIRST/MIDDLE/LAST fragments.
 */
async function databaseWithLog(): Promise<{ db: string; log: string }> {
  const db = join(await tempDir(), "db");
  const level = new Level<string, string>(db, { valueEncoding: "utf8" });
  await level.open();
  for (let i = 0; i < ENTRIES; i += 1)
    await level.put(`k${String(i).padStart(4, "0")}`, i === 7 ? "x".repeat(3 * LOG_BLOCK_SIZE) : valueAt(i));
  await level.close();
  const logs = (await readdir(db)).filter((n) => n.endsWith(".log"));
  expect(logs).toHaveLength(1);
  return { db, log: join(db, logs[0] as string) };
}

async function countEntries(db: string): Promise<number> {
  const level = new Level<string, string>(db, { valueEncoding: "utf8" });
  await level.open();
  try {
    return (await level.keys().all()).length;
  } finally {
    await level.close();
  }
}

/** Offsets of the record headers in a log, to aim damage at records rather than block padding. */
function recordOffsets(bytes: Uint8Array): number[] {
  const out: number[] = [];
  for (let base = 0; base < bytes.length; base += LOG_BLOCK_SIZE) {
    let pos = 0;
    const end = Math.min(LOG_BLOCK_SIZE, bytes.length - base);
    while (end - pos >= 7) {
      const length = (bytes[base + pos + 4] as number) | ((bytes[base + pos + 5] as number) << 8);
      if (pos + 7 + length > end) break;
      out.push(base + pos);
      pos += 7 + length;
    }
  }
  return out;
}

describe("LevelDB log check", () => {
  it("computes CRC-32C and LevelDB's masked record checksum", () => {
    expect(crc32c(new TextEncoder().encode("123456789"))).toBe(0xe3069283);
    // LevelDB's own test vector (util/crc32c_test.cc): 32 zero bytes.
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(recordChecksum(RecordType.Full, new Uint8Array(0))).toBeTypeOf("number");
  });

  it("reads a log LevelDB wrote, fragments included, as sound", async () => {
    const { log } = await databaseWithLog();
    const scanned = await scanLogBytes(new Uint8Array(await readFile(log)));
    expect(scanned.damage).toBeUndefined();
    expect(scanned.torn).toBeUndefined();
    expect(scanned.records).toBeGreaterThanOrEqual(ENTRIES + 3);
  });

  it("never calls a log cut anywhere, or followed by zeros, damaged (a crash or power loss leaves that)", async () => {
    const { log } = await databaseWithLog();
    const bytes = new Uint8Array(await readFile(log));
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: bytes.length }),
        fc.integer({ min: 0, max: 3 * LOG_BLOCK_SIZE }),
        async (cut, zeros) => {
          const damaged = new Uint8Array(cut + zeros);
          damaged.set(bytes.subarray(0, cut));
          const scanned = await scanLogBytes(damaged);
          expect(scanned.damage).toBeUndefined();
        },
      ),
      { numRuns: 300 },
    );
  });

  it("names the first damaged record when bytes before the end are changed, where LevelDB drops entries without a word", async () => {
    const { db, log } = await databaseWithLog();
    const bytes = new Uint8Array(await readFile(log));
    const offsets = recordOffsets(bytes);
    const target = offsets[Math.floor(offsets.length / 2)] as number;
    const damaged = bytes.slice();
    for (let i = 10; i < 18; i += 1) damaged[target + i] = (damaged[target + i] as number) ^ 0xff;
    const scanned = await scanLogBytes(damaged);
    expect(scanned.damage).toEqual({ offset: target, reason: "a record whose checksum does not match its contents" });

    // What the check prevents: LevelDB opens the damaged database and silently has fewer entries.
    await writeFile(log, damaged);
    expect(await countEntries(db)).toBeLessThan(ENTRIES);
  });

  it("calls any changed byte inside a record followed by others damaged (fast-check)", async () => {
    const { log } = await databaseWithLog();
    const bytes = new Uint8Array(await readFile(log));
    const offsets = recordOffsets(bytes);
    const lastRecord = offsets[offsets.length - 1] as number;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: offsets.length - 2 }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        async (index, within, flip) => {
          const start = offsets[index] as number;
          const next = offsets[index + 1] as number;
          // The record's own bytes (header and data), not the padding that may follow it in its block.
          const length = (bytes[start + 4] as number) | ((bytes[start + 5] as number) << 8);
          const at = start + (within % (7 + length));
          expect(at).toBeLessThan(Math.min(next, lastRecord));
          const damaged = bytes.slice();
          damaged[at] = (damaged[at] as number) ^ flip;
          const scanned = await scanLogBytes(damaged);
          expect(scanned.damage, `byte ${at} of record at ${start}`).toBeDefined();
          expect(scanned.damage!.offset).toBeLessThanOrEqual(at);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("checks the MANIFEST too", async () => {
    const { db } = await databaseWithLog();
    const manifest = (await readFile(join(db, "CURRENT"), "utf8")).trim();
    const bytes = new Uint8Array(await readFile(join(db, manifest)));
    // A second, complete record after the damaged first one, so that the damage is not the end.
    const damaged = new Uint8Array([...bytes, ...bytes]);
    damaged[8] = (damaged[8] as number) ^ 0x01;
    await writeFile(join(db, manifest), damaged);
    expect(await checkDatabaseLogs(db)).toMatchObject({ file: join(db, manifest), offset: 0 });
  });

  it("NodeStore refuses a damaged log with FAILED_PRECONDITION naming the file, the byte and restore, and leaves it untouched", async () => {
    const { db, log } = await databaseWithLog();
    const bytes = new Uint8Array(await readFile(log));
    const target = recordOffsets(bytes)[100] as number;
    bytes[target + 9] = (bytes[target + 9] as number) ^ 0x40;
    await writeFile(log, bytes);
    const digest = createHash("sha256").update(bytes).digest("hex");
    for (let attempt = 0; attempt < 2; attempt += 1) {
      const error = await NodeStore.open(db, { sync: false }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isConcordatError(error) && error.code).toBe(ErrorCode.FailedPrecondition);
      const message = (error as Error).message;
      expect(message).toContain(`${log.slice(db.length + 1)}`);
      expect(message).toContain(`at byte ${target}`);
      expect(message).toContain("concordat restore");
    }
    expect(
      createHash("sha256")
        .update(await readFile(log))
        .digest("hex"),
    ).toBe(digest);
  });

  it("NodeStore refuses what LevelDB itself reports as corrupt the same way (FAILED_PRECONDITION, restore)", async () => {
    const { db } = await databaseWithLog();
    // LevelDB requires CURRENT to end with a newline, and reports corruption otherwise.
    await writeFile(join(db, "CURRENT"), (await readFile(join(db, "CURRENT"), "utf8")).trim());
    const error = await NodeStore.open(db, { sync: false }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isConcordatError(error) && error.code).toBe(ErrorCode.FailedPrecondition);
    expect((error as Error).message).toMatch(
      /^the database \S+ is damaged \(Corruption: .*\); the node refuses it\. Restore the node from a backup .*concordat restore/,
    );
  });

  it("NodeStore opens a log cut short at its end and keeps every complete entry", async () => {
    const { db, log } = await databaseWithLog();
    await truncate(log, (await stat(log)).size - 5);
    const store = await NodeStore.open(db, { sync: false });
    try {
      expect((await store.db.keys().all()).length).toBe(ENTRIES - 1);
    } finally {
      await store.close();
    }
  });
});
