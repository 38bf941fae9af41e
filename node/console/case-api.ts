import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import { casePackageOf, type CoreSource } from "../core/index.js";

/**
 * The 1EdTech CASE 1.1 REST API (CASE Service v1.1, read-only "provider" endpoints), served by the
 * node beside its web console (docs/secretariat.md, "The CASE 1.1 REST API"):
 *
 *   GET /ims/case/v1p1/CFDocuments                       {CFDocuments: [CFDocument]}
 *   GET /ims/case/v1p1/CFDocuments/{sourcedId}           the CFDocument
 *   GET /ims/case/v1p1/CFPackages/{sourcedId}            {CFDocument, CFItems, CFAssociations, CFDefinitions, CFRubrics}
 *   GET /ims/case/v1p1/CFItems/{sourcedId}               the CFItem
 *   GET /ims/case/v1p1/CFAssociations/{sourcedId}        the CFAssociation
 *   GET /ims/case/v1p1/CFItemAssociations/{sourcedId}    {CFItem, CFAssociations: [those from or to it]}
 *
 * Every answer is taken from the very package `concordat core export case` writes (CoreService
 * ExportCore): the newest release this node knows — its own newest at the secretariat, the newest
 * verified one at a hub — or the one `?release=X.Y.Z` names. Drafts are never served. The data is
 * the federation's signed, released framework, meant to be read by any CASE tool, so no token is
 * asked; the console's host checks and security headers still apply. An unknown identifier or
 * release is a 404 with the CASE imsx_StatusInfo body.
 */

export const CASE_API_PREFIX = "/ims/case/v1p1/";

type Json = Record<string, unknown>;

/** A CASE 1.1 CFPackage, as ExportCore writes it. */
interface CasePackage {
  CFDocument: Json;
  CFItems: Json[];
  CFAssociations: Json[];
  CFDefinitions: Json;
  CFRubrics: Json[];
}

/** The imsx_StatusInfo body CASE 1.1 answers a failed request with. */
export function imsxStatus(codeMinor: string, description: string, field = "sourcedId"): Json {
  return {
    imsx_codeMajor: "failure",
    imsx_severity: "error",
    imsx_description: description,
    imsx_codeMinor: {
      imsx_codeMinorField: [{ imsx_codeMinorFieldName: field, imsx_codeMinorFieldValue: codeMinor }],
    },
  };
}

function send(req: IncomingMessage, res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.setHeader("content-type", "application/json; charset=utf-8");
  res.setHeader("content-length", Buffer.byteLength(text));
  // The newest release changes when a new one comes: a client asks again rather than keep an old one.
  res.setHeader("cache-control", "no-cache");
  // Public, read-only, asked without credentials: any page may read it (a browser-based CASE tool).
  res.setHeader("access-control-allow-origin", "*");
  res.writeHead(status);
  res.end(req.method === "HEAD" ? undefined : text);
}

function notFound(req: IncomingMessage, res: ServerResponse, description: string, field?: string): void {
  send(req, res, 404, imsxStatus("unknownobject", description, field));
}

/** A release version as `?release=` may name one. */
const VERSION = /^\d+\.\d+\.\d+$/;
/** Released content never changes: the packages of the last few releases asked for are kept. */
const CACHED_RELEASES = 4;

export class CaseApi {
  readonly #source: CoreSource;
  readonly #log: Logger;
  readonly #cache = new Map<string, Promise<CasePackage | undefined>>();

  constructor(source: CoreSource, log: Logger) {
    this.#source = source;
    this.#log = log;
  }

  /** Answers a request under CASE_API_PREFIX (the caller has checked the host). */
  handle(req: IncomingMessage, res: ServerResponse, url: URL): void {
    this.#answer(req, res, url).catch((error: unknown) => {
      this.#log.error({ err: error, path: url.pathname }, "the CASE API could not answer");
      if (!res.headersSent) send(req, res, 500, imsxStatus("internal_server_error", "the node could not answer", ""));
      else res.destroy();
    });
  }

  async #answer(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (req.method === "OPTIONS") {
      res.setHeader("access-control-allow-origin", "*");
      res.setHeader("access-control-allow-methods", "GET, HEAD");
      res.setHeader("access-control-max-age", "600");
      res.writeHead(204);
      res.end();
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.setHeader("allow", "GET, HEAD");
      send(req, res, 405, imsxStatus("unsupported", "the CASE API is read-only: GET and HEAD only", ""));
      return;
    }
    const parts = url.pathname.slice(CASE_API_PREFIX.length).split("/");
    const [collection, rawId, ...rest] = parts;
    if (rest.length > 0 || rawId === "" || collection === undefined) {
      notFound(req, res, `no CASE 1.1 endpoint at ${url.pathname}`, "");
      return;
    }
    let id: string | undefined;
    try {
      id = rawId === undefined ? undefined : decodeURIComponent(rawId);
    } catch {
      notFound(req, res, "the sourcedId is not a valid URL component");
      return;
    }
    const release = url.searchParams.get("release") ?? "";
    if (release !== "" && !VERSION.test(release)) {
      send(req, res, 400, imsxStatus("invalid_selection_field", `release '${release}' is not X.Y.Z`, "release"));
      return;
    }
    const found = await this.#package(release);
    if (found === "no-release") {
      notFound(req, res, `no release ${release} of the core here`, "release");
      return;
    }
    const pkg = found;
    if (collection === "CFDocuments" && id === undefined) {
      const all = pkg ? [pkg.CFDocument] : [];
      const offset = Math.max(0, Number.parseInt(url.searchParams.get("offset") ?? "0", 10) || 0);
      const limit = Math.max(0, Number.parseInt(url.searchParams.get("limit") ?? "100", 10) || 100);
      res.setHeader("x-total-count", String(all.length));
      send(req, res, 200, { CFDocuments: all.slice(offset, offset + limit) });
      return;
    }
    if (id === undefined) {
      notFound(req, res, `no CASE 1.1 endpoint at ${url.pathname}`, "");
      return;
    }
    const answer = pkg ? this.#lookup(pkg, collection, id) : undefined;
    if (answer === "no-endpoint") {
      notFound(req, res, `no CASE 1.1 endpoint at ${url.pathname}`, "");
      return;
    }
    if (answer === undefined) {
      notFound(
        req,
        res,
        pkg
          ? `no ${collection.replace(/s$/, "")} '${id}' in release ${release || "(newest)"}`
          : "no release of the core with a framework here yet",
      );
      return;
    }
    send(req, res, 200, answer);
  }

  #lookup(pkg: CasePackage, collection: string, id: string): unknown {
    const byId = (list: Json[]) => list.find((r) => r.identifier === id);
    switch (collection) {
      case "CFPackages":
        return pkg.CFDocument.identifier === id ? pkg : undefined;
      case "CFDocuments":
        return pkg.CFDocument.identifier === id ? pkg.CFDocument : undefined;
      case "CFItems":
        return byId(pkg.CFItems);
      case "CFAssociations":
        return byId(pkg.CFAssociations);
      case "CFItemAssociations": {
        const item = byId(pkg.CFItems);
        if (!item) return undefined;
        const end = (ref: unknown) => typeof ref === "object" && ref !== null && (ref as Json).identifier === id;
        return {
          CFItem: item,
          CFAssociations: pkg.CFAssociations.filter((a) => end(a.originNodeURI) || end(a.destinationNodeURI)),
        };
      }
      default:
        return "no-endpoint";
    }
  }

  /**
   * The package of a release (the newest when `release` is ""): undefined when the release has no
   * framework (or there is no release at all and none was named); "no-release" for a named one not here.
   */
  async #package(release: string): Promise<CasePackage | undefined | "no-release"> {
    const releases = await this.#source.releases();
    const version = release || releases.at(-1)?.version;
    if (!version) return undefined;
    if (!releases.some((r) => r.version === version)) return "no-release";
    let cached = this.#cache.get(version);
    if (!cached) {
      cached = this.#source
        .content(version)
        .then((content) => (content ? (casePackageOf(content) as CasePackage | undefined) : undefined));
      this.#cache.set(version, cached);
      // Only a package is kept: content not readable yet (or no framework) is asked again next time.
      cached.then(
        (pkg) => pkg || this.#cache.delete(version),
        () => this.#cache.delete(version),
      );
      while (this.#cache.size > CACHED_RELEASES) {
        const oldest = this.#cache.keys().next().value;
        if (oldest === undefined) break;
        this.#cache.delete(oldest);
      }
    }
    return cached;
  }
}
