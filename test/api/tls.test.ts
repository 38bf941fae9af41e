import { execFile } from "node:child_process";
import { readFile, rm, writeFile } from "node:fs/promises";
import { get as httpGet } from "node:http";
import { get as httpsGet } from "node:https";
import { join } from "node:path";
import { promisify } from "node:util";
import { createClient } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { NodeService } from "../../web/generated/concordat/v1/node_pb.js";
import { statusCommand } from "../../cli/commands/status.js";
import { toCliError } from "../../cli/errors.js";
import { makeTempDir, startTestNode, type TestNode } from "../helpers/harness.js";
import { memoryIo } from "../helpers/io.js";

const run = promisify(execFile);

/** A CA and a server certificate for 127.0.0.1, made with the openssl command. */
async function makeCertificates(dir: string): Promise<{ ca: string; cert: string; key: string; otherCa: string }> {
  const p = (name: string) => join(dir, name);
  const openssl = (args: string[]) => run("openssl", args, { cwd: dir });
  for (const ca of ["ca", "other-ca"]) {
    await openssl([
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-days",
      "2",
      "-subj",
      `/CN=Concordat test ${ca}`,
      "-keyout",
      p(`${ca}.key`),
      "-out",
      p(`${ca}.crt`),
    ]);
  }
  await writeFile(p("ext.cnf"), "subjectAltName=IP:127.0.0.1\n");
  await openssl([
    "req",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-subj",
    "/CN=127.0.0.1",
    "-keyout",
    p("node.key"),
    "-out",
    p("node.csr"),
  ]);
  await openssl([
    "x509",
    "-req",
    "-in",
    p("node.csr"),
    "-CA",
    p("ca.crt"),
    "-CAkey",
    p("ca.key"),
    "-CAcreateserial",
    "-days",
    "2",
    "-extfile",
    p("ext.cnf"),
    "-out",
    p("node.crt"),
  ]);
  return { ca: p("ca.crt"), cert: p("node.crt"), key: p("node.key"), otherCa: p("other-ca.crt") };
}

describe("the API over TLS (api.tls from config)", () => {
  let node: TestNode;
  let certs: Awaited<ReturnType<typeof makeCertificates>>;
  let certDir = "";

  beforeAll(async () => {
    certDir = await makeTempDir("concordat-tls-");
    certs = await makeCertificates(certDir);
    node = await startTestNode({ env: { CONCORDAT_API_TLS_CERT: certs.cert, CONCORDAT_API_TLS_KEY: certs.key } });
  });
  afterAll(async () => {
    await node?.cleanup();
    if (certDir) await rm(certDir, { recursive: true, force: true });
  });

  test("a client that trusts the CA gets answers", async () => {
    const out = memoryIo(true);
    await statusCommand({ data: node.dataDir, tlsCa: certs.ca }, out);
    expect(JSON.parse(out.out())).toMatchObject({ hubId: "test-hub" });
  });

  test("a client that trusts another CA, or speaks plaintext, is refused", async () => {
    const wrongCa = toCliError(
      await statusCommand({ data: node.dataDir, tlsCa: certs.otherCa }, memoryIo(true)).catch((e: unknown) => e),
    );
    expect(wrongCa.message).toMatch(/UNAVAILABLE/);
    const plain = toCliError(
      await statusCommand({ api: node.address, token: node.adminToken }, memoryIo(true)).catch((e: unknown) => e),
    );
    expect(plain.message).toMatch(/UNAVAILABLE/);
  });

  test("the web console is served over HTTPS with the API's certificate, and its calls pass", async () => {
    const url = node.running.console?.url ?? "";
    expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/$/);
    const ca = await readFile(certs.ca);
    const page = await new Promise<{ status: number; hsts: string | undefined }>((resolve, reject) => {
      httpsGet(url, { ca }, (res) => {
        res.resume();
        resolve({ status: res.statusCode ?? 0, hsts: res.headers["strict-transport-security"] as string | undefined });
      }).on("error", reject);
    });
    expect(page.hsts).toMatch(/max-age=\d+/);
    const transport = createGrpcWebTransport({ baseUrl: url, httpVersion: "1.1", nodeOptions: { ca } });
    const status = await createClient(NodeService, transport).getStatus(
      {},
      { headers: { authorization: `Bearer ${node.adminToken}` } },
    );
    expect(status.hubId).toBe("test-hub");
    const plain = await new Promise<string>((resolve) => {
      httpGet(url.replace("https:", "http:"), (res) => resolve(`answered ${res.statusCode}`)).on("error", (e) =>
        resolve(`refused: ${e.message}`),
      );
    });
    expect(plain).not.toMatch(/answered 200/);
  });

  test("a missing certificate file stops the node with an error naming the key", async () => {
    const error = await startTestNode({
      env: { CONCORDAT_API_TLS_CERT: "/nonexistent.crt", CONCORDAT_API_TLS_KEY: certs.key },
    }).catch((e: unknown) => e as Error);
    expect((error as Error).message).toMatch(/api\.tls\.cert '\/nonexistent\.crt'/);
  });
});
