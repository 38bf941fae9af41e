import { Metadata, status, type ServiceError } from "@grpc/grpc-js";
import type { Logger } from "pino";
import { ErrorCode, isConcordatError } from "../errors.js";
import { Any, BadRequest, ErrorInfo, Status } from "./generated/google/rpc/status.js";

const STATUS_BY_CODE: Readonly<Record<ErrorCode, status>> = {
  [ErrorCode.InvalidArgument]: status.INVALID_ARGUMENT,
  [ErrorCode.NotFound]: status.NOT_FOUND,
  [ErrorCode.AlreadyExists]: status.ALREADY_EXISTS,
  [ErrorCode.Unauthenticated]: status.UNAUTHENTICATED,
  [ErrorCode.PermissionDenied]: status.PERMISSION_DENIED,
  [ErrorCode.FailedPrecondition]: status.FAILED_PRECONDITION,
  [ErrorCode.Unavailable]: status.UNAVAILABLE,
  [ErrorCode.ResourceExhausted]: status.RESOURCE_EXHAUSTED,
};

export const STATUS_DETAILS_KEY = "grpc-status-details-bin";
/** Field violations sent to a client in one status; the rest are counted. */
const MAX_VIOLATIONS_SENT = 50;
const MAX_MESSAGE_CHARS = 1000;

function truncate(text: string): string {
  return text.length > MAX_MESSAGE_CHARS ? `${text.slice(0, MAX_MESSAGE_CHARS)}…` : text;
}
const BAD_REQUEST_TYPE = "type.googleapis.com/google.rpc.BadRequest";
const ERROR_INFO_TYPE = "type.googleapis.com/google.rpc.ErrorInfo";

/**
 * The one place where errors become gRPC statuses. Typed errors keep their message and, for
 * INVALID_ARGUMENT, carry a google.rpc.BadRequest naming each field in `grpc-status-details-bin`.
 * Anything else is logged in full here and reaches the client as INTERNAL with no internals.
 */
export function toServiceError(error: unknown, log: Logger, method: string): Partial<ServiceError> {
  if (isConcordatError(error)) {
    const code = STATUS_BY_CODE[error.code];
    const details: Any[] = [
      { typeUrl: ERROR_INFO_TYPE, value: Buffer.from(ErrorInfo.encode({ reason: error.code, domain: "concordat", metadata: {} }).finish()) },
    ];
    // Status details travel in HTTP/2 trailers, whose size is limited: send the first problems and
    // say how many more there were, and keep the message itself short.
    const violations = error.violations;
    const shown = violations.slice(0, MAX_VIOLATIONS_SENT);
    if (violations.length > shown.length) {
      shown.push({ field: "(more)", description: `and ${violations.length - shown.length} more problems` });
    }
    if (shown.length > 0) {
      const badRequest = BadRequest.encode({
        fieldViolations: shown.map((v) => ({ field: v.field, description: v.description, reason: "" })),
      }).finish();
      details.push({ typeUrl: BAD_REQUEST_TYPE, value: Buffer.from(badRequest) });
    }
    const message =
      violations.length > 3 ? `${violations.length} problems in the request, first: ${violations[0]?.field}: ${violations[0]?.description}` : error.message;
    const metadata = new Metadata();
    metadata.set(STATUS_DETAILS_KEY, Buffer.from(Status.encode({ code, message: truncate(message), details }).finish()));
    // Field values may be personal data: log which fields were refused, not what they held.
    log.info(
      { method, code: error.code, ...(violations.length > 0 ? { fields: violations.slice(0, 20).map((v) => v.field) } : { reason: error.message }) },
      "request refused",
    );
    return { code, details: truncate(message), metadata };
  }
  log.error({ method, err: error }, "internal error");
  return { code: status.INTERNAL, details: "internal error; see the node's log" };
}

/** Field violations carried by an error's status details (for clients: the CLI and tests). */
export function fieldViolations(error: { metadata?: Metadata }): Array<{ field: string; description: string }> {
  const raw = error.metadata?.get(STATUS_DETAILS_KEY)[0];
  if (!raw || typeof raw === "string") return [];
  const decoded = Status.decode(raw);
  return decoded.details
    .filter((d) => d.typeUrl === BAD_REQUEST_TYPE)
    .flatMap((d) => BadRequest.decode(d.value).fieldViolations.map((v) => ({ field: v.field, description: v.description })));
}
