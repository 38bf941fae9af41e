/**
 * The one way to a headless Chromium, for the tests (test/helpers/browser.ts re-exports it) and for
 * scripts run from dist/bench/ (the console screenshots): found, unpacked if need be, and launched.
 */
import { execFile } from "node:child_process";
import { createReadStream, createWriteStream } from "node:fs";
import { access, chmod, mkdir, readFile, rename, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pipeline } from "node:stream/promises";
import { promisify } from "node:util";
import { createBrotliDecompress } from "node:zlib";
import { chromium, type Browser } from "playwright-core";

/** Where a headless Chromium comes from: the system's package, or the one inside an npm package. */
export interface ChromiumBinary {
  executablePath: string;
  source: "system" | "bundled";
  /** Environment for the browser process (the bundled binary's own NSS libraries on the library path). */
  env?: Record<string, string>;
}

const SYSTEM_PATHS = ["/usr/bin/chromium", "/usr/bin/chromium-browser"];

/**
 * Chooses the browser the tests drive: `CHROMIUM_PATH` when set; else the system's Chromium
 * (Debian's `chromium` package) when present; else the Chromium that `@sparticuz/chromium` ships
 * brotli-compressed inside its npm package, so `npm test` needs nothing beyond `npm ci`.
 * `CONCORDAT_TEST_BROWSER=bundled` skips the system's, to check the fallback on a machine that has one.
 */
export async function findChromium(): Promise<ChromiumBinary> {
  const forced = process.env.CONCORDAT_TEST_BROWSER;
  if (forced !== undefined && forced !== "bundled" && forced !== "system") {
    throw new Error(`CONCORDAT_TEST_BROWSER must be 'bundled' or 'system', not '${forced}'`);
  }
  if (process.env.CHROMIUM_PATH) return { executablePath: process.env.CHROMIUM_PATH, source: "system" };
  if (forced !== "bundled") {
    for (const p of SYSTEM_PATHS) {
      if (await exists(p)) return { executablePath: p, source: "system" };
    }
    if (forced === "system") throw new Error(`no system Chromium (tried ${SYSTEM_PATHS.join(", ")})`);
  }
  return bundledChromium();
}

/**
 * The npm package's Chromium, unpacked once per package version into the temporary directory.
 * Each file is written under a name of this process's own and renamed into place, so test files
 * running in parallel never see a half-written binary. Its NSS libraries (the archive meant for
 * Amazon Linux, self-contained) go on the browser's library path: a bare Debian has none.
 */
export async function bundledChromium(): Promise<ChromiumBinary> {
  const { pkgDir, version } = await packageOf("@sparticuz/chromium");
  const dir = join(tmpdir(), `concordat-chromium-${version}`);
  const executablePath = join(dir, "chromium");
  const libDir = join(dir, "lib");
  await mkdir(dir, { recursive: true });
  if (!(await exists(executablePath))) {
    const partial = `${executablePath}.${process.pid}.partial`;
    await pipeline(
      createReadStream(join(pkgDir, "bin", "chromium.br")),
      createBrotliDecompress(),
      createWriteStream(partial),
    );
    await chmod(partial, 0o755);
    await rename(partial, executablePath);
  }
  if (!(await exists(join(libDir, "libnss3.so")))) {
    const staging = join(dir, `lib.${process.pid}.partial`);
    const tarFile = `${staging}.tar`;
    await mkdir(staging, { recursive: true });
    await pipeline(
      createReadStream(join(pkgDir, "bin", "al2023.tar.br")),
      createBrotliDecompress(),
      createWriteStream(tarFile),
    );
    await promisify(execFile)("tar", ["-xf", tarFile, "-C", staging]);
    await rm(tarFile);
    // The archive holds lib/…; another process may have finished first, then ours is dropped.
    await rename(join(staging, "lib"), libDir).catch(async (err: NodeJS.ErrnoException) => {
      if (err.code !== "ENOTEMPTY" && err.code !== "EEXIST") throw err;
    });
    await rm(staging, { recursive: true, force: true });
  }
  return { executablePath, source: "bundled", env: { LD_LIBRARY_PATH: libDir } };
}

/**
 * Headless Chromium driven by playwright-core (no browser download). Background networking is off:
 * the page under test must need no network at all.
 */
export async function launchChromium(binary?: ChromiumBinary): Promise<Browser> {
  const { executablePath, env } = binary ?? (await findChromium());
  return chromium.launch({
    executablePath,
    headless: true,
    timeout: 60_000,
    ...(env ? { env: { ...stringEnv(process.env), ...env } } : {}),
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-dev-shm-usage",
    ],
  });
}

/** A package's folder and version (its package.json is not among its exports, so found from its entry). */
async function packageOf(name: string): Promise<{ pkgDir: string; version: string }> {
  let dir = dirname(createRequire(import.meta.url).resolve(name));
  for (;;) {
    const manifest = await readFile(join(dir, "package.json"), "utf8").then(
      (t) => JSON.parse(t) as { name?: string; version?: string },
      () => undefined,
    );
    if (manifest?.name === name && manifest.version) return { pkgDir: dir, version: manifest.version };
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find the folder of the package ${name}`);
    dir = parent;
  }
}

function stringEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => typeof e[1] === "string"));
}

async function exists(p: string): Promise<boolean> {
  return access(p).then(
    () => true,
    () => false,
  );
}
