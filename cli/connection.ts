import { readFile } from "node:fs/promises";
import { setTimeout as delay } from "node:timers/promises";
import {
  Client,
  credentials as grpcCredentials,
  Metadata,
  type ChannelCredentials,
  type ServiceError,
} from "@grpc/grpc-js";
import { NodeServiceClient, OperatorServiceClient } from "../node/api/generated/concordat/v1/node.js";
import { TrainerServiceClient } from "../node/api/generated/concordat/v1/trainers.js";
import { FederationServiceClient, KeyServiceClient } from "../node/api/generated/concordat/v1/federation.js";
import { AuditServiceClient, CoreServiceClient } from "../node/api/generated/concordat/v1/core.js";
import { CredentialServiceClient } from "../node/api/generated/concordat/v1/credentials.js";
import { AvailabilityServiceClient } from "../node/api/generated/concordat/v1/availability.js";
import { BookingServiceClient } from "../node/api/generated/concordat/v1/bookings.js";
import { CaseServiceClient } from "../node/api/generated/concordat/v1/cases.js";
import { DeliveryServiceClient } from "../node/api/generated/concordat/v1/deliveries.js";
import { ReportServiceClient } from "../node/api/generated/concordat/v1/reports.js";
import { loadConfigFile } from "../node/config/index.js";
import { IDENTITY_HEADERS } from "../node/api/index.js";
import { dataPaths, type DataPaths } from "../node/paths.js";
import { isProcessAlive, readRuntimeFile } from "../node/runtime-file.js";
import { CliError, ExitCode } from "./errors.js";

/** Options every command that talks to a node accepts (flags, then env, then the data directory). */
export interface ConnectionOptions {
  data?: string;
  api?: string;
  token?: string;
  tlsCa?: string;
  /** How long to wait for the data directory's node while it starts (default START_WAIT_MS). */
  startWaitMs?: number;
}

export interface Connection {
  address: string;
  metadata: Metadata;
  trainers: TrainerServiceClient;
  operators: OperatorServiceClient;
  node: NodeServiceClient;
  federation: FederationServiceClient;
  keys: KeyServiceClient;
  core: CoreServiceClient;
  audit: AuditServiceClient;
  credentials: CredentialServiceClient;
  availability: AvailabilityServiceClient;
  bookings: BookingServiceClient;
  cases: CaseServiceClient;
  deliveries: DeliveryServiceClient;
  reports: ReportServiceClient;
  close(): void;
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

/** How long a command waits for the data directory's node to finish starting, by default. */
export const START_WAIT_MS = 30_000;
const START_POLL_MS = 100;

/** Where the data directory's node answers, and who it must be there. */
interface Located {
  address: string;
  tls: boolean;
  expected: { hubId: string; peerId: string };
}

function noNodeRunning(dataDir: string, why = ""): CliError {
  return new CliError(
    `no node is running for ${dataDir}${why} (start it with \`concordat --data ${dataDir} start\`)`,
    ExitCode.Unavailable,
  );
}

/**
 * The data directory's node, from `node.json` (node/runtime-file.ts): waits while it starts (up to
 * `waitMs`), and says at once when none runs, rather than calling whatever answers on a default port.
 */
async function locate(dataDir: string, paths: DataPaths, waitMs: number): Promise<Located> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const read = await readRuntimeFile(paths.runtime);
    if (read.kind === "damaged") {
      throw new CliError(
        `${paths.runtime} is damaged (no API address); if no node is running, delete it`,
        ExitCode.Unavailable,
      );
    }
    if (read.kind === "missing") {
      if (await readOptional(paths.config)) throw noNodeRunning(dataDir);
      throw new CliError(
        `no node found: ${dataDir} holds no node (no node.json or config.yaml). Pass --data DIR or --api HOST:PORT, or run \`concordat init\`.`,
        ExitCode.Unavailable,
      );
    }
    const runtime = read.runtime;
    if (!isProcessAlive(runtime.pid)) {
      throw noNodeRunning(dataDir, `: its node (pid ${runtime.pid}) ended without removing ${paths.runtime}`);
    }
    if (runtime.state === "running") {
      let hubId = runtime.hubId;
      try {
        hubId = (await loadConfigFile(paths.config, {})).hub.id;
      } catch {
        // The running node's own word is the next best.
      }
      return { address: runtime.api, tls: runtime.tls === true, expected: { hubId, peerId: runtime.peerId } };
    }
    if (Date.now() >= deadline) {
      throw new CliError(
        `the node in ${dataDir} is still starting (pid ${runtime.pid}, since ${runtime.startedAt}); try again once its log says "node started"`,
        ExitCode.Unavailable,
      );
    }
    await delay(Math.min(START_POLL_MS, Math.max(0, deadline - Date.now())));
  }
}

/**
 * Asks the node at `address` who it is (the open health check; every answer names the node in its
 * headers, node/api/server.ts) and refuses a node that is not the data directory's hub. A node that
 * names no one (an older version) is taken at its word.
 */
async function checkIdentity(
  address: string,
  channel: ChannelCredentials,
  dataDir: string,
  expected: Located["expected"],
): Promise<void> {
  const client = new Client(address, channel);
  try {
    const headers = await new Promise<Metadata>((resolve, reject) => {
      let received: Metadata | undefined;
      const call = client.makeUnaryRequest(
        "/grpc.health.v1.Health/Check",
        (value: Buffer) => value,
        (value: Buffer) => value,
        Buffer.alloc(0),
        new Metadata(),
        { deadline: new Date(Date.now() + 10_000) },
        (error) => {
          if (received) resolve(received);
          else if (error) reject(error);
          else resolve(new Metadata());
        },
      );
      call.on("metadata", (metadata: Metadata) => {
        received = metadata;
      });
    });
    const hubId = headers.get(IDENTITY_HEADERS.hubId)[0];
    const peerId = headers.get(IDENTITY_HEADERS.peerId)[0];
    if (typeof hubId !== "string" || typeof peerId !== "string") return;
    if (hubId !== expected.hubId || peerId !== expected.peerId) {
      const who = hubId === expected.hubId ? `hub '${hubId}' with peer id ${peerId}` : `hub '${hubId}'`;
      const mine = hubId === expected.hubId ? `peer id ${expected.peerId}` : `hub '${expected.hubId}'`;
      throw new CliError(
        `the node at ${address} is ${who}, not ${dataDir}'s ${mine}: ${dataDir}'s node is not running there any more (start it with \`concordat --data ${dataDir} start\`)`,
        ExitCode.Unavailable,
      );
    }
  } finally {
    client.close();
  }
}

/**
 * Finds the node and the credential: `--api`/`--token`/`--tls-ca`, then CONCORDAT_API /
 * CONCORDAT_TOKEN / CONCORDAT_TLS_CA, then the data directory (`--data`, CONCORDAT_DATA, or ./data):
 * `node.json` written by its node (waiting while that node starts), and `admin.token` written by
 * `init`. A node found through the data directory must be that directory's hub.
 */
export async function connect(options: ConnectionOptions, env: NodeJS.ProcessEnv = process.env): Promise<Connection> {
  // An empty flag or variable counts as unset.
  const dataDir = options.data || env.CONCORDAT_DATA || "./data";
  const paths = dataPaths(dataDir);
  let address = options.api || env.CONCORDAT_API;
  let tls = false;
  let expected: Located["expected"] | undefined;
  if (!address) {
    const located = await locate(dataDir, paths, options.startWaitMs ?? START_WAIT_MS);
    ({ address, tls, expected } = located);
  }
  let token = options.token || env.CONCORDAT_TOKEN;
  if (!token) {
    token = (await readOptional(paths.adminToken))?.trim();
    if (!token) {
      throw new CliError(
        `no credential: pass --token, set CONCORDAT_TOKEN, or use --data with a directory holding admin.token`,
        ExitCode.Unauthorized,
      );
    }
  }
  const caPath = options.tlsCa || env.CONCORDAT_TLS_CA;
  let channel: ChannelCredentials;
  if (caPath) {
    const ca = await readFile(caPath).catch(() => {
      throw new CliError(`cannot read the TLS CA certificate '${caPath}'`, ExitCode.Usage);
    });
    channel = grpcCredentials.createSsl(ca);
  } else if (tls) {
    channel = grpcCredentials.createSsl();
  } else {
    channel = grpcCredentials.createInsecure();
  }
  if (expected) await checkIdentity(address, channel, dataDir, expected);
  const metadata = new Metadata();
  metadata.set("authorization", `Bearer ${token}`);
  const clientOptions = { "grpc.max_receive_message_length": 64 * 1024 * 1024 };
  const trainers = new TrainerServiceClient(address, channel, clientOptions);
  const operators = new OperatorServiceClient(address, channel, clientOptions);
  const node = new NodeServiceClient(address, channel, clientOptions);
  const federation = new FederationServiceClient(address, channel, clientOptions);
  const keys = new KeyServiceClient(address, channel, clientOptions);
  const core = new CoreServiceClient(address, channel, {
    ...clientOptions,
    "grpc.max_send_message_length": 64 * 1024 * 1024,
  });
  const audit = new AuditServiceClient(address, channel, clientOptions);
  const credentials = new CredentialServiceClient(address, channel, clientOptions);
  const availability = new AvailabilityServiceClient(address, channel, clientOptions);
  const bookings = new BookingServiceClient(address, channel, clientOptions);
  const deliveries = new DeliveryServiceClient(address, channel, {
    ...clientOptions,
    "grpc.max_send_message_length": 64 * 1024 * 1024,
  });
  const reports = new ReportServiceClient(address, channel, clientOptions);
  const cases = new CaseServiceClient(address, channel, {
    ...clientOptions,
    "grpc.max_send_message_length": 64 * 1024 * 1024,
  });
  return {
    address,
    metadata,
    trainers,
    operators,
    node,
    federation,
    keys,
    core,
    audit,
    credentials,
    availability,
    bookings,
    cases,
    deliveries,
    reports,
    close() {
      for (const c of [
        trainers,
        operators,
        node,
        federation,
        keys,
        core,
        audit,
        credentials,
        availability,
        bookings,
        cases,
        deliveries,
        reports,
      ] as Client[])
        c.close();
    },
  };
}

type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: { deadline: Date },
  callback: (error: ServiceError | null, response: Res) => void,
) => unknown;

/** Calls a unary method with the connection's credential and a deadline. */
export function call<Req, Res>(
  connection: Connection,
  method: UnaryMethod<Req, Res>,
  request: Req,
  timeoutMs = 30_000,
): Promise<Res> {
  return new Promise((resolve, reject) => {
    method(request, connection.metadata, { deadline: new Date(Date.now() + timeoutMs) }, (error, response) => {
      if (error) reject(error);
      else resolve(response);
    });
  });
}

/** Runs `fn` with a connection and always closes it. */
export async function withConnection<T>(
  options: ConnectionOptions,
  fn: (connection: Connection) => Promise<T>,
): Promise<T> {
  const connection = await connect(options);
  try {
    return await fn(connection);
  } finally {
    connection.close();
  }
}
