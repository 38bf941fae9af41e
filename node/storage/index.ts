export { LevelStorageAdapter } from "./level-storage-adapter.js";
export type {
  LevelBatchOperation,
  LevelEncodingOptions,
  LevelLike,
  LevelRangeOptions,
  LevelStorageAdapterOptions,
} from "./level-storage-adapter.js";
export { type BackupHeader, readBackup, writeBackup } from "./backup.js";
export { type JsonSublevel, NodeStore, type StoreBatchOperation } from "./node-store.js";
export { SealableStorage } from "./shutdown-guard.js";
