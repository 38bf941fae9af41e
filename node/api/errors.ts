import { Metadata, status, type ServiceError } from "@grpc/grpc-js";
import type { Logger } from "pino";
import { ErrorCode, isConcordatError, type FieldViolation } from "../errors.js";
import { clip, showText } from "../text.js";
import { type Any, BadRequest, ErrorInfo, Status } from "./generated/google/rpc/status.js";

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
/**
 * A status travels in HTTP/2 trailers, which a client refuses past its header-list limit (Node's
 * default is 64 KiB, grpc's C core warns from 8 KiB; past it the call fails with "Protocol error").
 * So every part is bounded: the message, each field name and description, and the encoded details
 * (which go out base64, a third larger).
 */
const MAX_MESSAGE_CHARS = 1000;
const MAX_FIELD_CHARS = 200;
const MAX_DESCRIPTION_CHARS = 300;
export const MAX_STATUS_DETAILS_BYTES = 8 * 1024;
const BAD_REQUEST_TYPE = "type.googleapis.com/google.rpc.BadRequest";
const ERROR_INFO_TYPE = "type.googleapis.com/google.rpc.ErrorInfo";

/** Text that goes back to a client: bounded, and with control and bidirectional characters made visible. */
function outgoing(text: string, max: number): string {
  return showText(clip(text, max));
}

/**
 * The details of a status: ErrorInfo, then as many field violations (bounded each) as fit within
 * MAX_STATUS_DETAILS_BYTES, then one "(more)" entry counting the rest.
 */
function statusDetails(
  code: status,
  message: string,
  reason: ErrorCode,
  violations: readonly FieldViolation[],
): Buffer {
  const info: Any = {
    typeUrl: ERROR_INFO_TYPE,
    value: Buffer.from(ErrorInfo.encode({ reason, domain: "concordat", metadata: {} }).finish()),
  };
  const encode = (shown: FieldViolation[]) => {
    const details = [info];
    if (shown.length > 0) {
      const badRequest = BadRequest.encode({
        fieldViolations: shown.map((v) => ({ field: v.field, description: v.description, reason: "" })),
      }).finish();
      details.push({ typeUrl: BAD_REQUEST_TYPE, value: Buffer.from(badRequest) });
    }
    return Buffer.from(Status.encode({ code, message, details }).finish());
  };
  const bounded = violations.slice(0, MAX_VIOLATIONS_SENT).map((v) => ({
    field: outgoing(v.field, MAX_FIELD_CHARS),
    description: outgoing(v.description, MAX_DESCRIPTION_CHARS),
  }));
  for (let n = bounded.length; ; n -= 1) {
    const shown = bounded.slice(0, n);
    if (violations.length > n)
      shown.push({ field: "(more)", description: `and ${violations.length - n} more problems` });
    const bytes = encode(shown);
    if (bytes.byteLength <= MAX_STATUS_DETAILS_BYTES || n === 0) return bytes;
  }
}

/**
 * The one place where errors become gRPC statuses. Typed errors keep their message and, for
 * INVALID_ARGUMENT, carry a google.rpc.BadRequest naming each field in `grpc-status-details-bin`.
 * Anything else is logged in full here and reaches the client as INTERNAL with no internals.
 * Whatever goes back is bounded and shown safely, whatever a validator put in it.
 */
export function toServiceError(error: unknown, log: Logger, method: string): Partial<ServiceError> {
  if (isConcordatError(error)) {
    const code = STATUS_BY_CODE[error.code];
    const violations = error.violations;
    const first = violations[0];
    const message = outgoing(
      violations.length > 3 && first
        ? `${violations.length} problems in the request, first: ${clip(first.field, MAX_FIELD_CHARS)}: ${first.description}`
        : error.message,
      MAX_MESSAGE_CHARS,
    );
    const metadata = new Metadata();
    metadata.set(STATUS_DETAILS_KEY, statusDetails(code, message, error.code, violations));
    // Field values may be personal data: log which fields were refused, not what they held.
    log.info(
      {
        method,
        code: error.code,
        ...(violations.length > 0
          ? { fields: violations.slice(0, 20).map((v) => outgoing(v.field, MAX_FIELD_CHARS)) }
          : { reason: message }),
      },
      "request refused",
    );
    return { code, details: message, metadata };
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
    .flatMap((d) =>
      BadRequest.decode(d.value).fieldViolations.map((v) => ({ field: v.field, description: v.description })),
    );
}
