import { createServer, type Server } from "node:http";
import { BlockList, isIPv4, isIPv6, type AddressInfo } from "node:net";
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { Startable } from "./lifecycle.js";

/**
 * What the node's components report as it happens. Components take it optional and default to
 * NO_METRICS, so they stay usable (and testable) without a Prometheus registry.
 */
export interface NodeMetrics {
  /** A sync message sent or received, with its size on the channel (before framing). */
  syncMessage(peer: string, transport: string, direction: "in" | "out", bytes: number): void;
  /**
   * A checkpoint of another hub's document whose signature and signer verified, by the member's
   * directory id (stable across key rotations, known before the charter names the member's hub).
   */
  checkpointVerified(directoryId: string): void;
  /** A checkpoint refused (forged, replayed, not the hub's document, malformed), by the member's directory id. */
  checkpointRejected(directoryId: string): void;
  /** A query answered, by kind (`availability`, `cases`). */
  queryAnswered(kind: string, seconds: number): void;
  /** Changes or messages from a peer refused at admission, by reason (see admission/gate.ts). */
  syncRefused(peer: string, reason: string, count: number): void;
  /** An API request message read whole from a client, before it is decoded (`TrainerService/AddTrainer`). */
  apiRequestRead(method: string, bytes: number): void;
}

export const NO_METRICS: NodeMetrics = {
  syncMessage: () => undefined,
  checkpointVerified: () => undefined,
  checkpointRejected: () => undefined,
  queryAnswered: () => undefined,
  syncRefused: () => undefined,
  apiRequestRead: () => undefined,
};

/** Documents this node holds, read when metrics are scraped. */
export interface DocumentCensus {
  /** One entry per document: its type (`roster`, `credentials`, … or `other`), whose it is, and its bytes in storage. */
  documents(): Promise<Array<{ type: string; owner: "self" | "others"; bytes: number }>>;
}

/** The replica worker's figures, read when metrics are scraped (see replica/protocol.ts, `memory`). */
export interface ReplicaCensus {
  memory(): Promise<{
    heapUsed: number;
    heapTotal: number;
    newSpace: number;
    external: number;
    loaded: number;
    unloads: number;
    reloads: number;
    reloadsSoon: number;
  }>;
}

/**
 * Prometheus metrics of one node, in a registry of its own (several nodes may share a process in
 * tests): sync messages and bytes per peer, checkpoint verifications and rejections per hub, query
 * latency, document counts and sizes by type, and Node's own (event-loop lag, heap, GC, CPU) from
 * prom-client's default collectors.
 */
export class PromMetrics implements NodeMetrics {
  readonly registry = new Registry();
  readonly #queries: Histogram<"query">;
  readonly #requestBytes: Counter<"method">;
  /**
   * Counts by peer id or directory id; their `hub` label is looked up when they are scraped, from
   * the charter as it is then. So a member has one hub label, also for what it sent before this
   * node had verified a charter naming it (the secretariat's first messages and checkpoints).
   */
  readonly #sync = new Map<
    string,
    { peer: string; transport: string; direction: string; messages: number; bytes: number }
  >();
  readonly #verifiedBy = new Map<string, number>();
  readonly #rejectedBy = new Map<string, number>();
  readonly #refusedBy = new Map<string, { peer: string; reason: string; count: number }>();
  /** Reads the documents in storage at scrape time (none until `countDocuments` names the census). */
  #census: DocumentCensus = { documents: async () => [] };
  #replica: ReplicaCensus | undefined;

  /**
   * `census` may also be given later with `countDocuments`: it reads components (the verified views)
   * that themselves count into these metrics, so they are built after them.
   */
  constructor(options: {
    hubOf: (peerId: string) => string;
    hubOfDirectory: (directoryId: string) => string;
    census?: DocumentCensus;
    labels?: Record<string, string>;
  }) {
    if (options.census) this.#census = options.census;
    const hubOf = (peer: string) => options.hubOf(peer) || "unknown";
    const hubOfDirectory = (directoryId: string) => options.hubOfDirectory(directoryId) || "unknown";
    if (options.labels) this.registry.setDefaultLabels(options.labels);
    const registers = [this.registry];
    const sync = this.#sync;
    const byHub = (counts: Map<string, number>) => {
      const out = new Map<string, number>();
      for (const [directoryId, n] of counts)
        out.set(hubOfDirectory(directoryId), (out.get(hubOfDirectory(directoryId)) ?? 0) + n);
      return out;
    };
    const syncCounter = (name: string, help: string, value: (e: { messages: number; bytes: number }) => number) => {
      const counter: Counter<"peer" | "hub" | "transport" | "direction"> = new Counter({
        name,
        help,
        labelNames: ["peer", "hub", "transport", "direction"],
        registers,
        collect() {
          counter.reset();
          for (const e of sync.values())
            counter.inc({ peer: e.peer, hub: hubOf(e.peer), transport: e.transport, direction: e.direction }, value(e));
        },
      });
    };
    syncCounter("concordat_sync_messages_total", "Sync messages exchanged with a peer", (e) => e.messages);
    syncCounter(
      "concordat_sync_bytes_total",
      "Bytes of sync messages exchanged with a peer (before framing)",
      (e) => e.bytes,
    );
    const checkpointCounter = (name: string, help: string, counts: Map<string, number>) => {
      const counter: Counter<"hub"> = new Counter({
        name,
        help,
        labelNames: ["hub"],
        registers,
        collect() {
          counter.reset();
          for (const [hub, n] of byHub(counts)) counter.inc({ hub }, n);
        },
      });
    };
    checkpointCounter(
      "concordat_checkpoint_verifications_total",
      "Checkpoints of another hub's documents whose signature and signer verified",
      this.#verifiedBy,
    );
    checkpointCounter(
      "concordat_checkpoint_rejections_total",
      "Checkpoints refused: forged, replayed, malformed or not the hub's document",
      this.#rejectedBy,
    );
    const refusedBy = this.#refusedBy;
    const refused: Counter<"peer" | "hub" | "reason"> = new Counter({
      name: "concordat_sync_refused_total",
      help: "Changes (or whole messages) from a peer refused at admission: unsigned by the owner, to this node's own documents, for unknown documents, malformed, unsupported",
      labelNames: ["peer", "hub", "reason"],
      registers,
      collect() {
        refused.reset();
        for (const e of refusedBy.values())
          refused.inc({ peer: e.peer, hub: hubOf(e.peer), reason: e.reason }, e.count);
      },
    });
    this.#queries = new Histogram({
      name: "concordat_query_duration_seconds",
      help: "Time to answer a query at this node",
      labelNames: ["query"],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.#requestBytes = new Counter({
      name: "concordat_api_request_bytes_total",
      help: "Bytes of API request messages read whole from clients, by method (a refused caller's are never read)",
      labelNames: ["method"],
      registers,
    });
    // One census serves both gauges of a scrape (each gauge collects on its own, at the same time).
    let census:
      | { at: number; documents: Promise<Array<{ type: string; owner: "self" | "others"; bytes: number }>> }
      | undefined;
    const snapshot = () => {
      if (!census || Date.now() - census.at > 1000) census = { at: Date.now(), documents: this.#census.documents() };
      return census.documents;
    };
    const gauge = (name: string, help: string, value: (d: { bytes: number }) => number) => {
      const g: Gauge<"type" | "owner"> = new Gauge({
        name,
        help,
        labelNames: ["type", "owner"],
        registers,
        async collect() {
          const documents = await snapshot();
          g.reset();
          for (const d of documents) g.inc({ type: d.type, owner: d.owner }, value(d));
        },
      });
    };
    gauge("concordat_documents", "Documents in storage, by type and by whose they are", () => 1);
    gauge(
      "concordat_document_bytes",
      "Bytes in storage of the documents held, by type and by whose they are",
      (d) => d.bytes,
    );
    // The replica worker's figures: one call to the worker serves every gauge of a scrape.
    type ReplicaFigures = Awaited<ReturnType<ReplicaCensus["memory"]>>;
    let replica: { at: number; memory: Promise<ReplicaFigures | undefined> } | undefined;
    const worker = (): Promise<ReplicaFigures | undefined> => {
      if (!replica || Date.now() - replica.at > 1000) {
        // A worker that is not running (before start, after stop) has no figures to give.
        const memory = this.#replica ? this.#replica.memory().catch(() => undefined) : Promise.resolve(undefined);
        replica = { at: Date.now(), memory };
      }
      return replica.memory;
    };
    // A gauge is set to the figure; a counter (a count so far, kept by the worker) is reset to it.
    const fromWorker = (
      kind: "gauge" | "counter",
      name: string,
      help: string,
      value: (m: ReplicaFigures) => number,
    ) => {
      const options = {
        name,
        help,
        registers,
        async collect() {
          const memory = await worker();
          if (!memory) return;
          if (metric instanceof Gauge) metric.set(value(memory));
          else {
            metric.reset();
            metric.inc(value(memory));
          }
        },
      };
      const metric = kind === "gauge" ? new Gauge(options) : new Counter(options);
    };
    fromWorker("gauge", "concordat_replica_heap_bytes", "The replica worker's V8 heap in use", (m) => m.heapUsed);
    fromWorker(
      "gauge",
      "concordat_replica_heap_total_bytes",
      "The replica worker's V8 heap, used or not",
      (m) => m.heapTotal,
    );
    fromWorker(
      "gauge",
      "concordat_replica_new_space_bytes",
      "The replica worker's young generation (its semi-spaces; bounded, docs/hub-operator.md)",
      (m) => m.newSpace,
    );
    fromWorker(
      "gauge",
      "concordat_replica_external_bytes",
      "The replica worker's memory outside its V8 heap (Automerge's WebAssembly memory, buffers)",
      (m) => m.external,
    );
    fromWorker(
      "gauge",
      "concordat_replica_documents_loaded",
      "Documents loaded in the replica worker now",
      (m) => m.loaded,
    );
    fromWorker(
      "counter",
      "concordat_replica_unloads_total",
      "Idle documents unloaded from the replica worker",
      (m) => m.unloads,
    );
    fromWorker(
      "counter",
      "concordat_replica_reloads_total",
      "Unloaded documents loaded again (read, synced or changed)",
      (m) => m.reloads,
    );
    fromWorker(
      "counter",
      "concordat_replica_reloads_soon_total",
      "Unloaded documents loaded again soon after their unload (each then stays loaded longer)",
      (m) => m.reloadsSoon,
    );
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 10 });
  }

  /** Where the replica worker's figures are read from at scrape time. */
  countReplica(census: ReplicaCensus): void {
    this.#replica = census;
  }

  /** Where the document gauges read from at scrape time. */
  countDocuments(census: DocumentCensus): void {
    this.#census = census;
  }

  syncMessage(peer: string, transport: string, direction: "in" | "out", bytes: number): void {
    const key = `${peer}\u0000${transport}\u0000${direction}`;
    const entry = this.#sync.get(key) ?? { peer, transport, direction, messages: 0, bytes: 0 };
    entry.messages += 1;
    entry.bytes += bytes;
    this.#sync.set(key, entry);
  }

  checkpointVerified(directoryId: string): void {
    this.#verifiedBy.set(directoryId, (this.#verifiedBy.get(directoryId) ?? 0) + 1);
  }

  checkpointRejected(directoryId: string): void {
    this.#rejectedBy.set(directoryId, (this.#rejectedBy.get(directoryId) ?? 0) + 1);
  }

  syncRefused(peer: string, reason: string, count: number): void {
    const key = `${peer}\u0000${reason}`;
    const entry = this.#refusedBy.get(key) ?? { peer, reason, count: 0 };
    entry.count += count;
    this.#refusedBy.set(key, entry);
  }

  queryAnswered(kind: string, seconds: number): void {
    this.#queries.observe({ query: kind }, seconds);
  }

  apiRequestRead(method: string, bytes: number): void {
    this.#requestBytes.inc({ method }, bytes);
  }
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet("127.0.0.0", 8, "ipv4");
LOOPBACK.addAddress("::1", "ipv6");

/** Is `host` this machine only: `localhost`, 127.0.0.0/8 or ::1 (also written in full, or IPv4-mapped)? */
export function isLoopback(host: string): boolean {
  if (host === "localhost") return true;
  if (isIPv4(host)) return LOOPBACK.check(host, "ipv4");
  if (isIPv6(host)) return LOOPBACK.check(host, "ipv6");
  return false;
}

/** The scrape endpoint: GET /metrics on a loopback address; anything else is 404. */
export async function serveMetrics(
  metrics: PromMetrics,
  host: string,
  port: number,
): Promise<{ server: Server; address: string }> {
  const server = createServer((req, res) => {
    if (req.method !== "GET" || (req.url ?? "").split("?")[0] !== "/metrics") {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found: the metrics are at GET /metrics\n");
      return;
    }
    metrics.registry.metrics().then(
      (text) => res.writeHead(200, { "content-type": metrics.registry.contentType }).end(text),
      (error: unknown) =>
        res.writeHead(500, { "content-type": "text/plain" }).end(`metrics failed: ${(error as Error).message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  return { server, address: `${bound.family === "IPv6" ? `[${bound.address}]` : bound.address}:${bound.port}` };
}

/** The scrape endpoint as a component: listens at start (`serveMetrics`), closes at stop. */
export class MetricsServer implements Startable {
  readonly #metrics: PromMetrics;
  readonly #host: string;
  readonly #port: number;
  #served: { server: Server; address: string } | undefined;

  constructor(init: { host: string; port: number }, components: { metrics: PromMetrics }) {
    this.#metrics = components.metrics;
    this.#host = init.host;
    this.#port = init.port;
  }

  /** `host:port` it listens on once started (the real port when configured with 0). */
  get address(): string | undefined {
    return this.#served?.address;
  }

  async start(): Promise<void> {
    if (this.#served) return;
    this.#served = await serveMetrics(this.#metrics, this.#host, this.#port);
  }

  async stop(): Promise<void> {
    const served = this.#served;
    if (!served) return;
    this.#served = undefined;
    await new Promise<void>((resolve) => served.server.close(() => resolve()));
  }
}
