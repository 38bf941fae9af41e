import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
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
import { makeTrainer, startTestNode, type TestNode } from "../helpers/harness.js";

/**
 * The Roster screens in a real Chromium against one node: the form (the API's field errors at their
 * fields), the trainer page (history, no personal data for a viewer), the file import (all or
 * nothing, with every bad row named by its line, progress and the result), and WCAG 2.2 AA (axe) in
 * English and Arabic, with no sideways scroll on a phone.
 */
let hub: TestNode;
let browser: Browser;
let operatorToken: string;
let operatorId: string;
let viewerToken: string;
let dir: string;
const opened: ConsolePage[] = [];

const SEED = makeTrainer("SEED-1", { displayName: "Seeded Trainer" });
const SEED_EMAIL = SEED.private?.email ?? "";
const SEED_PHONE = SEED.private?.phone ?? "";

async function open(token: string, options: Parameters<typeof openConsole>[3] = {}): Promise<Page> {
  const console = await openConsole(browser, hub, token, options);
  opened.push(console);
  return console.page;
}

async function rosterTotal(): Promise<number> {
  return (await hub.clients(hub.adminToken).trainers.listTrainers({ pageSize: 1, pageToken: "" })).total;
}

/** The text of the description tied to a field (aria-describedby), as a screen reader reads it. */
async function descriptionOf(page: Page, label: string): Promise<string> {
  const field = page.getByLabel(label, { exact: true });
  const ids = (await field.getAttribute("aria-describedby")) ?? "";
  const texts = await Promise.all(
    ids
      .split(" ")
      .filter(Boolean)
      .map(async (id) => (await page.locator(`[id="${id}"]`).textContent()) ?? ""),
  );
  return texts.join(" ");
}

beforeAll(async () => {
  hub = await startTestNode({ hubId: "roster-hub" });
  browser = await launchChromium();
  dir = await mkdtemp(join(tmpdir(), "concordat-roster-"));
  const admin = hub.clients(hub.adminToken);
  const operator = await admin.operators.addOperator({ name: "Olga Operator", role: "operator" });
  operatorToken = operator.token;
  operatorId = operator.operator?.id ?? "";
  viewerToken = (await admin.operators.addOperator({ name: "Victor Viewer", role: "viewer" })).token;
  await admin.trainers.addTrainer({ trainer: SEED });
}, 120_000);

afterAll(async () => {
  for (const c of opened) await c.context.close().catch(() => undefined);
  await browser?.close();
  await hub?.cleanup();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("the roster screens", () => {
  it("adds a trainer through the form; a bad language tag is shown at its field, nothing typed is lost", async () => {
    const page = await open(operatorToken);
    await openScreen(page, "Roster");
    await page.getByRole("link", { name: "Add a trainer" }).click();
    await page.getByRole("heading", { level: 1, name: "Add a trainer" }).waitFor();
    await expectAccessible(page, "empty trainer form");

    await page.getByLabel("Trainer id", { exact: true }).fill("T-NEW");
    await page.getByLabel("Name as shown", { exact: true }).fill("Nadia New");
    await page.getByLabel("Language 1", { exact: true }).fill("not a tag");
    await page.getByLabel("Countries and regions", { exact: true }).fill("KE, UG");
    await page.getByLabel("Email", { exact: true }).fill("nadia@example.org");
    await page.getByRole("button", { name: "Add the trainer" }).click();

    const tag = page.getByLabel("Language 1", { exact: true });
    await expect.poll(() => tag.getAttribute("aria-invalid"), { timeout: 10_000 }).toBe("true");
    expect(await descriptionOf(page, "Language 1")).toContain("is not a valid BCP 47 language tag");
    expect(await page.getByLabel("Name as shown", { exact: true }).getAttribute("aria-invalid")).toBeNull();
    expect(await page.getByLabel("Name as shown", { exact: true }).inputValue()).toBe("Nadia New");
    expect(await page.getByLabel("Email", { exact: true }).inputValue()).toBe("nadia@example.org");
    await expectAccessible(page, "trainer form with the API's errors");

    await tag.fill("fr");
    await page.getByRole("button", { name: "Add the trainer" }).click();
    await page.getByRole("heading", { level: 1, name: "Nadia New" }).waitFor({ timeout: 10_000 });
    const added = await hub.clients(hub.adminToken).trainers.getTrainer({ id: "T-NEW" });
    expect(added.languages.map((l) => l.tag)).toEqual(["fr"]);
    expect(added.regions).toEqual(["KE", "UG"]);
    expect(added.private?.email).toBe("nadia@example.org");

    // Edit: only what changed is sent (the mask), and the page shows who changed it.
    await page.getByRole("link", { name: "Change this trainer" }).click();
    await page.getByRole("heading", { level: 1, name: "Change trainer T-NEW" }).waitFor();
    await page.getByLabel("Name as shown", { exact: true }).fill("Nadia Renamed");
    await page.getByRole("button", { name: "Save the changes" }).click();
    await page.getByRole("heading", { level: 1, name: "Nadia Renamed" }).waitFor({ timeout: 10_000 });
    const history = page.getByRole("table", { name: /to this trainer, newest first/ });
    await expect.poll(() => history.getByRole("row").count(), { timeout: 10_000 }).toBe(3);
    const newest = (await history.getByRole("row").nth(1).textContent()) ?? "";
    expect(newest).toContain(operatorId);
    expect(newest).toContain("changed");
    expect((await history.getByRole("row").nth(2).textContent()) ?? "").toContain("added");
    const after = await hub.clients(hub.adminToken).trainers.getTrainer({ id: "T-NEW" });
    expect(after.updatedBy).toBe(operatorId);
    expect(after.private?.email).toBe("nadia@example.org");
    await expectAccessible(page, "trainer page");
  });

  it("refuses a file with a bad row, naming its line, and imports nothing; then imports a good file with progress", async () => {
    const before = await rosterTotal();
    const header = "id,display_name,languages,regions,email\n";
    const bad = join(dir, "bad.csv");
    await writeFile(
      bad,
      `${header}IMP-1,Ines One,en:C1,KE,ines@example.org\nIMP-2,Ivan Two,fr:B2,UG,\nIMP-3,Iris Three,english,KE,\n`,
    );
    const page = await open(operatorToken);
    await openScreen(page, "Roster");
    await page.getByRole("link", { name: "Import a file" }).click();
    await page.getByRole("heading", { level: 1, name: "Import trainers from a file" }).waitFor();
    await expectAccessible(page, "import screen");

    await page.getByLabel("Trainer file (.csv or .json)").setInputFiles(bad);
    await page.getByRole("button", { name: "Check and import" }).click();
    await page.getByRole("alert").filter({ hasText: "nothing was imported" }).waitFor({ timeout: 15_000 });
    const problems = page.getByRole("table", { name: /problem/ });
    const row = (await problems.getByRole("row").nth(1).textContent()) ?? "";
    expect(row).toContain("4");
    expect(row).toContain("languages");
    expect(await rosterTotal()).toBe(before);
    await expectAccessible(page, "import screen with the refused rows");

    const good = join(dir, "good.csv");
    await writeFile(
      good,
      `${header}IMP-1,Ines One,en:C1,KE,ines@example.org\nIMP-2,Ivan Two,fr:B2,UG,\nIMP-3,Iris Three,ar:C2,KE,\n`,
    );
    // Whether a progress bar was ever on the page during the import, however short it was.
    await page.evaluate(`
      globalThis.seenProgress = { progress: false };
      new MutationObserver(() => {
        if (document.querySelector("progress")) globalThis.seenProgress.progress = true;
      }).observe(document.body, { childList: true, subtree: true });
    `);
    await page.getByLabel("Trainer file (.csv or .json)").setInputFiles(good);
    await page.getByRole("button", { name: "Check and import" }).click();
    await page.getByRole("status").filter({ hasText: "Imported: 3 added, 0 updated." }).waitFor({ timeout: 15_000 });
    expect(await page.evaluate("globalThis.seenProgress.progress")).toBe(true);
    expect(await rosterTotal()).toBe(before + 3);
    await expectAccessible(page, "import screen with the result");
  });

  it("shows a viewer the roster and a trainer's page, with no personal data anywhere", async () => {
    const page = await open(viewerToken);
    await openScreen(page, "Roster");
    await page.getByRole("link", { name: "Seeded Trainer" }).waitFor({ timeout: 10_000 });
    expect(await page.getByRole("link", { name: "Add a trainer" }).count()).toBe(0);
    expect(await page.content()).not.toContain(SEED_EMAIL);
    await page.getByRole("link", { name: "Seeded Trainer" }).click();
    await page.getByRole("heading", { level: 1, name: "Seeded Trainer" }).waitFor();
    await page.getByRole("table", { name: /to this trainer, newest first/ }).waitFor();
    const content = await page.content();
    expect(SEED_EMAIL).not.toBe("");
    expect(content).not.toContain(SEED_EMAIL);
    expect(content).not.toContain(SEED_PHONE);
    expect(await page.getByRole("link", { name: "Change this trainer" }).count()).toBe(0);
    await expectAccessible(page, "trainer page for a viewer");
  });

  it("the operator's page of a trainer shows its personal data", async () => {
    const page = await open(operatorToken, { path: "/roster/SEED-1" });
    await page.getByRole("heading", { level: 1, name: "Seeded Trainer" }).waitFor({ timeout: 10_000 });
    await page.getByText(SEED_EMAIL).waitFor();
    expect(await page.content()).toContain(SEED_PHONE);
  });

  it("is accessible in Arabic, right to left: the list, the form with errors, the import screen, a trainer's page", async () => {
    const page = await open(operatorToken, { locale: "ar" });
    expect(await page.evaluate("document.documentElement.dir")).toBe("rtl");
    await openScreen(page, "المدرّبون", "الشاشات");
    await page.getByRole("table").first().waitFor({ timeout: 10_000 });
    await expectAccessible(page, "roster list (ar)");

    await page.getByRole("link", { name: "إضافة مدرب" }).click();
    await page.getByRole("heading", { level: 1, name: "إضافة مدرب" }).waitFor();
    await page.getByLabel("اللغة 1", { exact: true }).fill("!!");
    await page.getByRole("button", { name: "إضافة المدرب" }).click();
    await expect
      .poll(() => page.getByLabel("اللغة 1", { exact: true }).getAttribute("aria-invalid"), { timeout: 10_000 })
      .toBe("true");
    await expectAccessible(page, "trainer form with errors (ar)");

    await page.goto(new URL("/roster/import", page.url()).href);
    await page.getByRole("heading", { level: 1, name: "استيراد مدربين من ملف" }).waitFor({ timeout: 10_000 });
    await expectAccessible(page, "import screen (ar)");

    await page.goto(new URL("/roster/SEED-1", page.url()).href);
    await page.getByRole("heading", { level: 1, name: "Seeded Trainer" }).waitFor({ timeout: 10_000 });
    await page.getByRole("table").last().waitFor();
    await expectAccessible(page, "trainer page (ar)");
  });

  it("fits a phone: no sideways scroll on the list or a trainer's page", async () => {
    const page = await open(operatorToken, { viewport: PHONE });
    await openScreen(page, "Roster");
    await page.getByRole("link", { name: "Seeded Trainer" }).waitFor({ timeout: 10_000 });
    await expectNoSidewaysScroll(page, "roster list on a phone");
    await expectAccessible(page, "roster list on a phone");
    await page.getByRole("link", { name: "Seeded Trainer" }).click();
    await page.getByRole("heading", { level: 1, name: "Seeded Trainer" }).waitFor();
    await expectNoSidewaysScroll(page, "trainer page on a phone");
  });
});
