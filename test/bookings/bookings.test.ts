import { afterAll, beforeAll, describe, expect, it } from "vitest";
import ICAL from "ical.js";
import { bookingsActCommand, bookingsListCommand, bookingsRequestCommand } from "../../cli/commands/bookings.js";
import { trainersFindCommand, trainersFreeBusyCommand } from "../../cli/commands/find.js";
import type { Booking } from "../../node/bookings/index.js";
import { ConcordatError } from "../../node/errors.js";
import type { Libp2pNetworkAdapter } from "../../node/network/libp2p-adapter.js";
import {
  draft,
  startFederationWith,
  waitUntil,
  type FederationNode,
  type StartedFederation,
} from "../helpers/federation.js";
import { releaseCore } from "../helpers/core.js";
import { memoryIo } from "../helpers/io.js";

const cli = (n: FederationNode) => ({ api: n.node.address, token: n.node.adminToken });
const day = (d: number) => new Date(Date.UTC(2027, 2, d)).toISOString(); // March 2027

/** Waits until `reader` sees booking `key` answered (not pending), and returns it. */
function answered(reader: FederationNode, key: string, timeoutMs = 20_000): Promise<Booking> {
  return waitUntil(
    `${reader.name} to see ${key} answered`,
    () => {
      try {
        const b = reader.node.running.bookings.show(key);
        return b.state !== "pending" ? b : undefined;
      } catch {
        return undefined;
      }
    },
    timeoutMs,
  );
}

/**
 * Booking trainers across real nodes on loopback: b and c ask hub a (policy `confirm`) and hub d
 * (policy `manual`) for trainers; the home hub alone answers, from requests it reads only as its
 * requesters signed them, and its answers replicate back. Declines name their reason.
 */
describe("booking a trainer from another hub", () => {
  let fed: StartedFederation;
  const s = () => fed.byName("s");
  const a = () => fed.byName("a");
  const b = () => fed.byName("b");
  const c = () => fed.byName("c");
  const d = () => fed.byName("d");
  const request = (
    from: FederationNode,
    trainer: string,
    start: number,
    end: number,
    extra: Record<string, string> = {},
  ) =>
    from.node.running.bookings.request("op", {
      id: "",
      trainerHub: trainer.split("/")[0] as string,
      trainerId: trainer.split("/")[1] as string,
      start: day(start),
      end: day(end),
      competency: "",
      course: "",
      note: "",
      expiresAt: "",
      ...extra,
    });

  beforeAll(async () => {
    fed = await startFederationWith(
      ["s", "a", "b", "c", "d"],
      [
        ["a", "s"],
        ["b", "s"],
        ["c", "s"],
        ["d", "s"],
        ["b", "a"],
        ["c", "a"],
        ["b", "d"],
        ["c", "d"],
      ],
      {
        env: { a: { CONCORDAT_BOOKINGS_POLICY: "confirm" }, d: { CONCORDAT_BOOKINGS_POLICY: "manual" } },
      },
    );
    await releaseCore(s(), {
      items: [
        ["hr", "Domain"],
        ["hr-1", "Competency"],
      ],
      childOf: [["hr-1", "hr"]],
      schemes: [
        {
          id: "trainer-hr",
          name: { en: "Human rights trainer" },
          competencies: ["hr"],
          levels: ["1", "2"],
          validityMonths: 36,
        },
      ],
    });
    await waitUntil(
      "a to verify the release",
      async () => (await a().node.running.coreSource.releases()).length === 1,
      15_000,
    );
    const window = [{ start: "2027-01-01T00:00:00Z", end: "2027-06-30T00:00:00Z" }];
    const add = (n: FederationNode, id: string, extra: Record<string, unknown> = {}) =>
      n.node.running.roster.add({ ...draft(id), availability: window, ...extra }, "op");
    await add(a(), "A-1", { blackouts: [{ start: day(20), end: day(22) }] });
    await add(a(), "A-2");
    await add(a(), "A-3");
    await add(a(), "A-4");
    await add(d(), "D-1");
    // accredited (for the parent of hr-1) until 2028; A-2: the same, then suspended; A-3: accredited until 3 March 2027; A-4: none.
    const issue = async (id: string, validUntil: string) => {
      const credential = await s().node.running.credentials.issue("op", {
        trainer: { hub: "hub-a", id },
        scheme: "trainer-hr",
        level: "2",
        validFrom: "2026-01-01",
        validUntil,
        evidence: [],
      });
      await s().node.running.checkpointer.flush();
      await waitUntil(
        `a to verify ${id}'s credential`,
        async () => (await a().node.running.credentials.verify(credential, {})).valid,
        15_000,
      );
      await a().node.running.credentials.attach("op", credential);
      return credential;
    };
    await issue("A-1", "2028-12-31");
    const suspended = await issue("A-2", "2028-12-31");
    await issue("A-3", "2027-03-03");
    await s().node.running.credentials.setStatus("op", String(suspended.id), "suspend");
    await s().node.running.checkpointer.flush();
    await waitUntil(
      "a to see A-2's credential suspended",
      async () => !(await a().node.running.credentials.verify(suspended, {})).valid,
      15_000,
    );
    // The requesters know the trainers (their rosters verified), as the API requires.
    await waitUntil(
      "b and c to know a's and d's trainers",
      () =>
        [b(), c()].every(
          (n) =>
            ["A-1", "A-2", "A-3", "A-4"].every((id) => n.node.running.availability.indexed("hub-a", id)) &&
            n.node.running.availability.indexed("hub-d", "D-1"),
        ),
      20_000,
    );
  }, 120_000);
  afterAll(async () => {
    await fed?.stop();
  });

  it("b's request is confirmed by a's policy and the answer replicates back; the same request again books nothing twice", async () => {
    const io = memoryIo(true);
    await bookingsRequestCommand(
      {
        ...cli(b()),
        trainer: "hub-a/A-1",
        from: day(1),
        to: day(5),
        id: "b-req-1",
        course: "HR-101 pilot",
        competency: "hr-1",
      },
      io,
    );
    const made = JSON.parse(io.out()) as { created: boolean; booking: { key: string; state: string } };
    expect(made).toMatchObject({ created: true, booking: { key: "hub-b/b-req-1", state: "pending" } });

    const seen = await answered(b(), "hub-b/b-req-1");
    expect(seen.state).toBe("confirmed");
    expect(seen.engagement?.decidedBy).toBe("policy");
    expect(seen.answerSeq).toBeGreaterThan(0); // read from a's signed checkpoint
    const atA = a().node.running.bookings.show("hub-b/b-req-1");
    expect(atA).toMatchObject({ state: "confirmed", direction: "incoming" });
    expect(atA.requestSeq).toBeGreaterThan(0);

    // Sent again (a retry): nothing new; with other dates under the same id: refused, naming the difference.
    const again = memoryIo(true);
    await bookingsRequestCommand(
      {
        ...cli(b()),
        trainer: "hub-a/A-1",
        from: day(1),
        to: day(5),
        id: "b-req-1",
        course: "HR-101 pilot",
        competency: "hr-1",
      },
      again,
    );
    expect(JSON.parse(again.out())).toMatchObject({ created: false, booking: { state: "confirmed" } });
    await expect(
      request(b(), "hub-a/A-1", 2, 6, { id: "b-req-1", course: "HR-101 pilot", competency: "hr-1" }),
    ).rejects.toThrow(/already exists with a different start, end/);
    await a().node.running.bookings.idle();
    expect(a().node.running.bookings.list({ trainer: "A-1", state: "confirmed" })).toHaveLength(1);
  });

  it("declines name the reason: overlap, blackout, unavailable, suspended or expired credential, not accredited", async () => {
    const cases: Array<[string, Promise<{ booking: Booking }>, string]> = [
      ["overlap", request(c(), "hub-a/A-1", 4, 7), "overlap"],
      ["blackout", request(c(), "hub-a/A-1", 21, 23), "blackout"],
      [
        "outside the declared windows",
        request(c(), "hub-a/A-1", 28, 30, { end: "2027-07-02T00:00:00Z" }),
        "unavailable",
      ],
      ["suspended", request(c(), "hub-a/A-2", 1, 5, { competency: "hr-1" }), "credential-suspended"],
      ["expired during the booking", request(c(), "hub-a/A-3", 1, 5, { competency: "hr-1" }), "credential-expired"],
      ["no accreditation", request(c(), "hub-a/A-4", 1, 5, { competency: "hr-1" }), "not-accredited"],
    ];
    for (const [what, made, reason] of cases) {
      const key = (await made).booking.key;
      const seen = await answered(c(), key);
      expect({ what, state: seen.state, reason: seen.engagement?.reason }).toEqual({ what, state: "declined", reason });
      expect(seen.engagement?.detail).not.toBe("");
    }
    // Without a competency, A-4 (no accreditation) can be booked: nothing is asked of it.
    const free = await request(c(), "hub-a/A-4", 10, 12);
    expect((await answered(c(), free.booking.key)).state).toBe("confirmed");
  });

  it("an engagement makes the trainer busy: find leaves them out, free/busy says BUSY without details, a cancellation frees them", async () => {
    const made = await request(b(), "hub-a/A-1", 8, 10, { course: "Secret course" });
    await answered(b(), made.booking.key);
    const found = async () => {
      const io = memoryIo(true);
      await trainersFindCommand({ ...cli(c()), from: day(8), to: day(9), hub: "hub-a" }, io);
      return (JSON.parse(io.out()) as { trainers: Array<{ trainerId: string }> }).trainers.map((t) => t.trainerId);
    };
    await waitUntil("c's index to see A-1 busy", async () => !(await found()).includes("A-1"), 20_000);
    const io = memoryIo(false);
    await trainersFreeBusyCommand({ ...cli(c()), id: "A-1", hub: "hub-a", from: day(1), to: day(31) }, io);
    const vfreebusy = new ICAL.Component(ICAL.parse(io.out())).getFirstSubcomponent("vfreebusy") as ICAL.Component;
    const busy = vfreebusy
      .getAllProperties("freebusy")
      .filter((p) => p.getParameter("fbtype") === "BUSY")
      .flatMap((p) => p.getValues() as ICAL.Period[]);
    expect(busy.map((p) => [p.start.toJSDate().toISOString(), p.end?.toJSDate().toISOString()])).toEqual([
      [day(1), day(5)],
      [day(8), day(10)],
    ]);
    expect(io.out()).not.toContain("Secret course");
    expect(io.out()).not.toContain("hub-b");

    // b cancels; a frees the time; c finds A-1 again.
    const cancelled = memoryIo(true);
    await bookingsActCommand(
      { ...cli(b()), action: "cancel", ref: made.booking.key, note: "course postponed" },
      cancelled,
    );
    const after = await waitUntil(
      "b to see the cancellation answered",
      () => {
        const x = b().node.running.bookings.show(made.booking.key);
        return x.state === "cancelled" ? x : undefined;
      },
      20_000,
    );
    expect(after.engagement).toMatchObject({ reason: "cancelled-by-requester", detail: "course postponed" });
    await waitUntil("c's index to see A-1 free again", async () => (await found()).includes("A-1"), 20_000);
  });

  it("plain dates on the command line include the last day: 04-05..04-07 overlaps an engagement of 04-01..04-05, and every listing prints the days so", async () => {
    const made = memoryIo(true);
    await bookingsRequestCommand(
      { ...cli(b()), trainer: "hub-a/A-4", from: "2027-04-01", to: "2027-04-05", id: "b-days-1" },
      made,
    );
    const first = (JSON.parse(made.out()) as { booking: { key: string; request: { from: string; to: string } } })
      .booking;
    // The API keeps half-open instants: the 5th is included, so the request ends at the 6th's midnight.
    expect([Date.parse(first.request.from), Date.parse(first.request.to)]).toEqual([
      Date.parse("2027-04-01T00:00:00Z"),
      Date.parse("2027-04-06T00:00:00Z"),
    ]);
    expect((await answered(b(), first.key)).state).toBe("confirmed");

    const listed = memoryIo(false);
    await bookingsListCommand({ ...cli(b()), direction: "outgoing" }, listed);
    expect(listed.out()).toMatch(/hub-b\/b-days-1 .*2027-04-01 – 2027-04-05 .*confirmed/);
    const shown = memoryIo(false);
    await bookingsActCommand({ ...cli(b()), action: "show", ref: first.key }, shown);
    expect(shown.out()).toContain("period      2027-04-01 – 2027-04-05");

    // The 5th is taken: a request that starts on it is declined as an overlap.
    const second = memoryIo(true);
    await bookingsRequestCommand(
      { ...cli(c()), trainer: "hub-a/A-4", from: "2027-04-05", to: "2027-04-07", id: "c-days-2" },
      second,
    );
    const key = (JSON.parse(second.out()) as { booking: { key: string } }).booking.key;
    expect((await answered(c(), key)).engagement).toMatchObject({ state: "declined", reason: "overlap" });

    // find agrees: A-4 is busy on the 5th, free from the 6th, and the answer prints the days asked.
    const found = async (from: string, to: string) => {
      const io = memoryIo(false);
      await trainersFindCommand({ ...cli(c()), from, to, hub: "hub-a" }, io);
      return io.out();
    };
    await waitUntil(
      "c's index to see A-4 busy on the 5th",
      async () => !/A-4/.test(await found("2027-04-05", "2027-04-05")),
      20_000,
    );
    const free = await found("2027-04-06", "2027-04-07");
    expect(free).toContain("free for the whole period 2027-04-06 – 2027-04-07:");
    expect(free).toMatch(/A-4/);
  });

  it("under the manual policy an operator decides: confirming declines the overlapping requests waiting; decline and cancel name the operator", async () => {
    const first = await request(b(), "hub-d/D-1", 1, 5);
    const second = await request(c(), "hub-d/D-1", 3, 6);
    const third = await request(c(), "hub-d/D-1", 10, 12);
    await waitUntil(
      "d to receive the three requests",
      () => d().node.running.bookings.list({ state: "pending" }).length === 3,
      20_000,
    );
    // Still pending at the requester: nobody answered.
    expect(b().node.running.bookings.show(first.booking.key).state).toBe("pending");

    const io = memoryIo(false);
    await bookingsListCommand({ ...cli(d()), direction: "incoming" }, io);
    expect(io.out()).toContain("policy 'manual'");
    expect(io.out()).toContain("hub-b/");

    await bookingsActCommand({ ...cli(d()), action: "confirm", ref: first.booking.key }, memoryIo(true));
    expect(d().node.running.bookings.show(second.booking.key)).toMatchObject({
      state: "declined",
      engagement: { reason: "overlap" },
    });
    await expect(d().node.running.bookings.confirm("op", second.booking.key)).rejects.toThrow(/already declined/);
    // A request that the confirmed engagement now rules out is declined at once, without an operator.
    const fourth = await request(b(), "hub-d/D-1", 2, 3);
    expect((await answered(b(), fourth.booking.key)).engagement).toMatchObject({
      state: "declined",
      reason: "overlap",
      decidedBy: "policy",
    });
    await d().node.running.bookings.decline("op", third.booking.key, "trainer on leave");
    expect((await answered(c(), third.booking.key)).engagement).toMatchObject({
      reason: "declined-by-operator",
      detail: "trainer on leave",
      decidedBy: "op",
    });
    // Only the home hub decides: b cannot confirm d's trainer.
    await expect(b().node.running.bookings.confirm("op", first.booking.key)).rejects.toThrow(
      /only that hub decides it/,
    );
    await d().node.running.bookings.cancel("op", first.booking.key, "venue closed");
    const seen = await waitUntil(
      "b to see d's cancellation",
      () => {
        const x = b().node.running.bookings.show(first.booking.key);
        return x.state === "cancelled" ? x : undefined;
      },
      20_000,
    );
    expect(seen.engagement).toMatchObject({ reason: "cancelled-by-home-hub", detail: "venue closed" });
  });

  it("a request that reaches the home hub only after it expired is declined as expired", async () => {
    // b is cut off: its request stays in its outbox until it expires.
    const adapter = b().node.running.network.libp2pAdapter as Libp2pNetworkAdapter;
    const closed = new Promise<void>((resolve) => adapter.once("close", () => resolve()));
    adapter.disconnect();
    await closed;
    let healed = false;
    try {
      const expiresAt = new Date(Date.now() + 1500).toISOString();
      const made = await request(b(), "hub-a/A-1", 24, 26, { expiresAt });
      await waitUntil("the request to expire", () => Date.now() > Date.parse(expiresAt) + 100, 5000, 100);
      adapter.connect(adapter.peerId!, adapter.peerMetadata);
      healed = true;
      const seen = await answered(b(), made.booking.key, 30_000);
      expect(seen).toMatchObject({ state: "declined", engagement: { reason: "request-expired" } });
    } finally {
      if (!healed) adapter.connect(adapter.peerId!, adapter.peerMetadata);
    }
  });

  it("refuses bad requests, naming each field, and writes nothing", async () => {
    const before = b().node.running.bookings.list().length;
    const bad = request(b(), "hub-a/NOPE", 5, 3, { expiresAt: "soon", id: "bad id" });
    await expect(bad).rejects.toBeInstanceOf(ConcordatError);
    const error = (await bad.catch((e: unknown) => e)) as ConcordatError;
    expect(error.violations.map((v) => v.field).sort()).toEqual(["expires_at", "request_id", "to", "trainer_id"]);
    await expect(request(b(), "hub-a/NOPE", 3, 5)).rejects.toThrow(/no trainer 'NOPE' of hub 'hub-a' is known here/);
    await expect(request(b(), "hub-zz/X", 3, 5)).rejects.toThrow(/'hub-zz' is not a member/);
    await expect(
      b().node.running.bookings.request("op", {
        id: "",
        trainerHub: "hub-a",
        trainerId: "A-1",
        start: "2020-01-01",
        end: "2020-01-02",
        competency: "",
        course: "",
        note: "",
        expiresAt: "",
      }),
    ).rejects.toThrow(/in the past/);
    expect(b().node.running.bookings.list()).toHaveLength(before);
  });

  it("a retry of an acknowledged request is answered as already made, also once its trainer has left the index", async () => {
    await d().node.running.roster.add(
      { ...draft("D-9"), availability: [{ start: "2027-01-01T00:00:00Z", end: "2027-06-30T00:00:00Z" }] },
      "op",
    );
    await d().node.running.checkpointer.flush();
    await waitUntil("b to know D-9", () => b().node.running.availability.indexed("hub-d", "D-9") !== undefined, 20_000);
    const first = await request(b(), "hub-d/D-9", 30, 32, { id: "b-retry-gone" });
    expect(first.created).toBe(true);
    await d().node.running.roster.remove("D-9", "op");
    await d().node.running.checkpointer.flush();
    await waitUntil(
      "b to see D-9 leave",
      () => b().node.running.availability.indexed("hub-d", "D-9") === undefined,
      20_000,
    );
    const retry = await request(b(), "hub-d/D-9", 30, 32, { id: "b-retry-gone" });
    expect(retry).toMatchObject({ created: false, booking: { key: "hub-b/b-retry-gone" } });
    // A new request for the trainer gone is refused, naming it.
    await expect(request(b(), "hub-d/D-9", 30, 32)).rejects.toThrow(/no trainer 'D-9' of hub 'hub-d' is known here/);
  });
});
