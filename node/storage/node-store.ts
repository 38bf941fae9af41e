import { open as openFile, readdir, rm, stat, type FileHandle } from "node:fs/promises";
import { basename, join } from "node:path";
import { Level } from "level";
import type { AbstractSublevel, AbstractBatchOperation } from "abstract-level";
import type { Logger } from "pino";
import { failedPrecondition, resourceExhausted, type ConcordatError } from "../errors.js";
import { checkDatabaseLogs, type DatabaseLogDamage } from "./level-log.js";
import type {
  LevelBatchOperation,
  LevelEncodingOptions,
  LevelLike,
  LevelRangeOptions,
} from "./level-storage-adapter.js";

type Root = Level<string, Uint8Array>;
export type BinarySublevel = AbstractSublevel<Root, string | Buffer | Uint8Array, string, Uint8Array>;
export type JsonSublevel<V> = AbstractSublevel<Root, string | Buffer | Uint8Array, string, V>;
/** One write in an atomic batch, addressed to one of the store's sublevels. */
export type StoreBatchOperation =
  | { type: "put"; sublevel: BinarySublevel; key: string; value: Uint8Array }
  | { type: "put"; sublevel: JsonSublevel<unknown>; key: string; value: unknown }
  | { type: "del"; sublevel: BinarySublevel | JsonSublevel<unknown>; key: string };

export interface NodeStoreInit {
  /**
   * `fsync` every write batch, for durability across power loss (not only process crashes). Writes
   * that arrive while one is in flight are grouped into one LevelDB batch: one fsync per group.
   */
  sync: boolean;
  /** Where the store says what it found and fixed (a damaged log, a full disk); silent if absent. */
  logger?: Logger;
  /** While writes are refused for lack of space, how often the store checks whether space came back (default 5 s). */
  recheckMs?: number;
}

/** Room the store wants beyond the size of LevelDB's logs before it reopens the database. */
const RECOVERY_HEADROOM = 1024 * 1024;
/** The file the store writes (and deletes at once) to learn whether there is room again. */
const SPACE_CHECK_FILE = ".concordat-space-check";

const DISK_FULL = [
  { code: "ENOSPC", text: "No space left on device", says: (path: string) => `the disk holding ${path} is full` },
  { code: "EDQUOT", text: "Disk quota exceeded", says: (path: string) => `the disk quota for ${path} is used up` },
  {
    code: "EFBIG",
    text: "File too large",
    says: (path: string) => `a file in ${path} reached the largest size the system allows`,
  },
] as const;

/**
 * Which lack of space made `error`, if any. Node's own errors carry an errno code; LevelDB's reach us
 * as classic-level's LEVEL_IO_ERROR whose message is LevelDB's text, which ends in the system's
 * strerror() — the only place it says why, so the only place in the node that reads an error's text.
 */
export function diskFullCause(error: unknown): (typeof DISK_FULL)[number] | undefined {
  const e = error as { code?: unknown; message?: unknown };
  const byCode = DISK_FULL.find((d) => d.code === e.code);
  if (byCode) return byCode;
  if (e.code !== "LEVEL_IO_ERROR" || typeof e.message !== "string") return undefined;
  const message = e.message;
  return DISK_FULL.find((d) => message.includes(d.text));
}

/** A refusal that names the damaged log and what to do: restore from a backup. */
export function damagedDatabase(path: string, damage: DatabaseLogDamage): ConcordatError {
  return failedPrecondition(
    `the database ${path} is damaged: its file ${basename(damage.file)} has ${damage.reason} at byte ${damage.offset}. ` +
      `Opening it would silently drop every record after that point, so the node refuses it. ` +
      `Restore the node from a backup into a new directory (concordat restore BACKUP --data NEW_DIR, then start NEW_DIR); ` +
      `keep ${path} for inspection.`,
  );
}

interface PendingWrite {
  operations: StoreBatchOperation[];
  sync: boolean;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** Writes are refused until the database is reopened: why, and since when. */
interface WriteFailure {
  /** What every refused write rejects with. */
  refusal: ConcordatError;
  /** Damage found in the log: no reopen will help. */
  permanent: boolean;
}

function isIoError(error: unknown): boolean {
  return (error as { code?: unknown }).code === "LEVEL_IO_ERROR";
}

/**
 * The node's one LevelDB database, split into sublevels:
 * - `repo`: automerge-repo's storage (the published, replicated copies), via LevelStorageAdapter;
 * - `docs`: authoring copies of the documents this node owns, as append-only chunks;
 * - `meta`: node metadata (document registry, counters), JSON;
 * - `operators`: API credentials (hashed), JSON.
 * A write that spans sublevels goes through `batch`, which LevelDB applies atomically.
 *
 * Before LevelDB opens the database, its logs are checked (level-log.ts): a damaged one stops the
 * open with an error that says to restore from a backup, since LevelDB would drop records silently.
 *
 * Every write goes through `batch`, one LevelDB write at a time (writes that arrive meanwhile are
 * applied together in the next one, in call order). When a write fails with an I/O error — a full
 * disk above all — LevelDB's log is left out of step with what it wrote (a later successful write
 * would be unreadable at the next open, and LevelDB may also refuse every later write), so no further
 * write reaches it: writes are refused (RESOURCE_EXHAUSTED naming the full disk) while reads go on,
 * and once there is room again (checked by writing a file of the size the reopen needs, on the next
 * write and every `recheckMs`), the store checks the log and reopens the same `Level` and its
 * sublevels, which clears LevelDB's error and starts a fresh log; writes then resume. During the
 * reopen itself (milliseconds) a read may fail as "not open".
 */
export class NodeStore {
  readonly db: Root;
  readonly path: string;
  readonly repo: BinarySublevel;
  readonly docs: BinarySublevel;
  readonly meta: JsonSublevel<unknown>;
  readonly operators: JsonSublevel<unknown>;
  readonly sync: boolean;
  readonly #log: Logger | undefined;
  readonly #recheckMs: number;
  #queue: PendingWrite[] = [];
  #draining: Promise<void> | undefined;
  #failure: WriteFailure | undefined;
  #recovering: Promise<void> | undefined;
  #recheck: NodeJS.Timeout | undefined;
  readonly #refusals = new WeakSet<object>();
  readonly #writableListeners = new Set<() => void>();
  #closed = false;

  private constructor(db: Root, path: string, init: NodeStoreInit) {
    this.db = db;
    this.path = path;
    this.sync = init.sync;
    this.#log = init.logger;
    this.#recheckMs = init.recheckMs ?? 5000;
    this.repo = db.sublevel<string, Uint8Array>("repo", { keyEncoding: "utf8", valueEncoding: "view" });
    this.docs = db.sublevel<string, Uint8Array>("docs", { keyEncoding: "utf8", valueEncoding: "view" });
    this.meta = db.sublevel<string, unknown>("meta", { keyEncoding: "utf8", valueEncoding: "json" });
    this.operators = db.sublevel<string, unknown>("operators", { keyEncoding: "utf8", valueEncoding: "json" });
  }

  static async open(path: string, init: NodeStoreInit): Promise<NodeStore> {
    const log = init.logger;
    const damage = await checkDatabaseLogs(path, (file, offset, reason) =>
      log?.info(
        { file, offset, reason },
        "the database log ends with an interrupted write (normal after a crash); LevelDB discards that last record",
      ),
    );
    if (damage) {
      log?.fatal(
        { file: damage.file, offset: damage.offset, reason: damage.reason },
        "the database log is damaged; not opening it",
      );
      throw damagedDatabase(path, damage);
    }
    await rm(join(path, SPACE_CHECK_FILE), { force: true });
    const db = new Level<string, Uint8Array>(path, { keyEncoding: "utf8", valueEncoding: "view" });
    try {
      await db.open();
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      if (cause?.code === "LEVEL_LOCKED") {
        throw failedPrecondition(`the database at ${path} is in use by another Concordat process`);
      }
      const full = diskFullCause(cause);
      if (full) {
        throw resourceExhausted(
          `${full.says(path)} (${cause?.message ?? "no room"}); the database cannot be opened until there is room again`,
        );
      }
      if (cause?.code === "LEVEL_CORRUPTION") {
        throw failedPrecondition(
          `the database ${path} is damaged (${cause.message ?? "LevelDB reports corruption"}); the node refuses it. ` +
            `Restore the node from a backup into a new directory (concordat restore BACKUP --data NEW_DIR, then start NEW_DIR).`,
        );
      }
      throw error;
    }
    return new NodeStore(db, path, init);
  }

  /**
   * Applies the operations atomically; resolves once LevelDB has written them (fsync'd if `sync`, by
   * default the store's setting). Rejects with RESOURCE_EXHAUSTED while the disk is full.
   */
  batch(operations: StoreBatchOperation[], options: { sync?: boolean } = {}): Promise<void> {
    if (operations.length === 0) return Promise.resolve();
    if (this.#closed) return Promise.reject(new Error("the node's database is closed"));
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ operations, sync: options.sync ?? this.sync, resolve, reject });
      this.#kick();
    });
  }

  /**
   * The `repo` sublevel as LevelStorageAdapter uses it: reads go straight to LevelDB, writes through
   * `batch` (so they are refused, and resume, with the store's other writes).
   *
   * The Repo's writes ask for no fsync (unless the adapter asks): nothing acknowledged rests on them
   * alone. The Repo's copies of this hub's documents are rebuilt from the authoring copies (`docs`,
   * written with the store's `sync`) at every start; its copies of other hubs' documents, and the
   * peers' sync states, are copies of what those hubs keep, which the next sync asks for again. A Repo
   * write in the same group as a synced write is fsynced with it, and an fsync of LevelDB's log makes
   * every earlier write in it durable too. See docs/architecture.md (Storage).
   */
  repoLevel(): LevelLike {
    const sublevel = this.repo;
    return {
      get: (key: string, options: LevelEncodingOptions) => sublevel.get(key, options),
      iterator: (options: LevelEncodingOptions & LevelRangeOptions) => sublevel.iterator(options),
      keys: (options: { keyEncoding: "utf8" } & LevelRangeOptions) => sublevel.keys(options),
      // The sublevel's own encodings are the adapter's (utf8 keys, byte values).
      batch: (operations: LevelBatchOperation[], options: LevelEncodingOptions & { sync?: boolean }) =>
        this.batch(
          operations.map(
            (op): StoreBatchOperation =>
              op.type === "put"
                ? { type: "put", sublevel, key: op.key, value: op.value }
                : { type: "del", sublevel, key: op.key },
          ),
          { sync: options.sync ?? false },
        ),
    };
  }

  /** False while writes are refused (disk full, or damage found); reads go on either way. */
  get writable(): boolean {
    return this.#failure === undefined;
  }

  /** True when `error` is this store refusing a write for now (it may succeed later). */
  isRefusal(error: unknown): boolean {
    return typeof error === "object" && error !== null && this.#refusals.has(error);
  }

  /** Calls `listener` each time the store takes writes again after refusing them. */
  onWritable(listener: () => void): () => void {
    this.#writableListeners.add(listener);
    return () => void this.#writableListeners.delete(listener);
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#recheck);
    this.#recheck = undefined;
    while (this.#draining) await this.#draining;
    await this.#recovering?.catch(() => undefined);
    await this.db.close();
  }

  #kick(): void {
    if (this.#draining) return;
    this.#draining = this.#drain().finally(() => {
      this.#draining = undefined;
      if (this.#queue.length > 0) this.#kick();
    });
  }

  /**
   * One LevelDB write at a time, with everything queued meanwhile: one group, one LevelDB batch, so
   * one fsync when any write of the group asks for it. Never rejects.
   */
  async #drain(): Promise<void> {
    // Writes issued in the same turn as the first (a burst of concurrent callers) join its group.
    await Promise.resolve();
    while (this.#queue.length > 0) {
      const group = this.#queue.splice(0, this.#queue.length);
      try {
        await this.#whenWritable();
      } catch (error) {
        for (const write of group) write.reject(error);
        continue;
      }
      await this.#apply(group);
    }
  }

  async #apply(group: PendingWrite[]): Promise<void> {
    try {
      await this.db.batch(group.flatMap((w) => w.operations) as AbstractBatchOperation<Root, string, Uint8Array>[], {
        sync: group.some((w) => w.sync),
      });
    } catch (error) {
      if (isIoError(error)) {
        const refusal = this.#fail(error);
        for (const write of group) write.reject(refusal);
      } else if (group.length > 1) {
        // Not the disk: one caller's operations were refused (an encoding, say); give the others theirs.
        for (const write of group) await this.#apply([write]);
      } else {
        group[0]?.reject(error);
      }
      return;
    }
    for (const write of group) write.resolve();
  }

  /** Stops writes after LevelDB failed one; returns what refused writes reject with. */
  #fail(error: unknown): ConcordatError {
    const full = diskFullCause(error);
    const detail = error instanceof Error ? error.message : String(error);
    const refusal = full
      ? resourceExhausted(
          `${full.says(this.path)} (${detail}); writes are refused until there is room again, reads go on`,
        )
      : failedPrecondition(
          `writing to the database ${this.path} failed (${detail}); writes are refused until it can be reopened, reads go on`,
        );
    this.#refusals.add(refusal);
    this.#failure = { refusal, permanent: false };
    this.#log?.error(
      { err: error, db: this.path },
      full
        ? `${full.says(this.path)}: writes are refused until there is room again; reads go on`
        : "a database write failed; writes are refused until the database is reopened",
    );
    this.#recheck ??= setInterval(() => {
      if (!this.#recovering) this.#whenWritable().catch(() => undefined);
    }, this.#recheckMs).unref();
    return refusal;
  }

  /** Resolves when writes may go to LevelDB, reopening it first after a failure; else rejects with the refusal. */
  async #whenWritable(): Promise<void> {
    if (!this.#failure) return;
    this.#recovering ??= this.#recover().finally(() => {
      this.#recovering = undefined;
    });
    await this.#recovering;
  }

  async #recover(): Promise<void> {
    const failure = this.#failure;
    if (!failure) return;
    if (failure.permanent || this.#closed) throw failure.refusal;
    let damage: DatabaseLogDamage | undefined;
    try {
      if (!(await this.#roomToReopen())) throw failure.refusal;
      // The write that failed left at most a torn end in the log; anything worse must not be replayed.
      damage = await checkDatabaseLogs(this.path);
    } catch (error) {
      if (error !== failure.refusal)
        this.#log?.error({ err: error, db: this.path }, "could not check whether the database can be reopened");
      throw failure.refusal;
    }
    if (damage) {
      const refusal = damagedDatabase(this.path, damage);
      this.#refusals.add(refusal);
      this.#failure = { refusal, permanent: true };
      clearInterval(this.#recheck);
      this.#recheck = undefined;
      this.#log?.fatal(
        { file: damage.file, offset: damage.offset, reason: damage.reason },
        "the database log is damaged; writes stay refused",
      );
      throw refusal;
    }
    await this.db.close();
    // Reopen the sublevels at once, so that reads meanwhile wait for the open instead of failing.
    const opening = this.db.open();
    const sublevels = Promise.allSettled([this.repo, this.docs, this.meta, this.operators].map((s) => s.open()));
    try {
      await opening;
    } catch (error) {
      await sublevels;
      this.#log?.error({ err: error, db: this.path }, "reopening the database failed; trying again shortly");
      throw failure.refusal;
    }
    for (const result of await sublevels) if (result.status === "rejected") throw result.reason;
    this.#failure = undefined;
    clearInterval(this.#recheck);
    this.#recheck = undefined;
    this.#log?.info({ db: this.path }, "there is room again: the database was reopened and takes writes");
    for (const listener of this.#writableListeners) {
      try {
        listener();
      } catch (error) {
        this.#log?.error({ err: error }, "a listener for the database taking writes again failed");
      }
    }
  }

  /**
   * Writes (then deletes) a file as large as what reopening needs: LevelDB replays its logs into a
   * table and starts a new log. True if it fit.
   */
  async #roomToReopen(): Promise<boolean> {
    let needed = RECOVERY_HEADROOM;
    for (const name of await readdir(this.path)) {
      if (name.endsWith(".log")) needed += (await stat(join(this.path, name)).catch(() => ({ size: 0 }))).size;
    }
    const file = join(this.path, SPACE_CHECK_FILE);
    const chunk = new Uint8Array(64 * 1024);
    let handle: FileHandle | undefined;
    try {
      handle = await openFile(file, "w", 0o600);
      for (let written = 0; written < needed; written += chunk.byteLength) await handle.write(chunk);
      return true;
    } catch (error) {
      if (diskFullCause(error)) return false;
      throw error;
    } finally {
      await handle?.close().catch(() => undefined);
      await rm(file, { force: true });
    }
  }
}
