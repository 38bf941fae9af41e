/**
 * The replica worker's entry (started by `Replica` on the main thread): a Repo behind the link of
 * protocol.ts. Its logs and anything a library prints go to the main thread's logger. It loads its
 * modules at once and builds the Repo when the main thread sends what it needs (`init`): a worker
 * spawned early (`spawnReplicaWorker`) loads them while the main thread loads its own.
 */
import "@automerge/automerge";
import { once } from "node:events";
import { parentPort } from "node:worker_threads";
import { pino } from "pino";
import { consoleLine, guardRepoSyncTimeouts } from "../process-guard.js";
import { ReplicaHost } from "./host.js";
import type { MainApi, ReplicaApi, ReplicaWorkerData } from "./protocol.js";
import { Rpc } from "./rpc.js";

const port = parentPort;
if (!port) throw new Error("the replica worker runs only as a worker thread");
const [init] = (await once(port, "message")) as [{ k: "init"; data: ReplicaWorkerData }];
if (init?.k !== "init") throw new Error("the replica worker expected its init message first");
const data = init.data;

let main: Rpc<ReplicaApi, MainApi> | undefined;
const logger = pino(
  { level: data.logLevel, base: { component: "replica" }, timestamp: false },
  { write: (line: string) => main?.notify("log", line) },
);

const log = logger.child({ source: "console" });
console.log = console.info = console.warn = console.error = (...args: unknown[]) => log.warn(consoleLine(args));
console.debug = console.trace = (...args: unknown[]) => log.debug(consoleLine(args));
guardRepoSyncTimeouts(logger, (reason) => {
  throw reason;
});

// The link looks methods up on this object: filled with the host's table once it is built.
const local = {} as ReplicaApi;
main = new Rpc<ReplicaApi, MainApi>(port, local, (method, error) =>
  logger.error({ method, err: error }, "a notification from the main thread failed"),
);
Object.assign(local, new ReplicaHost({ peerId: data.peerId, unloadAfterMs: data.unloadAfterMs }, main, logger).api());
port.postMessage({ k: "ready" });
