import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
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

/**
 * The Plans screen in a real Chromium, on the secretariat of a federation where hubs a and b signed
 * plans for the year that overlap in Kenya and leave a competency uncovered, signed in as a viewer:
 * this hub's plan (none), the federation's plan, plan beside actual; axe in English and Arabic, a phone.
 */
const Y = new Date().getFullYear();

describe("the Plans screen", () => {
  let fed: StartedFederation;
  let browser: Browser;
  let viewerToken: string;
  const open: ConsolePage[] = [];
  const s = (): FederationNode => fed.byName("s");
  const a = (): FederationNode => fed.byName("a");
  const b = (): FederationNode => fed.byName("b");

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
        ["crim-1", "Competency"],
      ],
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
    for (const [hub, quarter] of [
      [a(), 1],
      [b(), 3],
    ] as const) {
      await adoptRelease(hub);
      const plans = hub.node.running.plans;
      await plans.set("op", Y, {
        lines: {
          deliveries: [{ module: "mod-hr", quarter, country: "KE", language: "en", count: 2 }],
          support: [{ kind: "translation", amount: 1500, currency: "EUR", note: "Handouts" }],
        },
      });
      await plans.sign("op", Y);
    }
    await waitUntil(
      "s to verify both signed plans",
      async () => (await s().node.running.plans.federation(Y)).plans.length === 2,
      20_000,
    );
    viewerToken = (
      await s().node.clients(s().node.adminToken).operators.addOperator({ name: "a donor", role: "viewer" })
    ).token;
    browser = await launchChromium();
  }, 180_000);

  afterAll(async () => {
    for (const c of open) await c.context.close().catch(() => undefined);
    await browser?.close();
    await fed?.stop();
  });

  async function plansPage(options: { locale?: string; viewport?: { width: number; height: number } } = {}) {
    const consolePage = await openConsole(browser, s().node, viewerToken, options);
    open.push(consolePage);
    if (options.locale === "ar") await openScreen(consolePage.page, "الخطط", "الشاشات");
    else await openScreen(consolePage.page, "Plans");
    return consolePage;
  }

  it("shows the federation's overlaps, gaps, support and plan beside actual, accessibly", async () => {
    const { page, problems } = await plansPage();
    await page.getByText(`This hub has no plan for ${Y}.`).waitFor({ timeout: 30_000 });
    const overlaps = page.getByRole("table", { name: "Overlaps: the same module for the same country" });
    await overlaps.waitFor();
    expect(await overlaps.locator("tbody tr").allTextContents()).toEqual(["mod-hrKEhub-a (2: Q1); hub-b (2: Q3)"]);
    expect(await page.getByRole("list", { name: "Core competencies no plan covers" }).textContent()).toBe(
      "CRIM-1 (crim-1)",
    );
    const support = page.getByRole("table", { name: "Support requested, by kind and currency" });
    expect(await support.locator("tbody tr").allTextContents()).toEqual(["translation€3,000.00hub-a, hub-b"]);
    // Plan beside actual is loaded on its own: wait for its table before counting its rows.
    const actual = page.getByRole("table", { name: "Per hub, module and quarter" });
    await actual.locator("tbody tr").first().waitFor();
    expect(await actual.locator("tbody tr").count()).toBe(2);
    await expectAccessible(page, "Plans (en)");
    expect(problems).toEqual([]);
  });

  it("is accessible in Arabic, right to left, and fits a phone", async () => {
    const { page } = await plansPage({ locale: "ar", viewport: PHONE });
    await page.getByRole("table", { name: "التداخلات: الوحدة نفسها للبلد نفسه" }).waitFor({ timeout: 30_000 });
    expect(await page.evaluate("document.documentElement.dir")).toBe("rtl");
    await expectAccessible(page, "Plans (ar, phone)");
    await expectNoSidewaysScroll(page, "Plans (ar, phone)");
  });
});
