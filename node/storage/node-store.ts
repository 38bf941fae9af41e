import { basename } from "node:path";
import { Level } from "level";
import type { AbstractSublevel, AbstractBatchOperation } from "abstract-level";
import type { Logger } from "pino";
import { failedPrecondition, type ConcordatError } from "../errors.js";
import { checkDatabaseLogs, type DatabaseLogDamage } from "./level-log.js";

type Root = Level<string, Uint8Array>;
export type BinarySublevel = AbstractSublevel<Root, string | Buffer | Uint8Array, string, Uint8Array>;
export type JsonSublevel<V> = AbstractSublevel<Root, string | Buffer | Uint8Array, string, V>;
/** One write in an atomic batch, addressed to one of the store's sublevels. */
export type StoreBatchOperation =
  | { type: "put"; sublevel: BinarySublevel; key: string; value: Uint8Array }
  | { type: "put"; sublevel: JsonSublevel<unknown>; key: string; value: unknown }
  | { type: "del"; sublevel: BinarySublevel | JsonSublevel<unknown>; key: string };

export interface NodeStoreInit {
  /** `fsync` every write batch, for durability across power loss (not only process crashes). */
  sync: boolean;
  /** Where the store says what it found (an interrupted last write, a damaged log); silent if absent. */
  logger?: Logger;
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
 */
export class NodeStore {
  readonly db: Root;
  readonly repo: BinarySublevel;
  readonly docs: BinarySublevel;
  readonly meta: JsonSublevel<unknown>;
  readonly operators: JsonSublevel<unknown>;
  readonly sync: boolean;

  private constructor(db: Root, init: NodeStoreInit) {
    this.db = db;
    this.sync = init.sync;
    this.repo = db.sublevel<string, Uint8Array>("repo", { keyEncoding: "utf8", valueEncoding: "view" });
    this.docs = db.sublevel<string, Uint8Array>("docs", { keyEncoding: "utf8", valueEncoding: "view" });
    this.meta = db.sublevel<string, unknown>("meta", { keyEncoding: "utf8", valueEncoding: "json" });
    this.operators = db.sublevel<string, unknown>("operators", { keyEncoding: "utf8", valueEncoding: "json" });
  }

  static async open(path: string, init: NodeStoreInit): Promise<NodeStore> {
    const log = init.logger;
    const damage = await checkDatabaseLogs(path, (file, offset, reason) =>
      log?.info({ file, offset, reason }, "the database log ends with an interrupted write (normal after a crash); LevelDB discards that last record"),
    );
    if (damage) {
      log?.fatal({ file: damage.file, offset: damage.offset, reason: damage.reason }, "the database log is damaged; not opening it");
      throw damagedDatabase(path, damage);
    }
    const db = new Level<string, Uint8Array>(path, { keyEncoding: "utf8", valueEncoding: "view" });
    try {
      await db.open();
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      if (cause?.code === "LEVEL_LOCKED") {
        throw failedPrecondition(`the database at ${path} is in use by another Concordat process`);
      }
      if (cause?.code === "LEVEL_CORRUPTION") {
        throw failedPrecondition(
          `the database ${path} is damaged (${cause.message ?? "LevelDB reports corruption"}); the node refuses it. ` +
            `Restore the node from a backup into a new directory (concordat restore BACKUP --data NEW_DIR, then start NEW_DIR).`,
        );
      }
      throw error;
    }
    return new NodeStore(db, init);
  }

  /** Applies the operations atomically; resolves once LevelDB has written them (fsync'd if `sync`). */
  async batch(operations: StoreBatchOperation[]): Promise<void> {
    if (operations.length === 0) return;
    await this.db.batch(operations as AbstractBatchOperation<Root, string, Uint8Array>[], { sync: this.sync });
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}
