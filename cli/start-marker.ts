import { mkdir } from "node:fs/promises";
import { dataPaths } from "../node/paths.js";
import { markStarting, releaseRuntimeFile } from "../node/runtime-file.js";

/** Global options that take a value (cli/program.ts), and `start`'s own. */
const VALUE_OPTIONS = new Set(["--data", "--api", "--token", "--tls-ca", "--config"]);

/**
 * The data directory of `concordat … start …`, read from the command line the way commander reads
 * it (the last `--data`, before or after the command; else $CONCORDAT_DATA, else ./data), or
 * undefined for any other command. Only for the early marker: commander still parses everything.
 */
export function startingDataDir(argv: readonly string[], env: NodeJS.ProcessEnv): string | undefined {
  let command: string | undefined;
  let data: string | undefined;
  for (let i = 2; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === "--") break;
    if (arg.startsWith("--data=")) {
      data = arg.slice("--data=".length);
    } else if (VALUE_OPTIONS.has(arg)) {
      if (arg === "--data") data = argv[i + 1];
      i++;
    } else if (!arg.startsWith("-") && command === undefined) {
      command = arg;
    }
  }
  if (command !== "start") return undefined;
  return data || env.CONCORDAT_DATA || "./data";
}

/**
 * `concordat start` marks its data directory's node as starting before it loads the node's code
 * (which takes seconds on a busy machine), so that a command run right after `start &` waits for
 * the node instead of finding none. Returns a release for when the command ends.
 */
export async function markStartingNode(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<() => Promise<void>> {
  const dataDir = startingDataDir(argv, env);
  if (dataDir === undefined) return async () => {};
  const path = dataPaths(dataDir).runtime;
  // A first start creates the directory here (private, as init would), so that even a command run
  // right after the very first `start &` finds the marker and waits for the node to initialise.
  const marker = await mkdir(dataDir, { recursive: true, mode: 0o700 })
    .then(() => markStarting(path))
    .catch(() => undefined);
  return async () => {
    if (marker) await releaseRuntimeFile(path, marker).catch(() => undefined);
  };
}
