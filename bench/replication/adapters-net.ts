/**
 * The benchmark thread's side of `replication.adapters`: peers in worker threads (adapters-peer.ts),
 * commanded with bounded waits, and a counting TCP proxy that measures what crosses the wire the
 * same way for every transport.
 */
import { once } from "node:events";
import { createConnection, createServer, type Socket } from "node:net";
import { Worker } from "node:worker_threads";
import type { Command, PeerInit, Reply, Request, Results, Started, Transport } from "./adapters-protocol.js";

/** A peer's thread: it opens a new Repo and transport for each measurement (`open`), and closes it. */
export class PeerThread {
  readonly name: string;
  readonly transport: Transport;
  /** The open Repo's peer id and listening port on 127.0.0.1 (0 when it accepts nobody). */
  peerId = "";
  port = 0;
  readonly #worker: Worker;
  readonly #pending = new Map<number, { resolve: (r: unknown) => void; reject: (e: Error) => void }>();
  #seq = 0;
  #dead: Error | undefined;

  private constructor(worker: Worker, init: PeerInit) {
    this.#worker = worker;
    this.name = init.name;
    this.transport = init.transport;
    worker.on("message", (reply: Reply) => {
      const waiter = this.#pending.get(reply.seq);
      if (!waiter) return;
      this.#pending.delete(reply.seq);
      if (reply.ok) waiter.resolve(reply.result);
      else waiter.reject(new Error(`${this.name}: ${reply.error}`));
    });
    const die = (error: Error) => {
      this.#dead ??= error;
      for (const waiter of this.#pending.values()) waiter.reject(error);
      this.#pending.clear();
    };
    worker.on("error", (error) => die(new Error(`${this.name} crashed: ${error.message}`)));
    worker.on("exit", (code) => die(new Error(`${this.name} exited (code ${code})`)));
  }

  /** Starts a peer's thread and waits (at most `timeoutMs`) until its transport's modules are loaded. */
  static async start(init: PeerInit, timeoutMs = 60_000): Promise<PeerThread> {
    const worker = new Worker(new URL("./adapters-peer.js", import.meta.url), { workerData: init });
    try {
      const started = await new Promise<Started>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`${init.name} did not start within ${timeoutMs} ms`)),
          timeoutMs,
        );
        worker.once("message", (message: Started) => {
          clearTimeout(timer);
          resolve(message);
        });
        worker.once("error", (error) => {
          clearTimeout(timer);
          reject(error);
        });
      });
      if (started.type === "failed") throw new Error(`${init.name} failed to start: ${started.error}`);
      return new PeerThread(worker, init);
    } catch (error) {
      await worker.terminate();
      throw error;
    }
  }

  call<T extends Command["type"]>(command: Extract<Command, { type: T }>, timeoutMs = 30_000): Promise<Results[T]> {
    if (this.#dead) return Promise.reject(this.#dead);
    const seq = (this.#seq += 1);
    return new Promise<Results[T]>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(seq);
        reject(new Error(`${this.name}: no answer to ${command.type} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(seq, {
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r as Results[T]);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.#worker.postMessage({ seq, command } satisfies Request);
    });
  }

  /** A new Repo and transport in this thread. */
  async open(accept = true): Promise<void> {
    const { peerId, port } = await this.call({ type: "open", accept }, 30_000);
    this.peerId = peerId;
    this.port = port;
  }

  async close(): Promise<void> {
    await this.call({ type: "close" }, 10_000);
  }

  /** Closes the open Repo's transport (bounded), then ends the thread. */
  async stop(): Promise<void> {
    await this.close().catch(() => undefined);
    await this.#worker.terminate();
  }
}

/** The threads of `count` peers of a transport, stopped at cleanup. */
export async function startPeers(
  transport: Transport,
  names: readonly string[],
  register: (what: string, stop: () => Promise<void>) => void,
): Promise<PeerThread[]> {
  const started = await Promise.allSettled(names.map((name) => PeerThread.start({ transport, name })));
  const peers = started.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
  for (const p of peers) register(`stop ${p.name} (${transport})`, () => p.stop());
  const failed = started.find((s) => s.status === "rejected");
  if (failed) throw failed.reason instanceof Error ? failed.reason : new Error(String(failed.reason));
  return peers;
}

export interface CountingProxy {
  port: number;
  /** Bytes from the dialling side to the listening side. */
  readonly up: number;
  /** Bytes from the listening side back. */
  readonly down: number;
  readonly connections: number;
  close(): Promise<void>;
}

/** A TCP proxy on 127.0.0.1 to `targetPort` that counts the bytes of every connection, both ways. */
export async function countingProxy(targetPort: number): Promise<CountingProxy> {
  let up = 0;
  let down = 0;
  let connections = 0;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    connections += 1;
    const upstream = createConnection({ host: "127.0.0.1", port: targetPort });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.setNoDelay(true);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.on("data", (chunk: Buffer) => {
      up += chunk.byteLength;
    });
    upstream.on("data", (chunk: Buffer) => {
      down += chunk.byteLength;
    });
    client.pipe(upstream);
    upstream.pipe(client);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("the proxy listens nowhere");
  return {
    port: address.port,
    get up() {
      return up;
    },
    get down() {
      return down;
    },
    get connections() {
      return connections;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
