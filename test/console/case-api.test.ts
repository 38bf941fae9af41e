import { readFile } from "node:fs/promises";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fetchCasePackage } from "../../cli/case-provider.js";
import {
  coreExportCommand,
  coreImportCommand,
  coreItemAddCommand,
  coreReleaseCommand,
  coreShowCommand,
} from "../../cli/commands/core.js";
import { ExitCode } from "../../cli/errors.js";
import { startFederationWith, waitUntil, type FederationNode, type StartedFederation } from "../helpers/federation.js";
import { expectCliError, memoryIo } from "../helpers/io.js";

const FIXTURE = new URL("../fixtures/case/ssr-core.json", import.meta.url);
const PREFIX = "/ims/case/v1p1";
/** A CASE 1.0 tool's package, wrapped in `CFPackage`, nulls for absent fields. */
const WRAPPED = new URL("../fixtures/case/case-1.0-wrapped.json", import.meta.url);
const WRAPPED_ID = "f96ad215-03e2-5e32-a39e-cce9b307b250";

type Json = Record<string, unknown>;
interface Package {
  CFDocument: Json;
  CFItems: Json[];
  CFAssociations: Json[];
  CFDefinitions: Json;
  CFRubrics: Json[];
}

const cli = (n: FederationNode) => ({ api: n.node.address, token: n.node.adminToken });

function consoleOrigin(n: FederationNode): string {
  const url = n.node.running.console?.url;
  if (!url) throw new Error(`${n.name} serves no console`);
  return url.replace(/\/$/, "");
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json: () => unknown;
}

/** A plain HTTP request, as any CASE tool would make it: no token, no browser headers. */
function get(
  origin: string,
  path: string,
  options: { method?: string; headers?: Record<string, string> } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, origin),
      { method: options.method ?? "GET", headers: options.headers ?? {}, timeout: 10_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const body = Buffer.concat(chunks).toString("utf8");
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: () => JSON.parse(body) });
        });
      },
    );
    req.on("error", reject);
    req.end();
  });
}

/** What `concordat core export case` prints, parsed. */
async function exported(n: FederationNode, release?: string): Promise<Package> {
  const io = memoryIo(false);
  await coreExportCommand({ ...cli(n), ...(release ? { release } : {}) }, io);
  return JSON.parse(io.out()) as Package;
}

/** A stand-in CASE provider on loopback: answers each path with what `routes` gives. */
async function provider(
  routes: (path: string) => { status: number; body: string | Buffer; chunked?: boolean } | "hang",
): Promise<{ origin: string; server: Server }> {
  const server = createServer((req, res) => {
    const answer = routes(req.url ?? "/");
    if (answer === "hang") return;
    res.writeHead(answer.status, { "content-type": "application/json" });
    if (!answer.chunked) {
      res.end(answer.body);
      return;
    }
    // No content-length: the size shows only as the body comes.
    const body = Buffer.from(answer.body);
    for (let at = 0; at < body.byteLength; at += 4096) res.write(body.subarray(at, at + 4096));
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

/**
 * The CASE 1.1 REST API beside the console, on real nodes: the secretariat (s) fills its drafts
 * from a CASE provider's URL, releases them, and serves the same package the CLI exports; hub a
 * (dialling s) serves the release it verified, and is itself a CASE provider s can import from.
 */
describe("the CASE 1.1 REST API and import from a CASE provider", () => {
  let fed: StartedFederation;
  let stub: { origin: string; server: Server };
  const s = () => fed.byName("s");
  const a = () => fed.byName("a");
  let fixtureId = "";

  beforeAll(async () => {
    const fixture = await readFile(FIXTURE);
    const wrapped = await readFile(WRAPPED);
    fixtureId = (JSON.parse(fixture.toString("utf8")) as Package).CFDocument.identifier as string;
    stub = await provider((path) => {
      if (path === `${PREFIX}/CFPackages/${fixtureId}`) return { status: 200, body: fixture };
      if (path === `/v1p0/CFPackages/${WRAPPED_ID}`) return { status: 200, body: wrapped };
      if (path === "/big") return { status: 200, body: Buffer.alloc(64 * 1024, " ") };
      if (path === "/big-chunked") return { status: 200, body: Buffer.alloc(64 * 1024, " "), chunked: true };
      if (path === "/slow") return "hang";
      return { status: 404, body: JSON.stringify({ imsx_codeMajor: "failure" }) };
    });
    fed = await startFederationWith(["s", "a"], [["a", "s"]]);
  }, 60_000);

  afterAll(async () => {
    await fed?.stop();
    stub?.server.closeAllConnections();
    await new Promise((resolve) => stub?.server.close(resolve));
  });

  it("imports a CASE provider's package by URL into the drafts, then serves nothing before a release", async () => {
    const io = memoryIo(false);
    await coreImportCommand({ ...cli(s()), url: `${stub.origin}${PREFIX}/CFPackages/${fixtureId}` }, io);
    expect(io.out()).toMatch(/Imported the framework, \d+ items, \d+ associations into the drafts/);
    const show = memoryIo(true);
    await coreShowCommand({ ...cli(s()), draft: true }, show);
    const drafts = JSON.parse(show.out()) as { framework: { title: string }; items: unknown[] };
    const fixture = JSON.parse(await readFile(FIXTURE, "utf8")) as Package;
    expect(drafts.framework.title).toBe(fixture.CFDocument.title);
    expect(drafts.items).toHaveLength(fixture.CFItems.length);

    // Drafts are never served: without a release the list is empty and the package unknown.
    const list = await get(consoleOrigin(s()), `${PREFIX}/CFDocuments`);
    expect(list.status).toBe(200);
    expect(list.json()).toEqual({ CFDocuments: [] });
    expect((await get(consoleOrigin(s()), `${PREFIX}/CFPackages/${fixtureId}`)).status).toBe(404);
  });

  it("serves the very package `core export` writes, without a token, as CASE 1.1 JSON", async () => {
    await coreReleaseCommand({ ...cli(s()), version: "1.0.0", notes: "From the provider" }, memoryIo(false));
    const pkg = await exported(s());
    const id = pkg.CFDocument.identifier as string;
    const origin = consoleOrigin(s());

    const answer = await get(origin, `${PREFIX}/CFPackages/${encodeURIComponent(id)}`);
    expect(answer.status).toBe(200);
    expect(answer.headers["content-type"]).toMatch(/^application\/json/);
    // The console's security headers stay; public data any page may read.
    expect(answer.headers["x-content-type-options"]).toBe("nosniff");
    expect(answer.headers["content-security-policy"]).toContain("default-src 'none'");
    expect(answer.headers["access-control-allow-origin"]).toBe("*");
    expect(answer.json()).toEqual(pkg);
    expect(Object.keys(answer.json() as Json)).toEqual([
      "CFDocument",
      "CFItems",
      "CFAssociations",
      "CFDefinitions",
      "CFRubrics",
    ]);
    expect(pkg.CFDocument.caseVersion).toBe("1.1");

    const list = await get(origin, `${PREFIX}/CFDocuments`);
    expect(list.json()).toEqual({ CFDocuments: [pkg.CFDocument] });
    expect((await get(origin, `${PREFIX}/CFDocuments/${id}`)).json()).toEqual(pkg.CFDocument);

    const item = pkg.CFItems[3] as Json;
    expect((await get(origin, `${PREFIX}/CFItems/${item.identifier as string}`)).json()).toEqual(item);
    const association = pkg.CFAssociations[0] as Json;
    expect((await get(origin, `${PREFIX}/CFAssociations/${association.identifier as string}`)).json()).toEqual(
      association,
    );
    const linked = (await get(origin, `${PREFIX}/CFItemAssociations/${item.identifier as string}`)).json() as {
      CFItem: Json;
      CFAssociations: Json[];
    };
    expect(linked.CFItem).toEqual(item);
    const touching = pkg.CFAssociations.filter(
      (a) =>
        (a.originNodeURI as Json).identifier === item.identifier ||
        (a.destinationNodeURI as Json).identifier === item.identifier,
    );
    expect(touching.length).toBeGreaterThan(0);
    expect(linked.CFAssociations).toEqual(touching);

    // A browser's CORS preflight is answered; paging applies to the list.
    const preflight = await get(origin, `${PREFIX}/CFDocuments`, { method: "OPTIONS" });
    expect(preflight.status).toBe(204);
    expect(preflight.headers["access-control-allow-methods"]).toBe("GET, HEAD");
    expect((await get(origin, `${PREFIX}/CFDocuments?offset=1`)).json()).toEqual({ CFDocuments: [] });

    // HEAD answers the headers only.
    const head = await get(origin, `${PREFIX}/CFDocuments`, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.body).toBe("");
  });

  it("answers unknown identifiers, releases and endpoints with 404 and the imsx_StatusInfo shape", async () => {
    const origin = consoleOrigin(s());
    for (const path of [
      `${PREFIX}/CFItems/7b0c1d52-0000-4000-8000-000000000000`,
      `${PREFIX}/CFPackages/7b0c1d52-0000-4000-8000-000000000000`,
      `${PREFIX}/CFAssociations/nope`,
      `${PREFIX}/CFItemAssociations/nope`,
      `${PREFIX}/CFDocuments/nope`,
      `${PREFIX}/CFNothing/x`,
      `${PREFIX}/CFDocuments?release=9.9.9`,
    ]) {
      const answer = await get(origin, path);
      expect(answer.status, path).toBe(404);
      expect(answer.headers["content-type"], path).toMatch(/^application\/json/);
      const body = answer.json() as Json;
      expect(body, path).toMatchObject({
        imsx_codeMajor: "failure",
        imsx_severity: "error",
        imsx_codeMinor: { imsx_codeMinorField: [{ imsx_codeMinorFieldValue: "unknownobject" }] },
      });
      expect(typeof body.imsx_description).toBe("string");
    }
    const bad = await get(origin, `${PREFIX}/CFDocuments?release=latest`);
    expect(bad.status).toBe(400);
    expect(bad.json()).toMatchObject({ imsx_codeMajor: "failure" });
    // Read-only: a write is refused whatever it carries.
    expect((await get(origin, `${PREFIX}/CFDocuments`, { method: "POST" })).status).toBe(405);
    expect((await get(origin, `${PREFIX}/CFDocuments`, { method: "DELETE" })).status).toBe(405);
    // On loopback, only loopback host names (DNS rebinding), as for the console itself.
    const rebound = await get(origin, `${PREFIX}/CFDocuments`, { headers: { host: "evil.example" } });
    expect(rebound.status).toBe(421);
  });

  it("serves the newest release by default and an older one with ?release=, at the secretariat and at a hub", async () => {
    const first = await exported(s(), "1.0.0");
    const item = first.CFItems[1] as Json;
    const ours = ((item.extensions as Json | undefined)?.concordat as Json | undefined)?.identifier as string;
    await coreItemAddCommand(
      { ...cli(s()), id: ours ?? (item.identifier as string), statement: ["en=A changed statement"] },
      memoryIo(false),
    );
    await coreReleaseCommand({ ...cli(s()), version: "1.1.0" }, memoryIo(false));
    const second = await exported(s());
    expect(second).not.toEqual(first);
    const id = first.CFDocument.identifier as string;

    const origin = consoleOrigin(s());
    expect((await get(origin, `${PREFIX}/CFPackages/${id}`)).json()).toEqual(second);
    expect((await get(origin, `${PREFIX}/CFPackages/${id}?release=1.0.0`)).json()).toEqual(first);
    expect((await get(origin, `${PREFIX}/CFItems/${item.identifier as string}`)).json()).toMatchObject({
      fullStatement: "A changed statement",
    });

    // Hub a serves what it verified: the same packages.
    await waitUntil(
      "a to verify release 1.1.0",
      async () => (await a().node.running.coreSource.releases()).some((r) => r.version === "1.1.0"),
      20_000,
    );
    const atA = consoleOrigin(a());
    expect(await exported(a())).toEqual(second);
    expect((await get(atA, `${PREFIX}/CFPackages/${id}`)).json()).toEqual(second);
    expect((await get(atA, `${PREFIX}/CFPackages/${id}?release=1.0.0`)).json()).toEqual(first);
  });

  it("imports from another node serving the CASE API, through the same checks as a file", async () => {
    const pkg = await exported(a());
    const id = pkg.CFDocument.identifier as string;
    const io = memoryIo(true);
    await coreImportCommand(
      { ...cli(s()), url: `${consoleOrigin(a())}${PREFIX}/CFPackages/${id}?release=1.0.0`, dryRun: true },
      io,
    );
    expect(JSON.parse(io.out())).toMatchObject({
      framework: true,
      items: pkg.CFItems.length,
      associations: pkg.CFAssociations.length,
      dryRun: true,
    });

    // A CASE 1.0 provider's wrapped package goes through the same path.
    const old = memoryIo(true);
    await coreImportCommand({ ...cli(s()), url: `${stub.origin}/v1p0/CFPackages/${WRAPPED_ID}`, dryRun: true }, old);
    expect(JSON.parse(old.out())).toMatchObject({ framework: true, dryRun: true });
  });

  it("reads http(s) only, within a size cap and a time limit, and only a successful answer", async () => {
    const refuse = (url: string, extra: Json = {}) =>
      expectCliError(coreImportCommand({ ...cli(s()), url, ...extra }, memoryIo(false)));
    let error = await refuse("file:///etc/passwd");
    expect(error.exitCode).toBe(ExitCode.Usage);
    expect(error.message).toMatch(/not http\(s\)/);
    error = await refuse("not a url");
    expect(error.exitCode).toBe(ExitCode.Usage);
    error = await refuse(`${stub.origin}${PREFIX}/CFPackages/x`, { file: "pkg.json" });
    expect(error.message).toMatch(/not both/);
    error = await refuse(`${stub.origin}${PREFIX}/CFPackages/x`, { format: "moodle" });
    expect(error.message).toMatch(/format is case/);
    error = await refuse(`${stub.origin}${PREFIX}/CFPackages/unknown`);
    expect(error.message).toMatch(/HTTP 404/);

    await expect(fetchCasePackage(`${stub.origin}/big`, { maxBytes: 1024 })).rejects.toThrow(/more than the 1024/);
    await expect(fetchCasePackage(`${stub.origin}/big-chunked`, { maxBytes: 1024 })).rejects.toThrow(
      /more than the 1024/,
    );
    expect((await fetchCasePackage(`${stub.origin}/big-chunked`)).byteLength).toBe(64 * 1024);
    await expect(fetchCasePackage(`${stub.origin}/slow`, { timeoutMs: 300 })).rejects.toThrow(/no answer within/);
    // The stand-in's 404 body never reached the node: the drafts still hold the provider's package.
    const show = memoryIo(true);
    await coreShowCommand({ ...cli(s()), draft: true }, show);
    expect((JSON.parse(show.out()) as { framework: unknown }).framework).toBeDefined();
  });
});
