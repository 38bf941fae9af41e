import { execFile } from "node:child_process";
import { copyFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));
const run = promisify(execFile);
const generator = join(root, "scripts/config-doc.mjs");

/** Runs the generator's check; resolves to its exit code and output. */
async function check(file?: string): Promise<{ code: number; out: string }> {
  try {
    const { stdout } = await run(process.execPath, [generator, "--check", ...(file ? ["--file", file] : [])], {
      cwd: root,
    });
    return { code: 0, out: stdout };
  } catch (error) {
    const e = error as { code?: number; stderr?: string };
    return { code: e.code ?? -1, out: e.stderr ?? "" };
  }
}

describe("docs/configuration.md is generated from the schema (npm run docs:config)", () => {
  let dir: string | undefined;
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("the committed page is what the generator writes now", async () => {
    const result = await check();
    expect(result.out).toMatch(/matches the configuration schema/);
    expect(result.code).toBe(0);
  });

  it("names every key of the schema and every environment override", async () => {
    const page = await readFile(join(root, "docs/configuration.md"), "utf8");
    const { ENV_OVERRIDES } = await import("../../node/config/index.js");
    for (const [name, { path }] of Object.entries(ENV_OVERRIDES)) {
      expect(page).toMatch(new RegExp(`\\| \`${path.join("\\.")}\` \\|.*\`${name}\``));
    }
    for (const key of ["hub.id", "federation.anchor", "network.peers[].grpcCa", "bookings.policy", "log.pretty"]) {
      expect(page).toContain(`| \`${key}\` |`);
    }
  });

  it("fails on a page that differs from the schema by one line", async () => {
    dir = await mkdtemp(join(tmpdir(), "concordat-config-doc-"));
    const copy = join(dir, "configuration.md");
    await copyFile(join(root, "docs/configuration.md"), copy);
    expect((await check(copy)).code).toBe(0);
    const page = await readFile(copy, "utf8");
    await writeFile(
      copy,
      page.replace(
        "| `api.port` | whole number 0–65,535 | `7400` |",
        "| `api.port` | whole number 0–65,535 | `7401` |",
      ),
    );
    const result = await check(copy);
    expect(result.code).toBe(1);
    expect(result.out).toMatch(/out of date: run `npm run docs:config`/);
  });
});
