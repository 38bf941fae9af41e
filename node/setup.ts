import { open, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { Level } from "level";
import { parseDocument, stringify } from "yaml";
import { applyEnvOverrides, parseConfig, parseYaml, type NodeConfig } from "./config/index.js";
import { alreadyExists, failedPrecondition, invalidArgument } from "./errors.js";
import type { PeerId } from "./ids.js";
import { createIdentityFile, writeIdentityBytes } from "./identity/index.js";
import { Operators } from "./operators/index.js";
import { makePrivateDirectory, PRIVATE_FILE_MODE, tightenDataDir } from "./data-permissions.js";
import { dataPaths, type DataPaths } from "./paths.js";
import { readBackup } from "./storage/index.js";
import { NodeStore } from "./storage/index.js";
import { quote } from "./text.js";

export interface InitOptions {
  dataDir: string;
  hubId: string;
  name: string;
  secretariat: boolean;
  region?: string;
  /** federation.id (else the base configuration's). */
  federationId?: string;
  /** The secretariat's peer id (a secretariat's own is used when absent). */
  anchor?: string;
  /** Bootstrap peers as libp2p multiaddrs ending in /p2p/<peer id>. */
  bootstrap?: readonly string[];
  /** YAML text of the base configuration (config/default.yaml or another). */
  baseConfig: string;
  baseConfigSource: string;
  /** Where this node listens (api.port, network.listen), stored in its config.yaml. */
  listen?: ListenOptions;
}

/**
 * `init --api-port --console-port --listen` and the same options of `restore`: where a node listens,
 * kept in its config. A node given its own API port and no console port gets a free console port
 * (printed at start), so that a second node on a machine never takes the first one's console.
 */
export interface ListenOptions {
  apiPort?: number;
  consolePort?: number;
  /** libp2p listen multiaddrs. */
  listen?: readonly string[];
}

/** Sets the `ListenOptions` given into a raw configuration object. */
function withListen(raw: Record<string, unknown>, listen: ListenOptions | undefined): void {
  const section = (key: string) =>
    typeof raw[key] === "object" && raw[key] !== null ? (raw[key] as Record<string, unknown>) : {};
  if (listen?.apiPort !== undefined) raw.api = { ...section("api"), port: listen.apiPort };
  const consolePort = consolePortOf(listen);
  if (consolePort !== undefined) raw.console = { ...section("console"), port: consolePort };
  if (listen?.listen !== undefined) raw.network = { ...section("network"), listen: [...listen.listen] };
}

function consolePortOf(listen: ListenOptions | undefined): number | undefined {
  return listen?.consolePort ?? (listen?.apiPort !== undefined ? 0 : undefined);
}

export interface InitResult {
  paths: DataPaths;
  config: NodeConfig;
  peerId: PeerId;
  adminOperatorId: string;
}

async function writeSecret(path: string, text: string): Promise<void> {
  const handle = await open(path, "wx", PRIVATE_FILE_MODE);
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function ensureFreshDirectory(dir: string): Promise<DataPaths> {
  const paths = dataPaths(dir);
  await makePrivateDirectory(dir);
  const existing = await readdir(dir);
  if (existing.includes("identity.key") || existing.includes("config.yaml") || existing.includes("db")) {
    throw alreadyExists(`${dir} already holds a Concordat node; refusing to overwrite its identity`);
  }
  return paths;
}

/** `/ip4/…/tcp/N/p2p/<peer id>` as a `network.peers` entry. */
function parseBootstrap(address: string, index: number): { peerId: string; libp2p: string[] } {
  const match = /^(\/ip[46]\/[^/]+\/tcp\/\d+)\/p2p\/([1-9A-HJ-NP-Za-km-z]+)$/.exec(address);
  if (!match) {
    throw invalidArgument([
      {
        field: `bootstrap[${index}]`,
        description: `${quote(address)} is not a multiaddr like /ip4/10.0.0.5/tcp/7500/p2p/12D3KooW…`,
      },
    ]);
  }
  return { peerId: match[2] as string, libp2p: [match[1] as string] };
}

/**
 * `concordat init`: creates the node's config, its Ed25519 identity (mode 0600) and a first admin
 * credential, stored in `admin.token` (mode 0600) for the CLI on this machine. Refuses to touch a
 * directory that already holds a node. The directory and `db/` are 0700 and every file 0600,
 * whatever the umask (data-permissions.ts).
 */
export async function initDataDir(options: InitOptions): Promise<InitResult> {
  const base = parseYaml(options.baseConfig, options.baseConfigSource);
  const raw = applyEnvOverrides(base, {});
  raw.hub = {
    ...(typeof raw.hub === "object" && raw.hub !== null ? (raw.hub as Record<string, unknown>) : {}),
    id: options.hubId,
    name: options.name,
    role: options.secretariat ? "secretariat" : "hub",
    ...(options.region !== undefined ? { region: options.region } : {}),
  };
  const federation =
    typeof raw.federation === "object" && raw.federation !== null ? (raw.federation as Record<string, unknown>) : {};
  raw.federation = {
    ...federation,
    ...(options.federationId !== undefined ? { id: options.federationId } : {}),
    ...(options.anchor ? { anchor: options.anchor } : {}),
  };
  if (options.bootstrap && options.bootstrap.length > 0) {
    const network =
      typeof raw.network === "object" && raw.network !== null ? (raw.network as Record<string, unknown>) : {};
    raw.network = { ...network, peers: options.bootstrap.map((address, i) => parseBootstrap(address, i)) };
  }
  withListen(raw, options.listen);
  parseConfig(raw, "init options"); // everything but the secretariat's own anchor is checked before any file is written
  const paths = await ensureFreshDirectory(options.dataDir);

  const identity = await createIdentityFile(paths.identity);
  if (options.secretariat && !options.anchor)
    raw.federation = { ...(raw.federation as Record<string, unknown>), anchor: identity.peerId };
  const config = parseConfig(raw, "init options");
  await writeFile(paths.config, `# Concordat node configuration (see docs/configuration.md).\n${stringify(config)}`, {
    flag: "wx",
    mode: PRIVATE_FILE_MODE,
  });
  const store = await NodeStore.open(paths.db, { sync: true });
  let adminOperatorId: string;
  try {
    const operators = await Operators.open(store);
    const { operator, token } = await operators.add("admin", "admin", "init");
    await writeSecret(paths.adminToken, `${token}\n`);
    adminOperatorId = operator.id;
  } finally {
    await store.close();
  }
  // LevelDB created db/ and its files with the process's umask.
  await tightenDataDir(paths.root);
  return { paths, config, peerId: identity.peerId, adminOperatorId };
}

export interface RestoreResult {
  paths: DataPaths;
  hubId: string;
  peerId: string;
  entries: number;
  adminOperatorId: string;
}

/**
 * `concordat restore FILE --data DIR`: verifies the whole backup first, then recreates the node in an
 * empty directory: config, identity and database (0700 directories, 0600 files). Operators keep their
 * credentials; a new admin credential is written to `admin.token` for the CLI on this machine.
 */
export async function restoreBackup(
  bytes: Uint8Array,
  source: string,
  dataDir: string,
  listen?: ListenOptions,
): Promise<RestoreResult> {
  const { header, entries } = readBackup(bytes, source);
  parseConfig(parseYaml(header.config, `${source} (config)`), `${source} (config)`);
  const configText =
    listen?.apiPort !== undefined || listen?.consolePort !== undefined || listen?.listen !== undefined
      ? relisten(header.config, listen, source)
      : header.config;
  await makePrivateDirectory(dataDir);
  if ((await readdir(dataDir)).length > 0) {
    throw failedPrecondition(`${dataDir} is not empty; restore only into an empty or new directory`);
  }
  const paths = dataPaths(dataDir);
  try {
    const identity = await writeIdentityBytes(
      paths.identity,
      new Uint8Array(Buffer.from(header.identityKey, "base64")),
    );
    await writeFile(paths.config, configText, { flag: "wx", mode: PRIVATE_FILE_MODE });
    const db = new Level<Uint8Array, Uint8Array>(paths.db, { keyEncoding: "view", valueEncoding: "view" });
    await db.open();
    try {
      for (let i = 0; i < entries.length; i += 1000) {
        await db.batch(
          entries.slice(i, i + 1000).map((e) => ({ type: "put" as const, key: e.key, value: e.value })),
          { sync: i + 1000 >= entries.length },
        );
      }
    } finally {
      await db.close();
    }
    const store = await NodeStore.open(paths.db, { sync: true });
    let adminOperatorId: string;
    try {
      const operators = await Operators.open(store);
      const { operator, token } = await operators.add("admin (restored)", "admin", "restore");
      adminOperatorId = operator.id;
      await writeSecret(paths.adminToken, `${token}\n`);
    } finally {
      await store.close();
    }
    if (identity.peerId !== header.peerId) {
      throw failedPrecondition(`${source}: the identity key does not match the peer id ${header.peerId} in its header`);
    }
    // LevelDB created db/ and its files with the process's umask.
    await tightenDataDir(paths.root);
    return { paths, hubId: header.hubId, peerId: header.peerId, entries: entries.length, adminOperatorId };
  } catch (error) {
    // Leave no half-restored node behind.
    await rm(dataDir, { recursive: true, force: true }).then(() => makePrivateDirectory(dataDir));
    throw error;
  }
}

/** A backup's configuration with the node listening elsewhere: the other keys and comments kept, the result validated. */
function relisten(text: string, listen: ListenOptions, source: string): string {
  const doc = parseDocument(text);
  if (listen.apiPort !== undefined) doc.setIn(["api", "port"], listen.apiPort);
  const consolePort = consolePortOf(listen);
  if (consolePort !== undefined) doc.setIn(["console", "port"], consolePort);
  if (listen.listen !== undefined) doc.setIn(["network", "listen"], doc.createNode([...listen.listen]));
  const result = doc.toString();
  parseConfig(parseYaml(result, `${source} (config with --api-port/--listen)`), "restore options");
  return result;
}

export async function readTextFile(path: string, what: string): Promise<string> {
  return readFile(path, "utf8").catch((error: NodeJS.ErrnoException) => {
    throw failedPrecondition(
      `cannot read ${what} '${path}': ${error.code === "ENOENT" ? "file not found" : error.message}`,
    );
  });
}
