import { readFile, rm, writeFile } from "node:fs/promises";
import { Repo, type PeerId } from "@automerge/automerge-repo";
import type { Logger } from "pino";
import { ApiServer } from "./api/index.js";
import { loadConfigFile, type NodeConfig } from "./config/index.js";
import { OwnedDocuments } from "./documents/index.js";
import { loadIdentityFile, readIdentityBytes, type NodeIdentity } from "./identity/index.js";
import { createLogger } from "./logging.js";
import { Operators } from "./operators/index.js";
import { dataPaths, type DataPaths } from "./paths.js";
import { Roster } from "./roster/index.js";
import { LevelStorageAdapter } from "./storage/index.js";
import { NodeStore } from "./storage/node-store.js";
import { VERSION } from "./version.js";

export interface NodeInit {
  /** The node's data directory (config.yaml, identity.key, db/). */
  dataDir: string;
  /** Environment for config overrides (`CONCORDAT_*`); defaults to none. */
  env?: NodeJS.ProcessEnv;
  /** Where logs go; defaults to stdout. */
  logDestination?: NodeJS.WritableStream;
}

/** What a running node writes to `node.json` so that the CLI on this machine can find it. */
export interface RuntimeInfo {
  pid: number;
  api: string;
  tls: boolean;
  hubId: string;
  peerId: string;
  startedAt: string;
}

/**
 * The composition root: builds the node's components from its data directory and config, starts them
 * in order and stops them in reverse. Starting twice is a no-op; a failed start undoes what it did.
 */
export class ConcordatNode {
  readonly paths: DataPaths;
  readonly #init: NodeInit;
  #running: RunningNode | undefined;

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
    const stack: Array<{ name: string; stop: () => Promise<void> }> = [];
    try {
      const identity = await loadIdentityFile(this.paths.identity);
      const store = await NodeStore.open(this.paths.db, { sync: config.storage.sync });
      stack.push({ name: "store", stop: () => store.close() });

      const operators = await Operators.open(store, logger.child({ component: "operators" }));
      const repoStorage = new LevelStorageAdapter(store.repo);
      const repo = new Repo({
        storage: repoStorage,
        network: [],
        peerId: `${config.hub.id}:${identity.peerId}` as PeerId,
        // No network yet: replication and its share policy arrive with the transports (issue 3).
        sharePolicy: async () => false,
      });
      stack.push({
        name: "repo",
        stop: async () => {
          await repo.flush();
          await repo.shutdown();
        },
      });

      const documents = new OwnedDocuments({ owner: config.hub.id }, { store, repo, repoStorage, logger: logger.child({ component: "documents" }) });
      await documents.open();
      stack.push({ name: "documents", stop: () => documents.idle() });
      const roster = new Roster(
        { hubId: config.hub.id, shards: config.roster.shards, maxPerShard: config.roster.maxPerShard },
        { documents, logger: logger.child({ component: "roster" }) });
      await documents.ensure(roster.documentSpecs());

      const startedAt = new Date().toISOString();
      const api = new ApiServer(
        { host: config.api.host, port: config.api.port, ...(config.api.tls ? { tls: config.api.tls } : {}) },
        {
          operators,
          roster,
          documents,
          store,
          logger: logger.child({ component: "api" }),
          info: {
            hubId: config.hub.id,
            hubName: config.hub.name,
            role: config.hub.role,
            peerId: identity.peerId,
            federationId: config.federation.id,
            version: VERSION,
            startedAt,
          },
          backupHeader: async () => ({
            hubId: config.hub.id,
            peerId: identity.peerId,
            config: await readFile(this.paths.config, "utf8"),
            identityKey: Buffer.from(await readIdentityBytes(this.paths.identity)).toString("base64"),
          }),
        },
      );
      await api.start();
      stack.push({ name: "api", stop: () => api.stop() });

      const runtime: RuntimeInfo = { pid: process.pid, api: api.address, tls: api.tls, hubId: config.hub.id, peerId: identity.peerId, startedAt };
      await writeFile(this.paths.runtime, `${JSON.stringify(runtime, null, 2)}\n`, { mode: 0o644 });
      stack.push({ name: "runtime file", stop: () => rm(this.paths.runtime, { force: true }) });

      logger.info({ peerId: identity.peerId, api: api.address, trainers: roster.count(), version: VERSION }, "node started");
      this.#running = { config, logger, identity, store, operators, repo, documents, roster, api, stack };
      return this.#running;
    } catch (error) {
      logger.error({ err: error }, "start failed; undoing");
      await unwind(stack, logger);
      logger.flush();
      throw error;
    }
  }

  async stop(): Promise<void> {
    const running = this.#running;
    if (!running) return;
    this.#running = undefined;
    await unwind(running.stack, running.logger);
    running.logger.info("node stopped");
    running.logger.flush();
  }
}

export interface RunningNode {
  config: NodeConfig;
  logger: Logger;
  identity: NodeIdentity;
  store: NodeStore;
  operators: Operators;
  repo: Repo;
  documents: OwnedDocuments;
  roster: Roster;
  api: ApiServer;
  stack: Array<{ name: string; stop: () => Promise<void> }>;
}

async function unwind(stack: Array<{ name: string; stop: () => Promise<void> }>, logger: Logger): Promise<void> {
  while (stack.length > 0) {
    const component = stack.pop() as { name: string; stop: () => Promise<void> };
    try {
      await component.stop();
    } catch (error) {
      logger.error({ err: error, component: component.name }, "stop failed");
    }
  }
}
