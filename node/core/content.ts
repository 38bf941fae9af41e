import * as A from "@automerge/automerge";
import type { FieldViolation } from "../errors.js";
import {
  isAssociationType,
  associationSchema,
  frameworkSchema,
  itemSchema,
  moduleSchema,
  schemeSchema,
  violationsOf,
  type AccreditationScheme,
  type CoreAssociation,
  type CoreContent,
  type CoreDefinitions,
  type CoreFramework,
  type CoreItem,
  type CoreModule,
  type RecordKind,
} from "./model.js";
import { textOf } from "../documents/index.js";
import { quote } from "../text.js";

/**
 * How the core is stored in its Automerge document: each record whole, as canonical JSON in an
 * ImmutableString, in a map per kind keyed by identifier. The secretariat is the only writer, so
 * field-level CRDT merging buys nothing, and whole records keep the op count small; diffs between
 * releases are computed on the parsed records instead.
 */
export interface CoreDoc {
  framework?: A.ImmutableString | null;
  items: Record<string, A.ImmutableString>;
  associations: Record<string, A.ImmutableString>;
  modules: Record<string, A.ImmutableString>;
  schemes: Record<string, A.ImmutableString>;
  definitions?: A.ImmutableString;
  /** Release notes by version, written just before the release is signed (so they are signed too). */
  releaseNotes: Record<string, A.ImmutableString>;
  /**
   * By version, the proposals (`HUB/ID`, docs/feedback.md) a release answers, as a JSON array:
   * written with its notes, so the release's signature covers them.
   */
  releaseAnswers?: Record<string, A.ImmutableString>;
}

export const MAP_OF: Record<RecordKind, "items" | "associations" | "modules" | "schemes"> = {
  item: "items",
  association: "associations",
  module: "modules",
  scheme: "schemes",
};

export function initialCoreDoc(): Record<string, unknown> {
  return {
    framework: null,
    items: {},
    associations: {},
    modules: {},
    schemes: {},
    definitions: new A.ImmutableString("{}"),
    releaseNotes: {},
    releaseAnswers: {},
  };
}

/** Canonical JSON: object keys sorted, so equal records have equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.keys(value as Record<string, unknown>)
        .sort()
        .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

export function encodeRecord(record: unknown): A.ImmutableString {
  return new A.ImmutableString(canonicalJson(record));
}

const SCHEMAS = {
  item: itemSchema,
  association: associationSchema,
  module: moduleSchema,
  scheme: schemeSchema,
} as const;

/** Validates one record of `kind`; violations are prefixed with `prefix`. */
export function validateRecord(
  kind: RecordKind,
  raw: unknown,
  prefix: string,
): { value?: CoreItem | CoreAssociation | CoreModule | AccreditationScheme; violations: FieldViolation[] } {
  const result = SCHEMAS[kind].safeParse(raw);
  if (!result.success) return { violations: violationsOf(result.error, prefix) };
  return { value: result.data as CoreItem | CoreAssociation | CoreModule | AccreditationScheme, violations: [] };
}

export function validateFramework(
  raw: unknown,
  prefix: string,
): { value?: CoreFramework; violations: FieldViolation[] } {
  const result = frameworkSchema.safeParse(raw);
  if (!result.success) return { violations: violationsOf(result.error, prefix) };
  return { value: result.data as CoreFramework, violations: [] };
}

/**
 * Reads the core out of a document (the secretariat's authoring copy, or a hub's view at a signed
 * release). Records that do not parse are left out and named in `problems`.
 */
export function readCore(doc: unknown): {
  content: CoreContent;
  notes: Record<string, string>;
  answers: Record<string, string[]>;
  problems: string[];
} {
  const d = (doc ?? {}) as Partial<CoreDoc>;
  const problems: string[] = [];
  const parse = <T>(kind: RecordKind, map: Record<string, unknown> | undefined): T[] => {
    const out: T[] = [];
    for (const [id, raw] of Object.entries(map ?? {})) {
      let json: unknown;
      try {
        json = JSON.parse(textOf(raw) ?? "");
      } catch {
        problems.push(`${kind} '${id}' is not JSON`);
        continue;
      }
      const { value, violations } = validateRecord(kind, json, `${kind} '${id}'`);
      if (!value) problems.push(...violations.map((v) => `${v.field}: ${v.description}`));
      else out.push(value as T);
    }
    return out;
  };
  let framework: CoreFramework | undefined;
  const frameworkText = textOf(d.framework);
  if (frameworkText) {
    const { value, violations } = validateFramework(JSON.parse(frameworkText), "framework");
    if (value) framework = value;
    else problems.push(...violations.map((v) => `${v.field}: ${v.description}`));
  }
  let definitions: CoreDefinitions = {};
  try {
    definitions = JSON.parse(textOf(d.definitions) ?? "{}") as CoreDefinitions;
  } catch {
    problems.push("definitions are not JSON");
  }
  const notes: Record<string, string> = {};
  for (const [version, note] of Object.entries(d.releaseNotes ?? {})) notes[version] = textOf(note) ?? "";
  const answers: Record<string, string[]> = {};
  for (const [version, list] of Object.entries(d.releaseAnswers ?? {})) {
    try {
      const parsed: unknown = JSON.parse(textOf(list) ?? "[]");
      if (Array.isArray(parsed)) answers[version] = parsed.filter((x): x is string => typeof x === "string");
    } catch {
      problems.push(`the answers of release ${version} are not JSON`);
    }
  }
  const content: CoreContent = {
    framework,
    items: sortById(parse<CoreItem>("item", d.items), (x) => x.identifier),
    associations: sortById(parse<CoreAssociation>("association", d.associations), (x) => x.identifier),
    modules: sortById(parse<CoreModule>("module", d.modules), (x) => x.id),
    schemes: sortById(parse<AccreditationScheme>("scheme", d.schemes), (x) => x.id),
    definitions,
  };
  return { content, notes, answers, problems };
}

function sortById<T>(records: T[], id: (r: T) => string): T[] {
  return records.sort((a, b) => (id(a) < id(b) ? -1 : id(a) > id(b) ? 1 : 0));
}

/** The identifier of a record of any kind. */
export function recordId(
  kind: RecordKind,
  record: CoreItem | CoreAssociation | CoreModule | AccreditationScheme,
): string {
  return kind === "item" || kind === "association" ? (record as CoreItem).identifier : (record as CoreModule).id;
}

/**
 * Referential problems of a whole core: associations must link the framework, items or external
 * nodes (with a uri); modules and schemes must align to items that exist; identifiers are unique
 * across kinds that CASE puts in one namespace (items and associations).
 */
export function referenceProblems(content: CoreContent): FieldViolation[] {
  const violations: FieldViolation[] = [];
  const items = new Set(content.items.map((i) => i.identifier));
  const nodes = new Set([...items, ...(content.framework ? [content.framework.identifier] : [])]);
  for (const a of content.associations) {
    if (!isAssociationType(a.type))
      violations.push({
        field: `association '${a.identifier}'.type`,
        description: `${quote(a.type)} is not a CASE association type (isChildOf, exactMatchOf, isRelatedTo, … or ext:…)`,
      });
    if (items.has(a.identifier))
      violations.push({ field: `association '${a.identifier}'`, description: "has the identifier of an item" });
    for (const end of ["origin", "destination"] as const) {
      const ref = a[end];
      if (!nodes.has(ref.identifier) && !ref.uri) {
        violations.push({
          field: `association '${a.identifier}'.${end}`,
          description: `${quote(ref.identifier)} is not an item of the core, and has no uri (an external node)`,
        });
      }
    }
  }
  for (const m of content.modules) {
    m.competencies.forEach((c, i) => {
      if (!items.has(c))
        violations.push({
          field: `module '${m.id}'.competencies[${i}]`,
          description: `'${c}' is not an item of the core`,
        });
    });
  }
  for (const s of content.schemes) {
    s.competencies.forEach((c, i) => {
      if (!items.has(c))
        violations.push({
          field: `scheme '${s.id}'.competencies[${i}]`,
          description: `'${c}' is not an item of the core`,
        });
    });
  }
  return violations;
}
