import { readFile } from "node:fs/promises";
import { setTimeout as delay } from "node:timers/promises";
import { credentials as grpcCredentials, type ChannelCredentials, type Metadata } from "@grpc/grpc-js";
import { loadConfigFile } from "../node/config/index.js";
import { IDENTITY_HEADERS, nodeClient, type NodeClient } from "../node/api/index.js";
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

/** The node's API (node/api/client.ts): `connection.trainers.addTrainer(request)` and so on. */
export type Connection = NodeClient;

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
  const client = nodeClient(address, { credentials: channel });
  try {
    let received: Metadata | undefined;
    try {
      // The open health check, without the credential (a wrong node must not get it).
      await client.health.check({ service: "" }, { deadlineMs: 10_000, onHeaders: (h) => (received = h) });
    } catch (error) {
      if (!received) throw error;
    }
    const headers = received;
    if (!headers) return;
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
  return nodeClient(address, { token, credentials: channel });
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
