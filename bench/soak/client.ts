/**
 * The gRPC calls the soak makes, as promises with a deadline each (no call waits forever): trainers,
 * bookings, availability, node status and peers, and the charter. A node that is down fails a call
 * at once (UNAVAILABLE), since calls do not wait for a connection to become ready.
 */
import {
  closeClient,
  credentials,
  Metadata,
  type CallOptions,
  type Client,
  type ClientUnaryCall,
  type ServiceError,
} from "@grpc/grpc-js";
import {
  AvailabilityServiceClient,
  type FindAvailableTrainersRequest,
  type FindAvailableTrainersResponse,
} from "../../node/api/generated/concordat/v1/availability.js";
import {
  BookingServiceClient,
  type Booking,
  type ListBookingsResponse,
  type RequestBookingRequest,
  type RequestBookingResponse,
} from "../../node/api/generated/concordat/v1/bookings.js";
import {
  FederationServiceClient,
  type ListMembersResponse,
  type Member,
} from "../../node/api/generated/concordat/v1/federation.js";
import {
  NodeServiceClient,
  type GetStatusResponse,
  type ListPeersResponse,
} from "../../node/api/generated/concordat/v1/node.js";
import {
  TrainerServiceClient,
  type GetTrainerHistoryResponse,
  type ImportResult,
  type ImportTrainersRequest,
  type Trainer,
} from "../../node/api/generated/concordat/v1/trainers.js";

type Callback<Res> = (error: ServiceError | null, response: Res) => void;
type UnaryFn<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: Callback<Res>,
) => ClientUnaryCall;
/** The request and response types of a client's unary method (its last, 4-argument overload). */
type RequestOf<F> = F extends (
  request: infer Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: Callback<infer _Res>,
) => ClientUnaryCall
  ? Req
  : never;
type ResponseOf<F> = F extends (
  request: infer _Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: Callback<infer Res>,
) => ClientUnaryCall
  ? Res
  : never;
type UnaryMethod<C> = {
  [K in keyof C]: C[K] extends (
    request: never,
    metadata: Metadata,
    options: Partial<CallOptions>,
    callback: never,
  ) => ClientUnaryCall
    ? K
    : never;
}[keyof C] &
  string;

/** gRPC status codes by name (grpc-js's `status` enum values, spelled out for messages). */
export const CODE_NAMES: Readonly<Record<number, string>> = {
  0: "OK",
  1: "CANCELLED",
  2: "UNKNOWN",
  3: "INVALID_ARGUMENT",
  4: "DEADLINE_EXCEEDED",
  5: "NOT_FOUND",
  6: "ALREADY_EXISTS",
  7: "PERMISSION_DENIED",
  8: "RESOURCE_EXHAUSTED",
  9: "FAILED_PRECONDITION",
  10: "ABORTED",
  11: "OUT_OF_RANGE",
  12: "UNIMPLEMENTED",
  13: "INTERNAL",
  14: "UNAVAILABLE",
  15: "DATA_LOSS",
  16: "UNAUTHENTICATED",
};

export function isServiceError(error: unknown): error is ServiceError {
  return error instanceof Error && typeof (error as Partial<ServiceError>).code === "number";
}

/** "CODE: details" for a gRPC error, the message for anything else. */
export function describeError(error: unknown): string {
  if (isServiceError(error)) return `${CODE_NAMES[error.code] ?? String(error.code)}: ${error.details}`;
  return error instanceof Error ? error.message : String(error);
}

export interface SoakClient {
  readonly address: string;
  addTrainer(trainer: Trainer): Promise<Trainer>;
  updateTrainer(trainer: Trainer, mask: string[]): Promise<Trainer>;
  removeTrainer(id: string): Promise<void>;
  /** Every trainer of the hub's roster (ListTrainers, all pages). */
  listAllTrainers(): Promise<Trainer[]>;
  trainerHistory(id: string): Promise<GetTrainerHistoryResponse>;
  importTrainers(trainers: readonly Trainer[]): Promise<ImportResult>;
  requestBooking(request: RequestBookingRequest): Promise<RequestBookingResponse>;
  listBookings(direction: "outgoing" | "incoming" | ""): Promise<ListBookingsResponse>;
  getBooking(key: string): Promise<Booking>;
  find(request: Partial<FindAvailableTrainersRequest>): Promise<FindAvailableTrainersResponse>;
  /** Every answer of a query (FindAvailableTrainers, all pages of 500). */
  findAll(request: Partial<FindAvailableTrainersRequest>): Promise<FindAvailableTrainersResponse["trainers"]>;
  status(): Promise<GetStatusResponse>;
  peers(includeDocuments: boolean): Promise<ListPeersResponse>;
  members(): Promise<ListMembersResponse>;
  createFederation(addresses: string[]): Promise<Member>;
  admitMember(hub: string, peerId: string, name: string, addresses: string[]): Promise<Member>;
  close(): void;
}

const EMPTY_FIND: FindAvailableTrainersRequest = {
  competency: "",
  moduleCompetencies: [],
  language: "",
  minLevel: "",
  region: "",
  hub: "",
  from: "",
  to: "",
  minConsecutiveDays: 0,
  pageSize: 50,
  pageToken: "",
};

/** A client of the node API at `address` (bearer `token`); every call gets `deadlineMs` unless it says otherwise. */
export function soakClient(address: string, token: string, deadlineMs = 20_000): SoakClient {
  const options = {
    "grpc.initial_reconnect_backoff_ms": 50,
    "grpc.max_reconnect_backoff_ms": 250,
    "grpc.use_local_subchannel_pool": 1,
    "grpc.max_receive_message_length": 64 * 1024 * 1024,
  };
  const insecure = credentials.createInsecure();
  const trainers = new TrainerServiceClient(address, insecure, options);
  const bookings = new BookingServiceClient(address, insecure, options);
  const availability = new AvailabilityServiceClient(address, insecure, options);
  const node = new NodeServiceClient(address, insecure, options);
  const federation = new FederationServiceClient(address, insecure, options);
  const metadata = () => {
    const md = new Metadata();
    md.set("authorization", `Bearer ${token}`);
    return md;
  };
  function unary<C extends Client, K extends UnaryMethod<C>>(
    client: C,
    method: K,
    request: RequestOf<C[K]>,
    ms = deadlineMs,
  ): Promise<ResponseOf<C[K]>> {
    const fn = client[method] as unknown as UnaryFn<RequestOf<C[K]>, ResponseOf<C[K]>>;
    return new Promise((resolve, reject) => {
      fn.call(client, request, metadata(), { deadline: Date.now() + ms }, (error, response) =>
        error ? reject(error) : resolve(response),
      );
    });
  }
  const find = (request: Partial<FindAvailableTrainersRequest>) =>
    unary(availability, "findAvailableTrainers", { ...EMPTY_FIND, ...request });
  return {
    address,
    addTrainer: (trainer) => unary(trainers, "addTrainer", { trainer }),
    updateTrainer: (trainer, updateMask) => unary(trainers, "updateTrainer", { trainer, updateMask }),
    removeTrainer: async (id) => {
      await unary(trainers, "removeTrainer", { id });
    },
    listAllTrainers: async () => {
      const out: Trainer[] = [];
      let pageToken = "";
      for (let page = 0; page < 1_000; page += 1) {
        const response = await unary(trainers, "listTrainers", { pageSize: 1_000, pageToken });
        out.push(...response.trainers);
        if (!response.nextPageToken) return out;
        pageToken = response.nextPageToken;
      }
      throw new Error(`ListTrainers at ${address} gave more than 1,000 pages`);
    },
    trainerHistory: (id) => unary(trainers, "getTrainerHistory", { id }),
    importTrainers: (list) =>
      new Promise((resolve, reject) => {
        const stream = trainers.importTrainers(
          metadata(),
          { deadline: Date.now() + Math.max(deadlineMs, 120_000) },
          (error: ServiceError | null, response: ImportResult) => (error ? reject(error) : resolve(response)),
        );
        const messages: ImportTrainersRequest[] = [
          { part: { $case: "options", value: { skipInvalid: false, dryRun: false, upsert: false } } },
          { part: { $case: "rows", value: { rows: list.map((trainer, i) => ({ line: i + 2, trainer })) } } },
        ];
        for (const message of messages) stream.write(message);
        stream.end();
      }),
    requestBooking: (request) => unary(bookings, "requestBooking", request),
    listBookings: (direction) => unary(bookings, "listBookings", { direction, state: "", trainerId: "" }),
    getBooking: (key) => unary(bookings, "getBooking", { booking: key }),
    find,
    findAll: async (request) => {
      const out: FindAvailableTrainersResponse["trainers"] = [];
      let pageToken = "";
      for (let page = 0; page < 1_000; page += 1) {
        const response = await find({ ...request, pageSize: 500, pageToken });
        out.push(...response.trainers);
        if (!response.nextPageToken) return out;
        pageToken = response.nextPageToken;
      }
      throw new Error(`FindAvailableTrainers at ${address} gave more than 1,000 pages`);
    },
    status: () => unary(node, "getStatus", {}),
    peers: (includeDocuments) => unary(node, "listPeers", { includeDocuments }),
    members: () => unary(federation, "listMembers", {}),
    createFederation: (addresses) => unary(federation, "createFederation", { addresses }, 30_000),
    admitMember: (hub, peerId, name, addresses) =>
      unary(federation, "admitMember", { hub, peerId, name, addresses, region: "", directoryId: "" }, 30_000),
    close: () => {
      for (const client of [trainers, bookings, availability, node, federation]) closeClient(client);
    },
  };
}
