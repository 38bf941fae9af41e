// Fails when the committed generated code (node/api/generated, web/generated) differs from what `npm run proto`
// produces from proto/ now (ts-proto options live in buf.gen.yaml, the one place they are set).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const out = mkdtempSync(join(tmpdir(), "concordat-proto-"));

function files(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

const OUTPUTS = ["node/api/generated", "web/generated"];

try {
  execFileSync(join(root, "node_modules/.bin/buf"), ["generate", "-o", out], { cwd: root, stdio: "inherit" });
  const problems = [];
  let count = 0;
  for (const dir of OUTPUTS) {
    const committed = join(root, dir);
    const fresh = join(out, dir);
    const a = files(committed)
      .map((f) => relative(committed, f))
      .sort();
    const b = files(fresh)
      .map((f) => relative(fresh, f))
      .sort();
    count += a.length;
    for (const f of new Set([...a, ...b])) {
      if (!a.includes(f)) problems.push(`missing from ${dir}: ${f}`);
      else if (!b.includes(f)) problems.push(`no longer generated: ${dir}/${f}`);
      else if (!readFileSync(join(committed, f)).equals(readFileSync(join(fresh, f))))
        problems.push(`stale: ${dir}/${f}`);
    }
  }
  if (problems.length > 0) {
    console.error(
      `Generated protobuf code is out of date; run \`npm run proto\` and commit:\n  ${problems.join("\n  ")}`,
    );
    process.exit(1);
  }
  console.log(`${OUTPUTS.join(" and ")} match proto/ (${count} files)`);
} finally {
  rmSync(out, { recursive: true, force: true });
}
