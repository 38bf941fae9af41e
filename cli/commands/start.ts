import { access } from "node:fs/promises";
import { MAIN_THREAD_FLAGS, mainThreadBounded } from "../../node/heap.js";
import { ConcordatNode } from "../../node/node.js";
import { watchParent } from "../../node/process-guard.js";
import { dataPaths } from "../../node/paths.js";
import { initDataDir, readTextFile } from "../../node/setup.js";
import { parseConfig, parseYaml } from "../../node/config/index.js";
import { DEFAULT_CONFIG_PATH } from "../../node/version.js";
import { printLine, printNotice, type Io } from "../io.js";

export interface StartCommandOptions {
  data: string;
  /** Configuration to initialise from on the very first start; defaults to config/default.yaml. */
  config?: string;
}

/**
 * `concordat start`: runs the node in the foreground until SIGINT/SIGTERM. On the very first start in
 * an empty data directory it initialises a hub identity from the configuration file and says so.
 */
export async function startCommand(
  options: StartCommandOptions,
  io: Io,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ConcordatNode> {
  const paths = dataPaths(options.data);
  const initialised = await access(paths.config).then(
    () => true,
    () => false,
  );
  if (!initialised) {
    const configPath = options.config ?? DEFAULT_CONFIG_PATH;
    const text = await readTextFile(configPath, "configuration");
    const base = parseConfig(parseYaml(text, configPath), configPath);
    const result = await initDataDir({
      dataDir: options.data,
      hubId: base.hub.id,
      name: base.hub.name,
      secretariat: base.hub.role === "secretariat",
      baseConfig: text,
      baseConfigSource: configPath,
    });
    printNotice(
      io,
      `First start: initialised a new ${base.hub.role} identity '${base.hub.id}' from ${configPath}\n` +
        `  data directory ${options.data}, peer id ${result.peerId}\n` +
        `  admin credential in ${result.paths.adminToken} (the CLI finds it with --data ${options.data})`,
    );
  }
  const node = new ConcordatNode({
    dataDir: options.data,
    env,
    ownsProcess: true,
    // After a confirmed key rotation the node restarts itself; if that fails, it is stopped: exit.
    onRestartFailed: (error) => {
      printNotice(io, `error: the node could not restart with its new key: ${(error as Error).message}`);
      process.exit(1);
    },
  });
  const running = await node.start();
  if (!mainThreadBounded(process.execArgv, env.NODE_OPTIONS)) {
    // Started as `node dist/cli/main.js start` (not through the `concordat` command or npm start).
    printNotice(
      io,
      `note: this node's API thread was started without ${MAIN_THREAD_FLAGS.join(" ")}: its young generation may grow to 128 MiB and stay resident (docs/hub-operator.md, "Memory")`,
    );
  }
  if (!io.json) {
    printNotice(
      io,
      `Concordat node '${running.config.hub.id}' is serving on ${running.api.address}. Stop it with Ctrl-C.` +
        (running.console ? `\n  web console: open ${running.console.url} and sign in with an access token` : ""),
    );
  } else {
    printLine(
      io,
      JSON.stringify({
        hubId: running.config.hub.id,
        api: running.api.address,
        ...(running.console ? { console: running.console.url } : {}),
        peerId: running.identity.peerId,
      }),
    );
  }
  return node;
}

/**
 * Keeps the node running until SIGINT or SIGTERM, then stops it (in-flight calls finish, everything
 * is flushed). A node started by an npm script (`npm start`, `npm run concordat -- start`) also stops
 * when the npm process that started it goes away: `kill` of npm does not reach the node itself.
 */
export function runUntilStopped(node: ConcordatNode, io: Io, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  return new Promise<void>((resolve) => {
    let stopWatching = () => {};
    const stop = () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      stopWatching();
      node.stop().then(resolve, resolve);
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
    if (env.npm_lifecycle_event) {
      stopWatching = watchParent(() => {
        printNotice(
          io,
          `The npm process that started this node (npm run ${env.npm_lifecycle_event}) is gone: stopping the node.`,
        );
        stop();
      });
    }
  });
}
