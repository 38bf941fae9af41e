import { ImmutableString } from "@automerge/automerge";
import { status } from "@grpc/grpc-js";
import type { Command } from "commander";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { trainersFindCommand } from "../../cli/commands/find.js";
import {
  trainersAcceptCommand,
  trainersDeployCommand,
  trainersHistoryCommand,
  trainersLineageCommand,
  trainersReleaseCommand,
} from "../../cli/commands/trainer-history.js";
import { buildProgram } from "../../cli/program.js";
import type { FindAvailableTrainersResponse } from "../../node/api/generated/concordat/v1/availability.js";
import type { GetTrainerHistoryResponse } from "../../node/api/generated/concordat/v1/trainers.js";
import { shardOf } from "../../node/roster/index.js";
import { startFederationWith, waitUntil, type FederationNode, type StartedFederation } from "../helpers/federation.js";
import { expectServiceError, makeTrainer, refusedFields } from "../helpers/harness.js";
import { expectCliError, memoryIo } from "../helpers/io.js";

const cli = (n: FederationNode) => ({ api: n.node.address, token: n.node.adminToken });
/** A generic gRPC client with the node's admin token: sends whatever the CLI would refuse. */
const api = (n: FederationNode) => n.node.clients(n.node.adminToken);
/** The trainers' declared window, and the dates asked in `find` (after every deployment ended). */
const WINDOW = [{ start: "2027-01-01T00:00:00.000Z", end: "2028-01-01T00:00:00.000Z" }];
const FROM = "2027-03-01";
const TO = "2027-03-05";

/**
 * Where trainers served and moving them between hubs, across real nodes (docs/trainer-history.md):
 * deployments and lineage recorded, validated and replicated; the availability search by "delivered
 * this module before" and "served in"; a trainer released by hub A and accepted by hub B with their
 * history, found at B and no longer at A; an accept without a release refused; a "moved from"
 * forged by a hub in its own roster shown as not confirmed by the other hub's signed roster.
 */
describe("trainer history and moves between hubs", () => {
  let fed: StartedFederation;
  const s = () => fed.byName("s");
  const a = () => fed.byName("a");
  const b = () => fed.byName("b");

  const history = async (n: FederationNode, id: string, hub?: string) => {
    const io = memoryIo(true);
    await trainersHistoryCommand({ ...cli(n), id, ...(hub ? { hub } : {}) }, io);
    return JSON.parse(io.out()) as GetTrainerHistoryResponse;
  };
  const find = async (n: FederationNode, extra: { deliveredModule?: string; servedIn?: string; hub?: string }) => {
    const io = memoryIo(true);
    await trainersFindCommand({ ...cli(n), from: FROM, to: TO, ...extra }, io);
    return (JSON.parse(io.out()) as FindAvailableTrainersResponse).trainers.map((t) => `${t.hub}/${t.trainerId}`);
  };
  /** Waits until `n`'s answer to `find(extra)` is `expected`. */
  const findsEventually = (n: FederationNode, extra: Parameters<typeof find>[1], expected: string[]) =>
    waitUntil(`${n.name} to find ${JSON.stringify(expected)} for ${JSON.stringify(extra)}`, async (see) => {
      const got = await find(n, extra);
      see(JSON.stringify(got));
      return JSON.stringify(got) === JSON.stringify(expected);
    });

  beforeAll(async () => {
    fed = await startFederationWith(
      ["s", "a", "b"],
      [
        ["a", "s"],
        ["b", "s"],
        ["b", "a"],
      ],
    );
    const c = api(a());
    for (const id of ["MV-1", "KEEP-1"])
      await c.trainers.addTrainer({ trainer: makeTrainer(id, { availability: WINDOW, blackouts: [] }) });
  }, 120_000);

  afterAll(async () => {
    await fed?.stop();
  });

  it("records deployments and lineage, names every problem of a bad one, and keeps them through an update", async () => {
    const deployed = memoryIo(true);
    await trainersDeployCommand(
      {
        ...cli(a()),
        id: "MV-1",
        from: "2025-01-10",
        to: "2025-01-20",
        role: "lead-trainer",
        place: "Nairobi",
        country: "KE",
        module: "M-HR",
        mission: "Police reform programme",
      },
      deployed,
    );
    await trainersDeployCommand(
      {
        ...cli(a()),
        id: "MV-1",
        from: "2024-05-02",
        to: "2024-05-03",
        role: "co-trainer",
        place: "Kampala",
        country: "ug",
        module: "M-UF",
        withHub: "EASF",
      },
      memoryIo(),
    );
    const lineage = memoryIo();
    await trainersLineageCommand(
      {
        ...cli(a()),
        id: "MV-1",
        trainedBy: "hub-b/MENTOR-7",
        module: "TOT-HR",
        on: "2023-11-30",
        credential: "urn:uuid:0b7f9d3e-5a1c-4c2e-9f4e-2d8a6b1c3e55",
      },
      lineage,
    );
    expect(lineage.out()).toContain("hub-b/MENTOR-7");
    const h = await history(a(), "MV-1");
    // Oldest first; the country upper-cased; the node's own history lists each write.
    expect(h.deployments.map((d) => [d.from, d.module, d.country, d.role])).toEqual([
      ["2024-05-02", "M-UF", "UG", "co-trainer"],
      ["2025-01-10", "M-HR", "KE", "lead-trainer"],
    ]);
    expect(h.trainedBy).toEqual([
      {
        trainedBy: "hub-b/MENTOR-7",
        module: "TOT-HR",
        on: "2023-11-30",
        credential: "urn:uuid:0b7f9d3e-5a1c-4c2e-9f4e-2d8a6b1c3e55",
      },
    ]);
    expect(h.entries.map((e) => e.action)).toEqual([
      "trainer.add",
      "trainer.deploy",
      "trainer.deploy",
      "trainer.lineage",
    ]);
    // The history is public: no personal data in it.
    expect(JSON.stringify(h)).not.toContain("@example.org");

    // A generic client sends what the CLI would refuse: every problem is named at once.
    const c = api(a());
    const bad = await refusedFields(
      c.trainers.addDeployment({
        id: "MV-1",
        deployment: {
          from: "2025-02-30",
          to: "someday",
          role: "boss",
          place: "",
          country: "KE-30",
          module: "",
          hub: "",
          mission: "x".repeat(201),
        },
      }),
    );
    expect(bad.map((v) => v.split(":")[0])).toEqual([
      "deployment.from",
      "deployment.to",
      "deployment.role",
      "deployment.place",
      "deployment.country",
      "deployment.module",
      "deployment.mission",
    ]);
    const reversed = await refusedFields(
      c.trainers.addDeployment({
        id: "",
        deployment: {
          from: "2025-03-10",
          to: "2025-03-01",
          role: "mentor",
          place: "Mombasa",
          country: "XX",
          module: "M-HR",
          hub: "",
          mission: "",
        },
      }),
    );
    expect(reversed).toEqual([
      "id: is required",
      "deployment.to: (2025-03-01) is before from (2025-03-10)",
      expect.stringMatching(/^deployment\.country: 'XX' is not an ISO 3166-1 alpha-2/),
    ]);
    const lineageBad = await refusedFields(
      c.trainers.addLineage({
        id: "MV-1",
        lineage: { trainedBy: "hub-a/MV-1", module: "", on: "2999-01-01", credential: "not a credential" },
      }),
    );
    expect(lineageBad.map((v) => v.split(":")[0])).toEqual([
      "lineage.trained_by",
      "lineage.on",
      "lineage.credential",
      "lineage.module",
    ]);
    expect(
      await refusedFields(
        c.trainers.addLineage({
          id: "MV-1",
          lineage: { trainedBy: "nobody", module: "TOT", on: "2020-01-01", credential: "" },
        }),
      ),
    ).toEqual([expect.stringMatching(/^lineage\.trained_by: 'nobody' is not HUB\/TRAINER-ID/)]);
    // Nothing of the refused writes was stored; a duplicate is refused too.
    expect((await history(a(), "MV-1")).deployments).toHaveLength(2);
    const again = await expectServiceError(
      c.trainers.addLineage({
        id: "MV-1",
        lineage: { trainedBy: "hub-b/MENTOR-7", module: "TOT-HR", on: "2023-11-30", credential: "" },
      }),
    );
    expect(again.code).toBe(status.ALREADY_EXISTS);

    // An update (name) and an upsert-like AddTrainer-free path keep the history: only its own commands write it.
    await c.trainers.updateTrainer({
      trainer: makeTrainer("MV-1", { displayName: "Amina Moved", availability: WINDOW, blackouts: [] }),
      updateMask: ["display_name"],
    });
    const after = await history(a(), "MV-1");
    expect(after.trainer?.displayName).toBe("Amina Moved");
    expect(after.deployments).toHaveLength(2);
    expect(after.trainedBy).toHaveLength(1);
  });

  it("replicates the history, and finds trainers by a module delivered before and a country served in", async () => {
    await waitUntil("s to read hub-a's MV-1 with its history", async (see) => {
      const h = await history(s(), "MV-1", "hub-a").catch(() => undefined);
      see(h ? `${h.deployments.length} deployments at checkpoint ${h.checkpointSeq}` : "not yet");
      return h !== undefined && h.deployments.length === 2 && h.trainedBy.length === 1;
    });
    const seen = await history(s(), "MV-1", "hub-a");
    expect(seen.checkpointSeq).toBeGreaterThan(0);
    expect(seen.entries).toEqual([]); // another hub's change log is not replicated: its signed record is
    expect(seen.trainer?.private).toBeUndefined();

    await findsEventually(s(), { deliveredModule: "M-HR" }, ["hub-a/MV-1"]);
    expect(await find(s(), { servedIn: "UG" })).toEqual(["hub-a/MV-1"]);
    expect(await find(s(), { servedIn: "KE", deliveredModule: "M-UF" })).toEqual(["hub-a/MV-1"]);
    expect(await find(s(), { deliveredModule: "M-CD" })).toEqual([]);
    // Without these filters both of hub-a's trainers are free.
    expect(await find(s(), { hub: "hub-a" })).toEqual(["hub-a/KEEP-1", "hub-a/MV-1"]);
    // Bad input: a subdivision where a country is asked, named.
    const wrong = await refusedFields(
      api(s()).availability.findAvailableTrainers({
        competency: "",
        moduleCompetencies: [],
        language: "",
        minLevel: "",
        region: "",
        hub: "",
        from: "2027-03-01T00:00:00Z",
        to: "2027-03-05T00:00:00Z",
        minConsecutiveDays: 0,
        pageSize: 0,
        pageToken: "",
        servedIn: "KE-30",
        deliveredModule: "x".repeat(129),
      }),
    );
    expect(wrong.map((v) => v.split(":")[0])).toEqual(["delivered_module", "served_in"]);
  });

  it("refuses an accept without a release, and a release of a trainer the hub does not hold", async () => {
    const early = await expectCliError(trainersAcceptCommand({ ...cli(b()), ref: "hub-a/MV-1" }, memoryIo()));
    expect(early.message).toMatch(/does not say the trainer moved to hub-b/);
    const c = api(a());
    expect((await expectServiceError(c.trainers.releaseTrainer({ id: "NOBODY", toHub: "hub-b" }))).code).toBe(
      status.NOT_FOUND,
    );
    expect(await refusedFields(c.trainers.releaseTrainer({ id: "MV-1", toHub: "hub-a" }))).toEqual([
      "to_hub: is this hub; release a trainer to another hub",
    ]);
    expect(await refusedFields(c.trainers.releaseTrainer({ id: "MV-1", toHub: "hub-z" }))).toEqual([
      "to_hub: 'hub-z' is not a member hub of the federation",
    ]);
    // B cannot accept from itself, nor from a hub that is no member.
    expect(await refusedFields(api(b()).trainers.acceptTrainer({ fromHub: "hub-b", id: "X" }))).toEqual([
      "from_hub: is this hub; accept a trainer another hub released",
    ]);
  });

  it("moves a trainer from hub A to hub B with their history: found at B by the module delivered before, no longer at A", async () => {
    const released = memoryIo(true);
    await trainersReleaseCommand({ ...cli(a()), id: "MV-1", to: "hub-b" }, released);
    const r = JSON.parse(released.out()) as GetTrainerHistoryResponse;
    expect(r.movedTo?.hub).toBe("hub-b");
    // A's record is frozen, and A's node no longer offers the trainer.
    const frozen = await expectServiceError(
      api(a()).trainers.addDeployment({
        id: "MV-1",
        deployment: {
          from: "2025-06-01",
          to: "2025-06-02",
          role: "mentor",
          place: "Juba",
          country: "SS",
          module: "M-HR",
          hub: "",
          mission: "",
        },
      }),
    );
    expect(frozen.code).toBe(status.FAILED_PRECONDITION);
    // A booking request that still reaches A for the trainer is declined, saying where they went.
    const asked = await b().node.running.bookings.request("op", {
      id: "",
      trainerHub: "hub-a",
      trainerId: "MV-1",
      start: "2027-03-01T00:00:00.000Z",
      end: "2027-03-03T00:00:00.000Z",
      competency: "",
      course: "",
      note: "",
      expiresAt: "",
    });
    const answer = await waitUntil(
      "b to see its request for hub-a/MV-1 answered",
      () => {
        const seen = b().node.running.bookings.show(asked.booking.key);
        return seen.state !== "pending" ? seen : undefined;
      },
      20_000,
    );
    expect(answer.engagement).toMatchObject({ state: "declined", reason: "unknown-trainer" });
    expect(answer.engagement?.detail).toContain("moved to hub 'hub-b'");
    expect(await find(a(), { deliveredModule: "M-HR" })).toEqual([]);
    expect(await find(a(), { hub: "hub-a" })).toEqual(["hub-a/KEEP-1"]);

    // B accepts once A's signed roster saying so has verified at B.
    let accepted: GetTrainerHistoryResponse | undefined;
    await waitUntil("b to accept hub-a/MV-1", async (see) => {
      const io = memoryIo(true);
      try {
        await trainersAcceptCommand({ ...cli(b()), ref: "hub-a/MV-1" }, io);
        accepted = JSON.parse(io.out()) as GetTrainerHistoryResponse;
        return true;
      } catch (error) {
        see((error as Error).message);
        return false;
      }
    });
    expect(accepted?.trainer?.homeHub).toBe("hub-b");
    expect(accepted?.movedFrom).toMatchObject({ hub: "hub-a", id: "MV-1" });
    expect(accepted?.moveConfirmed).toBe(true);
    expect(accepted?.deployments.map((d) => d.module)).toEqual(["M-UF", "M-HR"]);
    expect(accepted?.trainedBy.map((l) => l.trainedBy)).toEqual(["hub-b/MENTOR-7"]);
    // The personal part never left hub A: B's operator enters it again.
    const atB = await api(b()).trainers.getTrainer({ id: "MV-1" });
    expect(atB.private).toBeUndefined();
    expect(atB.displayName).toBe("Amina Moved");
    const twice = await expectServiceError(api(b()).trainers.acceptTrainer({ fromHub: "hub-a", id: "MV-1" }));
    expect(twice.code).toBe(status.ALREADY_EXISTS);

    // Elsewhere: found at B by "delivered this module before", no longer at A; both sides signed.
    await findsEventually(s(), { deliveredModule: "M-HR" }, ["hub-b/MV-1"]);
    expect(await find(s(), { hub: "hub-a" })).toEqual(["hub-a/KEEP-1"]);
    await waitUntil("s to see the move confirmed from both sides", async (see) => {
      const fromA = await history(s(), "MV-1", "hub-a").catch(() => undefined);
      const fromB = await history(s(), "MV-1", "hub-b").catch(() => undefined);
      see(`A: ${fromA?.moveDetail ?? "-"}; B: ${fromB?.moveDetail ?? "-"}`);
      return fromA?.moveConfirmed === true && fromB?.moveConfirmed === true;
    });
    const fromB = await history(s(), "MV-1", "hub-b");
    expect(fromB.deployments).toHaveLength(2);
    expect(fromB.movedFrom?.hub).toBe("hub-a");
    // For people: the move and where the trainer served.
    const text = memoryIo();
    await trainersHistoryCommand({ ...cli(s()), id: "MV-1", hub: "hub-b" }, text);
    expect(text.out()).toMatch(/Moved from hub-a .*hub-a's signed roster says MV-1 moved to hub-b/);
    expect(text.out()).toContain("Nairobi");
  });

  it("shows a 'moved from' a hub wrote into its own roster outside the API as not confirmed, and takes nothing from the other hub", async () => {
    // Hub B writes, past its API, a record claiming KEEP-1 moved to it from hub A (A never released it).
    const roster = b().node.running.roster;
    const id = "KEEP-1";
    const forged = new ImmutableString(
      JSON.stringify({
        id,
        displayName: "Forged",
        homeHub: "hub-b",
        languages: [{ tag: "en", level: "C1" }],
        regions: ["KE"],
        accreditations: [],
        availability: WINDOW,
        blackouts: [],
        updatedAt: new Date().toISOString(),
        updatedBy: "forger",
        deployments: [
          {
            from: "2020-01-01",
            to: "2020-01-02",
            role: "lead-trainer",
            place: "Nowhere",
            country: "KE",
            module: "M-FORGED",
            hub: "",
            mission: "",
          },
        ],
        movedFrom: { hub: "hub-a", id, on: "2026-01-01" },
      }),
    );
    await b().node.running.documents.transact({ operatorId: "forger", action: "forge" }, () => ({
      edits: [
        {
          key: `roster/${shardOf(id, roster.shardCount)}`,
          subject: id,
          change: (doc) => void ((doc as unknown as { trainers: Record<string, unknown> }).trainers[id] = forged),
        },
      ],
      result: undefined,
    }));
    // S reads B's signed record (B signs what it writes in its own roster) — and says the move is not confirmed.
    await waitUntil("s to read hub-b's forged KEEP-1", async (see) => {
      const h = await history(s(), id, "hub-b").catch(() => undefined);
      see(h ? h.moveDetail : "not yet");
      return h?.movedFrom?.hub === "hub-a";
    });
    const h = await history(s(), id, "hub-b");
    expect(h.moveConfirmed).toBe(false);
    expect(h.moveDetail).toMatch(/^NOT confirmed: hub-a's signed roster does not say KEEP-1 moved to hub-b/);
    // At B itself too.
    expect((await history(b(), id)).moveConfirmed).toBe(false);
    // A's trainer is untouched and still offered by A; the forged record is only B's own claim.
    expect((await history(s(), id, "hub-a")).movedTo).toBeUndefined();
    await findsEventually(s(), { deliveredModule: "M-FORGED" }, ["hub-b/KEEP-1"]);
    expect(await find(s(), { hub: "hub-a" })).toEqual(["hub-a/KEEP-1"]);
  });

  it("brings a trainer back: B releases them to A, and A's frozen record gives way to the one with B's history", async () => {
    await api(b()).trainers.addDeployment({
      id: "MV-1",
      deployment: {
        from: "2026-02-02",
        to: "2026-02-06",
        role: "assessor",
        place: "Kigali",
        country: "RW",
        module: "M-CD",
        hub: "",
        mission: "",
      },
    });
    await trainersReleaseCommand({ ...cli(b()), id: "MV-1", to: "hub-a" }, memoryIo());
    await waitUntil("a to take MV-1 back", async (see) => {
      try {
        await trainersAcceptCommand({ ...cli(a()), ref: "hub-b/MV-1" }, memoryIo());
        return true;
      } catch (error) {
        see((error as Error).message);
        return false;
      }
    });
    const back = await history(a(), "MV-1");
    expect(back.movedTo).toBeUndefined();
    expect(back.movedFrom?.hub).toBe("hub-b");
    expect(back.moveConfirmed).toBe(true);
    expect(back.deployments.map((d) => d.module)).toEqual(["M-UF", "M-HR", "M-CD"]);
    // A's personal part, kept when the trainer left, is still A's.
    expect((await api(a()).trainers.getTrainer({ id: "MV-1" })).private?.email).toBe("mv-1@example.org");
    await findsEventually(s(), { deliveredModule: "M-HR", hub: "hub-a" }, ["hub-a/MV-1"]);
    await findsEventually(s(), { servedIn: "RW" }, ["hub-a/MV-1"]);
    // Accepting from a hub the trainer was not released to is still refused.
    const wrong = await expectServiceError(api(b()).trainers.acceptTrainer({ fromHub: "hub-a", id: "MV-1" }));
    expect(wrong.code).toBe(status.FAILED_PRECONDITION);
  });

  it("has --help for each command, and find's new options", () => {
    const program = buildProgram();
    const trainers = program.commands.find((c) => c.name() === "trainers") as Command;
    const help = (name: string) => (trainers.commands.find((c) => c.name() === name) as Command).helpInformation();
    expect(help("deploy")).toMatch(/--role <role>[\s\S]*--country <code>[\s\S]*--mission <name>/);
    expect(help("lineage")).toMatch(/--trained-by <hub\/id>[\s\S]*--credential <id>/);
    expect(help("history")).toMatch(/--hub <id>/);
    expect(help("release")).toMatch(/--to <hub>/);
    expect(help("accept")).toMatch(/personal data never leaves/);
    expect(help("find")).toMatch(/--delivered-module <id>[\s\S]*--served-in <country>/);
  });
});
