import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import type {
  Message,
  NetworkAdapterInterface,
  PeerId,
  PeerMetadata,
  StorageAdapterInterface,
  StorageKey,
} from "@automerge/automerge-repo";
import type { Logger } from "pino";
import type { Startable } from "../lifecycle.js";
import type { Heads, MainApi, ReadOptions, ReadResult, ReplicaApi, ReplicaWorkerData, SyncRow } from "./protocol.js";
import { WORKER_RESOURCE_LIMITS } from "../heap.js";
import { Rpc } from "./rpc.js";

export interface ReplicaInit {
  /** The Repo's peer id: the node's libp2p peer id (the adapters bind it to what the transport proved). */
  peerId: string;
  /**
   * A document this thread does not watch is unloaded from the worker after this long without a
   * change or a read (default 10 s); it stays on disk and is loaded again when read or synced. One
   * that is loaded again soon after each unload is given longer, up to 64 times this.
   */
  unloadAfterMs?: number;
}

export interface ReplicaComponents {
  /** The Repo's storage (the node's LevelDB), which the worker reaches through the link. */
  storage: StorageAdapterInterface;
  logger: Logger;
  /**
   * The worker died (an error it did not catch): nothing replicates any more, so the node must not
   * go on as if it did. Called once; calls to the replica reject from then on.
   */
  onFailed?: (error: Error) => void;
}

/**
 * Where the worker's code is: beside this file once built; from the sources (tests run them), the
 * built copy — `npm test` builds first.
 */
function workerUrl(): URL {
  const here = new URL(import.meta.url);
  if (here.pathname.endsWith(".ts")) return new URL("../../dist/node/replica/worker.js", here);
  return new URL("./worker.js", here);
}

function spawnWorker(): Worker {
  return new Worker(fileURLToPath(workerUrl()), {
    stdout: false,
    stderr: false,
    resourceLimits: { ...WORKER_RESOURCE_LIMITS },
  });
}

/** A worker spawned ahead of its `Replica` (one per process), until one takes it. */
let early: { worker: Worker; gone: boolean } | undefined;

/**
 * Starts the replica worker's thread now, to be taken by the node's `Replica` when it starts: the
 * worker loads its modules (about a second on a small machine) while the main thread loads its own
 * and opens the database. `concordat start` calls it first thing. Unref'd until taken, so it never
 * keeps a process alive; if it dies before that, `Replica` starts another.
 */
export function spawnReplicaWorker(): void {
  if (early) return;
  const spawned = { worker: spawnWorker(), gone: false };
  const gone = () => {
    spawned.gone = true;
  };
  spawned.worker.once("error", gone).once("exit", gone).unref();
  early = spawned;
}

function takeSpawnedWorker(): Worker | undefined {
  const taken = early;
  early = undefined;
  if (!taken || taken.gone) return undefined;
  taken.worker.removeAllListeners("error").removeAllListeners("exit");
  return taken.worker;
}

/**
 * The node's replicated copies, held by a worker thread (docs/architecture.md, "The replica
 * worker"): the automerge-repo Repo lives there, with every sync message, change, save, load and
 * read at signed heads, so that none of that work runs on the thread that answers the API. This is
 * the main thread's handle on it: the Repo's storage and network adapters stay here (the database
 * and the transports are the main thread's) and the worker reaches them through the link; reads
 * come back as plain values; the heads of every document the worker holds are reported as they
 * move, so that `heads` answers at once.
 */
export class Replica implements Startable {
  readonly #init: ReplicaInit;
  readonly #storage: StorageAdapterInterface;
  readonly #log: Logger;
  readonly #onFailed: (error: Error) => void;
  #failed = false;
  readonly #heads = new Map<string, Heads>();
  readonly #watchers = new Map<string, Set<(heads: Heads) => void>>();
  readonly #adapters: NetworkAdapterInterface[] = [];
  #mayShare: (peer: string, id: string) => boolean = () => false;
  #worker: Worker | undefined;
  #rpc: Rpc<MainApi, ReplicaApi> | undefined;
  #stopping = false;

  constructor(init: ReplicaInit, components: ReplicaComponents) {
    this.#init = init;
    this.#storage = components.storage;
    this.#log = components.logger;
    this.#onFailed = components.onFailed ?? (() => undefined);
  }

  /** The share policy the Repo asks for every announcement and request (nothing is shared until set). */
  set sharePolicy(mayShare: (peer: string, id: string) => boolean) {
    this.#mayShare = mayShare;
  }

  async start(): Promise<void> {
    if (this.#worker) return;
    const workerData: ReplicaWorkerData = {
      peerId: this.#init.peerId,
      logLevel: this.#log.level,
      unloadAfterMs: this.#init.unloadAfterMs ?? 10_000,
    };
    const worker = takeSpawnedWorker() ?? spawnWorker();
    worker.ref();
    this.#worker = worker;
    // The link listens before the worker builds its Repo, which reads its storage while it is built.
    this.#rpc = new Rpc<MainApi, ReplicaApi>(worker, this.#table(), (method, error) =>
      this.#log.error({ method, err: error }, "a notification from the replica worker failed"),
    );
    worker.postMessage({ k: "init", data: workerData });
    await new Promise<void>((resolve, reject) => {
      const onMessage = (value: unknown) => {
        if ((value as { k?: string }).k !== "ready") return;
        cleanup();
        resolve();
      };
      const onError = (error: Error) => {
        cleanup();
        reject(new Error(`the replica worker did not start: ${error.message}`));
      };
      const onExit = (code: number) => {
        cleanup();
        reject(new Error(`the replica worker exited with code ${code} while starting`));
      };
      const cleanup = () => {
        worker.off("message", onMessage);
        worker.off("error", onError);
        worker.off("exit", onExit);
      };
      worker.on("message", onMessage);
      worker.on("error", onError);
      worker.on("exit", onExit);
    });
    worker.on("error", (error) => {
      this.#log.fatal({ err: error }, "the replica worker failed");
      this.#fail(new Error(`the replica worker failed: ${error.message}`));
    });
    worker.on("exit", (code) => {
      if (this.#stopping) this.#rpc?.close(new Error("the replica worker has stopped"));
      else {
        this.#log.fatal({ code }, "the replica worker exited");
        this.#fail(new Error(`the replica worker exited (code ${code})`));
      }
    });
  }

  #fail(error: Error): void {
    this.#rpc?.close(error);
    if (this.#failed) return;
    this.#failed = true;
    this.#onFailed(error);
  }

  /** Writes what the Repo has not saved yet, shuts it down and ends the worker. */
  async stop(): Promise<void> {
    const worker = this.#worker;
    if (!worker || this.#stopping) return;
    this.#stopping = true;
    if (this.#failed) {
      await worker.terminate();
      return;
    }
    try {
      await this.#link().call("shutdown");
    } finally {
      this.#rpc?.close(new Error("the replica worker has stopped"));
      await worker.terminate();
    }
  }

  #link(): Rpc<MainApi, ReplicaApi> {
    if (!this.#rpc) throw new Error("the replica worker is not running");
    return this.#rpc;
  }

  /** Gives the Repo a whole copy of an owned document (replacing what it held). */
  async import(id: string, bytes: Uint8Array): Promise<void> {
    await this.#link().call("import", id, bytes);
  }

  /** Loads changes into the Repo's copy of `id`; rejects if Automerge refuses them. */
  apply(id: string, bytes: Uint8Array): Promise<Heads> {
    return this.#link().call("apply", id, bytes);
  }

  /** Applies changes the admission gate let through once their signature came (protocol.ts). */
  admit(id: string, chunks: Array<{ bytes: Uint8Array; stated?: string[] }>): Promise<Heads> {
    return this.#link().call("admit", id, chunks);
  }

  /** Starts fetching `id` (from disk, else from peers that share it). */
  request(id: string): void {
    this.#link().notify("request", id);
  }

  /**
   * Calls `listener` with the heads of `id` once the worker holds it, and after each change. Starts
   * fetching it. Returns a function that stops listening.
   */
  watch(id: string, listener: (heads: Heads) => void): () => void {
    let set = this.#watchers.get(id);
    if (!set) {
      set = new Set();
      this.#watchers.set(id, set);
    }
    set.add(listener);
    // Held loaded in the worker while watched here.
    if (set.size === 1) this.#link().notify("hold", id);
    const heads = this.#heads.get(id);
    if (heads) queueMicrotask(() => set.has(listener) && listener(heads));
    return () => {
      if (!set.delete(listener) || set.size > 0) return;
      this.#watchers.delete(id);
      this.#rpc?.notify("release", id);
    };
  }

  /** The heads of `id` as last reported by the worker (undefined before it held the document). */
  heads(id: string): Heads | undefined {
    return this.#heads.get(id);
  }

  /** Reads a document (or part of it, or as of some heads) as plain data; undefined if not held. */
  read(id: string, options: ReadOptions = {}): Promise<ReadResult | undefined> {
    return this.#link().call("read", id, options);
  }

  hasHeads(id: string, heads: readonly string[]): Promise<boolean> {
    return this.#link().call("hasHeads", id, heads);
  }

  /** The whole copy of `id` as Automerge saves it (undefined if not held). */
  export(id: string): Promise<Uint8Array | undefined> {
    return this.#link().call("export", id);
  }

  /** One compressed snapshot of the document these chunks store (protocol.ts). */
  snapshot(chunks: Uint8Array[]): Promise<Uint8Array> {
    return this.#link().call("snapshot", chunks);
  }

  changesUpTo(id: string, heads: readonly string[]): Promise<Uint8Array[] | undefined> {
    return this.#link().call("changesUpTo", id, heads);
  }

  descends(id: string, newer: readonly string[], older: readonly string[]): Promise<boolean> {
    return this.#link().call("descends", id, newer, older);
  }

  syncRows(peers: readonly string[]): Promise<SyncRow[]> {
    return this.#link().call("syncRows", peers);
  }

  /** The state of the Repo's handle for `id` (ready, requesting, unavailable, …), if it has one. */
  documentState(id: string): Promise<string | undefined> {
    return this.#link().call("documentState", id);
  }

  /** The ids of the documents the Repo has a handle for (loaded, loading or requested). */
  documentIds(): Promise<string[]> {
    return this.#link().call("documentIds");
  }

  /** The share policy may answer differently now: the Repo asks again for every document. */
  shareConfigChanged(): void {
    if (this.#rpc) this.#rpc.notify("shareConfigChanged");
  }

  flush(): Promise<void> {
    return this.#link().call("flush");
  }

  memory(): Promise<ReturnType<ReplicaApi["memory"]>> {
    return this.#link().call("memory");
  }

  /** Connects a transport (already behind the admission gate) to the worker's Repo. */
  addNetworkAdapter(adapter: NetworkAdapterInterface): void {
    const link = this.#link();
    const index = this.#adapters.push(adapter) - 1;
    adapter.on("peer-candidate", ({ peerId, peerMetadata }) => link.notify("adapterPeer", index, peerId, peerMetadata));
    adapter.on("peer-disconnected", ({ peerId }) => link.notify("adapterPeerGone", index, peerId));
    adapter.on("message", (message) => link.notify("adapterMessage", index, message));
    adapter.on("close", () => link.notify("adapterClosed", index));
    const ready = adapter.isReady();
    link.notify("adapterAdded", index, ready);
    if (!ready) void adapter.whenReady().then(() => link.notify("adapterReady", index));
  }

  #table(): MainApi {
    const storage = this.#storage;
    return {
      storageLoad: (key: StorageKey) => storage.load(key),
      storageSave: (key: StorageKey, data: Uint8Array) => storage.save(key, data),
      storageRemove: (key: StorageKey) => storage.remove(key),
      storageLoadRange: (prefix: StorageKey) => storage.loadRange(prefix),
      storageRemoveRange: (prefix: StorageKey) => storage.removeRange(prefix),
      mayShare: (peer: string, id: string) => this.#mayShare(peer, id),
      heads: (id: string, heads: Heads) => {
        this.#heads.set(id, heads);
        const watchers = this.#watchers.get(id);
        if (watchers) for (const listener of [...watchers]) listener(heads);
      },
      log: (line: string) => this.#relog(line),
      adapterConnect: (index: number, peerId: string, peerMetadata: PeerMetadata | undefined) =>
        this.#adapters[index]?.connect(peerId as PeerId, peerMetadata),
      adapterSend: (index: number, message: Message) => this.#adapters[index]?.send(message),
      adapterDisconnect: (index: number) => this.#adapters[index]?.disconnect(),
    };
  }

  /** A pino line from the worker, logged again here (with this logger's bindings and destination). */
  #relog(line: string): void {
    let record: Record<string, unknown>;
    try {
      record = JSON.parse(line) as Record<string, unknown>;
    } catch {
      this.#log.warn({ line: line.slice(0, 500) }, "an unreadable log line from the replica worker");
      return;
    }
    const { level, msg, component: _component, ...rest } = record;
    const label = this.#log.levels.labels[Number(level)] ?? "info";
    const method = this.#log[label as "info"];
    if (typeof method === "function") method.call(this.#log, rest, typeof msg === "string" ? msg : "");
  }
}
