/**
 * What changes at the node, as it happens: one WatchEvents stream per signed-in tab (the same
 * NodeService call as `concordat events`). Screens name the kinds of change they show and are told
 * to read again when one arrives, so a booking answered at another hub, a release arriving or a
 * peer lost shows without reloading. The stream reconnects after a failure (backing off up to 10 s)
 * and ends the session when the node answers UNAUTHENTICATED (the token was revoked).
 */
import { useEffect, useState } from "preact/hooks";
import { api, Code, isCode } from "./api.js";
import { session } from "./session.js";

export type LiveState = "connecting" | "live" | "reconnecting" | "off";

export interface LiveEvent {
  kind: string;
  action: string;
  subject: string;
  hub: string;
  at: string;
  summary: string;
}

const listeners = new Set<(event: LiveEvent) => void>();
const stateListeners = new Set<(state: LiveState) => void>();
let state: LiveState = "off";
let controller: AbortController | undefined;

function setState(next: LiveState): void {
  state = next;
  for (const listener of stateListeners) listener(next);
}

/** Opens the stream (once); closes it when the session ends. */
export function startLive(): void {
  if (controller) return;
  const current = new AbortController();
  controller = current;
  void (async () => {
    let delay = 500;
    setState("connecting");
    while (!current.signal.aborted) {
      try {
        for await (const event of api.node.watchEvents({}, { signal: current.signal, timeoutMs: 0 })) {
          delay = 500;
          if (state !== "live") setState("live");
          for (const listener of listeners) listener(event);
        }
      } catch (error) {
        if (current.signal.aborted) break;
        if (isCode(error, Code.Unauthenticated)) {
          // The node ended the stream because the token was revoked: so ends the session.
          session.end("revoked");
          break;
        }
      }
      if (current.signal.aborted) break;
      setState("reconnecting");
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 10_000);
    }
    if (controller === current) controller = undefined;
    setState("off");
  })();
}

export function stopLive(): void {
  controller?.abort();
  controller = undefined;
  setState("off");
}

session.subscribe(() => {
  if (!session.me()) stopLive();
});

export function onLiveEvent(listener: (event: LiveEvent) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/**
 * A number that grows each time an event of one of `kinds` arrives (or the stream reconnects, or
 * the node says events were dropped): put it in an effect's dependencies to read again.
 */
export function useLive(...kinds: string[]): number {
  const [version, setVersion] = useState(0);
  const key = kinds.join(",");
  useEffect(() => {
    const wanted = new Set(key.split(","));
    const bump = () => setVersion((v) => v + 1);
    const offEvent = onLiveEvent((event) => {
      if (wanted.has(event.kind) || event.kind === "overflow" || event.kind === "hello") bump();
    });
    return offEvent;
  }, [key]);
  return version;
}

export function useLiveState(): LiveState {
  const [current, setCurrent] = useState(state);
  useEffect(() => {
    stateListeners.add(setCurrent);
    return () => {
      stateListeners.delete(setCurrent);
    };
  }, []);
  return current;
}
