import { open, readFile, rename, rm } from "node:fs/promises";
import type { BackupChunk } from "../../node/api/generated/concordat/v1/node.js";
import { restoreBackup } from "../../node/setup.js";
import { withConnection, type ConnectionOptions } from "../connection.js";
import { CliError, ExitCode } from "../errors.js";
import { printJson, printLine, type Io } from "../io.js";

/**
 * `concordat backup --out FILE`: a consistent snapshot of the running node, written to FILE.tmp,
 * fsync'd, then renamed, so FILE is either a whole backup or absent. Mode 0600: it holds the key.
 */
export async function backupCommand(options: ConnectionOptions & { out: string }, io: Io): Promise<void> {
  const temporary = `${options.out}.tmp-${process.pid}`;
  const file = await open(temporary, "wx", 0o600).catch((error: NodeJS.ErrnoException) => {
    throw new CliError(`cannot write '${temporary}': ${error.code ?? error.message}`, ExitCode.Usage);
  });
  let bytes = 0;
  try {
    await withConnection(options, async (c) => {
      const stream = c.node.backup({}, c.metadata);
      for await (const chunk of stream as AsyncIterable<BackupChunk>) {
        await file.write(chunk.data);
        bytes += chunk.data.byteLength;
      }
    });
    await file.sync();
    await file.close();
    await rename(temporary, options.out);
  } catch (error) {
    await file.close().catch(() => undefined);
    await rm(temporary, { force: true });
    throw error;
  }
  if (io.json) printJson(io, { out: options.out, bytes });
  else printLine(io, `Backup written to ${options.out} (${bytes} bytes). It contains the node's private key: keep it safe.`);
}

/** `concordat restore FILE --data DIR`: recreates a node from a backup in an empty directory (node not running). */
export async function restoreCommand(options: { file: string; data: string }, io: Io): Promise<void> {
  const bytes = await readFile(options.file).catch((error: NodeJS.ErrnoException) => {
    throw new CliError(`cannot read '${options.file}': ${error.code === "ENOENT" ? "file not found" : error.message}`, ExitCode.Usage);
  });
  const result = await restoreBackup(new Uint8Array(bytes), options.file, options.data);
  if (io.json) {
    printJson(io, result);
    return;
  }
  printLine(io, `Restored hub '${result.hubId}' (peer id ${result.peerId}) into ${options.data}: ${result.entries} records.`);
  printLine(io, `A new admin credential is in ${result.paths.adminToken}; existing operators keep theirs.`);
  printLine(io, `Start it with: concordat start --data ${options.data}`);
}
