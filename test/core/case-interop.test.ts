/**
 * CASE packages as other tools write them (OpenSALT's CASE 1.0 output: empty strings and nulls for
 * "not given", rubrics), and exports that claim CASE 1.1 and keep that claim: every export here
 * passes the CFPackage rule check of test/helpers/case-validator.ts.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  coreExportCommand,
  coreImportCommand,
  coreItemAddCommand,
  coreAssociateCommand,
  corePutCommand,
  coreReleaseCommand,
  coreShowCommand,
} from "../../cli/commands/core.js";
import { toCliError } from "../../cli/errors.js";
import { parseCasePackage, prepareForCase, toCasePackage } from "../../node/core/case.js";
import { parseMoodleCsv } from "../../node/core/moodle.js";
import { isConcordatError } from "../../node/errors.js";
import type { CoreContent } from "../../node/core/index.js";
import { validateCasePackage } from "../helpers/case-validator.js";
import { startFederationWith, type StartedFederation } from "../helpers/federation.js";
import { makeTempDir } from "../helpers/harness.js";
import { memoryIo } from "../helpers/io.js";

type Json = Record<string, unknown>;
const fixturePath = (name: string) => new URL(`../fixtures/case/${name}.json`, import.meta.url).pathname;
const fixture = async (name: string) => JSON.parse(await readFile(fixturePath(name), "utf8")) as Json;
const exported = (content: ReturnType<typeof parseCasePackage>) =>
  JSON.parse(JSON.stringify(toCasePackage(prepareForCase(content), { caseVersion: "1.1" }))) as Json;
const rejection = (run: () => unknown) => {
  try {
    run();
  } catch (error) {
    if (isConcordatError(error)) return error;
    throw error;
  }
  throw new Error("expected a rejection");
};

/** The optional string attributes of each CASE 1.1 class. */
const OPTIONAL_STRINGS = {
  CFDocument: [
    "frameworkType",
    "officialSourceURL",
    "publisher",
    "description",
    "version",
    "adoptionStatus",
    "notes",
    "language",
  ],
  CFItems: [
    "alternativeLabel",
    "CFItemType",
    "humanCodingScheme",
    "listEnumeration",
    "abbreviatedStatement",
    "notes",
    "language",
    "statusStartDate",
    "statusEndDate",
  ],
  CFAssociations: ["notes"],
} as const;

describe("CASE 1.0 as OpenSALT writes it (opensalt-1.0-65.json)", () => {
  let pkg: Json;
  beforeAll(async () => {
    pkg = await fixture("opensalt-1.0-65");
  });

  it("reads all 65 items and 67 associations; empty optional strings are absent, not errors", () => {
    const content = parseCasePackage(pkg);
    expect(content.items).toHaveLength(65);
    expect(content.associations).toHaveLength(67);
    const last = content.items.find((i) => i.statement.en === "Knows the code of conduct.");
    expect(last).toBeDefined();
    expect(last).not.toHaveProperty("abbreviatedStatement");
    expect(last).not.toHaveProperty("notes");
    expect(last).not.toHaveProperty("listEnumeration");
    expect(last?.extra).not.toHaveProperty("alternativeLabel");
    expect(last?.type).toBe("Standard"); // an empty CFItemType: the type comes from CFItemTypeURI
    expect(content.framework).not.toHaveProperty("description");
    expect(content.framework.extra).not.toHaveProperty("officialSourceURL");
    // A null sequenceNumber is absent too.
    expect(content.associations.filter((a) => a.sequenceNumber === undefined)).toHaveLength(2);
  });

  it("takes an empty string in every optional string attribute of CFDocument, CFItem and CFAssociation as absent", () => {
    const copy = structuredClone(pkg);
    for (const field of OPTIONAL_STRINGS.CFDocument) (copy.CFDocument as Json)[field] = "";
    const [item] = copy.CFItems as Json[];
    for (const field of OPTIONAL_STRINGS.CFItems) (item as Json)[field] = "";
    const [association] = copy.CFAssociations as Json[];
    for (const field of OPTIONAL_STRINGS.CFAssociations) (association as Json)[field] = "";
    const content = parseCasePackage(copy);
    // Neither the document nor its first item names a language: the default.
    expect(content.framework.language).toBe("en");
    const first = content.items[0] as unknown as Json;
    for (const field of ["abbreviatedStatement", "notes", "listEnumeration"]) expect(first).not.toHaveProperty(field);
    expect(first.code).toBe("");
    expect(validateCasePackage(exported(content))).toEqual([]);
    // Required ones are still required.
    (copy.CFDocument as Json).title = "";
    (item as Json).fullStatement = "";
    const error = rejection(() => parseCasePackage(copy));
    expect(error.violations.map((v) => v.field)).toEqual([
      "CFDocument: title",
      expect.stringMatching(/^CFItems\[0\] \(.*\): fullStatement$/),
    ]);
  });

  it("keeps CFRubrics with their criteria and levels, and exports them back", () => {
    const content = parseCasePackage(pkg);
    const out = exported(content);
    const rubrics = out.CFRubrics as Json[];
    expect(rubrics).toHaveLength(1);
    const source = (pkg.CFRubrics as Json[])[0] as Json;
    const [rubric] = rubrics as [Json];
    expect(rubric.identifier).toBe(source.identifier);
    expect(rubric.title).toBe("Field assessment");
    const criteria = rubric.CFRubricCriteria as Json[];
    expect(criteria).toHaveLength(2);
    expect(criteria.map((c) => (c.CFRubricCriterionLevels as Json[]).length)).toEqual([3, 3]);
    expect((criteria[0] as Json).CFItemURI).toEqual((source.CFRubricCriteria as Json[])[0]?.CFItemURI);
    expect(((criteria[0] as Json).CFRubricCriterionLevels as Json[])[0]).toMatchObject({
      description: "Not yet",
      score: 0,
      feedback: "Repeat the module.",
    });
    expect(out.CFDefinitions).not.toHaveProperty("CFRubrics");
    expect(validateCasePackage(out)).toEqual([]);
    // And read again, the same rubrics.
    expect(parseCasePackage(out).definitions.CFRubrics).toEqual(content.definitions.CFRubrics);
  });

  it("the CFPackage check names a rubric, criterion or level that is not CASE 1.1", () => {
    const out = exported(parseCasePackage(pkg));
    const [rubric] = out.CFRubrics as [Json];
    const [criterion] = rubric.CFRubricCriteria as [Json];
    const [level] = criterion.CFRubricCriterionLevels as [Json];
    delete level.uri;
    criterion.weight = "half";
    rubric.identifier = "rubric-1";
    expect(validateCasePackage(out).map((p) => p.path)).toEqual([
      "CFPackage.CFRubrics[0].identifier",
      "CFPackage.CFRubrics[0].CFRubricCriteria[0].weight",
      "CFPackage.CFRubrics[0].CFRubricCriteria[0].CFRubricCriterionLevels[0].uri",
    ]);
  });

  it("refuses a rubric of the wrong shape, naming each problem", () => {
    const copy = structuredClone(pkg);
    const [rubric] = copy.CFRubrics as [Json];
    const criteria = rubric.CFRubricCriteria as Json[];
    delete ((criteria[1] as Json).CFRubricCriterionLevels as Json[])[0]?.identifier;
    (criteria[0] as Json).CFRubricCriterionLevels = "none";
    (copy.CFRubrics as unknown[]).push("not a rubric");
    const error = rejection(() => parseCasePackage(copy));
    expect(error.violations.map((v) => `${v.field}: ${v.description}`)).toEqual([
      "CFRubrics[0].CFRubricCriteria[0].CFRubricCriterionLevels: must be an array",
      "CFRubrics[0].CFRubricCriteria[1].CFRubricCriterionLevels[0]: identifier: is required: a non-empty string (a UUID)",
      "CFRubrics[1]: must be an object",
    ]);
  });

  it("exports CASE 1.1: caseVersion, uris, CASE 1.1 attributes only; educationLevel stays grade levels", () => {
    const out = exported(parseCasePackage(pkg));
    expect(validateCasePackage(out)).toEqual([]);
    expect((out.CFDocument as Json).caseVersion).toBe("1.1");
    const items = out.CFItems as Json[];
    expect(items.filter((i) => Array.isArray(i.educationLevel)).map((i) => i.educationLevel)).toContainEqual([
      "09",
      "10",
    ]);
    for (const record of [out.CFDocument, ...items, ...(out.CFAssociations as Json[])] as Json[])
      expect(typeof record.uri).toBe("string");
  });
});

describe("exports keep role levels and Moodle's data out of CASE's own attributes", () => {
  it("role levels travel in extensions.concordat.roleLevels, never in educationLevel, and read back", async () => {
    const content = parseCasePackage(await fixture("ssr-core"));
    const [first] = content.items;
    if (!first) throw new Error("no item");
    first.roleLevels = ["custodial", "command"];
    const out = exported(content);
    expect(validateCasePackage(out)).toEqual([]);
    const item = (out.CFItems as Json[])[0] as Json;
    expect((item.extensions as Json).concordat).toMatchObject({ roleLevels: ["custodial", "command"] });
    expect(JSON.stringify(item.educationLevel ?? [])).not.toMatch(/custodial|command/);
    expect(parseCasePackage(out).items[0]?.roleLevels).toEqual(["custodial", "command"]);
  });

  it("a Moodle import exports Moodle's fields under extensions.moodle, not as a top-level `moodle`", async () => {
    const csv = await readFile(new URL("../fixtures/moodle/ssr-framework.csv", import.meta.url), "utf8");
    const moodle = parseMoodleCsv(csv, { now: "2026-03-01T10:00:00.000Z" });
    const out = exported({ ...moodle, definitions: {} });
    expect(validateCasePackage(out)).toEqual([]);
    for (const record of [out.CFDocument, ...(out.CFItems as Json[])] as Json[]) {
      expect(record).not.toHaveProperty("moodle");
      expect((record.extensions as Json).moodle).toBeDefined();
    }
  });

  it("moves any attribute that is not CASE 1.1 (a core stored before, a CASE 1.0 field) under extensions", async () => {
    const content = parseCasePackage(await fixture("ssr-core"));
    const [first] = content.items;
    if (!first) throw new Error("no item");
    first.extra = { ...first.extra, moodle: { idnumber: "X" }, educationLevel: "09", statusEndDate: "" };
    content.framework.extra = { ...content.framework.extra, moodle: { idnumber: "F" } };
    const out = exported(content);
    expect(validateCasePackage(out)).toEqual([]);
    const item = (out.CFItems as Json[])[0] as Json;
    expect(item).not.toHaveProperty("moodle");
    expect((item.extensions as Json).moodle).toEqual({ idnumber: "X" });
    expect(item.educationLevel).toEqual(["09"]); // CASE 1.0's bare string, as a 1.1 list
    expect(item).not.toHaveProperty("statusEndDate");
    expect(((out.CFDocument as Json).extensions as Json).moodle).toEqual({ idnumber: "F" });
  });
});

describe("every problem is counted", () => {
  it("704 bad identifiers: 704 problems, every one listed", async () => {
    const pkg = await fixture("opensalt-1.0-65");
    const template = (pkg.CFItems as Json[])[1] as Json;
    pkg.CFAssociations = [];
    pkg.CFRubrics = [];
    pkg.CFItems = Array.from({ length: 704 }, (_, i) => ({ ...template, identifier: `bad id ${i}` }));
    const error = rejection(() => parseCasePackage(pkg));
    expect(error.message).toBe("the CASE package is invalid: 704 problems");
    expect(error.violations).toHaveLength(704);
  });
});

/** Through the CLI on a real secretariat node. */
describe("importing and exporting on a node", () => {
  let fed: StartedFederation;
  const cli = () => ({ api: fed.byName("s").node.address, token: fed.byName("s").node.adminToken });
  const exportOf = async (options: { release?: string; draft?: boolean }) => {
    const out = join(await makeTempDir("concordat-case-interop-"), "core.json");
    await coreExportCommand({ ...cli(), format: "case", ...options, out }, memoryIo(false));
    return JSON.parse(await readFile(out, "utf8")) as Json;
  };
  const drafts = async () => {
    const show = memoryIo(true);
    await coreShowCommand({ ...cli(), draft: true }, show);
    return JSON.parse(show.out()) as CoreContent;
  };

  beforeAll(async () => {
    fed = await startFederationWith(["s"], []);
  }, 60_000);
  afterAll(async () => {
    await fed?.stop();
  });

  it("imports the OpenSALT package whole, rubrics included, and exports a CASE 1.1 package", async () => {
    await coreImportCommand({ ...cli(), format: "case", file: fixturePath("opensalt-1.0-65") }, memoryIo(false));
    const core = await drafts();
    expect(core.items).toHaveLength(65);
    const pkg = await exportOf({ draft: true });
    expect(validateCasePackage(pkg)).toEqual([]);
    expect(pkg.CFRubrics).toHaveLength(1);
    expect((pkg.CFItems as unknown[]).length).toBe(65);
  });

  it("a second package replaces the first whole: no item is left linked to a CFDocument no longer there", async () => {
    const second = await fixture("ssr-core");
    await coreImportCommand({ ...cli(), format: "case", file: fixturePath("ssr-core") }, memoryIo(false));
    const core = await drafts();
    const documentId = (second.CFDocument as Json).identifier;
    expect(core.framework?.identifier).toBe(documentId);
    expect(core.items.map((i) => i.identifier).sort()).toEqual(
      (second.CFItems as Json[]).map((i) => i.identifier as string).sort(),
    );
    const nodes = new Set([documentId, ...core.items.map((i) => i.identifier)]);
    for (const a of core.associations.filter((x) => x.type === "isChildOf"))
      expect(nodes.has(a.destination.identifier)).toBe(true);
    expect(core.definitions).not.toHaveProperty("CFRubrics");
    const pkg = await exportOf({ draft: true });
    expect(validateCasePackage(pkg)).toEqual([]);
    expect(pkg.CFRubrics).toEqual([]);
  });

  it("refuses a package that drops an item a module is aligned to, naming it, and changes nothing", async () => {
    const kept = (await drafts()).items[0]?.identifier as string;
    const dir = await makeTempDir("concordat-case-interop-");
    const module = join(dir, "module.json");
    const { writeFile } = await import("node:fs/promises");
    await writeFile(
      module,
      JSON.stringify({
        id: "mod-1",
        code: "M-1",
        title: { en: "Module" },
        durationMinutes: 60,
        deliveryMode: "on-site",
        units: [],
        competencies: [kept],
        materials: [],
      }),
    );
    await corePutCommand({ ...cli(), kind: "module", file: module }, memoryIo(false));
    const error = toCliError(
      await coreImportCommand({ ...cli(), format: "case", file: fixturePath("opensalt-1.0-65") }, memoryIo(false)).then(
        () => undefined,
        (e: unknown) => e,
      ),
    );
    expect([error.message, ...error.details].join("\n")).toContain(kept);
    expect((await drafts()).items).toHaveLength(((await fixture("ssr-core")).CFItems as unknown[]).length);
  });

  it("counts all 704 problems through the API, though it sends only the first", async () => {
    const pkg = await fixture("opensalt-1.0-65");
    const template = (pkg.CFItems as Json[])[1] as Json;
    pkg.CFAssociations = [];
    pkg.CFItems = Array.from({ length: 704 }, (_, i) => ({ ...template, identifier: `bad id ${i}` }));
    const file = join(await makeTempDir("concordat-case-interop-"), "bad.json");
    const { writeFile } = await import("node:fs/promises");
    await writeFile(file, JSON.stringify(pkg));
    const error = toCliError(
      await coreImportCommand({ ...cli(), format: "case", file }, memoryIo(false)).then(
        () => undefined,
        (e: unknown) => e,
      ),
    );
    expect(error.message).toBe("INVALID_ARGUMENT: 704 problems in the request (the first 50 listed)");
    expect(error.details).toHaveLength(51);
    expect(error.details.at(-1)).toBe("(more): and 654 more problems");
  });

  it("a core authored in Concordat exports with a CFDocument, UUIDs, a uri everywhere, role levels in extensions", async () => {
    const authored = await startFederationWith(["s"], []);
    try {
      const c = { api: authored.byName("s").node.address, token: authored.byName("s").node.adminToken };
      await coreItemAddCommand(
        { ...c, id: "hr", code: "HR", statement: ["en=Human rights"], type: "Domain" },
        memoryIo(false),
      );
      await coreItemAddCommand(
        {
          ...c,
          id: "hr-1",
          code: "HR-1",
          statement: ["en=Applies the prohibition of torture"],
          roleLevel: ["custodial"],
        },
        memoryIo(false),
      );
      await coreAssociateCommand({ ...c, origin: "hr-1", type: "isChildOf", destination: "hr" }, memoryIo(false));
      await coreReleaseCommand({ ...c, version: "1.0.0" }, memoryIo(false));
      const out = join(await makeTempDir("concordat-case-interop-"), "core.json");
      await coreExportCommand({ ...c, format: "case", release: "1.0.0", out }, memoryIo(false));
      const pkg = JSON.parse(await readFile(out, "utf8")) as Json;
      expect(validateCasePackage(pkg)).toEqual([]);
      expect((pkg.CFDocument as Json).caseVersion).toBe("1.1");
      const item = (pkg.CFItems as Json[]).find((i) => i.humanCodingScheme === "HR-1") as Json;
      expect(item).not.toHaveProperty("educationLevel");
      expect((item.extensions as Json).concordat).toMatchObject({ identifier: "hr-1", roleLevels: ["custodial"] });
    } finally {
      await authored.stop();
    }
  }, 60_000);
});
