import { releaseCore } from "../helpers/core.js";
import { draft, startFederationWith, waitUntil, type StartedFederation } from "../helpers/federation.js";

/**
 * The federation both report tests start from: a secretariat `s` and hubs `a` and `b`; a released
 * core with a human-rights domain (hr, hr-1), a use-of-force competency (uf-1), a module on each and
 * a human-rights trainer scheme; `a` has adopted it and holds trainers A-1 and A-2 (KE), `b` holds
 * B-1 (UG). Credentials, deliveries and the rest are each test's own.
 */
export async function startReportingFederation(): Promise<StartedFederation> {
  const fed = await startFederationWith(
    ["s", "a", "b"],
    [
      ["a", "s"],
      ["b", "s"],
    ],
  );
  const s = fed.byName("s");
  const a = fed.byName("a");
  const b = fed.byName("b");
  await releaseCore(s, {
    items: [
      ["hr", "Domain"],
      ["hr-1", "Competency"],
      ["uf-1", "Competency"],
    ],
    childOf: [["hr-1", "hr"]],
    modules: ["hr", "uf"].map((m) => ({
      id: `mod-${m}`,
      code: `M-${m.toUpperCase()}`,
      title: { en: m },
      durationMinutes: 60,
      deliveryMode: "on-site" as const,
      units: [],
      competencies: [`${m}-1`],
      materials: [],
    })),
    schemes: [
      {
        id: "trainer-hr",
        name: { en: "Human rights trainer" },
        competencies: ["hr"],
        levels: ["1"],
        validityMonths: 36,
      },
    ],
  });
  await waitUntil(
    "a to verify the release",
    async () => (await a.node.running.coreSource.releases()).length === 1,
    15_000,
  );
  await a.node.running.curriculum.adopt("op", "1.0.0");
  await a.node.running.roster.add({ ...draft("A-1"), regions: ["KE"] }, "op");
  await a.node.running.roster.add({ ...draft("A-2"), regions: ["KE"] }, "op");
  await b.node.running.roster.add({ ...draft("B-1"), regions: ["UG"] }, "op");
  return fed;
}
