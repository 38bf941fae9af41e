import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";

/** The built CLI entry (npm test builds before running vitest). */
export const CLI_ENTRY = fileURLToPath(new URL("../../dist/cli/main.js", import.meta.url));

export interface NodeProcess {
  child: ChildProcess;
  /** API address from the node's "node started" log line. */
  address: string;
  /** Log lines seen so far (JSON objects). */
  logs: Array<Record<string, unknown>>;
  /** What the process wrote to stderr so far (the CLI's messages for people). */
  stderr(): string;
  /** Resolves with the exit code or signal when the process ends. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface SpawnOptions {
  /** Run the command under this umask (through /bin/sh), e.g. 0o022. */
  umask?: number;
}

/** The command line that runs the built CLI with `args`, under `options.umask` if given. */
function cliCommand(args: string[], options: SpawnOptions): [string, string[]] {
  if (options.umask === undefined) return [process.execPath, [CLI_ENTRY, ...args]];
  return [
    "/bin/sh",
    [
      "-c",
      `umask ${options.umask.toString(8).padStart(3, "0")} && exec "$0" "$@"`,
      process.execPath,
      CLI_ENTRY,
      ...args,
    ],
  ];
}

/** Runs the built CLI to its end (bounded by `timeoutMs`): its exit code and output. */
export async function runCli(
  args: string[],
  options: SpawnOptions & { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const [command, argv] = cliCommand(args, options);
  const child = spawn(command, argv, {
    env: {
      ...process.env,
      CONCORDAT_DATA: "",
      CONCORDAT_TOKEN: "",
      CONCORDAT_API: "",
      CONCORDAT_API_PORT: "0",
      CONCORDAT_NETWORK_LISTEN: "/ip4/127.0.0.1/tcp/0",
      CONCORDAT_LOG_PRETTY: "false",
      ...options.env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
  const timeoutMs = options.timeoutMs ?? 30_000;
  let killed = false;
  const timer = setTimeout(() => {
    killed = true;
    child.kill("SIGKILL");
  }, timeoutMs);
  try {
    const [code] = (await once(child, "close")) as [number | null];
    // Said in its stderr, so that a test expecting an exit code shows why there is none.
    if (killed)
      stderr += `\n[test helper] \`concordat ${args.join(" ")}\` was killed after ${timeoutMs} ms without exiting\n`;
    return { code, stdout, stderr };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Starts `concordat start --data DIR` as a separate process on a free loopback port and resolves
 * once its log says "node started" (or rejects if it exits first, or after `timeoutMs`).
 */
export async function spawnNode(
  dataDir: string,
  env: Record<string, string> = {},
  timeoutMs = 30_000,
  options: SpawnOptions = {},
): Promise<NodeProcess> {
  const [command, argv] = cliCommand(["start", "--data", dataDir], options);
  const child = spawn(command, argv, {
    env: {
      ...process.env,
      CONCORDAT_API_PORT: "0",
      CONCORDAT_NETWORK_LISTEN: "/ip4/127.0.0.1/tcp/0",
      CONCORDAT_LOG_LEVEL: "info",
      CONCORDAT_LOG_PRETTY: "false",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = once(child, "exit").then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
  }));
  const logs: Array<Record<string, unknown>> = [];
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8");
  });
  const started = new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.on("line", (line) => {
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      logs.push(entry);
      if (entry.msg === "node started" && typeof entry.api === "string") resolve(entry.api);
    });
    void exited.then(({ code, signal }) =>
      reject(new Error(`node exited before starting (code ${code}, signal ${signal}): ${stderr}`)),
    );
  });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const last = logs.at(-1);
      reject(
        new Error(
          `node did not start within ${timeoutMs} ms; its last log line: ${last ? JSON.stringify(last).slice(0, 500) : "none"}; stderr: ${stderr}`,
        ),
      );
    }, timeoutMs);
  });
  try {
    const address = await Promise.race([started, timeout]);
    return { child, address, logs, exited, stderr: () => stderr };
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  } finally {
    clearTimeout(timer);
  }
}
