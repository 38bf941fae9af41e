import type { Logger } from "pino";
import { type Components, createComponents, startOrder } from "./components.js";
import { loadConfigFile } from "./config/index.js";
import { currentKey } from "./federation/index.js";
import type { KeyRotation } from "./identity/index.js";
import { Lifecycle, step } from "./lifecycle.js";
import { createLogger } from "./logging.js";
import { dataPaths, type DataPaths } from "./paths.js";
import { guardRepoSyncTimeouts, routeProcessOutput } from "./process-guard.js";
import { markStarting, releaseRuntimeFile, type RunningRuntime, writeRuntimeFile } from "./runtime-file.js";
import { VERSION } from "./version.js";

export interface NodeInit {
  /** The node's data directory (config.yaml, identity.key, db/). */
  dataDir: string;
  /** Environment for config overrides (`CONCORDAT_*`); defaults to none. */
  env?: NodeJS.ProcessEnv;
  /** Where logs go; defaults to stdout. */
  logDestination?: NodeJS.WritableStream;
  /**
   * The node runs alone in its process (`concordat start`): unhandled rejections, process warnings
   * and what libraries print on the console go to its log (see process-guard.ts).
   */
  ownsProcess?: boolean;
  /** Called when the node could not restart after switching to a rotated key (it is then stopped). */
  onRestartFailed?: (error: unknown) => void;
  /**
   * Called once the node has stopped itself because a part it cannot run without failed (the
   * replica worker died). A node that owns its process then exits with code 1, for its service
   * manager to start it again (what the API acknowledged is on disk).
   */
  onFatal?: (error: Error) => void;
}

/** What a running node writes to `node.json` so that the CLI on this machine can find it (node/runtime-file.ts). */
export type RuntimeInfo = RunningRuntime;

/**
 * The composition root: builds the node's components from its data directory and config
 * (node/components.ts), starts them in their declared order (`startOrder`) and stops them in
 * reverse (node/lifecycle.ts). Starting twice is a no-op; a failed start undoes what it did.
 */
export class ConcordatNode {
  readonly paths: DataPaths;
  readonly #init: NodeInit;
  #running: RunningNode | undefined;
  #switching: Promise<void> | undefined;
  #guarded = false;

  constructor(init: NodeInit) {
    this.#init = init;
    this.paths = dataPaths(init.dataDir);
  }

  get running(): RunningNode {
    if (!this.#running) throw new Error("node is not started");
    return this.#running;
  }

  async start(): Promise<RunningNode> {
    if (this.#running) return this.#running;
    const config = await loadConfigFile(this.paths.config, this.#init.env ?? {});
    const logger = createLogger({
      level: config.log.level,
      pretty: config.log.pretty,
      ...(this.#init.logDestination ? { destination: this.#init.logDestination } : {}),
    }).child({ hub: config.hub.id });
    if (this.#init.ownsProcess && !this.#guarded) {
      // Once per process: a restart with a rotated key keeps the first logger's destination.
      this.#guarded = true;
      guardRepoSyncTimeouts(logger);
      routeProcessOutput(logger);
    }
    const lifecycle = new Lifecycle(logger);
    try {
      // From here the CLI waits for this node rather than calling it absent (node/runtime-file.ts).
      const marker = await markStarting(this.paths.runtime);
      if (marker)
        await lifecycle.start(step("starting marker", { stop: () => releaseRuntimeFile(this.paths.runtime, marker) }));
      const components = await createComponents(
        { config, logger, paths: this.paths, onFatal: (error) => this.#fatal(error, logger) },
        lifecycle,
      );
      await lifecycle.startAll(startOrder(components));
      const { api, network, metricsServer, identity, membership, keys, console } = components;

      const runtime: RuntimeInfo = {
        state: "running",
        pid: process.pid,
        api: api.address,
        ...(console ? { console: console.url } : {}),
        ...(metricsServer?.address ? { metrics: metricsServer.address } : {}),
        tls: api.tls,
        hubId: config.hub.id,
        peerId: identity.peerId,
        libp2p: network.libp2pAddresses(),
        startedAt: components.info.startedAt,
      };
      // Nothing personal in it, but the directory is private anyway: 0600 like every other file.
      await lifecycle.start(
        step("runtime file", {
          start: () => writeRuntimeFile(this.paths.runtime, runtime),
          stop: () => releaseRuntimeFile(this.paths.runtime, runtime),
        }),
      );

      logger.info(
        {
          peerId: identity.peerId,
          api: api.address,
          console: console?.url,
          libp2p: network.libp2pAddresses(),
          metrics: metricsServer?.address,
          trainers: components.roster.count(),
          version: VERSION,
        },
        "node started",
      );
      this.#running = { ...components, lifecycle };
      // `keys rotate` left a new key waiting: switch to it once the verified charter names it.
      const confirmRotation = async () => {
        const next = await keys.pending();
        const me = membership.member(config.hub.id);
        if (next && me && currentKey(me) === next) void this.#switchKey(keys, identity.peerId, next);
      };
      const onCharter = () =>
        void confirmRotation().catch((error: unknown) =>
          logger.error({ err: error }, "could not read the waiting key"),
        );
      let stopWatching: (() => void) | undefined;
      await lifecycle.start(
        step("key rotation", {
          start: () => {
            stopWatching = membership.onChange(onCharter);
            onCharter(); // a charter verified during start
          },
          stop: () => stopWatching?.(),
        }),
      );
      return this.#running;
    } catch (error) {
      logger.error({ err: error, component: lifecycle.failed }, "start failed; undoing");
      await lifecycle.stop();
      logger.flush();
      throw error;
    }
  }

  #failing = false;

  /** Stops the node after a part it cannot run without failed; ends a process it owns (code 1). */
  #fatal(error: Error, logger: Logger): void {
    if (this.#failing) return;
    this.#failing = true;
    logger.fatal({ err: error }, "the node cannot go on without this part; stopping");
    void this.stop()
      .catch((stopError: unknown) => logger.error({ err: stopError }, "stopping after the failure failed"))
      .finally(() => {
        this.#failing = false;
        this.#init.onFatal?.(error);
        if (this.#init.ownsProcess) {
          logger.flush();
          process.exit(1);
        }
      });
  }

  /** Stops, makes the waiting key the node's, and starts again (same data, same API port). */
  #switchKey(keys: KeyRotation, from: string, to: string): Promise<void> {
    if (this.#switching || !this.#running) return this.#switching ?? Promise.resolve();
    const logger = this.#running.logger;
    logger.info({ from, to }, "the charter confirms the new key; restarting with it");
    const running = this.#running;
    this.#switching = (async () => {
      try {
        this.#running = undefined;
        await running.lifecycle.stop();
        await keys.promote(from);
        await this.start();
      } catch (error) {
        logger.fatal({ err: error }, "could not restart with the new key");
        this.#init.onRestartFailed?.(error);
      } finally {
        this.#switching = undefined;
      }
    })();
    return this.#switching;
  }

  async stop(): Promise<void> {
    // A stop during a key switch waits for the restart, then stops the restarted node.
    if (this.#switching) await this.#switching;
    const running = this.#running;
    if (!running) return;
    this.#running = undefined;
    await running.lifecycle.stop();
    running.logger.info("node stopped");
    running.logger.flush();
  }
}

/** A started node: its components (node/components.ts) and the lifecycle that stops them in reverse. */
export interface RunningNode extends Components {
  lifecycle: Lifecycle;
}
