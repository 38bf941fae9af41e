import type { DocHandle } from "@automerge/automerge-repo";

/**
 * Calls `fn` now if the handle is ready, and after every change of its heads once it is — the
 * document's first arrival included (automerge-repo marks a handle ready right after emitting that
 * change, so the check runs in a microtask). Unlike `handle.whenReady()`, it never times out: a
 * document that has not arrived after a minute makes `whenReady` print to stdout with console.log.
 * Returns a function that stops following.
 */
export function followHandle(handle: DocHandle<unknown>, fn: () => void): () => void {
  const listener = () =>
    queueMicrotask(() => {
      if (handle.isReady()) fn();
    });
  handle.on("heads-changed", listener);
  if (handle.isReady()) fn();
  return () => handle.off("heads-changed", listener);
}
