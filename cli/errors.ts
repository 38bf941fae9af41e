import { status, type ServiceError } from "@grpc/grpc-js";
import { fieldViolations } from "../node/api/index.js";
import { isConcordatError, ErrorCode } from "../node/errors.js";
import { showJson, showText } from "../node/text.js";
import type { Io } from "./io.js";

/** Exit codes of the `concordat` command (docs/cli.md). */
export const ExitCode = {
  Ok: 0,
  Failure: 1,
  Usage: 2,
  Unavailable: 3,
  Unauthorized: 4,
  NotFound: 5,
  Conflict: 6,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** An error the CLI reports to its user and exits with; only the entry file calls process.exit. */
export class CliError extends Error {
  readonly exitCode: ExitCode;
  readonly details: readonly string[];
  constructor(message: string, exitCode: ExitCode = ExitCode.Failure, details: readonly string[] = []) {
    super(message);
    this.name = "CliError";
    this.exitCode = exitCode;
    this.details = details;
  }
}

function isServiceError(error: unknown): error is ServiceError {
  return typeof error === "object" && error !== null && "code" in error && "metadata" in error && "details" in error;
}

const EXIT_BY_STATUS: Partial<Record<status, ExitCode>> = {
  [status.INVALID_ARGUMENT]: ExitCode.Usage,
  [status.RESOURCE_EXHAUSTED]: ExitCode.Usage,
  [status.UNAVAILABLE]: ExitCode.Unavailable,
  [status.DEADLINE_EXCEEDED]: ExitCode.Unavailable,
  [status.UNAUTHENTICATED]: ExitCode.Unauthorized,
  [status.PERMISSION_DENIED]: ExitCode.Unauthorized,
  [status.NOT_FOUND]: ExitCode.NotFound,
  [status.ALREADY_EXISTS]: ExitCode.Conflict,
  [status.ABORTED]: ExitCode.Conflict,
  [status.FAILED_PRECONDITION]: ExitCode.Conflict,
};

const EXIT_BY_CODE: Partial<Record<ErrorCode, ExitCode>> = {
  [ErrorCode.InvalidArgument]: ExitCode.Usage,
  [ErrorCode.ResourceExhausted]: ExitCode.Usage,
  [ErrorCode.NotFound]: ExitCode.NotFound,
  [ErrorCode.AlreadyExists]: ExitCode.Conflict,
  [ErrorCode.FailedPrecondition]: ExitCode.Conflict,
  [ErrorCode.Unauthenticated]: ExitCode.Unauthorized,
  [ErrorCode.PermissionDenied]: ExitCode.Unauthorized,
};

/** Turns anything thrown by a command into a CliError with a message for people. */
export function toCliError(error: unknown): CliError {
  if (error instanceof CliError) return error;
  if (isServiceError(error)) {
    const name = status[error.code] ?? String(error.code);
    const violations = fieldViolations(error).map((v) => `${v.field}: ${v.description}`);
    const hint =
      error.code === status.UNAVAILABLE
        ? " (is the node running? start it with `npm start` or `concordat start --data DIR`)"
        : error.code === status.RESOURCE_EXHAUSTED
          ? " (the request is larger than the node takes: split the file and send the parts one after the other)"
          : "";
    // The node sends the first problems and a "(more)" entry counting the rest: the total counts them all.
    const more = fieldViolations(error).find((v) => v.field === "(more)");
    const listed = violations.length - (more ? 1 : 0);
    const total = listed + Number(/and (\d+) more/.exec(more?.description ?? "")?.[1] ?? 0);
    const message =
      violations.length > 0
        ? `${name}: ${total} problem${total === 1 ? "" : "s"} in the request${more ? ` (the first ${listed} listed)` : ""}`
        : `${name}: ${error.details}${hint}`;
    return new CliError(message, EXIT_BY_STATUS[error.code] ?? ExitCode.Failure, violations);
  }
  if (isConcordatError(error)) {
    return new CliError(
      error.message,
      EXIT_BY_CODE[error.code] ?? ExitCode.Failure,
      error.violations.map((v) => `${v.field}: ${v.description}`),
    );
  }
  return new CliError(error instanceof Error ? error.message : String(error));
}

/**
 * Reports an error on stderr: `error: …` and its details for people, or one JSON line with
 * `--json`. The message and details often carry text from a node: shown safely (node/text.ts).
 */
export function printError(io: Io, error: CliError): void {
  if (io.json) {
    io.stderr.write(
      `${showJson(JSON.stringify({ error: { message: error.message, details: error.details, exitCode: error.exitCode } }))}\n`,
    );
    return;
  }
  io.stderr.write(`error: ${showText(error.message)}\n`);
  for (const line of error.details) io.stderr.write(`  ${showText(line)}\n`);
}
