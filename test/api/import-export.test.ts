import { status } from "@grpc/grpc-js";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { ImportRow, Trainer } from "../../node/api/generated/concordat/v1/trainers.js";
import {
  CALL_DEADLINE_MS,
  expectServiceError,
  exportTrainers,
  importTrainers,
  makeTrainer,
  startTestNode,
  type TestClients,
  type TestNode,
} from "../helpers/harness.js";

let hub: TestNode;
let admin: TestClients;
let operatorToken: string;

const snapshot = (): Promise<Trainer[]> => exportTrainers(admin.trainers, true);
const row = (line: number, trainer: Trainer): ImportRow => ({ line, trainer });

/** Removes every trainer, so each test starts from an empty roster. */
async function clearRoster(): Promise<void> {
  for (const t of await snapshot()) await admin.trainers.removeTrainer({ id: t.id });
}

beforeAll(async () => {
  hub = await startTestNode();
  admin = hub.clients(hub.adminToken);
  operatorToken = (await admin.operators.addOperator({ name: "importer", role: "operator" })).token;
});

afterEach(async () => {
  await clearRoster();
});

afterAll(async () => {
  await hub?.cleanup();
});

describe("ImportTrainers", () => {
  const good = (n: number) => makeTrainer(`IMP-${n}`);
  const badLevel = (n: number) => makeTrainer(`IMP-${n}`, { languages: [{ tag: "en", level: "Z9" }] });
  const badRegion = (n: number) => makeTrainer(`IMP-${n}`, { regions: ["XX"] });

  it("imports valid rows sent in several batches, as the calling operator", async () => {
    const result = await importTrainers(
      admin.trainers,
      {},
      [[row(2, good(1)), row(3, good(2))], [row(4, good(3))]],
      operatorToken,
    );
    expect(result).toEqual({ imported: 3, skipped: 0, errors: [], committed: true, errorsTotal: 0 });
    const roster = await snapshot();
    expect(roster.map((t) => t.id)).toEqual(["IMP-1", "IMP-2", "IMP-3"]);
    const operatorId = operatorToken.slice(4, 20);
    for (const t of roster) {
      expect(t.updatedBy).toBe(operatorId);
      expect(t.homeHub).toBe("test-hub");
      expect(t.private).toEqual(makeTrainer(t.id).private);
    }
  });

  it("a batch with two bad rows among valid ones reports both, with line numbers, and imports nothing", async () => {
    await admin.trainers.addTrainer({ trainer: makeTrainer("EXISTING") });
    const before = await snapshot();
    const result = await importTrainers(admin.trainers, {}, [
      [row(2, good(1)), row(3, badLevel(2)), row(4, good(3)), row(5, badRegion(4)), row(6, good(5))],
    ]);
    expect(result.committed).toBe(false);
    expect(result.imported).toBe(0);
    expect(result.errors.map((e) => [e.line, e.field])).toEqual([
      [3, "languages[0].level"],
      [5, "regions[0]"],
    ]);
    for (const e of result.errors) expect(e.message).not.toBe("");
    expect(await snapshot()).toEqual(before);
  });

  it("with skip_invalid imports the good rows and reports the bad ones", async () => {
    const result = await importTrainers(admin.trainers, { skipInvalid: true }, [
      [row(2, good(1)), row(3, badLevel(2))],
      [row(4, good(3)), row(5, badRegion(4)), row(6, good(5))],
    ]);
    expect(result.committed).toBe(true);
    expect(result.imported).toBe(3);
    expect(result.skipped).toBe(2);
    expect(result.errors.map((e) => e.line)).toEqual([3, 5]);
    expect((await snapshot()).map((t) => t.id)).toEqual(["IMP-1", "IMP-3", "IMP-5"]);
  });

  it("a duplicate id within the import and an id that already exists are errors (without upsert)", async () => {
    await admin.trainers.addTrainer({ trainer: makeTrainer("IMP-9") });
    const before = await snapshot();
    const result = await importTrainers(admin.trainers, {}, [
      [
        row(2, good(1)),
        row(3, makeTrainer("IMP-1", { displayName: "Twin" })),
        row(4, makeTrainer("IMP-9", { displayName: "Clash" })),
      ],
    ]);
    expect(result.committed).toBe(false);
    expect(result.errors.map((e) => [e.line, e.field])).toEqual([
      [3, "id"],
      [4, "id"],
    ]);
    expect(result.errors[0]?.message).toContain("line 2");
    expect(await snapshot()).toEqual(before);
  });

  it("with upsert an existing trainer is replaced; its private part stays when the row has none", async () => {
    await admin.trainers.addTrainer({ trainer: makeTrainer("IMP-9") });
    const result = await importTrainers(admin.trainers, { upsert: true }, [
      [row(2, makeTrainer("IMP-9", { displayName: "Replaced", private: undefined })), row(3, good(1))],
    ]);
    expect(result).toEqual({ imported: 2, skipped: 0, errors: [], committed: true, errorsTotal: 0 });
    const replaced = await admin.trainers.getTrainer({ id: "IMP-9" });
    expect(replaced.displayName).toBe("Replaced");
    expect(replaced.private).toEqual(makeTrainer("IMP-9").private);
  });

  it("dry_run validates and reports but writes nothing", async () => {
    const before = await snapshot();
    const clean = await importTrainers(admin.trainers, { dryRun: true }, [[row(2, good(1)), row(3, good(2))]]);
    expect(clean.committed).toBe(false);
    expect(clean.errors).toEqual([]);
    const dirty = await importTrainers(admin.trainers, { dryRun: true, skipInvalid: true }, [
      [row(2, good(1)), row(3, badLevel(2))],
    ]);
    expect(dirty.committed).toBe(false);
    expect(dirty.errors.map((e) => e.line)).toEqual([3]);
    expect(await snapshot()).toEqual(before);
    expect((await expectServiceError(admin.trainers.getTrainerHistory({ id: "IMP-1" }))).code).toBe(status.NOT_FOUND);
  });

  it("options sent after rows are INVALID_ARGUMENT and nothing is imported", async () => {
    const before = await snapshot();
    const options = { skipInvalid: false, dryRun: false, upsert: false };
    const error = await expectServiceError(
      admin.trainers.importTrainers([
        { part: { $case: "rows", value: { rows: [row(2, good(1))] } } },
        { part: { $case: "options", value: options } },
      ]),
    );
    expect(error.code).toBe(status.INVALID_ARGUMENT);
    expect(await snapshot()).toEqual(before);
  });
});

describe("ExportTrainers", () => {
  it("import(export(x)) gives the same trainers, private parts included", async () => {
    const originals = [
      makeTrainer("RT-1"),
      makeTrainer("RT-2", { private: undefined, accreditations: [], blackouts: [] }),
      makeTrainer("RT-3", {
        languages: [{ tag: "pt-BR", level: "A1" }],
        regions: ["MZ-P", "AO"],
        availability: [{ start: "2026-01-01T08:00:00+01:00", end: "2026-01-01T17:00:00+01:00" }],
        private: { email: "", phone: "", nationalId: "", notes: "notes only" },
      }),
    ];
    for (const t of originals) await admin.trainers.addTrainer({ trainer: t });
    const exported = await snapshot();
    expect(exported.map((t) => t.id)).toEqual(["RT-1", "RT-2", "RT-3"]);
    expect(exported[1]?.private).toBeUndefined();

    const other = await startTestNode();
    try {
      const otherAdmin = other.clients(other.adminToken);
      const rows = exported.map((t, i) => row(i + 2, t));
      expect(await importTrainers(otherAdmin.trainers, {}, [rows])).toEqual({
        imported: 3,
        skipped: 0,
        errors: [],
        committed: true,
        errorsTotal: 0,
      });
      const reExported = await exportTrainers(otherAdmin.trainers, true);
      const strip = (ts: Trainer[]) => ts.map(({ updatedAt: _a, updatedBy: _b, ...rest }) => rest);
      expect(strip(reExported)).toEqual(strip(exported));
      // The public export matches too, and carries no private part.
      const publicExport = await exportTrainers(otherAdmin.trainers, false);
      expect(strip(publicExport)).toEqual(strip(exported).map((t) => ({ ...t, private: undefined })));
    } finally {
      await other.cleanup();
    }
  });

  it("streams a larger roster completely and in id order", async () => {
    const rows = Array.from({ length: 150 }, (_, i) => row(i + 2, makeTrainer(`BULK-${String(i).padStart(4, "0")}`)));
    const result = await importTrainers(admin.trainers, {}, [rows.slice(0, 70), rows.slice(70)]);
    expect(result.imported).toBe(150);
    const exported = await exportTrainers(admin.trainers, false, undefined, CALL_DEADLINE_MS);
    expect(exported.map((t) => t.id)).toEqual(rows.map((r) => r.trainer?.id));
  });
});
