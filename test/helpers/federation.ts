/**
 * Several real nodes in one process, linked in a given topology over libp2p or gRPC on 127.0.0.1.
 * The first node is the secretariat: it creates the charter and admits every other node (without
 * addresses), and every node's config names the secretariat as trust anchor and lists only its
 * neighbours as peers (with addresses for the ones it dials), so documents cross non-neighbours only
 * through relays.
 */
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { generateKeyPair } from "@libp2p/crypto/keys";
import type { Ed25519PrivateKey } from "@libp2p/interface";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { parse, stringify } from "yaml";
import { directoryIdOf, type CharterMember } from "../../node/federation/index.js";
import { peerId, type PeerId } from "../../node/ids.js";
import { decodeTrainer } from "../../node/roster/records.js";
import { initDataDir } from "../../node/setup.js";
import { DEFAULT_CONFIG_URL, makeTempDir, startTestNode, type TestNode } from "./harness.js";
import { freePorts } from "../../bench/lib/nodes.js";
import { allowance, waitUntil } from "../../bench/lib/wait.js";

export type Transport = "libp2p" | "grpc";

export interface FederationNode {
  name: string;
  hub: string;
  peerId: PeerId;
  node: TestNode;
}

/** Free loopback ports, the helper the benchmarks use too. */
export { freePorts } from "../../bench/lib/nodes.js";

/**
 * Starts `names.length` nodes (the first is the secretariat); `dials` lists [from, to] pairs: `from`
 * dials `to`. The charter admits them all.
 */
export async function startFederation(
  names: string[],
  dials: Array<[string, string]>,
  transport: Transport = "libp2p",
): Promise<FederationNode[]> {
  return (await startFederationWith(names, dials, { transport })).nodes;
}

export async function stopFederation(nodes: readonly FederationNode[]): Promise<void> {
  await Promise.all(nodes.map((n) => n.node.cleanup()));
}

interface DirectoryView {
  documents?: Record<string, { type?: unknown }>;
}

function text(value: unknown): string {
  return typeof value === "string" ? value : ((value as { val?: string } | undefined)?.val ?? "");
}

/**
 * Resolves once `reader` holds, in its Repo (raw, whatever signed it), a roster record of `owner`
 * for which `predicate` holds, within `timeoutMs`.
 */
export async function waitForForeignTrainer(
  reader: FederationNode,
  owner: FederationNode,
  trainerId: string,
  predicate: (displayName: string) => boolean = () => true,
  timeoutMs = 20_000,
): Promise<void> {
  reader.node.running.replica.request(directoryIdOf(owner.peerId));
  await waitUntil(
    `${reader.name} to see ${owner.name}'s trainer ${trainerId}`,
    async (see) => {
      const name = await foreignTrainerNow(reader, owner, trainerId);
      see(name === undefined ? "no record of it" : `it as '${name}'`);
      return name !== undefined && predicate(name);
    },
    timeoutMs,
  );
}

export function draft(id: string, displayName = `Trainer ${id}`) {
  return {
    id,
    displayName,
    languages: [{ tag: "en", level: "B2" }],
    regions: ["KE"],
    accreditations: [],
    availability: [],
    blackouts: [],
  };
}

// ---------------------------------------------------------------------------------------------
// federations with options: key-only members, rewritten gRPC addresses

/** A member that exists only as a key: in every node's member list, never started (for raw clients). */
export interface KeyOnlyMember {
  name: string;
  hub: string;
  peerId: PeerId;
  privateKey: Ed25519PrivateKey;
  sign(data: Uint8Array): Promise<Uint8Array>;
}

export interface FederationOptions {
  transport?: Transport;
  /** Names of members that get a key and a place in the charter, but no running node. */
  keyOnly?: string[];
  /**
   * The address `from` dials to reach `to`'s gRPC API, which will listen on 127.0.0.1:`port`
   * (default `127.0.0.1:<port>`): e.g. a proxy's, to observe the bytes on the wire.
   */
  grpcAddress?: (from: string, to: string, port: number) => string | Promise<string>;
  /** Names of nodes initialised but not admitted into the charter (strangers with a trust anchor). */
  notAdmitted?: string[];
  /** Changes every node's config.yaml before it starts (e.g. shorter heartbeats). */
  config?: (config: Record<string, Record<string, unknown>>) => void;
  /** Extra environment (config overrides such as CONCORDAT_BOOKINGS_POLICY) per node name. */
  env?: Record<string, Record<string, string>>;
  /**
   * Names of members initialised, configured and admitted but not started here: the test runs them
   * as separate processes (to SIGKILL them), from `StartedFederation.external`.
   */
  external?: string[];
}

/** A member the caller runs itself (with startNode, bench/lib/nodes.ts): its data dir and the ports its config names. */
export interface ExternalMember {
  name: string;
  hub: string;
  peerId: PeerId;
  dataDir: string;
  apiPort: number;
  libp2pPort: number;
  /** The environment to start it with (ports, and the caller's `env` for it). */
  env: Record<string, string>;
  token: string;
}

export interface StartedFederation {
  nodes: FederationNode[];
  external: ExternalMember[];
  keys: KeyOnlyMember[];
  /** The secretariat (the first node). */
  secretariat: FederationNode;
  byName(name: string): FederationNode;
  key(name: string): KeyOnlyMember;
  stop(): Promise<void>;
}

/** Resolves once `node` trusts a charter for which `ready` holds (waiting for membership changes). */
export function waitForCharter(
  node: FederationNode,
  ready: (members: CharterMember[]) => boolean,
  timeoutMs = 20_000,
): Promise<void> {
  const membership = node.node.running.membership;
  return new Promise<void>((resolve, reject) => {
    const check = () => {
      if (membership.state && ready(membership.members())) {
        clearTimeout(timer);
        unsubscribe();
        resolve();
      }
    };
    const timer = setTimeout(() => {
      unsubscribe();
      const source = membership.source;
      const trusted = source
        ? `a ${source.kind} charter of ${membership.members().length} members${source.seq === undefined ? "" : ` (seq ${source.seq})`}`
        : "no charter";
      reject(new Error(`${node.name} did not trust the expected charter within ${timeoutMs} ms: it trusts ${trusted}`));
    }, timeoutMs);
    const unsubscribe = membership.onChange(check);
    check();
  });
}

/**
 * Like startFederation, with options: key-only members (a member identity for a hand-driven client)
 * and gRPC addresses chosen by the caller (a proxy between two nodes). Returns once every node
 * trusts the charter that lists them all.
 */
export async function startFederationWith(
  names: string[],
  dials: Array<[string, string]>,
  options: FederationOptions = {},
): Promise<StartedFederation> {
  const transport = options.transport ?? "libp2p";
  const base = await readFile(DEFAULT_CONFIG_URL, "utf8");
  const ports = await freePorts(names.length * 2);
  const keys: KeyOnlyMember[] = await Promise.all(
    (options.keyOnly ?? []).map(async (name) => {
      const privateKey = await generateKeyPair("Ed25519");
      return {
        name,
        hub: `hub-${name}`,
        peerId: peerId(peerIdFromPrivateKey(privateKey).toString()),
        privateKey,
        sign: async (data: Uint8Array) => privateKey.sign(data),
      };
    }),
  );
  const prepared: Array<{
    name: string;
    hub: string;
    dataDir: string;
    peerId: PeerId;
    libp2pPort: number;
    apiPort: number;
  }> = [];
  let anchor = "";
  for (const [i, name] of names.entries()) {
    const dataDir = await makeTempDir(`concordat-fed-${name}-`);
    const hub = `hub-${name}`;
    const init = await initDataDir({
      dataDir,
      hubId: hub,
      name: `Hub ${name}`,
      secretariat: i === 0,
      ...(i > 0 ? { anchor } : {}),
      baseConfig: base,
      baseConfigSource: "default",
    });
    if (i === 0) anchor = init.peerId;
    prepared.push({
      name,
      hub,
      dataDir,
      peerId: init.peerId,
      libp2pPort: ports[2 * i] as number,
      apiPort: ports[2 * i + 1] as number,
    });
  }
  for (const me of prepared) {
    const path = join(me.dataDir, "config.yaml");
    const config = parse(await readFile(path, "utf8")) as Record<string, Record<string, unknown>>;
    const peers: Array<Record<string, unknown>> = [];
    for (const other of prepared) {
      if (other === me) continue;
      const dialled = dials.some(([from, to]) => from === me.name && to === other.name);
      const dialledBy = dials.some(([from, to]) => from === other.name && to === me.name);
      if (!dialled && !dialledBy) continue;
      const grpc =
        transport === "grpc" && dialled
          ? await (options.grpcAddress?.(me.name, other.name, other.apiPort) ?? `127.0.0.1:${other.apiPort}`)
          : undefined;
      peers.push({
        peerId: other.peerId,
        libp2p: transport === "libp2p" && dialled ? [`/ip4/127.0.0.1/tcp/${other.libp2pPort}`] : [],
        ...(grpc ? { grpc } : {}),
      });
    }
    config.network = {
      listen: transport === "libp2p" ? [`/ip4/127.0.0.1/tcp/${me.libp2pPort}`] : [],
      grpc: true,
      peers,
    };
    options.config?.(config);
    await writeFile(path, stringify(config));
  }
  const nodes: FederationNode[] = [];
  const external: ExternalMember[] = [];
  try {
    for (const me of prepared) {
      if (options.external?.includes(me.name)) {
        external.push({
          ...me,
          env: {
            CONCORDAT_API_PORT: String(me.apiPort),
            CONCORDAT_CONSOLE_PORT: "0",
            CONCORDAT_NETWORK_LISTEN: transport === "libp2p" ? `/ip4/127.0.0.1/tcp/${me.libp2pPort}` : "",
            ...options.env?.[me.name],
          },
          token: (await readFile(join(me.dataDir, "admin.token"), "utf8")).trim(),
        });
        continue;
      }
      const node = await startTestNode({
        dataDir: me.dataDir,
        env: {
          CONCORDAT_API_PORT: String(me.apiPort),
          CONCORDAT_CONSOLE_PORT: "0",
          CONCORDAT_NETWORK_LISTEN: transport === "libp2p" ? `/ip4/127.0.0.1/tcp/${me.libp2pPort}` : "",
          ...options.env?.[me.name],
        },
      });
      nodes.push({ name: me.name, hub: me.hub, peerId: me.peerId, node });
      if (nodes.length === 1) {
        // The secretariat: the charter, with every other node and key-only member admitted.
        const charter = node.running.charter;
        await charter.create("test", []);
        for (const other of prepared.slice(1)) {
          if (options.notAdmitted?.includes(other.name)) continue;
          await charter.admit("test", { hub: other.hub, peerId: other.peerId, name: `Hub ${other.name}` });
        }
        for (const key of keys)
          await charter.admit("test", { hub: key.hub, peerId: key.peerId, name: `Key ${key.name}` });
      }
    }
    const admitted = names.length - (options.notAdmitted?.length ?? 0) + keys.length;
    // The charter crosses the topology node by node: more members, longer.
    await Promise.all(
      nodes
        .filter((n) => !options.notAdmitted?.includes(n.name))
        .map((n) => waitForCharter(n, (members) => members.length >= admitted, allowance(15_000, 2_000, admitted))),
    );
  } catch (error) {
    await stopFederation(nodes);
    // Nodes that never started still have their data dirs.
    await Promise.all(
      prepared
        .filter((p) => !nodes.some((n) => n.name === p.name))
        .map((p) => rm(p.dataDir, { recursive: true, force: true })),
    );
    throw error;
  }
  const find = <T extends { name: string }>(list: readonly T[], name: string): T => {
    const found = list.find((x) => x.name === name);
    if (!found) throw new Error(`no '${name}' in this federation`);
    return found;
  };
  return {
    nodes,
    external,
    keys,
    secretariat: nodes[0] as FederationNode,
    byName: (name) => find(nodes, name),
    key: (name) => find(keys, name),
    stop: async () => {
      await stopFederation(nodes);
      await Promise.all(external.map((e) => rm(e.dataDir, { recursive: true, force: true })));
    },
  };
}

// ---------------------------------------------------------------------------------------------
// waiting and logs

// The one bounded wait of the tests and the bench (bench/lib/wait.ts).
export { allowance, waitUntil } from "../../bench/lib/wait.js";

/** A node's log lines (JSON) whose `msg` is `msg`, parsed, from index `since` on. */
export function logEntries(node: TestNode, msg: string, since = 0): Array<Record<string, unknown>> {
  const entries: Array<Record<string, unknown>> = [];
  for (const line of node.logs.slice(since)) {
    let entry: Record<string, unknown>;
    try {
      entry = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue;
    }
    if (entry.msg === msg) entries.push(entry);
  }
  return entries;
}

/** Waits until `node` logged `msg` (after index `since`) with an entry for which `match` holds; returns it. */
export function waitForLog(
  node: TestNode,
  msg: string,
  match: (entry: Record<string, unknown>) => boolean = () => true,
  since = 0,
  timeoutMs = 10_000,
): Promise<Record<string, unknown>> {
  return waitUntil(
    `a log line '${msg}' that matches`,
    (see) => {
      const entries = logEntries(node, msg, since);
      see(
        `${entries.length} '${msg}' lines, none matching${entries.length > 0 ? `; the last: ${JSON.stringify(entries.at(-1)).slice(0, 300)}` : ""}`,
      );
      return entries.find(match);
    },
    timeoutMs,
  );
}

/**
 * The display name of `owner`'s trainer `trainerId` as `reader` holds it right now (in the roster
 * documents that `owner`'s directory lists and `reader`'s Repo holds, raw), or undefined. No waiting.
 */
export async function foreignTrainerNow(
  reader: FederationNode,
  owner: FederationNode,
  trainerId: string,
): Promise<string | undefined> {
  const replica = reader.node.running.replica;
  const directory = await replica.read(directoryIdOf(owner.peerId), { path: ["documents"] });
  const documents = (directory?.value ?? {}) as NonNullable<DirectoryView["documents"]>;
  for (const [id, entry] of Object.entries(documents)) {
    if (text(entry.type) !== "roster") continue;
    replica.request(id);
    const stored = (await replica.read(id, { path: ["trainers", trainerId] }))?.value;
    if (stored !== undefined) return decodeTrainer(stored).displayName;
  }
  return undefined;
}
