import { getHeapSpaceStatistics } from "node:v8";
import * as A from "@automerge/automerge";
import {
  type DocHandle,
  type DocumentId,
  type Message,
  NetworkAdapter,
  type PeerId,
  type PeerMetadata,
  Repo,
  type StorageAdapterInterface,
  type StorageKey,
} from "@automerge/automerge-repo";
import type { Logger } from "pino";
import { CHECK_DOCUMENTS, ChunkType, encodeSyncMessage, parseSyncMessage, splitChunks } from "../admission/index.js";
import { changeGraph, changesUpTo, descends } from "./history.js";
import { toPlain } from "./plain.js";
import { snapshotOf } from "./snapshot.js";
import type { Heads, MainApi, ReadOptions, ReadResult, ReplicaApi, SyncRow } from "./protocol.js";
import type { Rpc } from "./rpc.js";

/**
 * A document that keeps being loaded again soon after it was unloaded stays loaded up to this many
 * times the base idle time (10 s by default: about 10 minutes).
 */
const MAX_STAY_FACTOR = 64;

type MainLink = Rpc<ReplicaApi, MainApi>;

/** The Repo's storage, kept by the main thread (its LevelDB): every call crosses the link. */
class MainStorage implements StorageAdapterInterface {
  readonly #main: MainLink;
  constructor(main: MainLink) {
    this.#main = main;
  }
  load(key: StorageKey) {
    return this.#main.call("storageLoad", key);
  }
  save(key: StorageKey, data: Uint8Array) {
    return this.#main.call("storageSave", key, data);
  }
  remove(key: StorageKey) {
    return this.#main.call("storageRemove", key);
  }
  loadRange(prefix: StorageKey) {
    return this.#main.call("storageLoadRange", prefix);
  }
  removeRange(prefix: StorageKey) {
    return this.#main.call("storageRemoveRange", prefix);
  }
}

/**
 * One of the main thread's network adapters (libp2p, gRPC: each behind the admission gate) as the
 * Repo sees it: what the transport receives arrives here, what the Repo sends goes back to it.
 */
class MainNetworkAdapter extends NetworkAdapter {
  readonly #index: number;
  readonly #main: MainLink;
  #ready: boolean;
  #whenReady: Promise<void>;
  #markReady: () => void = () => {};

  constructor(
    index: number,
    main: MainLink,
    ready: boolean,
    /** A message for this document went out: it is in the middle of a sync. */
    readonly syncing: (documentId: string) => void,
  ) {
    super();
    this.#index = index;
    this.#main = main;
    this.#ready = ready;
    this.#whenReady = ready
      ? Promise.resolve()
      : new Promise((resolve) => {
          this.#markReady = resolve;
        });
  }
  isReady(): boolean {
    return this.#ready;
  }
  whenReady(): Promise<void> {
    return this.#whenReady;
  }
  markReady(): void {
    this.#ready = true;
    this.#markReady();
  }
  connect(peerId: PeerId, peerMetadata?: PeerMetadata): void {
    this.peerId = peerId;
    this.peerMetadata = peerMetadata ?? {};
    this.#main.notify("adapterConnect", this.#index, peerId, peerMetadata);
  }
  send(message: Message): void {
    if (message.documentId) this.syncing(message.documentId);
    this.#main.notify("adapterSend", this.#index, message);
  }
  disconnect(): void {
    this.#main.notify("adapterDisconnect", this.#index);
  }
}

/**
 * The worker's side of the replica link: the Repo with every copy of a replicated document (this
 * node's published ones and other hubs'), answering the main thread's calls.
 */
export class ReplicaHost {
  readonly repo: Repo;
  readonly #main: MainLink;
  readonly #log: Logger;
  readonly #adapters = new Map<number, MainNetworkAdapter>();
  /** Documents whose heads changed since the last report (reported together, once per turn). */
  readonly #moved = new Set<DocHandle<unknown>>();
  readonly #followed = new WeakSet<DocHandle<unknown>>();
  /** Documents the main thread holds loaded (its own published copies, what it watches), by count. */
  readonly #pinned = new Map<string, number>();
  /** When each loaded document last changed or was read. */
  readonly #active = new Map<string, number>();
  readonly #unloadAfterMs: number;
  #sweeper: NodeJS.Timeout | undefined;
  #reporting = false;

  constructor(init: { peerId: string; unloadAfterMs: number }, main: MainLink, logger: Logger) {
    this.#main = main;
    this.#log = logger;
    this.#unloadAfterMs = init.unloadAfterMs;
    this.#sweeper = setInterval(() => void this.#unloadIdle(), Math.max(50, init.unloadAfterMs / 2));
    this.#sweeper.unref();
    this.repo = new Repo({
      storage: new MainStorage(main),
      network: [],
      peerId: init.peerId as PeerId,
      shareConfig: {
        announce: async (peer, doc) => doc !== undefined && main.call("mayShare", peer, doc),
        access: async (peer, doc) => doc !== undefined && main.call("mayShare", peer, doc),
      },
    });
    // Every handle the Repo keeps passes through its synchronizer (created, imported, loaded from
    // disk or asked for by a peer): follow each one's heads from there (automerge-repo emits no event
    // of its own for a new handle). A handle loaded from disk is ready by then.
    const synchronizer = this.repo.synchronizer;
    const addDocument = synchronizer.addDocument.bind(synchronizer);
    synchronizer.addDocument = (handle) => {
      if (!this.#followed.has(handle)) {
        this.#followed.add(handle);
        if (this.#unloaded.delete(handle.documentId)) this.#loadedAgain(handle.documentId);
        handle.on("heads-changed", () => this.#headsMoved(handle));
        if (handle.isReady()) this.#headsMoved(handle);
      }
      return addDocument(handle);
    };
  }

  /**
   * A document unloaded earlier is loaded again. Soon after its unload (within four times the idle
   * time it was given), unloading it was a mistake that cost a load from disk and a sync with every
   * peer: it is given twice as long next time, up to `MAX_STAY_FACTOR` times the base. Long after,
   * it was rightly unloaded: its idle time halves back towards the base.
   */
  #loadedAgain(id: string): void {
    const stay = this.#stay.get(id);
    if (!stay) return;
    this.#reloads += 1;
    if (Date.now() - stay.unloadedAt < 4 * stay.ms) {
      this.#reloadsSoon += 1;
      stay.ms = Math.min(stay.ms * 2, this.#unloadAfterMs * MAX_STAY_FACTOR);
    } else {
      stay.ms = Math.max(this.#unloadAfterMs, stay.ms / 2);
    }
  }

  /** How long `id` stays loaded once idle (see `#loadedAgain`). */
  #stayOf(id: string): number {
    return this.#stay.get(id)?.ms ?? this.#unloadAfterMs;
  }

  #headsMoved(handle: DocHandle<unknown>): void {
    this.#active.set(handle.documentId, Date.now());
    this.#moved.add(handle);
    if (this.#reporting) return;
    this.#reporting = true;
    setImmediate(() => {
      this.#reporting = false;
      const moved = [...this.#moved];
      this.#moved.clear();
      for (const h of moved) if (h.isReady()) this.#main.notify("heads", h.documentId, A.getHeads(h.doc()));
    });
  }

  /**
   * The document, loaded from disk if it was unloaded (undefined if this node holds none of it: a
   * document not on disk is asked of peers, and read again once it arrives).
   */
  async #ready(id: string): Promise<A.Doc<unknown> | undefined> {
    this.#active.set(id, Date.now());
    const handle = this.repo.handles[id as DocumentId] ?? this.repo.findWithProgress<unknown>(id as DocumentId).handle;
    if (!handle.isReady() && handle.inState(["idle", "loading"])) {
      await handle.whenReady(["ready", "requesting", "unavailable", "deleted"]);
    }
    return handle.isReady() ? handle.doc() : undefined;
  }

  #pin(id: string): void {
    this.#pinned.set(id, (this.#pinned.get(id) ?? 0) + 1);
  }

  /**
   * Unloads every document nobody holds loaded that has been idle long enough: foreign copies whose
   * verified views the main thread has read stay on disk, not in memory. Its pending saves are
   * written first, and the Repo's save listener removed before the handle is unloaded: unloading
   * swaps the document for an empty one, which the Repo would otherwise save over the real one
   * (automerge-repo issue #435).
   */
  async #unloadIdle(): Promise<void> {
    if (this.#unloading) return;
    this.#sweeps += 1;
    this.#unloading = true;
    try {
      const now = Date.now();
      for (const handle of Object.values(this.repo.handles)) {
        const id = handle.documentId;
        if (this.#pinned.has(id) || !handle.isReady()) continue;
        const stay = this.#stayOf(id);
        if (now - (this.#active.get(id) ?? 0) < stay) continue;
        await this.repo.flush([id]);
        // Changed while its saves were written: keep it for now.
        if (now - (this.#active.get(id) ?? 0) < stay || this.#pinned.has(id)) continue;
        this.#unloaded.set(id, { heads: [...handle.heads()], sync: this.#syncInfos(handle) });
        this.#stay.set(id, { ms: stay, unloadedAt: Date.now() });
        this.#unloads += 1;
        handle.removeAllListeners("heads-changed");
        this.#followed.delete(handle);
        const synchronizer = this.repo.synchronizer.docSynchronizers[id];
        await this.repo.removeFromCache(id);
        // The Repo drops the document's synchronizer but not its listeners: a sync it had begun (a
        // peer that just connected, its sync state still loading) would report to the Repo about a
        // handle that is gone, and the Repo throws on it. A detached synchronizer says nothing more;
        // the document syncs again when it is loaded.
        if (synchronizer && this.repo.synchronizer.docSynchronizers[id] !== synchronizer)
          synchronizer.removeAllListeners();
        this.#active.delete(id);
        this.#log.debug({ document: id }, "unloaded an idle document");
      }
    } catch (error) {
      this.#log.warn({ err: (error as Error).message }, "could not unload idle documents");
    } finally {
      this.#unloading = false;
    }
  }

  #unloading = false;
  /** What `status` shows of an unloaded document: its heads and its peers' sync, as when unloaded. */
  readonly #unloaded = new Map<
    string,
    { heads: Heads; sync: Map<string, { lastHeads: Heads; lastSyncTimestamp: number | undefined }> }
  >();

  /** A handle's sync with every peer the Repo knows (by storage id). */
  #syncInfos(handle: DocHandle<unknown>): Map<string, { lastHeads: Heads; lastSyncTimestamp: number | undefined }> {
    const out = new Map<string, { lastHeads: Heads; lastSyncTimestamp: number | undefined }>();
    for (const peerId of Object.keys(this.repo.peerMetadataByPeerId)) {
      const storageId = this.repo.getStorageIdOfPeer(peerId as PeerId);
      const info = storageId ? handle.getSyncInfo(storageId) : undefined;
      if (storageId && info)
        out.set(storageId, { lastHeads: [...info.lastHeads], lastSyncTimestamp: info.lastSyncTimestamp });
    }
    return out;
  }
  #sweeps = 0;
  #unloads = 0;
  #reloads = 0;
  #reloadsSoon = 0;
  /** Each document's idle time before it is unloaded, and when it last was (see `#loadedAgain`). */
  readonly #stay = new Map<string, { ms: number; unloadedAt: number }>();

  /** The methods the main thread calls (a plain table: the link looks methods up by own name). */
  api(): ReplicaApi {
    const repo = this.repo;
    return {
      import: (id: string, bytes: Uint8Array) => {
        // This node's own published copy: it stays loaded (every commit is applied to it).
        if (!this.#pinned.has(id)) this.#pin(id);
        const handle = repo.import<unknown>(bytes, { docId: id as DocumentId });
        this.#headsMoved(handle);
      },
      apply: async (id: string, bytes: Uint8Array): Promise<Heads> => {
        await this.#ready(id);
        const handle = repo.handles[id as DocumentId];
        if (!handle?.isReady()) throw new Error(`document ${id} is not in the Repo`);
        handle.update((d) => A.loadIncremental(d, bytes));
        return A.getHeads(handle.doc());
      },
      admit: async (id: string, chunks: Array<{ bytes: Uint8Array; stated?: string[] }>): Promise<Heads> => {
        await this.#ready(id);
        const handle = repo.handles[id as DocumentId];
        if (!handle?.isReady()) throw new Error(`document ${id} is not in the Repo`);
        const real = chunks.filter((c) => c.stated === undefined || statesRealHeads(c.bytes, c.stated));
        if (real.length < chunks.length)
          this.#log.warn(
            { document: id, dropped: chunks.length - real.length },
            "dropped a document whose heads are not the ones it states",
          );
        if (real.length > 0) handle.update((d) => A.loadIncremental(d, concat(real.map((c) => c.bytes))));
        return A.getHeads(handle.doc());
      },
      hold: (id: string) => {
        this.#pin(id);
        const handle = repo.handles[id as DocumentId] ?? repo.findWithProgress<unknown>(id as DocumentId).handle;
        if (handle.isReady()) this.#headsMoved(handle);
      },
      request: (id: string) => {
        const known = repo.handles[id as DocumentId];
        const handle = known ?? repo.findWithProgress<unknown>(id as DocumentId).handle;
        if (handle.isReady()) this.#headsMoved(handle);
      },
      release: (id: string) => {
        const count = (this.#pinned.get(id) ?? 0) - 1;
        if (count > 0) this.#pinned.set(id, count);
        else this.#pinned.delete(id);
      },
      read: async (id: string, options: ReadOptions): Promise<ReadResult | undefined> => {
        const current = await this.#ready(id);
        if (!current) return undefined;
        let doc = current;
        if (options.heads) {
          if (!A.hasHeads(current, [...options.heads])) return undefined;
          doc = A.view(current, [...options.heads]);
        }
        const result: ReadResult = { heads: options.heads ? [...options.heads] : A.getHeads(doc), value: undefined };
        result.value = toPlain(at(doc, options.path ?? []));
        if (options.conflictsIn) {
          const map = at(doc, options.conflictsIn);
          const conflicts: Record<string, unknown[]> = {};
          if (map !== null && typeof map === "object" && !Array.isArray(map)) {
            for (const key of Object.keys(map)) {
              const all = A.getConflicts(map as A.Doc<Record<string, unknown>>, key);
              conflicts[key] = (all ? Object.values(all) : [(map as Record<string, unknown>)[key]]).map(toPlain);
            }
          }
          result.conflicts = conflicts;
        }
        return result;
      },
      hasHeads: async (id: string, heads: readonly string[]) => {
        const doc = await this.#ready(id);
        return doc !== undefined && A.hasHeads(doc, [...heads]);
      },
      export: async (id: string) => {
        const doc = await this.#ready(id);
        return doc ? A.save(doc) : undefined;
      },
      snapshot: (chunks: Uint8Array[]) => snapshotOf(chunks),
      changesUpTo: async (id: string, heads: readonly string[]) => {
        const doc = await this.#ready(id);
        if (!doc || !A.hasHeads(doc, [...heads])) return undefined;
        return changesUpTo(changeGraph(doc), heads);
      },
      descends: async (id: string, newer: readonly string[], older: readonly string[]) => {
        const doc = await this.#ready(id);
        return doc !== undefined && descends(changeGraph(doc), newer, older);
      },
      syncRows: (peers: readonly string[]): SyncRow[] => {
        const rows: SyncRow[] = [];
        // Unloaded documents: as they were when unloaded (nothing syncs them until they load again).
        for (const [documentId, last] of this.#unloaded) {
          if (repo.handles[documentId as DocumentId]) continue;
          rows.push({
            documentId,
            heads: [...last.heads],
            peers: peers.map((peerId) => {
              const storageId = repo.getStorageIdOfPeer(peerId as PeerId);
              const info = storageId ? last.sync.get(storageId) : undefined;
              return { peerId, lastHeads: info?.lastHeads, lastSyncTimestamp: info?.lastSyncTimestamp };
            }),
          });
        }
        for (const handle of Object.values(repo.handles)) {
          if (!handle.isReady()) continue;
          rows.push({
            documentId: handle.documentId,
            heads: [...handle.heads()],
            peers: peers.map((peerId) => {
              const storageId = repo.getStorageIdOfPeer(peerId as PeerId);
              const info = storageId ? handle.getSyncInfo(storageId) : undefined;
              return {
                peerId,
                lastHeads: info ? [...info.lastHeads] : undefined,
                lastSyncTimestamp: info?.lastSyncTimestamp,
              };
            }),
          });
        }
        return rows;
      },
      documentIds: () => Object.keys(repo.handles),
      documentState: (id: string) => repo.handles[id as DocumentId]?.state,
      shareConfigChanged: () => repo.shareConfigChanged(),
      adapterAdded: (index: number, ready: boolean) => {
        const adapter = new MainNetworkAdapter(index, this.#main, ready, (id) => this.#active.set(id, Date.now()));
        this.#adapters.set(index, adapter);
        repo.networkSubsystem.addNetworkAdapter(adapter);
      },
      adapterReady: (index: number) => this.#adapters.get(index)?.markReady(),
      adapterPeer: (index: number, peerId: string, peerMetadata: PeerMetadata) =>
        this.#adapters.get(index)?.emit("peer-candidate", { peerId: peerId as PeerId, peerMetadata }),
      adapterPeerGone: (index: number, peerId: string) =>
        this.#adapters.get(index)?.emit("peer-disconnected", { peerId: peerId as PeerId }),
      adapterMessage: (index: number, message: Message) => {
        // A document in the middle of a sync is not idle: unloading it then would lose its reply.
        if (message.documentId) this.#active.set(message.documentId, Date.now());
        const checked = this.#checked(message);
        if (checked) this.#adapters.get(index)?.emit("message", checked);
      },
      adapterClosed: (index: number) => this.#adapters.get(index)?.emit("close"),
      flush: () => this.#flush(),
      shutdown: async () => {
        clearInterval(this.#sweeper);
        await this.#flush();
        for (const adapter of this.#adapters.values()) adapter.disconnect();
      },
      memory: () => {
        const m = process.memoryUsage();
        return {
          heapUsed: m.heapUsed,
          heapTotal: m.heapTotal,
          newSpace: getHeapSpaceStatistics().find((space) => space.space_name === "new_space")?.space_size ?? 0,
          external: m.external,
          arrayBuffers: m.arrayBuffers,
          loaded: Object.values(repo.handles).filter((h) => h.isReady()).length,
          sweeps: this.#sweeps,
          unloads: this.#unloads,
          reloads: this.#reloads,
          reloadsSoon: this.#reloadsSoon,
        };
      },
    };
  }

  /**
   * A message the admission gate let through with a whole document in it: unless the copy is empty
   * (Automerge then loads the document as new and checks its heads itself), each such chunk is
   * loaded here and dropped unless its real heads are the ones it states.
   */
  #checked(message: Message): Message | undefined {
    if (!(message as Record<string, unknown>)[CHECK_DOCUMENTS] || !(message.data instanceof Uint8Array)) return message;
    const { [CHECK_DOCUMENTS]: _flag, ...rest } = message as Message & Record<string, unknown>;
    const handle = message.documentId ? this.repo.handles[message.documentId] : undefined;
    if (handle?.inState(["requesting", "unavailable"])) return rest as Message;
    try {
      const parts = parseSyncMessage(message.data);
      const chunks = parts.changes.flatMap((entry) =>
        splitChunks(entry, { maxInflatedBytes: Number.MAX_SAFE_INTEGER }),
      );
      const kept = chunks.filter((c) => c.type !== ChunkType.Document || statesRealHeads(c.bytes, c.heads ?? []));
      if (kept.length === chunks.length) return rest as Message;
      this.#log.warn(
        { document: message.documentId, peer: message.senderId },
        "dropped a document whose heads are not the ones it states",
      );
      return { ...(rest as Message), data: encodeSyncMessage({ ...parts, changes: kept.map((c) => c.bytes) }) };
    } catch (error) {
      this.#log.warn(
        { document: message.documentId, err: (error as Error).message },
        "dropped a sync message that does not parse",
      );
      return undefined;
    }
  }

  /** Repo.flush throws on a document still being requested: flush only the ready ones. */
  async #flush(): Promise<void> {
    const ready = Object.values(this.repo.handles)
      .filter((h) => h.isReady())
      .map((h) => h.documentId);
    await this.repo.flush(ready);
    this.#log.debug({ documents: ready.length }, "replica flushed");
  }
}

/** Does this whole-document chunk load, with exactly the heads it states? */
function statesRealHeads(bytes: Uint8Array, stated: readonly string[]): boolean {
  try {
    const heads = A.getHeads(A.load(bytes));
    return stated.length > 0 && heads.length === stated.length && heads.every((h) => stated.includes(h));
  } catch {
    return false;
  }
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.byteLength;
  }
  return out;
}

/** The value at `path` (map keys from the root); undefined where a key is missing. */
function at(doc: unknown, path: readonly string[]): unknown {
  let value: unknown = doc;
  for (const key of path) {
    if (value === null || typeof value !== "object") return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}
