import * as A from "@automerge/automerge";
import { type Message, NetworkAdapter, type PeerId } from "@automerge/automerge-repo";
import type { RunningNode } from "../../node/node.js";
import { waitUntil } from "../../bench/lib/wait.js";

/**
 * Changes a node's own copy of a document in its Repo (in the replica worker) as a misbehaving relay
 * would deliver it: the change is made on a copy of what the worker holds and loaded into it.
 * Waits (bounded) until the worker holds the document.
 */
export async function changeReplicaCopy<T>(running: RunningNode, id: string, change: (doc: T) => void): Promise<void> {
  await waitUntil(`the Repo to hold ${id}`, () => running.replica.heads(id) !== undefined, 20_000);
  const bytes = await running.replica.export(id);
  if (!bytes) throw new Error(`the Repo holds no copy of ${id}`);
  const changed = A.change(A.load<T>(bytes), (d) => change(d as T));
  const last = A.getLastLocalChange(changed);
  if (last) await running.replica.apply(id, last);
}

/** Does the node's Repo copy of `id` hold these heads (whatever signed them)? */
export function replicaHolds(running: RunningNode, id: string, heads: readonly string[]): Promise<boolean> {
  return running.replica.hasHeads(id, heads);
}

/** A transport the test drives: what it "receives" goes to the worker's Repo, what the Repo sends is kept. */
export class TestTransport extends NetworkAdapter {
  readonly sent: Message[] = [];
  isReady(): boolean {
    return true;
  }
  whenReady(): Promise<void> {
    return Promise.resolve();
  }
  connect(peerId: PeerId): void {
    this.peerId = peerId;
  }
  send(message: Message): void {
    this.sent.push(message);
  }
  disconnect(): void {}
}
