import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deliveriesRecordCommand } from "../../cli/commands/deliveries.js";
import {
  plansActualCommand,
  plansAddCommand,
  plansFederationCommand,
  plansSetCommand,
  plansShowCommand,
  plansSignCommand,
} from "../../cli/commands/plans.js";
import { auditExportCommand } from "../../cli/commands/audit.js";
import { reportCoverageCommand, reportVerifyCommand } from "../../cli/commands/report.js";
import type { FederationPlanResponse, Plan } from "../../node/api/generated/concordat/v1/plans.js";
import { ownedDocumentId } from "../../node/federation/index.js";
import {
  encodeDraft,
  encodeSigned,
  federationPlanOf,
  PLANS_KEY,
  planVsActualOf,
  plansSpec,
  type PlansDoc,
  type SignedPlan,
  type SignedPlanBody,
} from "../../node/plans/index.js";
import type { CoverageReport } from "../../node/reports/index.js";
import { releaseCore, adoptRelease } from "../helpers/core.js";
import { startFederationWith, waitUntil, type FederationNode, type StartedFederation } from "../helpers/federation.js";
import { makeClients, makeTempDir, refusedFields } from "../helpers/harness.js";
import { memoryIo } from "../helpers/io.js";

const cli = (n: FederationNode) => ({ api: n.node.address, token: n.node.adminToken });

const module = (id: string, competencies: string[]) => ({
  id,
  code: id.toUpperCase(),
  title: { en: id },
  durationMinutes: 600,
  deliveryMode: "on-site" as const,
  units: [],
  competencies,
  materials: [],
});

const body = (hub: string, deliveries: SignedPlanBody["deliveries"]): SignedPlanBody => ({
  federationId: "f",
  hub,
  year: 2027,
  version: 1,
  signedAt: "2027-01-01T00:00:00.000Z",
  signedBy: "op",
  deliveries,
  trainers: [],
  support: [],
});

describe("the federation's plan and plan beside actual, as pure functions", () => {
  const line = (module: string, quarter: number, country: string, count: number, competencies: string[] = []) => ({
    module,
    quarter,
    country,
    language: "en",
    count,
    competencies,
  });

  it("finds overlaps only where two hubs plan the same module for the same country", () => {
    const f = federationPlanOf(
      2027,
      [
        body("hub-a", [line("m1", 1, "KE", 2, ["c1"])]),
        body("hub-b", [line("m1", 3, "KE", 1), line("m1", 1, "UG", 1)]),
      ],
      ["hub-a", "hub-b", "hub-c"],
      [
        { id: "c1", code: "C1" },
        { id: "c2", code: "C2" },
      ],
    );
    expect(f.overlaps).toEqual([
      {
        module: "m1",
        country: "KE",
        hubs: [
          { hub: "hub-a", quarters: [1], count: 2 },
          { hub: "hub-b", quarters: [3], count: 1 },
        ],
      },
    ]);
    expect(f.gaps).toEqual([{ competency: "c2", code: "C2" }]);
    expect(f.missing).toEqual(["hub-c"]);
  });

  it("counts a delivery in the quarter of its start, and only the latest signed version", () => {
    const v1 = body("hub-a", [line("m1", 1, "KE", 2)]);
    const v2 = { ...v1, version: 2, deliveries: [line("m1", 1, "KE", 5)] };
    const rows = planVsActualOf(
      [v2, v1],
      [
        {
          hub: "hub-a",
          deliveries: [
            { module: "m1", start: "2027-03-31" },
            { module: "m1", start: "2027-04-01" },
          ],
        },
      ],
      { from: "2027-01-01", to: "2027-06-30" },
    );
    expect(rows).toEqual([
      { hub: "hub-a", year: 2027, quarter: 1, module: "m1", planned: 5, actual: 1, difference: -4, planVersion: 2 },
      { hub: "hub-a", year: 2027, quarter: 2, module: "m1", planned: 0, actual: 1, difference: 1, planVersion: 2 },
    ]);
  });
});

/**
 * Joint annual plans across real nodes (docs/plans.md): a hub's plan refused with every problem
 * named, set, signed and seen by the secretariat (its draft never); the federation's overlaps,
 * gaps and support totals; plan beside actual in the coverage report; plans written into a
 * member's own document outside the API not counted.
 */
describe("joint annual plans across hubs and the secretariat", () => {
  let fed: StartedFederation;
  let dir: string;
  const s = () => fed.byName("s");
  const a = () => fed.byName("a");
  const b = () => fed.byName("b");
  const c = () => fed.byName("c");

  const file = async (name: string, content: unknown) => {
    const path = join(dir, name);
    await writeFile(path, typeof content === "string" ? content : JSON.stringify(content));
    return path;
  };
  const show = async (at: FederationNode, hub = "", year = 2027) => {
    const io = memoryIo(true);
    await plansShowCommand({ ...cli(at), year, hub }, io);
    return JSON.parse(io.out()) as Plan;
  };
  const federation = async (at: FederationNode) => {
    const io = memoryIo(true);
    await plansFederationCommand({ ...cli(at), year: 2027 }, io);
    return JSON.parse(io.out()) as FederationPlanResponse;
  };
  /** Whether `at` holds `of`'s plans document as of a checkpoint, with `ready` true of it. */
  const seen = (at: FederationNode, of: FederationNode, ready: (doc: PlansDoc) => boolean) => {
    const member = at.node.running.membership.member(of.hub);
    const view = member && at.node.running.views.view(ownedDocumentId(member.directoryId, PLANS_KEY));
    return view !== undefined && ready(view.doc as PlansDoc);
  };

  const aPlan = {
    year: 2027,
    deliveries: [
      { module: "mod-hr", quarter: "Q1", country: "KE", language: "en", count: 2 },
      { module: "mod-gen", quarter: 2, country: "UG", language: "fr", count: 1 },
    ],
    trainers: [{ competency: "hr-1", language: "fr", count: 2 }],
    support: [{ kind: "translation", amount: 4000, currency: "EUR", note: "French course materials" }],
  };

  beforeAll(async () => {
    fed = await startFederationWith(
      ["s", "a", "b", "c"],
      [
        ["a", "s"],
        ["b", "s"],
        ["c", "s"],
      ],
    );
    await releaseCore(s(), {
      items: [
        ["hr-1", "Competency"],
        ["gen-1", "Competency"],
        ["crim-1", "Competency"],
      ],
      modules: [module("mod-hr", ["hr-1"]), module("mod-gen", ["gen-1"])],
    });
    for (const hub of [a(), b(), c()]) {
      await adoptRelease(hub);
    }
    dir = await makeTempDir("concordat-plans-");
  }, 120_000);
  afterAll(async () => {
    await fed?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("refuses a plan with every problem named, from JSON, CSV or a generic client, and writes nothing", async () => {
    const bad = await file("bad.json", {
      deliveries: [
        { module: "mod-nope", quarter: 5, country: "XX", language: "en", count: 0 },
        { module: "mod-hr", quarter: "Q1", country: "KE-30", language: "", count: 2 },
        { module: "mod-hr", quarter: 1, country: "ke", language: "en", count: 1 },
        { module: "mod-hr", quarter: 1, country: "KE", language: "en", count: 1 },
      ],
      trainers: [{ competency: "nope-1", language: "fr", count: 1.5 }],
      support: [{ kind: "catering", amount: -3, currency: "EUX", note: "x" }],
      budget: 1,
    });
    expect(await refusedFields(plansSetCommand({ ...cli(a()), year: 2027, file: bad }, memoryIo()))).toEqual([
      "plan.budget: is not a part of a plan (deliveries, trainers, support)",
      "plan.deliveries[0].module: 'mod-nope' is not a module of this hub's curriculum (core as adopted, or local)",
      "plan.deliveries[0].quarter: '5' is not a quarter (1 to 4, or Q1 to Q4)",
      "plan.deliveries[0].country: 'XX' is not an ISO 3166-1 alpha-2 country code or ISO 3166-2 subdivision (e.g. KE, KE-30)",
      "plan.deliveries[0].count: '0' is not a count (a whole number from 1 to 10000)",
      "plan.deliveries[1].country: 'KE-30' is a subdivision; plan per country (ISO 3166-1 alpha-2, e.g. KE)",
      "plan.deliveries[1].language: is required",
      "plan.deliveries[3]: repeats plan.deliveries[2] (same module, quarter, country and language)",
      "plan.trainers[0].competency: 'nope-1' is not a competency of the core",
      "plan.trainers[0].count: '1.5' is not a count (a whole number from 1 to 10000)",
      "plan.support[0].kind: 'catering' is not one of translation, mentoring, follow-up, equipment, other",
      "plan.support[0].amount: '-3' is not an amount (more than 0, at most 2 decimals)",
      "plan.support[0].currency: 'EUX' is not an ISO 4217 currency code (e.g. EUR, USD, KES)",
    ]);
    const csv = await file(
      "bad.csv",
      [
        "section,module,quarter,country,language,count,competency,kind,amount,currency,note",
        "delivery,mod-hr,Q9,KE,en,2,,,,,",
        "trainers,,,,fr,1,crim-2,,,,",
        "meeting,,,,,,,,,,",
        "support,,,,,,,mentoring,1500,USD,",
      ].join("\n"),
    );
    expect(await refusedFields(plansSetCommand({ ...cli(a()), year: 2027, file: csv }, memoryIo()))).toEqual([
      "csv line 4.section: 'meeting' is not one of delivery, trainers, support",
      "csv line 2.quarter: 'Q9' is not a quarter (1 to 4, or Q1 to Q4)",
      "csv line 3.competency: 'crim-2' is not a competency of the core",
    ]);
    // Text a JSON file escapes is checked once decoded: the field is named, the character never echoed.
    const hostile = await file(
      "hostile.json",
      '{"deliveries": [{"module": "mod\\u001b]0;pwned\\u0007", "quarter": 1}]}',
    );
    const refused = await refusedFields(plansSetCommand({ ...cli(a()), year: 2027, file: hostile }, memoryIo()));
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatch(/^plan\.deliveries\[0\]\.module: .*U\+001B/);
    expect(refused[0]).not.toContain("\u001b");
    // What the CLI would not send: a year out of range, zero counts, both files at once.
    const raw = makeClients(a().node.address, a().node.adminToken);
    try {
      expect(
        await refusedFields(
          raw.plans.addPlanLines({
            year: 1999,
            lines: {
              deliveries: [
                { module: "mod-hr", quarter: 0, country: "KE", language: "en", count: 0, competencies: ["x"] },
              ],
              trainers: [],
              support: [{ kind: "other", amount: 0.001, currency: "EUR", note: "" }],
            },
          }),
        ),
      ).toEqual(["year: '1999' is not a year (2000 to 2100)"]);
      expect(
        await refusedFields(
          raw.plans.addPlanLines({
            year: 2027,
            lines: {
              deliveries: [
                { module: "mod-hr", quarter: 0, country: "KE", language: "en", count: 0, competencies: ["x"] },
              ],
              trainers: [],
              support: [{ kind: "other", amount: 0.001, currency: "EUR", note: "" }],
            },
          }),
        ),
      ).toEqual([
        "lines.deliveries[0].quarter: '0' is not a quarter (1 to 4, or Q1 to Q4)",
        "lines.deliveries[0].count: '0' is not a count (a whole number from 1 to 10000)",
        "lines.support[0].amount: '0.001' is not an amount (more than 0, at most 2 decimals)",
      ]);
      expect(await refusedFields(raw.plans.setPlan({ year: 2027, json: "{}", csv: "section\n" }))).toEqual([
        "csv: give json or csv, not both",
      ]);
    } finally {
      raw.close();
    }
    await expect(show(a())).rejects.toMatchObject({ code: status.NOT_FOUND });
    expect(a().node.running.documents.has(PLANS_KEY)).toBe(false);
  });

  it("a hub sets and signs its plan; the secretariat sees the signed version, never a draft", async () => {
    const io = memoryIo();
    await plansSetCommand({ ...cli(a()), year: 2027, file: await file("a.json", aPlan) }, io);
    expect(io.out()).toContain("draft of version 1, not signed");
    const draft = await show(a());
    expect(draft).toMatchObject({ status: "draft", version: 1, signedVersions: [] });
    expect(draft.deliveries.map((d) => [d.module, d.quarter, d.country, d.competencies])).toEqual([
      ["mod-hr", 1, "KE", ["hr-1"]],
      ["mod-gen", 2, "UG", ["gen-1"]],
    ]);
    // The draft reaches the secretariat (its document is checkpointed like any other) but is not shown.
    await a().node.running.checkpointer.flush();
    await waitUntil("s to hold a's draft", async () => seen(s(), a(), (d) => d.drafts?.["2027"] !== undefined), 20_000);
    await expect(show(s(), a().hub)).rejects.toMatchObject({ code: status.NOT_FOUND });
    expect((await federation(s())).plans).toEqual([]);

    const signed = memoryIo();
    await plansSignCommand({ ...cli(a()), year: 2027 }, signed);
    expect(signed.out()).toMatch(/^Signed version 1 of the 2027 plan of hub-a at /);
    await expect(plansSignCommand({ ...cli(a()), year: 2027 }, memoryIo())).rejects.toMatchObject({
      code: status.FAILED_PRECONDITION,
    });
    await waitUntil(
      "s to verify a's signed plan",
      async () => (await s().node.running.plans.verified(a().hub)).plans.length === 1,
      20_000,
    );
    const there = await show(s(), a().hub);
    expect(there).toMatchObject({ hub: a().hub, status: "signed", version: 1, signer: a().peerId });
    expect(there.support).toEqual([
      { kind: "translation", amount: 4000, currency: "EUR", note: "French course materials" },
    ]);

    // A change makes a new draft version at the hub; others still see version 1.
    await plansAddCommand(
      { ...cli(a()), year: 2027, delivery: ["module=mod-gen,quarter=Q4,country=TZ,language=sw,count=1"] },
      memoryIo(),
    );
    expect(await show(a())).toMatchObject({ status: "draft", version: 2, signedVersions: [1] });
    await a().node.running.checkpointer.flush();
    await waitUntil(
      "s to hold a's second draft",
      async () => seen(s(), a(), (d) => String(d.drafts?.["2027"]).includes('"version":2')),
      20_000,
    );
    expect(await show(s(), a().hub)).toMatchObject({ status: "signed", version: 1 });
    expect((await show(s(), a().hub)).deliveries).toHaveLength(2);
  });

  it("the federation's plan shows overlaps, gaps and support totals", async () => {
    await plansSetCommand(
      {
        ...cli(b()),
        year: 2027,
        file: await file(
          "b.csv",
          [
            "section,module,quarter,country,language,competency,count,kind,amount,currency,note",
            "delivery,mod-hr,Q3,KE,sw,,1,,,,",
            "delivery,mod-hr,Q3,RW,fr,,1,,,,",
            'support,,,,,,,translation,1000.50,EUR,"Kiswahili, handouts"',
            "support,,,,,,,mentoring,2000,USD,",
          ].join("\n"),
        ),
      },
      memoryIo(),
    );
    await plansSignCommand({ ...cli(b()), year: 2027 }, memoryIo());
    await waitUntil(
      "s to verify b's signed plan",
      async () => (await s().node.running.plans.verified(b().hub)).plans.length === 1,
      20_000,
    );
    const f = await federation(s());
    expect(f.plans.map((p) => [p.hub, p.version, p.deliveries])).toEqual([
      [a().hub, 1, 3],
      [b().hub, 1, 2],
    ]);
    expect(f.missing).toEqual([c().hub]);
    expect(f.overlaps).toEqual([
      {
        module: "mod-hr",
        country: "KE",
        hubs: [
          { hub: a().hub, quarters: [1], count: 2 },
          { hub: b().hub, quarters: [3], count: 1 },
        ],
      },
    ]);
    expect(f.gaps).toEqual([{ competency: "crim-1", code: "CRIM-1" }]);
    expect(f.support).toEqual([
      { kind: "mentoring", currency: "USD", amount: 2000, hubs: [b().hub] },
      { kind: "translation", currency: "EUR", amount: 5000.5, hubs: [a().hub, b().hub] },
    ]);
    expect(f.rejected).toEqual([]);
    const text = memoryIo();
    await plansFederationCommand({ ...cli(s()), year: 2027 }, text);
    expect(text.out()).toContain("Overlaps (the same module for the same country): 1");
    expect(text.out()).toMatch(/mod-hr +│ KE +│ hub-a \(2 in Q1\); hub-b \(1 in Q3\)/);
    expect(text.out()).toContain("Gaps (core competencies no plan covers): 1");
  });

  it("puts plan beside actual in the coverage report and in `plans actual`", async () => {
    const record = (id: string, moduleId: string, day: string) =>
      deliveriesRecordCommand(
        {
          ...cli(a()),
          id,
          module: moduleId,
          start: day,
          end: day,
          country: "KE",
          group: ["police=5/5/0"],
          completed: 10,
          passed: 8,
        },
        memoryIo(),
      );
    await record("a-1", "mod-hr", "2027-02-10");
    await record("a-2", "mod-hr", "2027-03-05");
    await record("a-3", "mod-hr", "2027-03-31");
    await record("a-4", "mod-hr", "2027-07-02");
    await a().node.running.checkpointer.flush();
    await waitUntil(
      "s to hold a's deliveries",
      async () => s().node.running.deliveries.list(a().hub).length === 4,
      20_000,
    );
    const io = memoryIo(true);
    await reportCoverageCommand({ ...cli(s()), from: "2027-01-01", to: "2027-06-30" }, io);
    const report = JSON.parse(io.out()) as CoverageReport;
    expect(report.planVsActual).toEqual([
      { hub: a().hub, year: 2027, quarter: 1, module: "mod-hr", planned: 2, actual: 3, difference: 1, planVersion: 1 },
      {
        hub: a().hub,
        year: 2027,
        quarter: 2,
        module: "mod-gen",
        planned: 1,
        actual: 0,
        difference: -1,
        planVersion: 1,
      },
    ]);
    // Anyone with the secretariat's audit bundle recomputes the same figures from what the hubs signed.
    const out = join(dir, "h1.json");
    await reportCoverageCommand({ ...cli(s()), from: "2027-01-01", to: "2027-06-30", out }, memoryIo(true));
    const bundle = join(dir, "s.bundle");
    await auditExportCommand({ ...cli(s()), out: bundle }, memoryIo(false));
    const verified = memoryIo(false);
    await reportVerifyCommand({ file: out, bundle, trustAnchor: s().peerId }, verified);
    expect(verified.out()).toContain("CONFIRMED");
    const forged = JSON.parse(await readFile(out, "utf8")) as CoverageReport;
    (forged.planVsActual[0] as CoverageReport["planVsActual"][number]).actual = 2;
    await writeFile(join(dir, "forged.json"), JSON.stringify(forged));
    const caught = memoryIo(false);
    await expect(
      reportVerifyCommand({ file: join(dir, "forged.json"), bundle, trustAnchor: s().peerId }, caught),
    ).rejects.toBeDefined();
    expect(caught.out()).toContain("planVsActual");
    // The report's HTML page and CSV rows carry the same figures.
    const html = join(dir, "report.html");
    const csv = join(dir, "report.csv");
    await reportCoverageCommand({ ...cli(s()), from: "2027-01-01", to: "2027-06-30", html, csv }, memoryIo());
    expect(await readFile(html, "utf8")).toContain(`data-figure="plan:2027-Q1|${a().hub}|mod-hr|difference">+1<`);
    expect(await readFile(csv, "utf8")).toContain(`plan:2027-Q2,${a().hub},mod-gen,planned,1`);
    const actual = memoryIo(true);
    await plansActualCommand({ ...cli(s()), year: 2027 }, actual);
    expect(
      (JSON.parse(actual.out()) as { rows: Array<Record<string, unknown>> }).rows.map((r) => [
        r.hub,
        r.quarter,
        r.module,
        r.planned,
        r.actual,
        r.difference,
      ]),
    ).toEqual([
      [a().hub, 1, "mod-hr", 2, 3, 1],
      [a().hub, 2, "mod-gen", 1, 0, -1],
      [a().hub, 3, "mod-hr", 0, 1, 1],
      [b().hub, 3, "mod-hr", 2, 0, -2],
    ]);
    const text = memoryIo();
    await plansActualCommand({ ...cli(s()), year: 2027, hub: b().hub }, text);
    expect(text.out()).toMatch(/hub-b +│ Q3 +│ mod-hr +│ 2 +│ 0 +│ -2 +│ 1 /);
  });

  it("plans a member writes into its own document outside the API count nowhere", async () => {
    const theirs = (await a().node.running.plans.verified(a().hub)).plans[0] as SignedPlan;
    const documents = c().node.running.documents;
    // Hub c copies a's signed plan as its own, under a's signature; and marks a plan signed by a's key.
    const copied: SignedPlan = { ...theirs, plan: { ...theirs.plan, hub: c().hub }, signer: c().peerId };
    const borrowed: SignedPlan = { ...theirs, plan: { ...theirs.plan, hub: c().hub, version: 2 } };
    await documents.transact({ operatorId: "rogue", action: "plan.sign", subjects: ["2027"] }, () => ({
      create: documents.has(PLANS_KEY) ? [] : [plansSpec()],
      edits: [
        {
          key: PLANS_KEY,
          subject: "2027",
          change: (doc) => {
            doc.signed = { "2027/1": encodeSigned(copied), "2027/2": encodeSigned(borrowed) };
            doc.drafts = { "2027": encodeDraft({ ...theirs.plan, version: 3, updatedAt: "", updatedBy: "rogue" }) };
          },
        },
      ],
      result: undefined,
    }));
    // Hub a edits its own signed version 1 after signing it: more deliveries, same signature.
    const own = a().node.running.documents;
    const edited: SignedPlan = {
      ...theirs,
      plan: { ...theirs.plan, deliveries: theirs.plan.deliveries.map((d) => ({ ...d, count: d.count + 10 })) },
    };
    await own.transact({ operatorId: "rogue", action: "plan.sign", subjects: ["2027/1"] }, () => ({
      edits: [
        {
          key: PLANS_KEY,
          subject: "2027/1",
          change: (doc) => {
            (doc.signed as Record<string, unknown>)["2027/1"] = encodeSigned(edited);
          },
        },
      ],
      result: undefined,
    }));
    await c().node.running.checkpointer.flush();
    await a().node.running.checkpointer.flush();
    await waitUntil(
      "s to hold c's and a's documents as written",
      async () =>
        (await s().node.running.plans.verified(c().hub)).rejected.length === 2 &&
        (await s().node.running.plans.verified(a().hub)).rejected.length === 1,
      20_000,
    );
    const f = await federation(s());
    expect(f.plans.map((p) => p.hub)).toEqual([b().hub]);
    expect(f.missing).toEqual([a().hub, c().hub]);
    expect(f.overlaps).toEqual([]);
    expect(f.rejected).toEqual([
      {
        hub: a().hub,
        key: "2027/1",
        problem: "the signature does not verify (the plan was changed after it was signed, or never signed)",
      },
      {
        hub: c().hub,
        key: "2027/1",
        problem: "the signature does not verify (the plan was changed after it was signed, or never signed)",
      },
      { hub: c().hub, key: "2027/2", problem: `it is signed by '${a().peerId}', not by a key of '${c().hub}'` },
    ]);
    await expect(show(s(), c().hub)).rejects.toMatchObject({ code: status.NOT_FOUND });
    const io = memoryIo(true);
    await reportCoverageCommand({ ...cli(s()), from: "2027-01-01", to: "2027-12-31" }, io);
    const rows = (JSON.parse(io.out()) as CoverageReport).planVsActual;
    expect(rows.filter((r) => r.hub === c().hub)).toEqual([]);
    // a's only signed version no longer verifies: no row of a's is a plan beside actual any more.
    expect(rows.filter((r) => r.hub === a().hub)).toEqual([]);
    expect(rows.map((r) => [r.hub, r.quarter, r.module, r.planned, r.actual])).toEqual([[b().hub, 3, "mod-hr", 2, 0]]);
  });
});
