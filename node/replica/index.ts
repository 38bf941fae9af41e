export { Replica, type ReplicaComponents, type ReplicaInit, spawnReplicaWorker } from "./replica.js";
export type { Heads, ReadOptions, ReadResult, SyncRow } from "./protocol.js";
export { ancestors, type ChangeGraph, changeGraph, changesUpTo, descends } from "./history.js";
export { snapshotOf } from "./snapshot.js";
