/**
 * The two storage adapters compared, opened as their users open them: ours as the node does
 * (node/node.ts: one LevelDB database, the NodeStore, whose `repo` sublevel holds automerge-repo's
 * storage through LevelStorageAdapter), the stock one as automerge-repo documents it
 * (`new NodeFSStorageAdapter(dir)`: one file per chunk). Also: what a directory holds on disk.
 */
import { createHash } from "node:crypto";
import { lstat, readdir } from "node:fs/promises";
import { join } from "node:path";
import { Repo, type Chunk, type StorageAdapterInterface, type StorageKey } from "@automerge/automerge-repo";
import { NodeFSStorageAdapter } from "@automerge/automerge-repo-storage-nodefs";
import { LevelStorageAdapter } from "../../node/storage/index.js";
import { NodeStore } from "../../node/storage/node-store.js";

export const ADAPTERS = ["level", "nodefs"] as const;
export type AdapterKind = (typeof ADAPTERS)[number];

export const ADAPTER_NAMES: Readonly<Record<AdapterKind, string>> = {
  level: "LevelStorageAdapter (NodeStore sublevel)",
  nodefs: "NodeFSStorageAdapter 2.5.6",
};

export interface OpenStorage {
  storage: StorageAdapterInterface;
  /** Waits for the adapter's writes and closes what it opened (the LevelDB database for ours). */
  close(): Promise<void>;
}

/**
 * Opens `kind` on `dir`. Ours with the node's default `storage.sync: false` (config/default.yaml).
 * The LevelDB database opens as part of this call (NodeStore.open awaits it), so a load timed from
 * here includes opening the database, as a node's start does.
 */
export async function openStorage(kind: AdapterKind, dir: string): Promise<OpenStorage> {
  if (kind === "nodefs") {
    return { storage: new NodeFSStorageAdapter(dir), close: async () => undefined };
  }
  const store = await NodeStore.open(dir, { sync: false });
  const adapter = new LevelStorageAdapter(store.repo);
  return {
    storage: adapter,
    close: async () => {
      await adapter.close();
      await store.close();
    },
  };
}

/** A Repo on `storage` only, as the node makes it (no network; the default save throttle of 100 ms). */
export function storageRepo(storage: StorageAdapterInterface): Repo {
  return new Repo({ storage, network: [] });
}

/**
 * Waits until the Repo's throttled per-document saves (100 ms after a change) have run, so that
 * none fires after the adapter is closed. Each finds the heads already saved by `flush` and writes
 * nothing; this wait is never timed.
 */
export async function settleThrottledSaves(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 250));
}

export interface DiskUsage {
  files: number;
  /** Sum of the files' sizes (what `du --apparent-size` says). */
  bytes: number;
  /** Sum of the blocks allocated to them (st_blocks × 512, what `du` says): a small file still takes a block. */
  allocated: number;
}

/** Every regular file under `dir`, recursively (symbolic links not followed). */
export async function diskUsage(dir: string): Promise<DiskUsage> {
  const total: DiskUsage = { files: 0, bytes: 0, allocated: 0 };
  const walk = async (path: string): Promise<void> => {
    for (const entry of await readdir(path, { withFileTypes: true })) {
      const child = join(path, entry.name);
      if (entry.isDirectory()) await walk(child);
      else if (entry.isFile()) {
        const stat = await lstat(child);
        total.files += 1;
        total.bytes += stat.size;
        total.allocated += stat.blocks * 512;
      }
    }
  };
  await walk(dir);
  return total;
}

/**
 * Counts what the Repo asks of an adapter (saves, bytes, removes), passing every call straight
 * through: to tell a slow adapter from a Repo that writes twice.
 */
export class CountingStorage implements StorageAdapterInterface {
  readonly #inner: StorageAdapterInterface;
  saves = 0;
  savedBytes = 0;
  removes = 0;
  loads = 0;
  rangeLoads = 0;

  constructor(inner: StorageAdapterInterface) {
    this.#inner = inner;
  }

  load(key: StorageKey): Promise<Uint8Array | undefined> {
    this.loads += 1;
    return this.#inner.load(key);
  }

  save(key: StorageKey, data: Uint8Array): Promise<void> {
    this.saves += 1;
    this.savedBytes += data.byteLength;
    return this.#inner.save(key, data);
  }

  remove(key: StorageKey): Promise<void> {
    this.removes += 1;
    return this.#inner.remove(key);
  }

  loadRange(keyPrefix: StorageKey): Promise<Chunk[]> {
    this.rangeLoads += 1;
    return this.#inner.loadRange(keyPrefix);
  }

  removeRange(keyPrefix: StorageKey): Promise<void> {
    this.removes += 1;
    return this.#inner.removeRange(keyPrefix);
  }

  counts(): { saves: number; savedBytes: number; removes: number; loads: number; rangeLoads: number } {
    return {
      saves: this.saves,
      savedBytes: this.savedBytes,
      removes: this.removes,
      loads: this.loads,
      rangeLoads: this.rangeLoads,
    };
  }
}

/** The shape of a public roster shard document (node/roster/roster.ts). */
export interface RosterShardDoc {
  shard: number;
  shards: number;
  trainers: Record<string, unknown>;
}

/** SHA-256 of the sorted ids: two sets of trainer ids compared in one string. */
export function idsDigest(ids: Iterable<string>): string {
  return createHash("sha256")
    .update([...ids].sort().join("\n"))
    .digest("hex");
}
