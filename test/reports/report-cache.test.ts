import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { draft, type StartedFederation, startFederationWith } from "../helpers/federation.js";

/**
 * A node keeps each roster's decoded trainers between reports, by the heads its checkpoint signed
 * (node/reports/signed-state.ts, ReportCache). A roster that changed must be read again: the next
 * report counts what was added and forgets what was removed.
 */
let fed: StartedFederation;

beforeAll(async () => {
  fed = await startFederationWith(["s", "a"], [["a", "s"]]);
}, 120_000);

afterAll(async () => {
  await fed?.stop();
});

describe("reports made one after another at a node", () => {
  it("count a roster's changes since the last report", async () => {
    const a = fed.byName("a").node.running;
    const year = { from: "2026-01-01", to: "2026-12-31", publicOnly: false };
    const trainersOf = async () => (await a.reports.coverage(year)).hubs.find((h) => h.hub === "hub-a")?.trainers ?? 0;
    await a.roster.add({ ...draft("C-1"), regions: ["KE"] }, "op");
    expect(await trainersOf()).toBe(1);
    await a.roster.add({ ...draft("C-2"), regions: ["UG"] }, "op");
    expect(await trainersOf()).toBe(2);
    await a.roster.remove("C-1", "op");
    expect(await trainersOf()).toBe(1);
  });
});
