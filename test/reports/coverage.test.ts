import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { reportCoverageCommand } from "../../cli/commands/report.js";
import { CheckpointKind } from "../../node/authority/checkpoint.js";
import { computeCoverage, type CoverageReport, type ReportInput } from "../../node/reports/index.js";
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
    const d = { country: "KE", place: "Nairobi", language: "en", evaluation: { responses: 0, meanScore: 0 } };
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
