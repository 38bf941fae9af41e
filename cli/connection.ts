import { readFile } from "node:fs/promises";
import { credentials as grpcCredentials, Metadata, type ChannelCredentials, type Client, type ServiceError } from "@grpc/grpc-js";
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
import type { RuntimeInfo } from "../node/node.js";
import { dataPaths } from "../node/paths.js";
import { CliError, ExitCode } from "./errors.js";

/** Options every command that talks to a node accepts (flags, then env, then the data directory). */
export interface ConnectionOptions {
  data?: string;
  api?: string;
  token?: string;
  tlsCa?: string;
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

/**
 * Finds the node and the credential: `--api`/`--token`/`--tls-ca`, then CONCORDAT_API /
 * CONCORDAT_TOKEN / CONCORDAT_TLS_CA, then the data directory (`--data`, CONCORDAT_DATA, or ./data):
 * `node.json` written by the running node, `config.yaml`, and `admin.token` written by `init`.
 */
export async function connect(options: ConnectionOptions, env: NodeJS.ProcessEnv = process.env): Promise<Connection> {
  // An empty flag or variable counts as unset.
  const dataDir = options.data || env.CONCORDAT_DATA || "./data";
  const paths = dataPaths(dataDir);
  let address = options.api || env.CONCORDAT_API;
  let tls = false;
  if (!address) {
    const runtime = await readOptional(paths.runtime);
    if (runtime) {
      let info: Partial<RuntimeInfo>;
      try {
        info = JSON.parse(runtime) as Partial<RuntimeInfo>;
      } catch {
        info = {};
      }
      if (typeof info.api !== "string") {
        throw new CliError(`${paths.runtime} is damaged (no API address); if no node is running, delete it`, ExitCode.Unavailable);
      }
      address = info.api;
      tls = info.tls === true;
    } else if (await readOptional(paths.config)) {
      const config = await loadConfigFile(paths.config, {});
      address = `${config.api.host}:${config.api.port}`;
      tls = config.api.tls !== undefined;
    } else {
      throw new CliError(
        `no node found: ${dataDir} holds no node (no node.json or config.yaml). Pass --data DIR or --api HOST:PORT, or run \`concordat init\`.`,
        ExitCode.Unavailable,
      );
    }
  }
  let token = options.token || env.CONCORDAT_TOKEN;
  if (!token) {
    token = (await readOptional(paths.adminToken))?.trim();
    if (!token) {
      throw new CliError(`no credential: pass --token, set CONCORDAT_TOKEN, or use --data with a directory holding admin.token`, ExitCode.Unauthorized);
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
  const metadata = new Metadata();
  metadata.set("authorization", `Bearer ${token}`);
  const clientOptions = { "grpc.max_receive_message_length": 64 * 1024 * 1024 };
  const trainers = new TrainerServiceClient(address, channel, clientOptions);
  const operators = new OperatorServiceClient(address, channel, clientOptions);
  const node = new NodeServiceClient(address, channel, clientOptions);
  const federation = new FederationServiceClient(address, channel, clientOptions);
  const keys = new KeyServiceClient(address, channel, clientOptions);
  const core = new CoreServiceClient(address, channel, { ...clientOptions, "grpc.max_send_message_length": 64 * 1024 * 1024 });
  const audit = new AuditServiceClient(address, channel, clientOptions);
  const credentials = new CredentialServiceClient(address, channel, clientOptions);
  const availability = new AvailabilityServiceClient(address, channel, clientOptions);
  const bookings = new BookingServiceClient(address, channel, clientOptions);
  const deliveries = new DeliveryServiceClient(address, channel, { ...clientOptions, "grpc.max_send_message_length": 64 * 1024 * 1024 });
  const reports = new ReportServiceClient(address, channel, clientOptions);
  const cases = new CaseServiceClient(address, channel, { ...clientOptions, "grpc.max_send_message_length": 64 * 1024 * 1024 });
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
      for (const c of [trainers, operators, node, federation, keys, core, audit, credentials, availability, bookings, cases, deliveries, reports] as Client[]) c.close();
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
export function call<Req, Res>(connection: Connection, method: UnaryMethod<Req, Res>, request: Req, timeoutMs = 30_000): Promise<Res> {
  return new Promise((resolve, reject) => {
    method(request, connection.metadata, { deadline: new Date(Date.now() + timeoutMs) }, (error, response) => {
      if (error) reject(error);
      else resolve(response);
    });
  });
}

/** Runs `fn` with a connection and always closes it. */
export async function withConnection<T>(options: ConnectionOptions, fn: (connection: Connection) => Promise<T>): Promise<T> {
  const connection = await connect(options);
  try {
    return await fn(connection);
  } finally {
    connection.close();
  }
}
