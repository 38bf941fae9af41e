import type { Chunk, StorageAdapterInterface, StorageKey } from "@automerge/automerge-repo";
import type { LevelStorageAdapter } from "./level-storage-adapter.js";
import type { Logger } from "pino";

/**
 * The Repo's storage as the node hands it over: after `seal()` (once the Repo has been flushed and
 * shut down, just before the database closes), late writes from automerge-repo's throttled timers
 * (sync states, debounced saves) are ignored with a log line instead of failing on a closed
 * database. Nothing acknowledged depends on them: the node's own documents live in their
 * authoring copies, and foreign ones re-sync from peers on the next start.
 */
export class SealableStorage implements StorageAdapterInterface {
  readonly #inner: LevelStorageAdapter;
  readonly #log: Logger;
  #sealed = false;

  constructor(inner: LevelStorageAdapter, logger: Logger) {
    this.#inner = inner;
    this.#log = logger;
  }

  /** Ignores writes from now on, and waits for those already queued to land. */
  async seal(): Promise<void> {
    this.#sealed = true;
    await this.#inner.close();
  }

  load(key: StorageKey): Promise<Uint8Array | undefined> {
    return this.#sealed ? Promise.resolve(undefined) : this.#inner.load(key);
  }

  loadRange(keyPrefix: StorageKey): Promise<Chunk[]> {
    return this.#sealed ? Promise.resolve([]) : this.#inner.loadRange(keyPrefix);
  }

  save(key: StorageKey, data: Uint8Array): Promise<void> {
    if (this.#sealed) {
      this.#log.debug({ key: key.join("/") }, "repo write after shutdown ignored");
      return Promise.resolve();
    }
    return this.#inner.save(key, data);
  }

  remove(key: StorageKey): Promise<void> {
    if (this.#sealed) return Promise.resolve();
    return this.#inner.remove(key);
  }

  removeRange(keyPrefix: StorageKey): Promise<void> {
    if (this.#sealed) return Promise.resolve();
    return this.#inner.removeRange(keyPrefix);
  }
}
