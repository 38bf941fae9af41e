/**
 * A checker for 1EdTech CASE 1.1 CFPackage JSON (bare form), written from the CASE 1.1 service
 * model's data classes (CFPackage, CFPckgDocument, CFPckgItem, CFPckgAssociation, LinkURI,
 * LinkGenURI), its derived types (UUID, URL) and its vocabularies (CFAssociationTypeEnum with the
 * `ext:` extension pattern, CaseVersionEnum, TargetTypeEnum). Independent of node/core on purpose:
 * it checks what the exporter writes, not what the exporter believes.
 *
 * Rules:
 * - every attribute of multiplicity [1] is present; no attribute is `null` (JSON leaves an absent
 *   optional attribute out) and no attribute outside its class is present, except the CFDocumentURI
 *   (on items and associations) and CFPackageURI (on the document) that the non-package classes
 *   define and CASE tools such as OpenSALT also write into packages — checked as LinkURIs;
 * - identifiers of the document, items, associations, LinkURIs and definitions are UUIDs as the
 *   UUID type's pattern gives them (lower case, versions 1-5, variants 8-b), unique in the package;
 * - `uri` values are absolute URIs; officialSourceURL is an http(s) URL; lastChangeDateTime is an
 *   ISO 8601 date-time; status dates are ISO 8601 dates; languages are language tags;
 * - associationType is a CFAssociationTypeEnum token or `ext:` + [a-zA-Z0-9.-_]+; caseVersion, when
 *   present, is "1.1"; targetType, when present, is "CASE" or an `ext:` token;
 * - the package has one CFDocument and at least one CFItem; an association's grouping is one of
 *   CFDefinitions.CFAssociationGroupings;
 * - CFRubrics are CFRubric objects (identifier, uri, lastChangeDateTime; title, description), whose
 *   CFRubricCriteria are CFRubricCriterion objects (identifier, uri, lastChangeDateTime; category,
 *   description, CFItemURI, weight, position, rubricId, CFRubricCriterionLevels) whose levels are
 *   CFRubricCriterionLevel objects (identifier, uri, lastChangeDateTime; description, quality,
 *   score, feedback, position, criterionId); their identifiers are UUIDs, unique in the package.
 */

export interface CaseProblem {
  path: string;
  problem: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const EXT = /^ext:[a-zA-Z0-9.\-_]+$/;
const ASSOCIATION_TYPES = [
  "isChildOf",
  "isPeerOf",
  "isPartOf",
  "exactMatchOf",
  "precedes",
  "isRelatedTo",
  "replacedBy",
  "exemplar",
  "hasSkillLevel",
  "isTranslationOf",
];
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const LANGUAGE = /^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$/;

type Json = Record<string, unknown>;
type Check = (value: unknown, path: string, out: CaseProblem[]) => void;

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

const str: Check = (v, path, out) => {
  if (typeof v !== "string" || v.trim() === "") out.push({ path, problem: "must be a non-empty string" });
};
const uuid: Check = (v, path, out) => {
  if (typeof v !== "string" || !UUID.test(v))
    out.push({ path, problem: `must be a UUID (lower case, 8-4-4-4-12), not ${JSON.stringify(v)}` });
};
const uri: Check = (v, path, out) => {
  let ok = typeof v === "string" && /^[A-Za-z][A-Za-z0-9+.-]*:\S+$/.test(v);
  if (ok) {
    try {
      new URL(v as string);
    } catch {
      ok = false;
    }
  }
  if (!ok) out.push({ path, problem: `must be an absolute URI, not ${JSON.stringify(v)}` });
};
const url: Check = (v, path, out) => {
  if (typeof v !== "string" || !/^https?:\/\/\S+$/.test(v))
    out.push({ path, problem: `must be an http(s) URL, not ${JSON.stringify(v)}` });
};
const dateTime: Check = (v, path, out) => {
  if (typeof v !== "string" || !DATE_TIME.test(v) || Number.isNaN(Date.parse(v)))
    out.push({ path, problem: `must be an ISO 8601 date-time, not ${JSON.stringify(v)}` });
};
const date: Check = (v, path, out) => {
  if (typeof v !== "string" || !DATE.test(v) || Number.isNaN(Date.parse(v)))
    out.push({ path, problem: `must be an ISO 8601 date (YYYY-MM-DD), not ${JSON.stringify(v)}` });
};
const language: Check = (v, path, out) => {
  if (typeof v !== "string" || !LANGUAGE.test(v))
    out.push({ path, problem: `must be a language tag, not ${JSON.stringify(v)}` });
};
const integer: Check = (v, path, out) => {
  if (typeof v !== "number" || !Number.isInteger(v)) out.push({ path, problem: "must be an integer" });
};
const object: Check = (v, path, out) => {
  if (!isObject(v)) out.push({ path, problem: "must be an object" });
};
const listOf =
  (each: Check): Check =>
  (v, path, out) => {
    if (!Array.isArray(v)) out.push({ path, problem: "must be an array" });
    else for (const [i, x] of v.entries()) each(x, `${path}[${i}]`, out);
  };
const oneOf =
  (values: readonly string[], ext: boolean): Check =>
  (v, path, out) => {
    if (typeof v !== "string" || !(values.includes(v) || (ext && EXT.test(v))))
      out.push({
        path,
        problem: `must be one of ${values.join(", ")}${ext ? " or ext:…" : ""}, not ${JSON.stringify(v)}`,
      });
  };

/** A class: its required and optional attributes, each with its check. */
function record(required: Record<string, Check>, optional: Record<string, Check>): Check {
  return (v, path, out) => {
    if (!isObject(v)) {
      out.push({ path, problem: "must be an object" });
      return;
    }
    for (const [key, check] of Object.entries(required)) {
      if (!(key in v) || v[key] === undefined) out.push({ path: `${path}.${key}`, problem: "is required" });
      else if (v[key] === null) out.push({ path: `${path}.${key}`, problem: "is required and must not be null" });
      else check(v[key], `${path}.${key}`, out);
    }
    for (const [key, value] of Object.entries(v)) {
      if (key in required) continue;
      const check = optional[key];
      if (!check) out.push({ path: `${path}.${key}`, problem: "is not an attribute of this CASE 1.1 class" });
      else if (value === null)
        out.push({ path: `${path}.${key}`, problem: "must not be null (leave an absent optional attribute out)" });
      else check(value, `${path}.${key}`, out);
    }
  };
}

const linkUri = record({ title: str, identifier: uuid, uri }, {});
const linkGenUri = record({ title: str, identifier: str, uri }, { targetType: oneOf(["CASE"], true) });

const documentCheck = record(
  { identifier: uuid, uri, creator: str, title: str, lastChangeDateTime: dateTime },
  {
    frameworkType: str,
    caseVersion: oneOf(["1.1"], false),
    officialSourceURL: url,
    publisher: str,
    description: str,
    subject: listOf(str),
    subjectURI: listOf(linkUri),
    language,
    version: str,
    adoptionStatus: str,
    statusStartDate: date,
    statusEndDate: date,
    licenseURI: linkUri,
    notes: str,
    extensions: object,
    CFPackageURI: linkUri,
  },
);

const itemCheck = record(
  { identifier: uuid, fullStatement: str, uri, lastChangeDateTime: dateTime },
  {
    alternativeLabel: str,
    CFItemType: str,
    humanCodingScheme: str,
    listEnumeration: str,
    abbreviatedStatement: str,
    conceptKeywords: listOf(str),
    conceptKeywordsURI: linkUri,
    notes: str,
    subject: listOf(str),
    subjectURI: listOf(linkUri),
    language,
    educationLevel: listOf(str),
    CFItemTypeURI: linkUri,
    licenseURI: linkUri,
    statusStartDate: date,
    statusEndDate: date,
    extensions: object,
    CFDocumentURI: linkUri,
  },
);

const associationCheck = record(
  {
    identifier: uuid,
    associationType: oneOf(ASSOCIATION_TYPES, true),
    uri,
    originNodeURI: linkGenUri,
    destinationNodeURI: linkGenUri,
    lastChangeDateTime: dateTime,
  },
  {
    sequenceNumber: integer,
    CFAssociationGroupingURI: linkUri,
    notes: str,
    extensions: object,
    CFDocumentURI: linkUri,
  },
);

const number: Check = (v, path, out) => {
  if (typeof v !== "number" || !Number.isFinite(v)) out.push({ path, problem: "must be a number" });
};

const levelCheck = record(
  { identifier: uuid, uri, lastChangeDateTime: dateTime },
  {
    description: str,
    quality: str,
    score: number,
    feedback: str,
    position: integer,
    criterionId: uuid,
    extensions: object,
  },
);
const criterionCheck = record(
  { identifier: uuid, uri, lastChangeDateTime: dateTime },
  {
    category: str,
    description: str,
    CFItemURI: linkUri,
    weight: number,
    position: integer,
    rubricId: uuid,
    CFRubricCriterionLevels: listOf(levelCheck),
    extensions: object,
  },
);
const rubricCheck = record(
  { identifier: uuid, uri, lastChangeDateTime: dateTime },
  { title: str, description: str, CFRubricCriteria: listOf(criterionCheck), extensions: object },
);

/** A definition (CFConcept, CFSubject, CFLicense, CFItemType, CFAssociationGrouping): what they all require. */
const definitionCheck: Check = (v, path, out) => {
  if (!isObject(v)) {
    out.push({ path, problem: "must be an object" });
    return;
  }
  for (const [key, check] of [
    ["identifier", uuid],
    ["uri", uri],
    ["title", str],
    ["lastChangeDateTime", dateTime],
  ] as const) {
    if (v[key] === undefined || v[key] === null) out.push({ path: `${path}.${key}`, problem: "is required" });
    else check(v[key], `${path}.${key}`, out);
  }
  for (const [key, value] of Object.entries(v))
    if (value === null) out.push({ path: `${path}.${key}`, problem: "must not be null" });
};
const DEFINITION_LISTS = ["CFConcepts", "CFSubjects", "CFLicenses", "CFItemTypes", "CFAssociationGroupings"];

/** Every problem of `pkg` as a CASE 1.1 CFPackage; empty when it conforms. */
export function validateCasePackage(pkg: unknown): CaseProblem[] {
  const out: CaseProblem[] = [];
  record(
    { CFDocument: documentCheck, CFItems: listOf(itemCheck) },
    {
      CFAssociations: listOf(associationCheck),
      CFDefinitions: record(
        {},
        { ...Object.fromEntries(DEFINITION_LISTS.map((k) => [k, listOf(definitionCheck)])), extensions: object },
      ),
      CFRubrics: listOf(rubricCheck),
      extensions: object,
    },
  )(pkg, "CFPackage", out);
  if (!isObject(pkg)) return out;
  const items = Array.isArray(pkg.CFItems) ? (pkg.CFItems as unknown[]) : [];
  if (Array.isArray(pkg.CFItems) && items.length === 0)
    out.push({ path: "CFPackage.CFItems", problem: "must hold at least one CFItem" });
  // Identifiers are unique across the document, its items and its associations.
  const seen = new Map<unknown, string>();
  const claim = (v: unknown, path: string) => {
    if (!isObject(v) || typeof v.identifier !== "string") return;
    const first = seen.get(v.identifier);
    if (first) out.push({ path: `${path}.identifier`, problem: `repeats the identifier of ${first}` });
    else seen.set(v.identifier, path);
  };
  claim(pkg.CFDocument, "CFPackage.CFDocument");
  for (const [i, x] of items.entries()) claim(x, `CFPackage.CFItems[${i}]`);
  const associations = Array.isArray(pkg.CFAssociations) ? (pkg.CFAssociations as unknown[]) : [];
  for (const [i, x] of associations.entries()) claim(x, `CFPackage.CFAssociations[${i}]`);
  const rubrics = Array.isArray(pkg.CFRubrics) ? (pkg.CFRubrics as unknown[]) : [];
  for (const [i, r] of rubrics.entries()) {
    claim(r, `CFPackage.CFRubrics[${i}]`);
    const criteria = isObject(r) && Array.isArray(r.CFRubricCriteria) ? (r.CFRubricCriteria as unknown[]) : [];
    for (const [j, c] of criteria.entries()) {
      claim(c, `CFPackage.CFRubrics[${i}].CFRubricCriteria[${j}]`);
      const levels =
        isObject(c) && Array.isArray(c.CFRubricCriterionLevels) ? (c.CFRubricCriterionLevels as unknown[]) : [];
      for (const [k, l] of levels.entries())
        claim(l, `CFPackage.CFRubrics[${i}].CFRubricCriteria[${j}].CFRubricCriterionLevels[${k}]`);
    }
  }
  const definitions = isObject(pkg.CFDefinitions) ? pkg.CFDefinitions : {};
  const groupings = new Set(
    Array.isArray(definitions.CFAssociationGroupings)
      ? (definitions.CFAssociationGroupings as Json[]).map((g) => g?.identifier)
      : [],
  );
  associations.forEach((a, i) => {
    if (!isObject(a) || !isObject(a.CFAssociationGroupingURI)) return;
    if (!groupings.has(a.CFAssociationGroupingURI.identifier)) {
      out.push({
        path: `CFPackage.CFAssociations[${i}].CFAssociationGroupingURI.identifier`,
        problem: "is not in CFDefinitions.CFAssociationGroupings",
      });
    }
  });
  return out;
}
