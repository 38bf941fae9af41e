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
import { SealableStorage } from "./storage/shutdown-guard.js";
import { VERSION } from "./version.js";
import { DIRECTORY_KEY, directorySpec, Federation } from "./federation/index.js";
import { Checkpointer, VerifiedViews } from "./authority/index.js";
import { ReplicationServiceService } from "./network/index.js";
import { startNetwork, type NodeNetwork } from "./network/node-network.js";

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
  /** libp2p listen addresses with the /p2p/ suffix, for other hubs' `network.members`. */
  libp2p: string[];
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
      const repoStorage = new SealableStorage(new LevelStorageAdapter(store.repo), logger.child({ component: "repo-storage" }));
      // The federation decides what is shared; it needs the Repo and the documents, the Repo needs
      // its share configuration: bind it late.
      let federation: Federation | undefined;
      const repo = new Repo({
        storage: repoStorage,
        network: [],
        // The repo peer id is the libp2p peer id: the adapters bind it to what the transport proved.
        peerId: identity.peerId as PeerId,
        shareConfig: {
          announce: async (peer, doc) => (doc !== undefined && federation?.mayShare(peer, doc)) ?? false,
          access: async (peer, doc) => federation?.mayShare(peer, doc) ?? false,
        },
      });
      stack.push({
        name: "repo",
        stop: async () => {
          try {
            await repo.flush();
            await repo.shutdown();
          } finally {
            await repoStorage.seal();
          }
        },
      });

      const documents = new OwnedDocuments(
        { owner: config.hub.id, directoryKey: DIRECTORY_KEY },
        { store, repo, repoStorage, logger: logger.child({ component: "documents" }) },
      );
      await documents.open();
      stack.push({ name: "documents", stop: () => documents.idle() });
      const roster = new Roster(
        { hubId: config.hub.id, shards: config.roster.shards, maxPerShard: config.roster.maxPerShard },
        { documents, logger: logger.child({ component: "roster" }) },
      );
      await documents.ensure([directorySpec(config.hub.id, identity.peerId), ...roster.documentSpecs()]);

      federation = new Federation(
        { self: { hubId: config.hub.id, peerId: identity.peerId }, members: config.network.members },
        { repo, documents, logger: logger.child({ component: "federation" }) },
      );
      federation.start();
      const fed = federation;
      stack.push({ name: "federation", stop: async () => fed.stop() });
      const checkpointer = new Checkpointer(
        {
          federationId: config.federation.id,
          peerId: identity.peerId,
          directoryKey: DIRECTORY_KEY,
          heartbeatMs: config.federation.heartbeatSeconds * 1000,
        },
        { documents, store, sign: (data) => identity.sign(data), logger: logger.child({ component: "checkpoints" }) },
      );
      await checkpointer.start();
      stack.push({ name: "checkpoints", stop: () => checkpointer.stop() });
      const views = new VerifiedViews(
        { federationId: config.federation.id, members: config.network.members, staleAfterMs: config.federation.staleAfterSeconds * 1000 },
        { repo, store, logger: logger.child({ component: "verified-views" }) },
      );
      await views.start();
      stack.push({ name: "verified views", stop: async () => views.stop() });
      const network = await startNetwork(config, identity, fed, repo, logger.child({ component: "network" }));
      stack.push({ name: "network", stop: () => network.stop() });

      const startedAt = new Date().toISOString();
      const api = new ApiServer(
        {
          host: config.api.host,
          port: config.api.port,
          ...(config.api.tls ? { tls: config.api.tls } : {}),
          extraServices: network.grpc ? [{ definition: ReplicationServiceService, implementation: network.grpc.service() }] : [],
        },
        {
          operators,
          roster,
          documents,
          store,
          network,
          federation: fed,
          repo,
          views,
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

      const runtime: RuntimeInfo = {
        pid: process.pid,
        api: api.address,
        tls: api.tls,
        hubId: config.hub.id,
        peerId: identity.peerId,
        libp2p: network.libp2pAddresses(),
        startedAt,
      };
      await writeFile(this.paths.runtime, `${JSON.stringify(runtime, null, 2)}\n`, { mode: 0o644 });
      stack.push({ name: "runtime file", stop: () => rm(this.paths.runtime, { force: true }) });

      logger.info(
        { peerId: identity.peerId, api: api.address, libp2p: network.libp2pAddresses(), trainers: roster.count(), version: VERSION },
        "node started",
      );
      this.#running = { config, logger, identity, store, operators, repo, documents, roster, federation: fed, checkpointer, views, network, api, stack };
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
  federation: Federation;
  checkpointer: Checkpointer;
  views: VerifiedViews;
  network: NodeNetwork;
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
