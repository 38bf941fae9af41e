import { afterAll, beforeAll, describe, expect, it } from "vitest";
import ICAL from "ical.js";
import { trainersFindCommand, trainersFreeBusyCommand } from "../../cli/commands/find.js";
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

/**
 * The federated query across real nodes: a hub asks for trainers accredited for a competency (an
 * accreditation for its parent covers it), free in some dates, speaking a language; the answer
 * comes from the index over every hub's verified roster and credentials, says as of which checkpoint
 * per hub, and leaves out whoever lacks a verifying credential or is not free.
 */
describe("finding available trainers across hubs", () => {
  let fed: StartedFederation;
  const s = () => fed.byName("s");
  const a = () => fed.byName("a");
  const b = () => fed.byName("b");
  const find = async (n: FederationNode, extra: Record<string, unknown> = {}) => {
    const io = memoryIo(true);
    await trainersFindCommand(
      {
        ...cli(n),
        from: "2027-03-01T00:00:00Z",
        to: "2027-03-05T00:00:00Z",
        competency: "hr-1",
        language: "en:B2",
        ...extra,
      },
      io,
    );
    return JSON.parse(io.out()) as {
      total: number;
      trainers: Array<{ hub: string; trainerId: string; conflicts: number }>;
      hubs: Array<{ hub: string; checkpointSeq: number; stale: boolean; verified: boolean; trainers: number }>;
      claimedUnverified: number;
    };
  };

  beforeAll(async () => {
    // z is a member with a key and no node: nothing of it ever verifies here.
    fed = await startFederationWith(
      ["s", "a", "b"],
      [
        ["a", "s"],
        ["b", "s"],
      ],
      { keyOnly: ["z"] },
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
      "a and b to verify the release",
      async () =>
        (await a().node.running.coreSource.releases()).length === 1 &&
        (await b().node.running.coreSource.releases()).length === 1,
      15_000,
    );
    const window = [{ start: "2027-01-01T00:00:00Z", end: "2027-06-30T00:00:00Z" }];
    const add = async (n: FederationNode, id: string, extra: Record<string, unknown> = {}) =>
      n.node.running.roster.add(
        { ...draft(id), languages: [{ tag: "en", level: "C1" }], availability: window, ...extra },
        "op",
      );
    await add(a(), "A-1");
    await add(b(), "B-1");
    // No credential; its roster record claims hr-1 (a claim never counts), and only it speaks Swahili.
    await add(b(), "B-2", {
      languages: [
        { tag: "en", level: "C1" },
        { tag: "sw", level: "C2" },
      ],
      accreditations: [
        {
          scheme: "trainer-hr",
          competency: "hr-1",
          level: "2",
          validFrom: "2026-01-01",
          validUntil: "2028-12-31",
          status: "active",
        },
      ],
    });
    await add(b(), "B-3", { blackouts: [{ start: "2027-03-02T00:00:00Z", end: "2027-03-03T00:00:00Z" }] });
    for (const [n, id] of [
      [a(), "A-1"],
      [b(), "B-1"],
      [b(), "B-3"],
    ] as const) {
      const credential = await s().node.running.credentials.issue("op", {
        trainer: { hub: n.hub, id },
        scheme: "trainer-hr",
        level: "2",
        validFrom: "2026-01-01",
        validUntil: "2028-12-31",
        evidence: [],
      });
      await s().node.running.checkpointer.flush();
      await waitUntil(
        `${n.name} to verify ${id}'s credential`,
        async () => (await n.node.running.credentials.verify(credential, {})).valid,
        15_000,
      );
      await n.node.running.credentials.attach("op", credential);
    }
    await Promise.all([a(), b()].map((n) => n.node.running.checkpointer.flush()));
  }, 90_000);
  afterAll(async () => {
    await fed?.stop();
  });

  it("answers from every hub's verified roster: accredited (through the parent competency), free, speaking the language", async () => {
    // Eventually consistent: b's roster and credentials reach a as their checkpoints do.
    await waitUntil("a to find b's trainers", async () => (await find(a())).total === 2, 20_000);
    const answer = await find(a());
    expect(answer.trainers.map((t) => `${t.hub}/${t.trainerId}`).sort()).toEqual(["hub-a/A-1", "hub-b/B-1"]);
    // b's answer is as of a verified checkpoint of b, not stale.
    expect(answer.hubs.find((h) => h.hub === "hub-b")).toMatchObject({ stale: false });
    expect(answer.hubs.find((h) => h.hub === "hub-b")?.checkpointSeq).toBeGreaterThan(0);
    // B-3's blackout rules it out for the whole range; with 2 consecutive free days it comes back, its conflict counted.
    const days = await waitUntil(
      "a to find B-3 with 2 free days in a row",
      async () => {
        const answer = await find(a(), { days: 2 });
        return answer.trainers.some((t) => t.trainerId === "B-3") ? answer : undefined;
      },
      20_000,
    );
    expect(days.trainers.find((t) => t.trainerId === "B-3")).toMatchObject({ conflicts: 1 });
    // A language nobody speaks at that level, and a competency nobody is accredited for.
    expect((await find(a(), { language: "fr:A1" })).total).toBe(0);
    expect((await find(a(), { competency: "uf-1" })).total).toBe(0);
  });

  it("an empty answer says why: roster claims without a verified credential, and each hub's checkpoint or that nothing of it verified yet", async () => {
    // Only B-2 speaks Swahili; it lists hr-1 in its roster record but holds no credential for it.
    const empty = await waitUntil(
      "a to know B-2's claim",
      async () => {
        const answer = await find(a(), { language: "sw:B2" });
        return answer.claimedUnverified === 1 ? answer : undefined;
      },
      20_000,
    );
    expect(empty.total).toBe(0);
    // Every member is accounted for, matched or not; z has nothing verified.
    const hubs = empty.hubs;
    expect(hubs.map((h) => h.hub)).toEqual(["hub-a", "hub-b", "hub-s", "hub-z"]);
    expect(hubs.find((h) => h.hub === "hub-a")).toMatchObject({ verified: true, checkpointSeq: 0 });
    expect(hubs.find((h) => h.hub === "hub-b")).toMatchObject({ verified: true, trainers: 3 });
    expect(hubs.find((h) => h.hub === "hub-b")?.checkpointSeq).toBeGreaterThan(0);
    expect(hubs.find((h) => h.hub === "hub-z")).toMatchObject({ verified: false, checkpointSeq: 0, trainers: 0 });

    const io = memoryIo(false);
    await trainersFindCommand(
      { ...cli(a()), from: "2027-03-01", to: "2027-03-04", competency: "hr-1", language: "sw:B2" },
      io,
    );
    const text = io.out();
    expect(text).toContain("0 trainer(s) free for the whole period 2027-03-01 – 2027-03-04:");
    expect(text).toContain(
      "1 trainer(s) list accreditations for this competency in their roster record, but none holds a verified credential for it: see `concordat credentials issue`",
    );
    expect(text).toMatch(/hub-b: as of checkpoint \d+ \(.*\); 3 trainer\(s\) known/);
    expect(text).toContain("hub-z: nothing verified yet");
    expect(text).toContain("Nothing verified yet from hub-z");
    // Without the claim's competency in question, nothing is said of claims.
    const plain = memoryIo(false);
    await trainersFindCommand({ ...cli(a()), from: "2027-03-01", to: "2027-03-04", language: "fr:A1" }, plain);
    expect(plain.out()).not.toContain("roster record");
    expect(plain.out()).toContain("hub-b: as of checkpoint");
  });

  it("follows changes: a trainer removed at its hub leaves the answer once its checkpoint arrives", async () => {
    await b().node.running.roster.remove("B-1", "op");
    await b().node.running.checkpointer.flush();
    await waitUntil(
      "a to stop finding B-1",
      async () => !(await find(a())).trainers.some((t) => t.trainerId === "B-1"),
      20_000,
    );
    expect((await find(a())).trainers.map((t) => t.trainerId)).toEqual(["A-1"]);
  });

  it("exports a trainer's free/busy as iCalendar that a standard library parses, busy periods only", async () => {
    const io = memoryIo(false);
    await trainersFreeBusyCommand(
      { ...cli(a()), id: "B-3", hub: "hub-b", from: "2026-12-15T00:00:00Z", to: "2027-03-10T00:00:00Z" },
      io,
    );
    const text = io.out();
    expect(text).toMatch(/^BEGIN:VCALENDAR\r\n/);
    const component = new ICAL.Component(ICAL.parse(text) as unknown as unknown[]);
    const freebusy = component.getFirstSubcomponent("vfreebusy");
    expect(freebusy).not.toBeNull();
    const periods = (freebusy as ICAL.Component).getAllProperties("freebusy").flatMap((p) =>
      p.getValues().map((v) => ({
        type: p.getParameter("fbtype"),
        start: (v as ICAL.Period).start.toJSDate().toISOString(),
        end: (v as ICAL.Period).getEnd().toJSDate().toISOString(),
      })),
    );
    // Before the availability window, and the blackout: unavailable. Nothing says what the trainer does.
    expect(periods).toEqual([
      { type: "BUSY-UNAVAILABLE", start: "2026-12-15T00:00:00.000Z", end: "2027-01-01T00:00:00.000Z" },
      { type: "BUSY-UNAVAILABLE", start: "2027-03-02T00:00:00.000Z", end: "2027-03-03T00:00:00.000Z" },
    ]);
    expect(text).not.toMatch(/SUMMARY|DESCRIPTION|LOCATION/);
  });
});
