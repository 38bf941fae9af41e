import { rm } from "node:fs/promises";
import { setTimeout as delay } from "node:timers/promises";
import { dataPaths } from "../../node/paths.js";
import { isProcessAlive, readRuntimeFile } from "../../node/runtime-file.js";
import { connect, START_WAIT_MS } from "../connection.js";
import { CliError, ExitCode } from "../errors.js";
import { printJson, printLine, type Io } from "../io.js";

export interface StopCommandOptions {
  data: string;
  token?: string;
  tlsCa?: string;
  /** How long to wait for the node to end after SIGTERM (default 30 s). */
  timeoutMs?: number;
  /** How long to wait for a node that is still starting (default START_WAIT_MS). */
  startWaitMs?: number;
}

const STOP_TIMEOUT_MS = 30_000;
const EXIT_POLL_MS = 100;

/**
 * `concordat stop`: stops the node of a data directory (SIGTERM to the pid in its node.json, as
 * Ctrl-C would) and waits for its process to end. The node is first asked who it is, so that a pid
 * left in the file by a killed node and since reused by another process is never signalled.
 */
export async function stopCommand(options: StopCommandOptions, io: Io): Promise<void> {
  const paths = dataPaths(options.data);
  const before = await readRuntimeFile(paths.runtime);
  if (before.kind === "found" && !isProcessAlive(before.runtime.pid)) {
    await rm(paths.runtime, { force: true });
    throw new CliError(
      `no node is running for ${options.data}: its node (pid ${before.runtime.pid}) ended without cleaning up (killed?); removed its ${paths.runtime}`,
      ExitCode.Unavailable,
    );
  }
  // Waits while the node starts, refuses when none runs or another node answers at its address.
  const connection = await connect(
    {
      data: options.data,
      ...(options.token ? { token: options.token } : {}),
      ...(options.tlsCa ? { tlsCa: options.tlsCa } : {}),
      startWaitMs: options.startWaitMs ?? START_WAIT_MS,
    },
    // The data directory decides which node: not $CONCORDAT_API.
    { ...process.env, CONCORDAT_API: "" },
  );
  connection.close();
  const read = await readRuntimeFile(paths.runtime);
  if (read.kind !== "found" || read.runtime.state !== "running") {
    throw new CliError(`no node is running for ${options.data}: it stopped meanwhile`, ExitCode.Unavailable);
  }
  const { pid, hubId } = read.runtime;
  try {
    process.kill(pid, "SIGTERM");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ESRCH")
      throw new CliError(`no node is running for ${options.data}: it stopped meanwhile`, ExitCode.Unavailable);
    throw new CliError(
      `cannot signal the node of ${options.data} (pid ${pid}): ${code === "EPERM" ? "it runs as another user" : String(error)}`,
      ExitCode.Unauthorized,
    );
  }
  const timeoutMs = options.timeoutMs ?? STOP_TIMEOUT_MS;
  const deadline = Date.now() + timeoutMs;
  while (isProcessAlive(pid)) {
    if (Date.now() >= deadline) {
      throw new CliError(
        `the node of ${options.data} (pid ${pid}) has not ended ${Math.round(timeoutMs / 1000)} s after SIGTERM; it may still be flushing: see its log (kill -9 ${pid} loses nothing acknowledged)`,
        ExitCode.Failure,
      );
    }
    await delay(EXIT_POLL_MS);
  }
  if (io.json) printJson(io, { dataDir: options.data, hubId, pid, stopped: true });
  else printLine(io, `Stopped the node of ${options.data} (hub '${hubId}', pid ${pid}).`);
}
