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
import type { Heads, MainApi, ReadOptions, ReadResult, ReplicaApi, SyncRow } from "./protocol.js";
import type { Rpc } from "./rpc.js";

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
    readonly check: (message: Message) => Message | undefined,
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
  #reporting = false;

  constructor(init: { peerId: string }, main: MainLink, logger: Logger) {
    this.#main = main;
    this.#log = logger;
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
        handle.on("heads-changed", () => this.#headsMoved(handle));
        if (handle.isReady()) this.#headsMoved(handle);
      }
      return addDocument(handle);
    };
  }

  #headsMoved(handle: DocHandle<unknown>): void {
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

  #ready(id: string): A.Doc<unknown> | undefined {
    const handle = this.repo.handles[id as DocumentId];
    return handle?.isReady() ? handle.doc() : undefined;
  }

  /** The methods the main thread calls (a plain table: the link looks methods up by own name). */
  api(): ReplicaApi {
    const repo = this.repo;
    return {
      import: (id: string, bytes: Uint8Array) => {
        const handle = repo.import<unknown>(bytes, { docId: id as DocumentId });
        this.#headsMoved(handle);
      },
      apply: (id: string, bytes: Uint8Array): Heads => {
        const handle = repo.handles[id as DocumentId];
        if (!handle?.isReady()) throw new Error(`document ${id} is not in the Repo`);
        handle.update((d) => A.loadIncremental(d, bytes));
        return A.getHeads(handle.doc());
      },
      admit: (id: string, chunks: Array<{ bytes: Uint8Array; stated?: string[] }>): Heads => {
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
      request: (id: string) => {
        const known = repo.handles[id as DocumentId];
        const handle = known ?? repo.findWithProgress<unknown>(id as DocumentId).handle;
        if (handle.isReady()) this.#headsMoved(handle);
      },
      read: (id: string, options: ReadOptions): ReadResult | undefined => {
        const current = this.#ready(id);
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
      hasHeads: (id: string, heads: readonly string[]) => {
        const doc = this.#ready(id);
        return doc !== undefined && A.hasHeads(doc, [...heads]);
      },
      export: (id: string) => {
        const doc = this.#ready(id);
        return doc ? A.save(doc) : undefined;
      },
      changesUpTo: (id: string, heads: readonly string[]) => {
        const doc = this.#ready(id);
        if (!doc || !A.hasHeads(doc, [...heads])) return undefined;
        return changesUpTo(changeGraph(doc), heads);
      },
      descends: (id: string, newer: readonly string[], older: readonly string[]) => {
        const doc = this.#ready(id);
        return doc !== undefined && descends(changeGraph(doc), newer, older);
      },
      syncRows: (peers: readonly string[]): SyncRow[] => {
        const rows: SyncRow[] = [];
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
        const adapter = new MainNetworkAdapter(index, this.#main, ready, (m) => this.#checked(m));
        this.#adapters.set(index, adapter);
        repo.networkSubsystem.addNetworkAdapter(adapter);
      },
      adapterReady: (index: number) => this.#adapters.get(index)?.markReady(),
      adapterPeer: (index: number, peerId: string, peerMetadata: PeerMetadata) =>
        this.#adapters.get(index)?.emit("peer-candidate", { peerId: peerId as PeerId, peerMetadata }),
      adapterPeerGone: (index: number, peerId: string) =>
        this.#adapters.get(index)?.emit("peer-disconnected", { peerId: peerId as PeerId }),
      adapterMessage: (index: number, message: Message) => {
        const checked = this.#checked(message);
        if (checked) this.#adapters.get(index)?.emit("message", checked);
      },
      adapterClosed: (index: number) => this.#adapters.get(index)?.emit("close"),
      flush: () => this.#flush(),
      shutdown: async () => {
        await this.#flush();
        for (const adapter of this.#adapters.values()) adapter.disconnect();
      },
      memory: () => {
        const m = process.memoryUsage();
        return { heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers };
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
