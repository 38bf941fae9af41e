/**
 * Runs `concordat` commands to their end for tests. Node processes (`concordat start`) are started
 * the one way tests and benchmarks share: `startNode`/`launchNode` in bench/lib/nodes.ts.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { cliCommand } from "../../bench/lib/nodes.js";

export { CLI_ENTRY } from "../../bench/lib/nodes.js";

/** Runs the built CLI to its end (bounded by `timeoutMs`): its exit code and output. */
export async function runCli(
  args: string[],
  options: { env?: Record<string, string>; timeoutMs?: number; umask?: number } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const [command, argv] = cliCommand(args, options);
  const child = spawn(command, argv, {
    env: {
      ...process.env,
      CONCORDAT_DATA: "",
      CONCORDAT_TOKEN: "",
      CONCORDAT_API: "",
      CONCORDAT_API_PORT: "0",
      CONCORDAT_CONSOLE_PORT: "0",
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
