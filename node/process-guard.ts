import { inspect } from "node:util";
import type { Logger } from "pino";

/**
 * automerge-repo's `withTimeout` rejection, raised when a document a peer started to sync never
 * becomes ready (the peer stopped mid-sync): its DocSynchronizer awaits it without a catch, so it
 * surfaces as an unhandled rejection, which would end the whole node.
 */
export function isRepoSyncTimeout(reason: unknown): boolean {
  return (
    reason instanceof Error &&
    reason.name === "TimeoutError" &&
    reason.message.startsWith("withTimeout: timed out after")
  );
}

/**
 * Keeps a running node alive through automerge-repo's uncaught sync timeouts (logged as a warning;
 * the document syncs again when the peer comes back). Any other unhandled rejection is logged, then
 * `fatal` runs: by default the process ends with exit code 1, as Node's default would (the replica
 * worker rethrows instead, which ends the worker and tells the main thread).
 */
export function guardRepoSyncTimeouts(
  logger: Logger,
  fatal: (reason: unknown) => void = () => {
    logger.flush();
    process.exit(1);
  },
): void {
  process.on("unhandledRejection", (reason) => {
    if (isRepoSyncTimeout(reason)) {
      logger.warn(
        { err: reason },
        "a document sync timed out waiting for the document (automerge-repo); the node keeps running",
      );
      return;
    }
    logger.fatal({ err: reason }, "unhandled rejection");
    fatal(reason);
  });
}

/** The most of one console line that reaches the log. */
const MAX_CONSOLE_CHARS = 2048;

/** One bounded, single-line rendering of what a library passed to `console.*`. */
export function consoleLine(args: readonly unknown[]): string {
  const text = args
    .map((a) =>
      typeof a === "string"
        ? a
        : inspect(a, {
            depth: 3,
            maxArrayLength: 16,
            maxStringLength: 200,
            breakLength: Number.POSITIVE_INFINITY,
            compact: true,
          }),
    )
    .join(" ")
    .replace(/\s*\n\s*/g, " ");
  return text.length > MAX_CONSOLE_CHARS
    ? `${text.slice(0, MAX_CONSOLE_CHARS)}… (${text.length - MAX_CONSOLE_CHARS} more characters)`
    : text;
}

/**
 * Everything a node process would otherwise print as bare text goes to its log as structured
 * lines: what libraries write with `console.*` (automerge-repo prints errors with whole messages,
 * over many lines), one bounded line each; and process warnings. automerge-repo's throttle asks for
 * a negative timeout when a call comes late (Node clamps it to 1 ms, which is what it means): that
 * warning says nothing to an operator and is kept at debug.
 */
export function routeProcessOutput(logger: Logger): void {
  const log = logger.child({ source: "console" });
  const write =
    (level: "warn" | "debug") =>
    (...args: unknown[]) => {
      if (log.isLevelEnabled(level)) log[level](consoleLine(args));
    };
  console.log = write("warn");
  console.info = write("warn");
  console.warn = write("warn");
  console.error = write("warn");
  console.debug = write("debug");
  console.trace = write("debug");
  process.removeAllListeners("warning");
  process.on("warning", (warning) => {
    if (warning.name === "TimeoutNegativeWarning")
      logger.debug({ warning: warning.name, detail: warning.message }, "process warning");
    else logger.warn({ warning: warning.name, detail: warning.message }, "process warning");
  });
}

/**
 * Calls `onGone` once when this process's parent goes away (the process is handed to init or a
 * subreaper, so its parent pid changes), checking every `intervalMs`; returns a function that stops
 * watching. For a node started by an npm script: `kill` of the npm process (as in `npm start &`,
 * then `kill $!`) ends npm and the shell it ran the script in, but not the node below them, which
 * would otherwise keep its ports and its database (docs/cli.md, "stopping").
 */
export function watchParent(onGone: () => void, intervalMs = 500): () => void {
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    onGone();
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
