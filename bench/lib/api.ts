/**
 * A node's gRPC API as the benchmarks and the soak use it: the node's own typed client
 * (node/api/client.ts) with fast reconnects while a node restarts, and the few requests they build.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { nodeClient, type NodeClient } from "../../node/api/index.js";
import {
  FindAvailableTrainersRequest,
  type FindAvailableTrainersResponse,
} from "../../node/api/generated/concordat/v1/availability.js";
import type { AdmitMemberRequest } from "../../node/api/generated/concordat/v1/federation.js";
import type { ImportTrainersRequest, Trainer } from "../../node/api/generated/concordat/v1/trainers.js";

export type { NodeClient } from "../../node/api/index.js";

/** The admin token `concordat init` wrote into a data dir. */
export async function adminToken(dataDir: string): Promise<string> {
  return (await readFile(join(dataDir, "admin.token"), "utf8")).trim();
}

export interface BenchClientOptions {
  /** Default deadline of each call (default 30 s). */
  deadlineMs?: number;
  /** Reconnect backoff while a node is down, first and longest (default 10 and 50 ms). */
  reconnectMs?: [number, number];
}

/** A client of the node at `address` with `token`, on a channel of its own that reconnects within tens of ms. */
export function benchClient(address: string, token: string, options: BenchClientOptions = {}): NodeClient {
  const [initial, max] = options.reconnectMs ?? [10, 50];
  return nodeClient(address, {
    token,
    deadlineMs: options.deadlineMs ?? 30_000,
    channel: {
      "grpc.initial_reconnect_backoff_ms": initial,
      "grpc.max_reconnect_backoff_ms": max,
      "grpc.use_local_subchannel_pool": 1,
    },
  });
}

/** A FindAvailableTrainers request: `fields` over empty ones, one answer a page unless said. */
export function findRequest(fields: Partial<FindAvailableTrainersRequest>): FindAvailableTrainersRequest {
  return FindAvailableTrainersRequest.fromPartial({ pageSize: 1, ...fields });
}

/** An AdmitMember request without addresses, region or directory (the charter's defaults). */
export function admitRequest(hub: string, peerId: string, name: string, addresses: string[] = []): AdmitMemberRequest {
  return { hub, peerId, name, addresses, region: "", directoryId: "" };
}

/** ImportTrainers' messages: the options (all off), then the trainers in batches of `batch` rows, numbered as lines of a file with a header. */
export function* importMessages(trainers: readonly Trainer[], batch = 250): Generator<ImportTrainersRequest> {
  yield { part: { $case: "options", value: { skipInvalid: false, dryRun: false, upsert: false } } };
  for (let i = 0; i < trainers.length; i += batch)
    yield {
      part: {
        $case: "rows",
        value: { rows: trainers.slice(i, i + batch).map((trainer, k) => ({ line: i + k + 2, trainer })) },
      },
    };
}

/** Every trainer of the hub's roster (ListTrainers, all pages). */
export async function listAllTrainers(client: NodeClient): Promise<Trainer[]> {
  const out: Trainer[] = [];
  let pageToken = "";
  for (let page = 0; page < 1_000; page += 1) {
    const response = await client.trainers.listTrainers({ pageSize: 1_000, pageToken });
    out.push(...response.trainers);
    if (!response.nextPageToken) return out;
    pageToken = response.nextPageToken;
  }
  throw new Error(`ListTrainers at ${client.address} gave more than 1,000 pages`);
}

/** Every answer of a query (FindAvailableTrainers, all pages of 500). */
export async function findAll(
  client: NodeClient,
  fields: Partial<FindAvailableTrainersRequest>,
): Promise<FindAvailableTrainersResponse["trainers"]> {
  const out: FindAvailableTrainersResponse["trainers"] = [];
  let pageToken = "";
  for (let page = 0; page < 1_000; page += 1) {
    const response = await client.availability.findAvailableTrainers(
      findRequest({ ...fields, pageSize: 500, pageToken }),
    );
    out.push(...response.trainers);
    if (!response.nextPageToken) return out;
    pageToken = response.nextPageToken;
  }
  throw new Error(`FindAvailableTrainers at ${client.address} gave more than 1,000 pages`);
}
