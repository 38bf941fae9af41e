/**
 * The console's one way to the node: gRPC-Web calls to the node's own gRPC services (the ones the
 * CLI calls), through Connect's browser transport, with the operator's bearer token in a header.
 * Nothing else is fetched but the page's own files.
 */
import { type Client, Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { AvailabilityService } from "../generated/concordat/v1/availability_pb.js";
import { BookingService } from "../generated/concordat/v1/bookings_pb.js";
import { CaseService } from "../generated/concordat/v1/cases_pb.js";
import { AuditService, CoreService } from "../generated/concordat/v1/core_pb.js";
import { CredentialService } from "../generated/concordat/v1/credentials_pb.js";
import { DeliveryService } from "../generated/concordat/v1/deliveries_pb.js";
import { FederationService, KeyService } from "../generated/concordat/v1/federation_pb.js";
import { FeedbackService } from "../generated/concordat/v1/feedback_pb.js";
import { NodeService, OperatorService } from "../generated/concordat/v1/node_pb.js";
import { PlanService } from "../generated/concordat/v1/plans_pb.js";
import { ReportService } from "../generated/concordat/v1/reports_pb.js";
import { TrainerService } from "../generated/concordat/v1/trainers_pb.js";
import { BadRequestSchema } from "../generated/google/rpc/status_pb.js";
import { t } from "./i18n.js";
import { session } from "./session.js";

/** Adds the token to every call; an UNAUTHENTICATED answer ends the session (revoked or wrong token). */
export const authorization: Interceptor = (next) => async (request) => {
  const token = session.token();
  if (token !== undefined) request.header.set("authorization", `Bearer ${token}`);
  try {
    return await next(request);
  } catch (error) {
    if (error instanceof ConnectError && error.code === Code.Unauthenticated && token !== undefined) {
      session.end("revoked");
    }
    throw error;
  }
};

const transport = createGrpcWebTransport({
  baseUrl: location.origin,
  useBinaryFormat: true,
  interceptors: [authorization],
  defaultTimeoutMs: 30_000,
});

export const api = {
  trainers: createClient(TrainerService, transport),
  operators: createClient(OperatorService, transport),
  node: createClient(NodeService, transport),
  federation: createClient(FederationService, transport),
  keys: createClient(KeyService, transport),
  core: createClient(CoreService, transport),
  audit: createClient(AuditService, transport),
  credentials: createClient(CredentialService, transport),
  availability: createClient(AvailabilityService, transport),
  bookings: createClient(BookingService, transport),
  cases: createClient(CaseService, transport),
  deliveries: createClient(DeliveryService, transport),
  reports: createClient(ReportService, transport),
  plans: createClient(PlanService, transport),
  feedback: createClient(FeedbackService, transport),
} satisfies Record<string, Client<never>>;

/** Calls with a token given here rather than the session's: signing in checks a token before keeping it. */
export function clientsWithToken(token: string) {
  const withToken = createGrpcWebTransport({
    baseUrl: location.origin,
    useBinaryFormat: true,
    interceptors: [
      (next) => (request) => {
        request.header.set("authorization", `Bearer ${token}`);
        return next(request);
      },
    ],
    defaultTimeoutMs: 30_000,
  });
  return { node: createClient(NodeService, withToken) };
}

/**
 * The API's field violations (google.rpc.BadRequest in the status details), by field path as the
 * API names it ("trainer.languages[0].tag"). The screens show each at its field.
 */
export function fieldErrors(error: unknown): Map<string, string> {
  const found = new Map<string, string>();
  if (!(error instanceof ConnectError)) return found;
  for (const detail of error.findDetails(BadRequestSchema)) {
    for (const violation of detail.fieldViolations) {
      const previous = found.get(violation.field);
      found.set(violation.field, previous ? `${previous}; ${violation.description}` : violation.description);
    }
  }
  return found;
}

/** What to tell a person about a failed call: the API's own message, or what kind of failure it was. */
export function errorText(error: unknown): string {
  if (error instanceof ConnectError) {
    switch (error.code) {
      case Code.PermissionDenied:
        return t("common.error.permission", { detail: error.rawMessage });
      case Code.Unavailable:
        return t("common.error.unavailable");
      case Code.DeadlineExceeded:
        return t("common.error.timeout");
      case Code.Canceled:
        return t("common.error.cancelled");
      default:
        return error.rawMessage || t("common.error.unknown");
    }
  }
  return error instanceof Error ? error.message : String(error);
}

export function isCode(error: unknown, code: Code): boolean {
  return error instanceof ConnectError && error.code === code;
}

export { Code };
