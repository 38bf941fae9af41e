#!/usr/bin/env -S node --max-semi-space-size=8
/**
 * Entry of the `concordat` command: the only place that sets the process's exit code. `start` marks
 * its node as starting first (start-marker.ts); the rest of the CLI is loaded after that.
 */
import { markStartingNode, startingDataDir } from "./start-marker.js";

// `concordat trainers list | head`: a reader that stops early is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw error;
  });
}

const release = await markStartingNode(process.argv, process.env);
if (startingDataDir(process.argv, process.env) !== undefined) {
  // The replica worker loads its modules while this thread loads the node's (replica.js itself, not
  // the folder's index: as little as possible before the thread starts).
  const { spawnReplicaWorker } = await import("../node/replica/replica.js");
  spawnReplicaWorker();
}
try {
  const { main } = await import("./run.js");
  process.exitCode = await main(process.argv);
} catch (error) {
  const { showText } = await import("../node/text.js");
  process.stderr.write(`fatal: ${showText(String(error))}\n`);
  process.exitCode = 1;
} finally {
  await release();
}
// A node that has stopped (everything closed, its log written synchronously) ends its process now:
// libraries may leave timers behind (libp2p's address manager waits a second after its listeners
// close; more with peers), and `concordat stop` waits for the process to end.
if (startingDataDir(process.argv, process.env) !== undefined) process.exit();
