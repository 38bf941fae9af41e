import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import type { Browser, BrowserContext, Page, Request } from "playwright-core";
import { expect, onTestFailed } from "vitest";
import type { TestNode } from "./harness.js";

/** Screen sizes the console is checked at: a 360 px wide phone and a desktop. */
export const PHONE = { width: 360, height: 740 } as const;
export const DESKTOP = { width: 1280, height: 800 } as const;

export function consoleUrl(node: TestNode): string {
  const url = node.running.console?.url;
  if (!url) throw new Error(`node ${node.running.config.hub.id} serves no web console`);
  return url;
}

export interface ConsolePage {
  page: Page;
  context: BrowserContext;
  /** Console errors, uncaught exceptions and Content-Security-Policy violations the page reported. */
  problems: string[];
}

/**
 * A fresh browser context (its own storage: one person) on a node's console, signed in with
 * `token` through the login form as a person would. `locale` sets the browser's language
 * (navigator.languages), which the console follows.
 */
export async function openConsole(
  browser: Browser,
  node: TestNode,
  token: string,
  options: { locale?: string; viewport?: { width: number; height: number }; path?: string } = {},
): Promise<ConsolePage> {
  const context = await browser.newContext({
    locale: options.locale ?? "en-GB",
    viewport: options.viewport ?? DESKTOP,
    acceptDownloads: true,
  });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(message.text());
  });
  page.on("pageerror", (error) => problems.push(String(error)));
  recordCalls(page, problems);
  await page.goto(new URL(options.path ?? "/", consoleUrl(node)).href);
  await signIn(page, token);
  return { page, context, problems };
}

/**
 * Keeps the page's last API calls (method, time taken, HTTP and gRPC status, or why it failed) and
 * prints them, with the page's errors, when the test fails: a screen that did not show what the test waited for says what
 * it was waiting on.
 */
function recordCalls(page: Page, problems: readonly string[]): void {
  const started = Date.now();
  const calls: string[] = [];
  const keep = (line: string) => {
    calls.push(`${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s ${line}`);
    if (calls.length > 60) calls.shift();
  };
  const method = (url: string) => new URL(url).pathname.split("/").slice(-2).join("/");
  const sent = new Map<Request, number>();
  page.on("request", (request) => {
    if (request.method() === "POST") sent.set(request, Date.now());
  });
  page.on("requestfinished", (request) => {
    const at = sent.get(request);
    if (at === undefined) return;
    sent.delete(request);
    const took = Date.now() - at;
    request
      .response()
      .then(async (response) => {
        // gRPC-Web sends a call's status in its headers, or in a trailer frame at the end of the body.
        const status = response?.headers()["grpc-status"] ?? trailerStatus(await response?.body());
        keep(`${method(request.url())} ${took} ms HTTP ${response?.status()}${status ? ` grpc-status ${status}` : ""}`);
      })
      // The page closed before its response could be read: the call had finished all the same.
      .catch(() => keep(`${method(request.url())} ${took} ms`));
  });
  // A response whose body the page then stops reading is reported as a failed request: say that it
  // was answered (connect-web aborts a call's fetch once it has read the reply it needs).
  const answered = new Map<Request, string>();
  page.on("response", (response) => {
    const grpc = response.headers()["grpc-status"];
    answered.set(response.request(), `HTTP ${response.status()}${grpc ? ` grpc-status ${grpc}` : ""}`);
  });
  page.on("requestfailed", (request) => {
    const at = sent.get(request);
    if (at === undefined) return;
    sent.delete(request);
    const answer = answered.get(request);
    keep(
      `${method(request.url())} ${Date.now() - at} ms ${answer ? `${answer}, then closed by the page` : `failed: ${request.failure()?.errorText}`}`,
    );
  });
  onTestFailed(async () => {
    const open = [...sent].map(([request, at]) => `${method(request.url())} open for ${Date.now() - at} ms`);
    process.stderr.write(`The page's last API calls:\n${[...calls, ...open].join("\n")}\n`);
    if (problems.length > 0) process.stderr.write(`The page's errors:\n${problems.join("\n")}\n`);
    // Which screen it shows, and the start of what it says (a screen still loading says so).
    const shown = await page
      .evaluate(
        'location.pathname + " [" + document.documentElement.lang + "] " + (document.querySelector("main")?.textContent ?? "(no main)").replace(/\\s+/g, " ").trim().slice(0, 400)',
      )
      .catch((error: unknown) => `(unreadable: ${String(error)})`);
    process.stderr.write(`The page shows: ${shown}\n`);
  });
}

/** The status in a gRPC-Web body's trailer frame (flag 0x80: "grpc-status: 3\r\ngrpc-message: …"), if any. */
function trailerStatus(body: Buffer | undefined): string | undefined {
  let at = 0;
  while (body && at + 5 <= body.length) {
    const length = body.readUInt32BE(at + 1);
    if ((body[at] ?? 0) & 0x80) {
      const fields = new Map(
        body
          .subarray(at + 5, at + 5 + length)
          .toString("utf8")
          .split("\r\n")
          .map((line) => [
            line.slice(0, line.indexOf(":")).trim().toLowerCase(),
            line.slice(line.indexOf(":") + 1).trim(),
          ]),
      );
      const code = fields.get("grpc-status");
      const message = fields.get("grpc-message");
      return code === undefined ? undefined : `${code}${message ? ` (${decodeURIComponent(message)})` : ""}`;
    }
    at += 5 + length;
  }
  return undefined;
}

/** Fills the login form (by its label, in any language the test set: the field is the only password input). */
export async function signIn(page: Page, token: string): Promise<void> {
  const field = page.locator('input[type="password"]');
  await field.fill(token);
  await field.press("Enter");
  await page.getByRole("navigation").first().waitFor({ timeout: 15_000 });
}

/** Opens a screen by its name in the navigation landmark, as a person or a script by role would. */
export async function openScreen(page: Page, name: string, navigation = "Screens"): Promise<void> {
  await page.getByRole("navigation", { name: navigation }).getByRole("link", { name, exact: true }).click();
  await page.getByRole("heading", { level: 1 }).first().waitFor();
}

let axeSource: Promise<string> | undefined;

/** The WCAG rule sets checked: 2.0, 2.1 and 2.2 at levels A and AA. */
export const WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"] as const;

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  targets: string[];
}

/**
 * axe-core's WCAG 2.2 A and AA rules over the page as it is now. The script is evaluated through
 * the browser's debugging protocol, not injected as a script tag: the console's own CSP forbids
 * inline scripts, and the test must not loosen it.
 */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  axeSource ??= readFile(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
  const source = await axeSource;
  if (!(await page.evaluate(() => "axe" in globalThis))) await page.evaluate(source);
  const violations = (await page.evaluate(
    `axe.run(document, { runOnly: { type: "tag", values: ${JSON.stringify(WCAG_TAGS)} } }).then((r) => r.violations)`,
  )) as Array<{ id: string; impact: string | null; help: string; nodes: Array<{ target: unknown[] }> }>;
  return violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    targets: v.nodes.map((n) => n.target.map(String).join(" ")),
  }));
}

/** Fails naming every axe violation on the page, with where it is. */
export async function expectAccessible(page: Page, where: string): Promise<void> {
  const violations = await axeViolations(page);
  expect(
    violations.map((v) => `${where}: ${v.id} (${v.impact}) ${v.help} at ${v.targets.slice(0, 3).join(", ")}`),
  ).toEqual([]);
}

/** Fails if the page scrolls sideways (content wider than the viewport, as on a 360 px phone). */
export async function expectNoSidewaysScroll(page: Page, where: string): Promise<void> {
  const overflow = (await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")) as number;
  expect(overflow, `${where} is ${overflow}px wider than the screen`).toBeLessThanOrEqual(0);
}
