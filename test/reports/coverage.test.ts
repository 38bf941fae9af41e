import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { reportCoverageCommand } from "../../cli/commands/report.js";
import { CheckpointKind } from "../../node/authority/checkpoint.js";
import {
  computeCoverage,
  type CoverageReport,
  type HubEvaluation,
  type ReportInput,
} from "../../node/reports/index.js";
import { NO_LEARNING } from "../../node/deliveries/index.js";
import { waitUntil, type FederationNode, type StartedFederation } from "../helpers/federation.js";
import { makeTempDir } from "../helpers/harness.js";
import { memoryIo } from "../helpers/io.js";
import { startReportingFederation } from "./federation.js";

const cli = (n: FederationNode) => ({ api: n.node.address, token: n.node.adminToken });
const DAY = 86_400_000;

describe("the coverage computation", () => {
  const at = Date.parse("2027-01-01T00:00:00Z");
  const delivery = (
    id: string,
    module: string,
    start: string,
    visibility: "public" | "internal",
    f: number,
    m: number,
    completed: number,
    passed: number,
  ) => ({
    id,
    module,
    start,
    end: start,
    country: "KE",
    place: "",
    language: "en",
    participants: [{ category: "police", female: f, male: m, unspecified: 0 }],
    completed,
    passed,
    evaluation: { responses: 0, meanScore: 0 },
    assessments: [],
    source: "manual" as const,
    visibility,
    recordedAt: "",
    recordedBy: "",
  });
  const signed = (documentId: string) => ({
    checkpoint: {
      federationId: "f",
      owner: "o",
      documentId,
      heads: [],
      seq: 1,
      time: "2026-12-31T00:00:00Z",
      kind: CheckpointKind.Heartbeat,
    },
    signature: "",
  });
  const input: ReportInput = {
    generatedAt: "2027-01-01T00:00:00.000Z",
    asOf: "2027-01-01T00:00:00.000Z",
    sources: {
      charter: { hub: "", type: "charter", ...signed("c") },
      releases: [],
      documents: [{ hub: "hub-a", type: "roster", ...signed("d1") }],
    },
    period: { from: "2027-01-01", to: "2027-03-31" },
    latestRelease: "1.1.0",
    competencies: [
      { id: "hr-1", code: "HR-1" },
      { id: "uf-1", code: "UF-1" },
    ],
    parents: { "hr-1": ["hr"], "uf-1": ["uf"] },
    publicOnly: false,
    audits: [],
    hubs: [
      {
        hub: "hub-a",
        name: "A",
        checkpoints: [{ document: "d1", type: "roster", seq: 5, time: "2026-12-31T00:00:00Z" }],
        trainers: [
          { regions: ["KE"], accreditations: [{ competency: "hr", validFrom: at - DAY, validUntil: at + 400 * DAY }] }, // parent covers hr-1
          {
            regions: ["KE-30"],
            accreditations: [{ competency: "hr-1", validFrom: at - DAY, validUntil: at + 30 * DAY }],
          }, // expiring
          {
            regions: ["KE"],
            accreditations: [{ competency: "uf-1", validFrom: at + DAY, validUntil: at + 400 * DAY }],
          }, // not yet valid
        ],
        adopted: "1.1.0",
        adaptations: [{ id: "ad-1", target: { kind: "module", id: "mod-hr" }, needsReview: true }],
        modules: ["mod-hr", "mod-uf"],
        followUpDays: {},
        followUps: [],
        indicators: [],
        deliveries: [
          delivery("d-1", "mod-hr", "2027-02-01", "public", 10, 20, 27, 24),
          delivery("d-2", "mod-hr", "2027-03-01", "internal", 5, 5, 10, 5),
          delivery("d-0", "mod-hr", "2026-06-01", "public", 1, 1, 2, 2),
        ],
      },
      {
        hub: "hub-b",
        name: "B",
        checkpoints: [],
        trainers: [{ regions: ["UG"], accreditations: [] }],
        adopted: "1.0.0",
        adaptations: [],
        modules: [],
        followUpDays: {},
        followUps: [],
        indicators: [],
        deliveries: [],
      },
    ],
  };

  it("counts per hub and competency, in the period, and finds the gaps", () => {
    const r = computeCoverage(input);
    const a = r.hubs[0] as CoverageReport["hubs"][number];
    expect(a.competencies).toEqual([
      { competency: "hr-1", code: "HR-1", activeTrainers: 2, expiringWithin90Days: 1 },
      { competency: "uf-1", code: "UF-1", activeTrainers: 0, expiringWithin90Days: 0 },
    ]);
    expect(a.deliveries).toEqual({
      count: 2,
      participants: 40,
      female: 15,
      male: 25,
      unspecified: 0,
      completed: 37,
      passed: 29,
      completionRate: 0.925,
      passRate: 0.725,
    });
    expect(a).toMatchObject({
      adoptedRelease: "1.1.0",
      behindLatest: false,
      adaptedModules: ["mod-hr"],
      adaptationsAwaitingReview: ["ad-1"],
      modulesNeverDelivered: ["mod-uf"],
    });
    expect(r.gaps).toEqual({
      noActiveTrainer: [
        { competency: "hr-1", code: "HR-1", region: "UG" },
        { competency: "uf-1", code: "UF-1", region: "KE" },
        { competency: "uf-1", code: "UF-1", region: "UG" },
      ],
      expiring: [{ hub: "hub-a", competency: "hr-1", count: 1 }],
      awaitingReview: [{ hub: "hub-a", adaptation: "ad-1" }],
      behindRelease: [{ hub: "hub-b", adopted: "1.0.0", latest: "1.1.0" }],
      neverDelivered: [{ hub: "hub-a", module: "mod-uf" }],
      followUpsOverdue: [],
    });
    // Public only: the internal delivery is left out.
    expect(computeCoverage({ ...input, publicOnly: true }).hubs[0]?.deliveries).toMatchObject({
      count: 1,
      participants: 30,
      completed: 27,
      passed: 24,
    });
    // Figures only: nothing that names a trainer.
    expect(JSON.stringify(r)).not.toMatch(/displayName|Trainer /);
  });

  it("evaluates the period's deliveries at four levels, and says which figures compare across hubs", () => {
    const instrument = (id: string) => ({ hub: "s", id, version: "2" });
    const evaluated = (id: string, start: string, responses: number, meanScore: number, q: string) => ({
      ...delivery(id, "mod-hr", start, "public", 10, 10, 18, 15),
      evaluation: { responses, meanScore, instrument: instrument(q) },
      assessments: [
        { competency: "hr-1", method: "practical" as const, assessed: 20, demonstrated: 15 },
        { competency: "hr-1", method: "written" as const, assessed: 10, demonstrated: 9 },
      ],
      learning: { assessed: 10, preMean: id === "e-1" ? 40 : 60, postMean: id === "e-1" ? 70 : 80 },
    });
    const followUp = (d: string, reached: number, applying: number) => ({
      delivery: d,
      conductedOn: "2027-03-01",
      source: "supervisor" as const,
      reached,
      applying,
      recordedAt: "",
      recordedBy: "",
    });
    const [a, b] = input.hubs as [ReportInput["hubs"][number], ReportInput["hubs"][number]];
    const r = computeCoverage({
      ...input,
      asOf: "2027-03-31T12:00:00.000Z",
      hubs: [
        {
          ...a,
          followUpDays: { "mod-hr": 30 },
          deliveries: [
            evaluated("e-1", "2027-01-10", 10, 80, "course-q"),
            evaluated("e-2", "2027-03-20", 30, 60, "course-q"),
          ],
          followUps: [followUp("e-1", 12, 9), followUp("old", 5, 5)],
          indicators: [
            {
              indicator: "complaints",
              from: "2027-01-01",
              to: "2027-03-31",
              value: 4,
              unit: "complaints",
              source: "IPOA",
              recordedAt: "",
              recordedBy: "",
            },
            {
              indicator: "complaints",
              from: "2026-10-01",
              to: "2026-12-31",
              value: 9,
              unit: "complaints",
              source: "IPOA",
              recordedAt: "",
              recordedBy: "",
            },
          ],
        },
        { ...b, modules: ["mod-hr"], deliveries: [evaluated("e-3", "2027-02-01", 20, 90, "own-q")] },
      ],
    });
    const [ea, eb] = r.hubs.map((h) => h.evaluation) as [HubEvaluation, HubEvaluation];
    // Level 1: the mean weighted by responses, (10 × 80 + 30 × 60) / 40.
    expect(ea.reaction).toEqual({ deliveries: 2, responses: 40, meanScore: 65, instruments: ["s/course-q@2"] });
    // Level 2: per competency and method, summed; pre/post weighted by those assessed.
    expect(ea.learning.assessments).toEqual([
      { competency: "hr-1", code: "HR-1", method: "written", assessed: 20, demonstrated: 18, rate: 0.9 },
      { competency: "hr-1", code: "HR-1", method: "practical", assessed: 40, demonstrated: 30, rate: 0.75 },
    ]);
    expect(ea.learning.prePost).toMatchObject({ assessed: 20, preMean: 50, postMean: 75, gain: 25 });
    // Level 3: e-1's follow-up counts (the one of a delivery outside the period does not); e-2 is due
    // on 2027-04-19, after the report's time, so nothing is overdue.
    expect(ea.behaviour).toMatchObject({
      expected: 2,
      followedUp: 1,
      overdue: 0,
      reached: 12,
      applying: 9,
      applicationRate: 0.75,
    });
    // Level 4: only the indicator whose period lies within the report's.
    expect(ea.results.map((x) => `${x.indicator} ${x.from} ${x.value}`)).toEqual(["complaints 2027-01-01 4"]);
    expect(eb.behaviour.expected).toBe(0); // b's modules set no follow-up period
    // Across hubs: the pass rates add up; reaction scores do not compare (two questionnaires).
    expect(r.evaluation.assessments.find((x) => x.method === "practical")).toMatchObject({
      assessed: 60,
      demonstrated: 45,
    });
    const reaction = r.evaluation.comparability.find((c) => c.level === "reaction");
    expect(reaction).toMatchObject({ comparable: false });
    expect(reaction?.note).toContain("hub-a used s/course-q@2; hub-b used s/own-q@2");
    expect(r.evaluation.comparability.find((c) => c.level === "behaviour")?.note).toBe(
      "only hub-a reports follow-up figures: nothing to compare",
    );
    // A month later, e-2's follow-up is overdue.
    const later = computeCoverage({
      ...input,
      asOf: "2027-04-20T00:00:00.000Z",
      hubs: [
        { ...a, followUpDays: { "mod-hr": 30 }, deliveries: [evaluated("e-2", "2027-03-20", 30, 60, "course-q")] },
      ],
    });
    expect(later.hubs[0]?.evaluation.behaviour.overdue).toBe(1);
    expect(later.gaps.followUpsOverdue).toEqual([{ hub: "hub-a", count: 1 }]);
  });
});

/**
 * The report across real nodes: hub a (accredited trainers, deliveries, adopted the release) and
 * hub b (behind); the secretariat computes it from what both signed, with the checkpoints per hub.
 */
describe("report coverage across the federation", () => {
  let fed: StartedFederation;
  let dir: string;
  const s = () => fed.byName("s");
  const a = () => fed.byName("a");
  const b = () => fed.byName("b");

  beforeAll(async () => {
    fed = await startReportingFederation();
    const soon = new Date(Date.now() + 30 * DAY).toISOString().slice(0, 10);
    for (const [id, until] of [
      ["A-1", "2028-12-31"],
      ["A-2", soon],
    ] as const) {
      const credential = await s().node.running.credentials.issue("op", {
        trainer: { hub: "hub-a", id },
        scheme: "trainer-hr",
        level: "1",
        validFrom: "2026-01-01",
        validUntil: until,
        evidence: [],
      });
      await s().node.running.checkpointer.flush();
      await waitUntil(
        `a to verify ${id}'s credential`,
        async () => (await a().node.running.credentials.verify(credential, {})).valid,
        15_000,
      );
      await a().node.running.credentials.attach("op", credential);
    }
    const d = {
      country: "KE",
      place: "Nairobi",
      language: "en",
      evaluation: { responses: 0, meanScore: 0, instrument: "" },
      assessments: [],
      learning: NO_LEARNING,
    };
    await a().node.running.deliveries.record("op", {
      ...d,
      id: "d-1",
      module: "mod-hr",
      start: "2027-02-01",
      end: "2027-02-03",
      participants: [{ category: "police", female: 10, male: 20, unspecified: 0 }],
      completed: 27,
      passed: 24,
      visibility: "public",
    });
    await a().node.running.deliveries.record("op", {
      ...d,
      id: "d-2",
      module: "mod-hr",
      start: "2027-03-01",
      end: "2027-03-02",
      participants: [{ category: "police", female: 5, male: 5, unspecified: 0 }],
      completed: 10,
      passed: 5,
      visibility: "internal",
    });
    await Promise.all([a(), b()].map((n) => n.node.running.checkpointer.flush()));
    dir = await makeTempDir("concordat-report-");
  }, 120_000);
  afterAll(async () => {
    await fed?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("is computed at the secretariat from what the hubs signed, names its checkpoints, and writes CSV", async () => {
    const report = async (extra: Record<string, unknown> = {}) => {
      const io = memoryIo(true);
      await reportCoverageCommand({ ...cli(s()), from: "2027-01-01", to: "2027-12-31", ...extra }, io);
      return JSON.parse(io.out()) as CoverageReport;
    };
    const ready = await waitUntil(
      "s to have a's accreditations, deliveries and adoption",
      async () => {
        const r = await report();
        const hubA = r.hubs.find((h) => h.hub === "hub-a");
        return hubA?.competencies.find((c) => c.competency === "hr-1")?.activeTrainers === 2 &&
          hubA.deliveries.count === 2 &&
          hubA.adoptedRelease === "1.0.0" &&
          r.hubs.some((h) => h.hub === "hub-b" && h.trainers === 1)
          ? r
          : undefined;
      },
      30_000,
      200,
    );
    const hubA = ready.hubs.find((h) => h.hub === "hub-a") as CoverageReport["hubs"][number];
    expect(hubA.competencies).toEqual([
      { competency: "hr-1", code: "HR-1", activeTrainers: 2, expiringWithin90Days: 1 },
      { competency: "uf-1", code: "UF-1", activeTrainers: 0, expiringWithin90Days: 0 },
    ]);
    expect(hubA.deliveries).toMatchObject({ count: 2, participants: 40, completed: 37, passed: 29 });
    expect(new Set(hubA.checkpoints.map((c) => c.type))).toEqual(
      new Set(["roster", "credentials", "curriculum", "deliveries"]),
    );
    for (const c of hubA.checkpoints) expect(c.seq).toBeGreaterThan(0);
    expect(ready.gaps.behindRelease).toEqual([{ hub: "hub-b", adopted: null, latest: "1.0.0" }]);
    expect(ready.gaps.neverDelivered).toEqual([{ hub: "hub-a", module: "mod-uf" }]);
    expect(ready.gaps.noActiveTrainer.map((g) => `${g.code}@${g.region}`).sort()).toEqual([
      "HR-1@UG",
      "UF-1@KE",
      "UF-1@UG",
    ]);
    expect(JSON.stringify(ready)).not.toMatch(/A-1|A-2|B-1|Trainer /); // no trainer named

    // --public leaves out the internal delivery; --csv writes every figure, one per row.
    expect((await report({ public: true })).hubs.find((h) => h.hub === "hub-a")?.deliveries.count).toBe(1);
    const csv = join(dir, "coverage.csv");
    const people = memoryIo(false);
    await reportCoverageCommand({ ...cli(s()), from: "2027-01-01", to: "2027-12-31", csv }, people);
    expect(people.out()).toContain("behind the release  hub-b (none)");
    const lines = (await readFile(csv, "utf8")).trim().split("\n");
    expect(lines[0]).toBe("section,hub,subject,measure,value");
    expect(lines).toContain("competency,hub-a,hr-1,active_trainers,2");
    expect(lines).toContain("deliveries,hub-a,,completed,37");
    expect(lines).toContain("gap:behind_release,hub-b,,latest,1.0.0");
  });

  it("refuses a bad period, naming it", async () => {
    await expect(
      reportCoverageCommand({ ...cli(s()), from: "2027-13-01", to: "2026-01-01" }, memoryIo()),
    ).rejects.toThrow(/from: '2027-13-01' is not a date|is not a date/);
  });
});
