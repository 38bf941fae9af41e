/** A node's gRPC API as the benchmarks use it: bearer token, deadlines, fast reconnects while a node restarts. */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { closeClient, credentials, Metadata, type CallOptions, type ServiceError } from "@grpc/grpc-js";
import {
  AvailabilityServiceClient,
  type FindAvailableTrainersRequest,
  type FindAvailableTrainersResponse,
} from "../../node/api/generated/concordat/v1/availability.js";
import {
  FederationServiceClient,
  type ListMembersResponse,
  type Member,
} from "../../node/api/generated/concordat/v1/federation.js";
import {
  TrainerServiceClient,
  type ImportResult,
  type ImportTrainersRequest,
  type Trainer,
} from "../../node/api/generated/concordat/v1/trainers.js";

export interface NodeApi {
  /** FindAvailableTrainers; `waitForReady` makes a call wait (within its deadline) for a node that is not up yet. */
  find(
    request: Partial<FindAvailableTrainersRequest>,
    deadlineMs?: number,
    waitForReady?: boolean,
  ): Promise<FindAvailableTrainersResponse>;
  members(): Promise<ListMembersResponse>;
  /** The secretariat's CreateFederation, then AdmitMember (without addresses). */
  createFederation(): Promise<Member>;
  admitMember(hub: string, peerId: string, name: string): Promise<Member>;
  /** ImportTrainers: the trainers in batches of `batch` rows, committed together. */
  importTrainers(trainers: readonly Trainer[], batch?: number, deadlineMs?: number): Promise<ImportResult>;
  close(): void;
}

/** The admin token `concordat init` wrote into a data dir. */
export async function adminToken(dataDir: string): Promise<string> {
  return (await readFile(join(dataDir, "admin.token"), "utf8")).trim();
}

export function nodeApi(address: string, token: string): NodeApi {
  // Reconnect within tens of ms while a node is down, and share no connection with other clients.
  const options = {
    "grpc.initial_reconnect_backoff_ms": 10,
    "grpc.max_reconnect_backoff_ms": 50,
    "grpc.use_local_subchannel_pool": 1,
    "grpc.max_send_message_length": 64 * 1024 * 1024,
  };
  const insecure = credentials.createInsecure();
  const availability = new AvailabilityServiceClient(address, insecure, options);
  const federation = new FederationServiceClient(address, insecure, options);
  const trainers = new TrainerServiceClient(address, insecure, options);
  const metadata = (waitForReady = false) => {
    const md = new Metadata({ waitForReady });
    md.set("authorization", `Bearer ${token}`);
    return md;
  };
  const deadline = (ms: number): Partial<CallOptions> => ({ deadline: Date.now() + ms });
  return {
    find: (request, deadlineMs = 30_000, waitForReady = false) =>
      new Promise((resolve, reject) => {
        const full: FindAvailableTrainersRequest = {
          competency: "",
          moduleCompetencies: [],
          language: "",
          minLevel: "",
          region: "",
          hub: "",
          from: "",
          to: "",
          minConsecutiveDays: 0,
          pageSize: 1,
          pageToken: "",
          ...request,
        };
        availability.findAvailableTrainers(
          full,
          metadata(waitForReady),
          deadline(deadlineMs),
          (error: ServiceError | null, response: FindAvailableTrainersResponse) =>
            error ? reject(error) : resolve(response),
        );
      }),
    members: () =>
      new Promise((resolve, reject) => {
        federation.listMembers(
          {},
          metadata(),
          deadline(10_000),
          (error: ServiceError | null, response: ListMembersResponse) => (error ? reject(error) : resolve(response)),
        );
      }),
    createFederation: () =>
      new Promise((resolve, reject) => {
        federation.createFederation(
          { addresses: [] },
          metadata(),
          deadline(30_000),
          (error: ServiceError | null, response: Member) => (error ? reject(error) : resolve(response)),
        );
      }),
    admitMember: (hub, peerId, name) =>
      new Promise((resolve, reject) => {
        federation.admitMember(
          { hub, peerId, name, addresses: [], region: "", directoryId: "" },
          metadata(),
          deadline(30_000),
          (error: ServiceError | null, response: Member) => (error ? reject(error) : resolve(response)),
        );
      }),
    importTrainers: (list, batch = 250, deadlineMs = 300_000) =>
      new Promise((resolve, reject) => {
        const stream = trainers.importTrainers(
          metadata(),
          deadline(deadlineMs),
          (error: ServiceError | null, response: ImportResult) => (error ? reject(error) : resolve(response)),
        );
        const messages: ImportTrainersRequest[] = [
          { part: { $case: "options", value: { skipInvalid: false, dryRun: false, upsert: false } } },
        ];
        for (let i = 0; i < list.length; i += batch) {
          messages.push({
            part: {
              $case: "rows",
              value: { rows: list.slice(i, i + batch).map((trainer, k) => ({ line: i + k + 2, trainer })) },
            },
          });
        }
        for (const message of messages) stream.write(message);
        stream.end();
      }),
    close: () => {
      closeClient(availability);
      closeClient(federation);
      closeClient(trainers);
    },
  };
}
