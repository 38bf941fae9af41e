import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import {
  grievancesAcknowledgeCommand,
  grievancesFiguresCommand,
  grievancesInvestigateCommand,
  grievancesListCommand,
  grievancesReceiveCommand,
  grievancesResolveCommand,
  grievancesShowCommand,
} from "../../cli/commands/grievances.js";
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { auditExportCommand } from "../../cli/commands/audit.js";
import { reportCoverageCommand, reportVerifyCommand } from "../../cli/commands/report.js";
import { coverageRows } from "../../cli/report-rows.js";
import { buildProgram } from "../../cli/program.js";
import { main } from "../../cli/run.js";
import type { Grievance, GrievanceFigures } from "../../node/api/generated/concordat/v1/grievances.js";
import {
  encodeGrievance,
  GRIEVANCES_KEY,
  grievanceFigures,
  PRIVATE_GRIEVANCES_KEY,
  type Grievance as GrievanceRecord,
} from "../../node/grievances/index.js";
import type { CoverageReport } from "../../node/reports/index.js";
import { ImmutableString } from "@automerge/automerge";
import { startFederationWith, waitUntil, type FederationNode, type StartedFederation } from "../helpers/federation.js";
import { expectServiceError, makeClients, makeTempDir, refusedFields, type TestClients } from "../helpers/harness.js";
import { memoryIo } from "../helpers/io.js";

const cli = (n: FederationNode) => ({ api: n.node.address, token: n.node.adminToken });

/** What a complainant said, and who they are: none of it may leave hub a. */
const NAME = "Amina Diallo-Whistleblower";
const CONTACT = "amina.d@example.org +221 77 000 0001";
const DESCRIPTION = "The trainer shouted insults at female cadets during the range exercise.";
const TRAINER = "TR-KOFI-MENSAH";

describe("pure figures", () => {
  const g = (over: Partial<GrievanceRecord>): GrievanceRecord => ({
    id: "g-1",
    category: "conduct",
    source: "trainee",
    receivedOn: "2025-03-01",
    acknowledgeBy: "2025-03-08",
    resolveBy: "2025-04-30",
    ...over,
  });

  it("count each grievance as it stood on the day asked, with median and max days to resolution", () => {
    const records = [
      g({ id: "g-1", acknowledgedOn: "2025-03-02", resolvedOn: "2025-03-11", outcome: "withdrawn" }),
      g({ id: "g-2", acknowledgedOn: "2025-03-10", investigationStartedOn: "2025-03-12" }),
      g({
        id: "g-3",
        receivedOn: "2025-03-05",
        acknowledgedOn: "2025-03-06",
        investigationStartedOn: "2025-03-07",
        resolvedOn: "2025-05-10",
        outcome: "upheld",
        category: "safety",
      }),
      g({ id: "g-4", receivedOn: "2025-06-01", acknowledgeBy: "2025-06-08", resolveBy: "2025-07-31" }),
    ];
    const early = grievanceFigures(records, "2025-03-09");
    expect(early.total).toBe(3);
    expect(early.byStatus).toEqual({ received: 1, acknowledged: 1, investigating: 1, resolved: 0 });
    expect(early.overdue).toEqual({ acknowledgement: 1, resolution: 0 });
    const later = grievanceFigures(records, "2025-06-30");
    expect(later.total).toBe(4);
    expect(later.byCategory).toMatchObject({ conduct: 3, safety: 1 });
    expect(later.byOutcome).toMatchObject({ withdrawn: 1, upheld: 1 });
    expect(later.open).toBe(2);
    expect(later.overdue).toEqual({ acknowledgement: 1, resolution: 1 });
    expect(later.late).toEqual({ acknowledgement: 1, resolution: 1 });
    expect(later.daysToResolution).toEqual({ resolved: 2, median: 38, max: 66 });
  });
});

/**
 * The grievance register across real nodes: a grievance's life at hub a, every problem of a bad
 * input named, overdue figures, hub b seeing a's figures (from its verified copy) but never who
 * complained, and the coverage report (public too) carrying the figures and no person.
 */
describe("a hub's grievance register", () => {
  let fed: StartedFederation;
  let viewer: TestClients;
  let raw: TestClients;
  const s = () => fed.byName("s");
  const a = () => fed.byName("a");
  const b = () => fed.byName("b");
  const ids: Record<string, string> = {};

  const receive = async (n: FederationNode, extra: Record<string, unknown>) => {
    const io = memoryIo(true);
    await grievancesReceiveCommand(
      {
        ...cli(n),
        category: "conduct",
        source: "trainee",
        name: NAME,
        contact: CONTACT,
        description: DESCRIPTION,
        trainer: TRAINER,
        delivery: "d-range-07",
        ...extra,
      },
      io,
    );
    return JSON.parse(io.out()) as Grievance;
  };
  const figures = async (n: FederationNode, hub: string, at: string) => {
    const io = memoryIo(true);
    await grievancesFiguresCommand({ ...cli(n), hub, at }, io);
    return JSON.parse(io.out()) as GrievanceFigures;
  };

  beforeAll(async () => {
    fed = await startFederationWith(
      ["s", "a", "b"],
      [
        ["a", "s"],
        ["b", "s"],
      ],
    );
    raw = makeClients(a().node.address, a().node.adminToken);
    const added = await raw.operators.addOperator({ name: "a viewer", role: "viewer" });
    viewer = makeClients(a().node.address, added.token);
  }, 120_000);
  afterAll(async () => {
    raw?.close();
    viewer?.close();
    await fed?.stop();
  });

  it("takes a grievance through received, acknowledged, investigating and resolved, forward only", async () => {
    const g = await receive(a(), { receivedOn: "2025-03-03", anonymous: true });
    expect(g.id).toMatch(/^g-[0-9a-f]{16}$/);
    expect(g).toMatchObject({ status: "received", acknowledgeBy: "2025-03-10", resolveBy: "2025-05-02" });
    ids.life = g.id;
    // Backwards or skipping: refused, naming why.
    await expect(
      grievancesInvestigateCommand({ ...cli(a()), id: g.id, on: "2025-03-04" }, memoryIo()),
    ).rejects.toMatchObject({
      code: status.FAILED_PRECONDITION,
      details: expect.stringMatching(/not acknowledged yet/),
    });
    expect(
      await refusedFields(grievancesAcknowledgeCommand({ ...cli(a()), id: g.id, on: "2025-03-01" }, memoryIo())),
    ).toEqual(["acknowledged_on: 2025-03-01 is before the day it was received (2025-03-03)"]);
    await grievancesAcknowledgeCommand({ ...cli(a()), id: g.id, on: "2025-03-05" }, memoryIo());
    await expect(
      grievancesAcknowledgeCommand({ ...cli(a()), id: g.id, on: "2025-03-06" }, memoryIo()),
    ).rejects.toMatchObject({
      code: status.FAILED_PRECONDITION,
    });
    await expect(
      grievancesResolveCommand({ ...cli(a()), id: g.id, on: "2025-03-06", outcome: "upheld" }, memoryIo()),
    ).rejects.toMatchObject({ code: status.FAILED_PRECONDITION, details: expect.stringMatching(/never investigated/) });
    await grievancesInvestigateCommand(
      { ...cli(a()), id: g.id, on: "2025-03-10", note: "Interviewed three cadets and the range officer." },
      memoryIo(),
    );
    expect(
      await refusedFields(
        grievancesResolveCommand({ ...cli(a()), id: g.id, on: "2025-03-09", outcome: "sort-of" }, memoryIo()),
      ),
    ).toEqual([
      "outcome: 'sort-of' is not one of upheld, partly-upheld, not-upheld, withdrawn, referred",
      "resolved_on: 2025-03-09 is before the day its investigation started (2025-03-10)",
    ]);
    const io = memoryIo(true);
    await grievancesResolveCommand(
      { ...cli(a()), id: g.id, on: "2025-04-02", outcome: "upheld", note: "Trainer suspended from range duty." },
      io,
    );
    expect(JSON.parse(io.out())).toMatchObject({ status: "resolved", resolvedOn: "2025-04-02", outcome: "upheld" });
    await expect(
      grievancesInvestigateCommand({ ...cli(a()), id: g.id, on: "2025-04-03" }, memoryIo()),
    ).rejects.toMatchObject({ code: status.FAILED_PRECONDITION });

    // The operator sees everything kept at the hub; a viewer sees the record only.
    const shown = memoryIo(true);
    await grievancesShowCommand({ ...cli(a()), id: g.id }, shown);
    const full = JSON.parse(shown.out()) as Grievance;
    expect(full.private).toMatchObject({
      complainant: { name: NAME, contact: CONTACT, anonymous: true },
      description: DESCRIPTION,
      about: { trainer: TRAINER, delivery: "d-range-07" },
    });
    expect(full.private?.notes.map((n) => n.step)).toEqual(["investigate", "resolve"]);
    const people = memoryIo();
    await grievancesShowCommand({ ...cli(a()), id: g.id }, people);
    expect(people.out()).toContain("Kept at this hub only");
    expect(people.out()).toContain(NAME);
    expect((await viewer.grievances.get({ id: g.id, withPrivate: false })).private).toBeUndefined();
    expect((await expectServiceError(viewer.grievances.get({ id: g.id, withPrivate: true }))).code).toBe(
      status.PERMISSION_DENIED,
    );
    expect(
      (await expectServiceError(viewer.grievances.list({ hub: "", withPrivate: true, overdue: false, at: "" }))).code,
    ).toBe(status.PERMISSION_DENIED);
  });

  it("names every problem of a bad grievance, whatever client sends it", async () => {
    expect(
      await refusedFields(
        raw.grievances.receive({
          category: "rudeness",
          source: "neighbour",
          receivedOn: "2025-02-30",
          acknowledgeWithinDays: 400,
          resolveWithinDays: 0,
          complainant: { name: "", contact: "x".repeat(301), anonymous: false },
          description: "  ",
          about: { delivery: "", trainer: "no such id!", module: "" },
        }),
      ),
    ).toEqual([
      "grievance.category: 'rudeness' is not one of conduct, discrimination, harassment, safety, quality, access, other",
      "grievance.source: 'neighbour' is not one of trainee, civil-society, partner, staff, anonymous",
      "grievance.received_on: '2025-02-30' is not a day (YYYY-MM-DD)",
      "grievance.acknowledge_within_days: 400 is not a number of days (1 to 365; 0 for the default, 7)",
      "grievance.complainant.contact: is 301 characters long; at most 300 allowed",
      "grievance.description: is required",
      "grievance.about.trainer: 'no such id!' is not an id",
    ]);
    expect(
      await refusedFields(
        raw.grievances.receive({
          category: "safety",
          source: "anonymous",
          receivedOn: "2999-01-01",
          acknowledgeWithinDays: 30,
          resolveWithinDays: 10,
          complainant: { name: "Someone", contact: "", anonymous: false },
          description: "Live rounds were stored in the classroom.",
          about: undefined,
        }),
      ),
    ).toEqual([
      expect.stringMatching(/^grievance\.received_on: 2999-01-01 is in the future \(today is \d{4}-\d{2}-\d{2}\)$/),
      "grievance.resolve_within_days: 10 days is less than the 30 days allowed to acknowledge it",
      "grievance.complainant.name: must be empty when the source is anonymous (no one is named)",
    ]);
    expect(
      await refusedFields(
        raw.grievances.receive({
          category: "safety",
          source: "partner",
          receivedOn: "",
          acknowledgeWithinDays: 0,
          resolveWithinDays: 0,
          complainant: { name: "", contact: "", anonymous: false },
          description: "Fire exits were locked.",
          about: undefined,
        }),
      ),
    ).toEqual(["grievance.complainant.name: is required"]);
    // Nothing was written by any of them.
    expect(
      a()
        .node.running.grievances.records()
        .map((g) => g.id),
    ).toEqual([ids.life]);
    expect((await expectServiceError(raw.grievances.acknowledge({ id: "g-none", on: "" }))).code).toBe(
      status.NOT_FOUND,
    );
  });

  it("counts overdue acknowledgements and resolutions at a given day, and lists them", async () => {
    ids.unacknowledged = (await receive(a(), { receivedOn: "2025-03-01", category: "discrimination" })).id;
    const slow = await receive(a(), {
      receivedOn: "2025-03-01",
      category: "safety",
      source: "civil-society",
      resolveWithin: "30",
    });
    ids.slow = slow.id;
    await grievancesAcknowledgeCommand({ ...cli(a()), id: slow.id, on: "2025-03-02" }, memoryIo());
    const withdrawn = await receive(a(), {
      receivedOn: "2025-03-01",
      category: "quality",
      source: "anonymous",
      name: undefined,
    });
    await grievancesAcknowledgeCommand({ ...cli(a()), id: withdrawn.id, on: "2025-03-01" }, memoryIo());
    await grievancesResolveCommand(
      { ...cli(a()), id: withdrawn.id, on: "2025-03-11", outcome: "withdrawn" },
      memoryIo(),
    );

    const before = await figures(a(), "", "2025-03-05");
    expect(before).toMatchObject({ total: 4, overdueAcknowledgement: 0, overdueResolution: 0 });
    const at = await figures(a(), "", "2025-04-15");
    expect(at).toMatchObject({
      hub: a().hub,
      at: "2025-04-15",
      total: 4,
      open: 2,
      overdueAcknowledgement: 1,
      overdueResolution: 1,
      resolved: 2,
      medianDaysToResolution: 20,
      maxDaysToResolution: 30,
    });
    expect(at.byOutcome.filter((c) => c.count > 0)).toEqual([
      { key: "upheld", count: 1 },
      { key: "withdrawn", count: 1 },
    ]);
    const io = memoryIo(true);
    await grievancesListCommand({ ...cli(a()), overdue: true, at: "2025-04-15" }, io);
    const overdue = (JSON.parse(io.out()) as { grievances: Grievance[] }).grievances.map((g) => g.id).sort();
    expect(overdue).toEqual([ids.unacknowledged, ids.slow].sort());
    const table = memoryIo();
    await grievancesListCommand({ ...cli(a()), overdue: true, at: "2025-04-15", private: true }, table);
    expect(table.out()).toContain("2 grievance(s)");
    expect(table.out()).toContain(NAME);
  });

  it("another hub sees the figures from its verified copy, never who complained", async () => {
    const own = await figures(a(), "", "2025-04-15");
    // b's figures of a come from a's register as a last signed it: they catch up with a's own.
    await waitUntil(
      "b's figures of a to be a's own",
      async () => JSON.stringify(await figures(b(), a().hub, "2025-04-15")) === JSON.stringify(own),
      20_000,
    );
    const io = memoryIo(true);
    await grievancesListCommand({ ...cli(b()), hub: a().hub }, io);
    const listed = JSON.parse(io.out()) as { grievances: Grievance[] };
    expect(listed.grievances).toHaveLength(4);
    expect(listed.grievances.every((g) => g.private === undefined)).toBe(true);
    await expect(grievancesListCommand({ ...cli(b()), hub: a().hub, private: true }, memoryIo())).rejects.toMatchObject(
      {
        code: status.PERMISSION_DENIED,
      },
    );
    // What b holds of a's register: codes and days, none of the words.
    const held = b().node.running.views.view(a().node.running.documents.idOf(GRIEVANCES_KEY));
    expect(held).toBeDefined();
    const text = JSON.stringify(held?.doc);
    for (const secret of [NAME, CONTACT, DESCRIPTION, TRAINER, "d-range-07", "Interviewed", "suspended"])
      expect(text).not.toContain(secret);
    // b has no copy of a's private part at all.
    const privateId = a().node.running.documents.idOf(PRIVATE_GRIEVANCES_KEY);
    expect(await b().node.running.replica.documentIds()).not.toContain(privateId);
  });

  it("a record hub a writes outside the API with free text in it counts nowhere at b", async () => {
    const record = JSON.parse(
      encodeGrievance({
        id: "g-forged",
        category: "other",
        source: "staff",
        receivedOn: "2025-03-01",
        acknowledgeBy: "2025-03-08",
        resolveBy: "2025-04-30",
      }).val,
    ) as Record<string, unknown>;
    await a().node.running.documents.transact({ operatorId: "intruder", action: "forge" }, () => ({
      edits: [
        {
          key: GRIEVANCES_KEY,
          change: (doc) => {
            (doc.grievances as Record<string, unknown>)["g-forged"] = new ImmutableString(
              JSON.stringify({ ...record, complainant: "Named Person" }),
            );
          },
        },
      ],
      result: undefined,
    }));
    await a().node.running.checkpointer.flush();
    await waitUntil(
      "b to verify a's forged write",
      async () =>
        JSON.stringify(b().node.running.views.view(a().node.running.documents.idOf(GRIEVANCES_KEY))?.doc).includes(
          "g-forged",
        ),
      20_000,
    );
    expect(
      b()
        .node.running.grievances.records(a().hub)
        .map((g) => g.id),
    ).not.toContain("g-forged");
    expect((await figures(b(), a().hub, "2025-04-15")).total).toBe(4);
  });

  it("the coverage report, public too, carries each hub's grievance figures and no person", async () => {
    const expected = a().node.running.grievances.figures(a().hub, new Date().toISOString().slice(0, 10));
    for (const publicOnly of [false, true]) {
      let report: CoverageReport | undefined;
      await waitUntil(
        "the report at b to count a's grievances",
        async () => {
          const io = memoryIo(true);
          await reportCoverageCommand({ ...cli(b()), from: "2025-01-01", to: "2025-12-31", public: publicOnly }, io);
          report = JSON.parse(io.out()) as CoverageReport;
          return report.hubs.find((h) => h.hub === a().hub)?.grievances.total === 4;
        },
        20_000,
      );
      const hub = report?.hubs.find((h) => h.hub === a().hub);
      const { hub: _h, ...figuresOnly } = expected;
      expect(hub?.grievances).toEqual({ ...figuresOnly, at: report?.asOf.slice(0, 10) });
      expect(hub?.grievances.byOutcome).toMatchObject({ upheld: 1, withdrawn: 1 });
      expect(hub?.grievances.daysToResolution).toEqual({ resolved: 2, median: 20, max: 30 });
      const text = JSON.stringify(report);
      for (const secret of [NAME, CONTACT, DESCRIPTION, TRAINER, ids.life ?? "?"]) expect(text).not.toContain(secret);
      const rows = coverageRows(report as CoverageReport);
      expect(rows).toContainEqual(["grievances", a().hub, "", "median_days_to_resolution", "20"]);
      expect(rows).toContainEqual(["grievances", a().hub, "category:conduct", "count", "1"]);
    }
    expect(s()).toBeDefined();
  });

  it("report verify confirms the grievance figures from an audit bundle, and catches one changed", async () => {
    const dir = await makeTempDir("concordat-grievances-");
    try {
      const out = join(dir, "report.json");
      await reportCoverageCommand({ ...cli(b()), from: "2025-01-01", to: "2025-12-31", out }, memoryIo(true));
      const bundle = join(dir, "b.bundle");
      await auditExportCommand({ ...cli(b()), out: bundle }, memoryIo(false));
      const verify = async (file: string) => {
        const io = memoryIo(false);
        const error = await reportVerifyCommand({ file, bundle, trustAnchor: s().peerId }, io).catch((e: unknown) => e);
        return { out: io.out(), ok: error === undefined };
      };
      expect((await verify(out)).ok).toBe(true);
      const report = JSON.parse(await readFile(out, "utf8")) as CoverageReport;
      const hub = report.hubs.find((h) => h.hub === a().hub);
      if (!hub) throw new Error("no hub a in the report");
      hub.grievances.overdue.resolution = 0;
      const changed = join(dir, "changed.json");
      await writeFile(changed, JSON.stringify(report));
      const { ok, out: said } = await verify(changed);
      expect(ok).toBe(false);
      expect(said).toContain("grievances");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("takes the longest valid description in any script, and names one too long", async () => {
    // 20,000 characters of three bytes each in UTF-8, with the longest name and contact: within the API's request size.
    const longest = "\u6587".repeat(20_000);
    const request = {
      category: "quality",
      source: "staff",
      receivedOn: "2025-01-10",
      acknowledgeWithinDays: 0,
      resolveWithinDays: 0,
      complainant: { name: "\u6587".repeat(200), contact: "\u6587".repeat(300), anonymous: false },
      about: { delivery: "d".repeat(128), trainer: "t".repeat(128), module: "m".repeat(128) },
    };
    const saved = await raw.grievances.receive({ ...request, description: longest });
    expect(a().node.running.grievances.get(saved.id, true).private?.description).toBe(longest);
    expect(await refusedFields(raw.grievances.receive({ ...request, description: `${longest}x` }))).toEqual([
      "grievance.description: is 20001 characters long; at most 20000 allowed",
    ]);
    ids.longest = saved.id;
  });

  it("runs as the docs show it, through the concordat command's arguments", async () => {
    const concordat = async (...args: string[]) => {
      let printed = "";
      const spy = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
        printed += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
        return true;
      });
      try {
        const code = await main([
          "node",
          "concordat",
          "--api",
          a().node.address,
          "--token",
          a().node.adminToken,
          ...args,
        ]);
        return { code, printed };
      } finally {
        spy.mockRestore();
      }
    };
    const received = await concordat(
      "--json",
      "grievances",
      "receive",
      "--category",
      "access",
      "--source",
      "partner",
      "--name",
      "Regional Bar Association",
      "--contact",
      "desk@bar.example",
      "--description",
      "Wheelchair users could not reach the second-floor classroom.",
      "--received-on",
      "2025-05-02",
      "--acknowledge-within",
      "3",
      "--resolve-within",
      "20",
      "--module",
      "mod-hr",
    );
    expect(received.code).toBe(0);
    const g = JSON.parse(received.printed) as Grievance;
    expect(g).toMatchObject({ acknowledgeBy: "2025-05-05", resolveBy: "2025-05-22", category: "access" });
    expect((await concordat("grievances", "acknowledge", g.id, "--on", "2025-05-03")).code).toBe(0);
    expect(
      (await concordat("grievances", "investigate", g.id, "--on", "2025-05-04", "--note", "Site visit")).code,
    ).toBe(0);
    const resolved = await concordat("grievances", "resolve", g.id, "--outcome", "upheld", "--on", "2025-05-30");
    expect(resolved.printed).toContain("late: due by 2025-05-22");
    const overdue = await concordat("grievances", "list", "--overdue", "--at", "2025-05-25", "--private");
    expect(overdue.printed).toContain("grievance(s) at");
    expect(overdue.printed).toContain("Regional Bar Association");
    const shown = await concordat("grievances", "show", g.id);
    expect(shown.printed).toContain("Wheelchair users");
    const f = await concordat("grievances", "figures", "--at", "2025-06-01");
    expect(f.printed).toContain("median days to resolution");
    expect((await concordat("grievances", "list", "--hub", b().hub, "--json")).code).toBe(0);
  });

  it("every command has help, and --json is a global option", () => {
    const program = buildProgram();
    const noun = program.commands.find((c) => c.name() === "grievances");
    expect(noun?.description()).toMatch(/grievance register/);
    const names = noun?.commands.map((c) => c.name()).sort();
    expect(names).toEqual(["acknowledge", "figures", "investigate", "list", "receive", "resolve", "show"]);
    for (const c of noun?.commands ?? []) expect(c.description().length).toBeGreaterThan(20);
    expect(noun?.commands.find((c) => c.name() === "list")?.helpInformation()).toContain("--overdue");
    expect(program.options.map((o) => o.long)).toContain("--json");
  });
});
