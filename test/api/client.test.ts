import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IDENTITY_HEADERS, nodeClient, type NodeClient } from "../../node/api/index.js";
import type { ImportTrainersRequest } from "../../node/api/generated/concordat/v1/trainers.js";
import { CALL_DEADLINE_MS, expectServiceError, makeTrainer, startTestNode, type TestNode } from "../helpers/harness.js";

/**
 * The node's typed client (node/api/client.ts), against a real node on 127.0.0.1: the token, the
 * three kinds of call, deadlines, cancellation and response headers.
 */
let hub: TestNode;
let admin: NodeClient;

beforeAll(async () => {
  hub = await startTestNode({ hubId: "client-hub" });
  admin = nodeClient(hub.address, { token: hub.adminToken, deadlineMs: CALL_DEADLINE_MS });
});
afterAll(async () => {
  admin?.close();
  await hub?.cleanup();
});

describe("the node client", () => {
  it("a unary call carries the client's token; a call's own token replaces it", async () => {
    const added = await admin.trainers.addTrainer({ trainer: makeTrainer("CL-1") });
    expect(added.id).toBe("CL-1");
    const anonymous = nodeClient(hub.address, { deadlineMs: CALL_DEADLINE_MS });
    try {
      expect((await expectServiceError(anonymous.trainers.getTrainer({ id: "CL-1" }))).code).toBe(
        status.UNAUTHENTICATED,
      );
      expect((await anonymous.trainers.getTrainer({ id: "CL-1" }, { token: hub.adminToken })).id).toBe("CL-1");
    } finally {
      anonymous.close();
    }
  });

  it("a client stream takes an async iterable; a server stream is one", async () => {
    async function* messages(): AsyncGenerator<ImportTrainersRequest> {
      yield { part: { $case: "options", value: { skipInvalid: false, dryRun: false, upsert: false } } };
      for (const id of ["CL-2", "CL-3"])
        yield { part: { $case: "rows", value: { rows: [{ line: 2, trainer: makeTrainer(id) }] } } };
    }
    const result = await admin.trainers.importTrainers(messages());
    expect({ committed: result.committed, imported: result.imported }).toEqual({ committed: true, imported: 2 });
    const ids: string[] = [];
    for await (const trainer of admin.trainers.exportTrainers({ includePrivate: false })) ids.push(trainer.id);
    expect(ids.sort()).toEqual(["CL-1", "CL-2", "CL-3"]);
  });

  it("a consumer that stops reading a server stream early ends it, and the client goes on", async () => {
    for await (const trainer of admin.trainers.exportTrainers({ includePrivate: false })) {
      expect(trainer.id).toMatch(/^CL-/);
      break;
    }
    expect((await admin.node.getStatus({})).hubId).toBe("client-hub");
  });

  it("a client stream whose messages fail rejects with that failure", async () => {
    async function* broken(): AsyncGenerator<ImportTrainersRequest> {
      yield { part: { $case: "options", value: { skipInvalid: false, dryRun: false, upsert: false } } };
      throw new Error("the file could not be read");
    }
    await expect(admin.trainers.importTrainers(broken())).rejects.toThrow("the file could not be read");
  });

  it("a call past its deadline fails with DEADLINE_EXCEEDED; an aborted one with CANCELLED", async () => {
    const late = await expectServiceError(admin.node.getStatus({}, { deadlineMs: 0 }));
    expect(late.code).toBe(status.DEADLINE_EXCEEDED);
    const cancelled = await expectServiceError(admin.node.getStatus({}, { signal: AbortSignal.abort() }));
    expect(cancelled.code).toBe(status.CANCELLED);
  });

  it("the response headers name the node (the CLI's identity check reads them)", async () => {
    let headers: Record<string, unknown> = {};
    const answer = await admin.health.check({ service: "" }, { onHeaders: (h) => (headers = h.getMap()) });
    expect(answer.status).toBe("SERVING");
    expect(headers[IDENTITY_HEADERS.hubId]).toBe("client-hub");
    expect(headers[IDENTITY_HEADERS.peerId]).toBe(hub.running.identity.peerId.toString());
  });
});
