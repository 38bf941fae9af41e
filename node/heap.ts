/**
 * The node's young generations, bounded by design. V8 grows a thread's young generation with its
 * allocation rate up to 128 MiB (two 64 MiB semi-spaces) and keeps it resident once grown: under a
 * sync or an import, the node's two threads (the API's and the replica worker's) each reached it,
 * a quarter of a GiB that served only to make scavenges rarer. Each thread's semi-spaces are bounded
 * at `SEMI_SPACE_MB`: the main thread's by the flag it is started with (`MAIN_THREAD_FLAGS`: the
 * `concordat` command's first line, `npm start`, the test and benchmark harnesses), the worker's by
 * its resource limits. What it costs and saves is in docs/benchmarks.md ("The young generation").
 */

/** Each semi-space's bound, in MiB (V8's default grows to 64). */
export const SEMI_SPACE_MB = 8;

/** The flags the node's process is started with. */
export const MAIN_THREAD_FLAGS: readonly string[] = [`--max-semi-space-size=${SEMI_SPACE_MB}`];

/** The replica worker's limits: V8's young generation is three semi-spaces (two and the new large-object space). */
export const WORKER_RESOURCE_LIMITS = { maxYoungGenerationSizeMb: 3 * SEMI_SPACE_MB } as const;

/**
 * Whether this process's main thread was started with a bound on its semi-spaces (a flag of its
 * own or in NODE_OPTIONS): `concordat start` warns when it was not, naming the flag.
 */
export function mainThreadBounded(execArgv: readonly string[], nodeOptions: string | undefined): boolean {
  return [...execArgv, ...(nodeOptions ?? "").split(/\s+/)].some((flag) =>
    /^--max-semi-space-size(=|$)/.test(flag.replaceAll("_", "-")),
  );
}
