import type { Logger } from "pino";

/**
 * automerge-repo's `withTimeout` rejection, raised when a document a peer started to sync never
 * becomes ready (the peer stopped mid-sync): its DocSynchronizer awaits it without a catch, so it
 * surfaces as an unhandled rejection, which would end the whole node.
 */
export function isRepoSyncTimeout(reason: unknown): boolean {
  return reason instanceof Error && reason.name === "TimeoutError" && reason.message.startsWith("withTimeout: timed out after");
}

/**
 * Keeps a running node alive through automerge-repo's uncaught sync timeouts (logged as a warning;
 * the document syncs again when the peer comes back). Any other unhandled rejection still ends the
 * process with exit code 1, as Node's default would, after logging it.
 */
export function guardRepoSyncTimeouts(logger: Logger): void {
  process.on("unhandledRejection", (reason) => {
    if (isRepoSyncTimeout(reason)) {
      logger.warn({ err: reason }, "a document sync timed out waiting for the document (automerge-repo); the node keeps running");
      return;
    }
    logger.fatal({ err: reason }, "unhandled rejection");
    logger.flush();
    process.exit(1);
  });
}
