import { access } from "node:fs/promises";
import { chromium, type Browser } from "playwright-core";

/**
 * Headless Chromium from the system (Debian's `chromium` package, which `.ci/run` installs where it
 * is missing), driven by playwright-core: no browser download. `CHROMIUM_PATH` overrides the path.
 * Background networking is off: the page under test must need no network at all.
 */
export async function launchChromium(): Promise<Browser> {
  const candidates = [process.env.CHROMIUM_PATH, "/usr/bin/chromium", "/usr/bin/chromium-browser"].filter((p): p is string => !!p);
  let executablePath: string | undefined;
  for (const p of candidates) {
    if (await access(p).then(() => true, () => false)) {
      executablePath = p;
      break;
    }
  }
  if (!executablePath) throw new Error(`no Chromium found (tried ${candidates.join(", ")}): install Debian's package (apt-get install chromium) or set CHROMIUM_PATH`);
  return chromium.launch({
    executablePath,
    headless: true,
    timeout: 30_000,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}
