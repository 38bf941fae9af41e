import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The project root: the nearest folder above this file with Concordat's package.json. */
function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, "package.json");
    if (
      existsSync(candidate) &&
      (JSON.parse(readFileSync(candidate, "utf8")) as { name?: string }).name === "concordat"
    )
      return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error("cannot find Concordat's package.json");
    dir = parent;
  }
}

export const PROJECT_ROOT = findRoot();
export const VERSION = (JSON.parse(readFileSync(join(PROJECT_ROOT, "package.json"), "utf8")) as { version: string })
  .version;
export const DEFAULT_CONFIG_PATH = join(PROJECT_ROOT, "config", "default.yaml");
