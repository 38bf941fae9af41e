import { duplexPair } from "node:stream";
import type { DescMethod, DescMethodStreaming, DescMethodUnary, DescService } from "@bufbuild/protobuf";
import type { ConnectRouter, HandlerContext, Transport } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import type { ConnectionInjector } from "@grpc/grpc-js";
import { AvailabilityService } from "../../web/generated/concordat/v1/availability_pb.js";
import { BookingService } from "../../web/generated/concordat/v1/bookings_pb.js";
import { CaseService } from "../../web/generated/concordat/v1/cases_pb.js";
import { AuditService, CoreService } from "../../web/generated/concordat/v1/core_pb.js";
import { CredentialService } from "../../web/generated/concordat/v1/credentials_pb.js";
import { DeliveryService } from "../../web/generated/concordat/v1/deliveries_pb.js";
import { EvaluationService } from "../../web/generated/concordat/v1/evaluations_pb.js";
import { FeedbackService } from "../../web/generated/concordat/v1/feedback_pb.js";
import { GrievanceService } from "../../web/generated/concordat/v1/grievances_pb.js";
import { FederationService, KeyService } from "../../web/generated/concordat/v1/federation_pb.js";
import { NodeService, OperatorService } from "../../web/generated/concordat/v1/node_pb.js";
import { PlanService } from "../../web/generated/concordat/v1/plans_pb.js";
import { ReportService } from "../../web/generated/concordat/v1/reports_pb.js";
import { TrainerService } from "../../web/generated/concordat/v1/trainers_pb.js";

/**
 * The API services a browser may call: every service of the operator API. Replication (peers'
 * sync stream, authenticated in its first frame) and the health service are not among them.
 */
export const CONSOLE_SERVICES: readonly DescService[] = [
  TrainerService,
  OperatorService,
  NodeService,
  FederationService,
  KeyService,
  CoreService,
  AuditService,
  CredentialService,
  AvailabilityService,
  BookingService,
  CaseService,
  DeliveryService,
  EvaluationService,
  PlanService,
  FeedbackService,
  GrievanceService,
  ReportService,
];

/** Request headers a browser's call carries on to the API: the bearer token, nothing else. */
const FORWARDED_HEADERS = ["authorization"] as const;

/**
 * A gRPC client of this node's own gRPC server that never touches the network: each HTTP/2
 * connection it opens is one end of an in-memory pipe whose other end is handed to the grpc-js
 * server (`createConnectionInjector`). A call from the console therefore runs through exactly what
 * a call from the CLI runs through — the same interceptors (token check), the same request guard
 * (size per method, strict UTF-8), the same handlers and roles, the same error boundary — whatever
 * interface or TLS setting the API port has.
 */
export function inProcessTransport(injector: ConnectionInjector): { transport: Transport; close(): void } {
  const transport = createGrpcTransport({
    baseUrl: "http://in-process.concordat",
    // No idle pings over an in-memory pipe; the session ends with the injector.
    pingIdleConnection: false,
    nodeOptions: {
      createConnection: () => {
        const [client, server] = duplexPair();
        injector.injectConnection(server);
        return client;
      },
    },
  });
  return { transport, close: () => injector.destroy() };
}

function forwardedHeaders(ctx: HandlerContext): Headers {
  const headers = new Headers();
  for (const name of FORWARDED_HEADERS) {
    const value = ctx.requestHeader.get(name);
    if (value !== null) headers.set(name, value);
  }
  return headers;
}

async function* single<T>(message: T): AsyncIterable<T> {
  yield message;
}

/** One method passed through: its request to the API, the API's answer (or error, details included) back. */
function forward(method: DescMethod, transport: Transport): unknown {
  const unary = method as DescMethodUnary;
  const streaming = method as DescMethodStreaming;
  switch (method.methodKind) {
    case "unary":
      // A unary call runs to its end (or its deadline) even when the browser stops waiting for it.
      // Passing the browser's abort on to the in-process call made the page's next calls fail now
      // and then, on a busy machine, with UNKNOWN "Premature close" (the Find screen showed that
      // instead of its form, test/console/find-book.test.ts). Streams still end with the page.
      return async (request: never, ctx: HandlerContext) => {
        const response = await transport.unary(unary, undefined, ctx.timeoutMs(), forwardedHeaders(ctx), request);
        return response.message;
      };
    case "server_streaming":
      return async function* (request: never, ctx: HandlerContext) {
        const response = await transport.stream(
          streaming,
          ctx.signal,
          ctx.timeoutMs(),
          forwardedHeaders(ctx),
          single(request),
        );
        yield* response.message;
      };
    case "client_streaming":
      return async (requests: AsyncIterable<never>, ctx: HandlerContext) => {
        const response = await transport.stream(
          streaming,
          ctx.signal,
          ctx.timeoutMs(),
          forwardedHeaders(ctx),
          requests,
        );
        let last: unknown;
        for await (const message of response.message) last = message;
        return last;
      };
    case "bidi_streaming":
      return undefined;
  }
}

/**
 * Routes every console service's methods to the API through `transport`. Nothing is decided here:
 * who may call what, what a request may hold and what an error says are the API's answers, passed
 * back unchanged (a refused field's google.rpc.BadRequest included, in grpc-status-details-bin).
 */
export function consoleRoutes(transport: Transport): (router: ConnectRouter) => void {
  return (router) => {
    for (const service of CONSOLE_SERVICES) {
      const implementation: Record<string, unknown> = {};
      for (const method of service.methods) {
        const handler = forward(method, transport);
        if (handler !== undefined) implementation[method.localName] = handler;
      }
      router.service(service, implementation as Parameters<ConnectRouter["service"]>[1]);
    }
  };
}
