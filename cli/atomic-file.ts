import { open, rename, rm, type FileHandle } from "node:fs/promises";
import { CliError, ExitCode } from "./errors.js";

/**
 * Writes `path` whole or not at all: `fill` writes into `path.tmp-<pid>` (created with `mode`,
 * refusing to overwrite a stray one), which is fsync'd and renamed over `path`; on any failure the
 * temporary file is removed. Returns the bytes written.
 */
export async function writeAtomically(
  path: string,
  mode: number,
  fill: (write: (data: Uint8Array) => Promise<void>) => Promise<void>,
): Promise<number> {
  const temporary = `${path}.tmp-${process.pid}`;
  const file: FileHandle = await open(temporary, "wx", mode).catch((error: NodeJS.ErrnoException) => {
    throw new CliError(`cannot write '${temporary}': ${error.code ?? error.message}`, ExitCode.Usage);
  });
  let bytes = 0;
  try {
    await fill(async (data) => {
      await file.write(data);
      bytes += data.byteLength;
    });
    await file.sync();
    await file.close();
    await rename(temporary, path);
    return bytes;
  } catch (error) {
    await file.close().catch(() => undefined);
    await rm(temporary, { force: true });
    throw error;
  }
}
