import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { fieldViolations } from "../../node/api/index.js";
import type { Trainer } from "../../node/api/generated/concordat/v1/trainers.js";
import {
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
let operator: TestClients;
let operatorId: string;

/** The whole roster, private parts included: compared before and after refused requests. */
const snapshot = (): Promise<Trainer[]> => exportTrainers(admin.trainers, true);

/** A trainer without the fields the node sets, for comparing content. */
function content(t: Trainer): Omit<Trainer, "updatedAt" | "updatedBy"> {
  const { updatedAt: _at, updatedBy: _by, ...rest } = t;
  return rest;
}

beforeAll(async () => {
  hub = await startTestNode({ hubId: "hub-ke-01" });
  admin = hub.clients(hub.adminToken);
  const added = await admin.operators.addOperator({ name: "second operator", role: "operator" });
  operatorId = added.operator?.id ?? "";
  operator = hub.clients(added.token);
});

afterAll(async () => {
  await hub?.cleanup();
});

describe("AddTrainer / GetTrainer", () => {
  it("adds a trainer, sets home_hub, updated_by and updated_at, and reads it back", async () => {
    const before = Date.now();
    const added = await operator.trainers.addTrainer({
      trainer: makeTrainer("ADD-1", { homeHub: "elsewhere", updatedBy: "forged" }),
    });
    expect(added.homeHub).toBe("hub-ke-01");
    expect(added.updatedBy).toBe(operatorId);
    expect(added.updatedBy).not.toBe(hub.adminOperatorId);
    const at = Date.parse(added.updatedAt);
    expect(at).toBeGreaterThanOrEqual(before - 1000);
    expect(at).toBeLessThanOrEqual(Date.now() + 1000);
    expect(content(added)).toEqual({ ...content(makeTrainer("ADD-1")), homeHub: "hub-ke-01" });

    const got = await admin.trainers.getTrainer({ id: "ADD-1" });
    expect(got).toEqual(added);
  });

  it("normalises what it stores (language tag, CEFR level, region, date-time)", async () => {
    const added = await admin.trainers.addTrainer({
      trainer: makeTrainer("ADD-NORM", {
        languages: [{ tag: "EN-gb", level: "b2" }],
        regions: ["ke", "ke-30"],
        availability: [{ start: "2026-03-01T12:00:00+03:00", end: "2026-03-02T00:00:00Z" }],
      }),
    });
    expect(added.languages).toEqual([{ tag: "en-GB", level: "B2" }]);
    expect(added.regions).toEqual(["KE", "KE-30"]);
    expect(added.availability).toEqual([{ start: "2026-03-01T09:00:00.000Z", end: "2026-03-02T00:00:00.000Z" }]);
    expect(await admin.trainers.getTrainer({ id: "ADD-NORM" })).toEqual(added);
  });

  it("refuses a trainer whose id exists with ALREADY_EXISTS and changes nothing", async () => {
    await admin.trainers.addTrainer({ trainer: makeTrainer("DUP-1") });
    const before = await snapshot();
    const error = await expectServiceError(
      operator.trainers.addTrainer({
        trainer: makeTrainer("DUP-1", { displayName: "Someone else", private: undefined }),
      }),
    );
    expect(error.code).toBe(status.ALREADY_EXISTS);
    expect(error.details).toContain("DUP-1");
    expect(await snapshot()).toEqual(before);
  });

  it("answers NOT_FOUND for unknown trainers on get, update, remove and history", async () => {
    const before = await snapshot();
    const errors = await Promise.all([
      expectServiceError(admin.trainers.getTrainer({ id: "NOPE" })),
      expectServiceError(admin.trainers.updateTrainer({ trainer: makeTrainer("NOPE"), updateMask: ["display_name"] })),
      expectServiceError(admin.trainers.removeTrainer({ id: "NOPE" })),
      expectServiceError(admin.trainers.getTrainerHistory({ id: "NOPE" })),
    ]);
    expect(errors.map((e) => e.code)).toEqual([status.NOT_FOUND, status.NOT_FOUND, status.NOT_FOUND, status.NOT_FOUND]);
    expect(await snapshot()).toEqual(before);
  });

  it("answers NOT_FOUND (not INTERNAL) for ids that are names of Object.prototype members", async () => {
    // Roster.get looks the id up with `trainers[id]`, which finds inherited members of the plain
    // object Automerge materialises.
    for (const id of ["constructor", "toString", "__proto__", "hasOwnProperty"]) {
      const error = await expectServiceError(admin.trainers.getTrainer({ id }));
      expect({ id, code: error.code }).toEqual({ id, code: status.NOT_FOUND });
    }
    const history = await expectServiceError(admin.trainers.getTrainerHistory({ id: "constructor" }));
    expect(history.code).toBe(status.NOT_FOUND);
  });
});

describe("bad input at the API door", () => {
  const bad = (id: string): Trainer =>
    makeTrainer(id, {
      languages: [
        { tag: "en", level: "Z9" },
        { tag: "not a tag!", level: "B1" },
      ],
      regions: ["KE", "XX"],
      availability: [{ start: "2026-05-02T00:00:00Z", end: "2026-05-01T00:00:00Z" }],
      blackouts: [{ start: "2026-02-30", end: "2026-03-20" }],
    });
  const expectedFields = [
    "trainer.availability[0]",
    "trainer.blackouts[0].start",
    "trainer.languages[0].level",
    "trainer.languages[1].tag",
    "trainer.regions[1]",
  ];

  it("AddTrainer reports every bad field at once and adds nothing", async () => {
    const before = await snapshot();
    const error = await expectServiceError(operator.trainers.addTrainer({ trainer: bad("BAD-1") }));
    expect(error.code).toBe(status.INVALID_ARGUMENT);
    const violations = fieldViolations(error);
    expect([...new Set(violations.map((v) => v.field))].sort()).toEqual(expectedFields);
    for (const v of violations) expect(v.description).not.toBe("");
    expect(violations.find((v) => v.field === "trainer.languages[0].level")?.description).toContain("Z9");
    expect(violations.find((v) => v.field === "trainer.regions[1]")?.description).toContain("XX");
    expect(await snapshot()).toEqual(before);
    expect((await expectServiceError(admin.trainers.getTrainer({ id: "BAD-1" }))).code).toBe(status.NOT_FOUND);
  });

  it("UpdateTrainer reports every bad field at once and changes nothing", async () => {
    await admin.trainers.addTrainer({ trainer: makeTrainer("BAD-2") });
    const before = await snapshot();
    const error = await expectServiceError(
      operator.trainers.updateTrainer({
        trainer: bad("BAD-2"),
        updateMask: ["languages", "regions", "availability", "blackouts", "display_name"],
      }),
    );
    expect(error.code).toBe(status.INVALID_ARGUMENT);
    expect([...new Set(fieldViolations(error).map((v) => v.field))].sort()).toEqual(expectedFields);
    expect(await snapshot()).toEqual(before);
  });

  it("a missing trainer message is INVALID_ARGUMENT naming the required fields", async () => {
    const before = await snapshot();
    const error = await expectServiceError(admin.trainers.addTrainer({ trainer: undefined }));
    expect(error.code).toBe(status.INVALID_ARGUMENT);
    expect(fieldViolations(error).map((v) => v.field)).toEqual(
      expect.arrayContaining(["trainer.id", "trainer.display_name"]),
    );
    expect(await snapshot()).toEqual(before);
  });
});

describe("ListTrainers", () => {
  it("pages through the whole roster with page tokens and reports the total", async () => {
    await Promise.all(
      Array.from({ length: 23 }, (_, i) =>
        admin.trainers.addTrainer({ trainer: makeTrainer(`PAGE-${String(i).padStart(2, "0")}`) }),
      ),
    );
    const all = (await snapshot()).map((t) => t.id);
    expect(all.length).toBeGreaterThanOrEqual(23);

    const seen: string[] = [];
    let token = "";
    let pages = 0;
    do {
      const page = await admin.trainers.listTrainers({ pageSize: 10, pageToken: token });
      pages += 1;
      expect(page.total).toBe(all.length);
      expect(page.trainers.length).toBeLessThanOrEqual(10);
      seen.push(...page.trainers.map((t) => t.id));
      token = page.nextPageToken;
      expect(pages).toBeLessThan(20);
    } while (token !== "");
    expect(pages).toBe(Math.ceil(all.length / 10));
    expect(seen).toEqual([...all].sort());
  });

  it("uses a default page size and refuses page sizes over 1000 and foreign tokens", async () => {
    const page = await admin.trainers.listTrainers({ pageSize: 0, pageToken: "" });
    expect(page.trainers.length).toBe(Math.min(page.total, 100));
    const tooBig = await expectServiceError(admin.trainers.listTrainers({ pageSize: 1001, pageToken: "" }));
    expect(tooBig.code).toBe(status.INVALID_ARGUMENT);
    expect(fieldViolations(tooBig).map((v) => v.field)).toEqual(["page_size"]);
    const badToken = await expectServiceError(admin.trainers.listTrainers({ pageSize: 10, pageToken: "!!!" }));
    expect(badToken.code).toBe(status.INVALID_ARGUMENT);
    expect(fieldViolations(badToken).map((v) => v.field)).toEqual(["page_token"]);
  });
});

describe("UpdateTrainer", () => {
  const different = (id: string): Trainer =>
    makeTrainer(id, {
      displayName: "Renamed",
      languages: [{ tag: "sw", level: "A2" }],
      regions: ["TZ"],
      accreditations: [],
      availability: [],
      blackouts: [],
      private: { email: "new@example.org", phone: "+1 555 0100", nationalId: "X-1", notes: "changed" },
    });

  it("changes only the fields named in update_mask and records the operator", async () => {
    const original = await admin.trainers.addTrainer({ trainer: makeTrainer("UPD-1") });
    const updated = await operator.trainers.updateTrainer({
      trainer: different("UPD-1"),
      updateMask: ["display_name"],
    });
    expect(updated.displayName).toBe("Renamed");
    expect(updated.updatedBy).toBe(operatorId);
    expect(content(updated)).toEqual({ ...content(original), displayName: "Renamed" });
    expect(await admin.trainers.getTrainer({ id: "UPD-1" })).toEqual(updated);
  });

  it("a private sub-field mask changes that sub-field only", async () => {
    const original = await admin.trainers.addTrainer({ trainer: makeTrainer("UPD-2") });
    const updated = await operator.trainers.updateTrainer({
      trainer: different("UPD-2"),
      updateMask: ["private.email", "regions"],
    });
    expect(content(updated)).toEqual({
      ...content(original),
      regions: ["TZ"],
      private: { ...original.private, email: "new@example.org" },
    });
  });

  it("a full mask replaces every field", async () => {
    await admin.trainers.addTrainer({ trainer: makeTrainer("UPD-3") });
    const mask = ["display_name", "languages", "regions", "accreditations", "availability", "blackouts", "private"];
    const updated = await operator.trainers.updateTrainer({ trainer: different("UPD-3"), updateMask: mask });
    expect(content(updated)).toEqual({ ...content(different("UPD-3")), homeHub: "hub-ke-01" });
  });

  it("an unknown field in update_mask is INVALID_ARGUMENT and changes nothing", async () => {
    await admin.trainers.addTrainer({ trainer: makeTrainer("UPD-4") });
    const before = await snapshot();
    const error = await expectServiceError(
      operator.trainers.updateTrainer({ trainer: different("UPD-4"), updateMask: ["regions", "displayName"] }),
    );
    expect(error.code).toBe(status.INVALID_ARGUMENT);
    const violations = fieldViolations(error);
    expect(violations.map((v) => v.field)).toEqual(["update_mask"]);
    expect(violations[0]?.description).toContain("displayName");
    expect(await snapshot()).toEqual(before);
  });

  it("an empty update_mask replaces only the fields that are set (proto: 'An empty mask replaces every field that is set')", async () => {
    const original = await admin.trainers.addTrainer({ trainer: makeTrainer("UPD-5") });
    const patch: Trainer = {
      ...makeTrainer("UPD-5"),
      displayName: "Only the name",
      languages: [],
      regions: [],
      accreditations: [],
      availability: [],
      blackouts: [],
      private: undefined,
    };
    const updated = await operator.trainers.updateTrainer({ trainer: patch, updateMask: [] });
    expect(content(updated)).toEqual({ ...content(original), displayName: "Only the name" });
  });
});

describe("RemoveTrainer", () => {
  it("removes the public record and the private part", async () => {
    await admin.trainers.addTrainer({ trainer: makeTrainer("RM-1") });
    const before = await snapshot();
    await operator.trainers.removeTrainer({ id: "RM-1" });
    expect((await expectServiceError(admin.trainers.getTrainer({ id: "RM-1" }))).code).toBe(status.NOT_FOUND);
    expect(await snapshot()).toEqual(before.filter((t) => t.id !== "RM-1"));
    const page = await admin.trainers.listTrainers({ pageSize: 1000, pageToken: "" });
    expect(page.total).toBe(before.length - 1);
    expect(page.trainers.map((t) => t.id)).not.toContain("RM-1");

    // The private document no longer holds it.
    const shards = hub.running.roster.shardCount;
    for (let n = 0; n < shards; n += 1) {
      const privateDoc = hub.running.documents.get<{ trainers: Record<string, unknown> }>(`private/roster/${n}`);
      expect(Object.hasOwn(privateDoc.trainers, "RM-1")).toBe(false);
    }

    // Imported again without personal data (an import row without private columns keeps an
    // existing private part): nothing of the old private part comes back.
    const imported = await importTrainers(admin.trainers, {}, [
      [{ line: 2, trainer: makeTrainer("RM-1", { private: undefined }) }],
    ]);
    expect(imported.committed).toBe(true);
    expect((await admin.trainers.getTrainer({ id: "RM-1" })).private).toBeUndefined();
  });
});

describe("GetTrainerHistory", () => {
  it("records the operator id of each change, oldest first", async () => {
    await admin.trainers.addTrainer({ trainer: makeTrainer("HIST-1") });
    await operator.trainers.updateTrainer({
      trainer: makeTrainer("HIST-1", { displayName: "Changed" }),
      updateMask: ["display_name"],
    });
    const { entries } = await operator.trainers.getTrainerHistory({ id: "HIST-1" });
    expect(entries.map((e) => [e.operatorId, e.action])).toEqual([
      [hub.adminOperatorId, "trainer.add"],
      [operatorId, "trainer.update"],
    ]);
    const times = entries.map((e) => Date.parse(e.time));
    for (const t of times) expect(Number.isNaN(t)).toBe(false);
    expect([...times].sort((a, b) => a - b)).toEqual(times);
  });

  it("keeps two changes by the same operator made within the same second", async () => {
    // Change times have a resolution of one second: pin the clock so both updates share one.
    const now = Math.floor(Date.now() / 1000) * 1000 + 500;
    const spy = vi.spyOn(Date, "now").mockReturnValue(now);
    try {
      await admin.trainers.addTrainer({ trainer: makeTrainer("HIST-2") });
      await operator.trainers.updateTrainer({
        trainer: makeTrainer("HIST-2", { displayName: "One" }),
        updateMask: ["display_name"],
      });
      await operator.trainers.updateTrainer({
        trainer: makeTrainer("HIST-2", { displayName: "Two" }),
        updateMask: ["display_name"],
      });
    } finally {
      spy.mockRestore();
    }
    const { entries } = await admin.trainers.getTrainerHistory({ id: "HIST-2" });
    expect(entries.map((e) => [e.operatorId, e.action])).toEqual([
      [hub.adminOperatorId, "trainer.add"],
      [operatorId, "trainer.update"],
      [operatorId, "trainer.update"],
    ]);
  });

  it("lists only the trainer's own changes, including its removal and re-adding", async () => {
    await admin.trainers.addTrainer({ trainer: makeTrainer("HIST-3") });
    await operator.trainers.removeTrainer({ id: "HIST-3" });
    await operator.trainers.addTrainer({ trainer: makeTrainer("HIST-3") });
    const { entries } = await admin.trainers.getTrainerHistory({ id: "HIST-3" });
    expect(entries.map((e) => e.action)).toEqual(["trainer.add", "trainer.remove", "trainer.add"]);
    expect(entries.map((e) => e.operatorId)).toEqual([hub.adminOperatorId, operatorId, operatorId]);
  });
});
