import type { Chunk, StorageAdapterInterface, StorageKey } from "@automerge/automerge-repo";
import type { LevelStorageAdapter } from "./level-storage-adapter.js";
import type { Logger } from "pino";

/** What the Repo's storage needs to know about the database's writes (NodeStore has it). */
export interface WriteRefusals {
  /** True when `error` is the database refusing writes for now (a full disk): the write can wait. */
  isRefusal(error: unknown): boolean;
  /** Calls `listener` each time the database takes writes again; returns an unsubscribe. */
  onWritable(listener: () => void): () => void;
}

export interface SealableStorageOptions {
  /** Without it, every failed write rejects, as the inner adapter's do. */
  refusals?: WriteRefusals;
  /** At most one "still waiting" log line per this many ms (default 60 s). */
  logEveryMs?: number;
}

type WaitingWrite =
  | { kind: "save"; key: StorageKey; data: Uint8Array }
  | { kind: "remove"; key: StorageKey }
  | { kind: "removeRange"; prefix: StorageKey };

/** Writes flushed together once the database takes writes again. */
const FLUSH_CHUNK = 512;

const keyText = (key: StorageKey): string => JSON.stringify(key);
const keyOf = (w: WaitingWrite): string => (w.kind === "removeRange" ? w.prefix : w.key).join("/");
const startsWith = (key: StorageKey, prefix: StorageKey): boolean =>
  prefix.length <= key.length && prefix.every((part, i) => key[i] === part);

/**
 * The Repo's storage as the node hands it over.
 *
 * While the database refuses writes (a full disk: NodeStore), automerge-repo's saves must neither
 * fail (it saves from timers without a catch: a rejection would end the process) nor be lost (it
 * saves only what changed since what it believes stored). So a refused write is kept here, in call
 * order, and resolves; later writes queue behind it; reads see them; and when the database takes
 * writes again they are written in the same order. The log says so once when writes start to wait,
 * at most once a minute while they wait, and once when they are written.
 *
 * After `seal()` (once the Repo has been flushed and shut down, just before the database closes),
 * late writes from automerge-repo's throttled timers (sync states, debounced saves) are ignored with a
 * log line instead of failing on a closed database. Nothing acknowledged depends on them: the node's
 * own documents live in their authoring copies (republished at start), and foreign ones re-sync from
 * peers on the next start. The same holds for writes still waiting when the node stops.
 */
export class SealableStorage implements StorageAdapterInterface {
  readonly #inner: LevelStorageAdapter;
  readonly #log: Logger;
  readonly #refusals: WriteRefusals | undefined;
  readonly #logEveryMs: number;
  readonly #unsubscribe: () => void;
  #sealed = false;
  #waiting: WaitingWrite[] = [];
  #flushing: Promise<void> | undefined;
  #lastLogged = 0;

  constructor(inner: LevelStorageAdapter, logger: Logger, options: SealableStorageOptions = {}) {
    this.#inner = inner;
    this.#log = logger;
    this.#refusals = options.refusals;
    this.#logEveryMs = options.logEveryMs ?? 60_000;
    this.#unsubscribe = this.#refusals?.onWritable(() => void this.#flush()) ?? (() => undefined);
  }

  /** Writes still waiting for the database (for tests and the log). */
  get waitingWrites(): number {
    return this.#waiting.length;
  }

  /** Ignores writes from now on, tries once more to write those waiting, and waits for those queued to land. */
  async seal(): Promise<void> {
    this.#sealed = true;
    this.#unsubscribe();
    await this.#flush();
    if (this.#waiting.length > 0) {
      this.#log.warn(
        { waiting: this.#waiting.length },
        "repo writes still waiting for the database at shutdown were not written; own documents are republished at the next start and peers re-send theirs",
      );
      this.#waiting = [];
    }
    await this.#inner.close();
  }

  async load(key: StorageKey): Promise<Uint8Array | undefined> {
    if (this.#sealed) return undefined;
    for (let i = this.#waiting.length - 1; i >= 0; i -= 1) {
      const w = this.#waiting[i] as WaitingWrite;
      if (w.kind === "removeRange" ? startsWith(key, w.prefix) : keyText(w.key) === keyText(key))
        return w.kind === "save" ? w.data.slice() : undefined;
    }
    return this.#inner.load(key);
  }

  async loadRange(keyPrefix: StorageKey): Promise<Chunk[]> {
    if (this.#sealed) return [];
    const stored = await this.#inner.loadRange(keyPrefix);
    if (this.#waiting.length === 0) return stored;
    // In insertion order, as the adapter gives it: a rewritten key moves to the end.
    const chunks = new Map(stored.map((c) => [keyText(c.key), c]));
    for (const w of this.#waiting) {
      if (w.kind === "removeRange") {
        for (const [text, chunk] of chunks) if (startsWith(chunk.key, w.prefix)) chunks.delete(text);
      } else if (startsWith(w.key, keyPrefix)) {
        chunks.delete(keyText(w.key));
        if (w.kind === "save") chunks.set(keyText(w.key), { key: w.key, data: w.data.slice() });
      }
    }
    return [...chunks.values()];
  }

  save(key: StorageKey, data: Uint8Array): Promise<void> {
    if (this.#sealed) {
      this.#log.debug({ key: key.join("/") }, "repo write after shutdown ignored");
      return Promise.resolve();
    }
    return this.#write({ kind: "save", key, data });
  }

  remove(key: StorageKey): Promise<void> {
    if (this.#sealed) return Promise.resolve();
    return this.#write({ kind: "remove", key });
  }

  removeRange(keyPrefix: StorageKey): Promise<void> {
    if (this.#sealed) return Promise.resolve();
    return this.#write({ kind: "removeRange", prefix: keyPrefix });
  }

  #apply(w: WaitingWrite): Promise<void> {
    if (w.kind === "save") return this.#inner.save(w.key, w.data);
    if (w.kind === "remove") return this.#inner.remove(w.key);
    return this.#inner.removeRange(w.prefix);
  }

  async #write(w: WaitingWrite): Promise<void> {
    // Behind writes already waiting, so that the database sees them in call order.
    if (this.#waiting.length > 0 || this.#flushing) {
      this.#wait(w);
      return;
    }
    try {
      await this.#apply(w);
    } catch (error) {
      if (!this.#refusals?.isRefusal(error)) throw error;
      this.#wait(w, error);
    }
  }

  #wait(w: WaitingWrite, reason?: unknown): void {
    const first = this.#waiting.length === 0 && !this.#flushing;
    // A later write of the same key supersedes an earlier one (sync states are saved again and again).
    if (w.kind !== "removeRange") {
      const text = keyText(w.key);
      this.#waiting = this.#waiting.filter((x) => x.kind === "removeRange" || keyText(x.key) !== text);
    }
    this.#waiting.push(w.kind === "save" ? { ...w, data: w.data.slice() } : w);
    const now = Date.now();
    if (first) {
      this.#lastLogged = now;
      this.#log.warn(
        { reason: reason instanceof Error ? reason.message : undefined },
        "the database refuses writes: the Repo's writes wait in memory and are written when it takes writes again",
      );
    } else if (now - this.#lastLogged >= this.#logEveryMs) {
      this.#lastLogged = now;
      this.#log.warn({ waiting: this.#waiting.length }, "repo writes still waiting for the database");
    }
  }

  /** Writes what waits, in order, until done or refused again. */
  #flush(): Promise<void> {
    this.#flushing ??= (async () => {
      let written = 0;
      try {
        while (this.#waiting.length > 0) {
          const chunk = this.#waiting.splice(0, FLUSH_CHUNK);
          // The adapter applies them in call order, grouped into few batches.
          const results = await Promise.allSettled(chunk.map((w) => this.#apply(w)));
          const refused: WaitingWrite[] = [];
          results.forEach((result, i) => {
            if (result.status === "fulfilled") written += 1;
            else if (this.#refusals?.isRefusal(result.reason)) refused.push(chunk[i] as WaitingWrite);
            else
              this.#log.error(
                { err: result.reason, key: keyOf(chunk[i] as WaitingWrite) },
                "a waiting repo write failed; dropped",
              );
          });
          if (refused.length > 0) {
            this.#waiting = [...refused, ...this.#waiting];
            break;
          }
        }
      } finally {
        if (written > 0)
          this.#log.info(
            { written, waiting: this.#waiting.length },
            "wrote the repo writes that waited for the database",
          );
      }
    })().finally(() => {
      this.#flushing = undefined;
    });
    return this.#flushing;
  }
}
