import { z } from "zod";
import type { FieldViolation } from "../errors.js";
import { textRule, textViolationsIn, TextKind } from "../text.js";

/**
 * The global core (DOMAIN.md): a competency framework modelled on 1EdTech CASE 1.1, core modules
 * (cmi5-like: units with moveOn and mastery score), and accreditation schemes. The secretariat owns
 * it; hubs adopt released versions of it. Every record is kept whole (canonical JSON), keyed by its
 * identifier, so that a diff between two releases is record by record, field by field.
 *
 * CASE fields Concordat does not model are kept verbatim in `extra` and written back on export, so
 * a package from another tool round-trips.
 */

/** Text in several languages: BCP 47 tag → text. */
export type LangMap = Record<string, string>;

/** Role levels from custodial to command (`extensions.concordat.roleLevels` in CASE: its `educationLevel` is grade levels). */
export const ROLE_LEVELS = ["custodial", "supervisory", "management", "command"] as const;
export type RoleLevel = (typeof ROLE_LEVELS)[number];

/** Cross-cutting themes of the core (CASE `conceptKeywords` on export); others are allowed. */
export const KNOWN_THEMES = [
  "human-rights",
  "gender",
  "protection-of-civilians",
  "conduct-and-discipline",
  "use-of-force",
] as const;

/** CASE 1.1 association types. */
export const ASSOCIATION_TYPES = [
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
] as const;
export type AssociationType = (typeof ASSOCIATION_TYPES)[number];

/** A CASE association type: one of the standard ones, or an extension type `ext:…` (CASE 1.1). */
export function isAssociationType(type: string): boolean {
  return (ASSOCIATION_TYPES as readonly string[]).includes(type) || /^ext:[A-Za-z0-9._-]{1,100}$/.test(type);
}

/** cmi5 moveOn values. */
export const MOVE_ON = ["Passed", "Completed", "CompletedAndPassed", "CompletedOrPassed", "NotApplicable"] as const;
export type MoveOn = (typeof MOVE_ON)[number];

export const DELIVERY_MODES = ["online", "on-site", "blended"] as const;
export type DeliveryMode = (typeof DELIVERY_MODES)[number];

/** OpenSALT / CASE adoption status of the framework. */
export const ADOPTION_STATUSES = ["Private Draft", "Draft", "Adopted", "Deprecated"] as const;

/** A reference to a CASE node (LinkURI): the identifier, with its uri and title when known. */
export interface NodeRef {
  identifier: string;
  uri?: string;
  title?: string;
}

export interface CoreFramework {
  /** CASE CFDocument identifier (a UUID). */
  identifier: string;
  title: string;
  description?: string;
  creator: string;
  publisher?: string;
  /** BCP 47 tag of the framework's main language. */
  language: string;
  adoptionStatus?: string;
  subject?: string[];
  lastChangeDateTime: string;
  /** Other CFDocument fields, verbatim (uri, officialSourceURL, licenseURI, version, notes, …). */
  extra: Record<string, unknown>;
}

/** A competency framework item (CASE CFItem). */
export interface CoreItem {
  identifier: string;
  /** CASE humanCodingScheme, e.g. "HR-3.2" ("" when the item has none). */
  code: string;
  /** fullStatement in `language`, and its translations. */
  statement: LangMap;
  abbreviatedStatement?: LangMap;
  /** CASE CFItemType title: Domain, Competency, Indicator, … */
  type: string;
  /** BCP 47 tag of the statement's main language (CASE `language`). */
  language: string;
  roleLevels: string[];
  themes: string[];
  notes?: string;
  listEnumeration?: string;
  lastChangeDateTime: string;
  /** Other CFItem fields, verbatim (uri, CFItemTypeURI, alternativeLabel, subject, licenseURI, …). */
  extra: Record<string, unknown>;
}

/** A typed link between two nodes (CASE CFAssociation). */
export interface CoreAssociation {
  identifier: string;
  type: string;
  origin: NodeRef;
  destination: NodeRef;
  sequenceNumber?: number;
  /** CASE CFAssociationGroupingURI. */
  grouping?: NodeRef;
  lastChangeDateTime: string;
  /** Other CFAssociation fields, verbatim (uri, notes, …). */
  extra: Record<string, unknown>;
}

export interface ModuleUnit {
  id: string;
  title: LangMap;
  moveOn: MoveOn;
  /** 0..1, for units that must be passed. */
  masteryScore?: number;
}

export interface Material {
  name: string;
  /** Hex SHA-256 of the material's content. */
  sha256: string;
}

/** A core (or, at a hub, local) training module. */
export interface CoreModule {
  id: string;
  code: string;
  title: LangMap;
  durationMinutes: number;
  deliveryMode: DeliveryMode;
  units: ModuleUnit[];
  /** Identifiers of the competency items it is aligned to. */
  competencies: string[];
  materials: Material[];
  /** Days after a delivery's end when its level-3 follow-up falls due (absent: the module asks for none). */
  followUpAfterDays?: number;
}

/** An accreditation scheme: what a trainer can be accredited for. */
export interface AccreditationScheme {
  id: string;
  name: LangMap;
  description?: LangMap;
  /** Competency items the scheme accredits. */
  competencies: string[];
  /** Levels, lowest first, e.g. ["1", "2", "3"] or ["trainer", "master trainer"]. */
  levels: string[];
  /** How long an accreditation stays valid. */
  validityMonths: number;
}

/** CASE CFDefinitions, kept verbatim (item types, subjects, concepts, licenses, association groupings). */
export type CoreDefinitions = Record<string, unknown[]>;

/** The whole core as a plain value: what a release holds, what `core show` prints. */
export interface CoreContent {
  framework: CoreFramework | undefined;
  items: CoreItem[];
  associations: CoreAssociation[];
  modules: CoreModule[];
  schemes: AccreditationScheme[];
  definitions: CoreDefinitions;
}

export const RECORD_KINDS = ["item", "association", "module", "scheme"] as const;
export type RecordKind = (typeof RECORD_KINDS)[number];

// ---------------------------------------------------------------------------------------------
// validation (zod): every record that enters the core goes through these

const BCP47 = (value: string) => {
  try {
    return Intl.getCanonicalLocales(value).length === 1;
  } catch {
    return false;
  }
};

const langTag = z.string().min(2).max(35).refine(BCP47, "is not a BCP 47 language tag");
/** Text of one line (names, titles, codes), or of several (statements, descriptions, notes): see node/text.ts. */
const line = (max: number) => z.string().max(max).superRefine(textRule(TextKind.Line));
const prose = (max: number) => z.string().max(max).superRefine(textRule(TextKind.Multiline));
const text = (max: number, kind: TextKind = TextKind.Line) =>
  z.string().trim().min(1, "must not be empty").max(max).superRefine(textRule(kind));
/** Languages one text may be given in. */
export const MAX_LANGUAGES = 100;
const langMap = (kind: TextKind) =>
  z
    .record(langTag, text(20_000, kind))
    .refine((m) => Object.keys(m).length > 0, "needs at least one language")
    .refine((m) => Object.keys(m).length <= MAX_LANGUAGES, `has more than ${MAX_LANGUAGES} languages`);
/** Statements and descriptions, by language (several lines each). */
export const langMapSchema = langMap(TextKind.Multiline);
/** Titles and names, by language (one line each). */
export const lineLangMapSchema = langMap(TextKind.Line);
const isoTime = z
  .string()
  .max(64)
  .superRefine(textRule(TextKind.Line))
  .refine((s) => !Number.isNaN(Date.parse(s)), "is not an ISO 8601 time");
/** CASE identifiers are UUIDs; Concordat accepts any stable token of 1-100 safe characters. */
export const identifierSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$/, "must be 1-100 characters of A-Z, a-z, 0-9, '.', '_', ':' and '-'");
/** A node reference's title copies the node's title or statement, which may run over several lines. */
const nodeRefSchema = z
  .object({ identifier: line(300).min(1), uri: line(2000).optional(), title: prose(2000).optional() })
  .strict();
/** Fields kept verbatim: any JSON, but its text (and keys) hold no character that no text may hold. */
const extraSchema = z.record(z.string(), z.unknown()).superRefine((extra, ctx) => {
  for (const v of textViolationsIn(extra, "", TextKind.Multiline))
    ctx.addIssue({ code: "custom", message: v.description, path: [v.field] });
});

export const frameworkSchema = z
  .object({
    identifier: identifierSchema,
    title: text(1000),
    description: prose(20_000).optional(),
    creator: text(500),
    publisher: line(500).optional(),
    language: langTag,
    adoptionStatus: line(100).optional(),
    subject: z.array(line(500)).max(100).optional(),
    lastChangeDateTime: isoTime,
    extra: extraSchema,
  })
  .strict();

export const itemSchema = z
  .object({
    identifier: identifierSchema,
    code: line(100),
    statement: langMapSchema,
    abbreviatedStatement: lineLangMapSchema.optional(),
    type: text(200),
    language: langTag,
    roleLevels: z.array(line(100).min(1)).max(20),
    themes: z.array(line(200).min(1)).max(50),
    notes: prose(20_000).optional(),
    listEnumeration: line(100).optional(),
    lastChangeDateTime: isoTime,
    extra: extraSchema,
  })
  .strict()
  .refine((item) => item.statement[item.language] !== undefined, {
    message: "has no statement in its own language",
    path: ["statement"],
  });

export const associationSchema = z
  .object({
    identifier: identifierSchema,
    type: line(100).min(1),
    origin: nodeRefSchema,
    destination: nodeRefSchema,
    sequenceNumber: z.number().int().min(0).optional(),
    grouping: nodeRefSchema.optional(),
    lastChangeDateTime: isoTime,
    extra: extraSchema,
  })
  .strict();

const unitSchema = z
  .object({
    id: identifierSchema,
    title: lineLangMapSchema,
    moveOn: z.enum(MOVE_ON),
    masteryScore: z.number().min(0).max(1).optional(),
  })
  .strict();

export const moduleSchema = z
  .object({
    id: identifierSchema,
    code: line(100),
    title: lineLangMapSchema,
    durationMinutes: z.number().int().min(1).max(100_000),
    deliveryMode: z.enum(DELIVERY_MODES),
    units: z.array(unitSchema).max(500),
    competencies: z.array(identifierSchema).max(1000),
    materials: z
      .array(
        z.object({ name: text(500), sha256: z.string().regex(/^[0-9a-f]{64}$/, "must be a hex SHA-256") }).strict(),
      )
      .max(1000),
    followUpAfterDays: z.number().int().min(1).max(3660).optional(),
  })
  .strict();

export const schemeSchema = z
  .object({
    id: identifierSchema,
    name: lineLangMapSchema,
    description: langMapSchema.optional(),
    competencies: z.array(identifierSchema).max(1000),
    levels: z.array(text(100)).min(1).max(20),
    validityMonths: z.number().int().min(1).max(600),
  })
  .strict();

/** Zod issues as field violations under `prefix`. */
export function violationsOf(error: z.ZodError, prefix: string): FieldViolation[] {
  return error.issues.map((issue) => ({
    field: [prefix, ...issue.path.map(String)].filter((p) => p !== "").join("."),
    description: issue.message,
  }));
}

/** Compares semantic versions X.Y.Z: negative when a < b. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < 3; i += 1) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

export const VERSION_PATTERN = /^(0|[1-9]\d{0,5})\.(0|[1-9]\d{0,5})\.(0|[1-9]\d{0,5})$/;
