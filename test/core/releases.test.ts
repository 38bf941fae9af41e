import * as A from "@automerge/automerge";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import {
  coreAdoptCommand,
  coreDiffCommand,
  coreExportCommand,
  coreImpactCommand,
  coreImportCommand,
  coreItemAddCommand,
  coreReleaseCommand,
  coreRemoveCommand,
  federationReleasesCommand,
} from "../../cli/commands/core.js";
import { toCliError } from "../../cli/errors.js";
import { parseCasePackage } from "../../node/core/case.js";
import { makeTempDir } from "../helpers/harness.js";
import {
  curriculumAdaptCommand,
  curriculumConfirmCommand,
  curriculumShowCommand,
  mappingsAddCommand,
  mappingsListCommand,
} from "../../cli/commands/curriculum.js";
import { CORE_KEY, type CoreItem } from "../../node/core/index.js";
import { CheckpointKind, signCheckpoint, type SignedCheckpoint } from "../../node/authority/index.js";
import { startFederationWith, waitUntil, type FederationNode, type StartedFederation } from "../helpers/federation.js";
import { memoryIo } from "../helpers/io.js";
import { changeReplicaCopy, replicaHolds } from "../helpers/replica.js";

const cli = (n: FederationNode) => ({ api: n.node.address, token: n.node.adminToken });

const now = () => new Date().toISOString();

function item(
  identifier: string,
  code: string,
  statement: Record<string, string>,
  extra: Partial<CoreItem> = {},
): CoreItem {
  return {
    identifier,
    code,
    statement,
    type: "Competency",
    language: "en",
    roleLevels: ["custodial"],
    themes: ["human-rights"],
    lastChangeDateTime: now(),
    extra: {},
    ...extra,
  };
}

/**
 * The global core across real nodes: the secretariat (s) edits drafts and releases them; hubs a and
 * b (both dialling s) see releases only, adopt one, adapt it, and see what a new release changes for
 * them; the secretariat sees each hub's standing.
 */
describe("core releases, adoption and impact", () => {
  let fed: StartedFederation;
  const s = () => fed.byName("s");
  const a = () => fed.byName("a");
  const b = () => fed.byName("b");
  const coreId = () => s().node.running.documents.idOf(CORE_KEY);
  /** Has `reader`'s Repo any of these change hashes of the core? */
  const holds = (reader: FederationNode, heads: string[]) => replicaHolds(reader.node.running, coreId(), heads);
  const releasedAt = async (reader: FederationNode, version: string) =>
    (await reader.node.running.coreSource.releases()).some((r) => r.version === version);

  beforeAll(async () => {
    fed = await startFederationWith(
      ["s", "a", "b"],
      [
        ["a", "s"],
        ["b", "s"],
      ],
    );
  }, 60_000);
  afterAll(async () => {
    await fed?.stop();
  });

  it("drafts stay with the secretariat; a release is signed, versions only go up, and hubs see exactly the release", async () => {
    const core = s().node.running.coreAuthoring;
    await core.import(
      "op",
      {
        framework: {
          identifier: "fw-ssr",
          title: "SSR core",
          creator: "Secretariat",
          language: "en",
          lastChangeDateTime: now(),
          extra: {},
        },
        items: [
          item("hr", "HR", { en: "Human rights in law enforcement" }, { type: "Domain" }),
          item("hr-1", "HR-1", {
            en: "Applies the prohibition of torture",
            fr: "Applique l'interdiction de la torture",
          }),
          item(
            "uf-1",
            "UF-1",
            { en: "Uses force only when strictly necessary" },
            { themes: ["use-of-force", "human-rights"], roleLevels: ["custodial", "command"] },
          ),
        ],
        associations: [
          {
            identifier: "as-1",
            type: "isChildOf",
            origin: { identifier: "hr-1" },
            destination: { identifier: "hr" },
            sequenceNumber: 1,
            lastChangeDateTime: now(),
            extra: {},
          },
        ],
        modules: [
          {
            id: "mod-hr",
            code: "M-HR",
            title: { en: "Human rights for police" },
            durationMinutes: 60,
            deliveryMode: "blended",
            units: [{ id: "u1", title: { en: "Torture prohibition" }, moveOn: "Passed", masteryScore: 0.8 }],
            competencies: ["hr-1"],
            materials: [],
          },
        ],
        schemes: [
          {
            id: "trainer-hr",
            name: { en: "Human rights trainer" },
            competencies: ["hr-1"],
            levels: ["1", "2"],
            validityMonths: 36,
          },
        ],
      },
      false,
    );
    const draftHeads = [...A.getHeads(s().node.running.documents.get(CORE_KEY))];
    // A draft edit through the CLI too.
    await coreItemAddCommand(
      { ...cli(s()), code: "CD-1", id: "cd-1", statement: ["en=Reports misconduct"], type: "Competency" },
      memoryIo(false),
    );
    // Hubs never see drafts: a's directory of s moves on (s signs other documents), the core does not arrive.
    await s().node.running.checkpointer.flush();
    expect(await a().node.running.coreSource.releases()).toEqual([]);
    expect(await holds(a(), draftHeads)).toBe(false);

    const io = memoryIo(false);
    await coreReleaseCommand({ ...cli(s()), version: "1.0.0", notes: "First core" }, io);
    expect(io.out()).toContain("Released the core as 1.0.0");
    await waitUntil("a to verify release 1.0.0", () => releasedAt(a(), "1.0.0"), 15_000);
    const atA = await a().node.running.coreSource.content("1.0.0");
    expect(atA?.items.map((i) => i.code).sort()).toEqual(["CD-1", "HR", "HR-1", "UF-1"]);
    expect(atA).toEqual(await s().node.running.coreSource.content("1.0.0"));
    expect((await a().node.running.coreSource.releases())[0]?.notes).toBe("First core");

    // Versions only go up; a release must change something; hubs reject nothing so far.
    await expect(coreReleaseCommand({ ...cli(s()), version: "1.0.0" }, memoryIo(false))).rejects.toThrow(
      /not above the latest release 1\.0\.0/,
    );
    await expect(coreReleaseCommand({ ...cli(s()), version: "0.9.0" }, memoryIo(false))).rejects.toThrow(
      /versions only go up/,
    );
    await expect(coreReleaseCommand({ ...cli(s()), version: "1.0.1" }, memoryIo(false))).rejects.toThrow(
      /nothing to release/,
    );
    await expect(coreReleaseCommand({ ...cli(s()), version: "v2" }, memoryIo(false))).rejects.toThrow(
      /not a version X\.Y\.Z/,
    );
    await expect(coreItemAddCommand({ ...cli(a()), code: "X", statement: ["en=x"] }, memoryIo(false))).rejects.toThrow(
      /only the secretariat/,
    );
    // A draft after the release does not reach the hubs either.
    await core.put("op", "item", [
      item(
        "uf-1",
        "UF-1",
        { en: "Uses force only when strictly necessary and proportionate" },
        { themes: ["use-of-force"] },
      ),
    ]);
    const laterDraft = [...A.getHeads(s().node.running.documents.get(CORE_KEY))];
    await s().node.running.checkpointer.flush();
    expect(await holds(a(), laterDraft)).toBe(false);
  });

  it("a hub adopts a release, adapts it, adds job mappings, and sees what the next release changes for it", async () => {
    await expect(coreAdoptCommand({ ...cli(a()), version: "3.0.0" }, memoryIo(false))).rejects.toThrow(
      /no verified release 3\.0\.0/,
    );
    await coreAdoptCommand({ ...cli(a()), version: "1.0.0" }, memoryIo(false));
    const adapt = memoryIo(false);
    await curriculumAdaptCommand(
      {
        ...cli(a()),
        id: "ke-uf-1",
        item: "uf-1",
        statement: ["sw=Hutumia nguvu pale tu inapohitajika kabisa"],
        legalRef: ["Kenya, National Police Service Act 2011, Sixth Schedule"],
        scenario: ["en=Crowd at a market|A crowd gathers…"],
      },
      adapt,
    );
    expect(adapt.out()).toContain("pinned to core 1.0.0");
    await curriculumAdaptCommand(
      { ...cli(a()), id: "ke-hr-1", item: "hr-1", legalRef: ["Constitution of Kenya, art. 29"] },
      memoryIo(false),
    );
    await expect(curriculumAdaptCommand({ ...cli(a()), id: "bad", item: "nope" }, memoryIo(false))).rejects.toThrow(
      /no item 'nope' in release 1\.0\.0/,
    );
    await mappingsAddCommand(
      {
        ...cli(a()),
        id: "constable",
        title: ["en=Police Constable", "sw=Konstebo"],
        country: "KE",
        isco: "5412",
        esco: "http://data.europa.eu/esco/occupation/6a8c0e7b-6f5b-4ab4-9ae8-0e9e2d1fb2f5",
        careerStep: 1,
        competency: ["uf-1:essential", "hr-1:optional"],
      },
      memoryIo(false),
    );
    await expect(
      mappingsAddCommand(
        { ...cli(a()), id: "x", title: ["en=X"], country: "XX", isco: "54", competency: ["nope:essential"] },
        memoryIo(false),
      ),
    ).rejects.toThrow(/country.*ISO 3166-1.*iscoCode/s);
    const list = memoryIo(true);
    await mappingsListCommand(cli(a()), list);
    expect(JSON.parse(list.out())).toEqual([
      expect.objectContaining({ id: "constable", iscoCode: "5412", country: "KE" }),
    ]);

    const show = memoryIo(true);
    await curriculumShowCommand(cli(a()), show);
    const effective = (
      JSON.parse(show.out()) as {
        effective: {
          release: string;
          items: Array<{
            identifier: string;
            statement: Record<string, string>;
            adaptation?: { needsReview: boolean };
          }>;
        };
      }
    ).effective;
    expect(effective.release).toBe("1.0.0");
    const uf = effective.items.find((i) => i.identifier === "uf-1");
    expect(uf?.statement).toEqual({
      en: "Uses force only when strictly necessary",
      sw: "Hutumia nguvu pale tu inapohitajika kabisa",
    });
    expect(uf?.adaptation?.needsReview).toBe(false);

    // The secretariat releases 1.1.0 (the draft changed uf-1's statement and themes).
    await coreReleaseCommand({ ...cli(s()), version: "1.1.0", notes: "Proportionality" }, memoryIo(false));
    await waitUntil("a to verify release 1.1.0", () => releasedAt(a(), "1.1.0"), 15_000);
    const diff = memoryIo(true);
    await coreDiffCommand({ ...cli(a()), from: "1.0.0", to: "1.1.0" }, diff);
    const changes = JSON.parse(diff.out()) as Array<{
      kind: string;
      id: string;
      change: string;
      fields: Array<{ field: string; before: string; after: string }>;
    }>;
    expect(changes.filter((c) => c.kind === "item").map((c) => c.id)).toEqual(["uf-1"]);
    expect(changes.find((c) => c.id === "uf-1")?.fields.map((f) => f.field)).toEqual(
      expect.arrayContaining(["statement.en", "themes"]),
    );

    const impact = memoryIo(true);
    await coreImpactCommand(cli(a()), impact);
    const entries = JSON.parse(impact.out()) as Array<{
      adaptation: string;
      status: string;
      changes: Array<{ field: string; before: string; after: string }>;
    }>;
    expect(entries.find((e) => e.adaptation === "ke-uf-1")).toMatchObject({ status: "changed" });
    expect(entries.find((e) => e.adaptation === "ke-uf-1")?.changes).toEqual(
      expect.arrayContaining([
        {
          field: "statement.en",
          before: JSON.stringify("Uses force only when strictly necessary"),
          after: JSON.stringify("Uses force only when strictly necessary and proportionate"),
        },
      ]),
    );
    expect(entries.find((e) => e.adaptation === "ke-hr-1")).toMatchObject({ status: "unchanged" });
    const human = memoryIo(false);
    await coreImpactCommand(cli(a()), human);
    expect(human.out()).toContain("1 of 2 adaptation(s) need review against 1.1.0");

    // The secretariat sees a's standing once a's curriculum checkpoint reaches it.
    await a().node.running.checkpointer.flush();
    await waitUntil(
      "s to see a's curriculum",
      async () => {
        const io = memoryIo(true);
        await federationReleasesCommand(cli(s()), io);
        const hubs = (
          JSON.parse(io.out()) as {
            hubs: Array<{ hub: string; adopted: string; adaptedItems: number; needsReview: number }>;
          }
        ).hubs;
        const hubA = hubs.find((h) => h.hub === a().hub);
        return (
          hubA?.adopted === "1.0.0" &&
          hubA.adaptedItems === 2 &&
          hubA.needsReview === 1 &&
          hubs.some((h) => h.hub === b().hub && h.adopted === "")
        );
      },
      15_000,
    );

    // Adopting 1.1.0 and confirming the adaptation clears the review.
    await coreAdoptCommand({ ...cli(a()), version: "1.1.0" }, memoryIo(false));
    await curriculumConfirmCommand({ ...cli(a()), id: "ke-uf-1" }, memoryIo(false));
    const after = memoryIo(true);
    await coreImpactCommand(cli(a()), after);
    expect((JSON.parse(after.out()) as Array<{ status: string }>).every((e) => e.status === "unchanged")).toBe(true);
  });

  it("CASE and Moodle files import through the CLI all or nothing, and a release exports back as the same CASE package", async () => {
    const fixture = (name: string) => new URL(`../fixtures/${name}`, import.meta.url).pathname;
    const before = [...A.getHeads(s().node.running.documents.get(CORE_KEY))];
    // An invalid package: every problem named, nothing written.
    const bad = toCliError(
      await coreImportCommand(
        { ...cli(s()), format: "case", file: fixture("case/invalid.json") },
        memoryIo(false),
      ).catch((e: unknown) => e),
    );
    expect(bad.exitCode).toBe(2);
    expect(bad.details.join("\n")).toMatch(/CFItems\[\d+\] \(.*\): fullStatement/);
    expect(A.getHeads(s().node.running.documents.get(CORE_KEY))).toEqual(before);
    // A package replaces the framework whole: refused while a module and a scheme are aligned to an
    // item it does not have (named), taken once they are gone.
    const aligned = toCliError(
      await coreImportCommand(
        { ...cli(s()), format: "case", file: fixture("case/ssr-core.json") },
        memoryIo(false),
      ).catch((e: unknown) => e),
    );
    expect(aligned.details.join("\n")).toMatch(/mod-hr[\s\S]*hr-1|hr-1[\s\S]*mod-hr/);
    await coreRemoveCommand({ ...cli(s()), kind: "module", ids: ["mod-hr"] }, memoryIo(false));
    await coreRemoveCommand({ ...cli(s()), kind: "scheme", ids: ["trainer-hr"] }, memoryIo(false));
    const beforeDry = [...A.getHeads(s().node.running.documents.get(CORE_KEY))];
    // A dry run checks and writes nothing.
    const dry = memoryIo(false);
    await coreImportCommand(
      { ...cli(s()), format: "moodle", file: fixture("moodle/ssr-framework.csv"), dryRun: true, language: "fr" },
      dry,
    );
    expect(dry.out()).toMatch(/would be imported; nothing written/);
    expect(A.getHeads(s().node.running.documents.get(CORE_KEY))).toEqual(beforeDry);

    const pkg = JSON.parse(await readFile(fixture("case/ssr-core.json"), "utf8")) as {
      CFItems: unknown[];
      CFAssociations: unknown[];
    };
    await coreImportCommand({ ...cli(s()), format: "case", file: fixture("case/ssr-core.json") }, memoryIo(false));
    await coreReleaseCommand({ ...cli(s()), version: "2.0.0", notes: "CASE import" }, memoryIo(false));
    await waitUntil("a to verify release 2.0.0", () => releasedAt(a(), "2.0.0"), 15_000);
    const out = join(await makeTempDir("concordat-case-"), "core.json");
    await coreExportCommand({ ...cli(a()), release: "2.0.0", out }, memoryIo(false));
    const exported = parseCasePackage(JSON.parse(await readFile(out, "utf8")));
    const original = parseCasePackage(pkg);
    // The package's framework, and every one of its items and associations, come back as they went in.
    expect(exported.framework).toEqual(original.framework);
    for (const item of original.items) expect(exported.items).toContainEqual(item);
    for (const association of original.associations) expect(exported.associations).toContainEqual(association);
    expect(exported.definitions).toEqual(original.definitions);
  });

  it("a hub refuses release entries that are forged, out of order, or not the secretariat's, and names them", async () => {
    const directoryId = s().node.running.federation.self.directoryId;
    const known = await a().node.running.coreSource.releases();
    const last = known.at(-1) as NonNullable<(typeof known)[number]>;
    const relay = async (version: string, entry: SignedCheckpoint) => {
      await changeReplicaCopy<{ releases: Record<string, Record<string, unknown>> }>(
        a().node.running,
        directoryId,
        (d) => {
          (d.releases[coreId()] as Record<string, unknown>)[version] = new A.ImmutableString(JSON.stringify(entry));
        },
      );
    };
    const base = {
      federationId: "concordat-dev",
      owner: s().peerId,
      documentId: coreId(),
      heads: last.heads,
      time: now(),
      kind: CheckpointKind.Release,
    } as const;
    // Signed by the secretariat's key, but a lower version signed later: versions only go up.
    await relay(
      "0.1.0",
      await signCheckpoint({ ...base, version: "0.1.0", seq: last.seq + 1 }, (d) => s().node.running.identity.sign(d)),
    );
    // Signed by a hub's key: not the secretariat's.
    await relay(
      "9.0.0",
      await signCheckpoint({ ...base, owner: b().peerId, version: "9.0.0", seq: last.seq + 2 }, (d) =>
        b().node.running.identity.sign(d),
      ),
    );
    // Filed under another version than it was signed for.
    await relay(
      "8.0.0",
      await signCheckpoint({ ...base, version: "7.0.0", seq: last.seq + 3 }, (d) => s().node.running.identity.sign(d)),
    );
    // And deleting an entry from the relayed directory hides nothing: verified releases are kept.
    await changeReplicaCopy<{ releases: Record<string, Record<string, unknown>> }>(
      a().node.running,
      directoryId,
      (d) => {
        delete (d.releases[coreId()] as Record<string, unknown>)["1.0.0"];
      },
    );
    const releases = await a().node.running.coreSource.releases();
    expect(releases.map((r) => r.version)).toEqual(known.map((r) => r.version));
    const problems = a()
      .node.running.verifiedCore.problems()
      .map((p) => `${p.version}: ${p.reason}`)
      .join("\n");
    expect(problems).toMatch(/0\.1\.0: signed after .* but not above it: versions only go up/);
    expect(problems).toMatch(/9\.0\.0: signed by .*which the charter does not give hub 'hub-s'/);
    expect(problems).toMatch(/8\.0\.0: filed under 8\.0\.0 but signed as 7\.0\.0/);
    expect(a().node.logs.some((l) => l.includes("rejected a core release"))).toBe(true);
  });
});
