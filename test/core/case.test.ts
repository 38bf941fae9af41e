import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseCasePackage, toCasePackage, type CasePackageContent } from "../../node/core/case.js";
import {
  ADOPTION_STATUSES,
  ASSOCIATION_TYPES,
  ROLE_LEVELS,
  type CoreAssociation,
  type CoreDefinitions,
  type CoreFramework,
  type CoreItem,
  type NodeRef,
} from "../../node/core/model.js";
import { ErrorCode, isConcordatError, type ConcordatError } from "../../node/errors.js";
import { forbiddenCharacter, TextKind } from "../../node/text.js";

type Json = Record<string, unknown>;

function fixture(name: string): Json {
  return JSON.parse(readFileSync(new URL(`../fixtures/case/${name}.json`, import.meta.url), "utf8")) as Json;
}

/** The error parseCasePackage throws for `json` (fails the test if it does not throw). */
function rejection(json: unknown): ConcordatError {
  try {
    parseCasePackage(json);
  } catch (error) {
    if (isConcordatError(error)) return error;
    throw error;
  }
  throw new Error("the package was accepted");
}

function fields(error: ConcordatError): string[] {
  return error.violations.map((v) => v.field);
}

/** Code points, so that a character beyond the BMP counts as one, not as a surrogate pair. */
function codePoints(text: string): number[] {
  return Array.from(text, (c) => c.codePointAt(0) ?? -1);
}

function byCode(content: CasePackageContent, code: string): CoreItem {
  const item = content.items.find((i) => i.code === code);
  if (!item) throw new Error(`no item ${code}`);
  return item;
}

/** What a file on disk gives back: the package through JSON text. */
function throughJson<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

describe("parseCasePackage: ssr-core.json (a CASE 1.1 package as OpenSALT writes it)", () => {
  const pkg = fixture("ssr-core");
  const content = parseCasePackage(pkg);
  const raw = {
    document: pkg.CFDocument as Json,
    items: pkg.CFItems as Json[],
    associations: pkg.CFAssociations as Json[],
  };

  it("reads every record", () => {
    expect(content.items).toHaveLength(13);
    expect(content.associations).toHaveLength(18);
    expect(content.items.map((i) => i.identifier)).toEqual(raw.items.map((i) => i.identifier));
    expect(content.associations.map((a) => a.identifier)).toEqual(raw.associations.map((a) => a.identifier));
  });

  it("maps the CFDocument and keeps the fields the core does not model in extra", () => {
    const { framework } = content;
    expect(framework).toMatchObject({
      identifier: raw.document.identifier,
      title: "Security Sector Reform Core Competency Framework",
      creator: "Concordat Secretariat",
      publisher: "Concordat Secretariat",
      language: "en",
      adoptionStatus: "Adopted",
      subject: ["Security Sector Reform"],
      lastChangeDateTime: "2026-02-14T09:30:00+00:00",
    });
    expect(framework.description).toMatch(/^Core competencies/);
    expect(Object.keys(framework.extra).sort()).toEqual(
      [
        "CFPackageURI",
        "caseVersion",
        "frameworkType",
        "licenseURI",
        "notes",
        "officialSourceURL",
        "statusStartDate",
        "subjectURI",
        "uri",
        "version",
      ].sort(),
    );
    expect(framework.extra.licenseURI).toEqual(raw.document.licenseURI);
    expect(framework.extra.caseVersion).toBe("1.1");
  });

  it("maps each CFItem field", () => {
    const hr1 = byCode(content, "HR-1");
    const source = raw.items.find((i) => i.humanCodingScheme === "HR-1") as Json;
    expect(hr1).toEqual({
      identifier: source.identifier,
      code: "HR-1",
      statement: { en: source.fullStatement },
      abbreviatedStatement: { en: "Human rights standards in policing powers" },
      type: "Competency",
      language: "en",
      // CASE's educationLevel holds grade levels: kept as it is, not read as role levels.
      roleLevels: [],
      themes: ["human-rights"],
      listEnumeration: "1",
      lastChangeDateTime: "2026-02-14T09:30:00+00:00",
      extra: {
        uri: source.uri,
        conceptKeywordsURI: source.conceptKeywordsURI,
        CFItemTypeURI: source.CFItemTypeURI,
        licenseURI: source.licenseURI,
        CFDocumentURI: source.CFDocumentURI,
        educationLevel: source.educationLevel,
      },
    });
    // Domains have no role levels: an empty list, not a missing field.
    expect(byCode(content, "HR")).toMatchObject({ type: "Domain", roleLevels: [], themes: ["human-rights"] });
    expect(byCode(content, "UF-1.1").type).toBe("Indicator");
    expect(byCode(content, "UF-1").extra.alternativeLabel).toBe("Lawful use of force");
    expect(byCode(content, "HR-2").extra.subject).toEqual(["Security Sector Reform", "Gender"]);
    expect(byCode(content, "CD-1a")).toMatchObject({
      notes: "Superseded in version 2.0 by CD-1.",
      extra: { statusStartDate: "2019-03-01", statusEndDate: "2025-12-31" },
    });
    for (const item of content.items) {
      for (const level of item.roleLevels) expect(ROLE_LEVELS).toContain(level);
    }
  });

  it("maps each CFAssociation field, groupings and external nodes included", () => {
    const children = content.associations.filter((a) => a.type === "isChildOf");
    expect(children).toHaveLength(13);
    const domains = children.filter((a) => a.destination.identifier === content.framework.identifier);
    expect(domains.map((a) => a.sequenceNumber)).toEqual([1, 2, 3]);
    const hr11 = byCode(content, "HR-1.1");
    const child = children.find((a) => a.origin.identifier === hr11.identifier) as CoreAssociation;
    expect(child).toMatchObject({ sequenceNumber: 1, destination: { identifier: byCode(content, "HR-1").identifier } });
    expect(child.origin).toEqual({ identifier: hr11.identifier, uri: hr11.extra.uri, title: hr11.statement.en });
    expect(Object.keys(child.extra).sort()).toEqual(["CFDocumentURI", "uri"]);

    const match = content.associations.find((a) => a.type === "exactMatchOf") as CoreAssociation;
    expect(match.destination.uri).toMatch(/^https:\/\/case\.un-standards\.example\//);
    expect(match.extra.notes).toBe("Aligned with the 1990 UN Basic Principles.");

    const grouped = content.associations.filter((a) => a.grouping);
    expect(grouped.map((a) => a.grouping?.title)).toEqual(["Cross-cutting: gender", "Cross-cutting: human rights"]);
    expect(grouped.every((a) => a.type === "isRelatedTo")).toBe(true);
    expect(new Set(content.associations.map((a) => a.type))).toEqual(
      new Set(["isChildOf", "exactMatchOf", "isRelatedTo", "precedes", "replacedBy"]),
    );
  });

  it("keeps CFDefinitions verbatim", () => {
    expect(content.definitions).toEqual(pkg.CFDefinitions);
    expect(Object.keys(content.definitions).sort()).toEqual([
      "CFAssociationGroupings",
      "CFConcepts",
      "CFItemTypes",
      "CFLicenses",
      "CFSubjects",
    ]);
  });

  it("exports back to the very package it read", () => {
    expect(toCasePackage(content)).toEqual(pkg);
    // Field by field, in the same order as the file (the CASE binding's order).
    expect(JSON.stringify(toCasePackage(content), null, 2)).toBe(JSON.stringify(pkg, null, 2));
  });

  it("re-parses its own export to the same content", () => {
    expect(parseCasePackage(throughJson(toCasePackage(content)))).toEqual(content);
  });

  it("returns values that share nothing with the input", () => {
    const copy = throughJson(pkg);
    const parsed = parseCasePackage(copy);
    ((copy.CFItems as Json[])[0]?.CFItemTypeURI as Json).title = "changed";
    expect(parsed).toEqual(content);
  });
});

describe("parseCasePackage: unicode.json", () => {
  const pkg = fixture("unicode");
  const content = parseCasePackage(pkg);
  const rawItems = pkg.CFItems as Json[];

  it("keeps every statement in its language, code point for code point", () => {
    const expected: Array<[string, string]> = [
      ["DH-1", "ar"],
      ["DH-2", "zh-Hans"],
      ["ПС-1", "ru"],
      ["ПЖ-1", "uk"],
      ["DH", "fr"],
    ];
    for (const [code, language] of expected) {
      const item = byCode(content, code);
      const source = rawItems.find((i) => i.humanCodingScheme === code) as Json;
      expect(item.language).toBe(language);
      expect(codePoints(item.statement[language] ?? "")).toEqual(codePoints(source.fullStatement as string));
    }
    expect(byCode(content, "ПЖ-1").abbreviatedStatement).toEqual({ uk: "Права жінок і дівчат" });
  });

  it("keeps characters beyond the BMP whole", () => {
    const zh = byCode(content, "DH-2").statement["zh-Hans"] ?? "";
    expect(codePoints(zh)).toContain(0x20000); // 𠀀 CJK extension B
    expect(codePoints(zh)).toContain(0x20001);
    const en = byCode(content, "UF-𝟏");
    expect(codePoints(en.code)).toContain(0x1d7cf); // 𝟏 mathematical bold digit one
    expect(codePoints(en.statement.en ?? "")).toEqual(expect.arrayContaining([0x1d400, 0x1d419, 0x1f6e1, 0xfe0f])); // 𝐀 𝐙 🛡️
    const uk = byCode(content, "ПЖ-1").statement.uk ?? "";
    // 👩🏽‍⚖️: woman, skin tone, zero-width joiner, scales, variation selector.
    expect(codePoints(uk)).toEqual(expect.arrayContaining([0x1f469, 0x1f3fd, 0x200d, 0x2696, 0xfe0f]));
    expect(codePoints(content.framework.title)).toEqual(codePoints((pkg.CFDocument as Json).title as string));
    // Combining characters are kept as they are, not normalised.
    expect(byCode(content, "DH-3").statement.fr).toContain("e\u0301quité");
  });

  it("reads translations from extensions.concordat and keeps the other extensions", () => {
    const item = byCode(content, "UF-𝟏");
    expect(Object.keys(item.statement).sort()).toEqual(["ar", "en", "fr", "zh-Hans"]);
    expect(item.statement.fr).toBe("Explique à ses subordonnés les règles 𝐀 à 𝐙 relatives à l’usage de la force 🛡️.");
    expect(codePoints(item.statement["zh-Hans"] ?? "")).toContain(0x20000);
    expect(item.abbreviatedStatement).toEqual({
      en: "Rules on the use of force",
      fr: "Règles sur l’usage de la force",
    });
    expect(item.extra.extensions).toEqual({ opensalt: { markdown: true } });
  });

  it("gives an item without a language the document's", () => {
    expect(byCode(content, "DH-3").language).toBe("fr");
  });

  it("keeps Unicode in association extras", () => {
    const related = content.associations.find((a) => a.type === "isRelatedTo") as CoreAssociation;
    expect(related.extra).toMatchObject({
      notes: "Связь между 🛡️ компетенциями",
      extensions: { reviewer: "Олена Коваленко" },
    });
  });

  it("round-trips through export and JSON text", () => {
    const exported = toCasePackage(content);
    expect(parseCasePackage(throughJson(exported))).toEqual(content);
    const item = (exported.CFItems as Json[]).find((i) => i.humanCodingScheme === "UF-𝟏");
    expect(item?.extensions).toEqual((rawItems.find((i) => i.humanCodingScheme === "UF-𝟏") as Json).extensions);
    // The one difference from the file: the inherited language is now written out.
    const dh3 = (exported.CFItems as Json[]).find((i) => i.humanCodingScheme === "DH-3");
    expect(dh3?.language).toBe("fr");
  });
});

describe("parseCasePackage: case-1.0-wrapped.json (a CASE 1.0 package in a CFPackage wrapper)", () => {
  const pkg = fixture("case-1.0-wrapped");
  const inner = pkg.CFPackage as Json;
  const content = parseCasePackage(pkg);

  it("unwraps the package and reads its records", () => {
    expect(content.items).toHaveLength(3);
    expect(content.associations).toHaveLength(3);
    expect(parseCasePackage(inner)).toEqual(content);
  });

  it("takes the document language from the first item when the CFDocument has none", () => {
    expect(content.framework.language).toBe("en-GB");
    expect(content.framework.subject).toEqual(["Security Sector Reform"]);
    expect(content.framework.extra).toMatchObject({ statusStartDate: null, licenseURI: null, version: "1.0" });
  });

  it("accepts conceptKeywords and educationLevel as a bare string", () => {
    expect(byCode(content, "UF").themes).toEqual(["use-of-force"]);
    expect(byCode(content, "UF-1")).toMatchObject({
      themes: ["use-of-force"],
      roleLevels: [],
      extra: { educationLevel: "custodial" },
    });
    expect(byCode(content, "UF-1.1").extra.educationLevel).toEqual(["custodial", "supervisory"]);
  });

  it("types an item from CFItemTypeURI, or as Item when it has no type at all", () => {
    expect(byCode(content, "UF-1").type).toBe("Competency");
    expect(byCode(content, "UF-1").extra.CFItemTypeURI).toMatchObject({ title: "Competency" });
    expect(byCode(content, "UF-1.1")).toMatchObject({ type: "Item", language: "en-GB" });
  });

  it("reads a null grouping as none", () => {
    expect(content.associations.every((a) => a.grouping === undefined)).toBe(true);
    expect(content.associations.every((a) => !("CFAssociationGroupingURI" in a.extra))).toBe(true);
  });

  it("exports a 1.1 package that reads back the same", () => {
    const exported = toCasePackage(content, { caseVersion: "1.1" });
    expect((exported.CFDocument as Json).caseVersion).toBe("1.1");
    expect((exported.CFItems as Json[])[0]?.conceptKeywords).toEqual(["use-of-force"]);
    const again = parseCasePackage(throughJson(exported));
    const { caseVersion, ...extra } = again.framework.extra;
    expect(caseVersion).toBe("1.1");
    expect({ ...again, framework: { ...again.framework, extra } }).toEqual(content);
    expect(parseCasePackage(throughJson(toCasePackage(content)))).toEqual(content);
  });
});

describe("parseCasePackage: invalid packages", () => {
  it("names every problem of invalid.json by record and CASE field, in one error", () => {
    const error = rejection(fixture("invalid"));
    expect(error.code).toBe(ErrorCode.InvalidArgument);
    expect(error.message).toBe("the CASE package is invalid: 6 problems");
    expect(error.violations).toEqual([
      { field: "CFItems[1] (b2d5f8a1-3c6e-4d9f-8a2b-4e7c0f3d6a91): fullStatement", description: "is required" },
      {
        field: "CFItems[2] (a1c4e7f0-2b5d-4c8e-9f1a-3d6b9e2c5f80): identifier",
        description: "repeats the identifier of CFItems[0]",
      },
      {
        field: "CFAssociations[0] (f6b9d2e5-7a0c-4b3d-8e6f-8c1a4d7b0e35): associationType",
        description: expect.stringContaining("'isCousinOf'"),
      },
      {
        field: "CFAssociations[1] (f6b9d2e5-7a0c-4b3d-8e6f-8c1a4d7b0e36): originNodeURI.identifier",
        description: expect.stringContaining("'c3e6a9b2-4d7f-4e0a-9b3c-5f8d1a4e7b02'"),
      },
      {
        field: "CFAssociations[2] (f6b9d2e5-7a0c-4b3d-8e6f-8c1a4d7b0e37): CFAssociationGroupingURI.identifier",
        description: expect.stringContaining("not in CFDefinitions.CFAssociationGroupings"),
      },
      {
        field: "CFAssociations[3] (f6b9d2e5-7a0c-4b3d-8e6f-8c1a4d7b0e38): sequenceNumber",
        description: "must be a non-negative integer",
      },
    ]);
  });

  it("reports a non-object, a missing CFDocument or a CFItems that is no list as one clear problem", () => {
    for (const json of [null, "CFPackage", [], 42]) {
      expect(rejection(json).violations).toEqual([
        { field: "CFPackage", description: expect.stringContaining("JSON object") },
      ]);
    }
    expect(rejection({ CFItems: [] }).violations).toEqual([
      { field: "CFDocument", description: expect.stringContaining("is required") },
    ]);
    expect(rejection({ CFPackage: { CFDocument: "x" } }).violations).toEqual([
      { field: "CFDocument", description: "must be an object" },
    ]);
    const document = (fixture("case-1.0-wrapped").CFPackage as Json).CFDocument;
    expect(rejection({ CFDocument: document, CFItems: {} }).violations).toEqual([
      { field: "CFItems", description: "must be an array" },
    ]);
  });

  it("names model fields by their CASE names", () => {
    const pkg = fixture("ssr-core");
    const items = pkg.CFItems as Json[];
    const associations = pkg.CFAssociations as Json[];
    Object.assign(items[1] as Json, {
      humanCodingScheme: 7,
      CFItemType: 3,
      extensions: { concordat: { roleLevels: ["custodial", ""] } },
      conceptKeywords: [5],
      lastChangeDateTime: "yesterday",
    });
    Object.assign(items[2] as Json, { fullStatement: "   " });
    Object.assign(items[3] as Json, { language: "not a language!" });
    delete (associations[0] as Json).lastChangeDateTime;
    Object.assign(associations[1] as Json, {
      associationType: "",
      originNodeURI: "HR-1",
      destinationNodeURI: { identifier: "x", uri: 5 },
    });
    (pkg.CFDocument as Json).title = "";
    const error = rejection(pkg);
    const at = (record: string) =>
      error.violations
        .filter((v) => v.field.startsWith(record))
        .map((v) => `${v.field.slice(v.field.indexOf(": ") + 2)}: ${v.description}`);
    expect(at("CFDocument")).toEqual(["title: must not be empty"]);
    expect(at("CFItems[1]")).toEqual([
      "humanCodingScheme: must be a string",
      "CFItemType: must be a string",
      "extensions.concordat.roleLevels.1: must not be empty",
      "conceptKeywords.0: must be a string",
      "lastChangeDateTime: is not an ISO 8601 time",
    ]);
    expect(at("CFItems[2]")).toEqual(["fullStatement: must not be empty"]);
    // Not also "fullStatement": the statement is keyed by the bad language, which is the one problem.
    expect(at("CFItems[3]")).toEqual(["language: is not a BCP 47 language tag"]);
    expect(at("CFAssociations[0]")).toEqual(["lastChangeDateTime: is required"]);
    expect(at("CFAssociations[1]")).toEqual([
      "associationType: must not be empty",
      "originNodeURI: must be an object",
      "destinationNodeURI.uri: must be a string",
    ]);
    expect(error.violations[0]?.field).toMatch(/^CFDocument: title$/);
  });

  it("names a bad translation under extensions.concordat, and refuses one that contradicts fullStatement", () => {
    const pkg = fixture("unicode");
    const item = (pkg.CFItems as Json[]).find((i) => i.humanCodingScheme === "UF-𝟏") as Json;
    const record = `CFItems[6] (${String(item.identifier)})`;
    item.extensions = { concordat: { statement: { fr: "", "not a tag!": "x", en: "Another English text" } } };
    expect(rejection(pkg).violations).toEqual([
      {
        field: `${record}: extensions.concordat.statement.en`,
        description: "differs from fullStatement, which holds the text in 'en'",
      },
      { field: `${record}: extensions.concordat.statement.fr`, description: "must not be empty" },
      { field: `${record}: extensions.concordat.statement.not a tag!`, description: "is not a BCP 47 language tag" },
    ]);
    item.extensions = { concordat: { statement: "Explique…" } };
    expect(fields(rejection(pkg))).toEqual([`${record}: extensions.concordat.statement`]);
  });

  it("reports an association that repeats an item's identifier", () => {
    const pkg = fixture("ssr-core");
    const items = pkg.CFItems as Json[];
    const associations = pkg.CFAssociations as Json[];
    (associations[4] as Json).identifier = items[0]?.identifier;
    expect(rejection(pkg).violations).toEqual([
      {
        field: `CFAssociations[4] (${String(items[0]?.identifier)}): identifier`,
        description: "repeats the identifier of CFItems[0]",
      },
    ]);
  });

  it("lists and counts every violation (the API bounds what it sends)", () => {
    const pkg = fixture("case-1.0-wrapped");
    const inner = pkg.CFPackage as Json;
    inner.CFAssociations = [];
    inner.CFItems = Array.from({ length: 250 }, (_, i) => ({
      identifier: `item-${i}`,
      lastChangeDateTime: "2026-01-01T00:00:00Z",
    }));
    const error = rejection(pkg);
    expect(error.message).toBe("the CASE package is invalid: 250 problems");
    expect(error.violations).toHaveLength(250);
    expect(error.violations[199]).toEqual({
      field: "CFItems[199] (item-199): fullStatement",
      description: "is required",
    });
  });
});

describe("toCasePackage", () => {
  const content = parseCasePackage(fixture("ssr-core"));

  it("writes the top-level form with every list and no rubrics", () => {
    const exported = toCasePackage({ ...content, items: [], associations: [], definitions: {} });
    expect(Object.keys(exported)).toEqual(["CFDocument", "CFItems", "CFAssociations", "CFDefinitions", "CFRubrics"]);
    expect(exported).toMatchObject({ CFItems: [], CFAssociations: [], CFDefinitions: {}, CFRubrics: [] });
  });

  it("keeps the given order of records", () => {
    const reversed = {
      ...content,
      items: [...content.items].reverse(),
      associations: [...content.associations].reverse(),
    };
    const exported = toCasePackage(reversed);
    expect((exported.CFItems as Json[]).map((i) => i.identifier)).toEqual(reversed.items.map((i) => i.identifier));
    expect((exported.CFAssociations as Json[]).map((a) => a.identifier)).toEqual(
      reversed.associations.map((a) => a.identifier),
    );
  });

  it("stamps or removes caseVersion on request, and otherwise leaves it as it was", () => {
    const document = (options?: { caseVersion?: "1.0" | "1.1" }) => toCasePackage(content, options).CFDocument as Json;
    expect(document().caseVersion).toBe("1.1");
    expect(document({ caseVersion: "1.0" })).not.toHaveProperty("caseVersion");
    const without = { ...content, framework: { ...content.framework, extra: { uri: "https://example.org/doc" } } };
    expect(toCasePackage(without).CFDocument).not.toHaveProperty("caseVersion");
    expect(toCasePackage(without, { caseVersion: "1.1" }).CFDocument).toHaveProperty("caseVersion", "1.1");
  });

  it("writes translations under extensions.concordat, next to other extensions, and omits empty lists", () => {
    const base = byCode(content, "HR");
    const item: CoreItem = {
      ...base,
      statement: { en: "Human rights", fr: "Droits humains", ar: "حقوق الإنسان" },
      abbreviatedStatement: { fr: "DH" },
      roleLevels: [],
      themes: [],
      code: "",
      extra: { ...base.extra, extensions: { opensalt: { markdown: true }, concordat: { reviewedBy: "secretariat" } } },
    };
    const [written] = toCasePackage({ ...content, items: [item] }).CFItems as Json[];
    expect(written).toMatchObject({ fullStatement: "Human rights", language: "en" });
    expect(written).not.toHaveProperty("abbreviatedStatement");
    expect(written).not.toHaveProperty("humanCodingScheme");
    expect(written).not.toHaveProperty("educationLevel");
    expect(written).not.toHaveProperty("conceptKeywords");
    expect(written?.extensions).toEqual({
      opensalt: { markdown: true },
      concordat: {
        reviewedBy: "secretariat",
        statement: { fr: "Droits humains", ar: "حقوق الإنسان" },
        abbreviatedStatement: { fr: "DH" },
      },
    });
    const [back] = parseCasePackage(
      throughJson({ ...toCasePackage(content), CFItems: [written], CFAssociations: [] }),
    ).items;
    expect(back).toEqual(item);
  });

  it("lets the modelled fields win over stray copies in extra", () => {
    const base = byCode(content, "HR-1");
    const item: CoreItem = {
      ...base,
      roleLevels: ["custodial"],
      extra: { ...base.extra, fullStatement: "stale", humanCodingScheme: "OLD", educationLevel: ["09"] },
    };
    const [written] = toCasePackage({ ...content, items: [item] }).CFItems as Json[];
    expect(written).toMatchObject({
      fullStatement: base.statement.en,
      humanCodingScheme: "HR-1",
      // educationLevel is CASE's own (grade levels), kept; role levels travel in the extension.
      educationLevel: ["09"],
      extensions: { concordat: { roleLevels: ["custodial"] } },
    });
  });

  it("keeps the parts of a node reference the core does not model (CASE 1.1 targetType)", () => {
    const pkg = fixture("ssr-core");
    const source = (pkg.CFAssociations as Json[])[13] as Json;
    (source.destinationNodeURI as Json).targetType = "CASE";
    const parsed = parseCasePackage(pkg);
    const association = parsed.associations[13] as CoreAssociation;
    expect(association.destination).not.toHaveProperty("targetType");
    expect(association.extra.destinationNodeURI).toEqual({ targetType: "CASE" });
    expect(toCasePackage(parsed)).toEqual(pkg);
  });

  it("keeps a __proto__ member of extra as data", () => {
    const pkg = fixture("ssr-core");
    const text = JSON.stringify(pkg).replace('"fullStatement":', '"__proto__":{"polluted":true},"fullStatement":');
    const parsed = parseCasePackage(JSON.parse(text));
    const extra = parsed.items[0]?.extra as Json;
    expect(Object.hasOwn(extra, "__proto__")).toBe(true);
    expect(({} as Json).polluted).toBeUndefined();
    const written = (toCasePackage(parsed).CFItems as Json[])[0] as Json;
    expect(Object.hasOwn(written, "__proto__")).toBe(true);
    expect(Object.getPrototypeOf(written)).toBe(Object.prototype);
    expect(JSON.stringify(toCasePackage(parsed))).toContain('"__proto__":{"polluted":true}');
  });
});

// ---------------------------------------------------------------------------------------------
// property: any valid core content survives export and re-import, and the export is stable

const LANGUAGES = ["en", "fr", "ar", "zh-Hans", "ru", "uk", "es", "pt-BR"] as const;
/** `s` without the characters a text of `kind` may not hold (node/text.ts). */
const allowed =
  (kind: TextKind) =>
  (s: string): string => {
    let out = s;
    for (let found = forbiddenCharacter(out, kind); found; found = forbiddenCharacter(out, kind))
      out = out.slice(0, found.index) + out.slice(found.index + 1);
    return out;
  };
/** Any Unicode a text of `kind` may hold, astral planes and lone surrogates included; text fields must not be blank. */
const anyString = (maxLength: number, kind: TextKind = TextKind.Line) =>
  fc.string({ unit: "binary", maxLength }).map(allowed(kind));
const text = (maxLength: number, kind: TextKind = TextKind.Line) =>
  fc
    .string({ unit: "binary", minLength: 1, maxLength })
    .map(allowed(kind))
    .filter((s) => s.trim() !== "");
/** A JSON value whose strings and keys a text may hold. */
const allowedJson = (value: unknown): unknown => {
  const clean = allowed(TextKind.Multiline);
  if (typeof value === "string") return clean(value);
  if (Array.isArray(value)) return value.map(allowedJson);
  if (value !== null && typeof value === "object")
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [clean(k), allowedJson(v)]));
  return value;
};
const time = fc
  .date({ min: new Date("2000-01-01T00:00:00Z"), max: new Date("2100-01-01T00:00:00Z"), noInvalidDate: true })
  .map((d) => d.toISOString());
const language = fc.constantFrom(...LANGUAGES);
/** JSON values as they come out of a file (fc.jsonValue may give -0, which JSON text cannot hold). */
const json = fc.jsonValue({ maxDepth: 2 }).map((v) => throughJson(allowedJson(v)));
/**
 * `extra` members under names the core does not model, as another tool would write them; an
 * optional attribute holding a blank string is absent in CASE, so none is generated.
 */
const extra = (names: readonly string[]) =>
  fc
    .dictionary(
      fc.constantFrom(...names),
      json.filter((v) => typeof v !== "string" || v.trim() !== ""),
      { maxKeys: 4 },
    )
    .chain((members) =>
      fc
        .option(fc.dictionary(fc.constantFrom("opensalt", "vendor"), json, { minKeys: 1, maxKeys: 2 }), {
          nil: undefined,
        })
        .map((extensions) => (extensions === undefined ? members : { ...members, extensions })),
    );

/** A language map with a text in `main`, or (without it) any non-empty one. */
const langMap = (main: string | undefined, kind: TextKind = TextKind.Line): fc.Arbitrary<Record<string, string>> =>
  main === undefined
    ? fc.dictionary(language, text(30, kind), { minKeys: 1, maxKeys: 3 })
    : fc
        .tuple(fc.dictionary(language, text(30, kind), { maxKeys: 3 }), text(30, kind))
        .map(([others, t]) => ({ ...others, [main]: t }));

const frameworkArb = (identifier: string): fc.Arbitrary<CoreFramework> =>
  fc.record(
    {
      identifier: fc.constant(identifier),
      title: text(40),
      description: text(60, TextKind.Multiline),
      creator: text(20),
      publisher: text(20),
      language,
      adoptionStatus: fc.constantFrom(...ADOPTION_STATUSES),
      subject: fc.array(anyString(20), { maxLength: 3 }),
      lastChangeDateTime: time,
      extra: extra(["uri", "version", "officialSourceURL", "notes", "frameworkType", "caseVersion", "CFPackageURI"]),
    },
    { requiredKeys: ["identifier", "title", "creator", "language", "lastChangeDateTime", "extra"] },
  );

const itemArb = (identifier: string): fc.Arbitrary<CoreItem> =>
  language.chain((lang) =>
    fc.record(
      {
        identifier: fc.constant(identifier),
        code: fc.oneof(fc.constant(""), text(20)),
        statement: langMap(lang, TextKind.Multiline),
        abbreviatedStatement: fc.oneof(langMap(lang), langMap(undefined)),
        type: fc.oneof(fc.constantFrom("Domain", "Competency", "Indicator", "Item"), text(20)),
        language: fc.constant(lang),
        roleLevels: fc.array(fc.constantFrom(...ROLE_LEVELS), { maxLength: 4 }),
        themes: fc.array(
          anyString(15).filter((s) => s !== ""),
          { maxLength: 3 },
        ),
        notes: text(40, TextKind.Multiline),
        listEnumeration: text(10),
        lastChangeDateTime: time,
        extra: extra([
          "uri",
          "alternativeLabel",
          "CFItemTypeURI",
          "subject",
          "licenseURI",
          "statusStartDate",
          "CFDocumentURI",
        ]),
      },
      {
        requiredKeys: [
          "identifier",
          "code",
          "statement",
          "type",
          "language",
          "roleLevels",
          "themes",
          "lastChangeDateTime",
          "extra",
        ],
      },
    ),
  );

const nodeRef = (known: readonly string[]): fc.Arbitrary<NodeRef> =>
  fc.oneof(
    fc.record(
      { identifier: fc.constantFrom(...known), uri: anyString(40), title: anyString(40, TextKind.Multiline) },
      { requiredKeys: ["identifier"] },
    ),
    // An external node: anything but the package's identifiers, with a uri to find it.
    fc.record(
      { identifier: fc.uuid(), uri: text(40), title: anyString(40, TextKind.Multiline) },
      { requiredKeys: ["identifier", "uri"] },
    ),
  );

const associationArb = (
  identifier: string,
  nodes: readonly string[],
  groupings: readonly NodeRef[],
): fc.Arbitrary<CoreAssociation> =>
  fc
    .record(
      {
        identifier: fc.constant(identifier),
        type: fc.constantFrom(...ASSOCIATION_TYPES),
        origin: nodeRef(nodes),
        destination: nodeRef(nodes),
        sequenceNumber: fc.nat(),
        grouping: groupings.length > 0 ? fc.constantFrom(...groupings) : fc.constant(undefined),
        lastChangeDateTime: time,
        extra: extra(["uri", "notes", "CFDocumentURI"]),
      },
      { requiredKeys: ["identifier", "type", "origin", "destination", "lastChangeDateTime", "extra"] },
    )
    .map((a) => (a.grouping === undefined ? (({ grouping: _, ...rest }) => rest)(a) : a));

const contentArb: fc.Arbitrary<CasePackageContent> = fc
  .record({ items: fc.nat({ max: 8 }), associations: fc.nat({ max: 8 }), groupings: fc.nat({ max: 2 }) })
  .chain((n) =>
    fc
      .uniqueArray(fc.uuid(), {
        minLength: 1 + n.items + n.associations + n.groupings,
        maxLength: 1 + n.items + n.associations + n.groupings,
      })
      .chain((ids) => {
        const [documentId = "", ...rest] = ids;
        const itemIds = rest.slice(0, n.items);
        const associationIds = rest.slice(n.items, n.items + n.associations);
        const groupings = rest
          .slice(n.items + n.associations)
          .map((identifier, i) => ({ identifier, uri: `https://example.org/g/${identifier}`, title: `Grouping ${i}` }));
        const nodes = [documentId, ...itemIds];
        return fc.record({
          framework: frameworkArb(documentId),
          items: fc.tuple(...itemIds.map(itemArb)),
          associations: fc.tuple(...associationIds.map((id) => associationArb(id, nodes, groupings))),
          definitions: fc.constant<CoreDefinitions>(
            groupings.length > 0
              ? { CFAssociationGroupings: groupings.map((g) => ({ ...g, lastChangeDateTime: "2026-01-01T00:00:00Z" })) }
              : {},
          ),
        });
      }),
  );

describe("property: parse ∘ export", () => {
  it("gives back any valid content, through JSON text, and exports it again unchanged", () => {
    fc.assert(
      fc.property(contentArb, (content) => {
        const pkg = throughJson(toCasePackage(content));
        const back = parseCasePackage(pkg);
        expect(back).toEqual(content);
        expect(toCasePackage(back)).toEqual(pkg);
        expect(parseCasePackage({ CFPackage: pkg })).toEqual(back);
      }),
      { numRuns: 100 },
    );
  });

  it("is idempotent on packages in CASE 1.0 shapes: parse(export(parse(p))) equals parse(p)", () => {
    /** Rewrites an exported package the way a CASE 1.0 tool might have written it. */
    const in10Shape = (pkg: Json, flags: boolean[]): Json => {
      const flag = (i: number) => flags[i % flags.length] ?? false;
      const document = { ...(pkg.CFDocument as Json) };
      const items = (pkg.CFItems as Json[]).map((raw, i) => {
        const item = { ...raw };
        if (flag(i) && item.language === document.language) delete item.language;
        for (const list of ["conceptKeywords", "educationLevel"]) {
          const value = item[list];
          if (flag(i + 1) && Array.isArray(value) && value.length === 1) item[list] = value[0];
        }
        if (flag(i + 2)) delete item.CFItemType;
        return item;
      });
      const associations = (pkg.CFAssociations as Json[]).map((raw, i) =>
        flag(i + 3) && raw.CFAssociationGroupingURI === undefined ? { ...raw, CFAssociationGroupingURI: null } : raw,
      );
      const first = items[0];
      if (flag(4) && first?.language !== undefined && first.language === document.language) delete document.language;
      return {
        CFPackage: {
          CFDocument: document,
          CFItems: items,
          CFAssociations: associations,
          CFDefinitions: pkg.CFDefinitions,
        },
      };
    };
    fc.assert(
      fc.property(contentArb, fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }), (content, flags) => {
        const pkg = in10Shape(throughJson(toCasePackage(content)), flags);
        const parsed = parseCasePackage(pkg);
        expect(parseCasePackage(throughJson(toCasePackage(parsed)))).toEqual(parsed);
      }),
      { numRuns: 100 },
    );
  });
});
