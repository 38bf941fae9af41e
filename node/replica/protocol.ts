/**
 * The narrow interface between the node's main thread (the API, indexes and queries) and the
 * replica worker, which holds the automerge-repo Repo and does every piece of Automerge work on
 * replicated copies: sync messages, applying changes, saving, loading, and reading documents at
 * signed heads (docs/architecture.md, "The replica worker"). Everything crossing it is structured-
 * cloned: documents leave the worker as plain values (text as strings), never as Automerge objects.
 */
import type { Message, PeerMetadata, StorageKey } from "@automerge/automerge-repo";

export type Heads = string[];

/** What to read of a document. */
export interface ReadOptions {
  /** Read the document as of these heads (undefined if the copy lacks them); default: as it is now. */
  heads?: readonly string[];
  /** Only this part of it (map keys from the root); default: all of it. */
  path?: readonly string[];
  /**
   * Also return, for the map at this path (from the root), every conflicting value of each key: a
   * relay's concurrent write must not hide the owner's.
   */
  conflictsIn?: readonly string[];
}

export interface ReadResult {
  /** The heads read at (the document's current heads, or the ones asked for). */
  heads: Heads;
  /** The value at `path`, as plain data; undefined if there is none. */
  value: unknown;
  /** With `conflictsIn`: each key's values (one unless writes conflict). */
  conflicts?: Record<string, unknown[]>;
}

/** What the worker knows of a peer's sync of a document, for `status --documents`. */
export interface SyncRow {
  documentId: string;
  heads: Heads;
  peers: Array<{ peerId: string; lastHeads: Heads | undefined; lastSyncTimestamp: number | undefined }>;
}

/** What the worker answers (calls from the main thread). */
export interface ReplicaApi {
  [name: string]: (...args: never[]) => unknown;
  /** Replaces the Repo's copy of `id` with `bytes` (a whole document: the owner's published copy). */
  import(id: string, bytes: Uint8Array): void;
  /** Loads changes into the copy of `id`; returns its new heads; throws if Automerge refuses them. */
  apply(id: string, bytes: Uint8Array): Promise<Heads>;
  /**
   * Applies changes the admission gate let through late (their signature came after them); a whole
   * document (`stated` heads) is loaded first and dropped unless those are its real heads.
   */
  admit(id: string, chunks: Array<{ bytes: Uint8Array; stated?: string[] }>): Promise<Heads>;
  /** Starts fetching `id` (from disk, else from peers) and reports its heads as they change. */
  request(id: string): void;
  /** Like `request`, and keeps `id` loaded until as many `release`s (the main thread watches it). */
  hold(id: string): void;
  /** The main thread no longer needs `id` loaded: it is unloaded once idle (and loaded again when read or synced). */
  release(id: string): void;
  read(id: string, options: ReadOptions): Promise<ReadResult | undefined>;
  hasHeads(id: string, heads: readonly string[]): Promise<boolean>;
  /** The whole copy of `id` as Automerge saves it (undefined if not held). */
  export(id: string): Promise<Uint8Array | undefined>;
  /**
   * A document loaded from its stored chunks (a snapshot, then incremental changes) and saved as one
   * compressed snapshot: an owned document's compaction, done here so that the API thread never
   * saves a whole document. Holds nothing afterwards.
   */
  snapshot(chunks: Uint8Array[]): Uint8Array;
  /** The raw changes at or under `heads`, in causal order (undefined if the copy lacks them). */
  changesUpTo(id: string, heads: readonly string[]): Promise<Uint8Array[] | undefined>;
  /** Do `newer` heads descend from `older` ones in the copy of `id`? */
  descends(id: string, newer: readonly string[], older: readonly string[]): Promise<boolean>;
  syncRows(peers: readonly string[]): SyncRow[];
  /** The state of the Repo's handle for `id` (ready, requesting, unavailable, …), if it has one. */
  documentState(id: string): string | undefined;
  /** The ids of the documents the Repo has a handle for (loaded, loading or requested). */
  documentIds(): string[];
  shareConfigChanged(): void;
  /** A network adapter on the main thread (by index) became known, or ready. */
  adapterAdded(index: number, ready: boolean): void;
  adapterReady(index: number): void;
  adapterPeer(index: number, peerId: string, peerMetadata: PeerMetadata): void;
  adapterPeerGone(index: number, peerId: string): void;
  adapterMessage(index: number, message: Message): void;
  adapterClosed(index: number): void;
  /** Writes every ready document's pending saves. */
  flush(): Promise<void>;
  /** Flushes, then shuts the Repo down. */
  shutdown(): Promise<void>;
  /** Resident memory of the worker's heap, for status and benchmarks. */
  memory(): {
    heapUsed: number;
    /** The heap's size (what V8 holds of it, used or not), and of it the young generation's semi-spaces. */
    heapTotal: number;
    newSpace: number;
    external: number;
    arrayBuffers: number;
    /** Documents loaded now. */
    loaded: number;
    /** Idle sweeps done so far (each may unload documents). */
    sweeps: number;
    /** Documents unloaded so far. */
    unloads: number;
    /** Unloaded documents loaded again so far (read, synced or changed), */
    reloads: number;
    /** of which soon after their unload: each makes that document's next idle time twice as long. */
    reloadsSoon: number;
  };
}

/** What the main thread answers (calls from the worker). */
export interface MainApi {
  [name: string]: (...args: never[]) => unknown;
  storageLoad(key: StorageKey): Promise<Uint8Array | undefined>;
  storageSave(key: StorageKey, data: Uint8Array): Promise<void>;
  storageRemove(key: StorageKey): Promise<void>;
  storageLoadRange(prefix: StorageKey): Promise<Array<{ key: StorageKey; data: Uint8Array | undefined }>>;
  storageRemoveRange(prefix: StorageKey): Promise<void>;
  /** The share policy (the federation's): may `peer` see `id`? */
  mayShare(peer: string, id: string): boolean;
  /** A document's heads moved (or it became ready). */
  heads(id: string, heads: Heads): void;
  /** One log line (pino JSON) from the worker. */
  log(line: string): void;
  adapterConnect(index: number, peerId: string, peerMetadata: PeerMetadata | undefined): void;
  adapterSend(index: number, message: Message): void;
  adapterDisconnect(index: number): void;
}

/** What the worker is started with. */
export interface ReplicaWorkerData {
  peerId: string;
  logLevel: string;
  /** A document nobody holds loaded is unloaded after this long without a change or a read. */
  unloadAfterMs: number;
}
