import { Level } from "level";
import type { AbstractSublevel, AbstractBatchOperation } from "abstract-level";
import { failedPrecondition } from "../errors.js";

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
}

/**
 * The node's one LevelDB database, split into sublevels:
 * - `repo`: automerge-repo's storage (the published, replicated copies), via LevelStorageAdapter;
 * - `docs`: authoring copies of the documents this node owns, as append-only chunks;
 * - `meta`: node metadata (document registry, counters), JSON;
 * - `operators`: API credentials (hashed), JSON.
 * A write that spans sublevels goes through `batch`, which LevelDB applies atomically.
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
    const db = new Level<string, Uint8Array>(path, { keyEncoding: "utf8", valueEncoding: "view" });
    try {
      await db.open();
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause;
      if (cause?.code === "LEVEL_LOCKED") {
        throw failedPrecondition(`the database at ${path} is in use by another Concordat process`);
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
