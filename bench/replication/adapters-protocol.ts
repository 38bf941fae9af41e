/**
 * What the benchmark's thread and its peers (adapters-peer.ts, one worker thread each, so that each
 * peer has its own event loop as a hub would) say to each other. Times are `process.hrtime` in
 * milliseconds: one monotonic clock for every thread of the process.
 */

export type Transport = "libp2p" | "grpc" | "websocket";

/** What a peer is started with (workerData). */
export interface PeerInit {
  transport: Transport;
  name: string;
}

/** Where to reach a peer: its repo/libp2p peer id and a TCP port on 127.0.0.1 (its own, or a proxy's). */
export interface Endpoint {
  peerId: string;
  port: number;
}

export type Command =
  /**
   * A new Repo and transport (new identity, empty storage), closing the previous one. `accept`:
   * whether others will dial it. Ours always listen, as a node does; a WebSocket peer that nobody
   * dials runs no WebSocketServerAdapter: one without a client is never ready, and Repo.find waits
   * for every adapter to be ready.
   */
  | { type: "open"; accept: boolean }
  /** Closes the Repo's transport and drops the Repo. */
  | { type: "close" }
  /** Let these peers in (libp2p connection gater, gRPC allow-list); WebSocket has no such thing. */
  | { type: "allow"; peers: string[] }
  /** Connect to each target; answers once the Repo has every one of them as a peer. */
  | { type: "dial"; targets: Endpoint[]; timeoutMs: number }
  /** Imports saved documents into the Repo (under `ids` when given); answers with their document ids. */
  | { type: "import"; docs: Uint8Array[]; ids?: string[] }
  /** Repo.find of each id, then waits until each document's heads equal `heads` (when given). */
  | { type: "find"; ids: string[]; heads?: string[][]; timeoutMs: number }
  /** The initial sync: dial, then find every id, then wait for the heads; answers with the times. */
  | { type: "sync"; targets: Endpoint[]; ids: string[]; heads: string[][]; timeoutMs: number }
  /** Starts a CPU profile of this thread (node:inspector); `profileStop` writes it to `path`. */
  | { type: "profileStart" }
  | { type: "profileStop"; path: string }
  /** Starts measuring the event loop's delay. */
  | { type: "monitor" }
  /** Stops it and answers the largest delay seen. */
  | { type: "stall" }
  /** Watches document `id` for `value` from now on (answers at once). */
  | { type: "expect"; id: string; value: number }
  /** Answers when the expected value was seen, with when. */
  | { type: "seen"; timeoutMs: number }
  /** Sets the document's value (one change); answers with when the change started. */
  | { type: "change"; id: string; value: number }
  /** Sets the value to from, from + 1, … to, one change each, yielding to the event loop between them. */
  | { type: "burst"; id: string; from: number; to: number };

export interface Results {
  open: { peerId: string; port: number };
  close: Record<string, never>;
  allow: Record<string, never>;
  dial: { at: number };
  import: { ids: string[] };
  find: { at: number };
  sync: { startedAt: number; connectedAt: number; doneAt: number };
  profileStart: Record<string, never>;
  profileStop: { path: string };
  monitor: Record<string, never>;
  stall: { maxMs: number };
  expect: Record<string, never>;
  seen: { at: number };
  change: { at: number };
  burst: { startedAt: number; endedAt: number };
}

export type Request = { seq: number; command: Command };
export type Reply =
  | { seq: number; ok: true; result: Results[Command["type"]] }
  | { seq: number; ok: false; error: string };
/** The first message of a peer thread: its transport's modules are loaded. */
export type Started = { type: "started" } | { type: "failed"; error: string };

export function now(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
