import { readFile } from "node:fs/promises";
import { writeAtomically } from "../atomic-file.js";
import { restoreBackup } from "../../node/setup.js";
import { withConnection, type ConnectionOptions } from "../connection.js";
import { CliError, ExitCode } from "../errors.js";
import { printJson, printLine, type Io } from "../io.js";

/**
 * `concordat backup --out FILE`: a consistent snapshot of the running node, written to FILE.tmp,
 * fsync'd, then renamed, so FILE is either a whole backup or absent. Mode 0600: it holds the key.
 */
export async function backupCommand(options: ConnectionOptions & { out: string }, io: Io): Promise<void> {
  const bytes = await writeAtomically(options.out, 0o600, (write) =>
    withConnection(options, async (c) => {
      for await (const chunk of c.node.backup({})) await write(chunk.data);
    }),
  );
  if (io.json) printJson(io, { out: options.out, bytes });
  else
    printLine(
      io,
      `Backup written to ${options.out} (${bytes} bytes). It contains the node's private key: keep it safe.`,
    );
}

/**
 * `concordat restore FILE --data DIR`: recreates a node from a backup in an empty directory (node not
 * running); `--api-port`/`--listen` make it listen elsewhere than the backed-up node (stored in its config).
 */
export async function restoreCommand(
  options: { file: string; data: string; apiPort?: number; consolePort?: number; listen?: string[] },
  io: Io,
): Promise<void> {
  const bytes = await readFile(options.file).catch((error: NodeJS.ErrnoException) => {
    throw new CliError(
      `cannot read '${options.file}': ${error.code === "ENOENT" ? "file not found" : error.message}`,
      ExitCode.Usage,
    );
  });
  const result = await restoreBackup(new Uint8Array(bytes), options.file, options.data, {
    ...(options.apiPort !== undefined ? { apiPort: options.apiPort } : {}),
    ...(options.consolePort !== undefined ? { consolePort: options.consolePort } : {}),
    ...(options.listen !== undefined ? { listen: options.listen } : {}),
  });
  if (io.json) {
    printJson(io, result);
    return;
  }
  printLine(
    io,
    `Restored hub '${result.hubId}' (peer id ${result.peerId}) into ${options.data}: ${result.entries} records.`,
  );
  printLine(io, `A new admin credential is in ${result.paths.adminToken}; existing operators keep theirs.`);
  printLine(io, `Start it with: concordat start --data ${options.data}`);
}
