import { z } from "zod";
import { invalidArgument, type FieldViolation } from "../errors.js";
import { quote } from "../text.js";
import { caseFrameworkIdentifier, caseRecordIdentifier, caseUri } from "./case-ids.js";
import {
  ASSOCIATION_TYPES,
  identifierSchema,
  isAssociationType,
  associationSchema,
  frameworkSchema,
  itemSchema,
  violationsOf,
  type CoreAssociation,
  type CoreContent,
  type CoreDefinitions,
  type CoreFramework,
  type CoreItem,
  type LangMap,
  type NodeRef,
} from "./model.js";

/**
 * The codec between a 1EdTech CASE 1.0/1.1 CFPackage (JSON, as OpenSALT and other CASE tools
 * publish it) and the core model. Only the framework, its items, associations and definitions are
 * CASE; modules and schemes are Concordat's own and never appear here.
 *
 * Fields Concordat models are mapped (humanCodingScheme → code, fullStatement → statement, …);
 * every other field is kept verbatim in the record's `extra` and written back on export, so that a
 * package from another tool comes back out as it went in. CASE has one statement per item; the
 * translations Concordat keeps travel in `extensions.concordat.statement` (and
 * `…abbreviatedStatement`), a language map, which tools that do not know it carry along untouched.
 *
 * The package is checked whole before anything is returned: an operator importing a framework
 * fixes every problem in one pass rather than one per attempt.
 */

/** What a CASE package holds, in core terms. */
export interface CasePackageContent {
  framework: CoreFramework;
  items: CoreItem[];
  associations: CoreAssociation[];
  definitions: CoreDefinitions;
}

export interface CaseExportOptions {
  /**
   * "1.1" stamps CFDocument.caseVersion; "1.0" removes it (in 1.1 it may only be "1.1"). Without
   * it, caseVersion is written as the framework's `extra` holds it.
   */
  caseVersion?: "1.0" | "1.1";
}

/** The key under `extensions` where Concordat keeps what CASE has no field for. */
const EXTENSION = "concordat";
/** CFItemType when an item names none: CASE allows that, the core model does not. */
const DEFAULT_ITEM_TYPE = "Item";
/** CFDocument.language when neither the document nor its first item names one. */
const DEFAULT_LANGUAGE = "en";

/**
 * Where the core keeps a package's CFRubrics (with their criteria and levels), verbatim: in its
 * definitions under this key, written back as the package's CFRubrics on export.
 */
export const RUBRICS = "CFRubrics";

/**
 * The attributes CASE 1.1 requires of each class. Any other attribute is optional, and an empty
 * string in one (OpenSALT writes `"abbreviatedStatement": ""`) means it is absent.
 */
const REQUIRED = {
  document: ["identifier", "uri", "creator", "title", "lastChangeDateTime"],
  item: ["identifier", "fullStatement", "uri", "lastChangeDateTime"],
  association: ["identifier", "associationType", "uri", "originNodeURI", "destinationNodeURI", "lastChangeDateTime"],
} as const;

/** CASE fields the core model maps; anything else is `extra`. */
const DOCUMENT_FIELDS = [
  "identifier",
  "title",
  "description",
  "creator",
  "publisher",
  "language",
  "adoptionStatus",
  "subject",
  "lastChangeDateTime",
] as const;
const ITEM_FIELDS = [
  "identifier",
  "humanCodingScheme",
  "fullStatement",
  "abbreviatedStatement",
  "CFItemType",
  "language",
  "conceptKeywords",
  "notes",
  "listEnumeration",
  "lastChangeDateTime",
] as const;
const ASSOCIATION_FIELDS = ["identifier", "associationType", "sequenceNumber", "lastChangeDateTime"] as const;
/**
 * Node references: the core model keeps identifier, uri and title; any other key (CASE 1.1
 * `targetType`) goes to `extra` under the reference's own field name, and back on export.
 */
const NODE_FIELDS = ["originNodeURI", "destinationNodeURI", "CFAssociationGroupingURI"] as const;
type NodeField = (typeof NODE_FIELDS)[number];

/** Field order of the CASE 1.1 binding, so that exported JSON reads like any other CASE tool's. */
const DOCUMENT_ORDER = [
  "identifier",
  "uri",
  "frameworkType",
  "caseVersion",
  "creator",
  "title",
  "lastChangeDateTime",
  "officialSourceURL",
  "publisher",
  "description",
  "subject",
  "subjectURI",
  "language",
  "version",
  "adoptionStatus",
  "statusStartDate",
  "statusEndDate",
  "licenseURI",
  "notes",
  "CFPackageURI",
  "extensions",
];
const ITEM_ORDER = [
  "identifier",
  "fullStatement",
  "alternativeLabel",
  "CFItemType",
  "uri",
  "humanCodingScheme",
  "listEnumeration",
  "abbreviatedStatement",
  "conceptKeywords",
  "conceptKeywordsURI",
  "notes",
  "subject",
  "subjectURI",
  "language",
  "educationLevel",
  "CFItemTypeURI",
  "licenseURI",
  "statusStartDate",
  "statusEndDate",
  "lastChangeDateTime",
  "CFDocumentURI",
  "extensions",
];
const ASSOCIATION_ORDER = [
  "identifier",
  "associationType",
  "sequenceNumber",
  "uri",
  "originNodeURI",
  "destinationNodeURI",
  "CFAssociationGroupingURI",
  "lastChangeDateTime",
  "notes",
  "CFDocumentURI",
  "extensions",
];
const LINK_ORDER = ["title", "identifier", "uri"];

/**
 * The attributes of the CASE 1.1 package classes (CFPckgDocument, CFPckgItem, CFPckgAssociation),
 * with the CFPackageURI and CFDocumentURI links CASE tools also write into packages: the orders
 * above name them all. On export, any other member a record carries (a CASE 1.0-only field,
 * Moodle's data) moves under `extensions`, so that the package holds CASE 1.1 attributes only.
 */
const CASE_ATTRIBUTES = {
  document: new Set(DOCUMENT_ORDER),
  item: new Set(ITEM_ORDER),
  association: new Set(ASSOCIATION_ORDER),
};

type Json = Record<string, unknown>;
/** A zod issue's path in CASE field names; null drops an issue already reported otherwise. */
type Rename = (issue: z.core.$ZodIssue) => PropertyKey[] | null;

/** What an association may point at without a uri, and the groupings the package defines. */
interface Nodes {
  identifiers: ReadonlySet<unknown>;
  groupings: ReadonlySet<unknown> | undefined;
}

// ---------------------------------------------------------------------------------------------
// import

/**
 * Reads a CASE CFPackage, bare (`{CFDocument, CFItems, …}`) or wrapped (`{CFPackage: {…}}`).
 * Throws INVALID_ARGUMENT naming every problem by record and CASE field, e.g.
 * `CFItems[3] (8f0d…): fullStatement`.
 */
export function parseCasePackage(json: unknown): CasePackageContent {
  const pkg = unwrap(json);
  const problems = new Problems();
  const doc = withoutEmptyOptionals(pkg.CFDocument, REQUIRED.document, DOCUMENT_FIELDS) as Json;
  const itemsIn = ((pkg.CFItems ?? []) as unknown[]).map((r) => withoutEmptyOptionals(r, REQUIRED.item, ITEM_FIELDS));
  const associationsIn = ((pkg.CFAssociations ?? []) as unknown[]).map((r) =>
    withoutEmptyOptionals(r, REQUIRED.association, ASSOCIATION_FIELDS),
  );
  const definitions = readDefinitions(pkg.CFDefinitions, problems);
  const rubrics = readRubrics(pkg.CFRubrics, problems);
  if (rubrics.length > 0) definitions[RUBRICS] = rubrics;
  const language = doc.language ?? firstItemLanguage(itemsIn) ?? DEFAULT_LANGUAGE;
  const framework = readFramework(doc, language, problems);
  const seen = new Map<unknown, string>([[doc.identifier, "the CFDocument"]]);
  const items = itemsIn.map((raw, i) => readItem(raw, i, language, seen, problems));
  const groupings = definitions.CFAssociationGroupings;
  const nodes: Nodes = {
    identifiers: new Set([doc.identifier, ...itemsIn.map((raw) => (isRecord(raw) ? raw.identifier : undefined))]),
    groupings:
      groupings &&
      new Set(groupings.flatMap((g) => (isRecord(g) && typeof g.identifier === "string" ? [g.identifier] : []))),
  };
  const associations = associationsIn.map((raw, i) => readAssociation(raw, i, nodes, seen, problems));
  problems.throwIfAny();
  if (!framework) throw new Error("unreachable: an invalid CFDocument is a problem");
  return restoreIdentifiers({
    framework,
    items: items.filter(isDefined),
    associations: associations.filter(isDefined),
    definitions,
  });
}

/**
 * Gives records exported by Concordat their Concordat identifiers back (node/core/case-ids.ts):
 * `extensions.concordat.identifier` names the record's identifier in the core, and associations
 * that point at such a record point at it by that identifier again.
 */
function restoreIdentifiers(content: CasePackageContent): CasePackageContent {
  const problems = new Problems();
  const local = new Map<string, string>();
  const take = <T extends { identifier: string; extra: Json }>(record: T, name: string): T => {
    const extensions = record.extra.extensions;
    if (!isRecord(extensions) || !isRecord(extensions[EXTENSION]) || !("identifier" in extensions[EXTENSION]))
      return record;
    const { identifier, ...ours } = extensions[EXTENSION];
    const parsed = identifierSchema.safeParse(identifier);
    if (!parsed.success) {
      problems.add(
        name,
        `extensions.${EXTENSION}.identifier`,
        parsed.error.issues[0]?.message ?? "is not an identifier",
      );
      return record;
    }
    local.set(record.identifier, parsed.data);
    const { [EXTENSION]: _, ...others } = extensions;
    const kept: Json = Object.keys(ours).length > 0 ? { ...others, [EXTENSION]: ours } : others;
    const { extensions: __, ...extra } = record.extra;
    return {
      ...record,
      identifier: parsed.data,
      extra: Object.keys(kept).length > 0 ? { ...extra, extensions: kept } : extra,
    };
  };
  const framework = take(content.framework, "CFDocument");
  const items = content.items.map((item, i) => take(item, recordName("CFItems", i, item.identifier)));
  const taken = content.associations.map((a, i) => take(a, recordName("CFAssociations", i, a.identifier)));
  if (local.size === 0) return content;
  const seen = new Map<string, string>();
  [framework, ...items, ...taken].forEach((record, i) => {
    const name =
      i === 0
        ? "CFDocument"
        : i <= items.length
          ? recordName("CFItems", i - 1, record.identifier)
          : recordName("CFAssociations", i - 1 - items.length, record.identifier);
    const first = seen.get(record.identifier);
    if (first !== undefined)
      problems.add(name, `extensions.${EXTENSION}.identifier`, `repeats the identifier of ${first}`);
    else seen.set(record.identifier, name);
  });
  problems.throwIfAny();
  const relink = (ref: NodeRef): NodeRef => {
    const id = local.get(ref.identifier);
    return id === undefined ? ref : { ...ref, identifier: id };
  };
  const associations = taken.map((a) => ({ ...a, origin: relink(a.origin), destination: relink(a.destination) }));
  return { ...content, framework, items, associations };
}

/** The package object, or a throw naming the one structural problem that stops reading it. */
function unwrap(json: unknown): Json {
  const problems = new Problems();
  let pkg = json;
  if (isRecord(pkg) && !("CFDocument" in pkg) && "CFPackage" in pkg) pkg = pkg.CFPackage;
  if (!isRecord(pkg)) {
    problems.add("CFPackage", "", "must be a JSON object holding a CFDocument (a CASE CFPackage)");
    problems.throwIfAny();
    return {};
  }
  if (pkg.CFDocument === undefined) problems.add("CFDocument", "", "is required: a CASE package has one CFDocument");
  else if (!isRecord(pkg.CFDocument)) problems.add("CFDocument", "", "must be an object");
  for (const list of ["CFItems", "CFAssociations"] as const) {
    if (pkg[list] !== undefined && !Array.isArray(pkg[list])) problems.add(list, "", "must be an array");
  }
  if (pkg.CFDefinitions !== undefined && !isRecord(pkg.CFDefinitions))
    problems.add("CFDefinitions", "", "must be an object");
  if (pkg.CFRubrics !== undefined && pkg.CFRubrics !== null && !Array.isArray(pkg.CFRubrics))
    problems.add("CFRubrics", "", "must be an array");
  problems.throwIfAny();
  return pkg;
}

function readDefinitions(raw: unknown, problems: Problems): CoreDefinitions {
  if (raw === undefined) return {};
  const lists: Array<[string, unknown[]]> = [];
  for (const [key, value] of Object.entries(raw as Json)) {
    if (key === RUBRICS)
      problems.add("CFDefinitions", key, "is not a definition list: CFRubrics belong in the package");
    else if (Array.isArray(value)) lists.push([key, structuredClone(value)]);
    else problems.add("CFDefinitions", key, "must be an array: Concordat keeps CFDefinitions as lists of definitions");
  }
  return Object.fromEntries(lists);
}

/**
 * The package's CFRubrics, verbatim, once their shape is checked: each rubric, criterion and
 * criterion level an object with a non-empty string identifier, criteria and levels in lists.
 */
function readRubrics(raw: unknown, problems: Problems): unknown[] {
  if (!Array.isArray(raw)) return [];
  const checkList = (list: unknown, where: string, children: false | "levels") => {
    if (list === undefined || list === null) return;
    if (!Array.isArray(list)) {
      problems.add(where, "", "must be an array");
      return;
    }
    for (const [i, entry] of list.entries()) checkOne(entry, `${where}[${i}]`, children);
  };
  const checkOne = (entry: unknown, where: string, children: false | "criteria" | "levels") => {
    if (!isRecord(entry)) {
      problems.add(where, "", "must be an object");
      return;
    }
    if (typeof entry.identifier !== "string" || entry.identifier.trim() === "")
      problems.add(where, "identifier", "is required: a non-empty string (a UUID)");
    if (children === "criteria") checkList(entry.CFRubricCriteria, `${where}.CFRubricCriteria`, "levels");
    if (children === "levels") checkList(entry.CFRubricCriterionLevels, `${where}.CFRubricCriterionLevels`, false);
  };
  for (const [i, rubric] of raw.entries()) checkOne(rubric, `CFRubrics[${i}]`, "criteria");
  return structuredClone(raw).map(withoutAbsent);
}

/** A rubric's members (and theirs) without the null and blank strings that stand for "not given". */
function withoutAbsent(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutAbsent);
  if (!isRecord(value)) return value;
  // fromEntries, not assignment: a `__proto__` member stays data.
  return Object.fromEntries(
    Object.entries(value).flatMap(([key, v]) =>
      v === null || (typeof v === "string" && v.trim() === "") ? [] : [[key, withoutAbsent(v)]],
    ),
  );
}

/**
 * The record without its optional attributes that hold an empty (or blank) string, nor the
 * optional ones the core models (`modelled`) that hold null: CASE tools write `""` and CASE 1.0
 * tools `null` for "not given". Required attributes stay, so that an empty one is reported; other
 * nulls stay in `extra` as they came (the export leaves them out).
 */
function withoutEmptyOptionals(record: unknown, required: readonly string[], modelled: readonly string[]): unknown {
  if (!isRecord(record)) return record;
  const absent = (key: string, value: unknown) =>
    (typeof value === "string" && value.trim() === "") || (value === null && modelled.includes(key));
  return Object.fromEntries(
    Object.entries(record).filter(([key, value]) => required.includes(key) || !absent(key, value)),
  );
}

/** `language` is the document's, else its first item's: CASE 1.0 documents often name none. */
function readFramework(doc: Json, language: unknown, problems: Problems): CoreFramework | undefined {
  const { identifier, title, description, creator, publisher, adoptionStatus, subject, lastChangeDateTime } = doc;
  const candidate = compact({
    identifier,
    title,
    description,
    creator,
    publisher,
    language,
    adoptionStatus,
    // CASE 1.0 allows one subject as a bare string.
    subject: typeof subject === "string" ? [subject] : (subject ?? undefined),
    lastChangeDateTime,
    extra: structuredClone(omit(doc, DOCUMENT_FIELDS)),
  });
  return validated<CoreFramework>(frameworkSchema, candidate, "CFDocument", (issue) => issue.path, problems);
}

function firstItemLanguage(items: readonly unknown[]): string | undefined {
  const first = items[0];
  return isRecord(first) && typeof first.language === "string" ? first.language : undefined;
}

function readItem(
  raw: unknown,
  index: number,
  documentLanguage: unknown,
  seen: Map<unknown, string>,
  problems: Problems,
): CoreItem | undefined {
  if (!isRecord(raw)) {
    problems.add(`CFItems[${index}]`, "", "must be an object");
    return undefined;
  }
  const record = recordName("CFItems", index, raw.identifier);
  claimIdentifier(seen, raw.identifier, record, `CFItems[${index}]`, problems);
  const {
    identifier,
    humanCodingScheme,
    fullStatement,
    abbreviatedStatement,
    CFItemType,
    language,
    conceptKeywords,
    notes,
    listEnumeration,
    lastChangeDateTime,
    extensions,
    ...extra
  } = raw;
  const lang = language ?? documentLanguage;
  const carried = splitExtensions(extensions);
  if (carried.kept !== undefined) extra.extensions = carried.kept;
  if (fullStatement === undefined) problems.add(record, "fullStatement", "is required");

  const statement = langMap(fullStatement, lang, carried.statement, record, "statement", problems);
  const abbreviated = langMap(
    abbreviatedStatement,
    lang,
    carried.abbreviatedStatement,
    record,
    "abbreviatedStatement",
    problems,
  );
  const type = itemType(CFItemType, extra.CFItemTypeURI);
  const candidate = compact({
    identifier,
    code: humanCodingScheme ?? "",
    statement,
    abbreviatedStatement: Object.keys(abbreviated).length > 0 ? abbreviated : undefined,
    type: type.value,
    language: lang,
    // CASE's educationLevel holds grade levels: it stays in `extra`, and role levels travel in the extension.
    roleLevels: listOf(carried.roleLevels),
    themes: listOf(conceptKeywords),
    notes,
    listEnumeration,
    lastChangeDateTime,
    extra: structuredClone(extra),
  });
  const rename: Rename = ({ path, code }) => {
    const [head, key, ...rest] = path;
    switch (head) {
      case "code":
        return ["humanCodingScheme", ...path.slice(1)];
      case "statement":
      case "abbreviatedStatement": {
        const caseName = head === "statement" ? "fullStatement" : "abbreviatedStatement";
        if (key === undefined) return head === "statement" && fullStatement === undefined ? null : [caseName];
        // A bad key in the item's own language is the bad `language`, reported as such.
        if (key === lang) return code === "invalid_key" ? null : [caseName];
        return ["extensions", EXTENSION, head, key, ...rest];
      }
      case "type":
        return type.field;
      case "roleLevels":
        return ["extensions", EXTENSION, "roleLevels", ...path.slice(1)];
      case "themes":
        return ["conceptKeywords", ...path.slice(1)];
      case "language":
        // An inherited language is the CFDocument's problem, reported there once.
        return language === undefined ? null : path;
      default:
        return path;
    }
  };
  return validated<CoreItem>(itemSchema, candidate, record, rename, problems);
}

/** CFItemType, else the title of CFItemTypeURI, else "Item": CASE lets an item have no type. */
function itemType(CFItemType: unknown, typeURI: unknown): { value: unknown; field: PropertyKey[] } {
  if (typeof CFItemType === "string" ? CFItemType.trim() !== "" : CFItemType !== undefined && CFItemType !== null) {
    return { value: CFItemType, field: ["CFItemType"] };
  }
  if (isRecord(typeURI) && typeof typeURI.title === "string" && typeURI.title.trim() !== "") {
    return { value: typeURI.title, field: ["CFItemTypeURI", "title"] };
  }
  return { value: DEFAULT_ITEM_TYPE, field: ["CFItemType"] };
}

/** CASE 1.0 allows a bare string (and null) where 1.1 has a list of strings. */
function listOf(value: unknown): unknown {
  if (value === undefined || value === null) return [];
  if (typeof value === "string") return value.trim() === "" ? [] : [value];
  return value;
}

/**
 * The item's text in its own language (the CASE field) and its translations (the extension), as
 * one language map. A translation that contradicts the CASE field is a problem, not a silent pick:
 * one of the two texts would be lost.
 */
function langMap(
  main: unknown,
  lang: unknown,
  translations: unknown,
  record: string,
  name: "statement" | "abbreviatedStatement",
  problems: Problems,
): Json {
  let others: Json = {};
  if (isRecord(translations)) others = translations;
  else if (translations !== undefined) {
    problems.add(record, `extensions.${EXTENSION}.${name}`, "must be an object mapping BCP 47 language tags to text");
  }
  if (main === undefined || typeof lang !== "string") return { ...others };
  const { [lang]: repeated, ...rest } = others;
  if (repeated !== undefined && repeated !== main) {
    const field = name === "statement" ? "fullStatement" : "abbreviatedStatement";
    problems.add(
      record,
      `extensions.${EXTENSION}.${name}.${lang}`,
      `differs from ${field}, which holds the text in '${lang}'`,
    );
  }
  return { [lang]: main, ...rest };
}

/**
 * Takes Concordat's translations out of `extensions` and returns what is left to keep verbatim:
 * `kept` is undefined when nothing is left of an extensions object that held only them.
 */
function splitExtensions(extensions: unknown): {
  statement?: unknown;
  abbreviatedStatement?: unknown;
  roleLevels?: unknown;
  kept?: unknown;
} {
  if (!isRecord(extensions) || !isRecord(extensions[EXTENSION])) return { kept: extensions };
  const { [EXTENSION]: ours, ...others } = extensions;
  const { statement, abbreviatedStatement, roleLevels, ...rest } = ours as Json;
  const tookSomething = statement !== undefined || abbreviatedStatement !== undefined || roleLevels !== undefined;
  const keptOurs = Object.keys(rest).length > 0 || !tookSomething;
  const kept: Json = keptOurs ? { ...others, [EXTENSION]: rest } : others;
  return {
    statement,
    abbreviatedStatement,
    roleLevels,
    kept: Object.keys(kept).length > 0 || !tookSomething ? kept : undefined,
  };
}

function readAssociation(
  raw: unknown,
  index: number,
  nodes: Nodes,
  seen: Map<unknown, string>,
  problems: Problems,
): CoreAssociation | undefined {
  if (!isRecord(raw)) {
    problems.add(`CFAssociations[${index}]`, "", "must be an object");
    return undefined;
  }
  const record = recordName("CFAssociations", index, raw.identifier);
  claimIdentifier(seen, raw.identifier, record, `CFAssociations[${index}]`, problems);
  const {
    identifier,
    associationType,
    originNodeURI,
    destinationNodeURI,
    sequenceNumber,
    CFAssociationGroupingURI,
    lastChangeDateTime,
    ...extra
  } = raw;
  const origin = splitNodeRef(originNodeURI);
  const destination = splitNodeRef(destinationNodeURI);
  // CASE 1.0 writes null for "no grouping".
  const grouping = CFAssociationGroupingURI === null ? { ref: undefined } : splitNodeRef(CFAssociationGroupingURI);
  const more: Record<NodeField, Json | undefined> = {
    originNodeURI: origin.more,
    destinationNodeURI: destination.more,
    CFAssociationGroupingURI: grouping.more,
  };
  for (const field of NODE_FIELDS) {
    const value = more[field];
    if (value !== undefined) extra[field] = value;
  }
  const candidate = compact({
    identifier,
    type: associationType,
    origin: origin.ref,
    destination: destination.ref,
    sequenceNumber,
    grouping: grouping.ref,
    lastChangeDateTime,
    extra: structuredClone(extra),
  });
  const names: Record<string, string> = {
    type: "associationType",
    origin: "originNodeURI",
    destination: "destinationNodeURI",
    grouping: "CFAssociationGroupingURI",
  };
  const rename: Rename = ({ path: [head, ...rest] }) =>
    typeof head === "string" ? [names[head] ?? head, ...rest] : [...rest];
  const association = validated<CoreAssociation>(associationSchema, candidate, record, rename, problems);
  checkLinks(record, candidate, nodes, problems);
  return association;
}

/** A CASE LinkURI split into the core NodeRef and the keys the core model does not keep. */
function splitNodeRef(value: unknown): { ref: unknown; more?: Json } {
  if (!isRecord(value)) return { ref: value };
  const { identifier, uri, title, ...more } = value;
  return { ref: compact({ identifier, uri, title }), ...(Object.keys(more).length > 0 ? { more } : {}) };
}

/**
 * Claims a record's identifier: CASE identifiers are UUIDs, unique across the package (and the
 * world), and a second record with the same one would silently replace the first in the core.
 */
function claimIdentifier(
  seen: Map<unknown, string>,
  identifier: unknown,
  record: string,
  position: string,
  problems: Problems,
): void {
  if (typeof identifier !== "string") return;
  const first = seen.get(identifier);
  if (first !== undefined) problems.add(record, "identifier", `repeats the identifier of ${first}`);
  else seen.set(identifier, position);
}

/**
 * What the zod schema cannot see: the association's type, its ends and its grouping. Checked on
 * the candidate, whatever else is wrong with the record, so that one pass reports everything.
 */
function checkLinks(record: string, association: Json, nodes: Nodes, problems: Problems): void {
  const { type, origin, destination, grouping } = association;
  if (typeof type === "string" && type !== "" && !isAssociationType(type)) {
    problems.add(
      record,
      "associationType",
      `${quote(type)} is not a CASE association type (${ASSOCIATION_TYPES.join(", ")})`,
    );
  }
  for (const [field, ref] of [
    ["originNodeURI", origin],
    ["destinationNodeURI", destination],
  ] as const) {
    if (!isRecord(ref) || typeof ref.identifier !== "string" || ref.identifier === "") continue;
    if (!nodes.identifiers.has(ref.identifier) && !ref.uri) {
      const why = "is neither the CFDocument nor an item of the package, and no uri says where it is";
      problems.add(record, `${field}.identifier`, `${quote(ref.identifier)} ${why}`);
    }
  }
  if (isRecord(grouping) && nodes.groupings && !nodes.groupings.has(grouping.identifier)) {
    const named = quote(String(grouping.identifier));
    problems.add(
      record,
      "CFAssociationGroupingURI.identifier",
      `${named} is not in CFDefinitions.CFAssociationGroupings`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// export

/**
 * The core's CASE content completed with what CASE 1.1 requires and a core authored in Concordat
 * may lack (node/core/case-ids.ts): UUID identifiers (the Concordat identifier kept in
 * `extensions.concordat.identifier`), a `uri` on the document, every item and association, and a
 * title and uri on both ends of every association; optional fields a CASE 1.0 tool wrote as null are
 * left out. What a record already has is kept as it is, so a CASE 1.1 package imported comes out
 * unchanged.
 */
export function prepareForCase(content: CasePackageContent): CasePackageContent {
  const frameworkId = content.framework.identifier;
  const caseIds = new Map<string, string>([[frameworkId, caseFrameworkIdentifier(frameworkId)]]);
  for (const r of [...content.items, ...content.associations])
    caseIds.set(r.identifier, caseRecordIdentifier(frameworkId, r.identifier));
  const complete = <T extends { identifier: string; extra: Json }>(
    record: T,
    kind: keyof typeof CASE_ATTRIBUTES,
  ): T => {
    const uuid = caseIds.get(record.identifier) ?? record.identifier;
    const extra = caseAttributesOnly(
      withoutEmptyOptionals(withoutNulls(structuredClone(record.extra)), [], []) as Json,
      CASE_ATTRIBUTES[kind],
    );
    // CASE 1.0 allows one education level as a bare string; 1.1 has a list.
    if (typeof extra.educationLevel === "string") extra.educationLevel = [extra.educationLevel];
    if (uuid !== record.identifier) {
      const extensions = isRecord(extra.extensions) ? extra.extensions : {};
      const ours = isRecord(extensions[EXTENSION]) ? extensions[EXTENSION] : {};
      extra.extensions = { ...extensions, [EXTENSION]: { ...ours, identifier: record.identifier } };
    }
    if (typeof extra.uri !== "string" || extra.uri === "") extra.uri = caseUri(uuid);
    return { ...record, identifier: uuid, extra };
  };
  const framework = complete(content.framework, "document");
  const items = content.items.map((item) => complete(item, "item"));
  const nodes = new Map<string, { uri: string; title: string }>([
    [frameworkId, { uri: framework.extra.uri as string, title: framework.title }],
  ]);
  content.items.forEach((item, i) => {
    const done = items[i] as CoreItem;
    nodes.set(item.identifier, { uri: done.extra.uri as string, title: item.statement[item.language] ?? item.code });
  });
  const link = (ref: NodeRef): NodeRef => {
    const node = nodes.get(ref.identifier);
    return {
      ...ref,
      identifier: node ? (caseIds.get(ref.identifier) ?? ref.identifier) : ref.identifier,
      uri: ref.uri ?? node?.uri ?? caseUri(ref.identifier),
      title: ref.title ?? node?.title ?? ref.identifier,
    };
  };
  const associations = content.associations.map((a) => {
    const done = complete(a, "association");
    return { ...done, origin: link(a.origin), destination: link(a.destination) };
  });
  const definitions = Object.fromEntries(
    Object.entries(content.definitions).map(([k, list]) => [
      k,
      list.map((d) => (isRecord(d) ? withoutNulls(structuredClone(d)) : d)),
    ]),
  );
  return { framework, items, associations, definitions };
}

/**
 * `extra` with its members that are no CASE 1.1 attribute of the class (a CASE 1.0-only field,
 * Moodle's data under `moodle`) moved under `extensions`: by their own name, or under
 * `extensions.concordat.fields` when `extensions` already has a member of that name.
 */
function caseAttributesOnly(extra: Json, attributes: ReadonlySet<string>): Json {
  const stray = Object.entries(extra).filter(([key]) => !attributes.has(key));
  if (stray.length === 0) return extra;
  const kept = Object.fromEntries(Object.entries(extra).filter(([key]) => attributes.has(key)));
  const extensions: Json = isRecord(extra.extensions) ? { ...extra.extensions } : {};
  const fields: Json = {};
  for (const [key, value] of stray) {
    if (Object.hasOwn(extensions, key)) fields[key] = value;
    else extensions[key] = value;
  }
  if (Object.keys(fields).length > 0) {
    const ours = isRecord(extensions[EXTENSION]) ? extensions[EXTENSION] : {};
    extensions[EXTENSION] = { ...ours, fields: { ...(isRecord(ours.fields) ? ours.fields : {}), ...fields } };
  }
  return { ...kept, extensions };
}

/**
 * The members of `record` (and of the objects in it) that are not null: CASE 1.0 tools write null
 * for an absent optional field, which CASE 1.1 JSON leaves out.
 */
function withoutNulls(record: Json): Json {
  // fromEntries, not assignment: a `__proto__` member stays data.
  return Object.fromEntries(
    Object.entries(record).flatMap(([key, value]) =>
      value === null ? [] : [[key, isRecord(value) ? withoutNulls(value) : value]],
    ),
  );
}

/**
 * Writes the core as a CASE 1.1 CFPackage (bare form). Records keep the given order: the caller
 * decides it. The inverse of parseCasePackage: parsing the result gives back `content`.
 */
export function toCasePackage(content: CasePackageContent, options: CaseExportOptions = {}): Json {
  const { [RUBRICS]: rubrics, ...definitions } = content.definitions;
  return {
    CFDocument: writeDocument(content.framework, options),
    CFItems: content.items.map(writeItem),
    CFAssociations: content.associations.map(writeAssociation),
    CFDefinitions: structuredClone(definitions),
    CFRubrics: structuredClone(rubrics ?? []),
  };
}

function writeDocument(framework: CoreFramework, options: CaseExportOptions): Json {
  const extra = omit(structuredClone(framework.extra), DOCUMENT_FIELDS);
  if (options.caseVersion === "1.1") extra.caseVersion = "1.1";
  if (options.caseVersion === "1.0") delete extra.caseVersion;
  const { identifier, title, description, creator, publisher, language, adoptionStatus, subject, lastChangeDateTime } =
    framework;
  const modelled = {
    identifier,
    title,
    description,
    creator,
    publisher,
    language,
    adoptionStatus,
    subject: subject && [...subject],
    lastChangeDateTime,
  };
  return ordered(compact({ ...extra, ...modelled }), DOCUMENT_ORDER);
}

function writeItem(item: CoreItem): Json {
  const extra = omit(structuredClone(item.extra), ITEM_FIELDS);
  const { [item.language]: fullStatement, ...translations } = item.statement;
  const { [item.language]: abbreviatedStatement, ...abbreviatedTranslations } = item.abbreviatedStatement ?? {};
  const extensions = withTranslations(extra.extensions, translations, abbreviatedTranslations, item.roleLevels);
  return ordered(
    compact({
      ...extra,
      identifier: item.identifier,
      fullStatement,
      CFItemType: item.type,
      humanCodingScheme: item.code === "" ? undefined : item.code,
      listEnumeration: item.listEnumeration,
      abbreviatedStatement,
      conceptKeywords: item.themes.length > 0 ? [...item.themes] : undefined,
      notes: item.notes,
      language: item.language,
      lastChangeDateTime: item.lastChangeDateTime,
      extensions,
    }),
    ITEM_ORDER,
  );
}

/**
 * The item's extensions with Concordat's translations merged in under `concordat`. Extensions that
 * are not an object (no CASE tool writes that) cannot hold them and are replaced.
 */
function withTranslations(
  extensions: unknown,
  statement: LangMap,
  abbreviatedStatement: LangMap,
  roleLevels: readonly string[],
): unknown {
  const ours = compact({
    statement: Object.keys(statement).length > 0 ? statement : undefined,
    abbreviatedStatement: Object.keys(abbreviatedStatement).length > 0 ? abbreviatedStatement : undefined,
    roleLevels: roleLevels.length > 0 ? [...roleLevels] : undefined,
  });
  if (Object.keys(ours).length === 0) return extensions;
  const base = isRecord(extensions) ? extensions : {};
  const previous = isRecord(base[EXTENSION]) ? base[EXTENSION] : {};
  return { ...base, [EXTENSION]: { ...previous, ...ours } };
}

function writeAssociation(association: CoreAssociation): Json {
  const extra = omit(structuredClone(association.extra), ASSOCIATION_FIELDS);
  const link = (field: NodeField, ref: CoreAssociation["origin"] | undefined): Json | undefined => {
    const more = extra[field];
    return ref && ordered({ ...(isRecord(more) ? more : {}), ...compact({ ...ref }) }, LINK_ORDER);
  };
  return ordered(
    compact({
      ...extra,
      identifier: association.identifier,
      associationType: association.type,
      sequenceNumber: association.sequenceNumber,
      originNodeURI: link("originNodeURI", association.origin),
      destinationNodeURI: link("destinationNodeURI", association.destination),
      CFAssociationGroupingURI: link("CFAssociationGroupingURI", association.grouping),
      lastChangeDateTime: association.lastChangeDateTime,
    }),
    ASSOCIATION_ORDER,
  );
}

// ---------------------------------------------------------------------------------------------
// helpers

/** Problems found so far, each named `<record>: <CASE field>`. */
class Problems {
  readonly list: FieldViolation[] = [];

  add(record: string, field: string, description: string): void {
    this.list.push({ field: field === "" ? record : `${record}: ${field}`, description });
  }

  addAll(record: string, violations: readonly FieldViolation[]): void {
    for (const v of violations) this.add(record, v.field, v.description);
  }

  throwIfAny(): void {
    const n = this.list.length;
    if (n === 0) return;
    // Every problem goes out: the API bounds what it sends and says how many more there are.
    throw invalidArgument(this.list, `the CASE package is invalid: ${n} problem${n === 1 ? "" : "s"}`);
  }
}

/** Messages in terms of the CASE field, for the operator who wrote the package. */
const caseMessages: z.core.$ZodErrorMap = (issue) => {
  if (issue.input === undefined) return "is required";
  if (issue.code === "invalid_type") return `must be ${/^[aeiou]/.test(issue.expected) ? "an" : "a"} ${issue.expected}`;
  if (issue.code === "too_small" && issue.origin === "string" && Number(issue.minimum) === 1)
    return "must not be empty";
  return undefined;
};

/**
 * Checks a candidate record with its core schema; problems go to `problems` under CASE names.
 * The candidate itself (not zod's output, which trims text) is returned, so that text round-trips
 * byte for byte.
 */
function validated<T>(
  schema: z.ZodType<T>,
  candidate: Json,
  record: string,
  rename: Rename,
  problems: Problems,
): T | undefined {
  const result = schema.safeParse(candidate, { error: caseMessages });
  if (result.success) return candidate as unknown as T;
  const issues = result.error.issues.flatMap((issue) => {
    const path = rename(issue);
    if (path === null) return [];
    let message = issue.message;
    if (issue.code === "invalid_key") message = issue.issues.map((i) => i.message).join("; ");
    if (path[0] === "sequenceNumber") message = "must be a non-negative integer";
    return [{ ...issue, path, message }];
  });
  problems.addAll(record, violationsOf(new z.ZodError(issues), ""));
  return undefined;
}

/** `CFItems[3] (8f0d…)`: the list position finds the record, the identifier confirms it. */
function recordName(list: string, index: number, identifier: unknown): string {
  if (typeof identifier !== "string" || identifier === "") return `${list}[${index}]`;
  const shown = identifier.length > 60 ? `${identifier.slice(0, 60)}…` : identifier;
  return `${list}[${index}] (${shown})`;
}

function isDefined<T>(value: T | undefined): value is T {
  return value !== undefined;
}

function isRecord(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Drops undefined members, so that absent fields stay absent in JSON and in deep equality. */
function compact(record: Json): Json {
  return Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined));
}

function omit(record: Json, keys: readonly string[]): Json {
  return Object.fromEntries(Object.entries(record).filter(([k]) => !keys.includes(k)));
}

/** The record's members with the known ones first, in `order`, then the others as they came. */
function ordered(record: Json, order: readonly string[]): Json {
  const known = order.filter((k) => Object.hasOwn(record, k)).map((k): [string, unknown] => [k, record[k]]);
  return Object.fromEntries([...known, ...Object.entries(record).filter(([k]) => !order.includes(k))]);
}

/**
 * The CASE 1.1 package of the core's content as every export gives it — `concordat core export`
 * and the CASE REST API alike: identifiers and uris as CASE requires them, caseVersion stamped.
 * Undefined when the content has no framework (CFDocument) yet.
 */
export function casePackageOf(content: CoreContent): Json | undefined {
  if (!content.framework) return undefined;
  return toCasePackage(
    prepareForCase({
      framework: content.framework,
      items: content.items,
      associations: content.associations,
      definitions: content.definitions,
    }),
    { caseVersion: "1.1" },
  );
}
