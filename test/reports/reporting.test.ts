import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditExportCommand } from "../../cli/commands/audit.js";
import { reportBaselineCommand, reportCoverageCommand, reportVerifyCommand } from "../../cli/commands/report.js";
import { toCliError } from "../../cli/errors.js";
import type { BaselineReport, CoverageReport, FigureChange } from "../../node/reports/index.js";
import { launchChromium } from "../helpers/browser.js";
import { waitUntil, type FederationNode, type StartedFederation } from "../helpers/federation.js";
import { makeTempDir } from "../helpers/harness.js";
import { memoryIo } from "../helpers/io.js";
import { startReportingFederation } from "./federation.js";
import { NO_LEARNING } from "../../node/deliveries/index.js";

const cli = (n: FederationNode) => ({ api: n.node.address, token: n.node.adminToken });
const DAY = 86_400_000;
/** Dates relative to today, so that the test means the same next year: Y-1 is over, Y+1 is to come. */
const Y = new Date().getUTCFullYear();
const NEXT_Q1 = { from: `${Y + 1}-01-01`, to: `${Y + 1}-03-31` };

/**
 * Reporting end to end on a real federation (secretariat s, hubs a and b): baseline comparisons,
 * `report verify` recomputing a report from an audit bundle (and catching every kind of tampering),
 * and the HTML page rendered in headless Chromium with its figures read back and compared to --json.
 */
describe("reports: baseline, verify, HTML", () => {
  let fed: StartedFederation;
  let dir: string;
  let browser: Browser | undefined;
  const s = () => fed.byName("s");
  const a = () => fed.byName("a");
  const b = () => fed.byName("b");

  const coverage = async (extra: Record<string, unknown> = {}) => {
    const io = memoryIo(true);
    await reportCoverageCommand({ ...cli(s()), ...NEXT_Q1, ...extra }, io);
    return JSON.parse(io.out()) as CoverageReport;
  };
  const baseline = async (extra: Record<string, unknown> = {}) => {
    const io = memoryIo(true);
    await reportBaselineCommand({ ...cli(s()), period: `${Y + 1}-Q1`, against: `${Y - 1}`, ...extra }, io);
    return JSON.parse(io.out()) as BaselineReport;
  };

  beforeAll(async () => {
    dir = await makeTempDir("concordat-reporting-");
    fed = await startReportingFederation();
    const soon = new Date(Date.now() + 30 * DAY).toISOString().slice(0, 10);
    // A-1 is accredited throughout; A-2 from the start of this year, until 30 days from now.
    for (const [id, from, until] of [
      ["A-1", `${Y - 1}-01-01`, `${Y + 1}-12-31`],
      ["A-2", `${Y}-01-01`, soon],
    ] as const) {
      const credential = await s().node.running.credentials.issue("op", {
        trainer: { hub: "hub-a", id },
        scheme: "trainer-hr",
        level: "1",
        validFrom: from,
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
    const record = (
      id: string,
      start: string,
      female: number,
      male: number,
      completed: number,
      passed: number,
      visibility: "public" | "internal",
    ) =>
      a().node.running.deliveries.record("op", {
        ...d,
        id,
        module: "mod-hr",
        start,
        end: start,
        participants: [{ category: "police", female, male, unspecified: 0 }],
        completed,
        passed,
        visibility,
      });
    await record("d-0", `${Y - 1}-06-01`, 4, 6, 8, 6, "public");
    await record("d-1", `${Y + 1}-02-01`, 10, 20, 27, 24, "public");
    await record("d-2", `${Y + 1}-03-01`, 5, 5, 10, 5, "internal");
    await Promise.all([a(), b()].map((n) => n.node.running.checkpointer.flush()));
    await waitUntil(
      "s to have a's accreditations, deliveries and adoption, and b's roster",
      async () => {
        const r = await coverage();
        const hubA = r.hubs.find((h) => h.hub === "hub-a");
        return (
          hubA?.competencies.find((c) => c.competency === "hr-1")?.activeTrainers === 2 &&
          hubA.deliveries.count === 2 &&
          hubA.adoptedRelease === "1.0.0" &&
          r.hubs.some((h) => h.hub === "hub-b" && h.trainers === 1)
        );
      },
      30_000,
      200,
    );
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await fed?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("compares two periods: deliveries, completion and accreditations in each, and the change", async () => {
    const r = await baseline();
    expect(r.period).toEqual({ label: `${Y + 1}-Q1`, ...NEXT_Q1 });
    expect(r.against).toEqual({ label: `${Y - 1}`, from: `${Y - 1}-01-01`, to: `${Y - 1}-12-31` });
    const federation = new Map(r.changes.federation.map((c) => [`${c.measure}|${c.subject}`, c]));
    expect(federation.get("deliveries|")).toEqual({
      measure: "deliveries",
      subject: "",
      current: 2,
      baseline: 1,
      change: 1,
    });
    expect(federation.get("participants|")).toMatchObject({ current: 40, baseline: 10, change: 30 });
    expect(federation.get("completion_rate|")).toMatchObject({ current: 0.925, baseline: 0.8, change: 0.125 });
    // Accreditations are judged at the end of a period that is over (A-2's was not valid yet at the
    // end of last year), and now for one that is not.
    expect(federation.get("active_trainers|HR-1")).toMatchObject({ current: 2, baseline: 1, change: 1 });
    expect(r.baseline.asOf).toBe(`${Y - 1}-12-31T23:59:59.999Z`);
    expect(r.current.asOf).toBe(r.generatedAt);
    expect(r.changes.hubs.map((h) => h.hub)).toEqual(["hub-a", "hub-b"]);
    // --public leaves out the internal delivery in both periods.
    const pub = await baseline({ public: true });
    expect(pub.changes.federation.find((c) => c.measure === "deliveries")).toMatchObject({
      current: 1,
      baseline: 1,
      change: 0,
    });

    const people = memoryIo(false);
    const csv = join(dir, "baseline.csv");
    await reportBaselineCommand({ ...cli(s()), period: `${Y + 1}-Q1`, against: `${Y - 1}`, csv }, people);
    expect(people.out()).toMatch(/federation\s+│?\s*deliveries/);
    const lines = (await readFile(csv, "utf8")).trim().split("\n");
    expect(lines[0]).toBe(`scope,hub,subject,measure,${Y + 1}-Q1,${Y - 1},change`);
    expect(lines).toContain("federation,,,deliveries,2,1,1");
    expect(lines).toContain("hub,hub-a,HR-1,active_trainers,2,1,1");
  });

  it("refuses a period it cannot read, naming it", async () => {
    const error = toCliError(
      await reportBaselineCommand(
        { ...cli(s()), period: "2027-Q5", against: "2026-12-31..2026-01-01" },
        memoryIo(),
      ).catch((e: unknown) => e),
    );
    const text = [error.message, ...error.details].join("\n");
    expect(text).toContain("period: '2027-Q5' is not a period: give 2026, 2026-Q1");
    expect(text).toContain("against: '2026-12-31..2026-01-01' ends before it starts");
  });

  describe("report verify", () => {
    let reportFile: string;
    let bundleFile: string;
    let report: CoverageReport;

    beforeAll(async () => {
      reportFile = join(dir, "coverage.json");
      bundleFile = join(dir, "s.bundle");
      await reportCoverageCommand({ ...cli(s()), ...NEXT_Q1, out: reportFile }, memoryIo(false));
      await auditExportCommand({ ...cli(s()), out: bundleFile }, memoryIo(false));
      report = JSON.parse(await readFile(reportFile, "utf8")) as CoverageReport;
    });

    const verify = async (file: string) => {
      const io = memoryIo(false);
      const error = await reportVerifyCommand({ file, bundle: bundleFile, trustAnchor: s().peerId }, io).catch(
        (e: unknown) => e,
      );
      return { out: io.out(), error: error === undefined ? undefined : toCliError(error) };
    };
    const tampered = async (name: string, change: (r: CoverageReport) => void) => {
      const copy = JSON.parse(JSON.stringify(report)) as CoverageReport;
      change(copy);
      const file = join(dir, name);
      await writeFile(file, JSON.stringify(copy));
      return verify(file);
    };

    it("recomputes a coverage report from the secretariat's audit bundle and confirms it", async () => {
      expect(report.sources.documents.length).toBeGreaterThanOrEqual(8);
      expect(new Set(report.sources.documents.map((d) => d.hub))).toEqual(new Set(["hub-a", "hub-b", "hub-s"]));
      const { out, error } = await verify(reportFile);
      expect(error).toBeUndefined();
      expect(out).toContain("CONFIRMED");
      expect(out).toMatch(/figures +\d{2,} value/);
    });

    it("names a figure that was changed", async () => {
      const { out, error } = await tampered("figure.json", (r) => {
        (r.hubs[0] as CoverageReport["hubs"][number]).deliveries.participants += 5;
      });
      expect(error?.message).toContain("is not confirmed");
      expect(out).toContain("NOT CONFIRMED");
      expect(out).toContain("hubs[0].deliveries.participants: the report says 45, the bundle gives 40");
    });

    it("names a gap that was hidden", async () => {
      const { out } = await tampered("gap.json", (r) => {
        r.gaps.behindRelease = [];
      });
      expect(out).toContain("gaps.behindRelease[0]: the report says nothing, the bundle gives");
    });

    it("refuses a source the bundle does not vouch for: a forged signature, a document left out, another hub's document", async () => {
      const forged = await tampered("forged.json", (r) => {
        const d = r.sources.documents.find(
          (x) => x.type === "deliveries",
        ) as CoverageReport["sources"]["documents"][number];
        d.checkpoint.seq += 1;
      });
      expect(forged.out).toMatch(/the deliveries of hub 'hub-a'.*signature/);
      const dropped = await tampered("dropped.json", (r) => {
        r.sources.documents = r.sources.documents.filter((x) => !(x.hub === "hub-a" && x.type === "deliveries"));
      });
      expect(dropped.out).toMatch(/the report leaves out the deliveries document .* of hub 'hub-a'/);
      const moved = await tampered("moved.json", (r) => {
        (r.sources.documents.find((x) => x.hub === "hub-b" && x.type === "roster") as { hub: string }).hub = "hub-a";
      });
      expect(moved.out).toMatch(/the roster of hub 'hub-a': signed by \S+, which is a key of hub 'hub-b'/);
    });

    it("confirms a baseline report, both periods", async () => {
      const file = join(dir, "baseline.json");
      await reportBaselineCommand(
        { ...cli(s()), period: `${Y + 1}-Q1`, against: `${Y - 1}`, out: file },
        memoryIo(false),
      );
      await auditExportCommand({ ...cli(s()), out: bundleFile }, memoryIo(false));
      const { out, error } = await verify(file);
      expect(error).toBeUndefined();
      expect(out).toContain("CONFIRMED: ");
      expect(out).toContain("concordat.baseline/1");
    });

    it("says what is wrong with a file that is no report", async () => {
      const file = join(dir, "not-json.json");
      await writeFile(file, "{ nope");
      expect((await verify(file)).error?.message).toMatch(/is not JSON/);
      await writeFile(file, JSON.stringify({ kind: "something/1" }));
      expect((await verify(file)).out).toContain("not a Concordat report: its kind is 'something/1'");
    });
  });

  describe("the HTML page, in headless Chromium", () => {
    /** What the page shows for a figure (as the renderer formats it): integers plainly, rates as a percentage. */
    const rate = (x: number | null) => (x === null ? "–" : `${(x * 100).toFixed(1)}%`);
    const n = (x: number) => x.toLocaleString("en-GB");

    /** Every figure of a coverage report, keyed as the page keys them, built from the JSON alone. */
    function expectedCoverage(r: CoverageReport, prefix = ""): Map<string, string> {
      const m = new Map<string, string>();
      for (const h of r.hubs) {
        m.set(`${prefix}hub|${h.hub}||trainers`, String(h.trainers));
        m.set(`${prefix}hub|${h.hub}||adopted_release`, h.adoptedRelease ?? "");
        const d = h.deliveries;
        for (const [k, v] of [
          ["count", d.count],
          ["participants", d.participants],
          ["female", d.female],
          ["male", d.male],
          ["unspecified", d.unspecified],
          ["completed", d.completed],
          ["passed", d.passed],
        ] as const)
          m.set(`${prefix}deliveries|${h.hub}||${k}`, n(v));
        m.set(`${prefix}deliveries|${h.hub}||completion_rate`, rate(d.completionRate));
        m.set(`${prefix}deliveries|${h.hub}||pass_rate`, rate(d.passRate));
        for (const c of h.competencies) {
          m.set(`${prefix}competency|${h.hub}|${c.competency}|active_trainers`, n(c.activeTrainers));
          m.set(`${prefix}competency|${h.hub}|${c.competency}|expiring_within_90_days`, n(c.expiringWithin90Days));
        }
        const e = h.evaluation;
        const mean = (x: number | null) => (x === null ? "–" : String(x));
        const level = (section: string, measure: string, text: string) =>
          m.set(`${prefix}${section}|${h.hub}||${measure}`, text);
        level("level1_reaction", "responses", n(e.reaction.responses));
        level("level1_reaction", "mean_score", mean(e.reaction.meanScore));
        level("level2_learning", "assessed_pre_post", n(e.learning.prePost.assessed));
        level("level2_learning", "pre_mean", mean(e.learning.prePost.preMean));
        level("level2_learning", "post_mean", mean(e.learning.prePost.postMean));
        level("level2_learning", "gain", mean(e.learning.prePost.gain));
        for (const k of ["expected", "followedUp", "overdue", "reached", "applying"] as const)
          level(
            "level3_behaviour",
            k === "expected" ? "follow_ups_expected" : k === "followedUp" ? "followed_up" : k,
            n(e.behaviour[k]),
          );
        level("level3_behaviour", "application_rate", rate(e.behaviour.applicationRate));
        for (const a of e.learning.assessments) {
          m.set(`${prefix}assessment|${h.hub}|${a.competency}/${a.method}|assessed`, n(a.assessed));
          m.set(`${prefix}assessment|${h.hub}|${a.competency}/${a.method}|demonstrated`, n(a.demonstrated));
          m.set(`${prefix}assessment|${h.hub}|${a.competency}/${a.method}|rate`, rate(a.rate));
        }
        for (const x of e.results)
          m.set(`${prefix}level4_results|${h.hub}|${x.indicator} ${x.from}..${x.to}|${x.unit}`, n(x.value));
        const g = h.grievances;
        level("grievances", "received", n(g.total));
        level("grievances", "open", n(g.open));
        level("grievances", "overdue_acknowledgement", n(g.overdue.acknowledgement));
        level("grievances", "overdue_resolution", n(g.overdue.resolution));
        level("grievances", "resolved", n(g.daysToResolution.resolved));
        level("grievances", "median_days_to_resolution", mean(g.daysToResolution.median));
        level("grievances", "max_days_to_resolution", mean(g.daysToResolution.max));
      }
      for (const a of r.evaluation.assessments) {
        m.set(`${prefix}assessment||${a.competency}/${a.method}|assessed`, n(a.assessed));
        m.set(`${prefix}assessment||${a.competency}/${a.method}|demonstrated`, n(a.demonstrated));
        m.set(`${prefix}assessment||${a.competency}/${a.method}|rate`, rate(a.rate));
      }
      for (const g of r.gaps.noActiveTrainer)
        m.set(`${prefix}gap:no_active_trainer||${g.competency}|region:${g.region}`, `${g.code} in ${g.region}`);
      for (const g of r.gaps.expiring) m.set(`${prefix}gap:expiring|${g.hub}|${g.competency}|count`, String(g.count));
      for (const g of r.gaps.awaitingReview)
        m.set(`${prefix}gap:awaiting_review|${g.hub}|${g.adaptation}|`, `${g.hub} · ${g.adaptation}`);
      for (const g of r.gaps.behindRelease)
        m.set(
          `${prefix}gap:behind_release|${g.hub}|${g.adopted ?? ""}|latest`,
          `${g.hub} follows ${g.adopted ?? "no release"}, latest ${g.latest}`,
        );
      for (const g of r.gaps.neverDelivered)
        m.set(`${prefix}gap:never_delivered|${g.hub}|${g.module}|`, `${g.hub} · ${g.module}`);
      return m;
    }

    /** Chart bars: the value each must show. */
    function expectedBars(r: CoverageReport, prefix = ""): Map<string, number> {
      const m = new Map<string, number>();
      for (const h of r.hubs) {
        for (const c of h.competencies)
          m.set(`${prefix}chart:competency|${h.hub}|${c.competency}|active_trainers`, c.activeTrainers);
        for (const g of ["female", "male", "unspecified"] as const)
          m.set(`${prefix}chart:deliveries|${h.hub}||${g}`, h.deliveries[g]);
        m.set(`${prefix}chart:deliveries|${h.hub}||completion_rate`, h.deliveries.completionRate ?? 0);
        m.set(`${prefix}chart:deliveries|${h.hub}||pass_rate`, h.deliveries.passRate ?? 0);
      }
      return m;
    }

    /** Opens the file with every request recorded; reads every figure's text and every bar's value and drawn length. */
    async function render(file: string) {
      browser ??= await launchChromium();
      const page = await browser.newPage();
      const requests: string[] = [];
      page.on("request", (req) => requests.push(req.url()));
      await page.goto(pathToFileURL(file).href, { timeout: 30_000 });
      const figures = await page.$$eval("[data-figure]:not(rect)", (els) =>
        els.map((e) => [e.getAttribute("data-figure") ?? "", (e.textContent ?? "").trim()] as [string, string]),
      );
      const bars = await page.$$eval("svg rect[data-figure]", (els) =>
        els.map((e) => {
          const svg = e.closest("svg");
          return {
            key: e.getAttribute("data-figure") ?? "",
            value: Number(e.getAttribute("data-value")),
            drawn: e.getBoundingClientRect().width,
            plot: Number(svg?.getAttribute("data-plot-width")),
            max: Number(svg?.getAttribute("data-max")),
          };
        }),
      );
      const screenshot = await page.screenshot({ fullPage: true });
      await page.close();
      return { figures: new Map(figures), figureCount: figures.length, bars, requests, screenshot };
    }

    function checkBars(bars: Awaited<ReturnType<typeof render>>["bars"], expected: Map<string, number>) {
      expect(new Set(bars.map((x) => x.key))).toEqual(new Set(expected.keys()));
      for (const bar of bars) {
        expect(bar.value, bar.key).toBeCloseTo(expected.get(bar.key) as number, 6);
        // Drawn as long as its value says, on the chart's scale (to a pixel).
        expect(Math.abs(bar.drawn - (bar.value / bar.max) * bar.plot), bar.key).toBeLessThan(1);
      }
    }

    it("shows the same figures as --json for a coverage report, needs no network, and draws each bar to scale", async () => {
      const html = join(dir, "coverage.html");
      const json = await coverage({ html });
      const page = await render(html);
      expect(page.requests).toEqual([pathToFileURL(html).href]); // self-contained: nothing else is fetched
      const expected = expectedCoverage(json);
      expect(page.figureCount).toBe(page.figures.size); // each figure once
      expect(Object.fromEntries(page.figures)).toEqual(Object.fromEntries(expected));
      checkBars(page.bars, expectedBars(json));
      expect(page.figures.get("deliveries|hub-a||completion_rate")).toBe("92.5%");
      expect(page.screenshot.length).toBeGreaterThan(10_000);
      if (process.env.CONCORDAT_SCREENSHOT) await writeFile(process.env.CONCORDAT_SCREENSHOT, page.screenshot);
    });

    it("shows the same figures as --json for a baseline report", async () => {
      const html = join(dir, "baseline.html");
      const json = await baseline({ html });
      const page = await render(html);
      expect(page.requests).toEqual([pathToFileURL(html).href]);
      const expected = expectedCoverage(json.current, "current:");
      const show = (c: FigureChange, v: number | null) =>
        v === null ? "–" : c.measure.endsWith("_rate") ? rate(v) : n(v);
      const change = (c: FigureChange) =>
        c.change === null
          ? "–"
          : `${c.change > 0 ? "+" : ""}${c.measure.endsWith("_rate") ? `${(c.change * 100).toFixed(1)} pts` : n(c.change)}`;
      const add = (scope: string, c: FigureChange) => {
        expected.set(`${scope}|${c.subject}|${c.measure}|current`, show(c, c.current));
        expected.set(`${scope}|${c.subject}|${c.measure}|baseline`, show(c, c.baseline));
        expected.set(`${scope}|${c.subject}|${c.measure}|change`, change(c));
      };
      for (const c of json.changes.federation) add("federation|", c);
      for (const h of json.changes.hubs) for (const c of h.figures) add(`hub|${h.hub}`, c);
      expect(Object.fromEntries(page.figures)).toEqual(Object.fromEntries(expected));
      const bars = expectedBars(json.current, "current:");
      for (const h of json.changes.hubs) {
        const p = h.figures.find((f) => f.measure === "participants") as FigureChange;
        bars.set(`chart:hub|${h.hub}||participants|current`, p.current as number);
        bars.set(`chart:hub|${h.hub}||participants|baseline`, p.baseline as number);
      }
      checkBars(page.bars, bars);
      expect(page.figures.get("federation|||deliveries|change")).toBe("+1");
    });
  });
});
