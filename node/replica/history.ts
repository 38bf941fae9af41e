import * as A from "@automerge/automerge";

/**
 * A document's change graph: every change by its hash, with its dependencies and raw bytes. Used to
 * ask questions Automerge's API does not answer directly — which changes lie under some heads (to
 * publish or export exactly what was signed), and whether one set of heads descends from another
 * (releases only move forward).
 */
export interface ChangeGraph {
  /** hash → dependencies and raw bytes, in the order Automerge returned them (causal). */
  readonly changes: ReadonlyMap<string, { deps: readonly string[]; bytes: Uint8Array }>;
}

export function changeGraph(doc: A.Doc<unknown>): ChangeGraph {
  const changes = new Map<string, { deps: readonly string[]; bytes: Uint8Array }>();
  for (const bytes of A.getAllChanges(doc)) {
    const decoded = A.decodeChange(bytes);
    changes.set(decoded.hash as string, { deps: decoded.deps, bytes });
  }
  return { changes };
}

/** Every change hash at or under `heads` (the heads included); unknown hashes are skipped. */
export function ancestors(graph: ChangeGraph, heads: readonly string[]): Set<string> {
  const seen = new Set<string>();
  const stack = [...heads];
  while (stack.length > 0) {
    const hash = stack.pop() as string;
    if (seen.has(hash)) continue;
    const change = graph.changes.get(hash);
    if (!change) continue;
    seen.add(hash);
    stack.push(...change.deps);
  }
  return seen;
}

/** Do `newer` heads descend from `older` ones (every older head is under a newer head)? */
export function descends(graph: ChangeGraph, newer: readonly string[], older: readonly string[]): boolean {
  const under = ancestors(graph, newer);
  return older.every((hash) => under.has(hash));
}

/** The raw changes at or under `heads`, in causal order: exactly what a signature over `heads` covers. */
export function changesUpTo(graph: ChangeGraph, heads: readonly string[]): Uint8Array[] {
  const wanted = ancestors(graph, heads);
  const out: Uint8Array[] = [];
  for (const [hash, change] of graph.changes) if (wanted.has(hash)) out.push(change.bytes);
  return out;
}
