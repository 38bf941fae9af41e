import type { NodeMetrics } from "../metrics.js";
import type {
  handleClientStreamingCall,
  ServerReadableStream,
  handleServerStreamingCall,
  handleUnaryCall,
  Metadata,
  ServerWritableStream,
  ServerUnaryCall,
} from "@grpc/grpc-js";
import type { Logger } from "pino";
import { permissionDenied, unauthenticated } from "../errors.js";
import { hasRole, type Operator, type Operators, type Role } from "../operators/index.js";
import { toServiceError } from "./errors.js";

/** What every handler gets besides its request: who calls, a signal for cancellation, a logger. */
export interface CallContext {
  operator: Operator;
  signal: AbortSignal;
  log: Logger;
}

export interface HandlerComponents {
  operators: Operators;
  logger: Logger;
  /** Query latency (Prometheus, when the node serves metrics). */
  metrics?: NodeMetrics;
}

function authorize(components: HandlerComponents, metadata: Metadata, role: Role): Operator {
  const header = metadata.get("authorization")[0];
  if (typeof header !== "string" || header === "") {
    throw unauthenticated("missing credential: send 'authorization: Bearer <token>'");
  }
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  if (!match) throw unauthenticated("malformed authorization header: expected 'Bearer <token>'");
  const operator = components.operators.authenticate(match[1] as string);
  if (!hasRole(operator.role, role)) {
    throw permissionDenied(`operator '${operator.id}' has role '${operator.role}'; this call needs '${role}'`);
  }
  return operator;
}

function contextFor(
  components: HandlerComponents,
  call: { metadata: Metadata; on(event: "cancelled", listener: () => void): unknown },
  method: string,
  role: Role,
): CallContext {
  const operator = authorize(components, call.metadata, role);
  const controller = new AbortController();
  call.on("cancelled", () => controller.abort());
  return { operator, signal: controller.signal, log: components.logger.child({ method, operator: operator.id }) };
}

/** Adapts an async function to a grpc-js unary handler, with authentication and the error boundary. */
export function unary<Req, Res>(
  components: HandlerComponents,
  method: string,
  role: Role,
  fn: (request: Req, ctx: CallContext) => Promise<Res> | Res,
): handleUnaryCall<Req, Res> {
  return (call: ServerUnaryCall<Req, Res>, callback) => {
    (async () => fn(call.request, contextFor(components, call, method, role)))().then(
      (response) => callback(null, response),
      (error: unknown) => callback(toServiceError(error, components.logger, method)),
    );
  };
}

/** Adapts an async generator to a server-streaming handler. */
export function serverStream<Req, Res>(
  components: HandlerComponents,
  method: string,
  role: Role,
  fn: (request: Req, ctx: CallContext) => AsyncIterable<Res>,
): handleServerStreamingCall<Req, Res> {
  return (call: ServerWritableStream<Req, Res>) => {
    (async () => {
      const ctx = contextFor(components, call, method, role);
      for await (const message of fn(call.request, ctx)) {
        if (ctx.signal.aborted) return;
        if (!call.write(message)) await new Promise<void>((resolve) => call.once("drain", resolve));
      }
      call.end();
    })().catch((error: unknown) => {
      // grpc-js turns an 'error' event carrying a status into the call's final status.
      call.emit("error", toServiceError(error, components.logger, method));
    });
  };
}

/** Adapts an async function over the request stream to a client-streaming handler. */
export function clientStream<Req, Res>(
  components: HandlerComponents,
  method: string,
  role: Role,
  fn: (requests: AsyncIterable<Req>, ctx: CallContext) => Promise<Res>,
): handleClientStreamingCall<Req, Res> {
  return (call: ServerReadableStream<Req, Res>, callback) => {
    (async () => fn(call as AsyncIterable<Req>, contextFor(components, call, method, role)))().then(
      (response) => callback(null, response),
      (error: unknown) => callback(toServiceError(error, components.logger, method)),
    );
  };
}
