/**
 * One peer of `replication.adapters`, in its own worker thread: an automerge-repo `Repo` (in-memory
 * storage, no checkpoints, nothing else of a node) with one transport on 127.0.0.1:
 * - libp2p: our Libp2pNetworkAdapter on a libp2p node as the node builds it (TCP, noise, yamux,
 *   identify, ping), with the connection gater's allow-list and the strict hello binding (the repo
 *   peer id is the libp2p peer id);
 * - grpc: our GrpcNetworkAdapter served on its own grpc-js server (Replicate), with the federation
 *   id, the allow-list, the Ed25519 challenge–response and the strict binding;
 * - websocket: automerge-repo's WebSocketServerAdapter (on a `ws` server) and a
 *   WebSocketClientAdapter per peer it dials: no authentication.
 * A thread lives through many measurements: each opens a new Repo and transport (new identity, empty
 * storage) and closes it after. It obeys the commands of adapters-protocol.ts.
 */
import { randomUUID } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { Session } from "node:inspector/promises";
import { createRequire } from "node:module";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { parentPort, workerData } from "node:worker_threads";
import * as A from "@automerge/automerge";
import {
  Repo,
  type Chunk,
  type DocHandle,
  type PeerId,
  type StorageAdapterInterface,
  type StorageKey,
} from "@automerge/automerge-repo";
import type { Ed25519PrivateKey } from "@libp2p/interface";
import { pino } from "pino";
import {
  now,
  type Command,
  type Endpoint,
  type PeerInit,
  type Reply,
  type Request,
  type Results,
  type Started,
} from "./adapters-protocol.js";
import type { Counter } from "./adapters-roster.js";
import { documentId, peerId as libp2pPeerId, repoPeerId } from "../../node/ids.js";

/** The bits of `ws`'s server used here (the package ships no types, and @types/ws is not installed). */
interface WsServer {
  address(): { port: number } | string | null;
  on(event: "listening", listener: () => void): void;
  on(event: "error", listener: (error: Error) => void): void;
  close(callback?: () => void): void;
  clients: Set<{ terminate(): void }>;
}

/** The Repo's storage, in memory: what it saves costs the same CPU as on disk, minus the disk. */
class MemoryStorage implements StorageAdapterInterface {
  readonly #data = new Map<string, Uint8Array>();
  async load(key: StorageKey): Promise<Uint8Array | undefined> {
    return this.#data.get(key.join("\u0000"));
  }
  async save(key: StorageKey, data: Uint8Array): Promise<void> {
    this.#data.set(key.join("\u0000"), data);
  }
  async remove(key: StorageKey): Promise<void> {
    this.#data.delete(key.join("\u0000"));
  }
  #matching(prefix: StorageKey): string[] {
    const p = prefix.join("\u0000");
    return [...this.#data.keys()].filter((k) => k === p || k.startsWith(`${p}\u0000`));
  }
  async loadRange(prefix: StorageKey): Promise<Chunk[]> {
    return this.#matching(prefix).map((k) => ({ key: k.split("\u0000"), data: this.#data.get(k) }));
  }
  async removeRange(prefix: StorageKey): Promise<void> {
    for (const k of this.#matching(prefix)) this.#data.delete(k);
  }
}

// automerge-repo's throttle sets timers with negative delays (meaning "now"), and Node 24 warns on each.
const emitWarning = process.emitWarning;
process.emitWarning = function (this: NodeJS.Process, warning: string | Error, ...rest: unknown[]): void {
  const type = typeof rest[0] === "string" ? rest[0] : (rest[0] as { type?: unknown } | undefined)?.type;
  if (type === "TimeoutNegativeWarning") return;
  Reflect.apply(emitWarning, this, [warning, ...rest]);
} as typeof process.emitWarning;

const port = parentPort;
if (!port) throw new Error("adapters-peer runs as a worker thread");
const init = workerData as PeerInit;
const logger = pino({ level: "silent" });

const sameHeads = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && [...a].sort().join() === [...b].sort().join();

/** Resolves when `check` holds, testing it now and on every `subscribe` notification and every `pollMs`; fails after `timeoutMs`. */
function until(
  what: string,
  check: () => boolean,
  timeoutMs: number,
  subscribe?: (notify: () => void) => () => void,
  pollMs = 20,
): Promise<number> {
  return new Promise((resolve, reject) => {
    let unsubscribe: () => void = () => {};
    const finish = (error?: Error) => {
      clearInterval(poll);
      clearTimeout(timer);
      unsubscribe();
      if (error) reject(error);
      else resolve(now());
    };
    const test = () => {
      if (check()) finish();
    };
    const poll = setInterval(test, pollMs);
    const timer = setTimeout(
      () => finish(new Error(`${init.name}: timed out after ${timeoutMs} ms waiting for ${what}`)),
      timeoutMs,
    );
    if (subscribe) unsubscribe = subscribe(test);
    test();
  });
}

interface Stack {
  repo: Repo;
  peerId: string;
  port: number;
  allow: Set<string>;
  dial(targets: readonly Endpoint[]): void;
  stop(): Promise<void>;
}

/** A repo/libp2p peer id and its Ed25519 key (loaded only by the transports that need one). */
async function identity(): Promise<{
  peerId: PeerId;
  sign(data: Uint8Array): Promise<Uint8Array>;
  key: Ed25519PrivateKey;
}> {
  const [{ generateKeyPair }, { peerIdFromPrivateKey }] = await Promise.all([
    import("@libp2p/crypto/keys"),
    import("@libp2p/peer-id"),
  ]);
  const key = await generateKeyPair("Ed25519");
  return { peerId: libp2pPeerId(peerIdFromPrivateKey(key).toString()), sign: async (data) => key.sign(data), key };
}

/** A new Repo and transport (a new identity, empty storage); `accept`: whether others will dial it. */
async function open(accept: boolean): Promise<Stack> {
  const allow = new Set<string>();
  if (init.transport === "libp2p") {
    const { createLibp2pNode, Libp2pNetworkAdapter } = await import("../../node/network/index.js");
    const { peerId, key } = await identity();
    const repo = new Repo({ storage: new MemoryStorage(), network: [], peerId });
    const targets: Array<{ peerId: string; addrs: string[] }> = [];
    const libp2p = await createLibp2pNode(
      { privateKey: key, listen: ["/ip4/127.0.0.1/tcp/0"], allowed: (p) => allow.has(p) },
      logger,
    );
    const adapter = new Libp2pNetworkAdapter({ policy: "strict", dial: () => targets }, { libp2p, logger });
    repo.networkSubsystem.addNetworkAdapter(adapter);
    const listening = /\/ip4\/127\.0\.0\.1\/tcp\/(\d+)/.exec(libp2p.getMultiaddrs()[0]?.toString() ?? "");
    if (!listening) throw new Error("libp2p listens nowhere");
    return {
      repo,
      peerId,
      port: Number(listening[1]),
      allow,
      dial: (list) => {
        for (const t of list) targets.push({ peerId: t.peerId, addrs: [`/ip4/127.0.0.1/tcp/${t.port}`] });
        adapter.refreshTargets();
      },
      stop: async () => {
        adapter.disconnect();
        await libp2p.stop();
      },
    };
  }
  if (init.transport === "grpc") {
    const [{ GRPC_MAX_MESSAGE_BYTES, GrpcNetworkAdapter, ReplicationServiceService }, { Server, ServerCredentials }] =
      await Promise.all([import("../../node/network/index.js"), import("@grpc/grpc-js")]);
    const { peerId, sign } = await identity();
    const repo = new Repo({ storage: new MemoryStorage(), network: [], peerId });
    const targets: Array<{ peerId: string; address: string }> = [];
    // As the node's API server: the replication stream is one more service on it.
    const server = new Server({ "grpc.max_receive_message_length": GRPC_MAX_MESSAGE_BYTES });
    const adapter = new GrpcNetworkAdapter(
      { policy: "strict", federationId: "bench-federation", dial: () => targets, allowed: (p) => allow.has(p) },
      { identity: { peerId, sign }, logger },
    );
    server.addService(ReplicationServiceService, adapter.service());
    const bound = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (error, p) =>
        error ? reject(error) : resolve(p),
      ),
    );
    repo.networkSubsystem.addNetworkAdapter(adapter);
    return {
      repo,
      peerId,
      port: bound,
      allow,
      dial: (list) => {
        for (const t of list) targets.push({ peerId: t.peerId, address: `127.0.0.1:${t.port}` });
        adapter.refreshTargets();
      },
      stop: async () => {
        adapter.disconnect();
        server.forceShutdown();
      },
    };
  }
  const { WebSocketClientAdapter, WebSocketServerAdapter } = await import(
    "@automerge/automerge-repo-network-websocket"
  );
  const peerId = repoPeerId(`ws-${randomUUID()}`);
  const repo = new Repo({ storage: new MemoryStorage(), network: [], peerId });
  const clients: Array<InstanceType<typeof WebSocketClientAdapter>> = [];
  const dial = (list: readonly Endpoint[]) => {
    for (const t of list) {
      const client = new WebSocketClientAdapter(`ws://127.0.0.1:${t.port}`);
      clients.push(client);
      repo.networkSubsystem.addNetworkAdapter(client);
    }
  };
  if (!accept) {
    return {
      repo,
      peerId,
      port: 0,
      allow,
      dial,
      stop: async () => {
        for (const client of clients) client.disconnect();
      },
    };
  }
  const { WebSocketServer } = createRequire(import.meta.url)("ws") as {
    WebSocketServer: new (options: { host: string; port: number }) => WsServer;
  };
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise<void>((resolve, reject) => {
    wss.on("listening", resolve);
    wss.on("error", reject);
  });
  const address = wss.address();
  if (address === null || typeof address === "string") throw new Error("the WebSocket server listens nowhere");
  const server = new WebSocketServerAdapter(wss);
  repo.networkSubsystem.addNetworkAdapter(server);
  return {
    repo,
    peerId,
    port: address.port,
    allow,
    dial,
    stop: async () => {
      for (const client of clients) client.disconnect();
      server.disconnect();
      for (const socket of wss.clients) socket.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

/** ADAPTERS_TRACE=1: every repo message in and out on stderr (type, document, bytes), to see who sends what when. */
function trace(repo: Repo): void {
  const line = (arrow: string, m: { type: string; documentId?: unknown; data?: unknown }) =>
    process.stderr.write(
      `${now().toFixed(1)} ${init.name} ${arrow} ${m.type} ${String(m.documentId ?? "").slice(0, 5)} ${m.data instanceof Uint8Array ? m.data.byteLength : 0}\n`,
    );
  const send = repo.networkSubsystem.send.bind(repo.networkSubsystem);
  repo.networkSubsystem.send = (m) => {
    line("->", m);
    send(m);
  };
  repo.networkSubsystem.on("message", (m) => line("<-", m));
}

{
  let stack: Stack | undefined;
  const current = (): Stack => {
    if (!stack) throw new Error(`${init.name} is not open`);
    return stack;
  };
  const handles = new Map<string, DocHandle<unknown>>();
  let histogram: ReturnType<typeof monitorEventLoopDelay> | undefined;
  let profiler: Session | undefined;
  let expected: { value: number; seenAt?: number; waiters: Array<(at: number) => void>; stop: () => void } | undefined;

  const handle = (id: string): DocHandle<unknown> => {
    const h = handles.get(id);
    if (!h) throw new Error(`${init.name} has no document ${id}`);
    return h;
  };
  const connected = (ids: readonly string[]) => ids.every((id) => current().repo.peers.some((p) => p === id));
  const onPeer = (notify: () => void) => {
    const network = current().repo.networkSubsystem;
    network.on("peer", notify);
    return () => void network.off("peer", notify);
  };
  const headsOf = (h: DocHandle<unknown>): string[] => {
    const doc = h.isReady() ? h.doc() : undefined;
    return doc ? A.getHeads(doc) : [];
  };

  async function findAll(
    ids: readonly string[],
    heads: readonly string[][] | undefined,
    timeoutMs: number,
  ): Promise<number> {
    const { repo } = current();
    const found = await Promise.all(
      ids.map((id) => repo.find<unknown>(documentId(id), { signal: AbortSignal.timeout(timeoutMs) })),
    );
    for (const [i, h] of found.entries()) handles.set(ids[i] as string, h);
    if (!heads) return now();
    const complete = () => found.every((h, i) => sameHeads(headsOf(h), heads[i] ?? []));
    return until(`${ids.length} documents to reach their heads`, complete, timeoutMs, (notify) => {
      for (const h of found) h.on("heads-changed", notify);
      return () => {
        for (const h of found) h.off("heads-changed", notify);
      };
    });
  }

  const close = async () => {
    histogram?.disable();
    histogram = undefined;
    expected?.stop();
    expected = undefined;
    handles.clear();
    const closing = stack;
    stack = undefined;
    await closing?.stop();
  };

  const run = async (command: Command): Promise<Results[Command["type"]]> => {
    switch (command.type) {
      case "open": {
        await close();
        stack = await open(command.accept);
        if (process.env.ADAPTERS_TRACE) trace(stack.repo);
        return { peerId: stack.peerId, port: stack.port };
      }
      case "close":
        await close();
        return {};
      case "allow":
        for (const p of command.peers) current().allow.add(p);
        return {};
      case "dial": {
        current().dial(command.targets);
        const ids = command.targets.map((t) => t.peerId);
        return { at: await until(`peers ${ids.join(", ")}`, () => connected(ids), command.timeoutMs, onPeer) };
      }
      case "import": {
        const { repo } = current();
        const ids: string[] = [];
        for (const [i, bytes] of command.docs.entries()) {
          const docId = command.ids?.[i];
          const h =
            docId === undefined
              ? repo.import<unknown>(bytes)
              : repo.import<unknown>(bytes, { docId: documentId(docId) });
          handles.set(h.documentId, h);
          ids.push(h.documentId);
        }
        // Stored before anything is measured, so that the Repo's saves do not run during a sync.
        await repo.flush();
        return { ids };
      }
      case "find":
        return { at: await findAll(command.ids, command.heads, command.timeoutMs) };
      case "sync": {
        const startedAt = now();
        current().dial(command.targets);
        const peers = command.targets.map((t) => t.peerId);
        const connectedAt = await until(
          `peers ${peers.join(", ")}`,
          () => connected(peers),
          command.timeoutMs,
          onPeer,
          5,
        );
        const doneAt = await findAll(command.ids, command.heads, command.timeoutMs);
        return { startedAt, connectedAt, doneAt };
      }
      case "profileStart":
        profiler ??= new Session();
        profiler.connect();
        await profiler.post("Profiler.enable");
        await profiler.post("Profiler.setSamplingInterval", { interval: 500 });
        await profiler.post("Profiler.start");
        return {};
      case "profileStop": {
        if (!profiler) throw new Error("profileStop without profileStart");
        const { profile } = await profiler.post("Profiler.stop");
        profiler.disconnect();
        profiler = undefined;
        await writeFile(command.path, JSON.stringify(profile));
        return { path: command.path };
      }
      case "monitor":
        histogram?.disable();
        histogram = monitorEventLoopDelay({ resolution: 1 });
        histogram.enable();
        return {};
      case "stall": {
        if (!histogram) throw new Error("stall without monitor");
        histogram.disable();
        const maxMs = histogram.max / 1e6;
        histogram = undefined;
        return { maxMs };
      }
      case "expect": {
        expected?.stop();
        const h = handle(command.id);
        const state: NonNullable<typeof expected> = { value: command.value, waiters: [], stop: () => undefined };
        const listener = ({ doc }: { doc: A.Doc<unknown> }) => {
          if ((doc as Counter).value !== state.value || state.seenAt !== undefined) return;
          state.seenAt = now();
          for (const w of state.waiters.splice(0)) w(state.seenAt);
        };
        h.on("change", listener);
        state.stop = () => void h.off("change", listener);
        expected = state;
        if ((h.doc() as Counter | undefined)?.value === command.value) state.seenAt = now();
        return {};
      }
      case "seen": {
        const state = expected;
        if (!state) throw new Error("seen without expect");
        const at =
          state.seenAt ??
          (await new Promise<number>((resolve, reject) => {
            const timer = setTimeout(
              () => reject(new Error(`${init.name}: value ${state.value} not seen within ${command.timeoutMs} ms`)),
              command.timeoutMs,
            );
            state.waiters.push((t) => {
              clearTimeout(timer);
              resolve(t);
            });
          }));
        state.stop();
        expected = undefined;
        return { at };
      }
      case "change": {
        const h = handle(command.id) as DocHandle<Counter>;
        const at = now();
        h.change((d) => {
          d.value = command.value;
        });
        return { at };
      }
      case "burst": {
        const h = handle(command.id) as DocHandle<Counter>;
        const startedAt = now();
        for (let v = command.from; v <= command.to; v += 1) {
          h.change((d) => {
            d.value = v;
          });
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
        return { startedAt, endedAt: now() };
      }
    }
  };

  port.on("message", (request: Request) => {
    run(request.command).then(
      (result) => port.postMessage({ seq: request.seq, ok: true, result } satisfies Reply),
      (error: unknown) =>
        port.postMessage({
          seq: request.seq,
          ok: false,
          error: error instanceof Error ? error.message : String(error),
        } satisfies Reply),
    );
  });
  // Loads the transport's modules now, so that opening a peer later measures no module loading.
  try {
    await open(false).then((s) => s.stop());
    port.postMessage({ type: "started" } satisfies Started);
  } catch (error) {
    port.postMessage({
      type: "failed",
      error: error instanceof Error ? (error.stack ?? error.message) : String(error),
    } satisfies Started);
  }
}
