import { readFile } from "node:fs/promises";
import type { DocumentId } from "@automerge/automerge-repo";
import type { Logger } from "pino";
import { AdmissionGate, type Attestation, type AttestationStore, readAttestations } from "./admission/index.js";
import { API_MAX_RECEIVE_MESSAGE_BYTES, ApiServer } from "./api/index.js";
import { ConsoleServer } from "./console/index.js";
import type { NodeInfo } from "./api/index.js";
import { Checkpointer, VerifiedViews } from "./authority/index.js";
import { Bookings, engagementsBusyTime, engagementsSpec, outboxSpec } from "./bookings/index.js";
import { Cases } from "./cases/index.js";
import type { NodeConfig } from "./config/index.js";
import {
  CoreAuthoring,
  type CoreSource,
  Curriculum,
  coreSpec,
  curriculumSpec,
  VerifiedCoreReleases,
} from "./core/index.js";
import { Credentials, credentialsSpec } from "./credentials/index.js";
import { tightenDataDir } from "./data-permissions.js";
import { Deliveries, deliveriesSpecs } from "./deliveries/index.js";
import { Audits } from "./audits/index.js";
import { Feedback } from "./feedback/index.js";
import { Grievances } from "./grievances/index.js";
import { Plans } from "./plans/index.js";
import { documentTypeOf, OwnedDocuments } from "./documents/index.js";
import {
  bookingEvents,
  checkpointEvents,
  curriculumEvents,
  EventHub,
  memberEvents,
  peerEvents,
  releaseEvents,
  rosterEvents,
} from "./events/index.js";
import {
  CharterAdmin,
  DIRECTORY_KEY,
  directoryIdOf,
  directoryListing,
  directorySpec,
  Federation,
  Membership,
  ownedDocumentId,
} from "./federation/index.js";
import { KeyRotation, loadIdentityFile, type NodeIdentity, readIdentityBytes } from "./identity/index.js";
import { type Lifecycle, type Step, step } from "./lifecycle.js";
import { MetricsServer, PromMetrics } from "./metrics.js";
import { ReplicationServiceService } from "./network/index.js";
import { NodeNetwork } from "./network/index.js";
import { Operators } from "./operators/index.js";
import type { DataPaths } from "./paths.js";
import { Availability } from "./query/index.js";
import { Replica } from "./replica/index.js";
import { Reports } from "./reports/index.js";
import { Roster } from "./roster/index.js";
import { LevelStorageAdapter } from "./storage/index.js";
import { NodeStore } from "./storage/index.js";
import { SealableStorage } from "./storage/index.js";
import { VERSION } from "./version.js";

/**
 * Everything a running node is made of, built once by `createComponents`: the API server serves
 * from it, `RunningNode` exposes it, and `startOrder` says in which order its parts start.
 */
export interface Components {
  config: NodeConfig;
  logger: Logger;
  identity: NodeIdentity;
  keys: KeyRotation;
  /** Who this node is, as the API names it. */
  info: NodeInfo;
  /** The secretariat's node: the trust anchor's key and role `secretariat`. */
  isSecretariat: boolean;
  store: NodeStore;
  operators: Operators;
  repoStorage: SealableStorage;
  /** The replicated copies, in a worker thread (docs/architecture.md, "The replica worker"). */
  replica: Replica;
  documents: OwnedDocuments;
  roster: Roster;
  membership: Membership;
  charter: CharterAdmin;
  federation: Federation;
  checkpointer: Checkpointer;
  views: VerifiedViews;
  coreAuthoring: CoreAuthoring;
  verifiedCore: VerifiedCoreReleases;
  /** Releases as this node knows them: its own at the secretariat, verified ones at a hub. */
  coreSource: CoreSource;
  curriculum: Curriculum;
  credentials: Credentials;
  availability: Availability;
  bookings: Bookings;
  cases: Cases;
  deliveries: Deliveries;
  audits: Audits;
  /** The grievance register (docs/grievances.md). */
  grievances: Grievances;
  feedback: Feedback;
  plans: Plans;
  reports: Reports;
  admission: AdmissionGate;
  network: NodeNetwork;
  /** The live event stream (WatchEvents): changes at the node, fanned out to watchers. */
  events: EventHub;
  /** Present when `metrics.port` is configured. */
  metrics: PromMetrics | undefined;
  metricsServer: MetricsServer | undefined;
  api: ApiServer;
  /** The web console (docs/web-console.md); absent when `console.enabled` is false. */
  console: ConsoleServer | undefined;
}

export interface ComponentsInit {
  config: NodeConfig;
  logger: Logger;
  paths: DataPaths;
  /** A part the node cannot run without failed while running (the replica worker died). */
  onFatal?: (error: Error) => void;
}

/**
 * Builds the node's components. Only what must be read from disk before anything can be built is
 * done here, in this order: a key switch a crash interrupted is finished, the identity is loaded,
 * the data directory made private, the store opened (its close goes on `lifecycle`, so that a
 * failure later undoes it) and the operators read. The rest is built without starting anything:
 * `startOrder` starts it.
 */
export async function createComponents(init: ComponentsInit, lifecycle: Lifecycle): Promise<Components> {
  const { config, logger, paths } = init;
  const keys = new KeyRotation(paths.identity);
  if (await keys.recover()) logger.warn("finished switching to the rotated key that a crash interrupted");
  const identity = await loadIdentityFile(paths.identity);
  // Only the node's user may read its data, whatever made the files (an older version, a hand).
  const fixed = await tightenDataDir(paths.root, (path, error) =>
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
  const store = await NodeStore.open(paths.db, {
    sync: config.storage.sync,
    logger: logger.child({ component: "store" }),
  });
  await lifecycle.start(step("store", { stop: () => store.close() }));
  const operators = await Operators.open(store, logger.child({ component: "operators" }));
  // Every document this hub owns has an id derived from its directory's (ids.ts); the
  // directory's derives from the hub's first key and stays when the key is rotated.
  const directoryId = (await OwnedDocuments.registeredId(store, DIRECTORY_KEY)) ?? directoryIdOf(identity.peerId);

  const hubId = config.hub.id;
  const federationId = config.federation.id;
  const isSecretariat = config.hub.role === "secretariat" && config.federation.anchor === identity.peerId;
  const info: NodeInfo = {
    hubId,
    hubName: config.hub.name,
    role: config.hub.role,
    peerId: identity.peerId,
    federationId,
    version: VERSION,
    startedAt: new Date().toISOString(),
  };
  const child = (component: string) => logger.child({ component });

  const membership = new Membership({
    federationId,
    anchor: config.federation.anchor,
    rotationGraceMs: config.federation.rotationGraceSeconds * 1000,
  });
  // Metrics (when configured): components count as they work; the census reads documents at scrape time.
  const metrics =
    config.metrics.port === undefined
      ? undefined
      : new PromMetrics({
          hubOf: (peer) => membership.hubOf(peer),
          hubOfDirectory: (directory) => membership.memberByDirectory(directory)?.hub ?? "",
          labels: { node: hubId },
        });

  // The Repo's writes go through the store, so that they wait while the disk is full instead of failing.
  const levelStorage = new LevelStorageAdapter(store.repoLevel());
  const repoStorage = new SealableStorage(levelStorage, child("repo-storage"), { refusals: store });
  // The Repo runs in the replica worker; it reaches this storage through the link.
  const replica = new Replica(
    { peerId: identity.peerId },
    { storage: repoStorage, logger: child("replica"), ...(init.onFatal ? { onFailed: init.onFatal } : {}) },
  );
  const documents = new OwnedDocuments(
    { owner: hubId, listing: directoryListing, idFor: (key) => ownedDocumentId(directoryId, key) },
    { store, replica, repoStorage, logger: child("documents") },
  );
  const roster = new Roster(
    { hubId, shards: config.roster.shards, maxPerShard: config.roster.maxPerShard },
    { documents, logger: child("roster") },
  );
  const federation = new Federation(
    { self: { hubId, peerId: identity.peerId, directoryId }, peers: config.network.peers },
    { replica, documents, membership, logger: child("federation") },
  );
  // The federation decides what is shared, and with whom (ARCHITECTURE.md, "Confidentiality").
  replica.sharePolicy = (peer, doc) => federation.mayShare(peer, doc as DocumentId);
  const views = new VerifiedViews(
    { federationId, selfDirectoryId: directoryId, staleAfterMs: config.federation.staleAfterSeconds * 1000 },
    { membership, replica, store, logger: child("verified-views"), ...(metrics ? { metrics } : {}) },
  );
  metrics?.countReplica(replica);
  metrics?.countDocuments({
    documents: async () => {
      const bytes = await levelStorage.storedBytes();
      const own = new Map(documents.describe().map((d) => [d.id as string, d.header.type]));
      const foreign = new Map(views.views().map((v) => [v.documentId as string, documentTypeOf(v.doc) ?? "other"]));
      return [...bytes].map(([id, b]) => ({
        type: own.get(id) ?? foreign.get(id) ?? "other",
        owner: own.has(id) ? ("self" as const) : ("others" as const),
        bytes: b,
      }));
    },
  });
  const charter = new CharterAdmin(
    {
      hubId,
      name: config.hub.name,
      region: config.hub.region,
      role: config.hub.role,
      peerId: identity.peerId,
      directoryId,
      federationId,
    },
    // The cutoff recorded when a member is removed or re-keyed: the newest seq verified here.
    { documents, membership, logger: child("charter"), lastSeqOf: (hub) => views.latestSeq(hub) },
  );
  const checkpointer = new Checkpointer(
    {
      federationId,
      peerId: identity.peerId,
      directoryKey: DIRECTORY_KEY,
      heartbeatMs: config.federation.heartbeatSeconds * 1000,
      batchMs: config.federation.checkpointBatchMs,
    },
    { documents, store, sign: (data) => identity.sign(data), logger: child("checkpoints") },
  );
  const coreAuthoring = new CoreAuthoring(
    { isSecretariat, federationId, creator: config.hub.name },
    { documents, checkpointer, logger: child("core") },
  );
  const verifiedCore = new VerifiedCoreReleases(
    { federationId },
    { membership, replica, store, logger: child("core") },
  );
  const coreSource = isSecretariat ? coreAuthoring : verifiedCore;
  const curriculum = new Curriculum({ hubId, documents, core: coreSource, logger: child("curriculum") });
  const credentials = new Credentials(
    { hubId, name: config.hub.name, peerId: identity.peerId },
    {
      sign: (data) => identity.sign(data),
      documents,
      membership,
      views,
      core: coreSource,
      localSchemes: () => curriculum.current().schemes,
      roster,
      logger: child("credentials"),
    },
  );
  const availability = new Availability(
    { hubId },
    {
      documents,
      views,
      membership,
      credentials,
      core: coreSource,
      busyTime: engagementsBusyTime,
      store,
      logger: child("availability"),
    },
  );
  const bookings = new Bookings(
    { hubId, policy: config.bookings.policy, requestTtlMs: config.bookings.requestTtlHours * 3_600_000 },
    { documents, views, membership, roster, availability, credentials, logger: child("bookings") },
  );
  const cases = new Cases(
    { hubId, isSecretariat },
    { documents, views, membership, tree: () => availability.competencyTree(), logger: child("cases") },
  );
  const deliveries = new Deliveries(
    { hubId },
    { documents, curriculum, views, membership, instruments: (ref) => cases.instrumentProblem(ref) },
  );
  const audits = new Audits({ hubId, isSecretariat }, { documents, views, membership, checkpointer, deliveries });
  const feedback = new Feedback(
    { hubId, isSecretariat },
    { documents, views, membership, core: coreSource, cases, deliveries, logger: child("feedback") },
  );
  const plans = new Plans(
    { hubId, federationId, peerId: identity.peerId },
    {
      sign: (data) => identity.sign(data),
      documents,
      views,
      membership,
      checkpointer,
      curriculum,
      core: coreSource,
      deliveries,
    },
  );
  const grievances = new Grievances({ hubId }, { documents, views, membership });
  const reports = new Reports({ hubId }, { documents, checkpointer, views, membership, core: coreSource });
  // Admission: between the transports and the Repo, only what owners signed enters (docs/security.md).
  const admission = new AdmissionGate(
    { federationId },
    {
      ownerOf: (id) => federation.ownerOf(id),
      // Only a peer whose rights shrank (a removed member, a key rotated out, a peer not yet
      // admitted) has messages withheld: to a member's current key or the anchor nothing is
      // dropped behind automerge-repo's back, so no sync it believes sent can stall.
      mayReceive: (peer, id) =>
        peer === membership.anchor || membership.isCurrentKey(peer) || federation.mayShare(peer, id),
      attestableHeads: (id, heads) => documents.attestableHeads(id, heads),
      self: { peerId: identity.peerId, sign: (data) => identity.signSync(data) },
      apply: (id, chunks) => replica.admit(id, chunks),
      heads: (id) => replica.heads(id) ?? [],
      store: attestationStore(store),
      logger: child("admission"),
      ...(metrics ? { metrics } : {}),
    },
  );
  const network = new NodeNetwork(config, {
    identity,
    federation,
    replica,
    gate: admission,
    logger: child("network"),
    metrics,
  });
  const events = new EventHub(
    { hubId },
    {
      sources: [
        bookingEvents({ hubId, ledger: bookings.ledger, documents, views, membership, logger: child("events") }),
        releaseEvents({ isSecretariat, core: coreSource, documents, views, logger: child("events") }),
        peerEvents(network),
        checkpointEvents({ views, logger: child("events") }),
        memberEvents(membership),
        rosterEvents(roster),
        curriculumEvents(curriculum),
      ],
      logger: child("events"),
    },
  );
  const metricsServer =
    metrics && config.metrics.port !== undefined
      ? new MetricsServer({ host: config.metrics.host, port: config.metrics.port }, { metrics })
      : undefined;

  const services = {
    config,
    logger,
    identity,
    keys,
    info,
    isSecretariat,
    store,
    operators,
    repoStorage,
    replica,
    documents,
    roster,
    membership,
    charter,
    federation,
    checkpointer,
    views,
    coreAuthoring,
    verifiedCore,
    coreSource,
    curriculum,
    credentials,
    availability,
    bookings,
    cases,
    deliveries,
    audits,
    grievances,
    feedback,
    plans,
    reports,
    admission,
    network,
    events,
    metrics,
    metricsServer,
  };
  // The API serves from the same components, with its own logger and what it reads at call time.
  const api = new ApiServer(
    {
      host: config.api.host,
      port: config.api.port,
      ...(config.api.tls ? { tls: config.api.tls } : {}),
      identity: { hubId, peerId: identity.peerId },
      extraServices: network.grpc
        ? [{ definition: ReplicationServiceService, implementation: network.grpc.service() }]
        : [],
    },
    {
      ...services,
      logger: child("api"),
      audit: async () => ({
        hubId,
        peerId: identity.peerId,
        federationId,
        documents,
        checkpointer,
        views,
        replica,
        membership,
        coreSource,
      }),
      backupHeader: async () => ({
        hubId,
        peerId: identity.peerId,
        config: await readFile(paths.config, "utf8"),
        identityKey: Buffer.from(await readIdentityBytes(paths.identity)).toString("base64"),
      }),
    },
  );
  const consoleConfig = config.console;
  const consoleTls = consoleConfig.tls ?? config.api.tls;
  const console = consoleConfig.enabled
    ? new ConsoleServer(
        {
          host: consoleConfig.host,
          port: consoleConfig.port,
          ...(consoleTls ? { tls: consoleTls } : {}),
          readMaxBytes: API_MAX_RECEIVE_MESSAGE_BYTES,
        },
        { api, logger: child("console"), core: coreSource },
      )
    : undefined;
  return { ...services, api, console };
}

/**
 * The order the components start in (they stop in reverse). The store, opened while building, is
 * already on the lifecycle. Durability: the replica's stop flushes what is ready and seals its
 * storage, after everything that writes (the network, the checkpoints, the documents) has stopped.
 */
export function startOrder(c: Components): Step[] {
  const { replica, repoStorage, documents } = c;
  return [
    step("replica", {
      start: () => replica.start(),
      stop: async () => {
        try {
          // The network adapters were disconnected by the network's stop: the worker writes what
          // its Repo has not saved yet and ends.
          await replica.stop();
        } finally {
          await repoStorage.seal();
        }
      },
    }),
    step("documents", { start: () => documents.open(), stop: () => documents.idle() }),
    step("owned documents", {
      start: () =>
        documents.ensure([
          directorySpec(c.config.hub.id, c.identity.peerId),
          ...c.roster.documentSpecs(),
          curriculumSpec(),
          credentialsSpec(),
          outboxSpec(),
          engagementsSpec(),
          ...deliveriesSpecs(),
          ...(c.isSecretariat ? [coreSpec()] : []),
        ]),
    }),
    { name: "charter", component: c.charter },
    { name: "federation", component: c.federation },
    { name: "checkpoints", component: c.checkpointer },
    { name: "verified views", component: c.views },
    // At the secretariat the core is its own authoring copy: nothing to verify.
    ...(c.isSecretariat ? [] : [{ name: "verified core", component: c.verifiedCore }]),
    { name: "availability", component: c.availability },
    { name: "bookings", component: c.bookings },
    { name: "cases", component: c.cases },
    { name: "admission", component: c.admission },
    { name: "network", component: c.network },
    { name: "api", component: c.api },
    // After the API, so that its stop ends the open event streams before the API's stop waits for
    // its calls to finish (a stream opened before it starts waits for its first events).
    { name: "events", component: c.events },
    // Last of the three: its stop ends browsers' streams and its in-process link before the others stop.
    ...(c.console ? [{ name: "console", component: c.console }] : []),
    // Only now read other hubs' documents from disk (the heaviest part of a restart): the API
    // already answers from the persisted indexes, and the views catch up behind it. The verified
    // views' own stop ends the following.
    step("follow verified views", { start: () => c.views.follow() }),
    ...(c.metricsServer ? [{ name: "metrics", component: c.metricsServer }] : []),
  ];
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
