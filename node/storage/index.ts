export { LevelStorageAdapter } from "./level-storage-adapter.js";
export type {
  LevelBatchOperation,
  LevelEncodingOptions,
  LevelLike,
  LevelRangeOptions,
  LevelStorageAdapterOptions,
} from "./level-storage-adapter.js";
