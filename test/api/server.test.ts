import { directoryIdOf } from "../../node/federation/index.js";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createConnection } from "node:net";
import { networkInterfaces } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { type Metadata, status } from "@grpc/grpc-js";
import { pino, type Logger } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fieldViolations, STATUS_DETAILS_KEY } from "../../node/api/index.js";
import { toServiceError } from "../../node/api/errors.js";
import { ConcordatError, invalidArgument, notFound } from "../../node/errors.js";
import { ConcordatNode } from "../../node/node.js";
import {
  expectServiceError,
  exportTrainers,
  makeTrainer,
  startTestNode,
  type TestClients,
  type TestNode,
} from "../helpers/harness.js";

let hub: TestNode;
let admin: TestClients;

beforeAll(async () => {
  hub = await startTestNode({ hubId: "hub-status" });
  admin = hub.clients(hub.adminToken);
  await admin.trainers.addTrainer({ trainer: makeTrainer("SRV-1") });
  await admin.trainers.addTrainer({ trainer: makeTrainer("SRV-2") });
});

afterAll(async () => {
  await hub?.cleanup();
});

describe("health", () => {
  it("the standard grpc.health.v1 service says SERVING for the node and each service, without credentials", async () => {
    const anonymous = hub.clients();
    for (const service of [
      "",
      "concordat.v1.TrainerService",
      "concordat.v1.OperatorService",
      "concordat.v1.NodeService",
    ]) {
      const response = await anonymous.health.check({ service });
      expect({ service, status: response.status }).toEqual({ service, status: "SERVING" });
    }
    const unknown = await expectServiceError(anonymous.health.check({ service: "no.such.Service" }));
    expect(unknown.code).toBe(status.NOT_FOUND);
  });
});

describe("GetStatus", () => {
  it("returns hub id, peer id, role, trainer count, caller and the document list", async () => {
    const s = await admin.node.getStatus({});
    expect(s.hubId).toBe("hub-status");
    expect(s.hubName).toBe("Test hub");
    expect(s.role).toBe("hub");
    expect(s.peerId).toMatch(/^12D3KooW[1-9A-HJ-NP-Za-km-z]+$/);
    expect(s.peerId).toBe(hub.running.identity.peerId);
    expect(s.federationId).toBe("concordat-dev");
    expect(s.version).not.toBe("");
    expect(Number.isNaN(Date.parse(s.startedAt))).toBe(false);
    expect(s.trainerCount).toBe(2);
    expect(s.caller).toMatchObject({ id: hub.adminOperatorId, role: "admin", revokedAt: "" });

    expect(s.documents).toHaveLength(15); // directory, 4 roster shards, 4 private shards, curriculum, credentials, outbox, engagements, deliveries (public and private)
    expect(s.documents.filter((d) => d.type === "curriculum")).toHaveLength(1);
    const directory = s.documents.filter((d) => d.type === "directory");
    expect(directory).toHaveLength(1);
    expect(directory[0]?.id).toBe(directoryIdOf(s.peerId));
    const roster = s.documents.filter((d) => d.type === "roster");
    const privateDocs = s.documents.filter((d) => d.type === "private-roster");
    expect(roster).toHaveLength(4);
    expect(privateDocs).toHaveLength(4);
    for (const d of roster) expect(d.replicated).toBe(true);
    for (const d of privateDocs) expect(d.replicated).toBe(false);
    for (const d of s.documents) {
      expect(d.owner).toBe("hub-status");
      expect(d.schemaVersion).toBe("1.0");
      expect(d.heads.length).toBeGreaterThan(0);
      expect(d.id).not.toBe("");
    }
    expect(new Set(s.documents.map((d) => d.id)).size).toBe(15);
    for (const type of ["outbox", "engagements"])
      expect(s.documents.filter((d) => d.type === type && d.replicated)).toHaveLength(1);
  });

  it("counts trainers as they are added and removed", async () => {
    await admin.trainers.addTrainer({ trainer: makeTrainer("SRV-3") });
    expect((await admin.node.getStatus({})).trainerCount).toBe(3);
    await admin.trainers.removeTrainer({ id: "SRV-3" });
    expect((await admin.node.getStatus({})).trainerCount).toBe(2);
  });
});

describe("the error boundary (toServiceError)", () => {
  function capture(): { log: Logger; lines: string[] } {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        lines.push(chunk.toString());
        callback();
      },
    });
    return { log: pino({ level: "info" }, sink), lines };
  }

  it("an unexpected error becomes INTERNAL without its message or stack; the log keeps them", () => {
    const { log, lines } = capture();
    const error = new Error("ENOENT: /var/lib/concordat/secret-path/db/LOCK at Roster.#shard");
    const mapped = toServiceError(error, log, "GetTrainer");
    expect(mapped.code).toBe(status.INTERNAL);
    expect(mapped.details).toBeTypeOf("string");
    expect(mapped.details).not.toContain("secret-path");
    expect(mapped.details).not.toContain("ENOENT");
    expect(mapped.details).not.toContain("Roster");
    const trailer = mapped.metadata?.get(STATUS_DETAILS_KEY) ?? [];
    expect(trailer).toEqual([]);
    expect(lines.join("")).toContain("secret-path");
  });

  it("a non-Error throw also becomes INTERNAL", () => {
    const { log } = capture();
    const mapped = toServiceError({ code: "INVALID_ARGUMENT", message: "looks typed but is not" }, log, "X");
    expect(mapped.code).toBe(status.INTERNAL);
    expect(mapped.details).not.toContain("looks typed");
  });

  it("a ConcordatError keeps its code and message, and INVALID_ARGUMENT carries the field violations", () => {
    const { log } = capture();
    const nf = toServiceError(notFound("trainer 'x' is not here"), log, "GetTrainer");
    expect(nf.code).toBe(status.NOT_FOUND);
    expect(nf.details).toBe("trainer 'x' is not here");
    expect(fieldViolations({ metadata: nf.metadata as Metadata })).toEqual([]);

    const violations = [
      { field: "trainer.languages[0].level", description: "'Z9' is not a CEFR level" },
      { field: "trainer.regions[1]", description: "'XX' is not a country" },
    ];
    const ia = toServiceError(invalidArgument(violations), log, "AddTrainer");
    expect(ia.code).toBe(status.INVALID_ARGUMENT);
    expect(ia.details).toContain("trainer.languages[0].level");
    expect(fieldViolations({ metadata: ia.metadata as Metadata })).toEqual(violations);

    const custom = toServiceError(new ConcordatError("FAILED_PRECONDITION", "last admin"), log, "RevokeOperator");
    expect(custom.code).toBe(status.FAILED_PRECONDITION);
    expect(custom.details).toBe("last admin");
  });
});

describe("lifecycle", () => {
  it("data, credentials and documents persist across a restart on the same data dir", async () => {
    const node = await startTestNode();
    try {
      let c = node.clients(node.adminToken);
      await c.trainers.addTrainer({ trainer: makeTrainer("KEEP-1") });
      await c.trainers.addTrainer({ trainer: makeTrainer("KEEP-2", { private: undefined }) });
      await c.trainers.updateTrainer({
        trainer: makeTrainer("KEEP-1", { displayName: "Kept" }),
        updateMask: ["display_name"],
      });
      const viewer = await c.operators.addOperator({ name: "viewer", role: "viewer" });
      const before = await exportTrainers(c.trainers, true);
      // Checkpoints of these writes are signed into the directory in a batch: let it land first.
      await node.running.checkpointer.flush();
      const statusBefore = await c.node.getStatus({});
      const historyBefore = await c.trainers.getTrainerHistory({ id: "KEEP-1" });

      await node.restart();
      expect(node.address).toMatch(/^127\.0\.0\.1:\d+$/);
      c = node.clients(node.adminToken);
      expect(await exportTrainers(c.trainers, true)).toEqual(before);
      const statusAfter = await c.node.getStatus({});
      expect(statusAfter.peerId).toBe(statusBefore.peerId);
      expect(statusAfter.trainerCount).toBe(2);
      const docs = (s: typeof statusBefore) =>
        s.documents.map((d) => ({ ...d, heads: [...d.heads].sort() })).sort((a, b) => a.id.localeCompare(b.id));
      expect(docs(statusAfter)).toEqual(docs(statusBefore));
      expect(await c.trainers.getTrainerHistory({ id: "KEEP-1" })).toEqual(historyBefore);
      // Tokens issued before the restart still work.
      const v = node.clients(viewer.token);
      expect((await v.trainers.getTrainer({ id: "KEEP-1" })).displayName).toBe("Kept");

      // A stopped node removes its runtime file, so the CLI does not talk to a dead address.
      expect(existsSync(join(node.dataDir, "node.json"))).toBe(true);
      await node.stop();
      expect(existsSync(join(node.dataDir, "node.json"))).toBe(false);
    } finally {
      await node.cleanup();
    }
  });

  it("a second node on the same data dir fails to start with a clear 'in use' error", async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        lines.push(chunk.toString());
        callback();
      },
    });
    const second = new ConcordatNode({ dataDir: hub.dataDir, env: hub.env, logDestination: sink });
    const error = await second.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/in use/);
    expect((error as Error).message).toContain(join(hub.dataDir, "db"));
    expect(() => second.running).toThrow();
    // The first node is unaffected: still serving, its runtime file still names it.
    expect((await admin.trainers.getTrainer({ id: "SRV-1" })).id).toBe("SRV-1");
    const runtime = JSON.parse(await readFile(join(hub.dataDir, "node.json"), "utf8")) as { api: string; pid: number };
    expect(runtime.api).toBe(hub.address);
    expect(runtime.pid).toBe(process.pid);
  });

  it("the API binds to 127.0.0.1 by default", async () => {
    expect(hub.running.config.api.host).toBe("127.0.0.1");
    expect(hub.address).toMatch(/^127\.0\.0\.1:\d+$/);
    const port = Number(hub.address.split(":")[1]);
    // Not reachable on any other address of this machine.
    const others = Object.values(networkInterfaces())
      .flat()
      .filter((a) => a !== undefined && !a.internal)
      .map((a) => a?.address ?? "");
    for (const address of others) {
      const outcome = await new Promise<string>((resolve) => {
        const socket = createConnection({ host: address, port, timeout: 2000 });
        socket.once("connect", () => {
          socket.destroy();
          resolve("connected");
        });
        socket.once("timeout", () => {
          socket.destroy();
          resolve("timeout");
        });
        socket.once("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? "error"));
      });
      expect({ address, outcome }).not.toEqual({ address, outcome: "connected" });
    }
  });
});
