import type { NodeMetrics } from "../metrics.js";
import {
  ServerInterceptingCall,
  status,
  type handleClientStreamingCall,
  type ServerReadableStream,
  type handleServerStreamingCall,
  type handleUnaryCall,
  type Metadata,
  type ServerInterceptor,
  type ServerWritableStream,
  type ServerUnaryCall,
} from "@grpc/grpc-js";
import type { Logger } from "pino";
import { invalidArgument, permissionDenied, unauthenticated } from "../errors.js";
import { hasRole, type Operator, type Operators, type Role } from "../operators/index.js";
import { TextKind, textViolationsIn } from "../text.js";
import { RefusedRequest } from "./decoding.js";
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

/** The operator whose bearer token the call carries; UNAUTHENTICATED when there is none or it is not valid. */
function authenticate(components: HandlerComponents, metadata: Metadata): Operator {
  const header = metadata.get("authorization")[0];
  if (typeof header !== "string" || header === "") {
    throw unauthenticated("missing credential: send 'authorization: Bearer <token>'");
  }
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  if (!match) throw unauthenticated("malformed authorization header: expected 'Bearer <token>'");
  return components.operators.authenticate(match[1] as string);
}

function authorize(components: HandlerComponents, metadata: Metadata, role: Role): Operator {
  const operator = authenticate(components, metadata);
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

/** Methods served without an operator's token: health checks, and Replicate (peers authenticate in its first frame). */
function isOpen(path: string): boolean {
  return path.startsWith("/grpc.health.v1.Health/") || path === "/concordat.v1.ReplicationService/Replicate";
}

/**
 * Checks the bearer token on the call's metadata, before grpc-js reads a byte of the request body
 * (the stream stays paused until the call is started): an unauthenticated caller gets
 * UNAUTHENTICATED and costs the node no more than its headers. Every method needs a token but the
 * open ones; the handler still checks the role (and the token again, which may have been revoked
 * meanwhile).
 */
export function authenticationInterceptor(components: HandlerComponents): ServerInterceptor {
  return (method, call) => {
    if (isOpen(method.path)) return new ServerInterceptingCall(call);
    return new ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, proceed) => {
            try {
              authenticate(components, metadata);
            } catch (error) {
              const refused = toServiceError(error, components.logger, method.path);
              call.sendStatus({
                code: refused.code ?? status.INTERNAL,
                details: refused.details ?? "",
                metadata: refused.metadata ?? null,
              });
              return;
            }
            proceed(metadata);
          },
        }),
    });
  };
}

/** snake_case, as the proto names a field (`displayName` → `display_name`). */
const protoName = (key: string) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/**
 * The request as a handler may see it: refused when it did not decode (decoding.ts), or when any
 * string in it holds a character that no text may hold (node/text.ts) — one check over every field
 * of every request, so that none is forgotten; validators apply the stricter rule of each field.
 */
function admitted<Req>(request: Req): Req {
  if (request instanceof RefusedRequest) throw request.error;
  const violations = textViolationsIn(request, "", TextKind.Multiline, { name: protoName, oneofs: true });
  if (violations.length > 0) throw invalidArgument(violations);
  return request;
}

async function* admittedStream<Req>(requests: AsyncIterable<Req>): AsyncGenerator<Req> {
  for await (const request of requests) yield admitted(request);
}

/** Adapts an async function to a grpc-js unary handler, with authentication and the error boundary. */
export function unary<Req, Res>(
  components: HandlerComponents,
  method: string,
  role: Role,
  fn: (request: Req, ctx: CallContext) => Promise<Res> | Res,
): handleUnaryCall<Req, Res> {
  return (call: ServerUnaryCall<Req, Res>, callback) => {
    (async () => {
      const ctx = contextFor(components, call, method, role);
      return fn(admitted(call.request), ctx);
    })().then(
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
      for await (const message of fn(admitted(call.request), ctx)) {
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
    (async () => fn(admittedStream(call as AsyncIterable<Req>), contextFor(components, call, method, role)))().then(
      (response) => callback(null, response),
      (error: unknown) => callback(toServiceError(error, components.logger, method)),
    );
  };
}
