import { readFile } from "node:fs/promises";
import { Repo } from "@automerge/automerge-repo";
import { AdmissionGate, readAttestations, type Attestation, type AttestationStore } from "./admission/index.js";
import { guardRepoSyncTimeouts, routeProcessOutput } from "./process-guard.js";
import type { Logger } from "pino";
import { ApiServer } from "./api/index.js";
import { loadConfigFile, type NodeConfig } from "./config/index.js";
import { documentTypeOf, OwnedDocuments } from "./documents/index.js";
import { KeyRotation, loadIdentityFile, readIdentityBytes, type NodeIdentity } from "./identity/index.js";
import { createLogger } from "./logging.js";
import { Operators } from "./operators/index.js";
import { tightenDataDir } from "./data-permissions.js";
import { markStarting, releaseRuntimeFile, writeRuntimeFile, type RunningRuntime } from "./runtime-file.js";
import { dataPaths, type DataPaths } from "./paths.js";
import { Roster } from "./roster/index.js";
import { LevelStorageAdapter } from "./storage/index.js";
import { PromMetrics, serveMetrics, type DocumentCensus } from "./metrics.js";
import { NodeStore } from "./storage/node-store.js";
import { SealableStorage } from "./storage/shutdown-guard.js";
import { VERSION } from "./version.js";
import {
  CharterAdmin,
  currentKey,
  DIRECTORY_KEY,
  directoryIdOf,
  directorySpec,
  Federation,
  Membership,
  ownedDocumentId,
} from "./federation/index.js";
import { Checkpointer, VerifiedViews } from "./authority/index.js";
import {
  CoreAuthoring,
  coreSpec,
  Curriculum,
  curriculumSpec,
  VerifiedCoreReleases,
  type CoreSource,
} from "./core/index.js";
import { ReplicationServiceService } from "./network/index.js";
import { startNetwork, type NodeNetwork } from "./network/node-network.js";
import { Credentials, credentialsSpec } from "./credentials/index.js";
import { Availability } from "./query/availability.js";
import { Bookings, engagementsBusyTime, engagementsSpec, outboxSpec } from "./bookings/index.js";
import { Cases } from "./cases/index.js";
import { Deliveries, deliveriesSpecs } from "./deliveries/index.js";
import { Reports } from "./reports/index.js";

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
}

/** What a running node writes to `node.json` so that the CLI on this machine can find it (node/runtime-file.ts). */
export type RuntimeInfo = RunningRuntime;

/**
 * The composition root: builds the node's components from its data directory and config, starts them
 * in order and stops them in reverse. Starting twice is a no-op; a failed start undoes what it did.
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
    const stack: Array<{ name: string; stop: () => Promise<void> }> = [];
    try {
      // From here the CLI waits for this node rather than calling it absent (node/runtime-file.ts).
      const marker = await markStarting(this.paths.runtime);
      if (marker) stack.push({ name: "starting marker", stop: () => releaseRuntimeFile(this.paths.runtime, marker) });
      const keys = new KeyRotation(this.paths.identity);
      if (await keys.recover()) logger.warn("finished switching to the rotated key that a crash interrupted");
      const identity = await loadIdentityFile(this.paths.identity);
      // Only the node's user may read its data, whatever made the files (an older version, a hand).
      const fixed = await tightenDataDir(this.paths.root, (path, error) =>
        logger.warn({ path, err: error }, "could not make a file in the data directory private"),
      );
      if (fixed.length > 0) {
        logger.warn(
          {
            fixed: fixed.length,
            files: fixed.slice(0, 20).map((f) => `${f.path} ${f.from.toString(8)} -> ${f.to.toString(8)}`),
          },
          "the data directory was readable by others: group and other permissions removed",
        );
      }
      const store = await NodeStore.open(this.paths.db, {
        sync: config.storage.sync,
        logger: logger.child({ component: "store" }),
      });
      stack.push({ name: "store", stop: () => store.close() });

      const operators = await Operators.open(store, logger.child({ component: "operators" }));
      // The Repo's writes go through the store, so that they wait while the disk is full instead of failing.
      const levelStorage = new LevelStorageAdapter(store.repoLevel());
      const repoStorage = new SealableStorage(levelStorage, logger.child({ component: "repo-storage" }), {
        refusals: store,
      });
      // Metrics (when configured): components count as they work; the census reads documents at scrape time.
      let census: DocumentCensus["documents"] = async () => [];
      const metrics =
        config.metrics.port === undefined
          ? undefined
          : new PromMetrics({
              hubOf: (peer) => membership.hubOf(peer),
              hubOfDirectory: (directoryId) => membership.memberByDirectory(directoryId)?.hub ?? "",
              census: { documents: () => census() },
              labels: { node: config.hub.id },
            });
      // The federation decides what is shared; it needs the Repo and the documents, the Repo needs
      // its share configuration: bind it late.
      let federation: Federation | undefined;
      const repo = new Repo({
        storage: repoStorage,
        network: [],
        // The repo peer id is the libp2p peer id: the adapters bind it to what the transport proved.
        peerId: identity.peerId,
        shareConfig: {
          announce: async (peer, doc) => (doc !== undefined && federation?.mayShare(peer, doc)) ?? false,
          access: async (peer, doc) => federation?.mayShare(peer, doc) ?? false,
        },
      });
      stack.push({
        name: "repo",
        stop: async () => {
          try {
            // The network adapters were disconnected by the network's stop. Flush only documents that
            // are ready: Repo.flush (and so Repo.shutdown) throws on one still being requested.
            await repo.flush(
              Object.values(repo.handles)
                .filter((h) => h.isReady())
                .map((h) => h.documentId),
            );
          } finally {
            await repoStorage.seal();
          }
        },
      });

      // Every document this hub owns has an id derived from its directory's (ids.ts); the
      // directory's derives from the hub's first key and stays when the key is rotated.
      let directoryId = directoryIdOf(identity.peerId);
      const documents = new OwnedDocuments(
        { owner: config.hub.id, directoryKey: DIRECTORY_KEY, idFor: (key) => ownedDocumentId(directoryId, key) },
        { store, repo, repoStorage, logger: logger.child({ component: "documents" }) },
      );
      await documents.open();
      if (documents.has(DIRECTORY_KEY)) directoryId = documents.idOf(DIRECTORY_KEY);
      stack.push({ name: "documents", stop: () => documents.idle() });
      const roster = new Roster(
        { hubId: config.hub.id, shards: config.roster.shards, maxPerShard: config.roster.maxPerShard },
        { documents, logger: logger.child({ component: "roster" }) },
      );
      const isSecretariat = config.hub.role === "secretariat" && config.federation.anchor === identity.peerId;
      await documents.ensure([
        directorySpec(config.hub.id, identity.peerId),
        ...roster.documentSpecs(),
        curriculumSpec(),
        credentialsSpec(),
        outboxSpec(),
        engagementsSpec(),
        ...deliveriesSpecs(),
        ...(isSecretariat ? [coreSpec()] : []),
      ]);

      const membership = new Membership({
        federationId: config.federation.id,
        anchor: config.federation.anchor,
        rotationGraceMs: config.federation.rotationGraceSeconds * 1000,
      });
      const charter = new CharterAdmin(
        {
          hubId: config.hub.id,
          name: config.hub.name,
          region: config.hub.region,
          role: config.hub.role,
          peerId: identity.peerId,
          directoryId,
          federationId: config.federation.id,
        },
        // The cutoff recorded when a member is removed or re-keyed: the newest seq verified here.
        {
          documents,
          membership,
          logger: logger.child({ component: "charter" }),
          lastSeqOf: (hub) => views.latestSeq(hub),
        },
      );
      charter.start();
      stack.push({ name: "charter", stop: async () => charter.stop() });
      federation = new Federation(
        { self: { hubId: config.hub.id, peerId: identity.peerId, directoryId }, peers: config.network.peers },
        { repo, documents, membership, logger: logger.child({ component: "federation" }) },
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
          batchMs: config.federation.checkpointBatchMs,
        },
        { documents, store, sign: (data) => identity.sign(data), logger: logger.child({ component: "checkpoints" }) },
      );
      await checkpointer.start();
      stack.push({ name: "checkpoints", stop: () => checkpointer.stop() });
      const views = new VerifiedViews(
        {
          federationId: config.federation.id,
          selfDirectoryId: directoryId,
          staleAfterMs: config.federation.staleAfterSeconds * 1000,
        },
        {
          membership,
          repo,
          store,
          logger: logger.child({ component: "verified-views" }),
          ...(metrics ? { metrics } : {}),
        },
      );
      await views.start();
      stack.push({ name: "verified views", stop: async () => views.stop() });
      const coreAuthoring = new CoreAuthoring(
        { isSecretariat, federationId: config.federation.id, creator: config.hub.name },
        { documents, checkpointer, logger: logger.child({ component: "core" }) },
      );
      const verifiedCore = new VerifiedCoreReleases(
        { federationId: config.federation.id },
        { membership, repo, store, logger: logger.child({ component: "core" }) },
      );
      if (!isSecretariat) await verifiedCore.start();
      const coreSource = isSecretariat ? coreAuthoring : verifiedCore;
      const curriculum = new Curriculum({
        hubId: config.hub.id,
        documents,
        core: coreSource,
        logger: logger.child({ component: "curriculum" }),
      });
      const credentials = new Credentials(
        { hubId: config.hub.id, name: config.hub.name, peerId: identity.peerId },
        {
          sign: (data) => identity.sign(data),
          documents,
          membership,
          views,
          core: coreSource,
          localSchemes: () => curriculum.current().schemes,
          roster,
          logger: logger.child({ component: "credentials" }),
        },
      );
      const availability = new Availability(
        { hubId: config.hub.id },
        {
          documents,
          views,
          membership,
          credentials,
          core: coreSource,
          busyTime: engagementsBusyTime,
          store,
          logger: logger.child({ component: "availability" }),
        },
      );
      await availability.start();
      stack.push({ name: "availability", stop: async () => availability.stop() });
      const bookings = new Bookings(
        {
          hubId: config.hub.id,
          policy: config.bookings.policy,
          requestTtlMs: config.bookings.requestTtlHours * 3_600_000,
        },
        {
          documents,
          views,
          membership,
          roster,
          availability,
          credentials,
          logger: logger.child({ component: "bookings" }),
        },
      );
      await bookings.start();
      stack.push({ name: "bookings", stop: () => bookings.stop() });
      const cases = new Cases(
        { hubId: config.hub.id, isSecretariat },
        {
          documents,
          views,
          membership,
          tree: () => availability.competencyTree(),
          logger: logger.child({ component: "cases" }),
        },
      );
      cases.start();
      stack.push({ name: "cases", stop: async () => cases.stop() });
      const deliveries = new Deliveries({ hubId: config.hub.id }, { documents, curriculum, views, membership });
      const reports = new Reports(
        { hubId: config.hub.id },
        { documents, checkpointer, views, membership, core: coreSource },
      );
      // Admission: between the transports and the Repo, only what owners signed enters (docs/security.md).
      const gate = new AdmissionGate(
        { federationId: config.federation.id },
        {
          ownerOf: (id) => fed.ownerOf(id),
          // Only a peer whose rights shrank (a removed member, a key rotated out, a peer not yet
          // admitted) has messages withheld: to a member's current key or the anchor nothing is
          // dropped behind automerge-repo's back, so no sync it believes sent can stall.
          mayReceive: (peer, id) =>
            peer === membership.anchor || membership.isCurrentKey(peer) || fed.mayShare(peer, id),
          attestableHeads: (id, heads) => documents.attestableHeads(id, heads),
          self: { peerId: identity.peerId, sign: (data) => identity.signSync(data) },
          handle: (id) => repo.handles[id],
          store: attestationStore(store),
          logger: logger.child({ component: "admission" }),
          ...(metrics ? { metrics } : {}),
        },
      );
      await gate.start();
      stack.push({ name: "admission", stop: () => gate.stop() });
      const network = await startNetwork(
        config,
        identity,
        fed,
        repo,
        gate,
        logger.child({ component: "network" }),
        metrics,
      );
      census = async () => {
        const bytes = await levelStorage.storedBytes();
        const own = new Map(documents.describe().map((d) => [d.id as string, d.header.type]));
        const foreign = new Map(views.views().map((v) => [v.documentId as string, documentTypeOf(v.doc) ?? "other"]));
        return [...bytes].map(([id, b]) => ({
          type: own.get(id) ?? foreign.get(id) ?? "other",
          owner: own.has(id) ? ("self" as const) : ("others" as const),
          bytes: b,
        }));
      };
      stack.push({ name: "network", stop: () => network.stop() });

      const startedAt = new Date().toISOString();
      const api = new ApiServer(
        {
          host: config.api.host,
          port: config.api.port,
          ...(config.api.tls ? { tls: config.api.tls } : {}),
          identity: { hubId: config.hub.id, peerId: identity.peerId },
          extraServices: network.grpc
            ? [{ definition: ReplicationServiceService, implementation: network.grpc.service() }]
            : [],
        },
        {
          operators,
          roster,
          documents,
          store,
          network,
          federation: fed,
          charter,
          coreAuthoring,
          coreSource,
          verifiedCore,
          curriculum,
          credentials,
          availability,
          bookings,
          cases,
          deliveries,
          reports,
          membership,
          repo,
          views,
          logger: logger.child({ component: "api" }),
          ...(metrics ? { metrics } : {}),
          info: {
            hubId: config.hub.id,
            hubName: config.hub.name,
            role: config.hub.role,
            peerId: identity.peerId,
            federationId: config.federation.id,
            version: VERSION,
            startedAt,
          },
          keys,
          audit: async () => ({
            hubId: config.hub.id,
            peerId: identity.peerId,
            federationId: config.federation.id,
            documents,
            checkpointer,
            views,
            repo,
            membership,
            coreSource,
          }),
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
      // Only now read other hubs' documents from disk (the heaviest part of a restart): the API
      // already answers from the persisted indexes, and the views catch up behind it.
      views.follow();

      let metricsAddress: string | undefined;
      if (metrics && config.metrics.port !== undefined) {
        const served = await serveMetrics(metrics, config.metrics.host, config.metrics.port);
        metricsAddress = served.address;
        stack.push({
          name: "metrics",
          stop: () => new Promise<void>((resolve) => served.server.close(() => resolve())),
        });
      }

      const runtime: RuntimeInfo = {
        state: "running",
        pid: process.pid,
        api: api.address,
        ...(metricsAddress ? { metrics: metricsAddress } : {}),
        tls: api.tls,
        hubId: config.hub.id,
        peerId: identity.peerId,
        libp2p: network.libp2pAddresses(),
        startedAt,
      };
      // Nothing personal in it, but the directory is private anyway: 0600 like every other file.
      await writeRuntimeFile(this.paths.runtime, runtime);
      stack.push({ name: "runtime file", stop: () => releaseRuntimeFile(this.paths.runtime, runtime) });

      logger.info(
        {
          peerId: identity.peerId,
          api: api.address,
          libp2p: network.libp2pAddresses(),
          metrics: metricsAddress,
          trainers: roster.count(),
          version: VERSION,
        },
        "node started",
      );
      this.#running = {
        config,
        logger,
        identity,
        store,
        operators,
        repo,
        documents,
        roster,
        membership,
        charter,
        federation: fed,
        checkpointer,
        views,
        coreAuthoring,
        coreSource,
        verifiedCore,
        curriculum,
        credentials,
        availability,
        bookings,
        cases,
        deliveries,
        reports,
        admission: gate,
        network,
        api,
        stack,
      };
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
      const stopWatching = membership.onChange(onCharter);
      stack.push({ name: "key rotation", stop: async () => void stopWatching() });
      onCharter(); // a charter verified during start

      return this.#running;
    } catch (error) {
      logger.error({ err: error }, "start failed; undoing");
      await unwind(stack, logger);
      logger.flush();
      throw error;
    }
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
        await unwind(running.stack, running.logger);
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
  membership: Membership;
  charter: CharterAdmin;
  federation: Federation;
  checkpointer: Checkpointer;
  views: VerifiedViews;
  coreAuthoring: CoreAuthoring;
  coreSource: CoreSource;
  verifiedCore: VerifiedCoreReleases;
  curriculum: Curriculum;
  credentials: Credentials;
  availability: Availability;
  bookings: Bookings;
  cases: Cases;
  deliveries: Deliveries;
  reports: Reports;
  admission: AdmissionGate;
  network: NodeNetwork;
  api: ApiServer;
  stack: Array<{ name: string; stop: () => Promise<void> }>;
}

const ATTESTED_PREFIX = "attested/";

/** Verified attestations of foreign documents, one entry per document in the store's meta sublevel. */
function attestationStore(store: NodeStore): AttestationStore {
  return {
    async load() {
      const entries: Array<{ documentId: string; attestations: Attestation[] }> = [];
      for await (const [key, value] of store.meta.iterator({ gt: ATTESTED_PREFIX, lt: `${ATTESTED_PREFIX}~` })) {
        const stored = readAttestations(
          (value as { attestations?: Array<{ signer: string; heads: string[]; signature: string }> }).attestations?.map(
            (a) => ({ ...a, signature: Buffer.from(a.signature, "base64") }),
          ),
        );
        entries.push({ documentId: key.slice(ATTESTED_PREFIX.length), attestations: stored });
      }
      return entries;
    },
    save: (entries) =>
      store.batch(
        entries.map(({ documentId, attestations }) => ({
          type: "put" as const,
          sublevel: store.meta,
          key: `${ATTESTED_PREFIX}${documentId}`,
          value: {
            attestations: attestations.map((a) => ({
              signer: a.signer,
              heads: a.heads,
              signature: Buffer.from(a.signature).toString("base64"),
            })),
          },
        })),
      ),
  };
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
