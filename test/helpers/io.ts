import { Writable } from "node:stream";
import { toCliError, type CliError } from "../../cli/errors.js";
import type { Io } from "../../cli/io.js";

/** An Io that keeps what a command prints, for tests that call commands as functions. */
export function memoryIo(json = false): Io & { out: () => string; err: () => string } {
  let out = "";
  let err = "";
  const sink = (append: (s: string) => void) =>
    new Writable({
      write(chunk: Buffer, _enc, done) {
        append(chunk.toString("utf8"));
        done();
      },
    });
  return {
    stdout: sink((s) => (out += s)),
    stderr: sink((s) => (err += s)),
    json,
    out: () => out,
    err: () => err,
  };
}

/** The CliError a command fails with (the test fails if it succeeds). */
export async function expectCliError(promise: Promise<unknown>): Promise<CliError> {
  try {
    await promise;
  } catch (error) {
    return toCliError(error);
  }
  throw new Error("expected the command to fail");
}
