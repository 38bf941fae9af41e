import { Cleanup, tempDir } from "./nodes.js";

/** What a shared setup may register: its own cleanup and temp dirs, undone after its last user. */
export interface SharedScope {
  cleanup: Cleanup;
  tempDir(prefix: string): Promise<string>;
}

/**
 * Setups that take minutes and serve more than one benchmark (e.g. the 50-hub target node of
 * `availability.restart` and `console.interactions`), built once per run by the first benchmark
 * that asks for one and kept until the last selected benchmark that `shares` it has run. A setup
 * that failed fails every benchmark that asks for it, with its error, rather than being built again.
 */
export class SharedSetups {
  readonly #entries = new Map<string, { value: Promise<unknown>; cleanup: Cleanup }>();
  readonly #keep: boolean;

  constructor(keep: boolean) {
    this.#keep = keep;
  }

  get<T>(key: string, build: (scope: SharedScope) => Promise<T>): Promise<T> {
    const existing = this.#entries.get(key);
    if (existing) return existing.value as Promise<T>;
    const cleanup = new Cleanup();
    const value = build({ cleanup, tempDir: (prefix) => tempDir(prefix, cleanup, this.#keep) });
    value.catch(() => undefined); // observed by whoever awaits it
    this.#entries.set(key, { value, cleanup });
    return value;
  }

  /** Undoes the setups whose keys no benchmark still to run names. */
  async release(stillNeeded: ReadonlySet<string>, log: (message: string) => void): Promise<void> {
    for (const [key, entry] of [...this.#entries]) {
      if (stillNeeded.has(key)) continue;
      this.#entries.delete(key);
      await entry.cleanup.run(log);
    }
  }
}
