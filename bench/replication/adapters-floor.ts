/**
 * The floor of `replication.adapters`: the same syncs done in one thread with Automerge's own sync
 * protocol (generateSyncMessage / receiveSyncMessage between documents), with no network, no Repo,
 * no storage. Its bytes are the sync messages' sizes.
 */
import * as A from "@automerge/automerge";
import { now } from "./adapters-protocol.js";
import type { Counter } from "./adapters-roster.js";

interface Side<T> {
  doc: A.Doc<T>;
  state: A.SyncState;
}

/** One message from `from` to `to`, if `from` has one; its size, or 0. */
function send<T>(from: Side<T>, to: Side<T>): number {
  const [state, message] = A.generateSyncMessage(from.doc, from.state);
  from.state = state;
  if (!message) return 0;
  const [doc, next] = A.receiveSyncMessage(to.doc, to.state, message);
  to.doc = doc;
  to.state = next;
  return message.byteLength;
}

/** Messages both ways until neither side has anything to say; bytes each way. */
function exchange<T>(a: Side<T>, b: Side<T>, aFirst = true): { ab: number; ba: number; messages: number } {
  let ab = 0;
  let ba = 0;
  let messages = 0;
  for (let round = 0; round < 1000; round += 1) {
    const first = aFirst ? send(a, b) : send(b, a);
    const second = aFirst ? send(b, a) : send(a, b);
    if (aFirst) {
      ab += first;
      ba += second;
    } else {
      ba += first;
      ab += second;
    }
    messages += (first > 0 ? 1 : 0) + (second > 0 ? 1 : 0);
    if (first === 0 && second === 0) return { ab, ba, messages };
  }
  throw new Error("the in-memory sync did not settle in 1000 rounds");
}

/** A pair of sync states for a link between two documents (each side's view of the other). */
const side = <T>(doc: A.Doc<T>): Side<T> => ({ doc, state: A.initSyncState() });

export interface FloorSync {
  ms: number;
  /** Bytes of the messages from the peer that has the roster to the fresh one, and back. */
  down: number;
  up: number;
  messages: number;
}

/**
 * Every shard document synced to an empty one, the fresh side speaking first (as a Repo's request
 * does). Loading the source documents is not timed: the source has them in memory already.
 */
export function floorInitialSync(saved: readonly Uint8Array[], heads: readonly string[][]): FloorSync {
  const sources = saved.map((bytes) => A.load<unknown>(bytes));
  const start = now();
  let down = 0;
  let up = 0;
  let messages = 0;
  for (const [i, source] of sources.entries()) {
    const fresh = side(A.init<unknown>());
    const result = exchange(fresh, side(source));
    up += result.ab;
    down += result.ba;
    messages += result.messages;
    const got = A.getHeads(fresh.doc);
    if ([...got].sort().join() !== [...(heads[i] ?? [])].sort().join())
      throw new Error(`the in-memory sync of shard ${i} ended at other heads`);
  }
  return { ms: now() - start, down, up, messages };
}

/** A line of documents of the counter, each synced with its neighbours (all equal at the start). */
function line(peers: number): { docs: Array<Side<Counter>>; links: Array<[Side<Counter>, Side<Counter>]> } {
  const origin = A.change(A.init<Counter>(), (d) => {
    d.value = 0;
  });
  const saved = A.save(origin);
  const docs = Array.from({ length: peers }, (_, i) => side(i === 0 ? origin : A.load<Counter>(saved)));
  // Each link has its own pair of sync states: a Side's doc is shared by reference through `docs`.
  const links: Array<[Side<Counter>, Side<Counter>]> = [];
  for (let i = 0; i + 1 < peers; i += 1)
    links.push([
      { doc: origin, state: A.initSyncState() },
      { doc: origin, state: A.initSyncState() },
    ]);
  // Bring each link's states up to date (both sides have the same document).
  for (let i = 0; i + 1 < peers; i += 1) sync(docs, links, i);
  return { docs, links };
}

/** Runs link i (between docs i and i + 1) to quiescence, keeping the docs and the link's states in step. */
function sync(
  docs: Array<Side<Counter>>,
  links: Array<[Side<Counter>, Side<Counter>]>,
  i: number,
  onlyForward = false,
): number {
  const link = links[i] as [Side<Counter>, Side<Counter>];
  const left = docs[i] as Side<Counter>;
  const right = docs[i + 1] as Side<Counter>;
  link[0].doc = left.doc;
  link[1].doc = right.doc;
  let bytes = 0;
  if (onlyForward) bytes = send(link[0], link[1]);
  else bytes = exchange(link[0], link[1]).ab;
  left.doc = link[0].doc;
  right.doc = link[1].doc;
  return bytes;
}

/**
 * A one-field change at one end of a line of `peers` documents, forwarded hop by hop (one message per
 * hop, as a live connection sends it) until the far end has it; the replies that follow are exchanged
 * after the clock stops. Milliseconds per change.
 */
export function floorPropagation(peers: number, changes: number): number[] {
  const { docs, links } = line(peers);
  const samples: number[] = [];
  for (let k = 1; k <= changes; k += 1) {
    const start = now();
    const first = docs[0] as Side<Counter>;
    first.doc = A.change(first.doc, (d) => {
      d.value = k;
    });
    for (let i = 0; i + 1 < peers; i += 1) sync(docs, links, i, true);
    const end = now();
    if ((docs[peers - 1] as Side<Counter>).doc.value !== k)
      throw new Error(`the in-memory line did not carry change ${k} to its end`);
    samples.push(end - start);
    for (let i = 0; i + 1 < peers; i += 1) sync(docs, links, i);
  }
  return samples;
}

/**
 * `count` changes made at one end of a line, then synced hop by hop until the far end has them all:
 * the least work there is (one batch per hop). Milliseconds, changes included.
 */
export function floorThroughput(peers: number, count: number): { ms: number; changeMs: number } {
  const { docs, links } = line(peers);
  const start = now();
  const first = docs[0] as Side<Counter>;
  for (let v = 1; v <= count; v += 1) {
    first.doc = A.change(first.doc, (d) => {
      d.value = v;
    });
  }
  const changeMs = now() - start;
  for (let i = 0; i + 1 < peers; i += 1) sync(docs, links, i);
  const ms = now() - start;
  if ((docs[peers - 1] as Side<Counter>).doc.value !== count)
    throw new Error("the in-memory line did not carry every change to its end");
  return { ms, changeMs };
}
