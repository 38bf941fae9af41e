import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { bundledChromium, launchChromium } from "../helpers/browser.js";

// `npm test` must pass on a machine with npm and nothing else: the browser tests fall back to the
// Chromium inside the @sparticuz/chromium package. This runs that fallback even where the system
// has a Chromium, so a broken fallback fails here and not only on a bare machine.
describe("the Chromium that comes from npm", () => {
  it("is unpacked with its own NSS libraries, owes the system no library, and renders a page", async () => {
    const binary = await bundledChromium();
    expect(binary.source).toBe("bundled");
    const { stdout } = await promisify(execFile)("ldd", [binary.executablePath], {
      env: { ...process.env, ...binary.env },
    });
    const missing = stdout.split("\n").filter((line) => line.includes("not found"));
    expect(missing, "libraries the bundled Chromium cannot find").toEqual([]);
    const nss = stdout.split("\n").find((line) => line.includes("libnss3.so"));
    expect(nss, "libnss3 comes from the package's own archive").toContain(
      binary.env?.LD_LIBRARY_PATH ?? "(no library path)",
    );

    const browser = await launchChromium(binary);
    try {
      const page = await browser.newPage();
      await page.setContent(`<main><p id="figure" style="width: 40%">37 of 40</p></main>`);
      expect(await page.textContent("#figure")).toBe("37 of 40");
      const width = await page.$eval("#figure", (el) => el.getBoundingClientRect().width);
      const whole = await page.$eval("main", (el) => el.getBoundingClientRect().width);
      expect(width / whole).toBeCloseTo(0.4, 2);
    } finally {
      await browser.close();
    }
  }, 120_000);
});
