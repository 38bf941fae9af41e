import { MAX_STATEMENTS } from "./xapi.js";

/**
 * Pulling statements from an LRS's Statement resource (xAPI 1.0.3 §2.1.3 "GET Statements", and
 * IEEE 9274.1.1): `GET {endpoint}/statements` with `X-Experience-API-Version: 1.0.3` and Basic
 * auth, filtered by `since` (exclusive), `activity`, `verb` and `related_activities`, following the
 * result's `more` link (relative to the LRS's root) until it is empty. Runs where the operator's
 * credentials are (the CLI): the password is never sent to the node, kept, or sent anywhere but
 * the LRS named.
 */
export const XAPI_VERSION = "1.0.3";

/** What to ask the LRS for. */
export interface LrsQuery {
  /** The LRS's xAPI endpoint, e.g. https://lrs.example/xapi (the Statement resource is below it). */
  endpoint: string;
  activity?: string;
  verb?: string;
  relatedActivities?: boolean;
}

export interface LrsCredentials {
  user: string;
  password: string;
}

export class LrsError extends Error {}

const MAX_PAGES = 10_000;
const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** The endpoint as a URL, checked: http(s), no user:password in it, no query or fragment. */
export function endpointOf(endpoint: string): URL {
  let url: URL;
  try {
    url = new URL(endpoint.trim());
  } catch {
    throw new LrsError(`'${endpoint}' is not a URL (e.g. https://lrs.example/xapi)`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new LrsError(`'${endpoint}' is not an http(s) URL`);
  if (url.username !== "" || url.password !== "")
    throw new LrsError("give the LRS's credentials with --user and --password-file, not in the URL");
  if (url.search !== "" || url.hash !== "")
    throw new LrsError(`'${endpoint}': give the endpoint without a query (use --activity, --verb, --since)`);
  url.pathname = url.pathname.replace(/\/+$/, "");
  return url;
}

/**
 * The source a pull reads, as one string: the endpoint and the query that filters it (not `since`,
 * not the credentials). Its cursor is kept per delivery under it.
 */
export function sourceOf(query: LrsQuery): string {
  const url = endpointOf(query.endpoint);
  const params = new URLSearchParams();
  if (query.activity) params.set("activity", query.activity);
  if (query.verb) params.set("verb", query.verb);
  if (query.relatedActivities) params.set("related_activities", "true");
  return `${url.href}${params.size > 0 ? `?${params}` : ""}`;
}

/**
 * All statements the LRS has for `query` stored after `since` ("" for all), every page. Basic
 * auth needs https, except to a loopback address; a `more` link elsewhere than the LRS is refused.
 */
export async function pullStatements(
  query: LrsQuery,
  since: string,
  credentials?: LrsCredentials,
  options: { timeoutMs?: number; maxStatements?: number } = {},
): Promise<{ statements: unknown[]; pages: number }> {
  const endpoint = endpointOf(query.endpoint);
  if (credentials && endpoint.protocol !== "https:" && !LOOPBACK.has(endpoint.hostname))
    throw new LrsError(`credentials are sent only over https; '${endpoint.href}' is not (except on this machine)`);
  const first = new URL(`${endpoint.href}/statements`);
  if (since) first.searchParams.set("since", since);
  if (query.activity) first.searchParams.set("activity", query.activity);
  if (query.verb) first.searchParams.set("verb", query.verb);
  if (query.relatedActivities) first.searchParams.set("related_activities", "true");
  const headers: Record<string, string> = {
    "X-Experience-API-Version": XAPI_VERSION,
    Accept: "application/json",
  };
  if (credentials)
    headers.Authorization = `Basic ${Buffer.from(`${credentials.user}:${credentials.password}`).toString("base64")}`;
  const max = options.maxStatements ?? MAX_STATEMENTS;
  const statements: unknown[] = [];
  const visited = new Set<string>();
  let next: URL | undefined = first;
  let pages = 0;
  while (next) {
    if (visited.has(next.href)) throw new LrsError(`the LRS's 'more' link loops back to ${next.pathname}`);
    if (visited.size >= MAX_PAGES) throw new LrsError(`more than ${MAX_PAGES} pages; pull with a narrower query`);
    visited.add(next.href);
    let response: Response;
    try {
      response = await fetch(next, {
        headers,
        redirect: "error",
        signal: AbortSignal.timeout(options.timeoutMs ?? 60_000),
      });
    } catch (error) {
      throw new LrsError(`cannot reach the LRS at ${next.origin}: ${(error as Error).message}`);
    }
    const text = await response.text();
    if (response.status !== 200)
      throw new LrsError(
        `the LRS answered ${response.status} ${response.statusText}${
          response.status === 401 || response.status === 403 ? " (check --user and --password-file)" : ""
        }: ${text.slice(0, 200)}`,
      );
    let body: { statements?: unknown; more?: unknown };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      throw new LrsError(`the LRS's answer to ${next.pathname} is not JSON`);
    }
    if (!body || !Array.isArray(body.statements))
      throw new LrsError(`the LRS's answer to ${next.pathname} is not a StatementResult (no 'statements' array)`);
    pages += 1;
    statements.push(...body.statements);
    if (statements.length > max)
      throw new LrsError(
        `more than ${max} statements; pull with --since or a narrower --activity / --verb, a part at a time`,
      );
    const more = typeof body.more === "string" ? body.more : "";
    if (more === "") next = undefined;
    else {
      // "more" is relative to the LRS's root (xAPI 1.0.3 §2.1.3.1); credentials go nowhere else.
      const url = new URL(more, endpoint.origin);
      if (url.origin !== endpoint.origin)
        throw new LrsError(`the LRS's 'more' link leads to ${url.origin}, not ${endpoint.origin}; not followed`);
      next = url;
    }
  }
  return { statements, pages };
}
