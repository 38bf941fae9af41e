import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fieldViolations } from "../../node/api/index.js";
import { loadConfigFile } from "../../node/config/index.js";
import { readBackup } from "../../node/storage/backup.js";
import {
  expectServiceError,
  importTrainers,
  makeTrainer,
  startTestNode,
  type TestClients,
  type TestNode,
} from "../helpers/harness.js";

/** Requests at and past the limits: each is refused with a clear, bounded answer, and the node goes on. */
let hub: TestNode;
let admin: TestClients;

beforeAll(async () => {
  hub = await startTestNode();
  admin = hub.clients(hub.adminToken);
});
afterAll(async () => {
  await hub?.cleanup();
});

describe("limits and odd requests", () => {
  it("hundreds of bad list items give INVALID_ARGUMENT with a bounded list of problems, and the connection survives", async () => {
    const regions = Array.from({ length: 300 }, (_, i) => `Q${i}`);
    const error = await expectServiceError(admin.trainers.addTrainer({ trainer: makeTrainer("LIM-1", { regions }) }));
    expect(error.code).toBe(status.INVALID_ARGUMENT);
    const violations = fieldViolations(error);
    expect(violations.length).toBeLessThanOrEqual(51);
    expect(violations.at(-1)).toEqual({ field: "(more)", description: "and 250 more problems" });
    expect(error.details).toMatch(/^300 problems in the request/);
    // The same client goes on working.
    expect((await admin.node.getStatus({})).hubId).toBe("test-hub");
  });

  it("a list far over its limit is refused at once, with one problem", async () => {
    const languages = Array.from({ length: 100_000 }, () => ({ tag: "en", level: "C1" }));
    const error = await expectServiceError(admin.trainers.addTrainer({ trainer: makeTrainer("LIM-2", { languages }) }));
    expect(fieldViolations(error)).toEqual([
      { field: "trainer.languages", description: "has 100000 entries; at most 20 allowed" },
    ]);
  });

  it("an import with many bad rows answers with the first 1,000 problems and the total", async () => {
    const rows = Array.from({ length: 3000 }, (_, i) => ({
      line: i + 2,
      trainer: makeTrainer(`BAD-${i}`, { regions: ["Kenya"] }),
    }));
    const result = await importTrainers(admin.trainers, { skipInvalid: true }, [rows.slice(0, 1500), rows.slice(1500)]);
    expect(result.committed).toBe(false);
    expect(result.errors).toHaveLength(1000);
    expect(result.errorsTotal).toBe(3000);
  });

  it("an empty id is a bad request, not a missing trainer", async () => {
    for (const method of ["getTrainer", "removeTrainer", "getTrainerHistory"] as const) {
      const error = await expectServiceError(admin.trainers[method]({ id: "" }));
      expect(error.code).toBe(status.INVALID_ARGUMENT);
    }
  });

  it("a page token the node did not issue is refused", async () => {
    for (const pageToken of ["foo", "!!", Buffer.from("x").toString("base64url")]) {
      const error = await expectServiceError(admin.trainers.listTrainers({ pageSize: 10, pageToken }));
      expect(error.code).toBe(status.INVALID_ARGUMENT);
    }
  });

  it("an export is a snapshot: a trainer removed while it streams neither breaks it nor disappears from it", async () => {
    const roster = hub.running.roster;
    for (let i = 0; i < 5; i += 1)
      await roster.add({ ...makeTrainer(`SNAP-${i}`), private: makeTrainer(`SNAP-${i}`).private }, "op");
    const stream = roster.exportAll(true);
    const first = stream.next();
    expect(first.done).toBe(false);
    await roster.remove("SNAP-4", "op");
    const rest = [...stream].map((t) => t.id);
    expect(rest).toContain("SNAP-4");
  });

  it("personal data in a refused request is not written to the log", async () => {
    const before = hub.logs.length;
    await expectServiceError(
      admin.trainers.addTrainer({
        trainer: makeTrainer("LOG-1", { private: { email: "jane.doe-private", phone: "", nationalId: "", notes: "" } }),
      }),
    );
    expect(hub.logs.slice(before).join("\n")).not.toContain("jane.doe-private");
  });
});

describe("configuration and files", () => {
  it("a hub id changed after init stops the node with an error naming hub.id", async () => {
    const dataDir = hub.dataDir;
    await hub.stop();
    const path = join(dataDir, "config.yaml");
    const original = await readFile(path, "utf8");
    await writeFile(path, original.replace(/id: test-hub/, "id: other-hub"));
    try {
      const error = await startTestNode({ dataDir }).catch((e: unknown) => e as Error);
      expect((error as Error).message).toMatch(/hub 'test-hub'.*hub\.id in the configuration is 'other-hub'/);
    } finally {
      await writeFile(path, original);
      await hub.restart();
      admin = hub.clients(hub.adminToken);
    }
  });

  it("a port given in hex or exponent form is refused, naming the variable", async () => {
    for (const value of ["0x1F", "1e3", "80.5"]) {
      await expect(loadConfigFile(join(hub.dataDir, "config.yaml"), { CONCORDAT_API_PORT: value })).rejects.toThrow(
        /CONCORDAT_API_PORT/,
      );
    }
  });

  it("a backup with a damaged header is refused by its checksum, before anything is parsed", async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of admin.node.backup({}, { token: hub.adminToken })) chunks.push(Buffer.from(chunk.data));
    const bytes = Buffer.concat(chunks);
    expect(() => readBackup(bytes, "ok.backup")).not.toThrow();
    const damaged = Buffer.from(bytes);
    damaged[30] = (damaged[30] ?? 0) ^ 0xff; // inside the header frame's JSON
    expect(() => readBackup(damaged, "damaged.backup")).toThrow(/checksum does not match/);
  });
});
