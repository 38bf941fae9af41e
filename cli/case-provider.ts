import { CliError, ExitCode } from "./errors.js";

/** How long a CASE provider has to answer, headers and body, by default. */
export const CASE_FETCH_TIMEOUT_MS = 30_000;
/** The most a provider's package may weigh: what the node's ImportCore accepts (4 MiB). */
export const CASE_FETCH_MAX_BYTES = 4 * 1024 * 1024;

export interface CaseFetchOptions {
  timeoutMs?: number;
  maxBytes?: number;
}

/**
 * Reads a CASE package from a CASE provider's URL, typically its CASE 1.1 (or 1.0) REST endpoint
 * `…/ims/case/v1p1/CFPackages/{sourcedId}`: http(s) only (redirects too), within a time limit and a
 * size cap, and only a successful answer. What comes back is checked by the node's import, as a
 * file would be.
 */
export async function fetchCasePackage(address: string, options: CaseFetchOptions = {}): Promise<Buffer> {
  const timeoutMs = options.timeoutMs ?? CASE_FETCH_TIMEOUT_MS;
  const maxBytes = options.maxBytes ?? CASE_FETCH_MAX_BYTES;
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    throw new CliError(`--url '${address}' is not a URL`, ExitCode.Usage);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new CliError(`--url '${address}' is not http(s): only a CASE provider's web address is read`, ExitCode.Usage);
  }
  if (url.username || url.password) {
    throw new CliError("--url must not carry a user name or password", ExitCode.Usage);
  }
  const signal = AbortSignal.timeout(timeoutMs);
  const failed = (why: string) => new CliError(`cannot read the CASE package at ${url.href}: ${why}`, ExitCode.Failure);
  let response: Response;
  try {
    response = await fetch(url, { headers: { accept: "application/json" }, redirect: "follow", signal });
  } catch (error) {
    throw failed(signal.aborted ? `no answer within ${timeoutMs / 1000} s` : causeOf(error));
  }
  const final = new URL(response.url || url.href);
  if (final.protocol !== "http:" && final.protocol !== "https:") throw failed(`redirected to ${final.protocol}`);
  if (!response.ok) {
    await response.body?.cancel().catch(() => undefined);
    throw failed(`HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ""}`);
  }
  const declared = Number(response.headers.get("content-length") ?? "NaN");
  if (declared > maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw failed(`it is ${declared} bytes, more than the ${maxBytes} an import takes`);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = response.body?.getReader();
  try {
    while (reader) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        await reader.cancel().catch(() => undefined);
        throw failed(`it is more than the ${maxBytes} bytes an import takes`);
      }
      chunks.push(value);
    }
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw failed(signal.aborted ? `not all of it came within ${timeoutMs / 1000} s` : causeOf(error));
  }
  return Buffer.concat(chunks);
}

/** fetch's own message ("fetch failed") says little; its cause names the network error. */
function causeOf(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message;
}
