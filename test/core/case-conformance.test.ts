import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  coreAssociateCommand,
  coreDiffCommand,
  coreExportCommand,
  coreImportCommand,
  coreItemAddCommand,
  corePutCommand,
  coreReleaseCommand,
  coreRemoveCommand,
  coreShowCommand,
} from "../../cli/commands/core.js";
import { toCliError } from "../../cli/errors.js";
import { parseCasePackage, prepareForCase, toCasePackage } from "../../node/core/case.js";
import { caseRecordIdentifier, uuidV5 } from "../../node/core/case-ids.js";
import { diffCore, impactOf, type CoreContent, type CoreItem, type CoreSource } from "../../node/core/index.js";
import { validateCasePackage } from "../helpers/case-validator.js";
import { startFederationWith, type StartedFederation } from "../helpers/federation.js";
import { makeTempDir } from "../helpers/harness.js";
import { memoryIo } from "../helpers/io.js";

type Json = Record<string, unknown>;
const fixturePath = (name: string) => new URL(`../fixtures/case/${name}.json`, import.meta.url).pathname;
const fixture = async (name: string) => JSON.parse(await readFile(fixturePath(name), "utf8")) as Json;

describe("the CASE 1.1 package checker", () => {
  it("accepts the CASE 1.1 fixture as OpenSALT writes it", async () => {
    expect(validateCasePackage(await fixture("ssr-core"))).toEqual([]);
  });

  it("names nulls, missing required attributes, bad identifiers, uris, dates and association types", async () => {
    const pkg = await fixture("ssr-core");
    const items = pkg.CFItems as Json[];
    const associations = pkg.CFAssociations as Json[];
    (items[0] as Json).uri = null;
    delete (items[1] as Json).lastChangeDateTime;
    (items[2] as Json).identifier = "hr-1";
    (items[3] as Json).CFDocumentURI = null;
    (associations[0] as Json).associationType = "isCousinOf";
    (associations[1] as Json).lastChangeDateTime = "yesterday";
    delete ((associations[2] as Json).originNodeURI as Json).title;
    (pkg.CFDocument as Json).caseVersion = "1.0";
    (pkg.CFDocument as Json).uri = "not a uri";
    const paths = validateCasePackage(pkg).map((p) => p.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        "CFPackage.CFItems[0].uri",
        "CFPackage.CFItems[1].lastChangeDateTime",
        "CFPackage.CFItems[2].identifier",
        "CFPackage.CFItems[3].CFDocumentURI",
        "CFPackage.CFAssociations[0].associationType",
        "CFPackage.CFAssociations[1].lastChangeDateTime",
        "CFPackage.CFAssociations[2].originNodeURI.title",
        "CFPackage.CFDocument.caseVersion",
        "CFPackage.CFDocument.uri",
      ]),
    );
  });
});

describe("UUID v5", () => {
  it("matches RFC 9562's example (the DNS namespace, www.example.com)", () => {
    expect(uuidV5("6ba7b810-9dad-11d1-80b4-00c04fd430c8", "www.example.com")).toBe(
      "2ed6657d-e927-568b-95e1-2665a8aea6a2",
    );
  });
});

describe("only content counts", () => {
  it("diff and impact leave out bookkeeping (times, uris, package links, link titles) and keep every other field", async () => {
    const v1 = parseCasePackage(await fixture("ssr-core"));
    const later = "2027-01-01T00:00:00Z";
    const touch = <T extends { lastChangeDateTime: string; extra: Json }>(r: T): T => ({
      ...r,
      lastChangeDateTime: later,
      extra: {
        ...r.extra,
        uri: `https://case.other.example/uri/${String(r.extra.uri).slice(-36)}`,
        CFDocumentURI: {
          title: "Renamed",
          identifier: "6c51717d-d6dc-5006-92a0-d0f8ae84df25",
          uri: "https://case.other.example/doc",
        },
      },
    });
    const v2: CoreContent = {
      ...v1,
      modules: [],
      schemes: [],
      framework: touch(v1.framework),
      items: v1.items.map(touch),
      associations: v1.associations.map((a) => ({
        ...touch(a),
        origin: { ...a.origin, title: "Retitled", uri: "https://case.other.example/x" },
      })),
    };
    const base = { ...v1, modules: [], schemes: [] };
    expect(diffCore(base, v2)).toEqual([]);
    const hr1 = v1.items.find((i) => i.code === "HR-1") as CoreItem;
    const v3 = {
      ...v2,
      items: v2.items.map((i) =>
        i.identifier === hr1.identifier ? { ...i, extra: { ...i.extra, alternativeLabel: "Outcome" } } : i,
      ),
    };
    expect(diffCore(base, v3).map((c) => c.fields.map((f) => f.field))).toEqual([["extra.alternativeLabel"]]);
    const source: CoreSource = {
      releases: async () => [],
      signed: async () => [],
      content: async (version) => (version === "1.0.0" ? base : version === "1.1.0" ? v2 : v3),
    };
    const adaptation = {
      id: "ke-hr-1",
      target: { kind: "item" as const, id: hr1.identifier },
      baseRelease: "1.0.0",
      scenarios: [],
      legalReferences: [],
      updatedAt: later,
      updatedBy: "op",
    };
    expect((await impactOf([adaptation], source, "1.1.0"))[0]).toMatchObject({ status: "unchanged", changes: [] });
    expect((await impactOf([adaptation], source, "1.2.0"))[0]).toMatchObject({
      status: "changed",
      changes: [{ field: "extra.alternativeLabel" }],
    });
  });
});

/** What `core export case` writes for this content (node/api/core-service.ts). */
const exported = (content: Pick<CoreContent, "framework" | "items" | "associations" | "definitions">) =>
  JSON.parse(
    JSON.stringify(
      toCasePackage(prepareForCase({ ...content, framework: content.framework! }), { caseVersion: "1.1" }),
    ),
  ) as Json;

describe("every export is a CASE 1.1 package", () => {
  for (const name of ["ssr-core", "unicode", "case-1.0-wrapped"]) {
    it(`${name}.json, imported and exported`, async () => {
      const content = parseCasePackage(await fixture(name));
      expect(validateCasePackage(exported(content))).toEqual([]);
    });
  }

  it("a core with Concordat identifiers gets UUIDs and uris, and reads back with its own identifiers", () => {
    const now = "2026-03-01T10:00:00.000Z";
    const content = {
      framework: {
        identifier: "fw",
        title: "SSR core",
        creator: "Secretariat",
        language: "en",
        lastChangeDateTime: now,
        extra: {},
      },
      items: <CoreItem[]>[
        {
          identifier: "hr",
          code: "HR",
          statement: { en: "Human rights" },
          type: "Domain",
          language: "en",
          roleLevels: [],
          themes: [],
          lastChangeDateTime: now,
          extra: {},
        },
        {
          identifier: "hr-1",
          code: "HR-1",
          statement: { en: "Applies the prohibition of torture", fr: "Applique l'interdiction de la torture" },
          type: "Competency",
          language: "en",
          roleLevels: ["custodial"],
          themes: ["human-rights"],
          lastChangeDateTime: now,
          extra: {},
        },
      ],
      associations: [
        {
          identifier: "as-1",
          type: "isChildOf",
          origin: { identifier: "hr-1" },
          destination: { identifier: "hr" },
          lastChangeDateTime: now,
          extra: {},
        },
      ],
      definitions: {},
    };
    const pkg = exported(content);
    expect(validateCasePackage(pkg)).toEqual([]);
    const [, item] = pkg.CFItems as Json[];
    expect(item?.identifier).toBe(caseRecordIdentifier("fw", "hr-1"));
    expect(item?.uri).toBe(`urn:uuid:${caseRecordIdentifier("fw", "hr-1")}`);
    expect((pkg.CFAssociations as Json[])[0]?.originNodeURI).toEqual({
      title: "Applies the prohibition of torture",
      identifier: item?.identifier,
      uri: item?.uri,
    });
    // Read back: the Concordat identifiers return, links included; exporting again gives the same package.
    const back = parseCasePackage(pkg);
    expect(back.items.map((i) => i.identifier)).toEqual(["hr", "hr-1"]);
    expect(back.associations[0]).toMatchObject({
      identifier: "as-1",
      origin: { identifier: "hr-1" },
      destination: { identifier: "hr" },
    });
    expect(back.framework.identifier).toBe("fw");
    expect(back.items[1]?.statement).toEqual(content.items[1]?.statement);
    expect(exported(back)).toEqual(pkg);
  });
});

/**
 * Through the CLI on real secretariat nodes: a core imported from CASE and edited, and a core
 * authored in Concordat only, each released and exported, and each export checked.
 */
describe("the core keeps what CASE gave it", () => {
  let imported: StartedFederation;
  let authored: StartedFederation;
  const cli = (f: StartedFederation) => ({ api: f.byName("s").node.address, token: f.byName("s").node.adminToken });
  const exportOf = async (f: StartedFederation, options: { release?: string; draft?: boolean }) => {
    const out = join(await makeTempDir("concordat-case-export-"), "core.json");
    await coreExportCommand({ ...cli(f), ...options, out }, memoryIo(false));
    return JSON.parse(await readFile(out, "utf8")) as Json;
  };

  beforeAll(async () => {
    [imported, authored] = await Promise.all([startFederationWith(["s"], []), startFederationWith(["s"], [])]);
  }, 60_000);
  afterAll(async () => {
    await Promise.all([imported?.stop(), authored?.stop()]);
  });

  it("editing an imported item keeps its CASE fields; diff sees only the change; the export stays CASE 1.1", async () => {
    const original = await fixture("ssr-core");
    await coreImportCommand({ ...cli(imported), format: "case", file: fixturePath("ssr-core") }, memoryIo(false));
    await coreReleaseCommand({ ...cli(imported), version: "1.0.0" }, memoryIo(false));
    const source = (original.CFItems as Json[]).find((i) => i.humanCodingScheme === "HR-1") as Json;
    const id = source.identifier as string;

    await coreItemAddCommand(
      {
        ...cli(imported),
        id,
        statement: ["en=Applies international human rights standards in every use of police powers."],
      },
      memoryIo(false),
    );
    const show = memoryIo(true);
    await coreShowCommand({ ...cli(imported), draft: true }, show);
    const edited = (JSON.parse(show.out()) as CoreContent).items.find((i) => i.identifier === id);
    expect(edited?.code).toBe("HR-1");
    expect(edited?.extra.uri).toBe(source.uri);
    expect(edited?.extra.CFDocumentURI).toEqual(source.CFDocumentURI);
    expect(edited?.extra.CFItemTypeURI).toEqual(source.CFItemTypeURI);

    await coreReleaseCommand({ ...cli(imported), version: "1.1.0" }, memoryIo(false));
    const pkg = await exportOf(imported, { release: "1.1.0" });
    expect(validateCasePackage(pkg)).toEqual([]);
    const item = (pkg.CFItems as Json[]).find((i) => i.identifier === id) as Json;
    expect(item).toMatchObject({ uri: source.uri, CFDocumentURI: source.CFDocumentURI, humanCodingScheme: "HR-1" });
    expect(item.fullStatement).toBe("Applies international human rights standards in every use of police powers.");

    // Only content counts: the statement, not the time it was changed.
    const diff = memoryIo(true);
    await coreDiffCommand({ ...cli(imported), from: "1.0.0", to: "1.1.0" }, diff);
    const changes = JSON.parse(diff.out()) as Array<{ id: string; fields: Array<{ field: string }> }>;
    expect(changes.map((c) => [c.id, c.fields.map((f) => f.field)])).toEqual([[id, ["statement.en"]]]);
  });

  it("a record put whole without `extra` keeps the CASE fields it had", async () => {
    const original = await fixture("ssr-core");
    const source = (original.CFItems as Json[]).find((i) => i.humanCodingScheme === "HR") as Json;
    const dir = await makeTempDir("concordat-case-put-");
    const file = join(dir, "item.json");
    const { writeFile } = await import("node:fs/promises");
    const record = {
      identifier: source.identifier,
      code: "HR",
      statement: { en: "Human rights in policing" },
      type: "Domain",
      language: "en",
      roleLevels: [],
      themes: [],
      lastChangeDateTime: new Date().toISOString(),
    };
    await writeFile(file, JSON.stringify(record));
    await corePutCommand({ ...cli(imported), kind: "item", file }, memoryIo(false));
    const pkg = await exportOf(imported, { draft: true });
    expect(validateCasePackage(pkg)).toEqual([]);
    expect((pkg.CFItems as Json[]).find((i) => i.identifier === source.identifier)).toMatchObject({
      uri: source.uri,
      CFItemTypeURI: source.CFItemTypeURI,
    });
  });

  it("a core authored in Concordat only (item → associate → release → export) is a CASE 1.1 package", async () => {
    await coreItemAddCommand(
      { ...cli(authored), id: "hr", code: "HR", statement: ["en=Human rights in law enforcement"], type: "Domain" },
      memoryIo(false),
    );
    await coreItemAddCommand(
      {
        ...cli(authored),
        id: "hr-1",
        code: "HR-1",
        statement: ["en=Applies the prohibition of torture", "fr=Applique l'interdiction de la torture"],
        roleLevel: ["custodial"],
      },
      memoryIo(false),
    );
    await coreItemAddCommand(
      { ...cli(authored), code: "UF-1", statement: ["en=Uses force only when strictly necessary"] },
      memoryIo(false),
    );
    await coreAssociateCommand(
      { ...cli(authored), origin: "hr-1", type: "isChildOf", destination: "hr" },
      memoryIo(false),
    );
    await coreAssociateCommand(
      { ...cli(authored), id: "as-peer", origin: "hr-1", type: "isRelatedTo", destination: "hr" },
      memoryIo(false),
    );
    await coreReleaseCommand({ ...cli(authored), version: "1.0.0" }, memoryIo(false));
    const pkg = await exportOf(authored, { release: "1.0.0" });
    expect(validateCasePackage(pkg)).toEqual([]);
    expect((pkg.CFDocument as Json).caseVersion).toBe("1.1");
    expect((pkg.CFItems as Json[]).map((i) => i.humanCodingScheme).sort()).toEqual(["HR", "HR-1", "UF-1"]);
    // Stable: the same release exports the same package every time.
    expect(await exportOf(authored, { release: "1.0.0" })).toEqual(pkg);
  });

  it("`core remove item` names what still refers to the item and removes nothing", async () => {
    const module = {
      id: "mod-hr",
      code: "M-HR",
      title: { en: "Human rights for police" },
      durationMinutes: 60,
      deliveryMode: "blended",
      units: [],
      competencies: ["hr"],
      materials: [],
    };
    const dir = await makeTempDir("concordat-case-module-");
    const { writeFile } = await import("node:fs/promises");
    await writeFile(join(dir, "module.json"), JSON.stringify(module));
    await corePutCommand({ ...cli(authored), kind: "module", file: join(dir, "module.json") }, memoryIo(false));
    const error = toCliError(
      await coreRemoveCommand({ ...cli(authored), kind: "item", ids: ["hr"] }, memoryIo(false)).catch(
        (e: unknown) => e,
      ),
    );
    const said = [error.message, ...error.details].join("\n");
    expect(said).toMatch(/child item HR-1 \(hr-1\)/);
    expect(said).toMatch(/association as-peer \(HR-1 \(hr-1\) isRelatedTo HR \(hr\)\)/);
    expect(said).toMatch(/module M-HR \(mod-hr\)/);
    const show = memoryIo(true);
    await coreShowCommand({ ...cli(authored), draft: true }, show);
    expect((JSON.parse(show.out()) as CoreContent).items.map((i) => i.identifier)).toContain("hr");
  });
});
