import { createServer, type Server } from "node:http";
import { BlockList, isIPv4, isIPv6, type AddressInfo } from "node:net";
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";

/**
 * What the node's components report as it happens. Components take it optional and default to
 * NO_METRICS, so they stay usable (and testable) without a Prometheus registry.
 */
export interface NodeMetrics {
  /** A sync message sent or received, with its size on the channel (before framing). */
  syncMessage(peer: string, transport: string, direction: "in" | "out", bytes: number): void;
  /** A checkpoint of another hub's document whose signature and signer verified. */
  checkpointVerified(hub: string): void;
  /** A checkpoint refused (forged, replayed, not the hub's document, malformed). */
  checkpointRejected(hub: string): void;
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

/**
 * Prometheus metrics of one node, in a registry of its own (several nodes may share a process in
 * tests): sync messages and bytes per peer, checkpoint verifications and rejections per hub, query
 * latency, document counts and sizes by type, and Node's own (event-loop lag, heap, GC, CPU) from
 * prom-client's default collectors.
 */
export class PromMetrics implements NodeMetrics {
  readonly registry = new Registry();
  readonly #messages: Counter<"peer" | "hub" | "transport" | "direction">;
  readonly #bytes: Counter<"peer" | "hub" | "transport" | "direction">;
  readonly #verified: Counter<"hub">;
  readonly #rejected: Counter<"hub">;
  readonly #queries: Histogram<"query">;
  readonly #refused: Counter<"peer" | "hub" | "reason">;
  readonly #requestBytes: Counter<"method">;
  readonly #hubOf: (peerId: string) => string;

  constructor(options: { hubOf: (peerId: string) => string; census: DocumentCensus; labels?: Record<string, string> }) {
    this.#hubOf = options.hubOf;
    if (options.labels) this.registry.setDefaultLabels(options.labels);
    const registers = [this.registry];
    this.#messages = new Counter({ name: "concordat_sync_messages_total", help: "Sync messages exchanged with a peer", labelNames: ["peer", "hub", "transport", "direction"], registers });
    this.#bytes = new Counter({ name: "concordat_sync_bytes_total", help: "Bytes of sync messages exchanged with a peer (before framing)", labelNames: ["peer", "hub", "transport", "direction"], registers });
    this.#verified = new Counter({ name: "concordat_checkpoint_verifications_total", help: "Checkpoints of another hub's documents whose signature and signer verified", labelNames: ["hub"], registers });
    this.#rejected = new Counter({ name: "concordat_checkpoint_rejections_total", help: "Checkpoints refused: forged, replayed, malformed or not the hub's document", labelNames: ["hub"], registers });
    this.#refused = new Counter({
      name: "concordat_sync_refused_total",
      help: "Changes (or whole messages) from a peer refused at admission: unsigned by the owner, to this node's own documents, for unknown documents, malformed, unsupported",
      labelNames: ["peer", "hub", "reason"],
      registers,
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
    let census: { at: number; documents: Promise<Array<{ type: string; owner: "self" | "others"; bytes: number }>> } | undefined;
    const snapshot = () => {
      if (!census || Date.now() - census.at > 1000) census = { at: Date.now(), documents: options.census.documents() };
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
    gauge("concordat_document_bytes", "Bytes in storage of the documents held, by type and by whose they are", (d) => d.bytes);
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 10 });
  }

  syncMessage(peer: string, transport: string, direction: "in" | "out", bytes: number): void {
    const labels = { peer, hub: this.#hubOf(peer) || "unknown", transport, direction };
    this.#messages.inc(labels);
    this.#bytes.inc(labels, bytes);
  }

  checkpointVerified(hub: string): void {
    this.#verified.inc({ hub });
  }

  checkpointRejected(hub: string): void {
    this.#rejected.inc({ hub });
  }

  syncRefused(peer: string, reason: string, count: number): void {
    this.#refused.inc({ peer, hub: this.#hubOf(peer) || "unknown", reason }, count);
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
export async function serveMetrics(metrics: PromMetrics, host: string, port: number): Promise<{ server: Server; address: string }> {
  const server = createServer((req, res) => {
    if (req.method !== "GET" || (req.url ?? "").split("?")[0] !== "/metrics") {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found: the metrics are at GET /metrics\n");
      return;
    }
    metrics.registry.metrics().then(
      (text) => res.writeHead(200, { "content-type": metrics.registry.contentType }).end(text),
      (error: unknown) => res.writeHead(500, { "content-type": "text/plain" }).end(`metrics failed: ${(error as Error).message}\n`),
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
