import { request } from "node:http";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BadRequestSchema } from "../../web/generated/google/rpc/status_pb.js";
import { NodeService, OperatorService } from "../../web/generated/concordat/v1/node_pb.js";
import { TrainerService } from "../../web/generated/concordat/v1/trainers_pb.js";
import { makeTrainer, startTestNode, type TestNode } from "../helpers/harness.js";

/**
 * The console's gRPC-Web endpoint, called as any program could: a generic gRPC-Web client
 * (Connect's, over HTTP/1.1) with or without a token, and raw HTTP requests a hostile page or a
 * rebinding attack would make. Whatever the API refuses, the console refuses, with the same codes
 * and the same field-level details.
 */
let hub: TestNode;
let origin: string;

function client<T extends Parameters<typeof createClient>[0]>(service: T, token?: string) {
  const transport = createGrpcWebTransport({
    baseUrl: origin,
    httpVersion: "1.1",
    interceptors: token
      ? [
          (next) => (req) => {
            req.header.set("authorization", `Bearer ${token}`);
            return next(req);
          },
        ]
      : [],
  });
  return createClient(service, transport);
}

async function refusal(call: Promise<unknown>): Promise<ConnectError> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConnectError);
  return error as ConnectError;
}

function raw(
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: Buffer } = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const url = new URL(path, origin);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: options.method ?? "GET", headers: options.headers ?? {}, timeout: 10_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }),
        );
      },
    );
    req.on("error", reject);
    req.end(options.body);
  });
}

beforeAll(async () => {
  hub = await startTestNode({ hubId: "bridge-hub" });
  const url = hub.running.console?.url;
  if (!url) throw new Error("the test node serves no console");
  origin = url.replace(/\/$/, "");
});

afterAll(async () => {
  await hub?.cleanup();
});

describe("the console's gRPC-Web endpoint", () => {
  it("answers a call that carries a valid token, as the API does", async () => {
    const status = await client(NodeService, hub.adminToken).getStatus({});
    expect(status.hubId).toBe("bridge-hub");
    expect(status.caller?.role).toBe("admin");
  });

  it("refuses a call without a token, or with a wrong one, UNAUTHENTICATED", async () => {
    expect((await refusal(client(NodeService).getStatus({}))).code).toBe(Code.Unauthenticated);
    expect((await refusal(client(NodeService, "not-a-token").getStatus({}))).code).toBe(Code.Unauthenticated);
  });

  it("applies the operator's role: a viewer cannot write", async () => {
    const { token } = await client(OperatorService, hub.adminToken).addOperator({ name: "watcher", role: "viewer" });
    const error = await refusal(client(TrainerService, token).addTrainer({ trainer: makeTrainer("V-1") }));
    expect(error.code).toBe(Code.PermissionDenied);
  });

  it("passes the API's field violations through unchanged", async () => {
    const bad = makeTrainer("BAD-1", { languages: [{ tag: "not a tag", level: "Z9" }] });
    const error = await refusal(client(TrainerService, hub.adminToken).addTrainer({ trainer: bad }));
    expect(error.code).toBe(Code.InvalidArgument);
    const fields = error.findDetails(BadRequestSchema).flatMap((d) => d.fieldViolations.map((v) => v.field));
    expect(fields.some((f) => f.startsWith("trainer.languages"))).toBe(true);
  });

  it("ends a session when its token is revoked", async () => {
    const admin = client(OperatorService, hub.adminToken);
    const { token, operator } = await admin.addOperator({ name: "leaving", role: "operator" });
    await client(NodeService, token).getStatus({});
    await admin.revokeOperator({ id: operator?.id ?? "" });
    expect((await refusal(client(NodeService, token).getStatus({}))).code).toBe(Code.Unauthenticated);
  });

  it("serves no peer-to-peer service: Replicate is not reachable from a browser", async () => {
    const response = await raw("/concordat.v1.ReplicationService/Replicate", {
      method: "POST",
      headers: { "content-type": "application/grpc-web+proto", authorization: `Bearer ${hub.adminToken}` },
      body: Buffer.from([0, 0, 0, 0, 0]),
    });
    expect(response.headers["grpc-status"] ?? response.status).not.toBe("0");
    expect([404, 200]).toContain(response.status);
    if (response.status === 200) expect(response.headers["grpc-status"]).toBe(String(Code.Unimplemented));
  });
});

describe("what a browser is protected from", () => {
  it("refuses a call made by a page of another origin", async () => {
    const response = await raw("/concordat.v1.NodeService/GetStatus", {
      method: "POST",
      headers: {
        "content-type": "application/grpc-web+proto",
        origin: "https://evil.example",
        authorization: `Bearer ${hub.adminToken}`,
      },
      body: Buffer.from([0, 0, 0, 0, 0]),
    });
    expect(response.status).toBe(403);
    const site = await raw("/concordat.v1.NodeService/GetStatus", {
      method: "POST",
      headers: { "content-type": "application/grpc-web+proto", "sec-fetch-site": "cross-site" },
      body: Buffer.from([0, 0, 0, 0, 0]),
    });
    expect(site.status).toBe(403);
  });

  it("answers only to loopback host names on a loopback address (DNS rebinding)", async () => {
    const response = await raw("/", { headers: { host: "attacker.example:80" } });
    expect(response.status).toBe(421);
  });

  it("sends a strict Content-Security-Policy and refuses to be framed, on every answer", async () => {
    for (const path of ["/", "/find", "/no-such-file.js"]) {
      const response = await raw(path);
      const csp = String(response.headers["content-security-policy"]);
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain("unsafe-inline");
      expect(response.headers["x-frame-options"]).toBe("DENY");
      expect(response.headers["x-content-type-options"]).toBe("nosniff");
      expect(response.headers["referrer-policy"]).toBe("no-referrer");
    }
  });

  it("never writes a token to its log", async () => {
    await client(NodeService, hub.adminToken).getStatus({});
    await refusal(client(NodeService, `${hub.adminToken}x`).getStatus({}));
    expect(hub.logs.join("\n")).not.toContain(hub.adminToken);
  });
});
