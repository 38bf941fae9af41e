import { readFileSync } from "node:fs";
import type { Browser, Page } from "playwright-core";
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
import {
  draft,
  type FederationNode,
  type StartedFederation,
  startFederationWith,
  waitForForeignTrainer,
  waitUntil,
} from "../helpers/federation.js";

/**
 * "Find and book" and "Requests" in a real Chromium, on real nodes: a secretariat and two hubs,
 * hub b answering requests for its trainers by hand (policy manual). A coordinator of hub a finds
 * b's trainer and requests a booking; an operator of b, in a browser of its own, sees the request
 * and how many await a decision, and confirms it; a's page shows the answer without reloading.
 */

const DAY_MS = 86_400_000;
/** A plain date `days` from today (UTC, the API's calendar). */
const dayFromNow = (days: number) => new Date(Date.now() + days * DAY_MS).toISOString().slice(0, 10);
const catalogue = (lang: string, file: string) =>
  JSON.parse(readFileSync(new URL(`../../web/locales/${lang}/${file}.json`, import.meta.url), "utf8")) as Record<
    string,
    string
  >;
/** The day as the console shows it to an en-GB browser: English words, the browser's region's order. */
const shown = (day: string) =>
  new Intl.DateTimeFormat("en-GB", { dateStyle: "medium", timeZone: "UTC" }).format(new Date(`${day}T12:00:00Z`));

let fed: StartedFederation;
let browser: Browser;
const a = () => fed.byName("a");
const b = () => fed.byName("b");
const tokens = { aOperator: "", bOperator: "", bViewer: "" };
const first = dayFromNow(40);
const last = dayFromNow(44);
const opened: ConsolePage[] = [];

async function open(node: FederationNode, token: string, options: Parameters<typeof openConsole>[3] = {}) {
  const page = await openConsole(browser, node.node, token, options);
  opened.push(page);
  return page;
}

/** Opens "Requests" by its link, whose name may go on with the count awaiting a decision. */
async function openRequests(page: Page, name = "Requests", navigation = "Screens") {
  await page.getByRole("navigation", { name: navigation }).getByRole("link", { name, exact: false }).click();
  await page.getByRole("heading", { level: 1, name }).waitFor({ timeout: 10_000 });
}

/** A request of hub a for b's trainer B-1, made through a's own API (the test's other requests). */
async function requestAtA(from: string, to: string, course: string): Promise<string> {
  const made = await a().node.running.bookings.request("op", {
    id: "",
    trainerHub: "hub-b",
    trainerId: "B-1",
    start: `${from}T00:00:00.000Z`,
    end: `${to}T00:00:00.000Z`,
    competency: "",
    course,
    note: "",
    expiresAt: "",
  });
  await waitUntil(
    `b to receive ${made.booking.key}`,
    () => {
      try {
        return b().node.running.bookings.show(made.booking.key).direction !== "outgoing";
      } catch {
        return false;
      }
    },
    20_000,
  );
  return made.booking.key;
}

beforeAll(async () => {
  [fed, browser] = await Promise.all([
    startFederationWith(
      ["s", "a", "b"],
      [
        ["a", "s"],
        ["b", "s"],
        ["a", "b"],
      ],
      { env: { b: { CONCORDAT_BOOKINGS_POLICY: "manual" } } },
    ),
    launchChromium(),
  ]);
  const window = [{ start: `${dayFromNow(0)}T00:00:00Z`, end: `${dayFromNow(200)}T00:00:00Z` }];
  await b().node.running.roster.add({ ...draft("B-1", "Trainer B-1"), availability: window }, "op");
  const add = async (n: FederationNode, role: "operator" | "viewer") =>
    (await n.node.clients(n.node.adminToken).operators.addOperator({ name: `a ${role}`, role })).token;
  tokens.aOperator = await add(a(), "operator");
  tokens.bOperator = await add(b(), "operator");
  tokens.bViewer = await add(b(), "viewer");
  // a must know b's trainer from b's verified checkpoint before it can find or request it.
  await waitForForeignTrainer(a(), b(), "B-1");
  await waitUntil("a's index to hold hub-b/B-1", () => a().node.running.availability.indexed("hub-b", "B-1"), 30_000);
}, 120_000);

afterAll(async () => {
  await Promise.all(opened.map((p) => p.context.close().catch(() => undefined)));
  await browser?.close();
  await fed?.stop();
});

describe("find and book across hubs", () => {
  let pageA: ConsolePage;
  let pageB: ConsolePage;
  let key = "";

  it("a coordinator of hub a finds b's trainer with 'Find trainers' and requests a booking", async () => {
    pageA = await open(a(), tokens.aOperator);
    const page = pageA.page;
    await openScreen(page, "Find and book");
    await page.getByLabel("First day", { exact: true }).fill(first);
    await page.getByLabel("Last day", { exact: true }).fill(last);
    await page.getByLabel("Hub", { exact: true }).selectOption("hub-b");
    await page.getByRole("button", { name: "Find trainers", exact: true }).click();

    const results = page.getByRole("table", { name: `Trainers free ${shown(first)} – ${shown(last)}` });
    await results.waitFor({ timeout: 15_000 });
    const row = results.getByRole("row", { name: /Trainer B-1/ });
    await expect(row.getByRole("cell").nth(1).textContent()).resolves.toBe("hub-b");
    // Every hub the answer drew on, with how recent its data is.
    const hubs = page.getByRole("table", { name: "Hubs this answer drew on" });
    await expect(hubs.getByRole("row", { name: /hub-b/ }).textContent()).resolves.toMatch(/Up to date|Stale/);

    await row.getByRole("button", { name: "Request booking: Trainer B-1" }).click();
    const form = page.getByRole("region", { name: "Request a booking of Trainer B-1 (hub-b)" });
    await form.getByLabel("Module or purpose", { exact: true }).fill("Pilot course");
    await form.getByRole("button", { name: "Send request" }).click();

    const mine = page.getByRole("table", { name: "Requests made from this screen" });
    await mine.waitFor({ timeout: 10_000 });
    await expect(mine.getByRole("row", { name: /hub-b\/B-1/ }).textContent()).resolves.toContain(
      "Waiting for an answer",
    );
    const outgoing = a().node.running.bookings.list({ direction: "outgoing" });
    expect(outgoing).toHaveLength(1);
    key = outgoing[0]?.key ?? "";
    expect(outgoing[0]).toMatchObject({ request: { course: "Pilot course", trainer: { hub: "hub-b", id: "B-1" } } });
    expect(pageA.problems).toEqual([]);
  });

  it("an operator of hub b, in its own browser, sees the request with the count awaiting a decision and confirms it", async () => {
    await waitUntil(
      `b to receive ${key}`,
      () => {
        try {
          return b().node.running.bookings.show(key).state === "pending";
        } catch {
          return false;
        }
      },
      20_000,
    );
    pageB = await open(b(), tokens.bOperator);
    const page = pageB.page;
    // The navigation says how many wait, and the link's name still starts with "Requests".
    const link = page
      .getByRole("navigation", { name: "Screens" })
      .getByRole("link", { name: "Requests", exact: false });
    await expect.poll(() => link.evaluate((el) => el.textContent), { timeout: 10_000 }).toMatch(/^Requests.*1/);
    await expect(page.getByRole("link", { name: "Requests, 1 awaiting decision", exact: true }).count()).resolves.toBe(
      1,
    );
    await openRequests(page);
    // The screen reads its bookings after it opens: wait for them (bounded), then count.
    const incoming = page.getByRole("table", { name: "1 request for this hub's trainers" });
    await incoming.waitFor({ timeout: 15_000 });
    await expect(page.getByText("This hub's policy is manual", { exact: false }).count()).resolves.toBe(1);
    await expect(
      page.getByRole("status").filter({ hasText: "1 request is awaiting a decision." }).count(),
    ).resolves.toBe(1);
    const row = incoming.getByRole("row", { name: /hub-a/ });
    await expect(row.textContent()).resolves.toContain("Pilot course");
    await row.getByRole("button", { name: `Confirm ${key}` }).click();
    await page
      .getByRole("status")
      .filter({ hasText: `Request ${key} confirmed.` })
      .waitFor({ timeout: 10_000 });
    await expect
      .poll(() => incoming.getByRole("row", { name: /hub-a/ }).textContent(), { timeout: 10_000 })
      .toContain("Confirmed");
    expect(b().node.running.bookings.show(key).state).toBe("confirmed");
    expect(pageB.problems).toEqual([]);
  });

  it("a's page shows the request confirmed without reloading (the live stream's booking event)", async () => {
    const row = pageA.page.getByRole("table", { name: "Requests made from this screen" }).getByRole("row", {
      name: /hub-b\/B-1/,
    });
    // The answer crosses from b to a in b's next checkpoint; then a's stream tells the page (bounded waits both).
    await waitUntil(
      `a to read b's answer to ${key}`,
      () => a().node.running.bookings.show(key).state === "confirmed",
      30_000,
    );
    await expect.poll(() => row.textContent(), { timeout: 15_000, interval: 250 }).toContain("Confirmed");
  });

  it("declining needs a reason, shown at its field; a viewer sees the requests but no confirm or decline", async () => {
    const toDecline = await requestAtA(dayFromNow(60), dayFromNow(62), "Declined course");
    const waiting = await requestAtA(dayFromNow(70), dayFromNow(72), "Waiting course");
    const page = pageB.page;
    // Read again by opening the screen anew (the requests arrived after the screen was read).
    await openScreen(page, "Find and book");
    await openRequests(page);
    const incoming = page.getByRole("table", { name: "3 requests for this hub's trainers" });
    await incoming.waitFor({ timeout: 10_000 });
    await incoming.getByRole("button", { name: `Decline ${toDecline}` }).click();
    const panel = page.getByRole("region", { name: `Decline request ${toDecline}` });
    await panel.getByRole("button", { name: "Decline request" }).click();
    const reason = panel.getByLabel("Reason", { exact: true });
    await expect(reason.getAttribute("aria-invalid")).resolves.toBe("true");
    await expect(panel.locator(".field.invalid .field-error").textContent()).resolves.toBe(
      "Give the reason for declining: the requesting hub sees it.",
    );
    // The error is tied to the field: a screen reader hears it with the field.
    const ids = ((await reason.getAttribute("aria-describedby")) ?? "").split(" ").filter(Boolean);
    const description = (await Promise.all(ids.map((id) => page.locator(`[id="${id}"]`).textContent()))).join(" ");
    expect(description).toContain("Give the reason for declining");
    expect(b().node.running.bookings.show(toDecline).state).toBe("pending");
    await reason.fill("The trainer is on leave that week");
    await panel.getByRole("button", { name: "Decline request" }).click();
    await page
      .getByRole("status")
      .filter({ hasText: `Request ${toDecline} declined.` })
      .waitFor({ timeout: 10_000 });
    expect(b().node.running.bookings.show(toDecline)).toMatchObject({
      state: "declined",
      engagement: { reason: "declined-by-operator", detail: "The trainer is on leave that week" },
    });

    const viewer = await open(b(), tokens.bViewer, { path: "/requests" });
    await viewer.page.getByRole("heading", { level: 1, name: "Requests" }).waitFor({ timeout: 10_000 });
    const seen = viewer.page.getByRole("table", { name: "3 requests for this hub's trainers" });
    await seen.waitFor({ timeout: 10_000 });
    await expect(seen.getByRole("row", { name: /hub-a/ }).count()).resolves.toBe(3);
    await expect(seen.getByRole("row").filter({ hasText: "Waiting course" }).textContent()).resolves.toContain(
      "Waiting for an answer",
    );
    expect(b().node.running.bookings.show(waiting).state).toBe("pending");
    await expect(viewer.page.getByRole("button", { name: /^(Confirm|Decline)/ }).count()).resolves.toBe(0);
    expect(viewer.problems).toEqual([]);
  });

  it("both screens pass axe (WCAG 2.2 AA) in English and in Arabic (right to left), and fit a phone without sideways scroll", async () => {
    for (const lang of ["en", "ar"] as const) {
      const nav = catalogue(lang, "nav");
      const find = catalogue(lang, "find");
      for (const viewport of [undefined, PHONE]) {
        const where = `${lang}${viewport ? " phone" : ""}`;
        const { page, problems } = await open(a(), tokens.aOperator, {
          locale: lang === "ar" ? "ar" : "en-GB",
          ...(viewport ? { viewport } : {}),
        });
        await expect(page.evaluate("document.documentElement.dir")).resolves.toBe(lang === "ar" ? "rtl" : "ltr");
        await openScreen(page, nav.find as string, nav.label);
        await page.getByLabel(find.from as string, { exact: true }).fill(first);
        await page.getByLabel(find.to as string, { exact: true }).fill(last);
        await page.getByRole("button", { name: find.submit as string, exact: true }).click();
        await page.getByRole("table").first().waitFor({ timeout: 15_000 });
        await expectAccessible(page, `find (${where})`);
        await expectNoSidewaysScroll(page, `find (${where})`);
        await openRequests(page, nav.requests as string, nav.label);
        await page.getByRole("table").first().waitFor({ timeout: 10_000 });
        await expectAccessible(page, `requests at a (${where})`);
        await expectNoSidewaysScroll(page, `requests at a (${where})`);
        expect(problems).toEqual([]);

        // b's side: requests for its trainers with the decision buttons, and the count in the navigation.
        const other = await open(b(), tokens.bOperator, {
          locale: lang === "ar" ? "ar" : "en-GB",
          ...(viewport ? { viewport } : {}),
          path: "/requests",
        });
        await other.page.getByRole("table").first().waitFor({ timeout: 10_000 });
        await expectAccessible(other.page, `requests at b (${where})`);
        await expectNoSidewaysScroll(other.page, `requests at b (${where})`);
        expect(other.problems).toEqual([]);
      }
    }
  }, 120_000);
});
