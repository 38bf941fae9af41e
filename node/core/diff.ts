import { canonicalJson, recordId } from "./content.js";
import { RECORD_KINDS, type CoreContent, type RecordKind } from "./model.js";

export interface FieldChange {
  /** Dotted path, e.g. `statement.fr`, `durationMinutes`, `units` (arrays compare whole). */
  field: string;
  before?: unknown;
  after?: unknown;
}

export interface RecordChange {
  kind: RecordKind | "framework";
  id: string;
  /** The item's code or module's code, to name it for people. */
  code: string;
  change: "added" | "removed" | "changed";
  fields: FieldChange[];
}

/** Leaves of a record: objects are walked into dotted paths; arrays and scalars are leaves. */
function leaves(value: unknown, path: string, out: Map<string, unknown>): void {
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 0 && path) out.set(path, {});
    for (const [k, v] of entries) leaves(v, path ? `${path}.${k}` : k, out);
    return;
  }
  if (value !== undefined) out.set(path, value);
}

/**
 * Bookkeeping, not content (docs/curriculum-officer.md): fields that say when or where a record
 * was written rather than what it says, and that `core diff` and `core impact` therefore leave out.
 * - `lastChangeDateTime`, of any record;
 * - a record's own CASE address and package links: `extra.uri`, `extra.CFDocumentURI…`,
 *   `extra.CFPackageURI…`, `extra.caseVersion`, and `extra.extensions.concordat.identifier` (the
 *   Concordat identifier an export carries, node/core/case-ids.ts);
 * - the `uri` and `title` of an association's ends and grouping (copies of the linked node's address
 *   and title; which node it links is the `identifier`, and that is content).
 * Everything else is content: text, codes, types, levels, themes, links, and the other CASE fields
 * kept in `extra` (notes, subjects, licences, status dates, …).
 */
const BOOKKEEPING = [
  /^lastChangeDateTime$/,
  /^extra\.(uri|caseVersion)$/,
  /^extra\.(CFDocumentURI|CFPackageURI)(\..*)?$/,
  /^extra\.extensions\.concordat\.identifier$/,
  /^(origin|destination|grouping)\.(uri|title)$/,
];

export function isBookkeeping(field: string): boolean {
  return BOOKKEEPING.some((pattern) => pattern.test(field));
}

/** Field-level differences in content between two versions of one record (either may be absent): bookkeeping fields are left out. */
export function diffContent(before: unknown, after: unknown): FieldChange[] {
  return diffFields(before, after).filter((c) => !isBookkeeping(c.field));
}

/** Field-level differences between two versions of one record (either may be absent). */
export function diffFields(before: unknown, after: unknown): FieldChange[] {
  const a = new Map<string, unknown>();
  const b = new Map<string, unknown>();
  leaves(before ?? {}, "", a);
  leaves(after ?? {}, "", b);
  const fields = [...new Set([...a.keys(), ...b.keys()])].sort();
  const changes: FieldChange[] = [];
  for (const field of fields) {
    const x = a.get(field);
    const y = b.get(field);
    if (x !== undefined && y !== undefined && canonicalJson(x) === canonicalJson(y)) continue;
    changes.push({ field, ...(x !== undefined ? { before: x } : {}), ...(y !== undefined ? { after: y } : {}) });
  }
  return changes;
}

type AnyRecord = Parameters<typeof recordId>[1];

function recordsOf(content: CoreContent, kind: RecordKind): AnyRecord[] {
  return kind === "item"
    ? content.items
    : kind === "association"
      ? content.associations
      : kind === "module"
        ? content.modules
        : content.schemes;
}

function codeOf(kind: RecordKind, record: AnyRecord): string {
  if (kind === "item" || kind === "module") return (record as { code: string }).code;
  if (kind === "association") {
    const a = record as { type: string; origin: { identifier: string }; destination: { identifier: string } };
    return `${a.origin.identifier} ${a.type} ${a.destination.identifier}`;
  }
  return "";
}

/**
 * Record by record, field by field: what changed in content from `a` to `b` (framework first, then
 * items, …). A record whose bookkeeping alone changed is not listed; an added or removed record is,
 * with all its fields.
 */
export function diffCore(a: CoreContent, b: CoreContent): RecordChange[] {
  const changes: RecordChange[] = [];
  const fw =
    !a.framework || !b.framework ? diffFields(a.framework, b.framework) : diffContent(a.framework, b.framework);
  if (fw.length > 0) {
    changes.push({
      kind: "framework",
      id: b.framework?.identifier ?? a.framework?.identifier ?? "",
      code: "",
      change: !a.framework ? "added" : !b.framework ? "removed" : "changed",
      fields: fw,
    });
  }
  for (const kind of RECORD_KINDS) {
    const before = new Map(recordsOf(a, kind).map((r) => [recordId(kind, r), r]));
    const after = new Map(recordsOf(b, kind).map((r) => [recordId(kind, r), r]));
    for (const id of [...new Set([...before.keys(), ...after.keys()])].sort()) {
      const x = before.get(id);
      const y = after.get(id);
      const fields = x && y ? diffContent(x, y) : diffFields(x, y);
      if (fields.length === 0) continue;
      changes.push({
        kind,
        id,
        code: codeOf(kind, (y ?? x) as AnyRecord),
        change: !x ? "added" : !y ? "removed" : "changed",
        fields,
      });
    }
  }
  return changes;
}
