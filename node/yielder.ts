/**
 * For long loops on the thread that answers the API: the function it returns resolves at once,
 * except every ~`sliceMs` ms, when it waits a turn of the event loop so that calls and the network
 * are served meanwhile (docs/architecture.md, "Bounded work").
 */
export function yielder(sliceMs = 10): () => Promise<void> {
  let since = performance.now();
  return async () => {
    if (performance.now() - since < sliceMs) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
    since = performance.now();
  };
}
