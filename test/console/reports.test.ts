import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { stringify } from "csv-stringify/sync";
import fc from "fast-check";
import type { Browser, Download, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditVerifyCommand } from "../../cli/commands/audit.js";
import { reportVerifyCommand } from "../../cli/commands/report.js";
import { coverageRows, csvText } from "../../cli/report-rows.js";
import { decodeBundle } from "../../node/audit/bundle.js";
import type { CoverageReport } from "../../node/reports/index.js";
import { launchChromium } from "../helpers/browser.js";
import {
  type ConsolePage,
  expectAccessible,
  expectNoSidewaysScroll,
  openConsole,
  openScreen,
  PHONE,
} from "../helpers/console.js";
import { releaseCore, adoptRelease } from "../helpers/core.js";
import { type FederationNode, type StartedFederation, startFederationWith, waitUntil } from "../helpers/federation.js";
import { makeTempDir, makeTrainer } from "../helpers/harness.js";
import { memoryIo } from "../helpers/io.js";

/**
 * The Reports screen in a real Chromium, on the secretariat of a small federation (secretariat s,
 * hub a with a released and adopted core, two trainers and two deliveries recorded through the
 * API), signed in as a viewer: the coverage report's tables and charts (each with a text
 * alternative), its CSV and JSON downloads equal to what the API's report gives, the audit bundle
 * assembled from ExportAudit's stream and verified by the CLI, axe in English and Arabic, a phone.
 */

/** The page's default period: this calendar year (in the browser's time zone, as here). */
const Y = new Date().getFullYear();
const PERIOD = { from: `${Y}-01-01`, to: `${Y}-12-31` };

describe("the CSV writer the CLI and the console share", () => {
  it("writes what csv-stringify's defaults write", () => {
    const cell = fc.oneof(
      fc.string(),
      fc.constantFrom("", ",", '"', "a,b", 'say "hi"', "line\nbreak", "cr\rhere", " padded ", "=1+1", "–"),
    );
    fc.assert(
      fc.property(fc.array(fc.array(cell, { minLength: 1, maxLength: 5 }), { maxLength: 6 }), (rows) => {
        expect(csvText(rows)).toBe(stringify(rows));
      }),
      { numRuns: 300 },
    );
  });
});

describe("the Reports screen", () => {
  let fed: StartedFederation;
  let browser: Browser;
  let viewerToken: string;
  let dir: string;
  const open: ConsolePage[] = [];
  const s = (): FederationNode => fed.byName("s");
  const a = (): FederationNode => fed.byName("a");

  const apiCoverage = async (): Promise<CoverageReport> => {
    const response = await s()
      .node.clients(s().node.adminToken)
      .reports.coverageReport({ ...PERIOD, publicOnly: false }, { deadlineMs: 60_000 });
    return JSON.parse(response.json) as CoverageReport;
  };

  /** A report's figures, without when it was computed and which checkpoints it names (heartbeats move those). */
  const figures = (r: CoverageReport) => ({
    kind: r.kind,
    period: r.period,
    publicOnly: r.publicOnly,
    latestRelease: r.latestRelease,
    gaps: r.gaps,
    hubs: r.hubs.map(({ checkpoints: _, ...rest }) => rest),
  });

  beforeAll(async () => {
    dir = await makeTempDir("concordat-console-reports-");
    fed = await startFederationWith(["s", "a"], [["a", "s"]]);
    await releaseCore(s(), {
      items: [
        ["hr", "Domain"],
        ["hr-1", "Competency"],
      ],
      childOf: [["hr-1", "hr"]],
      modules: [
        {
          id: "mod-hr",
          code: "M-HR",
          title: { en: "Human rights" },
          durationMinutes: 60,
          deliveryMode: "on-site" as const,
          units: [],
          competencies: ["hr-1"],
          materials: [],
        },
      ],
    });
    await adoptRelease(a());
    // Trainers and deliveries through a's API, as an operator's tools would record them.
    const hubA = a().node.clients(a().node.adminToken);
    for (const id of ["A-1", "A-2"])
      await hubA.trainers.addTrainer({ trainer: makeTrainer(id, { regions: ["KE"], accreditations: [] }) });
    const delivery = (
      id: string,
      start: string,
      female: number,
      male: number,
      completed: number,
      passed: number,
      evaluated = false,
    ) =>
      hubA.deliveries.recordDelivery({
        delivery: {
          id,
          module: "mod-hr",
          start,
          end: start,
          country: "KE",
          place: "Nairobi",
          language: "en",
          participants: [{ category: "police", female, male, unspecified: 0 }],
          completed,
          passed,
          evaluation: evaluated
            ? { responses: 28, meanScore: 81.5, instrument: "" }
            : { responses: 0, meanScore: 0, instrument: "" },
          assessments: evaluated ? [{ competency: "hr-1", method: "simulation", assessed: 28, demonstrated: 21 }] : [],
          learning: evaluated ? { assessed: 25, preMean: 48, postMean: 76.5, instrument: "" } : undefined,
          followUpDue: "",
          visibility: "public",
          source: "",
          recordedAt: "",
          recordedBy: "",
          hub: "",
        },
      });
    await delivery("d-1", `${Y}-02-01`, 10, 20, 27, 24, true);
    await delivery("d-2", `${Y}-03-01`, 5, 5, 10, 5);
    await a().node.running.checkpointer.flush();
    await waitUntil(
      "s's coverage report to count a's trainers and deliveries",
      async () => {
        const r = await apiCoverage();
        const hub = r.hubs.find((h) => h.hub === "hub-a");
        return hub?.trainers === 2 && hub.deliveries.count === 2 && hub.adoptedRelease === "1.0.0";
      },
      30_000,
      200,
    );
    // A viewer: the least role; reports and the audit bundle are theirs to see.
    viewerToken = (
      await s().node.clients(s().node.adminToken).operators.addOperator({ name: "an auditor", role: "viewer" })
    ).token;
    browser = await launchChromium();
  }, 180_000);

  afterAll(async () => {
    for (const c of open) await c.context.close().catch(() => undefined);
    await browser?.close();
    await fed?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function reportsPage(options: { locale?: string; viewport?: { width: number; height: number } } = {}) {
    const consolePage = await openConsole(browser, s().node, viewerToken, options);
    open.push(consolePage);
    return consolePage;
  }

  async function saved(page: Page, button: string, timeout = 30_000): Promise<{ download: Download; bytes: Buffer }> {
    const [download] = await Promise.all([
      page.waitForEvent("download", { timeout }),
      page.getByRole("button", { name: button, exact: true }).click(),
    ]);
    const path = await download.path();
    return { download, bytes: await readFile(path) };
  }

  it("shows the coverage report as captioned tables and charts with text alternatives, to a viewer", async () => {
    const { page, problems } = await reportsPage();
    await openScreen(page, "Reports");
    const table = page.getByRole("table", { name: "Trainers, core release and deliveries in the period, per hub" });
    await table.waitFor({ timeout: 30_000 });
    const expected = await apiCoverage();
    const hub = expected.hubs.find((h) => h.hub === "hub-a") as CoverageReport["hubs"][number];
    // The table's figures, read from the page.
    const cell = async (key: string) => (await page.locator(`td[data-figure="${key}"]`).textContent())?.trim();
    expect(await cell("hub|hub-a||trainers")).toBe("2");
    expect(await cell("deliveries|hub-a||count")).toBe("2");
    expect(await cell("deliveries|hub-a||participants")).toBe(String(hub.deliveries.participants));
    expect(await cell("deliveries|hub-a||female")).toBe("15");
    expect(await cell("deliveries|hub-a||completion_rate")).toBe("92.5%");
    // The four levels of evaluation, and the assessments per competency and method.
    await page.getByRole("table", { name: /^Per hub, the deliveries of the period: 1 reaction/ }).waitFor();
    expect(await cell("level1_reaction|hub-a||mean_score")).toBe(String(hub.evaluation.reaction.meanScore));
    expect(await cell("level2_learning|hub-a||gain")).toBe("28.5");
    expect(await cell("assessment|hub-a|hr-1/simulation|rate")).toBe("75%");
    await page.getByRole("table", { name: "Assessments per competency and method" }).waitFor();
    // The grievance figures (docs/grievances.md): counts only.
    await page.getByRole("table", { name: "Grievances received in the period, per hub" }).waitFor();
    expect(await cell("grievances|hub-a||received")).toBe(String(hub.grievances.total));
    expect(await cell("grievances|hub-a||median_days_to_resolution")).toBe("–");
    await page.getByText("Course evaluation scores: fewer than two hubs report them, nothing to compare.").waitFor();
    // Each chart is an image named by its title and described by every figure it draws.
    const gender = page.getByRole("img", { name: /^Participants in the period, by gender/ });
    await gender.waitFor();
    const described = (await gender.getAttribute("aria-labelledby"))?.split(" ") ?? [];
    expect(described).toHaveLength(2);
    const desc = await page.locator(`[id="${described[1]}"]`).textContent({ timeout: 5_000 });
    expect(desc).toContain("Hub a: female 15, male 25, unspecified 0.");
    await page.getByRole("img", { name: /^Active accredited trainers per competency/ }).waitFor();
    await page.getByRole("img", { name: /^Completion and pass rates in the period/ }).waitFor();
    // Every bar holds the API's figure and is drawn to the chart's scale.
    const bars = await page.$$eval("svg[role=img] rect[data-figure]", (els) =>
      els.map((e) => {
        const svg = e.closest("svg");
        return {
          key: e.getAttribute("data-figure") ?? "",
          value: Number(e.getAttribute("data-value")),
          width: Number(e.getAttribute("width")),
          plot: Number(svg?.getAttribute("data-plot-width")),
          max: Number(svg?.getAttribute("data-max")),
        };
      }),
    );
    const want = new Map<string, number>();
    for (const h of expected.hubs) {
      for (const c of h.competencies)
        want.set(`chart:competency|${h.hub}|${c.competency}|active_trainers`, c.activeTrainers);
      for (const g of ["female", "male", "unspecified"] as const)
        want.set(`chart:deliveries|${h.hub}||${g}`, h.deliveries[g]);
      want.set(`chart:deliveries|${h.hub}||completion_rate`, h.deliveries.completionRate ?? 0);
      want.set(`chart:deliveries|${h.hub}||pass_rate`, h.deliveries.passRate ?? 0);
    }
    expect(Object.fromEntries(bars.map((b) => [b.key, b.value]))).toEqual(Object.fromEntries(want));
    for (const b of bars) expect(Math.abs(b.width - (b.value / b.max) * b.plot), b.key).toBeLessThan(0.01);
    // Series are told apart by pattern as well as colour: the second series' bars are patterned.
    const fills = await page.$$eval('svg[data-chart="rates"] rect[data-figure]', (els) =>
      els.map((e) => e.getAttribute("fill") ?? ""),
    );
    expect(fills.some((f) => f.startsWith("url(#"))).toBe(true);
    expect(fills.some((f) => f.startsWith("#"))).toBe(true);
    await expectAccessible(page, "reports (en)");
    expect(problems).toEqual([]);
  }, 90_000);

  it("downloads the report as CSV and JSON with the API's figures, and the JSON is confirmed by the downloaded audit bundle", async () => {
    const { page } = await reportsPage();
    await openScreen(page, "Reports");
    await page.getByRole("button", { name: "Download CSV" }).waitFor({ timeout: 30_000 });

    const csv = await saved(page, "Download CSV");
    expect(csv.download.suggestedFilename()).toBe(`coverage-${PERIOD.from}-${PERIOD.to}.csv`);
    const json = await saved(page, "Download JSON");
    expect(json.download.suggestedFilename()).toBe(`coverage-${PERIOD.from}-${PERIOD.to}.json`);
    const expected = await apiCoverage();
    // The CSV: byte for byte what `report coverage --csv` writes of the API's report (csv-stringify, as the CLI once did).
    expect(csv.bytes.toString("utf8")).toBe(stringify(coverageRows(expected)));
    const downloaded = JSON.parse(json.bytes.toString("utf8")) as CoverageReport;
    expect(figures(downloaded)).toEqual(figures(expected));
    expect(json.bytes.toString("utf8")).toBe(`${JSON.stringify(downloaded, null, 2)}\n`);

    // The audit bundle: ExportAudit's chunks, assembled in the page, saved under the hub's and month's name.
    const bundle = await saved(page, "Download the audit bundle", 60_000);
    expect(bundle.download.suggestedFilename()).toBe(`hub-s-${new Date().toISOString().slice(0, 7)}.bundle`);
    await page.getByText(/^Saved hub-s-.*\.bundle/).waitFor();
    const bundleFile = join(dir, "page.bundle");
    const reportFile = join(dir, "page.json");
    await writeFile(bundleFile, bundle.bytes);
    await writeFile(reportFile, json.bytes);
    // The same bundle as ExportAudit gives to a direct caller (but for when it was made).
    const direct: Buffer[] = [];
    for await (const chunk of s().node.clients(s().node.adminToken).audit.exportAudit({}, { deadlineMs: 60_000 }))
      direct.push(Buffer.from(chunk.data));
    const strip = (raw: unknown) => {
      const { createdAt: _, checkpoints: __, ...rest } = raw as { createdAt: string; checkpoints: unknown };
      return {
        ...rest,
        documents: (rest as { documents: Array<{ id: string; key: string }> }).documents.map((d) => `${d.id} ${d.key}`),
      };
    };
    expect(strip(decodeBundle(new Uint8Array(bundle.bytes))).documents).toEqual(
      strip(decodeBundle(new Uint8Array(Buffer.concat(direct)))).documents,
    );
    // Checked as an auditor would: `concordat audit verify`, then `report verify` of the downloaded JSON.
    const verified = memoryIo(false);
    await auditVerifyCommand({ file: bundleFile, trustAnchor: s().peerId }, verified);
    expect(verified.out()).toContain(`VERIFIED: ${bundleFile}`);
    const confirmed = memoryIo(false);
    await reportVerifyCommand({ file: reportFile, bundle: bundleFile, trustAnchor: s().peerId }, confirmed);
    expect(confirmed.out()).toContain(`CONFIRMED: ${reportFile}`);
  }, 120_000);

  it("compares two periods: the baseline's tables and chart, its options in the address, an invalid period at its field", async () => {
    const { page, problems } = await reportsPage();
    await openScreen(page, "Reports");
    await page.getByLabel("Report", { exact: true }).selectOption("baseline");
    await page.getByLabel("Period", { exact: true }).fill(String(Y));
    await page.getByLabel("Against", { exact: true }).fill(String(Y - 1));
    await page.getByRole("button", { name: "Show the report" }).click();
    const federation = page.getByRole("table", { name: `The federation's figures: ${Y} against ${Y - 1}` });
    await federation.waitFor({ timeout: 30_000 });
    const row = federation
      .getByRole("row")
      .filter({ has: page.getByRole("cell", { name: "Deliveries", exact: true }) });
    expect((await row.getByRole("cell").allTextContents()).map((x) => x.trim())).toEqual([
      "Deliveries",
      "2",
      "0",
      "+2",
    ]);
    await page.getByRole("img", { name: /^Participants per hub, both periods/ }).waitFor();
    expect(new URL(page.url()).search).toBe(`?kind=baseline&period=${Y}&against=${Y - 1}`);
    await expectAccessible(page, "baseline report (en)");
    // The API's field error, shown at the field it names.
    await page.getByLabel("Against", { exact: true }).fill("last year");
    await page.getByRole("button", { name: "Show the report" }).click();
    await page.getByText("is not a period").waitFor({ timeout: 15_000 });
    expect(await page.getByLabel("Against", { exact: true }).getAttribute("aria-invalid")).toBe("true");
    expect(problems).toEqual([]);
  }, 90_000);

  it("passes axe in Arabic, right to left, and has no sideways scroll on a phone", async () => {
    const ar = await reportsPage({ locale: "ar" });
    await openScreen(ar.page, "التقارير", "الشاشات");
    expect(await ar.page.evaluate("document.documentElement.dir")).toBe("rtl");
    await ar.page
      .getByRole("table", { name: "المدرّبون وإصدار المنهج الأساسي والدورات المنفّذة في الفترة، لكل مركز" })
      .waitFor({
        timeout: 30_000,
      });
    await ar.page.getByRole("img", { name: /^المشاركون في الفترة حسب الجنس/ }).waitFor();
    await expectAccessible(ar.page, "reports (ar)");
    expect(ar.problems).toEqual([]);

    for (const locale of ["en-GB", "ar"]) {
      const phone = await reportsPage({ locale, viewport: PHONE });
      await openScreen(phone.page, locale === "ar" ? "التقارير" : "Reports", locale === "ar" ? "الشاشات" : "Screens");
      await phone.page.locator("table.report-table").first().waitFor({ timeout: 30_000 });
      await phone.page.locator("svg[role=img]").first().waitFor();
      await expectNoSidewaysScroll(phone.page, `reports on a phone (${locale})`);
      await expectAccessible(phone.page, `reports on a phone (${locale})`);
    }
  }, 120_000);
});
