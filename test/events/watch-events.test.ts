import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventsCommand } from "../../cli/commands/events.js";
import { ExitCode } from "../../cli/errors.js";
import { isServiceError } from "../../node/api/index.js";
import type { NodeEvent } from "../../node/api/generated/concordat/v1/node.js";
import {
  draft,
  startFederationWith,
  waitUntil,
  type FederationNode,
  type StartedFederation,
} from "../helpers/federation.js";
import { releaseCore } from "../helpers/core.js";
import { expectCliError, memoryIo } from "../helpers/io.js";

/** A bound on every wait for an event: the stream promises "within a second"; the machine may be busy. */
const EVENT_WAIT_MS = 10_000;

/**
 * One WatchEvents stream read in the background: the events it carried, and how it ended. `next`
 * waits (bounded) for an event matching a predicate, woken by each event as it arrives.
 */
class Stream {
  readonly events: NodeEvent[] = [];
  ended: { error?: unknown; at: number } | undefined;
  readonly #waiters = new Set<() => void>();
  readonly #abort = new AbortController();

  constructor(node: FederationNode, token: string) {
    const calls = node.node.clients(token);
    void (async () => {
      try {
        for await (const event of calls.node.watchEvents({}, { signal: this.#abort.signal })) {
          this.events.push(event);
          this.#wake();
        }
        this.ended = { at: Date.now() };
      } catch (error) {
        this.ended = { error, at: Date.now() };
      }
      this.#wake();
    })();
  }

  #wake(): void {
    for (const waiter of this.#waiters) waiter();
  }

  /** Resolves with the first event (from `from` on) for which `match` holds, or fails after `timeoutMs`. */
  next(what: string, match: (e: NodeEvent) => boolean, timeoutMs = EVENT_WAIT_MS, from = 0): Promise<NodeEvent> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.events.slice(from).find(match);
        if (found) {
          done();
          resolve(found);
        } else if (this.ended) {
          done();
          reject(new Error(`the stream ended (${String(this.ended.error ?? "cleanly")}) before ${what}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(
          new Error(
            `no ${what} within ${timeoutMs} ms; the stream carried: ${this.events.map((e) => `${e.kind}/${e.action} ${e.subject}`).join(", ")}`,
          ),
        );
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(check);
      };
      this.#waiters.add(check);
      check();
    });
  }

  /** Resolves once the stream has ended, or fails after `timeoutMs`. */
  end(timeoutMs = EVENT_WAIT_MS): Promise<{ error?: unknown; at: number }> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!this.ended) return;
        done();
        resolve(this.ended);
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`the stream did not end within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(check);
      };
      this.#waiters.add(check);
      check();
    });
  }

  close(): void {
    this.#abort.abort();
  }
}

const EMAIL = "amina.k@example.org";
const PHONE = "+254700123456";

/**
 * The live event stream on real nodes on loopback: s (secretariat), a and b (b answers bookings by
 * hand); a dials s and b, b dials s. Each hub is watched by a viewer, as a web console would.
 */
describe("WatchEvents", () => {
  let fed: StartedFederation;
  const a = () => fed.byName("a");
  const b = () => fed.byName("b");
  let atA: Stream;
  let atB: Stream;
  const streams: Stream[] = [];
  const viewer = async (n: FederationNode, name = "console") => {
    const { operator, token } = await n.node.running.operators.add(name, "viewer", "test");
    return { operator, token };
  };
  const watch = (n: FederationNode, token: string) => {
    const stream = new Stream(n, token);
    streams.push(stream);
    return stream;
  };

  beforeAll(async () => {
    fed = await startFederationWith(
      ["s", "a", "b"],
      [
        ["a", "s"],
        ["b", "s"],
        ["a", "b"],
      ],
      { env: { b: { CONCORDAT_BOOKINGS_POLICY: "manual" } } },
    );
    atA = watch(a(), (await viewer(a())).token);
    atB = watch(b(), (await viewer(b())).token);
    await atA.next("hello at a", (e) => e.kind === "hello");
    await atB.next("hello at b", (e) => e.kind === "hello");
  }, 120_000);

  afterAll(async () => {
    for (const s of streams) s.close();
    await fed?.stop();
  });

  it("opens with hello, naming the hub", () => {
    expect(atA.events[0]).toMatchObject({ kind: "hello", hub: "hub-a" });
    expect(atB.events[0]).toMatchObject({ kind: "hello", hub: "hub-b" });
  });

  it("a trainer written with an email and a phone is an event that carries neither", async () => {
    const from = atB.events.length;
    await b().node.running.roster.add(
      {
        ...draft("B-1"),
        availability: [{ start: "2027-01-01T00:00:00Z", end: "2027-06-30T00:00:00Z" }],
        private: { email: EMAIL, phone: PHONE, nationalId: "KE-12345678", notes: "prefers mornings" },
      },
      "op",
    );
    const added = await atB.next(
      "roster added B-1",
      (e) => e.kind === "roster" && e.subject === "B-1",
      EVENT_WAIT_MS,
      from,
    );
    expect(added).toMatchObject({ action: "added", summary: "trainer B-1 added" });
    for (const e of atB.events) {
      const bytes = JSON.stringify(e);
      for (const secret of [EMAIL, PHONE, "KE-12345678", "prefers mornings"]) expect(bytes).not.toContain(secret);
    }
  });

  it("a booking requested at a for b's trainer and confirmed at b shows at both, requested then confirmed", async () => {
    await waitUntil("a to know b's trainer", () => a().node.running.availability.indexed("hub-b", "B-1"), 30_000);
    const fromA = atA.events.length;
    const fromB = atB.events.length;
    const { booking } = await a().node.running.bookings.request("op", {
      id: "ev-1",
      trainerHub: "hub-b",
      trainerId: "B-1",
      start: "2027-03-01T00:00:00Z",
      end: "2027-03-05T00:00:00Z",
      competency: "",
      course: "",
      note: `call ${PHONE}`,
      expiresAt: "",
    });
    expect(booking.key).toBe("hub-a/ev-1");
    const is = (action: string) => (e: NodeEvent) =>
      e.kind === "booking" && e.subject === "hub-a/ev-1" && e.action === action;
    const requestedAtA = await atA.next("requested at a", is("requested"), EVENT_WAIT_MS, fromA);
    expect(requestedAtA.hub).toBe("hub-b");
    const requestedAtB = await atB.next("requested at b", is("requested"), EVENT_WAIT_MS, fromB);
    expect(requestedAtB.hub).toBe("hub-a");

    const confirmedAt = Date.now();
    await b().node.running.bookings.confirm("op", "hub-a/ev-1");
    await atB.next("confirmed at b", is("confirmed"), EVENT_WAIT_MS, fromB);
    const atBMs = Date.now() - confirmedAt;
    await atA.next("confirmed at a", is("confirmed"), EVENT_WAIT_MS, fromA);
    const atAMs = Date.now() - confirmedAt;
    console.info(`booking confirmed: seen on b's stream after ${atBMs} ms, on a's after ${atAMs} ms`);
    // The note (with a phone number) never reaches a stream.
    for (const e of [...atA.events, ...atB.events]) expect(JSON.stringify(e)).not.toContain(PHONE);
  });

  it("revoking the viewer's credential ends its stream at once with UNAUTHENTICATED; other streams go on", async () => {
    const { operator, token } = await viewer(a(), "console-2");
    const doomed = watch(a(), token);
    await doomed.next("hello", (e) => e.kind === "hello");
    const admin = a().node.clients(a().node.adminToken);
    const revokedAt = Date.now();
    await admin.operators.revokeOperator({ id: operator.id });
    const ended = await doomed.end(5_000);
    console.info(`stream ended ${ended.at - revokedAt} ms after the revocation was acknowledged`);
    expect(isServiceError(ended.error)).toBe(true);
    expect((ended.error as { code: number }).code).toBe(status.UNAUTHENTICATED);
    expect((ended.error as { details: string }).details).toContain("revoked");
    expect(atA.ended).toBeUndefined();
    // And the token opens no new stream.
    const again = watch(a(), token);
    const refused = await again.end(5_000);
    expect((refused.error as { code: number }).code).toBe(status.UNAUTHENTICATED);
  });

  it("a core release published at s arrives at a; a adopts it and adapts an item: release and curriculum events", async () => {
    const s = fed.byName("s");
    const atS = watch(s, (await viewer(s)).token);
    await atS.next("hello at s", (e) => e.kind === "hello");
    const from = atA.events.length;
    await releaseCore(s, { items: [["hr", "Domain"]] }, "1.0.0");
    await atS.next("published at s", (e) => e.kind === "release" && e.action === "published" && e.subject === "1.0.0");
    await atA.next(
      "arrived at a",
      (e) => e.kind === "release" && e.action === "arrived" && e.subject === "1.0.0",
      EVENT_WAIT_MS,
      from,
    );
    await a().node.running.curriculum.adopt("op", "1.0.0");
    await atA.next("adopted at a", (e) => e.kind === "release" && e.action === "adopted", EVENT_WAIT_MS, from);
    await a().node.running.curriculum.adapt("op", {
      id: "ad-1",
      target: { kind: "item", id: "hr" },
      statement: { en: "Human rights, as national law frames them" },
    });
    const adapted = await atA.next("adaptation at a", (e) => e.kind === "curriculum", EVENT_WAIT_MS, from);
    expect(adapted).toMatchObject({
      action: "adaptation-changed",
      subject: "ad-1",
      summary: "adaptation ad-1 changed",
    });
  });

  it("concordat events prints one line per event with the local time, and ends cleanly when interrupted", async () => {
    const { token } = await viewer(a(), "cli");
    const io = memoryIo(false);
    const stop = new AbortController();
    const running = eventsCommand({ api: a().node.address, token, signal: stop.signal }, io);
    await waitUntil("the hello line", () => io.out().includes("hello watching"), EVENT_WAIT_MS);
    await a().node.running.roster.add(draft("A-9"), "op");
    await waitUntil("the roster line", () => io.out().includes("trainer A-9 added"), EVENT_WAIT_MS);
    stop.abort();
    await running;
    const lines = io.out().trim().split("\n");
    for (const line of lines) expect(line).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d {2}\S/);
    expect(lines.some((l) => /roster added\s+trainer A-9 added$/.test(l))).toBe(true);
    expect(io.err()).toBe("");
  });

  it("concordat events --json prints one JSON object per line; a revoked credential ends it with exit code 4", async () => {
    const { operator, token } = await viewer(a(), "cli-json");
    const io = memoryIo(true);
    const running = expectCliError(eventsCommand({ api: a().node.address, token }, io));
    await waitUntil("the hello object", () => io.out().includes('"kind":"hello"'), EVENT_WAIT_MS);
    await a().node.clients(a().node.adminToken).operators.revokeOperator({ id: operator.id });
    const error = await running;
    expect(error.exitCode).toBe(ExitCode.Unauthorized);
    expect(error.message).toContain("revoked");
    const objects = io
      .out()
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as NodeEvent);
    expect(objects[0]).toMatchObject({ kind: "hello", hub: "hub-a" });
  });

  it("a peer lost (b stops) shows as peer disconnected at a", async () => {
    // Connected first (under load a may still be redialling b after an earlier test): a peer a
    // never reached is not one it can lose.
    await waitUntil(
      "a to be connected to b",
      () =>
        a()
          .node.running.network.peers()
          .some((p) => p.peerId === b().peerId),
      EVENT_WAIT_MS * 2,
    );
    const from = atA.events.length;
    await b().node.stop();
    const lost = await atA.next(
      "peer disconnected",
      (e) => e.kind === "peer" && e.action === "disconnected" && e.hub === "hub-b",
      EVENT_WAIT_MS,
      from,
    );
    expect(lost.subject).toBe(b().peerId);
    // b's own stream ended with its node, cleanly.
    expect((await atB.end()).error).toBeUndefined();
  });
});
