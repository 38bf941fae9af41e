export { Replica, type ReplicaComponents, type ReplicaInit } from "./replica.js";
export type { Heads, ReadOptions, ReadResult, SyncRow } from "./protocol.js";
