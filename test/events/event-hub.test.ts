import pino from "pino";
import { describe, expect, it } from "vitest";
import { EventHub, type EventSource, EventWatcher, type NodeEvent } from "../../node/events/index.js";

const quiet = pino({ level: "silent" });
const event = (n: number): NodeEvent => ({
  kind: "roster",
  action: "added",
  subject: `T-${n}`,
  hub: "",
  at: new Date(Date.UTC(2027, 0, 1, 0, 0, n)).toISOString(),
  summary: `trainer T-${n} added`,
});

/** Takes what a watcher holds now, without waiting for more (it is closed first, so its iteration ends). */
async function drain(watcher: EventWatcher): Promise<NodeEvent[]> {
  watcher.close();
  const out: NodeEvent[] = [];
  for await (const e of watcher) out.push(e);
  return out;
}

describe("the event hub", () => {
  it("a watcher that falls behind keeps the newest `limit` events, behind one overflow event counting the dropped", async () => {
    const watcher = new EventWatcher({ limit: 5 });
    for (let n = 1; n <= 12; n += 1) watcher.push(event(n));
    expect(watcher.queued).toBe(6); // five events and the overflow
    expect(watcher.dropped).toBe(7);
    const got = await drain(watcher);
    expect(got[0]).toMatchObject({ kind: "overflow", action: "dropped", subject: "7" });
    expect(got.slice(1).map((e) => e.subject)).toEqual(["T-8", "T-9", "T-10", "T-11", "T-12"]);
  });

  it("one overflow event per time the client falls behind, then events flow again", async () => {
    const watcher = new EventWatcher({ limit: 2 });
    const iterator = watcher[Symbol.asyncIterator]();
    for (let n = 1; n <= 4; n += 1) watcher.push(event(n));
    expect((await iterator.next()).value).toMatchObject({ kind: "overflow", subject: "2" });
    expect((await iterator.next()).value).toMatchObject({ subject: "T-3" });
    watcher.push(event(5));
    expect((await iterator.next()).value).toMatchObject({ subject: "T-4" });
    expect((await iterator.next()).value).toMatchObject({ subject: "T-5" });
    // A reader waiting for the next event gets it as soon as it is pushed.
    const waiting = iterator.next();
    watcher.push(event(6));
    expect((await waiting).value).toMatchObject({ subject: "T-6" });
    await iterator.return?.(undefined);
  });

  it("closing with an error ends the iteration with it at once, before what is queued", async () => {
    const watcher = new EventWatcher({ limit: 10 });
    watcher.push(event(1));
    watcher.close(new Error("revoked"));
    const iterator = watcher[Symbol.asyncIterator]();
    await expect(iterator.next()).rejects.toThrow("revoked");
  });

  it("fans out from its sources to every watcher, starting each with hello; its stop ends them and releases the sources", async () => {
    let emit: Parameters<EventSource>[0] | undefined;
    let released = false;
    const source: EventSource = (e) => {
      emit = e;
      return () => {
        released = true;
      };
    };
    const hub = new EventHub(
      { hubId: "hub-a", queueLimit: 3, heartbeatMs: 60_000 },
      { sources: [source], logger: quiet },
    );
    hub.start();
    const a = hub.watch();
    const b = hub.watch();
    expect(hub.watching).toBe(2);
    emit?.({ kind: "peer", action: "connected", subject: "p", hub: "hub-b", summary: "peer hub-b connected" });
    hub.stop();
    expect(released).toBe(true);
    expect(hub.watching).toBe(0);
    for (const w of [a, b]) {
      const got = await drain(w);
      expect(got.map((e) => `${e.kind}/${e.action}`)).toEqual(["hello/watching", "peer/connected"]);
      expect(got[0]?.hub).toBe("hub-a");
      expect(Date.parse(got[1]?.at ?? "")).not.toBeNaN();
    }
    // A slow watcher bounds only its own queue.
    expect(a.dropped).toBe(0);
  });

  it("sends a heartbeat to every watcher at its interval", async () => {
    const hub = new EventHub({ hubId: "hub-a", heartbeatMs: 20 }, { sources: [], logger: quiet });
    hub.start();
    const watcher = hub.watch();
    const seen: string[] = [];
    const timeout = setTimeout(() => watcher.close(new Error("no heartbeat within 5 s")), 5000);
    for await (const e of watcher) {
      seen.push(e.kind);
      if (e.kind === "heartbeat") break;
    }
    clearTimeout(timeout);
    hub.stop();
    expect(seen).toEqual(["hello", "heartbeat"]);
  });
});
