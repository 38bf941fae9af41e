import { execFileSync } from "node:child_process";
import { availableParallelism, cpus, totalmem } from "node:os";
import type { Environment } from "./types.js";
import { ROOT } from "./nodes.js";

function git(args: string[]): string | undefined {
  try {
    return execFileSync("git", args, { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return undefined;
  }
}

/** Where the figures were measured: every result carries this. */
export function describeEnvironment(): Environment {
  const status = git(["status", "--porcelain"]);
  return {
    node: process.version,
    v8: process.versions.v8,
    platform: process.platform,
    arch: process.arch,
    cores: availableParallelism(),
    cpu: cpus()[0]?.model.trim() ?? "unknown",
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    commit: git(["rev-parse", "--short=12", "HEAD"]) ?? "unknown",
    dirty: status === undefined ? false : status.length > 0,
  };
}
