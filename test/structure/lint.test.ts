import { execFile } from "node:child_process";
import { copyFile, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const BIOME = join(ROOT, "node_modules", ".bin", "biome");

interface Report {
  diagnostics: Array<{ category: string; location?: { path?: string } }>;
}

/**
 * `npm run lint` (part of `npm test`) checks the whole tree with the project's biome.jsonc. These
 * files are checked with that same configuration in a scratch folder, so the test shows that the
 * rules the project relies on are switched on and fail the run, whatever the tree holds today.
 */
async function check(files: Record<string, string>): Promise<{ failed: boolean; findings: string[] }> {
  const dir = await mkdtemp(join(tmpdir(), "concordat-lint-"));
  scratch.push(dir);
  await copyFile(join(ROOT, "biome.jsonc"), join(dir, "biome.jsonc"));
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), text);
  }
  const args = ["check", "--vcs-enabled=false", "--reporter=json", "."];
  const run = await promisify(execFile)(BIOME, args, { cwd: dir }).then(
    ({ stdout }) => ({ failed: false, stdout }),
    (error: { stdout?: string }) => ({ failed: true, stdout: error.stdout ?? "" }),
  );
  const report = JSON.parse(run.stdout) as Report;
  return {
    failed: run.failed,
    findings: report.diagnostics.map((d) => `${d.location?.path ?? "?"} ${d.category}`).sort(),
  };
}

const scratch: string[] = [];
afterAll(async () => {
  for (const dir of scratch) await rm(dir, { recursive: true, force: true });
});

describe("the linter and formatter", () => {
  it("pass formatted, clean code", async () => {
    const result = await check({ "node/clean.ts": "export const twice = (x: number): number => x * 2;\n" });
    expect(result).toEqual({ failed: false, findings: [] });
  });

  it("fail on an explicit any, a non-null assertion in the node, an unused import, and unformatted code", async () => {
    const result = await check({
      "node/any.ts": "export function echo(x: any): unknown {\n  return x;\n}\n",
      "node/bang.ts": "export const first = (xs: number[]): number => xs[0]!;\n",
      "node/unused.ts": 'import { join } from "node:path";\n\nexport const one = 1;\n',
      "node/ugly.ts": "export const   two=2\n",
    });
    expect(result.failed).toBe(true);
    expect(result.findings).toEqual([
      "node/any.ts lint/suspicious/noExplicitAny",
      "node/bang.ts lint/style/noNonNullAssertion",
      "node/ugly.ts format",
      "node/unused.ts lint/correctness/noUnusedImports",
    ]);
  });
});
