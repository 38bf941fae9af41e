/**
 * The web console's first visit over a slow link: a real headless Chromium, its network throttled
 * by the DevTools protocol to 1 Mbit/s each way with 100 ms of round trip, opens a real node's
 * console in a fresh profile (nothing cached) and is timed until the sign-in form can be used; then
 * signing in until the first screen answers, and a second visit (cached). The baseline, in the same
 * run and the same browser, is the same first visit with compression refused (Accept-Encoding:
 * identity): what the brotli copies the build writes are worth. Target: the first visit under 3 s.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { initDataDir } from "../../node/setup.js";
import { launchChromium } from "../lib/browser.js";
import { DEFAULT_CONFIG, LOOPBACK_ENV, ROOT, startNode } from "../lib/nodes.js";
import { median, round } from "../lib/stats.js";
import { figure, type Benchmark, type BenchmarkContext, type BenchmarkOutcome } from "../lib/types.js";

/** 1 Mbit/s in bytes per second, and the round trip added to every request. */
const LINK = { bytesPerSecond: 125_000, latencyMs: 100 } as const;
const TARGET_MS = 3_000;

interface Visit {
  /** From navigation to the sign-in form being usable. */
  firstMs: number;
  /** Bytes the browser received (headers and bodies, as sent: compressed when the server compressed). */
  bytes: number;
  /** From pressing Enter with a token to the first screen's button being usable. */
  signInMs: number;
  /** A second visit in the same profile (cached assets; the session kept in the tab). */
  revisitMs: number;
}

async function visit(browser: Browser, url: string, token: string, compressed: boolean): Promise<Visit> {
  const context = await browser.newContext({ locale: "en-GB" });
  try {
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send("Network.enable");
    await cdp.send("Network.setCacheDisabled", { cacheDisabled: false });
    await cdp.send("Network.emulateNetworkConditions", {
      offline: false,
      latency: LINK.latencyMs,
      downloadThroughput: LINK.bytesPerSecond,
      uploadThroughput: LINK.bytesPerSecond,
    });
    if (!compressed) await cdp.send("Network.setExtraHTTPHeaders", { headers: { "Accept-Encoding": "identity" } });
    let bytes = 0;
    cdp.on("Network.loadingFinished", (event: { encodedDataLength: number }) => {
      bytes += event.encodedDataLength;
    });
    const started = performance.now();
    await page.goto(url, { waitUntil: "commit", timeout: 60_000 });
    await page.locator('input[type="password"]').waitFor({ timeout: 60_000 });
    const firstMs = performance.now() - started;
    const firstBytes = bytes;

    const signing = performance.now();
    await page.locator('input[type="password"]').fill(token);
    await page.locator('input[type="password"]').press("Enter");
    await page.getByRole("button", { name: "Find trainers" }).waitFor({ timeout: 60_000 });
    const signInMs = performance.now() - signing;

    const again = performance.now();
    await page.reload({ waitUntil: "commit", timeout: 60_000 });
    await page.getByRole("button", { name: "Find trainers" }).waitFor({ timeout: 60_000 });
    const revisitMs = performance.now() - again;
    return { firstMs, bytes: firstBytes, signInMs, revisitMs };
  } finally {
    await context.close();
  }
}

export const consoleFirstLoad: Benchmark = {
  name: "console.first-load",
  title: "Web console: the first visit over a 1 Mbit/s link, in a real browser",
  async run(context: BenchmarkContext): Promise<BenchmarkOutcome> {
    const runs = context.quick ? 2 : 5;
    const dataDir = await context.tempDir("concordat-bench-console-");
    await initDataDir({
      dataDir,
      hubId: "bench-hub",
      name: "Bench hub",
      secretariat: false,
      baseConfig: await readFile(DEFAULT_CONFIG, "utf8"),
      baseConfigSource: DEFAULT_CONFIG,
    });
    const node = await startNode(dataDir, {
      env: { ...LOOPBACK_ENV, CONCORDAT_NETWORK_LISTEN: "", CONCORDAT_LOG_LEVEL: "info" },
    });
    context.cleanup.add("stop the console's node", async () => {
      await node.stop(15_000);
    });
    const runtime = JSON.parse(await readFile(join(dataDir, "node.json"), "utf8")) as { console?: string };
    if (!runtime.console) throw new Error("the node serves no web console (DATA/node.json names none)");
    const token = (await readFile(join(dataDir, "admin.token"), "utf8")).trim();
    const browser = await launchChromium();
    context.cleanup.add("close the browser", () => browser.close());

    const compressed: Visit[] = [];
    const plain: Visit[] = [];
    for (let i = 0; i < runs; i += 1) {
      // Alternate, so that neither always runs on a warmer machine.
      const order = i % 2 === 0 ? [true, false] : [false, true];
      for (const compress of order) {
        const result = await visit(browser, runtime.console, token, compress);
        (compress ? compressed : plain).push(result);
        context.log(
          `  ${compress ? "brotli" : "uncompressed"}: first visit ${round(result.firstMs, 0)} ms, ${result.bytes} bytes`,
        );
      }
    }
    const med = (visits: Visit[], key: keyof Visit) => round(median(visits.map((v) => v[key])), 0);
    const worst = (visits: Visit[], key: keyof Visit) => round(Math.max(...visits.map((v) => v[key])), 0);
    const conditions = {
      link: "1 Mbit/s each way, 100 ms round trip (Chromium's network emulation)",
      runs,
      cache: "empty profile",
    };
    const budget = JSON.parse(await readFile(join(ROOT, "dist", "console-budget.json"), "utf8").catch(() => "{}")) as {
      firstLoadBytes?: number;
    };
    return {
      conditions: { ...conditions, mode: context.quick ? "quick" : "full" },
      figures: [
        figure({
          name: "first visit to a usable sign-in form, worst",
          unit: "ms",
          ours: worst(compressed, "firstMs"),
          baseline: { name: "the same, compression refused", value: worst(plain, "firstMs") },
          targets: [{ on: "ours", op: "<=", value: TARGET_MS }],
          conditions,
        }),
        figure({
          name: "first visit to a usable sign-in form, median",
          unit: "ms",
          ours: med(compressed, "firstMs"),
          baseline: { name: "the same, compression refused", value: med(plain, "firstMs") },
          conditions,
        }),
        figure({
          name: "bytes received on a first visit",
          unit: "bytes",
          ours: med(compressed, "bytes"),
          baseline: { name: "the same, compression refused", value: med(plain, "bytes") },
          conditions,
        }),
        figure({
          name: "signing in to the first screen (Find and book) usable, median",
          unit: "ms",
          ours: med(compressed, "signInMs"),
          conditions,
        }),
        figure({
          name: "second visit (assets cached), median",
          unit: "ms",
          ours: med(compressed, "revisitMs"),
          baseline: { name: "first visit", value: med(compressed, "firstMs") },
          conditions,
        }),
      ],
      details: { compressed, uncompressed: plain, ...(budget.firstLoadBytes ? { budget } : {}) },
      notes: [
        "Chromium's network emulation applies the link's throughput and round trip to every request; the node runs on 127.0.0.1. The page is the built dist/console (npm run build), served by the node.",
        "The build's own budget (scripts/build-console.mjs) counts the brotli bytes of the page, bundle, stylesheet and largest catalogue, and fails past 250 kB.",
      ],
    };
  },
};
