import { createPrivateKey, sign } from "node:crypto";
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditExportCommand } from "../../cli/commands/audit.js";
import {
  auditsDrawCommand,
  auditsFindingCommand,
  auditsRespondCommand,
  auditsShowCommand,
  evaluatorsAppointCommand,
  evaluatorsKeygenCommand,
  evaluatorsRemoveCommand,
} from "../../cli/commands/audits.js";
import { deliveriesRecordCommand } from "../../cli/commands/deliveries.js";
import { reportCoverageCommand, reportVerifyCommand } from "../../cli/commands/report.js";
import { toCliError } from "../../cli/errors.js";
import type { Audit } from "../../node/api/generated/concordat/v1/evaluations.js";
import {
  drawSample,
  encodeDefinition,
  encodeFinding,
  encodeSeed,
  FINDINGS_KEY,
  findingBytes,
  PANEL_KEY,
  type AuditDefinition,
  type FindingBody,
} from "../../node/audits/index.js";
import type { SignedCheckpoint } from "../../node/authority/index.js";
import { DocumentType } from "../../node/documents/index.js";
import type { CoverageReport } from "../../node/reports/index.js";
import { releaseCore, adoptRelease, HR_MODULE } from "../helpers/core.js";
import { startFederationWith, waitUntil, type FederationNode, type StartedFederation } from "../helpers/federation.js";
import { makeClients, makeTempDir, refusedFields } from "../helpers/harness.js";
import { memoryIo } from "../helpers/io.js";

const cli = (n: FederationNode) => ({ api: n.node.address, token: n.node.adminToken });

const refusal = refusedFields;

describe("the sample", () => {
  const populations = [
    { hub: "hub-b", deliveries: ["b-1", "b-2", "b-3"] },
    { hub: "hub-a", deliveries: Array.from({ length: 12 }, (_, i) => `a-${i + 1}`) },
  ];

  it("is the same wherever it is computed, and another seed draws another", () => {
    const one = drawSample("c2VlZC1vbmU=", populations, 2);
    expect(drawSample("c2VlZC1vbmU=", [...populations].reverse(), 2)).toEqual(one);
    expect(one.map((s) => s.hub)).toEqual(["hub-a", "hub-a", "hub-b", "hub-b"]);
    expect(drawSample("c2VlZC10d28=", populations, 2)).not.toEqual(one);
    // A hub with fewer deliveries than the sample size has them all sampled.
    expect(drawSample("c2VlZC1vbmU=", populations, 5).filter((s) => s.hub === "hub-b")).toHaveLength(3);
  });
});

/**
 * The evaluator panel and random audits across real nodes (docs/evaluation.md, "Random audits"):
 * the secretariat appoints an evaluator by their did:key and draws a sample that every hub computes
 * identically; a finding signed by the evaluator is accepted, one by anyone else refused; the
 * audited hub answers; the report counts sampled, audited, confirmed, disputed; `report verify`
 * recomputes it from an audit bundle and catches a finding edited after signing and a sample drawn
 * with another seed.
 */
describe("random audits: a shared evaluator panel, a sample no hub chooses, signed findings", () => {
  let fed: StartedFederation;
  let dir: string;
  let evaluatorKey: string;
  let intruderKey: string;
  let evaluatorDid: string;
  let intruderDid: string;
  let drawn: Audit;
  const s = () => fed.byName("s");
  const a = () => fed.byName("a");
  const b = () => fed.byName("b");

  const keygen = async (file: string) => {
    const io = memoryIo(true);
    await evaluatorsKeygenCommand({ out: file }, io);
    return (JSON.parse(io.out()) as { key: string }).key;
  };
  const show = async (n: FederationNode) => {
    const io = memoryIo(true);
    await auditsShowCommand({ ...cli(n), id: "q1" }, io);
    return JSON.parse(io.out()) as Audit;
  };
  const finding = (n: FederationNode, hub: string, delivery: string, extra: Record<string, string> = {}) =>
    auditsFindingCommand(
      {
        ...cli(n),
        audit: "q1",
        hub,
        delivery,
        evaluator: "ev-1",
        key: evaluatorKey,
        confirmed: "yes",
        severity: "none",
        observations: "Attendance sheets and assessment records match the reported figures.",
        ...extra,
      },
      memoryIo(),
    );

  beforeAll(async () => {
    fed = await startFederationWith(
      ["s", "a", "b"],
      [
        ["a", "s"],
        ["b", "s"],
      ],
    );
    await releaseCore(s(), {
      items: [["hr-1", "Competency"]],
      modules: [HR_MODULE],
    });
    for (const hub of [a(), b()]) {
      await adoptRelease(hub);
    }
    const record = (n: FederationNode, id: string, day: string) =>
      deliveriesRecordCommand(
        {
          ...cli(n),
          id,
          module: "mod-hr",
          start: day,
          end: day,
          group: ["police=5/5/0"],
          completed: 10,
          passed: 8,
        },
        memoryIo(),
      );
    for (let i = 1; i <= 6; i += 1) await record(a(), `a-${i}`, `2027-0${1 + (i % 3)}-1${i}`);
    await record(a(), "a-late", "2027-04-02"); // outside the period
    for (let i = 1; i <= 3; i += 1) await record(b(), `b-${i}`, `2027-02-0${i}`);
    // The secretariat samples what it has verified of each hub: all of it, here.
    await waitUntil(
      "s to hold every hub's deliveries",
      async () =>
        s().node.running.deliveries.list(a().hub).length === 7 &&
        s().node.running.deliveries.list(b().hub).length === 3,
      20_000,
    );
    dir = await makeTempDir("concordat-audits-");
    evaluatorKey = join(dir, "ev-1.key");
    intruderKey = join(dir, "intruder.key");
    evaluatorDid = await keygen(evaluatorKey);
    intruderDid = await keygen(intruderKey);
  }, 120_000);
  afterAll(async () => {
    await fed?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("the secretariat appoints an evaluator by their did:key; a hub cannot, and a key file is never overwritten", async () => {
    await expect(keygen(evaluatorKey)).rejects.toThrow(/exists: a key is never overwritten/);
    await expect(
      evaluatorsAppointCommand({ ...cli(a()), id: "ev-2", name: "Self-appointed", key: intruderDid }, memoryIo()),
    ).rejects.toMatchObject({ code: status.PERMISSION_DENIED });
    expect(
      await refusal(evaluatorsAppointCommand({ ...cli(s()), id: "ev 1", name: "", key: "did:key:nope" }, memoryIo())),
    ).toEqual([
      "evaluator.id: 'ev 1' is not a valid id",
      "evaluator.name: is required",
      "evaluator.key: 'did:key:nope' is not a did:key",
    ]);
    await evaluatorsAppointCommand(
      { ...cli(s()), id: "ev-1", name: "Dr. Wanjiru Kamau", key: evaluatorDid },
      memoryIo(),
    );
    expect((await readFile(evaluatorKey, "utf8")).startsWith("-----BEGIN PRIVATE KEY-----")).toBe(true);
  });

  it("draws a sample of every hub's deliveries in the period that each hub computes identically", async () => {
    const io = memoryIo(true);
    await auditsDrawCommand({ ...cli(s()), id: "q1", period: "2027-Q1", perHub: 2 }, io);
    drawn = JSON.parse(io.out()) as Audit;
    expect(drawn.populations.map((p) => [p.hub, p.deliveries.length])).toEqual([
      [a().hub, 6],
      [b().hub, 3],
      [s().hub, 0],
    ]);
    expect(drawn.populations.find((p) => p.hub === a().hub)?.deliveries).not.toContain("a-late");
    expect(drawn.sample).toHaveLength(4);
    // The seed is the secretariat's signature of its panel's checkpoint; the sample follows from it.
    expect(drawn.sample).toEqual(drawSample(drawn.seedSignature, drawn.populations, 2));
    for (const hub of [a(), b()]) {
      await waitUntil(
        `${hub.name} to hold the audit's seed`,
        async () => {
          try {
            return (await show(hub)).seedSignature !== "";
          } catch {
            return false;
          }
        },
        20_000,
      );
      const there = await show(hub);
      expect(there.sample).toEqual(drawn.sample);
      expect(there.seedSignature).toBe(drawn.seedSignature);
    }
    await expect(
      auditsDrawCommand({ ...cli(s()), id: "q1", period: "2027-Q1", perHub: 3 }, memoryIo()),
    ).rejects.toMatchObject({ code: status.ALREADY_EXISTS });
  });

  it("accepts a finding signed by a panel member at any hub, and refuses one by anyone else; nothing is written", async () => {
    const aSampled = drawn.sample.filter((x) => x.hub === a().hub).map((x) => x.delivery) as [string, string];
    const notSampled = drawn.populations
      .find((p) => p.hub === a().hub)
      ?.deliveries.find((d) => !aSampled.includes(d)) as string;
    // Not on the panel, with their own key.
    expect(await refusal(finding(a(), a().hub, aSampled[0], { evaluator: "intruder", key: intruderKey }))).toEqual([
      `finding.evaluator: 'intruder' is not on the secretariat's evaluation panel`,
    ]);
    // A panel member's id with another key: the CLI says so before sending; a generic client gets the node's refusal.
    await expect(finding(a(), a().hub, aSampled[0], { key: intruderKey })).rejects.toThrow(
      /not evaluator 'ev-1''s key/,
    );
    const body: FindingBody = {
      audit: "q1",
      hub: a().hub,
      delivery: aSampled[0],
      evaluator: "ev-1",
      confirmed: true,
      severity: "none",
      observations: "forged",
      at: new Date().toISOString(),
    };
    const forged = sign(null, findingBytes(body), createPrivateKey(await readFile(intruderKey, "utf8"))).toString(
      "base64",
    );
    const raw = makeClients(a().node.address, a().node.adminToken);
    try {
      expect(
        await refusal(raw.evaluations.recordFinding({ finding: { ...body, signature: forged, storedBy: "" } })),
      ).toEqual([
        "signature: the signature does not verify with the evaluator's key (the finding was changed after it was signed, or signed with another key)",
      ]);
    } finally {
      raw.close();
    }
    // A delivery the sample did not draw.
    expect(await refusal(finding(a(), a().hub, notSampled))).toEqual([
      `finding.delivery: '${a().hub}''s delivery '${notSampled}' is not in audit 'q1''s sample`,
    ]);
    expect(a().node.running.audits.findings()).toEqual([]);

    // The evaluator's findings, sent to the hub they visited and to the secretariat.
    await finding(a(), a().hub, aSampled[0]);
    await finding(s(), a().hub, aSampled[1], {
      confirmed: "no",
      severity: "major",
      observations: "12 participants on the sheets, 10 reported.",
    });
    expect(
      a()
        .node.running.audits.findings()
        .map((f) => f.finding.delivery),
    ).toEqual([aSampled[0]]);
  });

  it("the audited hub answers; the report shows sampled, audited, confirmed and disputed", async () => {
    const aSampled = drawn.sample.filter((x) => x.hub === a().hub).map((x) => x.delivery) as [string, string];
    const bSampled = drawn.sample.find((x) => x.hub === b().hub)?.delivery as string;
    expect(
      await refusal(
        auditsRespondCommand({ ...cli(b()), audit: "q1", delivery: aSampled[1], dispute: true, note: "" }, memoryIo()),
      ),
    ).toEqual([
      `response.delivery: '${aSampled[1]}' is not one of this hub's deliveries in the sample`,
      "response.note: is required",
    ]);
    await auditsRespondCommand(
      {
        ...cli(a()),
        audit: "q1",
        delivery: aSampled[1],
        dispute: true,
        note: "Two participants left on day one; the sheets were not updated.",
      },
      memoryIo(),
    );
    await waitUntil(
      "s to hold a's finding and response",
      async () =>
        s().node.running.audits.findings("q1").length === 2 && s().node.running.audits.responses(a().hub).length === 1,
      20_000,
    );
    const io = memoryIo(true);
    await reportCoverageCommand({ ...cli(s()), from: "2027-01-01", to: "2027-03-31", out: join(dir, "q1.json") }, io);
    const audit = (JSON.parse(io.out()) as CoverageReport).audits[0];
    expect(audit?.hubs).toEqual([
      { hub: a().hub, sampled: 2, audited: 2, confirmed: 1, disputed: 1 },
      { hub: b().hub, sampled: 2, audited: 0, confirmed: 0, disputed: 0 },
      { hub: s().hub, sampled: 0, audited: 0, confirmed: 0, disputed: 0 },
    ]);
    expect(audit?.sample.find((x) => x.delivery === aSampled[1])?.response?.stance).toBe("disputed");
    expect(audit?.sample.find((x) => x.delivery === bSampled)?.findings).toEqual([]);
    expect(audit?.rejectedFindings).toEqual([]);
    // A public report keeps the counts, not the evaluators' observations or the hub's notes.
    const published = memoryIo(true);
    await reportCoverageCommand({ ...cli(s()), from: "2027-01-01", to: "2027-03-31", public: true }, published);
    const open = (JSON.parse(published.out()) as CoverageReport).audits[0];
    expect(open?.hubs).toEqual(audit?.hubs);
    expect(open?.sample.flatMap((x) => x.findings)).toEqual([]);
    expect(JSON.stringify(open)).not.toContain("Attendance sheets");
    expect(JSON.stringify(audit)).toContain("Attendance sheets");
    expect(JSON.stringify(open)).not.toContain("were not updated");
    // For people: the table in the terminal, the section of the HTML page.
    const text = memoryIo();
    const html = join(dir, "q1.html");
    await reportCoverageCommand({ ...cli(s()), from: "2027-01-01", to: "2027-03-31", html }, text);
    expect(text.out()).toContain(
      "Audit q1 (2027-01-01 – 2027-03-31, 2 per hub), seeded by the secretariat's checkpoint seq",
    );
    expect(text.out()).toMatch(new RegExp(`${a().hub} +│ 2 +│ 2 +│ 1 +│ 1 `));
    const page = await readFile(html, "utf8");
    expect(page).toContain("Random audit q1");
    expect(page).toContain(`data-figure="audit:q1|${a().hub}||disputed">1<`);
  });

  describe("report verify", () => {
    let bundle: string;
    let report: CoverageReport;
    const verify = async (r: CoverageReport, name: string) => {
      const file = join(dir, name);
      await writeFile(file, JSON.stringify(r));
      const io = memoryIo(false);
      const error = await reportVerifyCommand({ file, bundle, trustAnchor: s().peerId }, io).catch((e: unknown) => e);
      return { out: io.out(), ok: error === undefined, error: error === undefined ? undefined : toCliError(error) };
    };

    beforeAll(async () => {
      bundle = join(dir, "s.bundle");
      await auditExportCommand({ ...cli(s()), out: bundle }, memoryIo(false));
      report = JSON.parse(await readFile(join(dir, "q1.json"), "utf8")) as CoverageReport;
    });

    it("confirms the sample as drawn and every finding as signed by a panel member", async () => {
      const { out, ok } = await verify(report, "as-made.json");
      expect(out).toContain("CONFIRMED");
      expect(ok).toBe(true);
    });

    it("catches a finding edited after it was signed", async () => {
      const copy = JSON.parse(JSON.stringify(report)) as CoverageReport;
      const edited = copy.audits[0]?.sample.flatMap((x) => x.findings).find((f) => !f.confirmed);
      if (!edited) throw new Error("the report has no finding that was not confirmed");
      edited.confirmed = true;
      edited.observations = "All figures match.";
      const { out, ok } = await verify(copy, "edited-finding.json");
      expect(ok).toBe(false);
      expect(out).toContain(
        `audit 'q1': the finding by 'ev-1' on ${edited.hub}/${edited.delivery} is not a panel member's: the signature does not verify`,
      );
    });

    it("catches a sample drawn with another seed", async () => {
      const copy = JSON.parse(JSON.stringify(report)) as CoverageReport;
      const audit = copy.audits[0] as CoverageReport["audits"][number];
      const population = drawn.populations;
      // Another seed, one that draws another sample (the first that does).
      let other = "";
      for (let i = 0; other === ""; i += 1) {
        const seed = Buffer.from(`another seed ${i}`).toString("base64");
        if (JSON.stringify(drawSample(seed, population, 2)) !== JSON.stringify(drawn.sample)) other = seed;
      }
      audit.seed = { ...(audit.seed as NonNullable<typeof audit.seed>), signature: other };
      audit.sample = drawSample(other, population, 2).map((x) => ({ ...x, findings: [], response: null }));
      const { out, ok } = await verify(copy, "other-seed.json");
      expect(ok).toBe(false);
      expect(out).toContain("audits[0].seed.signature: the report says");
      expect(out).toMatch(/audits\[0\]\.sample\[\d\]\.delivery: the report says/);
    });

    it("a finding a hub edits in its own document no longer counts, and the report says why", async () => {
      // A member writes straight into its own findings document, outside the API: the evaluator's
      // not-confirmed finding, turned into a confirmed one under the same signature.
      const held = s().node.running.audits.findings("q1").length;
      const original = s()
        .node.running.audits.findings("q1")
        .find((f) => !f.finding.confirmed);
      if (!original) throw new Error("no finding to edit");
      const changed = { ...original, finding: { ...original.finding, confirmed: true, severity: "none" as const } };
      const documents = a().node.running.documents;
      await documents.transact({ operatorId: "rogue", action: "audit.finding", subjects: ["edited"] }, () => ({
        create: documents.has(FINDINGS_KEY)
          ? []
          : [{ key: FINDINGS_KEY, type: DocumentType.AuditFindings, replicated: true, initial: { findings: {} } }],
        edits: [
          {
            key: FINDINGS_KEY,
            subject: "edited",
            change: (doc) => {
              (doc.findings as Record<string, unknown>).edited = encodeFinding(changed);
            },
          },
        ],
        result: undefined,
      }));
      await waitUntil(
        "s to hold a's edited finding",
        async () => s().node.running.audits.findings("q1").length === held + 1,
        20_000,
      );
      const io = memoryIo(true);
      await reportCoverageCommand({ ...cli(s()), from: "2027-01-01", to: "2027-03-31" }, io);
      const audit = (JSON.parse(io.out()) as CoverageReport).audits[0];
      expect(audit?.rejectedFindings).toEqual([
        {
          storedBy: a().hub,
          evaluator: "ev-1",
          hub: a().hub,
          delivery: original.finding.delivery,
          problem:
            "the signature does not verify with the evaluator's key (the finding was changed after it was signed, or signed with another key)",
        },
      ]);
      expect(audit?.hubs.find((h) => h.hub === a().hub)).toMatchObject({ audited: 2, confirmed: 1 });
    });
  });

  it("a secretariat that leaves a hub's delivery out of an audit's population is caught by report verify", async () => {
    // Written straight into the secretariat's panel, outside the API: an audit of the quarter whose
    // population for hub a lacks one delivery a had signed, seeded like any other.
    const documents = s().node.running.documents;
    const checkpointer = s().node.running.checkpointer;
    const real = (await show(s())).populations;
    const hidden = drawn.populations.find((p) => p.hub === a().hub)?.deliveries[0] as string;
    const definition = {
      ...JSON.parse(JSON.stringify(s().node.running.audits.get("q1"))),
      id: "q1-narrow",
    } as Record<string, unknown> & { populations: Array<{ hub: string; deliveries: string[] }> };
    delete definition.seed;
    delete definition.sample;
    definition.populations = definition.populations.map((p) =>
      p.hub === a().hub ? { ...p, deliveries: p.deliveries.filter((d) => d !== hidden) } : p,
    );
    expect(real.find((p) => p.hub === a().hub)?.deliveries).toContain(hidden);
    const write = (key: string, value: unknown) =>
      documents.transact({ operatorId: "rogue", action: "audit.draw", subjects: ["q1-narrow"] }, () => ({
        edits: [
          {
            key: PANEL_KEY,
            subject: "q1-narrow",
            change: (doc) => ((doc[key] as Record<string, unknown>)["q1-narrow"] = value),
          },
        ],
        result: undefined,
      }));
    await write("audits", encodeDefinition(definition as unknown as AuditDefinition));
    await checkpointer.flush();
    await write("seeds", encodeSeed(checkpointer.latest(documents.idOf(PANEL_KEY)) as SignedCheckpoint));
    const file = join(dir, "narrow.json");
    await reportCoverageCommand({ ...cli(s()), from: "2027-01-01", to: "2027-03-31", out: file }, memoryIo(true));
    const bundle = join(dir, "narrow.bundle");
    await auditExportCommand({ ...cli(s()), out: bundle }, memoryIo(false));
    const io = memoryIo(false);
    const error = await reportVerifyCommand({ file, bundle, trustAnchor: s().peerId }, io).catch((e: unknown) => e);
    expect(error).toBeDefined();
    expect(io.out()).toMatch(
      new RegExp(
        `audit 'q1-narrow': hub '${a().hub}''s population is not what it signed at seq \\d+ \\(5 deliveries named, 6 signed\\)`,
      ),
    );
  });

  it("a secretariat that draws again under the same audit is caught by report verify", async () => {
    // The secretariat's own node replaces the seed with a later checkpoint of its panel (which
    // holds the audit too), outside the API: the sample changes, and the history says so.
    const documents = s().node.running.documents;
    const checkpointer = s().node.running.checkpointer;
    const panelId = documents.idOf(PANEL_KEY);
    const before = checkpointer.latest(panelId)?.checkpoint.seq;
    await documents.transact({ operatorId: "rogue", action: "audit.seed", subjects: ["q1"] }, () => ({
      edits: [{ key: PANEL_KEY, subject: "q1", change: (doc) => ((doc as Record<string, unknown>).note = "redraw") }],
      result: undefined,
    }));
    await checkpointer.flush();
    const later = checkpointer.latest(panelId);
    expect(later?.checkpoint.seq).not.toBe(before);
    await documents.transact({ operatorId: "rogue", action: "audit.seed", subjects: ["q1"] }, () => ({
      edits: [
        {
          key: PANEL_KEY,
          subject: "q1",
          change: (doc) => ((doc.seeds as Record<string, unknown>).q1 = encodeSeed(later as SignedCheckpoint)),
        },
      ],
      result: undefined,
    }));
    const file = join(dir, "redrawn.json");
    await reportCoverageCommand({ ...cli(s()), from: "2027-01-01", to: "2027-03-31", out: file }, memoryIo(true));
    const bundle = join(dir, "redrawn.bundle");
    await auditExportCommand({ ...cli(s()), out: bundle }, memoryIo(false));
    const io = memoryIo(false);
    const error = await reportVerifyCommand({ file, bundle, trustAnchor: s().peerId }, io).catch((e: unknown) => e);
    expect(error).toBeDefined();
    expect(io.out()).toContain(
      "audit 'q1': its seed was replaced after it was first recorded (the sample was drawn again)",
    );
  });

  it("an evaluator removed from the panel signs no more findings that count", async () => {
    await evaluatorsRemoveCommand({ ...cli(s()), id: "ev-1" }, memoryIo());
    const bSampled = (await show(s())).sample.find((x) => x.hub === b().hub)?.delivery as string;
    const problems = await refusal(finding(s(), b().hub, bSampled));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^finding\.evaluator: 'ev-1' was removed from the panel at .*, before this finding/);
  });
});
