import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  deliveriesAssessCommand,
  deliveriesRecordCommand,
  deliveriesScoresCommand,
  deliveriesShowCommand,
} from "../../cli/commands/deliveries.js";
import {
  evaluationsDueCommand,
  evaluationsFollowUpCommand,
  evaluationsImportFollowUpsCommand,
  evaluationsIndicatorCommand,
} from "../../cli/commands/evaluations.js";
import { reportBaselineCommand, reportCoverageCommand } from "../../cli/commands/report.js";
import type { CoverageReport, BaselineReport } from "../../node/reports/index.js";
import { releaseCore } from "../helpers/core.js";
import { startFederationWith, waitUntil, type FederationNode, type StartedFederation } from "../helpers/federation.js";
import { makeTempDir, refusedFields } from "../helpers/harness.js";
import { memoryIo } from "../helpers/io.js";

const cli = (n: FederationNode) => ({ api: n.node.address, token: n.node.adminToken });

/** What a refused call named: its field violations, as `field: description`. */
const refusal = refusedFields;

const statement = (id: string, learner: string, result: Record<string, unknown> | undefined, verb = "answered") => ({
  id,
  actor: { objectType: "Agent", mbox: `mailto:${learner}@academy.example` },
  verb: { id: `http://adlnet.gov/expapi/verbs/${verb}` },
  object: { id: "https://academy.example/scenarios/checkpoint-stop" },
  ...(result ? { result } : {}),
});

/**
 * Evaluation at four levels across real nodes (docs/evaluation.md): the secretariat publishes the
 * instruments in its case repository; hub a records deliveries with their assessments by form, CSV
 * and xAPI, level-2 gains, follow-ups when they fall due and a results indicator; the secretariat's
 * report shows each level from what a signed, and says which figures compare. Bad input is refused
 * with every problem named, and nothing is written.
 */
describe("evaluation: assessments, four levels and the instruments they used, across the federation", () => {
  let fed: StartedFederation;
  let dir: string;
  const s = () => fed.byName("s");
  const a = () => fed.byName("a");
  const b = () => fed.byName("b");
  const tool = (id: string, version: string) => `${s().hub}/${id}@${version}`;

  beforeAll(async () => {
    fed = await startFederationWith(
      ["s", "a", "b"],
      [
        ["a", "s"],
        ["b", "s"],
      ],
    );
    await releaseCore(s(), {
      items: [
        ["hr-1", "Competency"],
        ["uf-1", "Competency"],
      ],
      modules: [
        {
          id: "mod-hr",
          code: "M-HR",
          title: { en: "Human rights in policing" },
          durationMinutes: 600,
          deliveryMode: "on-site",
          units: [],
          competencies: ["hr-1"],
          materials: [],
          followUpAfterDays: 90,
        },
        {
          id: "mod-uf",
          code: "M-UF",
          title: { en: "Use of force" },
          durationMinutes: 600,
          deliveryMode: "on-site",
          units: [],
          competencies: ["uf-1"],
          materials: [],
        },
      ],
    });
    // The shared instruments: the secretariat's evaluation tools, and a case that is not one.
    const cases = s().node.running.cases;
    const caseOf = (id: string, kind: string, version: string) => ({
      id,
      kind,
      title: id,
      summary: "",
      body: "",
      language: "en",
      version,
      visibility: "public",
    });
    await cases.add("op", caseOf("course-evaluation", "evaluation-tool", "2"));
    await cases.add("op", caseOf("hr-pre-post", "evaluation-tool", "1"));
    await cases.add("op", caseOf("kisumu", "case-study", "1"));
    for (const hub of [a(), b()]) {
      await waitUntil(
        `${hub.name} to verify the release and the instruments`,
        async () =>
          (await hub.node.running.coreSource.releases()).length === 1 &&
          hub.node.running.cases.instrumentProblem({ hub: s().hub, id: "hr-pre-post", version: "1" }) === undefined,
        20_000,
      );
      await hub.node.running.curriculum.adopt("op", "1.0.0");
    }
    dir = await makeTempDir("concordat-evaluation-");
  }, 120_000);
  afterAll(async () => {
    await fed?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const course = (id: string, start: string, end: string, module = "mod-hr") => ({
    ...cli(a()),
    id,
    module,
    start,
    end,
    country: "KE",
    group: ["police=12/14/0"],
    completed: 25,
    passed: 22,
  });

  it("refuses counts that do not add up and instruments that do not exist, naming every problem; nothing is written", async () => {
    const problems = await refusal(
      deliveriesRecordCommand(
        {
          ...course("d-bad", "2027-02-01", "2027-02-05"),
          evaluation: "30:81",
          evaluationInstrument: `${s().hub}/nope@1`,
          assessment: ["uf-1:practical:20:10", "hr-1:oral:5:5", "hr-1:written:10:12", "hr-1:practical:40:30"],
          learning: "20:52:140",
          learningInstrument: tool("kisumu", "1"),
        },
        memoryIo(),
      ),
    );
    expect(problems).toEqual([
      "delivery.evaluation.responses: (30) is more than the participants (26)",
      `delivery.evaluation.instrument: instrument '${s().hub}/nope@1' does not exist: no case 'nope' of hub '${s().hub}' is known here`,
      "delivery.assessments[0].competency: 'uf-1' is not a competency module 'mod-hr' is aligned to (hr-1)",
      "delivery.assessments[1].method: 'oral' is not one of written, practical, simulation, observed",
      "delivery.assessments[2].demonstrated: (12) is more than those assessed (10)",
      "delivery.assessments[3].assessed: (40) is more than the participants (26)",
      "delivery.learning.post_mean: 140 is not a score from 0 to 100",
      `delivery.learning.instrument: instrument '${tool("kisumu", "1")}': case 'kisumu' is a case-study, not an evaluation-tool`,
    ]);
    // An instrument at a version it is not at does not exist either.
    expect(
      await refusal(
        deliveriesRecordCommand(
          {
            ...course("d-bad", "2027-02-01", "2027-02-05"),
            evaluation: "20:81",
            evaluationInstrument: tool("course-evaluation", "1"),
          },
          memoryIo(),
        ),
      ),
    ).toEqual([
      `delivery.evaluation.instrument: instrument '${tool("course-evaluation", "1")}' does not exist: 'course-evaluation' is at version '2'`,
    ]);
    expect(a().node.running.deliveries.list()).toEqual([]);
  });

  it("records assessments and a pre/post gain from the form, with the instruments used", async () => {
    const io = memoryIo(true);
    await deliveriesRecordCommand(
      {
        ...course("d-1", "2027-01-11", "2027-01-15"),
        evaluation: "24:81.5",
        evaluationInstrument: tool("course-evaluation", "2"),
        assessment: ["hr-1:practical:24:20", "hr-1:written:25:23"],
        learning: "24:52:78",
        learningInstrument: tool("hr-pre-post", "1"),
      },
      io,
    );
    const saved = JSON.parse(io.out()) as { assessments: unknown[]; learning: unknown; evaluation: unknown };
    expect(saved.assessments).toEqual([
      { competency: "hr-1", method: "practical", assessed: 24, demonstrated: 20 },
      { competency: "hr-1", method: "written", assessed: 25, demonstrated: 23 },
    ]);
    expect(saved.learning).toEqual({ assessed: 24, preMean: 52, postMean: 78, instrument: tool("hr-pre-post", "1") });
    expect(saved.evaluation).toEqual({ responses: 24, meanScore: 81.5, instrument: tool("course-evaluation", "2") });
    const shown = memoryIo();
    await deliveriesShowCommand({ ...cli(a()), id: "d-1" }, shown);
    expect(shown.out()).toContain("hr-1 by practical: 20 of 24 demonstrated it (83 %)");
    expect(shown.out()).toContain("mean 52 → 78 (gain 26)");
  });

  it("records assessments from a CSV file, naming each bad line", async () => {
    await deliveriesRecordCommand(course("d-2", "2027-02-08", "2027-02-12"), memoryIo());
    const bad = join(dir, "bad.csv");
    await writeFile(bad, "competency,method,assessed,demonstrated\nhr-1,simulation,twenty,10\nhr-1,observed,10,11\n");
    expect(await refusal(deliveriesAssessCommand({ ...cli(a()), id: "d-2", file: bad }, memoryIo()))).toEqual([
      "csv line 2, assessed: 'twenty' is not a whole number",
    ]);
    await writeFile(bad, "competency,method,assessed,demonstrated\nhr-1,simulation,20,10\nhr-1,observed,10,11\n");
    expect(await refusal(deliveriesAssessCommand({ ...cli(a()), id: "d-2", file: bad }, memoryIo()))).toEqual([
      "delivery.assessments[1].demonstrated: (11) is more than those assessed (10)",
    ]);
    expect(a().node.running.deliveries.get("d-2").assessments).toEqual([]);
    const good = join(dir, "good.csv");
    await writeFile(good, "Method,Competency,Assessed,Demonstrated\r\nsimulation,hr-1,20,14\r\nobserved,hr-1,12,9\r\n");
    await deliveriesAssessCommand({ ...cli(a()), id: "d-2", file: good }, memoryIo());
    // A second file replaces the pairs it gives and keeps the others.
    await writeFile(good, "competency,method,assessed,demonstrated\nhr-1,observed,12,10\n");
    await deliveriesAssessCommand({ ...cli(a()), id: "d-2", file: good }, memoryIo());
    expect(a().node.running.deliveries.get("d-2").assessments).toEqual([
      { competency: "hr-1", method: "simulation", assessed: 20, demonstrated: 14 },
      { competency: "hr-1", method: "observed", assessed: 12, demonstrated: 10 },
    ]);
  });

  it("counts an assessment from xAPI results, each learner once, naming no learner in anything replicated", async () => {
    await deliveriesRecordCommand(course("d-3", "2027-03-01", "2027-03-05"), memoryIo());
    const file = join(dir, "results.json");
    await writeFile(
      file,
      JSON.stringify({
        statements: [
          statement("0b4a3c1e-0000-4000-8000-000000000001", "amina", { success: true }),
          statement("0b4a3c1e-0000-4000-8000-000000000002", "amina", { success: false }), // demonstrated once is enough
          statement("0b4a3c1e-0000-4000-8000-000000000003", "brian", { success: false }),
          statement("0b4a3c1e-0000-4000-8000-000000000004", "chen", { score: { scaled: 0.9 } }),
          statement("0b4a3c1e-0000-4000-8000-000000000005", "dawit", { score: { scaled: 0.5 } }),
          statement("0b4a3c1e-0000-4000-8000-000000000006", "esther", undefined, "passed"),
          statement("0b4a3c1e-0000-4000-8000-000000000007", "farid", undefined), // says nothing of the assessment
        ],
      }),
    );
    const io = memoryIo();
    await deliveriesAssessCommand({ ...cli(a()), id: "d-3", xapi: file, competency: "hr-1", method: "simulation" }, io);
    expect(io.out()).toContain("Counted 7 new statement(s) (0 seen before, 1 without a result)");
    expect(io.out()).toContain("3 of 5 demonstrated hr-1 (simulation)");
    // The same file again counts nothing twice; a stricter mastery is a flag away.
    const again = memoryIo();
    await deliveriesAssessCommand(
      { ...cli(a()), id: "d-3", xapi: file, competency: "hr-1", method: "simulation" },
      again,
    );
    expect(again.out()).toContain("0 new statement(s) (7 seen before");
    expect(a().node.running.deliveries.get("d-3").assessments).toEqual([
      { competency: "hr-1", method: "simulation", assessed: 5, demonstrated: 3 },
    ]);
    await expect(
      deliveriesAssessCommand(
        { ...cli(a()), id: "d-3", xapi: file, competency: "hr-1", method: "simulation", mastery: "1.5" },
        memoryIo(),
      ),
    ).rejects.toThrow(/--mastery '1.5'/);
    // What the secretariat holds of a's deliveries names no learner.
    await waitUntil(
      "s to hold d-3's assessment",
      async () =>
        s()
          .node.running.deliveries.list(a().hub)
          .find((d) => d.id === "d-3")?.assessments.length === 1,
      20_000,
    );
    const replicated = JSON.stringify(s().node.running.deliveries.list(a().hub));
    for (const name of ["amina", "brian", "chen", "academy.example"]) expect(replicated).not.toContain(name);
  });

  it("counts an LMS's course evaluation and its tests before and after from xAPI scores", async () => {
    await deliveriesRecordCommand(course("d-4", "2027-04-05", "2027-04-09"), memoryIo()); // the next quarter
    const file = async (name: string, scores: Array<[string, Record<string, number> | undefined]>) => {
      const path = join(dir, name);
      await writeFile(
        path,
        JSON.stringify(
          scores.map(([learner, score], i) =>
            statement(`${name}-${i}`, learner, score ? { score } : undefined, "completed"),
          ),
        ),
      );
      return path;
    };
    const scores = (xapi: string, level: string, instrument?: string) => {
      const io = memoryIo();
      return deliveriesScoresCommand(
        { ...cli(a()), id: "d-4", xapi, level, ...(instrument ? { instrument } : {}) },
        io,
      ).then(() => io.out());
    };
    // Level 1: the questionnaire's scores, one response per respondent (their latest), as a mean 0-100.
    const survey = await file("survey", [
      ["amina", { scaled: 0.6 }],
      ["amina", { scaled: 0.9 }],
      ["brian", { raw: 35, min: 0, max: 50 }],
      ["chen", undefined],
    ]);
    expect(await scores(survey, "reaction", tool("course-evaluation", "2"))).toContain(
      "Counted 4 new statement(s) (0 seen before, 1 without a score) into d-4: 2 response(s), mean 80",
    );
    // Level 2: only learners who took both tests count.
    expect(
      await scores(
        await file("pre", [
          ["amina", { scaled: 0.4 }],
          ["brian", { scaled: 0.5 }],
          ["dawit", { scaled: 0.2 }],
        ]),
        "pre",
      ),
    ).toContain("no learner has taken both tests yet");
    expect(
      await scores(
        await file("post", [
          ["amina", { scaled: 0.8 }],
          ["brian", { scaled: 0.7 }],
          ["esther", { scaled: 0.9 }],
        ]),
        "post",
        tool("hr-pre-post", "1"),
      ),
    ).toContain("2 took both tests: mean 45 → 75");
    expect(a().node.running.deliveries.get("d-4")).toMatchObject({
      evaluation: { responses: 2, meanScore: 80, instrument: { hub: s().hub, id: "course-evaluation", version: "2" } },
      learning: {
        assessed: 2,
        preMean: 45,
        postMean: 75,
        instrument: { hub: s().hub, id: "hr-pre-post", version: "1" },
      },
    });
    expect(await refusal(scores(survey, "midterm"))).toEqual([
      "level: 'midterm' is not one of reaction, pre, post (the course evaluation, the test before, the test after)",
    ]);
  });

  it("lists follow-ups when they fall due, and records them; one before the delivery ended is refused", async () => {
    const due = async (at: string, within?: number) => {
      const io = memoryIo(true);
      await evaluationsDueCommand({ ...cli(a()), at, ...(within === undefined ? {} : { within }) }, io);
      return (JSON.parse(io.out()) as { due: Array<{ delivery: string; due: string; overdueDays: number }> }).due;
    };
    await deliveriesRecordCommand(course("d-uf", "2027-01-11", "2027-01-15", "mod-uf"), memoryIo());
    // mod-hr asks for a follow-up 90 days after the end; mod-uf for none.
    expect(await due("2027-04-01")).toEqual([]);
    expect((await due("2027-04-01", 30)).map((d) => [d.delivery, d.due, d.overdueDays])).toEqual([
      ["d-1", "2027-04-15", -14],
    ]);
    expect((await due("2027-06-01")).map((d) => [d.delivery, d.due, d.overdueDays])).toEqual([
      ["d-1", "2027-04-15", 47],
      ["d-2", "2027-05-13", 19],
    ]);
    const text = memoryIo();
    await evaluationsDueCommand({ ...cli(a()), at: "2027-06-01" }, text);
    expect(text.out()).toContain("47 days overdue");

    expect(
      await refusal(
        evaluationsFollowUpCommand(
          { ...cli(a()), delivery: "d-1", on: "2027-01-14", source: "manager", reached: 10, applying: 12 },
          memoryIo(),
        ),
      ),
    ).toEqual([
      "follow_up.conducted_on: (2027-01-14) is before the delivery ended (2027-01-15)",
      "follow_up.source: 'manager' is not one of supervisor, self",
      "follow_up.applying: (12) is more than those reached (10)",
    ]);
    expect(
      await refusal(
        evaluationsFollowUpCommand(
          { ...cli(a()), delivery: "d-none", on: "2027-05-01", source: "self", reached: 1, applying: 1 },
          memoryIo(),
        ),
      ),
    ).toEqual(["follow_up.delivery: 'd-none' is not a delivery of this hub"]);
    expect(a().node.running.deliveries.followUps()).toEqual([]);

    await evaluationsFollowUpCommand(
      {
        ...cli(a()),
        delivery: "d-1",
        on: "2027-05-02",
        source: "supervisor",
        reached: 20,
        applying: 15,
        instrument: tool("course-evaluation", "2"),
      },
      memoryIo(),
    );
    expect((await due("2027-06-01")).map((d) => d.delivery)).toEqual(["d-2"]);
    // A survey's export: checked whole, every bad line named, then recorded all at once.
    const csv = join(dir, "follow-ups.csv");
    await writeFile(
      csv,
      "delivery,conducted_on,source,reached,applying\nd-2,2027-02-01,self,10,4\nd-2,2027-06-01,self,12,many\nd-9,2027-06-01,self,1,1\n",
    );
    expect(await refusal(evaluationsImportFollowUpsCommand({ ...cli(a()), file: csv }, memoryIo()))).toEqual([
      "csv line 3, applying: 'many' is not a whole number",
      "csv line 2, conducted_on: (2027-02-01) is before the delivery ended (2027-02-12)",
      "csv line 4, delivery: 'd-9' is not a delivery of this hub",
    ]);
    expect(a().node.running.deliveries.followUps()).toHaveLength(1);
    await writeFile(
      csv,
      "Delivery,Conducted_On,Source,Reached,Applying,Instrument\nd-2,2027-05-20,self,12,9,\nd-2,2027-05-22,supervisor,10,8,\n",
    );
    await evaluationsImportFollowUpsCommand({ ...cli(a()), file: csv }, memoryIo());
    expect(await due("2027-06-01")).toEqual([]);
    // A delivery may set its own follow-up date, also for a module that asks for none.
    const own = (followUpDue: string) => ({ ...course("d-own", "2027-03-01", "2027-03-05", "mod-uf"), followUpDue });
    expect(await refusal(deliveriesRecordCommand(own("2027-03-01"), memoryIo()))).toEqual([
      "delivery.follow_up_due: (2027-03-01) is before the delivery ends (2027-03-05)",
    ]);
    await deliveriesRecordCommand(own("2027-04-30"), memoryIo());
    expect((await due("2027-06-01")).map((d) => [d.delivery, d.due, d.overdueDays])).toEqual([
      ["d-own", "2027-04-30", 32],
    ]);
    await evaluationsIndicatorCommand(
      {
        ...cli(a()),
        indicator: "use-of-force-incidents",
        period: "2027-Q1",
        value: 3,
        unit: "incidents",
        source: "Internal affairs register",
      },
      memoryIo(),
    );
    expect(
      await refusal(
        evaluationsIndicatorCommand(
          { ...cli(a()), indicator: "Use of force!", period: "2027-Q5", value: 3, unit: "", source: "" },
          memoryIo(),
        ),
      ),
    ).toEqual([
      "indicator.period: '2027-Q5' is not a period: give 2026, 2026-Q1, 2026-H1, 2026-03 or 2026-01-01..2026-03-31",
    ]);
  });

  it("the secretariat's report shows every level from what a signed, by competency and method, and says what compares", async () => {
    await deliveriesRecordCommand(
      {
        ...cli(b()),
        id: "b-1",
        module: "mod-hr",
        start: "2027-02-01",
        end: "2027-02-03",
        group: ["border=5/5/0"],
        completed: 10,
        passed: 9,
        evaluation: "10:70",
        evaluationInstrument: tool("course-evaluation", "2"),
        assessment: ["hr-1:practical:10:6"],
      },
      memoryIo(),
    );
    await waitUntil(
      "s to hold a's follow-up and indicator and b's delivery",
      async () =>
        s().node.running.deliveries.followUps(a().hub).length === 3 &&
        s().node.running.deliveries.indicators(a().hub).length === 1 &&
        s().node.running.deliveries.list(b().hub).length === 1,
      20_000,
    );
    const html = join(dir, "coverage.html");
    const io = memoryIo(true);
    await reportCoverageCommand({ ...cli(s()), from: "2027-01-01", to: "2027-03-31", html }, io);
    const report = JSON.parse(io.out()) as CoverageReport;
    const ea = report.hubs.find((h) => h.hub === a().hub)?.evaluation;
    expect(ea?.reaction).toEqual({
      deliveries: 1,
      responses: 24,
      meanScore: 81.5,
      instruments: [tool("course-evaluation", "2")],
    });
    expect(ea?.learning.assessments.map((x) => `${x.code} ${x.method} ${x.demonstrated}/${x.assessed}`)).toEqual([
      "HR-1 written 23/25",
      "HR-1 practical 20/24",
      "HR-1 simulation 17/25",
      "HR-1 observed 10/12",
    ]);
    expect(ea?.learning.prePost).toMatchObject({ assessed: 24, preMean: 52, postMean: 78, gain: 26 });
    expect(ea?.behaviour).toMatchObject({
      expected: 4,
      followedUp: 2,
      reached: 42,
      applying: 32,
      applicationRate: 0.762,
    });
    expect(ea?.results).toEqual([
      {
        indicator: "use-of-force-incidents",
        from: "2027-01-01",
        to: "2027-03-31",
        value: 3,
        unit: "incidents",
        source: "Internal affairs register",
      },
    ]);
    // Across hubs: practical assessments summed; reaction scores compare (one questionnaire).
    expect(report.evaluation.assessments.find((x) => x.method === "practical")).toMatchObject({
      assessed: 34,
      demonstrated: 26,
    });
    expect(report.evaluation.comparability.find((c) => c.level === "reaction")).toMatchObject({
      comparable: true,
      note: `course evaluation scores compare across ${[a().hub, b().hub].sort().join(", ")}: all used ${tool("course-evaluation", "2")}`,
    });
    const page = await readFile(html, "utf8");
    expect(page).toContain("Evaluation at four levels");
    expect(page).toContain("use-of-force-incidents");

    // Per period: the pass rate per competency and method against an earlier quarter.
    const baseline = memoryIo(true);
    await reportBaselineCommand({ ...cli(s()), period: "2027-Q1", against: "2026-Q4" }, baseline);
    const hubA = (JSON.parse(baseline.out()) as BaselineReport).changes.hubs.find((h) => h.hub === a().hub);
    expect(hubA?.figures.find((f) => f.measure === "demonstrated_rate" && f.subject === "HR-1/practical")).toEqual({
      measure: "demonstrated_rate",
      subject: "HR-1/practical",
      current: 0.833,
      baseline: null,
      change: null,
    });
  });
});
