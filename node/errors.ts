/**
 * Typed errors, checked by `code`, never by message text. The API boundary (api/errors.ts) maps
 * each code to a gRPC status in one place; anything else becomes INTERNAL for the client and is
 * logged in full on the server.
 */

export interface FieldViolation {
  /** Path of the offending field, e.g. `trainer.languages[1].level` or `api.port`. */
  field: string;
  /** Why it is wrong, in words an operator understands. */
  description: string;
}

export const ErrorCode = {
  InvalidArgument: "INVALID_ARGUMENT",
  NotFound: "NOT_FOUND",
  AlreadyExists: "ALREADY_EXISTS",
  Unauthenticated: "UNAUTHENTICATED",
  PermissionDenied: "PERMISSION_DENIED",
  FailedPrecondition: "FAILED_PRECONDITION",
  Unavailable: "UNAVAILABLE",
  /** Out of a resource: disk space or a disk quota; or a request (or stream) larger than the node accepts. */
  ResourceExhausted: "RESOURCE_EXHAUSTED",
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class ConcordatError extends Error {
  readonly code: ErrorCode;
  readonly violations: readonly FieldViolation[];

  constructor(code: ErrorCode, message: string, violations: readonly FieldViolation[] = []) {
    super(message);
    this.name = "ConcordatError";
    this.code = code;
    this.violations = violations;
  }
}

export function invalidArgument(violations: readonly FieldViolation[], message?: string): ConcordatError {
  const text = message ?? violations.map((v) => `${v.field}: ${v.description}`).join("; ");
  return new ConcordatError(ErrorCode.InvalidArgument, text, violations);
}

export function notFound(message: string): ConcordatError {
  return new ConcordatError(ErrorCode.NotFound, message);
}

export function alreadyExists(message: string): ConcordatError {
  return new ConcordatError(ErrorCode.AlreadyExists, message);
}

export function unauthenticated(message: string): ConcordatError {
  return new ConcordatError(ErrorCode.Unauthenticated, message);
}

export function permissionDenied(message: string): ConcordatError {
  return new ConcordatError(ErrorCode.PermissionDenied, message);
}

export function failedPrecondition(message: string): ConcordatError {
  return new ConcordatError(ErrorCode.FailedPrecondition, message);
}

export function resourceExhausted(message: string, violations: readonly FieldViolation[] = []): ConcordatError {
  return new ConcordatError(ErrorCode.ResourceExhausted, message, violations);
}

export function isConcordatError(error: unknown): error is ConcordatError {
  return error instanceof ConcordatError;
}
