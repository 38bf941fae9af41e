/**
 * Test harness: a real ConcordatNode in a temp data dir, listening on 127.0.0.1 on a free port, and
 * clients of its API (the node's own typed client, node/api/client.ts, with a test deadline).
 */
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { Metadata, status, type ServiceError } from "@grpc/grpc-js";
import { ConcordatNode, type RunningNode } from "../../node/node.js";
import { initDataDir } from "../../node/setup.js";
import { fieldViolations, isServiceError, nodeClient, type NodeClient } from "../../node/api/index.js";
import type {
  ImportOptions,
  ImportResult,
  ImportRow,
  ImportTrainersRequest,
  Trainer,
} from "../../node/api/generated/concordat/v1/trainers.js";

/** Every call made through the test clients gets this deadline, so no test can hang on the network. */
export const CALL_DEADLINE_MS = 10_000;

export const DEFAULT_CONFIG_URL = new URL("../../config/default.yaml", import.meta.url);

/** Clients of a test node's API: the node's typed client. */
export type TestClients = NodeClient;

/** A client of the API at `address` with the test deadline; with a token, every call carries it. */
export function makeClients(address: string, token?: string): TestClients {
  return nodeClient(address, { deadlineMs: CALL_DEADLINE_MS, ...(token === undefined ? {} : { token }) });
}

/** `authorization: Bearer <token>` metadata (empty metadata without a token), for raw calls. */
export function authMetadata(token?: string): Metadata {
  const metadata = new Metadata();
  if (token !== undefined) metadata.set("authorization", `Bearer ${token}`);
  return metadata;
}

/** Awaits a promise expected to fail with a grpc ServiceError and returns it. */
export async function expectServiceError(promise: Promise<unknown>): Promise<ServiceError> {
  try {
    await promise;
  } catch (error) {
    if (isServiceError(error)) return error;
    throw error;
  }
  throw new Error("expected the call to fail, but it succeeded");
}

/**
 * What a call refused as INVALID_ARGUMENT named, as `field: description` lines (a call that
 * succeeds, or fails otherwise, fails the test).
 */
export async function refusedFields(promise: Promise<unknown>): Promise<string[]> {
  const error = await expectServiceError(promise);
  if (error.code !== status.INVALID_ARGUMENT)
    throw new Error(`expected INVALID_ARGUMENT, got ${error.code}: ${error.details}`);
  return fieldViolations(error).map((v) => `${v.field}: ${v.description}`);
}

/** ImportTrainers' messages: the options message, then each batch of rows as one message. */
export function importMessages(
  options: Partial<ImportOptions>,
  batches: readonly (readonly ImportRow[])[],
): ImportTrainersRequest[] {
  return [
    { part: { $case: "options", value: { skipInvalid: false, dryRun: false, upsert: false, ...options } } },
    ...batches.map((rows): ImportTrainersRequest => ({ part: { $case: "rows", value: { rows: [...rows] } } })),
  ];
}

/** ImportTrainers client stream: the options message, then each batch of rows as one message. */
export function importTrainers(
  client: TestClients["trainers"],
  options: Partial<ImportOptions>,
  batches: readonly (readonly ImportRow[])[],
  token?: string,
  deadlineMs = CALL_DEADLINE_MS,
): Promise<ImportResult> {
  return client.importTrainers(importMessages(options, batches), {
    deadlineMs,
    ...(token === undefined ? {} : { token }),
  });
}

/** ExportTrainers: the whole stream, or the stream's error. */
export async function exportTrainers(
  client: TestClients["trainers"],
  includePrivate: boolean,
  token?: string,
  deadlineMs = CALL_DEADLINE_MS,
): Promise<Trainer[]> {
  const trainers: Trainer[] = [];
  for await (const trainer of client.exportTrainers(
    { includePrivate },
    { deadlineMs, ...(token === undefined ? {} : { token }) },
  ))
    trainers.push(trainer);
  return trainers;
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
  /** Called once the node stopped itself because a part it cannot run without failed. */
  onFatal?: (error: Error) => void;
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
  CONCORDAT_CONSOLE_PORT: "0",
  CONCORDAT_LOG_LEVEL: process.env.CONCORDAT_TEST_LOG_LEVEL ?? "warn",
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
  let node = new ConcordatNode({
    dataDir,
    env,
    logDestination: logSink(logs),
    ...(options.onFatal ? { onFatal: options.onFatal } : {}),
  });
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
      node = new ConcordatNode({
        dataDir,
        env,
        logDestination: logSink(logs),
        ...(options.onFatal ? { onFatal: options.onFatal } : {}),
      });
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
