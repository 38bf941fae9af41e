import * as A from "@automerge/automerge";
import type { Logger } from "pino";
import type { Checkpointer, SignedCheckpoint } from "../authority/index.js";
import { DocumentType, type DocumentEdit, type OwnedDocuments, type OwnedDocumentSpec } from "../documents/index.js";
import { failedPrecondition, invalidArgument, notFound, type FieldViolation } from "../errors.js";
import { quote, textProblem, textViolationsIn, TextKind } from "../text.js";
import { concordatFrameworkIdentifier } from "./case-ids.js";
import {
  canonicalJson,
  encodeRecord,
  initialCoreDoc,
  MAP_OF,
  readCore,
  recordId,
  referenceProblems,
  validateFramework,
  validateRecord,
} from "./content.js";
import {
  compareVersions,
  VERSION_PATTERN,
  type AccreditationScheme,
  type CoreAssociation,
  type CoreContent,
  type CoreFramework,
  type CoreItem,
  type CoreModule,
  type RecordKind,
} from "./model.js";

export const CORE_KEY = "core";

export function coreSpec(): OwnedDocumentSpec {
  return { key: CORE_KEY, type: DocumentType.Core, replicated: true, publish: "on-release", initial: initialCoreDoc() };
}

/** A signed release of the core. */
export interface CoreRelease {
  version: string;
  notes: string;
  /** The proposals to the core it answers, `HUB/ID` (docs/feedback.md). */
  answers: string[];
  heads: string[];
  seq: number;
  time: string;
}

/** Where releases and their content come from: the secretariat's own copy, or a hub's verified one. */
export interface CoreSource {
  /** Releases, oldest first. */
  releases(): Promise<CoreRelease[]>;
  /** The content of a release (the latest when no version is given); undefined when there is none. */
  content(version?: string): Promise<CoreContent | undefined>;
  /** The release checkpoints, as signed, oldest first. */
  signed(): Promise<SignedCheckpoint[]>;
}

/** What an import brings: any subset of the core's parts, all validated together. */
export interface CoreImport {
  framework?: CoreFramework;
  items?: unknown[];
  associations?: unknown[];
  modules?: unknown[];
  schemes?: unknown[];
  definitions?: Record<string, unknown[]>;
}

export interface ImportSummary {
  framework: boolean;
  items: number;
  associations: number;
  modules: number;
  schemes: number;
  dryRun: boolean;
}

/**
 * The secretariat's core: drafts are edited in its authoring copy (never published), and
 * `release` signs and publishes them. Every edit is validated record by record and as a whole
 * (references between records) before anything is written; one edit is one transaction.
 */
export class CoreAuthoring implements CoreSource {
  readonly #documents: OwnedDocuments;
  readonly #checkpointer: Checkpointer;
  readonly #isSecretariat: boolean;
  readonly #federationId: string;
  readonly #creator: string;
  readonly #log: Logger;

  /**
   * `federationId` and `creator` (the secretariat's name) make the CFDocument of a core authored in
   * Concordat, which CASE needs and no import gave it.
   */
  constructor(
    init: { isSecretariat: boolean; federationId: string; creator: string },
    components: { documents: OwnedDocuments; checkpointer: Checkpointer; logger: Logger },
  ) {
    this.#isSecretariat = init.isSecretariat;
    this.#federationId = init.federationId;
    this.#creator = init.creator;
    this.#documents = components.documents;
    this.#checkpointer = components.checkpointer;
    this.#log = components.logger;
  }

  #require(): void {
    if (!this.#isSecretariat)
      throw failedPrecondition(
        "only the secretariat edits and releases the core; a hub adopts its releases (`concordat core adopt`)",
      );
  }

  /** The drafts: the authoring copy as it is now. */
  draft(): CoreContent {
    this.#require();
    return readCore(this.#documents.get(CORE_KEY)).content;
  }

  async releases(): Promise<CoreRelease[]> {
    return this.#releasesNow();
  }

  async signed(): Promise<SignedCheckpoint[]> {
    return this.#isSecretariat && this.#documents.has(CORE_KEY)
      ? this.#checkpointer.releases(this.#documents.idOf(CORE_KEY))
      : [];
  }

  #releasesNow(): CoreRelease[] {
    if (!this.#isSecretariat || !this.#documents.has(CORE_KEY)) return [];
    const doc = this.#documents.get(CORE_KEY);
    return this.#checkpointer.releases(this.#documents.idOf(CORE_KEY)).map((s) => {
      // The notes and answers as signed: read at the release's heads, not from the drafts.
      const signed = readCore(A.view(doc, s.checkpoint.heads));
      const version = s.checkpoint.version ?? "";
      return {
        version,
        notes: signed.notes[version] ?? "",
        answers: signed.answers[version] ?? [],
        heads: s.checkpoint.heads,
        seq: s.checkpoint.seq,
        time: s.checkpoint.time,
      };
    });
  }

  async content(version?: string): Promise<CoreContent | undefined> {
    return this.#contentNow(version);
  }

  #contentNow(version?: string): CoreContent | undefined {
    const releases = this.#releasesNow();
    const release = version === undefined ? releases.at(-1) : releases.find((r) => r.version === version);
    if (!release) return undefined;
    return readCore(A.view(this.#documents.get(CORE_KEY), release.heads)).content;
  }

  /**
   * Adds or replaces records of one kind (all or nothing). A record replaces the draft record with
   * its identifier, except for what it leaves out: with `merge`, every field it does not give is
   * kept (language maps merge by language, `extra` key by key, and `lastChangeDateTime` is now
   * unless given); without, only `extra` (the CASE fields Concordat does not model) is kept when
   * the record has none. Either way an edit never drops what CASE gave an item.
   */
  put(
    operatorId: string,
    kind: RecordKind,
    records: readonly unknown[],
    options: { merge?: boolean } = {},
  ): Promise<string[]> {
    this.#require();
    return this.#documents.transact({ operatorId, action: `core.${kind}.put` }, () => {
      const violations: FieldViolation[] = [];
      const current = this.draft();
      const existing = new Map(
        (current[MAP_OF[kind]] as Array<Parameters<typeof recordId>[1]>).map((r) => [recordId(kind, r), r as unknown]),
      );
      const now = new Date().toISOString();
      const valid = records.flatMap((given, i) => {
        const raw = mergeRecord(kind, given, existing, options.merge === true, now);
        const { value, violations: v } = validateRecord(kind, raw, `${kind}s[${i}]`);
        violations.push(...v);
        return value ? [value] : [];
      });
      const ids = valid.map((r) => recordId(kind, r));
      const dup = ids.find((id, i) => ids.indexOf(id) !== i);
      if (dup) violations.push({ field: `${kind}s`, description: `'${dup}' is given twice` });
      if (violations.length > 0)
        throw invalidArgument(violations.slice(0, 200), `${violations.length} problems in the ${kind}s`);
      const next = this.#merged({ [MAP_OF[kind]]: valid });
      const problems = referenceProblems(next);
      if (problems.length > 0) throw invalidArgument(problems.slice(0, 200), `${problems.length} broken references`);
      const edits = valid.map((r) => this.#setRecord(kind, recordId(kind, r), r));
      const framework = this.#frameworkFor(next, now);
      if (framework) edits.push({ key: CORE_KEY, change: (doc) => void (doc.framework = encodeRecord(framework)) });
      return { edits, result: ids };
    });
  }

  /** Removes records; refuses if anything still refers to them. */
  remove(operatorId: string, kind: RecordKind, ids: readonly string[]): Promise<number> {
    this.#require();
    return this.#documents.transact({ operatorId, action: `core.${kind}.remove` }, () => {
      const current = this.draft();
      const map = MAP_OF[kind];
      const existing = new Set((current[map] as Array<Parameters<typeof recordId>[1]>).map((r) => recordId(kind, r)));
      const missing = ids.filter((id) => !existing.has(id));
      if (missing.length > 0)
        throw notFound(
          `no ${kind} ${missing
            .slice(0, 10)
            .map((m) => quote(m))
            .join(", ")}${missing.length > 10 ? ` (and ${missing.length - 10} more)` : ""} in the core`,
        );
      const gone = new Set(ids);
      const next = {
        ...current,
        [map]: (current[map] as Array<Parameters<typeof recordId>[1]>).filter((r) => !gone.has(recordId(kind, r))),
      } as CoreContent;
      const referrers = kind === "item" ? referrersOf(current, gone) : [];
      if (referrers.length > 0) {
        const shown = referrers
          .slice(0, 5)
          .map((r) => `${r.field} ${r.description}`)
          .join("; ");
        const more = referrers.length > 5 ? `; and ${referrers.length - 5} more` : "";
        throw invalidArgument(
          referrers.slice(0, 200),
          `nothing removed: ${shown}${more}. Remove or change what refers to it first`,
        );
      }
      const problems = referenceProblems(next);
      if (problems.length > 0)
        throw invalidArgument(problems.slice(0, 200), `removing would break ${problems.length} references`);
      return {
        edits: ids.map((id) => ({
          key: CORE_KEY,
          subject: id,
          change: (doc: Record<string, unknown>) => {
            delete (doc[map] as Record<string, unknown>)[id];
          },
        })),
        result: ids.length,
      };
    });
  }

  /**
   * Imports a framework (CASE or Moodle, parsed by the caller) and optionally modules and schemes:
   * every record is validated, and the core as it would be afterwards is checked as a whole, before
   * one transaction writes it all.
   *
   * A framework replaces the framework whole: its CFDocument, items, associations and definitions
   * take the place of the drafts' (items and links the new framework does not have are removed,
   * and a module or scheme still aligned to a removed item makes the import fail, naming it), so
   * the drafts never hold items linked to a CFDocument that is no longer there. Without a
   * framework, the records given replace those with the same identifiers and the rest stay.
   */
  import(operatorId: string, parts: CoreImport, dryRun: boolean): Promise<ImportSummary> {
    this.#require();
    return this.#documents.transact({ operatorId, action: "core.import" }, () => {
      const violations: FieldViolation[] = [];
      let framework: CoreFramework | undefined;
      if (parts.framework) {
        const result = validateFramework(parts.framework, "framework");
        violations.push(...result.violations);
        framework = result.value;
      }
      // Definitions are kept verbatim (CASE CFDefinitions): their text is checked like any other.
      if (parts.definitions) violations.push(...textViolationsIn(parts.definitions, "definitions", TextKind.Multiline));
      const valid: Partial<Record<RecordKind, Array<Parameters<typeof recordId>[1]>>> = {};
      for (const kind of ["item", "association", "module", "scheme"] as const) {
        const raw = parts[MAP_OF[kind]] ?? [];
        valid[kind] = raw.flatMap((r, i) => {
          const { value, violations: v } = validateRecord(kind, r, `${MAP_OF[kind]}[${i}]`);
          violations.push(...v);
          return value ? [value] : [];
        });
      }
      // Every problem goes out: the API bounds what it sends and counts the rest.
      if (violations.length > 0) throw invalidArgument(violations, `nothing imported: ${violations.length} problems`);
      const merged = this.#merged({
        ...(framework ? { framework } : {}),
        items: (valid.item ?? []) as CoreItem[],
        associations: (valid.association ?? []) as CoreAssociation[],
        modules: (valid.module ?? []) as CoreModule[],
        schemes: (valid.scheme ?? []) as AccreditationScheme[],
      });
      const replaced = framework
        ? {
            items: (valid.item ?? []) as CoreItem[],
            associations: (valid.association ?? []) as CoreAssociation[],
            definitions: parts.definitions ?? {},
          }
        : undefined;
      const next: CoreContent = replaced ? { ...merged, ...replaced } : merged;
      const problems = referenceProblems(next);
      if (problems.length > 0)
        throw invalidArgument(problems, `nothing imported: ${problems.length} broken references`);
      const summary: ImportSummary = {
        framework: framework !== undefined,
        items: valid.item?.length ?? 0,
        associations: valid.association?.length ?? 0,
        modules: valid.module?.length ?? 0,
        schemes: valid.scheme?.length ?? 0,
        dryRun,
      };
      if (dryRun) return { edits: [], result: summary };
      const edits: DocumentEdit[] = [];
      if (framework) {
        const fw = framework;
        edits.push({ key: CORE_KEY, change: (doc) => void (doc.framework = encodeRecord(fw)) });
      }
      if (replaced) {
        // The previous framework's items and links go: the new one replaces it whole.
        const keep = {
          items: new Set(replaced.items.map((r) => recordId("item", r))),
          associations: new Set(replaced.associations.map((r) => recordId("association", r))),
        };
        for (const [kind, map] of [
          ["item", "items"],
          ["association", "associations"],
        ] as const) {
          const gone = (this.draft()[map] as Array<Parameters<typeof recordId>[1]>)
            .map((r) => recordId(kind, r))
            .filter((id) => !keep[map].has(id));
          for (const id of gone)
            edits.push({
              key: CORE_KEY,
              subject: id,
              change: (doc) => void delete (doc[map] as Record<string, unknown>)[id],
            });
        }
        const definitions = replaced.definitions;
        edits.push({
          key: CORE_KEY,
          change: (doc) => void (doc.definitions = new A.ImmutableString(canonicalJson(definitions))),
        });
      } else if (parts.definitions) {
        const definitions = { ...this.draft().definitions, ...parts.definitions };
        edits.push({
          key: CORE_KEY,
          change: (doc) => void (doc.definitions = new A.ImmutableString(canonicalJson(definitions))),
        });
      }
      for (const kind of ["item", "association", "module", "scheme"] as const) {
        for (const r of valid[kind] ?? []) edits.push(this.#setRecord(kind, recordId(kind, r), r));
      }
      const made = this.#frameworkFor(next, new Date().toISOString());
      if (made) edits.push({ key: CORE_KEY, change: (doc) => void (doc.framework = encodeRecord(made)) });
      return { edits, result: summary };
    });
  }

  /**
   * Signs the drafts as release `version`: versions only go up, and a release must change
   * something. The notes, and the proposals it answers, are written into the core first, so the
   * signature covers them too.
   */
  async release(operatorId: string, version: string, notes: string, answers: string[] = []): Promise<CoreRelease> {
    this.#require();
    if (!VERSION_PATTERN.test(version))
      throw invalidArgument([{ field: "version", description: `${quote(version)} is not a version X.Y.Z` }]);
    if (notes.length > 20_000) throw invalidArgument([{ field: "notes", description: "at most 20,000 characters" }]);
    const problem = textProblem(notes, TextKind.Multiline);
    if (problem) throw invalidArgument([{ field: "notes", description: problem }]);
    const check = (previous: ReadonlyArray<{ checkpoint: { version?: string; heads: string[] } }>) => {
      const last = previous.at(-1)?.checkpoint;
      if (last?.version && compareVersions(version, last.version) <= 0) {
        throw invalidArgument([
          {
            field: "version",
            description: `${version} is not above the latest release ${last.version}; versions only go up`,
          },
        ]);
      }
    };
    check(this.#checkpointer.releases(this.#documents.idOf(CORE_KEY)));
    const last = this.#releasesNow().at(-1);
    if (last && canonicalJson(this.#contentNow(last.version)) === canonicalJson(this.draft())) {
      throw failedPrecondition(`the drafts are the same as release ${last.version}: nothing to release`);
    }
    await this.#documents.transact({ operatorId, action: "core.release", subjects: [version] }, () => ({
      edits: [
        {
          key: CORE_KEY,
          subject: version,
          change: (doc) => {
            (doc.releaseNotes as Record<string, unknown>)[version] = new A.ImmutableString(notes);
            if (answers.length === 0) return;
            doc.releaseAnswers ??= {};
            (doc.releaseAnswers as Record<string, unknown>)[version] = new A.ImmutableString(JSON.stringify(answers));
          },
        },
      ],
      result: undefined,
    }));
    const signed = await this.#checkpointer.release(CORE_KEY, version, check);
    this.#log.info({ version, seq: signed.checkpoint.seq }, "core released");
    return {
      version,
      notes,
      answers,
      heads: signed.checkpoint.heads,
      seq: signed.checkpoint.seq,
      time: signed.checkpoint.time,
    };
  }

  /** The drafts with `changes` applied (records replaced by identifier). */
  #merged(changes: Partial<CoreContent>): CoreContent {
    const current = this.draft();
    const merge = <T>(kind: RecordKind, base: T[], add: T[] | undefined): T[] => {
      if (!add || add.length === 0) return base;
      const byId = new Map(base.map((r) => [recordId(kind, r as Parameters<typeof recordId>[1]), r]));
      for (const r of add) byId.set(recordId(kind, r as Parameters<typeof recordId>[1]), r);
      return [...byId.values()];
    };
    return {
      framework: changes.framework ?? current.framework,
      items: merge("item", current.items, changes.items),
      associations: merge("association", current.associations, changes.associations),
      modules: merge("module", current.modules, changes.modules),
      schemes: merge("scheme", current.schemes, changes.schemes),
      definitions: current.definitions,
    };
  }

  /**
   * The CFDocument of a core authored in Concordat: made once, with the first item, when no import
   * gave the core one. Its identifier is a UUID derived from the federation's id, so it is the same
   * whenever it is made; its title and creator can be changed later by importing a CFDocument.
   */
  #frameworkFor(next: CoreContent, now: string): CoreFramework | undefined {
    if (next.framework || next.items.length === 0) return undefined;
    return {
      identifier: concordatFrameworkIdentifier(this.#federationId),
      title: `${this.#federationId} core competency framework`,
      creator: this.#creator,
      language: next.items[0]?.language ?? "en",
      lastChangeDateTime: now,
      extra: {},
    };
  }

  #setRecord(kind: RecordKind, id: string, record: unknown): DocumentEdit {
    const map = MAP_OF[kind];
    return {
      key: CORE_KEY,
      subject: id,
      change: (doc) => void ((doc[map] as Record<string, unknown>)[id] = encodeRecord(record)),
    };
  }
}

/** Language maps of each kind: an edit merges them by language. */
const LANG_MAPS: Record<RecordKind, readonly string[]> = {
  item: ["statement", "abbreviatedStatement"],
  association: [],
  module: ["title"],
  scheme: ["name", "description"],
};

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * The record to validate for `given`: with `merge`, the draft record with the same identifier (or,
 * for a new item, the defaults of `core item`) with the given fields laid over it; without, the
 * given record, with the draft record's `extra` when it gives none.
 */
function mergeRecord(
  kind: RecordKind,
  given: unknown,
  existing: ReadonlyMap<string, unknown>,
  merge: boolean,
  now: string,
): unknown {
  if (!isObject(given)) return given;
  const idField = kind === "item" || kind === "association" ? "identifier" : "id";
  const id = given[idField];
  const before = typeof id === "string" ? existing.get(id) : undefined;
  const hasExtra = kind === "item" || kind === "association";
  if (!merge) {
    if (!hasExtra || "extra" in given) return given;
    return { ...given, extra: isObject(before) && isObject(before.extra) ? before.extra : {} };
  }
  let base: Record<string, unknown> = isObject(before) ? structuredClone(before) : {};
  if (!isObject(before) && kind === "item") {
    const statement = isObject(given.statement) ? Object.keys(given.statement)[0] : undefined;
    base = { type: "Competency", roleLevels: [], themes: [], ...(statement ? { language: statement } : {}), extra: {} };
  } else if (!isObject(before) && hasExtra) base = { extra: {} };
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(given)) {
    const previous = base[key];
    if ((key === "extra" || LANG_MAPS[kind].includes(key)) && isObject(previous) && isObject(value))
      out[key] = { ...previous, ...value };
    else out[key] = value;
  }
  if (hasExtra && !("lastChangeDateTime" in given)) out.lastChangeDateTime = now;
  return out;
}

/** What in the drafts refers to the items `ids`: associations (child items named as such), modules and schemes. */
function referrersOf(content: CoreContent, ids: ReadonlySet<string>): FieldViolation[] {
  const out: FieldViolation[] = [];
  const codes = new Map(
    content.items.map((i) => [i.identifier, i.code ? `${i.code} (${i.identifier})` : i.identifier]),
  );
  const name = (id: string) => codes.get(id) ?? id;
  for (const a of content.associations) {
    for (const end of ["origin", "destination"] as const) {
      const target = a[end].identifier;
      if (!ids.has(target)) continue;
      const from = a[end === "origin" ? "destination" : "origin"].identifier;
      const what =
        a.type === "isChildOf" && end === "destination"
          ? `child item ${name(from)} (association ${a.identifier}, isChildOf)`
          : `association ${a.identifier} (${name(a.origin.identifier)} ${a.type} ${name(a.destination.identifier)})`;
      out.push({ field: `item ${quote(target)}`, description: `is referred to by ${what}` });
    }
  }
  for (const m of content.modules) {
    for (const c of m.competencies)
      if (ids.has(c))
        out.push({
          field: `item ${quote(c)}`,
          description: `is referred to by module ${m.code ? `${m.code} (${m.id})` : m.id}: one of its competencies`,
        });
  }
  for (const sc of content.schemes) {
    for (const c of sc.competencies)
      if (ids.has(c))
        out.push({
          field: `item ${quote(c)}`,
          description: `is referred to by accreditation scheme ${sc.id}: one of the competencies it accredits`,
        });
  }
  return out;
}
