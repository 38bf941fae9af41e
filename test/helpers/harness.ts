/**
 * Test harness: a real ConcordatNode in a temp data dir, listening on 127.0.0.1 on a free port, plus
 * promise helpers for the callback-style grpc-js clients.
 */
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import {
  closeClient,
  credentials,
  InterceptingCall,
  makeGenericClientConstructor,
  Metadata,
  type CallOptions,
  type Client,
  type ClientUnaryCall,
  type Interceptor,
  type ServiceDefinition,
  type ServiceError,
} from "@grpc/grpc-js";
import { service as healthServiceDefinition } from "grpc-health-check";
import { ConcordatNode, type RunningNode } from "../../node/node.js";
import { initDataDir } from "../../node/setup.js";
import { NodeServiceClient, OperatorServiceClient } from "../../node/api/generated/concordat/v1/node.js";
import { FederationServiceClient, KeyServiceClient } from "../../node/api/generated/concordat/v1/federation.js";
import { AuditServiceClient, CoreServiceClient } from "../../node/api/generated/concordat/v1/core.js";
import {
  TrainerServiceClient,
  type ImportOptions,
  type ImportResult,
  type ImportRow,
  type ImportTrainersRequest,
  type Trainer,
} from "../../node/api/generated/concordat/v1/trainers.js";

/** Every call made through the helpers gets this deadline, so no test can hang on the network. */
export const CALL_DEADLINE_MS = 10_000;

export const DEFAULT_CONFIG_URL = new URL("../../config/default.yaml", import.meta.url);

// ---------------------------------------------------------------------------------------------
// health client (grpc.health.v1.Health, from the grpc-health-check package's service definition)

export interface HealthCheckResponse {
  status: "UNKNOWN" | "SERVING" | "NOT_SERVING" | "SERVICE_UNKNOWN";
}

export interface HealthClient extends Client {
  check(
    request: { service: string },
    metadata: Metadata,
    options: Partial<CallOptions>,
    callback: (error: ServiceError | null, response: HealthCheckResponse) => void,
  ): ClientUnaryCall;
}

const HealthClientConstructor = makeGenericClientConstructor(
  healthServiceDefinition as unknown as ServiceDefinition,
  "grpc.health.v1.Health",
) as unknown as new (
  address: string,
  creds: ReturnType<typeof credentials.createInsecure>,
  options?: object,
) => HealthClient;

// ---------------------------------------------------------------------------------------------
// clients

export interface TestClients {
  trainers: TrainerServiceClient;
  operators: OperatorServiceClient;
  node: NodeServiceClient;
  federation: FederationServiceClient;
  keys: KeyServiceClient;
  core: CoreServiceClient;
  audit: AuditServiceClient;
  health: HealthClient;
  close(): void;
}

/** Adds `authorization: Bearer <token>` to every call (unless the call already sets one). */
function bearerInterceptor(token: string): Interceptor {
  return (options, nextCall) =>
    new InterceptingCall(nextCall(options), {
      start(metadata, listener, next) {
        if (metadata.get("authorization").length === 0) metadata.set("authorization", `Bearer ${token}`);
        next(metadata, listener);
      },
    });
}

/** Clients for the API at `address`; with a token, every call carries it. */
export function makeClients(address: string, token?: string): TestClients {
  const options = token === undefined ? {} : { interceptors: [bearerInterceptor(token)] };
  const insecure = credentials.createInsecure();
  const clients = {
    trainers: new TrainerServiceClient(address, insecure, options),
    operators: new OperatorServiceClient(address, insecure, options),
    node: new NodeServiceClient(address, insecure, options),
    federation: new FederationServiceClient(address, insecure, options),
    keys: new KeyServiceClient(address, insecure, options),
    core: new CoreServiceClient(address, insecure, options),
    audit: new AuditServiceClient(address, insecure, options),
    health: new HealthClientConstructor(address, insecure, options),
  };
  return {
    ...clients,
    close: () => {
      for (const client of Object.values(clients)) closeClient(client);
    },
  };
}

/** `authorization: Bearer <token>` metadata (empty metadata without a token). */
export function authMetadata(token?: string): Metadata {
  const metadata = new Metadata();
  if (token !== undefined) metadata.set("authorization", `Bearer ${token}`);
  return metadata;
}

// ---------------------------------------------------------------------------------------------
// promise helpers

type UnaryCallback<Res> = (error: ServiceError | null, response: Res) => void;
type UnaryFn<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: UnaryCallback<Res>,
) => ClientUnaryCall;

/** The request and response types of a client's unary method (from its last, 4-argument overload). */
export type RequestOf<F> = F extends (
  request: infer Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: UnaryCallback<infer _Res>,
) => ClientUnaryCall
  ? Req
  : never;
export type ResponseOf<F> = F extends (
  request: infer _Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: UnaryCallback<infer Res>,
) => ClientUnaryCall
  ? Res
  : never;
export type UnaryMethod<C> = {
  [K in keyof C]: C[K] extends (
    request: never,
    metadata: Metadata,
    options: Partial<CallOptions>,
    callback: never,
  ) => ClientUnaryCall
    ? K
    : never;
}[keyof C] &
  string;

/**
 * Calls a unary method and returns its response, or rejects with the grpc ServiceError. `auth` is a
 * bearer token, or full metadata (e.g. a malformed authorization header); without it the call carries
 * whatever the client's interceptor adds.
 */
export function call<C extends Client, K extends UnaryMethod<C>>(
  client: C,
  method: K,
  request: RequestOf<C[K]>,
  auth?: string | Metadata,
): Promise<ResponseOf<C[K]>> {
  const metadata = auth instanceof Metadata ? auth : authMetadata(auth);
  const fn = client[method] as unknown as UnaryFn<RequestOf<C[K]>, ResponseOf<C[K]>>;
  return new Promise((resolve, reject) => {
    fn.call(client, request, metadata, { deadline: Date.now() + CALL_DEADLINE_MS }, (error, response) => {
      if (error) reject(error);
      else resolve(response);
    });
  });
}

/** Awaits a promise expected to fail with a grpc ServiceError and returns it. */
export async function expectServiceError(promise: Promise<unknown>): Promise<ServiceError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof Error && typeof (error as Partial<ServiceError>).code === "number")
      return error as ServiceError;
    throw error;
  }
  throw new Error("expected the call to fail, but it succeeded");
}

/** ImportTrainers with the given messages, in order (for protocol-level tests). */
export function importTrainersRaw(
  client: TrainerServiceClient,
  messages: readonly ImportTrainersRequest[],
  token?: string,
  deadlineMs = CALL_DEADLINE_MS,
): Promise<ImportResult> {
  return new Promise((resolve, reject) => {
    const stream = client.importTrainers(
      authMetadata(token),
      { deadline: Date.now() + deadlineMs },
      (error, response) => {
        if (error) reject(error);
        else resolve(response);
      },
    );
    for (const message of messages) stream.write(message);
    stream.end();
  });
}

/** ImportTrainers client stream: the options message, then each batch of rows as one message. */
export function importTrainers(
  client: TrainerServiceClient,
  options: Partial<ImportOptions>,
  batches: readonly (readonly ImportRow[])[],
  token?: string,
  deadlineMs = CALL_DEADLINE_MS,
): Promise<ImportResult> {
  const messages: ImportTrainersRequest[] = [
    { part: { $case: "options", value: { skipInvalid: false, dryRun: false, upsert: false, ...options } } },
    ...batches.map((rows): ImportTrainersRequest => ({ part: { $case: "rows", value: { rows: [...rows] } } })),
  ];
  return importTrainersRaw(client, messages, token, deadlineMs);
}

/** ExportTrainers: collects the whole stream, or rejects with the stream's error. */
export function exportTrainers(
  client: TrainerServiceClient,
  includePrivate: boolean,
  token?: string,
  deadlineMs = CALL_DEADLINE_MS,
): Promise<Trainer[]> {
  return new Promise((resolve, reject) => {
    const stream = client.exportTrainers({ includePrivate }, authMetadata(token), {
      deadline: Date.now() + deadlineMs,
    });
    const trainers: Trainer[] = [];
    stream.on("data", (t: Trainer) => trainers.push(t));
    stream.on("error", reject);
    stream.on("end", () => resolve(trainers));
  });
}

// ---------------------------------------------------------------------------------------------
// trainers

export type TrainerInput = Partial<Omit<Trainer, "id">>;

/** A valid trainer message (with private data); `overrides` replace whole fields. */
export function makeTrainer(id: string, overrides: TrainerInput = {}): Trainer {
  return {
    id,
    displayName: `Trainer ${id}`,
    homeHub: "",
    languages: [
      { tag: "en", level: "C1" },
      { tag: "fr", level: "B2" },
    ],
    regions: ["KE", "UG"],
    accreditations: [
      {
        scheme: "unitar",
        competency: "dialogue",
        level: "2",
        validFrom: "2025-01-01",
        validUntil: "2027-01-01",
        status: "active",
      },
    ],
    availability: [{ start: "2026-03-01T00:00:00.000Z", end: "2026-04-01T00:00:00.000Z" }],
    blackouts: [{ start: "2026-03-10", end: "2026-03-12" }],
    private: {
      email: `${id.toLowerCase()}@example.org`,
      phone: "+254 700 000000",
      nationalId: `N-${id}`,
      notes: "prefers mornings",
    },
    updatedAt: "",
    updatedBy: "",
    ...overrides,
  };
}

// ---------------------------------------------------------------------------------------------
// the node

export interface StartTestNodeOptions {
  hubId?: string;
  /** Extra CONCORDAT_* overrides (applied on top of the harness defaults). */
  env?: Record<string, string>;
  /** Use this data dir (initialised unless it already holds a node); the caller removes it. */
  dataDir?: string;
}

export interface TestNode {
  /** The current node (a new instance after `restart()`). */
  readonly node: ConcordatNode;
  readonly running: RunningNode;
  readonly dataDir: string;
  /** `127.0.0.1:<port>` of the current API (changes on restart). */
  readonly address: string;
  readonly adminToken: string;
  readonly adminOperatorId: string;
  readonly env: Record<string, string>;
  /** Log lines (JSON) the node wrote since the harness started it. */
  readonly logs: readonly string[];
  /** Clients for the current address; closed by `restart`, `stop` and `cleanup`. */
  clients(token?: string): TestClients;
  /** Stops the node and starts a fresh ConcordatNode on the same data dir. */
  restart(): Promise<void>;
  stop(): Promise<void>;
  /** Stops the node and removes the data dir if the harness created it. */
  cleanup(): Promise<void>;
}

export const HARNESS_ENV: Readonly<Record<string, string>> = {
  CONCORDAT_API_PORT: "0",
  CONCORDAT_LOG_LEVEL: "warn",
  CONCORDAT_LOG_PRETTY: "false",
  CONCORDAT_NETWORK_LISTEN: "/ip4/127.0.0.1/tcp/0",
};

/** A writable that keeps what the node logs in memory, so test output stays clean. */
function logSink(lines: string[]): Writable {
  return new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      for (const line of chunk.toString().split("\n")) if (line !== "") lines.push(line);
      callback();
    },
  });
}

export function makeTempDir(prefix = "concordat-test-"): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export async function startTestNode(options: StartTestNodeOptions = {}): Promise<TestNode> {
  const ownDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await makeTempDir());
  const env = { ...HARNESS_ENV, ...options.env };
  let adminOperatorId = "";
  try {
    if (!existsSync(join(dataDir, "config.yaml"))) {
      const init = await initDataDir({
        dataDir,
        hubId: options.hubId ?? "test-hub",
        name: "Test hub",
        secretariat: false,
        baseConfig: await readFile(DEFAULT_CONFIG_URL, "utf8"),
        baseConfigSource: DEFAULT_CONFIG_URL.pathname,
      });
      adminOperatorId = init.adminOperatorId;
    }
  } catch (error) {
    if (ownDir) await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
  const adminToken = (await readFile(join(dataDir, "admin.token"), "utf8")).trim();
  adminOperatorId ||= /^cct_([a-f0-9]{16})\./.exec(adminToken)?.[1] ?? "";

  const logs: string[] = [];
  const open: TestClients[] = [];
  let node = new ConcordatNode({ dataDir, env, logDestination: logSink(logs) });
  let running: RunningNode | undefined;

  const closeClients = () => {
    for (const c of open.splice(0)) c.close();
  };
  const stop = async () => {
    closeClients();
    const current = running;
    running = undefined;
    if (current) await node.stop();
  };
  const start = async () => {
    running = await node.start();
  };
  const address = () => {
    if (!running) throw new Error("the test node is stopped");
    return node.running.api.address;
  };
  try {
    await start();
  } catch (error) {
    if (ownDir) await rm(dataDir, { recursive: true, force: true });
    throw error;
  }

  return {
    get node() {
      return node;
    },
    /** The node's current components (new ones after it restarts itself, e.g. to switch keys). */
    get running() {
      if (!running) throw new Error("the test node is stopped");
      return node.running;
    },
    dataDir,
    get address() {
      return address();
    },
    adminToken,
    adminOperatorId,
    env,
    logs,
    clients(token?: string) {
      const clients = makeClients(address(), token);
      open.push(clients);
      return clients;
    },
    async restart() {
      await stop();
      node = new ConcordatNode({ dataDir, env, logDestination: logSink(logs) });
      await start();
    },
    stop,
    async cleanup() {
      try {
        await stop();
      } finally {
        if (ownDir) await rm(dataDir, { recursive: true, force: true });
      }
    },
  };
}
