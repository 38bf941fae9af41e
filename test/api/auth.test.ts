import { randomBytes } from "node:crypto";
import { readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { Metadata, status } from "@grpc/grpc-js";
import type { CallOptions } from "../../node/api/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Trainer } from "../../node/api/generated/concordat/v1/trainers.js";
import { Operators } from "../../node/operators/index.js";
import { NodeStore } from "../../node/storage/node-store.js";
import {
  expectServiceError,
  exportTrainers,
  importTrainers,
  makeClients,
  makeTempDir,
  makeTrainer,
  startTestNode,
  type TestClients,
  type TestNode,
} from "../helpers/harness.js";

let hub: TestNode;
let admin: TestClients;
let operatorToken: string;
let viewerToken: string;
let viewerId: string;

const snapshot = (): Promise<Trainer[]> => exportTrainers(admin.trainers, true);

beforeAll(async () => {
  hub = await startTestNode();
  admin = hub.clients(hub.adminToken);
  const op = await admin.operators.addOperator({ name: "an operator", role: "operator" });
  operatorToken = op.token;
  const viewer = await admin.operators.addOperator({ name: "a viewer", role: "viewer" });
  viewerToken = viewer.token;
  viewerId = viewer.operator?.id ?? "";
  await admin.trainers.addTrainer({ trainer: makeTrainer("AUTH-1") });
  await admin.trainers.addTrainer({ trainer: makeTrainer("AUTH-2") });
});

afterAll(async () => {
  await hub?.cleanup();
});

/** A call's options for `auth`: a bearer token, or the call's whole metadata. */
function authOption(auth?: string | Metadata): CallOptions {
  if (auth instanceof Metadata) return { metadata: auth };
  return auth === undefined ? {} : { token: auth };
}

/** One call of each service that any role may make. */
function readCalls(c: TestClients, auth?: string | Metadata): Array<Promise<unknown>> {
  return [
    c.trainers.getTrainer({ id: "AUTH-1" }, authOption(auth)),
    c.trainers.listTrainers({ pageSize: 10, pageToken: "" }, authOption(auth)),
    c.trainers.getTrainerHistory({ id: "AUTH-1" }, authOption(auth)),
    c.node.getStatus({}, authOption(auth)),
  ];
}

describe("authentication", () => {
  it("a call without a token is UNAUTHENTICATED", async () => {
    const anonymous = hub.clients();
    const errors = await Promise.all([
      ...readCalls(anonymous).map(expectServiceError),
      expectServiceError(anonymous.operators.listOperators({})),
      expectServiceError(importTrainers(anonymous.trainers, {}, [[{ line: 1, trainer: makeTrainer("ANON-1") }]])),
    ]);
    expect(errors.map((e) => e.code)).toEqual(errors.map(() => status.UNAUTHENTICATED));
  });

  it("ExportTrainers without a token is UNAUTHENTICATED", async () => {
    const error = await expectServiceError(exportTrainers(hub.clients().trainers, false, undefined, 3000));
    expect(error.code).toBe(status.UNAUTHENTICATED);
  });

  it("a malformed authorization header or an unknown token is UNAUTHENTICATED", async () => {
    const anonymous = hub.clients();
    const header = (value: string) => {
      const m = new Metadata();
      m.set("authorization", value);
      return m;
    };
    const id = hub.adminOperatorId;
    const attempts: Array<string | Metadata> = [
      header(`Basic ${Buffer.from("admin:admin").toString("base64")}`),
      header("Bearer"),
      header(`Bearer ${hub.adminToken} extra`),
      "not-a-token",
      `cct_${id}`,
      `cct_${id}.short`,
      // well-formed: the admin's id with a wrong secret, and an id nobody has
      `cct_${id}.${randomBytes(32).toString("base64url")}`,
      `cct_${"0".repeat(16)}.${randomBytes(32).toString("base64url")}`,
    ];
    for (const auth of attempts) {
      const label = String(auth instanceof Metadata ? auth.get("authorization")[0] : auth);
      const error = await expectServiceError(anonymous.trainers.getTrainer({ id: "AUTH-1" }, authOption(auth)));
      expect({ auth: label, code: error.code }).toEqual({ auth: label, code: status.UNAUTHENTICATED });
    }
  });

  it("a revoked token is UNAUTHENTICATED from then on", async () => {
    const added = await admin.operators.addOperator({ name: "short-lived", role: "operator" });
    const c = hub.clients(added.token);
    await c.trainers.getTrainer({ id: "AUTH-1" });
    const revoked = await admin.operators.revokeOperator({ id: added.operator?.id ?? "" });
    expect(revoked.revokedAt).not.toBe("");
    const error = await expectServiceError(c.trainers.getTrainer({ id: "AUTH-1" }));
    expect(error.code).toBe(status.UNAUTHENTICATED);
    const before = await snapshot();
    const write = await expectServiceError(c.trainers.addTrainer({ trainer: makeTrainer("REVOKED-1") }));
    expect(write.code).toBe(status.UNAUTHENTICATED);
    expect(await snapshot()).toEqual(before);
    // Listed, for the record, as revoked; revoking again is refused.
    const { operators } = await admin.operators.listOperators({});
    expect(operators.find((o) => o.id === added.operator?.id)?.revokedAt).toBe(revoked.revokedAt);
    const again = await expectServiceError(admin.operators.revokeOperator({ id: added.operator?.id ?? "" }));
    expect(again.code).toBe(status.FAILED_PRECONDITION);
  });
});

describe("roles", () => {
  it("a viewer can read everything public", async () => {
    const viewer = hub.clients(viewerToken);
    const [got, list, history, statusResponse] = (await Promise.all(readCalls(viewer))) as [
      Trainer,
      { trainers: Trainer[]; total: number },
      { entries: unknown[] },
      { caller?: { id: string; role: string } },
    ];
    expect(got.id).toBe("AUTH-1");
    expect(list.total).toBeGreaterThanOrEqual(2);
    expect(history.entries.length).toBeGreaterThan(0);
    expect(statusResponse.caller).toMatchObject({ id: viewerId, role: "viewer" });
    expect((await exportTrainers(viewer.trainers, false)).map((t) => t.id)).toEqual(
      expect.arrayContaining(["AUTH-1", "AUTH-2"]),
    );
  });

  it("a viewer cannot add, update, remove or import trainers, and nothing changes", async () => {
    const viewer = hub.clients(viewerToken);
    const before = await snapshot();
    const errors = await Promise.all([
      expectServiceError(viewer.trainers.addTrainer({ trainer: makeTrainer("VIEWER-1") })),
      expectServiceError(
        viewer.trainers.updateTrainer({
          trainer: makeTrainer("AUTH-1", { displayName: "x" }),
          updateMask: ["display_name"],
        }),
      ),
      expectServiceError(viewer.trainers.removeTrainer({ id: "AUTH-1" })),
      expectServiceError(
        importTrainers(viewer.trainers, { upsert: true }, [
          [{ line: 2, trainer: makeTrainer("AUTH-2", { displayName: "y" }) }],
        ]),
      ),
    ]);
    expect(errors.map((e) => e.code)).toEqual([
      status.PERMISSION_DENIED,
      status.PERMISSION_DENIED,
      status.PERMISSION_DENIED,
      status.PERMISSION_DENIED,
    ]);
    expect(await snapshot()).toEqual(before);
  });

  it("a viewer gets trainers without their private part; an operator sees it", async () => {
    const viewer = hub.clients(viewerToken);
    const operator = hub.clients(operatorToken);
    const asViewer = await viewer.trainers.getTrainer({ id: "AUTH-1" });
    const asOperator = await operator.trainers.getTrainer({ id: "AUTH-1" });
    expect(asViewer.private).toBeUndefined();
    expect(asOperator.private).toEqual(makeTrainer("AUTH-1").private);
    expect({ ...asViewer, private: undefined }).toEqual({ ...asOperator, private: undefined });

    const viewerList = await viewer.trainers.listTrainers({ pageSize: 100, pageToken: "" });
    expect(viewerList.trainers.length).toBeGreaterThan(0);
    for (const t of viewerList.trainers) expect(t.private).toBeUndefined();
    const operatorList = await operator.trainers.listTrainers({ pageSize: 100, pageToken: "" });
    expect(operatorList.trainers.find((t) => t.id === "AUTH-1")?.private).toEqual(makeTrainer("AUTH-1").private);

    for (const t of await exportTrainers(viewer.trainers, false)) expect(t.private).toBeUndefined();
    expect((await exportTrainers(operator.trainers, true)).find((t) => t.id === "AUTH-1")?.private).toEqual(
      makeTrainer("AUTH-1").private,
    );
  });

  it("a viewer asking ExportTrainers for personal data gets PERMISSION_DENIED", async () => {
    const viewer = hub.clients(viewerToken);
    const error = await expectServiceError(exportTrainers(viewer.trainers, true, undefined, 3000));
    expect(error.code).toBe(status.PERMISSION_DENIED);
  });

  it("an operator cannot manage operators", async () => {
    const operator = hub.clients(operatorToken);
    const { operators: before } = await admin.operators.listOperators({});
    const errors = await Promise.all([
      expectServiceError(operator.operators.addOperator({ name: "sneaky", role: "admin" })),
      expectServiceError(operator.operators.listOperators({})),
      expectServiceError(operator.operators.revokeOperator({ id: hub.adminOperatorId })),
    ]);
    expect(errors.map((e) => e.code)).toEqual([
      status.PERMISSION_DENIED,
      status.PERMISSION_DENIED,
      status.PERMISSION_DENIED,
    ]);
    expect((await admin.operators.listOperators({})).operators).toEqual(before);
  });

  it("AddOperator refuses an unknown role with INVALID_ARGUMENT naming the field", async () => {
    const { operators: before } = await admin.operators.listOperators({});
    const error = await expectServiceError(admin.operators.addOperator({ name: "x", role: "superuser" }));
    expect(error.code).toBe(status.INVALID_ARGUMENT);
    expect((await admin.operators.listOperators({})).operators).toEqual(before);
  });
});

describe("admins", () => {
  it("revoking the last admin is FAILED_PRECONDITION; with a second admin it is allowed", async () => {
    const error = await expectServiceError(admin.operators.revokeOperator({ id: hub.adminOperatorId }));
    expect(error.code).toBe(status.FAILED_PRECONDITION);
    await admin.trainers.getTrainer({ id: "AUTH-1" }); // still valid

    const second = await admin.operators.addOperator({ name: "second admin", role: "admin" });
    const secondAdmin = hub.clients(second.token);
    await secondAdmin.operators.revokeOperator({ id: hub.adminOperatorId });
    expect((await expectServiceError(admin.trainers.getTrainer({ id: "AUTH-1" }))).code).toBe(status.UNAUTHENTICATED);
    const last = await expectServiceError(secondAdmin.operators.revokeOperator({ id: second.operator?.id ?? "" }));
    expect(last.code).toBe(status.FAILED_PRECONDITION);
    await secondAdmin.operators.listOperators({});
  });
});

describe("credential storage", () => {
  async function filesUnder(dir: string): Promise<string[]> {
    const entries = await readdir(dir, { withFileTypes: true, recursive: true });
    return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
  }

  it("no token secret is stored in clear in the LevelDB directory", async () => {
    const node = await startTestNode();
    try {
      const c = node.clients(node.adminToken);
      // A random marker stored on purpose (an operator name): proves the scan can find such bytes.
      const marker = randomBytes(24).toString("base64url");
      const issued = [node.adminToken];
      for (const role of ["admin", "operator", "viewer"]) {
        issued.push((await c.operators.addOperator({ name: `${role} ${marker}`, role })).token);
      }
      await node.stop();

      const files = await filesUnder(join(node.dataDir, "db"));
      expect(files.length).toBeGreaterThan(0);
      const contents = await Promise.all(files.map((f) => readFile(f)));
      const found = (needle: string | Buffer) =>
        files.filter((_, i) => contents[i]?.includes(typeof needle === "string" ? Buffer.from(needle) : needle));
      expect(found(marker).length).toBeGreaterThan(0);
      for (const token of issued) {
        const secret = token.split(".")[1] ?? "";
        expect(secret.length).toBe(43);
        expect({ token, files: found(secret) }).toEqual({ token, files: [] });
        expect({ token, files: found(Buffer.from(secret, "base64url")) }).toEqual({ token, files: [] });
      }
    } finally {
      await node.cleanup();
    }
  });
});

describe("clients without a harness token", () => {
  it("makeClients without a token sends no authorization header", async () => {
    const c = makeClients(hub.address);
    try {
      const error = await expectServiceError(c.node.getStatus({}));
      expect(error.code).toBe(status.UNAUTHENTICATED);
      expect(error.details).toContain("missing credential");
    } finally {
      c.close();
    }
  });
});

describe("the last-admin rule under concurrency", () => {
  it("two admins revoking each other at the same moment leave one admin (Operators)", async () => {
    const dir = await makeTempDir("concordat-ops-");
    const store = await NodeStore.open(join(dir, "db"), { sync: false });
    try {
      const operators = await Operators.open(store);
      const a = (await operators.add("admin a", "admin", "test")).operator;
      const b = (await operators.add("admin b", "admin", "test")).operator;
      const outcomes = await Promise.allSettled([operators.revoke(a.id, b.id), operators.revoke(b.id, a.id)]);
      expect(outcomes.map((o) => o.status).sort()).toEqual(["fulfilled", "rejected"]);
      expect(operators.list().filter((o) => o.role === "admin" && !o.revokedAt)).toHaveLength(1);
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("two admins revoking each other at the same moment through the API leave one admin", async () => {
    const node = await startTestNode();
    try {
      const first = node.clients(node.adminToken);
      const added = await first.operators.addOperator({ name: "second admin", role: "admin" });
      const second = node.clients(added.token);
      const outcomes = await Promise.allSettled([
        second.operators.revokeOperator({ id: node.adminOperatorId }),
        first.operators.revokeOperator({ id: added.operator?.id ?? "" }),
      ]);
      expect(outcomes.map((o) => o.status).sort()).toEqual(["fulfilled", "rejected"]);
      const survivor = outcomes[0]?.status === "fulfilled" ? second : first;
      const { operators } = await survivor.operators.listOperators({});
      expect(operators.filter((o) => o.role === "admin" && o.revokedAt === "")).toHaveLength(1);
    } finally {
      await node.cleanup();
    }
  });
});
