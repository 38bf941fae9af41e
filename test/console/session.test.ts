import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "../helpers/browser.js";
import {
  consoleUrl,
  DESKTOP,
  expectAccessible,
  expectNoSidewaysScroll,
  openConsole,
  PHONE,
} from "../helpers/console.js";
import { startTestNode, type TestNode } from "../helpers/harness.js";

/**
 * Signing in to the console, what a session may see, and how it ends: through the page, as a
 * person does, in a real headless Chromium against a real node.
 */
let hub: TestNode;
let browser: Browser;
let operatorToken: string;
let operatorId: string;

beforeAll(async () => {
  [hub, browser] = await Promise.all([startTestNode({ hubId: "session-hub" }), launchChromium()]);
  const added = await hub
    .clients(hub.adminToken)
    .operators.addOperator({ name: "Amina Coordinator", role: "operator" });
  operatorToken = added.token;
  operatorId = added.operator?.id ?? "";
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await hub?.cleanup();
});

const SCREENS = ["Find and book", "Requests", "Roster", "Curriculum", "Federation", "Reports"];

describe("signing in", () => {
  it("asks for an 'Access token', refuses a wrong one at the field, and keeps it out of the address", async () => {
    const context = await browser.newContext({ locale: "en-GB", viewport: DESKTOP });
    try {
      const page = await context.newPage();
      await page.goto(consoleUrl(hub));
      const field = page.getByLabel("Access token");
      await field.fill("not-a-real-token");
      await page.getByRole("button", { name: "Sign in" }).click();
      await expect.poll(() => field.getAttribute("aria-invalid"), { timeout: 10_000 }).toBe("true");
      expect(await page.getByText("does not know this access token").count()).toBe(1);
      await expectAccessible(page, "login with an error");

      await field.fill(hub.adminToken);
      await page.getByRole("button", { name: "Sign in" }).click();
      const nav = page.getByRole("navigation", { name: "Screens" });
      await nav.waitFor({ timeout: 10_000 });
      for (const name of SCREENS) {
        await nav.getByRole("link", { name, exact: false }).first().click();
        await page.getByRole("heading", { level: 1, name }).waitFor({ timeout: 10_000 });
        expect(page.url()).not.toContain(hub.adminToken);
      }
      expect(await page.evaluate("JSON.stringify(localStorage)")).not.toContain(hub.adminToken);
      expect(hub.logs.join("\n")).not.toContain(hub.adminToken);
    } finally {
      await context.close();
    }
  });

  it("is accessible and fits a 360 px phone", async () => {
    const { page, context, problems } = await openConsole(browser, hub, hub.adminToken, { viewport: PHONE });
    try {
      await expectAccessible(page, "shell on a phone");
      await expectNoSidewaysScroll(page, "shell on a phone");
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  });
});

describe("languages", () => {
  it("follows the browser's language: Arabic is right to left, with its own strings", async () => {
    const { page, context } = await openConsole(browser, hub, hub.adminToken, { locale: "ar-EG" });
    try {
      expect(await page.locator("html").getAttribute("dir")).toBe("rtl");
      expect(await page.locator("html").getAttribute("lang")).toBe("ar");
      const nav = page.getByRole("navigation", { name: "الشاشات" });
      await nav.getByRole("link", { name: "المدرّبون" }).waitFor();
      await expectAccessible(page, "shell in Arabic");
    } finally {
      await context.close();
    }
  });

  it("lets the person choose, and remembers the choice", async () => {
    const { page, context } = await openConsole(browser, hub, hub.adminToken);
    try {
      await page.getByLabel("Console language", { exact: true }).selectOption("fr");
      await page.getByRole("navigation", { name: "Écrans" }).waitFor();
      expect(await page.locator("html").getAttribute("dir")).toBe("ltr");
      await page.reload();
      await page.getByRole("navigation", { name: "Écrans" }).waitFor({ timeout: 10_000 });
    } finally {
      await context.close();
    }
  });
});

describe("how a session ends", () => {
  it("ends within a second or two when the token is revoked, and says why", async () => {
    const { page, context } = await openConsole(browser, hub, operatorToken);
    try {
      await page.getByText("Live", { exact: true }).waitFor({ timeout: 10_000 });
      await hub.clients(hub.adminToken).operators.revokeOperator({ id: operatorId });
      await page.getByRole("alert").getByText("Your session ended").waitFor({ timeout: 5_000 });
      expect(await page.getByLabel("Access token").count()).toBe(1);
      expect(await page.evaluate("sessionStorage.length")).toBe(0);
    } finally {
      await context.close();
    }
  });

  it("signs out on request, forgetting the token", async () => {
    const { page, context } = await openConsole(browser, hub, hub.adminToken);
    try {
      await page.getByRole("button", { name: "Sign out" }).click();
      await page.getByLabel("Access token").waitFor();
      expect(await page.evaluate("sessionStorage.length")).toBe(0);
    } finally {
      await context.close();
    }
  });
});

describe("what a hostile page cannot do", () => {
  let other: Server;
  let otherOrigin: string;

  beforeAll(async () => {
    // A page of another origin that frames the console (clickjacking).
    other = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "text/html" });
      res.end(`<!doctype html><iframe id="victim" src="${consoleUrl(hub)}"></iframe>`);
    });
    await new Promise<void>((resolve) => other.listen(0, "127.0.0.1", resolve));
    otherOrigin = `http://127.0.0.1:${(other.address() as AddressInfo).port}/`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => other?.close(() => resolve()));
  });

  it("cannot frame the console", async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(otherOrigin);
      const frame = page.frames().find((f) => f !== page.mainFrame());
      await page.waitForLoadState("load");
      expect(await page.frameLocator("#victim").getByLabel("Access token").count()).toBe(0);
      expect(frame?.url() ?? "").not.toBe(consoleUrl(hub));
    } finally {
      await context.close();
    }
  });

  it("cannot call the node from its own origin, even with a token it stole", async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(otherOrigin);
      const outcome = await page.evaluate(
        `fetch(${JSON.stringify(new URL("/concordat.v1.NodeService/GetStatus", consoleUrl(hub)).href)}, {
          method: "POST",
          headers: { "content-type": "application/grpc-web+proto", authorization: "Bearer ${hub.adminToken}" },
          body: new Uint8Array([0, 0, 0, 0, 0]),
        }).then((r) => "read " + r.status, (e) => "blocked: " + e.message)`,
      );
      expect(String(outcome)).toMatch(/^blocked/);
    } finally {
      await context.close();
    }
  });
});
