import { readFile } from "node:fs/promises";
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { ConnectionInjector } from "@grpc/grpc-js";
import type { Logger } from "pino";
import { failedPrecondition } from "../errors.js";
import type { Startable } from "../lifecycle.js";
import { isLoopback } from "../metrics.js";
import { type Asset, defaultAssetRoot, loadAssets } from "./assets.js";
import { consoleRoutes, inProcessTransport } from "./bridge.js";
import type { CoreSource } from "../core/index.js";
import { CASE_API_PREFIX, CaseApi } from "./case-api.js";

export interface ConsoleServerInit {
  host: string;
  port: number;
  tls?: { cert: string; key: string };
  /** The built console (default: dist/console of this package). */
  assetRoot?: string;
  /** The largest request message the bridge reads; the API applies its own limit per method after it. */
  readMaxBytes: number;
}

export interface ConsoleServerComponents {
  /** The API whose services the console's calls reach (node/api/server.ts). */
  api: { connectionInjector(): ConnectionInjector };
  logger: Logger;
  /** The core's releases the CASE 1.1 REST API serves (case-api.ts); without it, that API is off. */
  core?: CoreSource;
}

/**
 * Scripts and styles come from this origin only, and no inline script or style attribute runs;
 * no frame may hold the console (clickjacking); the page talks to this origin only.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy": CONTENT_SECURITY_POLICY,
  "x-frame-options": "DENY",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
  "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
};

/** Paths of the API's services: `/concordat.v1.<Service>/<Method>`. */
const RPC_PATH = /^\/concordat\.v1\.[A-Za-z]+\/[A-Za-z]+$/;

function hostOnly(hostHeader: string): string {
  if (hostHeader.startsWith("[")) return hostHeader.slice(1, hostHeader.indexOf("]"));
  const colon = hostHeader.lastIndexOf(":");
  return colon === -1 ? hostHeader : hostHeader.slice(0, colon);
}

function plain(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" });
  res.end(`${text}\n`);
}

/**
 * The web console (docs/web-console.md): the built page, and a gRPC-Web endpoint that passes each
 * call to the node's own gRPC API in process (bridge.ts). It trusts nothing the API does not: the
 * page sends the operator's bearer token with every call and the API checks it as it checks the
 * CLI's. What this server adds is what a browser needs: security headers on every answer, same-
 * origin calls only (a cross-origin page can neither read an answer nor — the token being a header
 * the page sets, not a cookie — make the browser send one), and, on loopback, only loopback host
 * names (so that a hostile web page cannot reach it by rebinding its own name to 127.0.0.1).
 */
export class ConsoleServer implements Startable {
  readonly #init: ConsoleServerInit;
  readonly #components: ConsoleServerComponents;
  readonly #log: Logger;
  #server: Server | undefined;
  #closeTransport: (() => void) | undefined;
  #shutdown: AbortController | undefined;
  #address = "";

  constructor(init: ConsoleServerInit, components: ConsoleServerComponents) {
    this.#init = init;
    this.#components = components;
    this.#log = components.logger;
  }

  /** `host:port` it listens on once started (the real port when configured with 0). */
  get address(): string {
    return this.#address;
  }

  /** The address to open in a browser, once started. */
  get url(): string {
    return this.#address === "" ? "" : `${this.#init.tls ? "https" : "http"}://${this.#address}/`;
  }

  async start(): Promise<void> {
    if (this.#server) return;
    const root = this.#init.assetRoot ?? defaultAssetRoot();
    const assets = await loadAssets(root);
    if (!assets) this.#log.warn({ root }, "the web console is not built (npm run build): its page answers 503");
    const { transport, close } = inProcessTransport(this.#components.api.connectionInjector());
    const shutdown = new AbortController();
    const rpc = connectNodeAdapter({
      routes: consoleRoutes(transport),
      grpc: false,
      connect: false,
      grpcWeb: true,
      readMaxBytes: this.#init.readMaxBytes,
      shutdownSignal: shutdown.signal,
    });
    const loopback = isLoopback(this.#init.host);
    const scheme = this.#init.tls ? "https" : "http";
    const core = this.#components.core;
    const caseApi = core ? new CaseApi(core, this.#log.child({ api: "case" })) : undefined;
    const listener = (req: IncomingMessage, res: ServerResponse) => {
      for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
      if (this.#init.tls) res.setHeader("strict-transport-security", "max-age=31536000");
      const host = req.headers.host ?? "";
      if (loopback && !isLoopback(hostOnly(host))) {
        plain(res, 421, "this console answers to loopback addresses only (127.0.0.1, ::1, localhost)");
        return;
      }
      const path = (req.url ?? "/").split("?")[0] ?? "/";
      if (caseApi && path.startsWith(CASE_API_PREFIX)) {
        caseApi.handle(req, res, new URL(req.url ?? "/", `${scheme}://localhost`));
        return;
      }
      if (RPC_PATH.test(path)) {
        if (req.method !== "POST") {
          plain(res, 405, "API calls are POST requests (gRPC-Web)");
          return;
        }
        // A browser names the page that makes a call: only this console's own pages may.
        const origin = req.headers.origin;
        const site = req.headers["sec-fetch-site"];
        if (
          (origin !== undefined && origin !== `${scheme}://${host}`) ||
          (site !== undefined && site !== "same-origin")
        ) {
          plain(res, 403, "cross-origin calls are refused: use the console served at this address");
          return;
        }
        res.setHeader("cache-control", "no-store");
        rpc(req, res);
        return;
      }
      if (req.method !== "GET" && req.method !== "HEAD") {
        plain(res, 405, "only GET and HEAD are served here");
        return;
      }
      serveAsset(req, res, path, assets);
    };
    const server = this.#init.tls
      ? createHttpsServer(await this.#tlsOptions(this.#init.tls), listener)
      : createHttpServer(listener);
    // A browser's idle keep-alive connection must not hold a stop.
    server.keepAliveTimeout = 5_000;
    const host = this.#init.host;
    await new Promise<void>((resolve, reject) => {
      server.once("error", (error: NodeJS.ErrnoException) =>
        reject(failedPrecondition(`the web console cannot listen on ${host}:${this.#init.port}: ${error.message}`)),
      );
      server.listen(this.#init.port, host, () => resolve());
    }).catch((error: unknown) => {
      close();
      throw error;
    });
    const bound = server.address();
    const port = typeof bound === "object" && bound ? bound.port : this.#init.port;
    this.#server = server;
    this.#closeTransport = close;
    this.#shutdown = shutdown;
    this.#address = `${host.includes(":") ? `[${host}]` : host}:${port}`;
    this.#log.info({ url: this.url }, "web console listening");
  }

  async #tlsOptions(tls: { cert: string; key: string }): Promise<{ cert: Buffer; key: Buffer }> {
    const read = async (path: string, what: string) =>
      readFile(path).catch((error: NodeJS.ErrnoException) => {
        throw failedPrecondition(`cannot read the console's TLS ${what} '${path}': ${error.code ?? error.message}`);
      });
    const [cert, key] = await Promise.all([read(tls.cert, "certificate"), read(tls.key, "key")]);
    return { cert, key };
  }

  /** Ends open streams (a console's live events), closes every connection and the in-process API link. */
  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    this.#shutdown?.abort();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    const timer = setTimeout(() => server.closeAllConnections(), 2_000);
    await closed;
    clearTimeout(timer);
    this.#closeTransport?.();
    this.#log.info("web console stopped");
  }
}

/** Screens of the single-page console: any path without a file extension is the page itself. */
const SCREEN_PATH = /^\/[A-Za-z0-9/_-]*$/;

function serveAsset(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  assets: Map<string, Asset> | undefined,
): void {
  if (!assets) {
    plain(res, 503, "the web console is not built: run `npm run build` and restart the node");
    return;
  }
  const asset = assets.get(path) ?? (SCREEN_PATH.test(path) ? assets.get("/index.html") : undefined);
  if (!asset) {
    plain(res, 404, "not found");
    return;
  }
  res.setHeader("content-type", asset.type);
  res.setHeader("etag", asset.etag);
  res.setHeader("cache-control", asset.immutable ? "public, max-age=31536000, immutable" : "no-cache");
  res.setHeader("vary", "accept-encoding");
  if (req.headers["if-none-match"] === asset.etag) {
    res.writeHead(304);
    res.end();
    return;
  }
  const accepts = String(req.headers["accept-encoding"] ?? "");
  let body = asset.body;
  if (asset.brotli && /\bbr\b/.test(accepts)) {
    body = asset.brotli;
    res.setHeader("content-encoding", "br");
  } else if (asset.gzip && /\bgzip\b/.test(accepts)) {
    body = asset.gzip;
    res.setHeader("content-encoding", "gzip");
  }
  res.setHeader("content-length", body.byteLength);
  res.writeHead(200);
  res.end(req.method === "HEAD" ? undefined : body);
}
