import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { expect, test } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));

test("committed generated code matches proto/ (npm run proto:check)", async () => {
  const { stdout } = await promisify(execFile)(process.execPath, ["scripts/proto-check.mjs"], { cwd: root });
  expect(stdout).toMatch(/match proto\//);
});

test("proto/ passes buf lint", async () => {
  await promisify(execFile)(`${root}/node_modules/.bin/buf`, ["lint"], { cwd: root });
});
