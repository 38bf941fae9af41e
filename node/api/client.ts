/**
 * The one typed client of the node's API, for the CLI, the tests and the benchmarks. Every method of
 * every service (from the ts-proto service definitions in ./generated) is a function: a unary call
 * returns a promise, a server stream an async iterable, a client stream takes an (async) iterable of
 * messages and returns a promise. Each call carries the bearer token and a deadline; a failed call
 * rejects with grpc-js's `ServiceError` (its `code` a gRPC status), which the CLI maps to its exit
 * codes and messages (cli/errors.ts).
 */
import { once } from "node:events";
import {
  Client,
  credentials as grpcCredentials,
  Metadata,
  status,
  type CallOptions as GrpcCallOptions,
  type ChannelCredentials,
  type ChannelOptions,
  type ClientReadableStream,
  type ClientWritableStream,
  type ServiceError,
} from "@grpc/grpc-js";
import { service as healthDefinition } from "grpc-health-check";
import { AvailabilityServiceService } from "./generated/concordat/v1/availability.js";
import { BookingServiceService } from "./generated/concordat/v1/bookings.js";
import { CaseServiceService } from "./generated/concordat/v1/cases.js";
import { AuditServiceService, CoreServiceService } from "./generated/concordat/v1/core.js";
import { CredentialServiceService } from "./generated/concordat/v1/credentials.js";
import { DeliveryServiceService } from "./generated/concordat/v1/deliveries.js";
import { EvaluationServiceService } from "./generated/concordat/v1/evaluations.js";
import { FeedbackServiceService } from "./generated/concordat/v1/feedback.js";
import { GrievanceServiceService } from "./generated/concordat/v1/grievances.js";
import { FederationServiceService, KeyServiceService } from "./generated/concordat/v1/federation.js";
import { NodeServiceService, OperatorServiceService } from "./generated/concordat/v1/node.js";
import { PlanServiceService } from "./generated/concordat/v1/plans.js";
import { ReportServiceService } from "./generated/concordat/v1/reports.js";
import { TrainerServiceService } from "./generated/concordat/v1/trainers.js";

/** Options of one call. */
export interface CallOptions {
  /**
   * Milliseconds from now until the call fails with DEADLINE_EXCEEDED. Unary and client-stream calls
   * default to the client's `deadlineMs`; a server stream (an export, a backup) has none unless given.
   */
  deadlineMs?: number;
  /** This call's bearer token instead of the client's. */
  token?: string;
  /** This call's whole metadata, sent as given (no bearer token added): e.g. a malformed header. */
  metadata?: Metadata;
  /** Wait (within the deadline) for a node that is not up yet, rather than failing at once with UNAVAILABLE. */
  waitForReady?: boolean;
  /** Cancels the call (it fails with CANCELLED). */
  signal?: AbortSignal;
  /** Receives the response headers (e.g. the node's identity, IDENTITY_HEADERS). */
  onHeaders?: (headers: Metadata) => void;
}

/** A method of a service definition, as ts-proto generates it (the fields the client needs). */
interface MethodDefinition<Req, Res> {
  path: string;
  requestStream: boolean;
  responseStream: boolean;
  requestSerialize: (value: Req) => Buffer;
  responseDeserialize: (value: Buffer) => Res;
}

export type UnaryCall<Req, Res> = (request: Req, options?: CallOptions) => Promise<Res>;
export type ServerStreamCall<Req, Res> = (request: Req, options?: CallOptions) => AsyncIterable<Res>;
export type ClientStreamCall<Req, Res> = (
  requests: Iterable<Req> | AsyncIterable<Req>,
  options?: CallOptions,
) => Promise<Res>;

/** The typed functions of a service definition (bidirectional streams are left out: only replication has one). */
export type ServiceClient<S> = {
  [K in keyof S as S[K] extends { requestStream: true; responseStream: true } ? never : K]: S[K] extends {
    requestStream: infer ReqStream;
    responseStream: infer ResStream;
    requestSerialize: (value: infer Req) => Buffer;
    responseDeserialize: (value: Buffer) => infer Res;
  }
    ? ReqStream extends true
      ? ClientStreamCall<Req, Res>
      : ResStream extends true
        ? ServerStreamCall<Req, Res>
        : UnaryCall<Req, Res>
    : never;
};

export interface HealthCheckRequest {
  service: string;
}
export interface HealthCheckResponse {
  status: "UNKNOWN" | "SERVING" | "NOT_SERVING" | "SERVICE_UNKNOWN";
}

/** grpc.health.v1.Health/Check, typed (the grpc-health-check package's definition is untyped). */
const HealthService = {
  check: {
    path: "/grpc.health.v1.Health/Check",
    requestStream: false as const,
    responseStream: false as const,
    requestSerialize: (value: HealthCheckRequest): Buffer =>
      (healthDefinition.Check as unknown as MethodDefinition<HealthCheckRequest, HealthCheckResponse>).requestSerialize(
        value,
      ),
    responseDeserialize: (value: Buffer): HealthCheckResponse =>
      (
        healthDefinition.Check as unknown as MethodDefinition<HealthCheckRequest, HealthCheckResponse>
      ).responseDeserialize(value),
  },
};

const SERVICES = {
  trainers: TrainerServiceService,
  operators: OperatorServiceService,
  node: NodeServiceService,
  federation: FederationServiceService,
  keys: KeyServiceService,
  core: CoreServiceService,
  audit: AuditServiceService,
  credentials: CredentialServiceService,
  availability: AvailabilityServiceService,
  bookings: BookingServiceService,
  cases: CaseServiceService,
  deliveries: DeliveryServiceService,
  evaluations: EvaluationServiceService,
  plans: PlanServiceService,
  feedback: FeedbackServiceService,
  grievances: GrievanceServiceService,
  reports: ReportServiceService,
  health: HealthService,
};

/** The node's API: one typed service client per gRPC service, over one channel. */
export type NodeClient = { readonly [K in keyof typeof SERVICES]: ServiceClient<(typeof SERVICES)[K]> } & {
  /** `host:port` of the node. */
  readonly address: string;
  close(): void;
};

export interface NodeClientOptions {
  /** Bearer token every call carries (unless the call gives its own token or metadata). */
  token?: string;
  /** Channel credentials (TLS); plaintext by default. */
  credentials?: ChannelCredentials;
  /** Default deadline of unary and client-stream calls, in ms (default DEFAULT_DEADLINE_MS). */
  deadlineMs?: number;
  /** grpc-js channel options on top of the defaults (64 MiB messages each way), e.g. reconnect backoff. */
  channel?: ChannelOptions;
}

export const DEFAULT_DEADLINE_MS = 30_000;
const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

/** Whether `error` is a gRPC error (a failed call's rejection). */
export function isServiceError(error: unknown): error is ServiceError {
  return error instanceof Error && typeof (error as Partial<ServiceError>).code === "number" && "details" in error;
}

/** "CODE: details" for a gRPC error (e.g. "UNAVAILABLE: No connection established"), the message for anything else. */
export function describeError(error: unknown): string {
  if (isServiceError(error)) return `${status[error.code] ?? String(error.code)}: ${error.details}`;
  return error instanceof Error ? error.message : String(error);
}

/** A client of the node API at `address`; `close()` it when done. */
export function nodeClient(address: string, options: NodeClientOptions = {}): NodeClient {
  const channel = new Client(address, options.credentials ?? grpcCredentials.createInsecure(), {
    "grpc.max_receive_message_length": MAX_MESSAGE_BYTES,
    "grpc.max_send_message_length": MAX_MESSAGE_BYTES,
    ...options.channel,
  });
  const defaultDeadlineMs = options.deadlineMs ?? DEFAULT_DEADLINE_MS;

  const metadataOf = (call: CallOptions): Metadata => {
    if (call.metadata) return call.metadata;
    const metadata = new Metadata(call.waitForReady ? { waitForReady: true } : undefined);
    const token = call.token ?? options.token;
    if (token !== undefined) metadata.set("authorization", `Bearer ${token}`);
    return metadata;
  };
  const deadline = (deadlineMs: number | undefined): GrpcCallOptions =>
    deadlineMs === undefined ? {} : { deadline: Date.now() + deadlineMs };
  /** Wires `signal` and `onHeaders` to a started call. */
  const watch = (
    started: { cancel(): void; on(event: "metadata", listener: (headers: Metadata) => void): unknown },
    call: CallOptions,
  ): (() => void) => {
    if (call.onHeaders) started.on("metadata", call.onHeaders);
    const signal = call.signal;
    if (!signal) return () => undefined;
    const abort = () => started.cancel();
    if (signal.aborted) abort();
    else signal.addEventListener("abort", abort, { once: true });
    return () => signal.removeEventListener("abort", abort);
  };

  function unary<Req, Res>(method: MethodDefinition<Req, Res>): UnaryCall<Req, Res> {
    return (request, call = {}) =>
      new Promise<Res>((resolve, reject) => {
        let unwatch: () => void = () => undefined;
        const started = channel.makeUnaryRequest(
          method.path,
          method.requestSerialize,
          method.responseDeserialize,
          request,
          metadataOf(call),
          deadline(call.deadlineMs ?? defaultDeadlineMs),
          (error: ServiceError | null, response?: Res) => {
            unwatch();
            if (error) reject(error);
            else resolve(response as Res);
          },
        );
        unwatch = watch(started, call);
      });
  }

  function serverStream<Req, Res>(method: MethodDefinition<Req, Res>): ServerStreamCall<Req, Res> {
    return (request, call = {}) => ({
      async *[Symbol.asyncIterator]() {
        const stream: ClientReadableStream<Res> = channel.makeServerStreamRequest(
          method.path,
          method.requestSerialize,
          method.responseDeserialize,
          request,
          metadataOf(call),
          deadline(call.deadlineMs),
        );
        const unwatch = watch(stream, call);
        try {
          for await (const message of stream) yield message as Res;
        } finally {
          unwatch();
          // A consumer that stops early ends the call; after the stream's end this does nothing.
          stream.cancel();
        }
      },
    });
  }

  function clientStream<Req, Res>(method: MethodDefinition<Req, Res>): ClientStreamCall<Req, Res> {
    return (requests, call = {}) =>
      new Promise<Res>((resolve, reject) => {
        let unwatch: () => void = () => undefined;
        // Aborted once the call has ended, so that a sender waiting for "drain" stops waiting.
        const ended = new AbortController();
        const stream: ClientWritableStream<Req> = channel.makeClientStreamRequest(
          method.path,
          method.requestSerialize,
          method.responseDeserialize,
          metadataOf(call),
          deadline(call.deadlineMs ?? defaultDeadlineMs),
          (error: ServiceError | null, response?: Res) => {
            unwatch();
            ended.abort();
            if (error) reject(error);
            else resolve(response as Res);
          },
        );
        unwatch = watch(stream, call);
        const send = async () => {
          for await (const message of requests) {
            // Waits for the channel to take more when it is full (a large import).
            if (!stream.write(message)) await once(stream, "drain", { signal: ended.signal });
            // Takes no more messages once the call has ended (the node may refuse an import early).
            if (ended.signal.aborted) return;
          }
          stream.end();
        };
        send().catch((error: unknown) => {
          stream.cancel();
          reject(error);
        });
      });
  }

  function serviceClient<S extends object>(definition: S): ServiceClient<S> {
    const client: Record<string, unknown> = {};
    for (const [name, method] of Object.entries(definition) as Array<[string, MethodDefinition<unknown, unknown>]>) {
      if (method.requestStream && method.responseStream) continue;
      client[name] = method.requestStream
        ? clientStream(method)
        : method.responseStream
          ? serverStream(method)
          : unary(method);
    }
    return client as ServiceClient<S>;
  }

  const services = Object.fromEntries(
    Object.entries(SERVICES).map(([name, definition]) => [name, serviceClient(definition)]),
  ) as { [K in keyof typeof SERVICES]: ServiceClient<(typeof SERVICES)[K]> };
  return { ...services, address, close: () => channel.close() };
}
