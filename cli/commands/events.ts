import { status } from "@grpc/grpc-js";
import { isServiceError } from "../../node/api/index.js";
import type { NodeEvent } from "../../node/api/generated/concordat/v1/node.js";
import { showJson } from "../../node/text.js";
import { withConnection, type ConnectionOptions } from "../connection.js";
import { CliError, ExitCode } from "../errors.js";
import { printLine, type Io } from "../io.js";

/** An event's time as the local wall clock (YYYY-MM-DD HH:MM:SS), or as sent when it is no time. */
function localTime(iso: string): string {
  const t = new Date(iso);
  if (Number.isNaN(t.getTime())) return iso;
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${t.getFullYear()}-${pad(t.getMonth() + 1)}-${pad(t.getDate())} ${pad(t.getHours())}:${pad(t.getMinutes())}:${pad(t.getSeconds())}`;
}

/** One line for people: local time, kind and action, the hub when there is one, the summary. */
export function eventLine(event: NodeEvent): string {
  return `${localTime(event.at)}  ${`${event.kind} ${event.action}`.padEnd(24)} ${event.hub ? `[${event.hub}] ` : ""}${event.summary}`;
}

/**
 * `concordat events`: the node's changes as they happen (docs/events.md), one line each, or one JSON
 * object per line with `--json`, until Ctrl-C (or `signal`), or until the node ends the stream. A
 * revoked or unknown credential ends it with exit code 4 and a message saying so.
 */
export async function eventsCommand(
  options: ConnectionOptions & { heartbeats?: boolean; signal?: AbortSignal },
  io: Io,
): Promise<void> {
  const stop = new AbortController();
  const interrupt = () => stop.abort();
  options.signal?.addEventListener("abort", interrupt, { once: true });
  if (options.signal?.aborted) stop.abort();
  process.once("SIGINT", interrupt);
  process.once("SIGTERM", interrupt);
  try {
    const ended = await withConnection(options, async (c) => {
      try {
        for await (const event of c.node.watchEvents({}, { signal: stop.signal })) {
          if (event.kind === "heartbeat" && !options.heartbeats) continue;
          if (io.json) io.stdout.write(`${showJson(JSON.stringify(event))}\n`);
          else printLine(io, eventLine(event));
        }
        return "by the node";
      } catch (error) {
        if (stop.signal.aborted && isServiceError(error) && error.code === status.CANCELLED) return "interrupted";
        if (isServiceError(error) && error.code === status.UNAUTHENTICATED) {
          throw new CliError(
            `the node ended the event stream: ${error.details} (ask an admin for a new credential: \`concordat operators add\`)`,
            ExitCode.Unauthorized,
          );
        }
        throw error;
      }
    });
    if (ended === "by the node" && !io.json) printLine(io, "The node ended the event stream (it is stopping).");
  } finally {
    process.off("SIGINT", interrupt);
    process.off("SIGTERM", interrupt);
    options.signal?.removeEventListener("abort", interrupt);
  }
}
