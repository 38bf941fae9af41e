import { writeFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { status, type ServiceError } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  deliveriesIngestCommand,
  deliveriesListCommand,
  deliveriesRecordCommand,
} from "../../cli/commands/deliveries.js";
import { fieldViolations } from "../../node/api/index.js";
import { VERBS } from "../../node/deliveries/index.js";
import { startFederationWith, waitUntil, type FederationNode, type StartedFederation } from "../helpers/federation.js";
import { makeTempDir } from "../helpers/harness.js";
import { memoryIo } from "../helpers/io.js";
import { adoptRelease, releaseCore } from "../helpers/core.js";

const cli = (n: FederationNode) => ({ api: n.node.address, token: n.node.adminToken });

const statement = (id: string, learner: string, verb: string) => ({
  id,
  actor: { objectType: "Agent", name: `Learner ${learner}`, mbox: `mailto:${learner}@academy.example` },
  verb: { id: verb },
  object: { id: "https://academy.example/courses/mod-hr" },
  timestamp: "2027-02-03T10:00:00Z",
});

/**
 * Deliveries across real nodes: hub a records a course run by hand and counts another from xAPI
 * statements (each statement once, each learner once, no learner named in anything replicated);
 * the secretariat reads both as of a's checkpoints. Bad input is refused, every problem named.
 */
describe("deliveries: recorded and counted from xAPI, read across the federation", () => {
  let fed: StartedFederation;
  let dir: string;
  const s = () => fed.byName("s");
  const a = () => fed.byName("a");

  beforeAll(async () => {
    fed = await startFederationWith(["s", "a"], [["a", "s"]]);
    await releaseCore(s(), {
      items: [["hr-1", "Competency"]],
      modules: [
        {
          id: "mod-hr",
          code: "M-HR",
          title: { en: "Human rights for police" },
          durationMinutes: 60,
          deliveryMode: "blended",
          units: [],
          competencies: ["hr-1"],
          materials: [],
        },
      ],
    });
    await adoptRelease(a());
    dir = await makeTempDir("concordat-xapi-");
  }, 90_000);
  afterAll(async () => {
    await fed?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("refuses a delivery with bad figures, naming every field", async () => {
    const error = (await deliveriesRecordCommand(
      {
        ...cli(a()),
        id: "d-bad",
        module: "mod-nope",
        start: "2027-02-30",
        end: "2027-13-01",
        group: ["police=2/1/0"],
        completed: 5,
        passed: 6,
        evaluation: "3:120",
      },
      memoryIo(),
    ).catch((e: unknown) => e)) as ServiceError;
    expect(error.code).toBe(status.INVALID_ARGUMENT);
    expect(fieldViolations(error).map((v) => v.field)).toEqual([
      "delivery.module",
      "delivery.start",
      "delivery.end",
      "delivery.completed",
      "delivery.passed",
      "delivery.evaluation.mean_score",
    ]);
    await expect(
      deliveriesRecordCommand({ ...cli(a()), id: "d-bad", group: ["police=two"] }, memoryIo()),
    ).rejects.toThrow(/expected CATEGORY=FEMALE\/MALE\/UNSPECIFIED/);
    expect(a().node.running.deliveries.list()).toEqual([]);
  });

  it("records a delivery by hand; the secretariat reads it as of a's checkpoint", async () => {
    const io = memoryIo();
    await deliveriesRecordCommand(
      {
        ...cli(a()),
        id: "d-1",
        module: "mod-hr",
        start: "2027-01-10",
        end: "2027-01-14",
        country: "KE",
        place: "Nairobi",
        group: ["police=8/12/0", "corrections=5/4/1"],
        completed: 27,
        passed: 24,
        evaluation: "26:82.5",
        visibility: "public",
      },
      io,
    );
    expect(io.out()).toContain(
      "Recorded d-1: module mod-hr, 2027-01-10 – 2027-01-14, Nairobi (KE); 30 participant(s), 27 completed, 24 passed (manual)",
    );
    await waitUntil("s to read a's delivery", () => s().node.running.deliveries.list("hub-a").length === 1, 15_000);
    expect(s().node.running.deliveries.list("hub-a")[0]).toMatchObject({
      id: "d-1",
      completed: 27,
      passed: 24,
      participants: [
        { category: "police", female: 8, male: 12 },
        { category: "corrections", female: 5, male: 4, unspecified: 1 },
      ],
    });
  });

  it("counts xAPI statements once each and learners once each, and names no learner in anything replicated", async () => {
    // Five learners: L1 completes and passes, L2 completes, L3 fails, L4 and L5 only start; L1's pass is in the file twice.
    const first = [
      statement("00000000-0000-4000-8000-000000000001", "l1", "http://adlnet.gov/expapi/verbs/launched"),
      statement("00000000-0000-4000-8000-000000000002", "l1", VERBS.completed),
      statement("00000000-0000-4000-8000-000000000003", "l1", VERBS.passed),
      statement("00000000-0000-4000-8000-000000000003", "l1", VERBS.passed),
      statement("00000000-0000-4000-8000-000000000004", "l2", VERBS.completed),
      statement("00000000-0000-4000-8000-000000000005", "l3", VERBS.failed),
      statement("00000000-0000-4000-8000-000000000006", "l4", "http://adlnet.gov/expapi/verbs/launched"),
      statement("00000000-0000-4000-8000-000000000007", "l5", "http://adlnet.gov/expapi/verbs/initialized"),
    ];
    const file = join(dir, "statements.json");
    await writeFile(file, JSON.stringify({ statements: first }));
    const target = { id: "d-2", module: "mod-hr", start: "2027-02-01", end: "2027-02-28", country: "KE" };
    const io = memoryIo(true);
    await deliveriesIngestCommand({ ...cli(a()), ...target, file }, io);
    expect(JSON.parse(io.out())).toMatchObject({
      added: 7,
      duplicates: 1,
      delivery: { completed: 2, passed: 1, participants: [{ category: "learners", unspecified: 5 }], source: "xapi" },
    });

    // The same file again: nothing new.
    const again = memoryIo(true);
    await deliveriesIngestCommand({ ...cli(a()), id: "d-2", file }, again);
    expect(JSON.parse(again.out())).toMatchObject({
      added: 0,
      duplicates: 8,
      delivery: { completed: 2, passed: 1, participants: [{ unspecified: 5 }] },
    });

    // A later export: L2 now passes, L3 completes on a retry, a new learner L6 starts: still one count per learner.
    const later = join(dir, "later.json");
    await writeFile(
      later,
      JSON.stringify([
        statement("00000000-0000-4000-8000-000000000008", "l2", VERBS.passed),
        statement("00000000-0000-4000-8000-000000000009", "l3", VERBS.completed),
        statement("00000000-0000-4000-8000-00000000000a", "l6", "http://adlnet.gov/expapi/verbs/launched"),
        ...first.slice(0, 2),
      ]),
    );
    const third = memoryIo(true);
    await deliveriesIngestCommand({ ...cli(a()), id: "d-2", file: later }, third);
    expect(JSON.parse(third.out())).toMatchObject({
      added: 3,
      duplicates: 2,
      delivery: { completed: 3, passed: 2, participants: [{ unspecified: 6 }] },
    });

    // What replicates holds figures only: the secretariat's copy names no learner; the private document is not there.
    await waitUntil(
      "s to read d-2's latest figures",
      () =>
        s()
          .node.running.deliveries.list("hub-a")
          .find((d) => d.id === "d-2")?.passed === 2,
      15_000,
    );
    const replicated = JSON.stringify(s().node.running.deliveries.list("hub-a"));
    for (const learner of ["l1", "l2", "l3", "Learner", "mailto", "academy.example"])
      expect(replicated).not.toContain(learner);
    const privateId = a().node.running.documents.idOf("deliveries-private");
    expect(await s().node.running.replica.documentIds()).not.toContain(privateId);
    const list = memoryIo();
    await deliveriesListCommand({ ...cli(s()), hub: "hub-a" }, list);
    expect(list.out()).toContain("2 deliveries");
  });

  it("refuses a statements file with bad statements, naming each, and counts nothing", async () => {
    const file = join(dir, "bad.json");
    await writeFile(
      file,
      JSON.stringify([
        { actor: { name: "no identifier" }, verb: { id: VERBS.completed } },
        { actor: { mbox: "mailto:x@y" } },
        statement("00000000-0000-4000-8000-0000000000ff", "l9", VERBS.passed),
      ]),
    );
    const error = (await deliveriesIngestCommand({ ...cli(a()), id: "d-2", file }, memoryIo()).catch(
      (e: unknown) => e,
    )) as ServiceError;
    expect(fieldViolations(error).map((v) => v.field)).toEqual([
      "statements[0].actor",
      "statements[0].object",
      "statements[1].verb.id",
      "statements[1].object",
    ]);
    expect(a().node.running.deliveries.get("d-2")).toMatchObject({ completed: 3, passed: 2 });
    await writeFile(file, "{ not json");
    await expect(deliveriesIngestCommand({ ...cli(a()), id: "d-2", file }, memoryIo())).rejects.toThrow(/is not JSON/);
    // A delivery recorded by hand is not counted into.
    await writeFile(file, JSON.stringify([statement("00000000-0000-4000-8000-0000000000fe", "l9", VERBS.passed)]));
    await expect(deliveriesIngestCommand({ ...cli(a()), id: "d-1", file }, memoryIo())).rejects.toThrow(
      /recorded by hand/,
    );
  });
});
