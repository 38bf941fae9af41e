/**
 * File codec for `concordat trainers import|export`: reads CSV and JSON trainer files into
 * rows carrying their source line numbers, and writes trainers back.
 *
 * Only syntax and shape are checked here (columns, cell syntax, JSON types, unknown keys).
 * Semantic validation (BCP 47 tags, ISO 3166 codes, CEFR levels, date order, duplicate ids)
 * is the node's job: values are passed through verbatim, trimmed, so it can reject them.
 *
 * Round trip: for every trainer `x` that can be represented (see docs/trainer-files.md),
 * `parseTrainerFile(formatTrainerFile([x], f, { includePrivate: true }), f)` gives back
 * `x` normalised the way export normalises it: strings trimmed, `updatedAt`/`updatedBy`
 * cleared, and `private` dropped when all its fields are empty.
 *
 * The format is described in docs/trainer-files.md; keep the two in step.
 */
import { cellRange, toCellRange } from "./day-ranges.js";
import { readCsv, type CsvRecord, type CsvSyntaxError } from "../node/csv.js";
import { TextKind, textViolationsIn } from "../node/text.js";
import { parseTree, printParseErrorCode, type Node as JsonNode, type ParseError } from "jsonc-parser";
import { stringify } from "csv-stringify/sync";
import {
  Trainer,
  type Accreditation,
  type Language,
  type TimeRange,
  type TrainerPrivate,
} from "../node/api/generated/concordat/v1/trainers.js";

export type TrainerFileFormat = "csv" | "json";

export interface ParsedRow {
  /** 1-based line where the record starts (CSV: the header is line 1) */
  line: number;
  trainer: Trainer;
}

export interface FileRowError {
  /** 1-based line where the offending record starts (the header line for column problems) */
  line: number;
  /** CSV column name or JSON field path (`languages[1].level`); "" for a whole record or file */
  field: string;
  message: string;
}

/** CSV columns, in output order. */
export const CSV_COLUMNS = [
  "id",
  "display_name",
  "home_hub",
  "languages",
  "regions",
  "accreditations",
  "availability",
  "blackouts",
  "email",
  "phone",
  "national_id",
  "notes",
] as const;

export type CsvColumn = (typeof CSV_COLUMNS)[number];

const REQUIRED_CSV_COLUMNS: readonly CsvColumn[] = ["id", "display_name"];
const PRIVATE_CSV_COLUMNS: readonly CsvColumn[] = ["email", "phone", "national_id", "notes"];

const LIST_SEPARATOR = ";";
const LANGUAGE_SEPARATOR = ":";
const ACCREDITATION_SEPARATOR = "|";
const INTERVAL_SEPARATOR = "/";
const ACCREDITATION_PARTS = ["scheme", "competency", "level", "validFrom", "validUntil", "status"] as const;

/** The format implied by a file name's extension (`.csv` or `.json`, any case). */
export function formatFromPath(path: string): TrainerFileFormat | undefined {
  const match = /\.([^./\\]+)$/.exec(path);
  const ext = match?.[1]?.toLowerCase();
  return ext === "csv" || ext === "json" ? ext : undefined;
}

/**
 * Parses a trainer file. Every problem found is reported (the parser never stops at the
 * first); a record with any problem is left out of `rows`. A file-level problem (bad CSV
 * header, JSON syntax error, top level not an array) leaves `rows` empty.
 */
export function parseTrainerFile(
  content: string,
  format: TrainerFileFormat,
): { rows: ParsedRow[]; errors: FileRowError[] } {
  const text = content.startsWith("\uFEFF") ? content.slice(1) : content;
  const parsed = format === "csv" ? parseCsv(text) : parseJson(text);
  return { rows: parsed.rows.map((r) => ({ ...r, trainer: withApiRanges(r.trainer) })), errors: parsed.errors };
}

/**
 * Ranges as the API takes them: in files and flags, a range of plain dates includes its last day
 * (`2027-03-20/2027-03-23` is the 20th to the 23rd; cli/day-ranges.ts), the API's ranges are half-open.
 */
function withApiRanges(t: Trainer): Trainer {
  return { ...t, availability: t.availability.map(cellRange), blackouts: t.blackouts.map(cellRange) };
}

/**
 * Rows of a parsed file whose text a node accepts, and an error for each one that holds a character
 * no text may hold (a control character, a terminal escape, a bidirectional override: node/text.ts),
 * naming its line and field. The node would refuse the whole import for one such row; found here,
 * it is reported like any unreadable row.
 */
export function withAcceptableText(
  parsed: { rows: ParsedRow[]; errors: FileRowError[] },
  format: TrainerFileFormat,
): { rows: ParsedRow[]; errors: FileRowError[] } {
  const rows: ParsedRow[] = [];
  const errors = [...parsed.errors];
  for (const row of parsed.rows) {
    const problems = textViolationsIn(row.trainer, "", TextKind.Multiline);
    if (problems.length === 0) rows.push(row);
    for (const p of problems)
      errors.push({ line: row.line, field: format === "csv" ? csvColumnOf(p.field) : p.field, message: p.description });
  }
  return { rows, errors };
}

/** The CSV column a field path comes from: `languages[1].level` → languages, `private.nationalId` → national_id. */
function csvColumnOf(path: string): string {
  const [first = "", second] = path.split(".");
  const top = first.replace(/\[\d+\]$/, "");
  const field = top === "private" && second ? second : top;
  return field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/**
 * Writes trainers as a CSV (header row + one record per trainer, `\n` line ends) or JSON
 * (pretty-printed array, 2-space indent, trailing newline) file. `updatedAt`/`updatedBy`
 * are never written; the private part (CSV columns email, phone, national_id, notes / the
 * JSON `private` object) only when `includePrivate` is set.
 *
 * @throws Error for CSV when a list item cannot be written so that it reads back the same
 *   (e.g. a region containing `;`, an empty language level); the JSON format has no such limits.
 */
export function formatTrainerFile(
  trainers: readonly Trainer[],
  format: TrainerFileFormat,
  options?: { includePrivate?: boolean },
): string {
  const includePrivate = options?.includePrivate ?? false;
  const normalised = trainers.map((t) => normaliseForExport(t, includePrivate));
  return format === "csv" ? formatCsv(normalised, includePrivate) : formatJson(normalised, includePrivate);
}

// ---------------------------------------------------------------------------------------
// shared

function normaliseForExport(t: Trainer, includePrivate: boolean): Trainer {
  const priv = includePrivate ? normalisePrivate(t.private) : undefined;
  return Trainer.create({
    id: t.id.trim(),
    displayName: t.displayName.trim(),
    homeHub: t.homeHub.trim(),
    languages: t.languages.map((l) => ({ tag: l.tag.trim(), level: l.level.trim() })),
    regions: t.regions.map((r) => r.trim()),
    accreditations: t.accreditations.map((a) => ({
      scheme: a.scheme.trim(),
      competency: a.competency.trim(),
      level: a.level.trim(),
      validFrom: a.validFrom.trim(),
      validUntil: a.validUntil.trim(),
      status: a.status.trim(),
    })),
    // Written as they are read: a range of whole days by its first and last day (cli/day-ranges.ts).
    availability: t.availability.map(trimRange).map(toCellRange),
    blackouts: t.blackouts.map(trimRange).map(toCellRange),
    private: priv,
  });
}

function trimRange(r: TimeRange): TimeRange {
  return { start: r.start.trim(), end: r.end.trim() };
}

/** Trimmed private part, or undefined when it is absent or all its fields are empty. */
function normalisePrivate(p: TrainerPrivate | undefined): TrainerPrivate | undefined {
  if (p === undefined) return undefined;
  const out: TrainerPrivate = {
    email: p.email.trim(),
    phone: p.phone.trim(),
    nationalId: p.nationalId.trim(),
    notes: p.notes.trim(),
  };
  return out.email || out.phone || out.nationalId || out.notes ? out : undefined;
}

/** 1-based line of each offset; `\n`, `\r\n` and a lone `\r` each end a line. */
function lineIndex(text: string): (offset: number) => number {
  const starts = [0];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10 /* \n */ || (c === 13 /* \r */ && text.charCodeAt(i + 1) !== 10)) starts.push(i + 1);
  }
  return (offset) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((starts[mid] ?? 0) <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };
}

/** A value quoted for an error message, shortened when long. */
function show(value: string): string {
  return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
}

function snakeToCamel(s: string): string {
  return s.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

function camelToSnake(s: string): string {
  return s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

// ---------------------------------------------------------------------------------------
// CSV reading

function parseCsv(text: string): { rows: ParsedRow[]; errors: FileRowError[] } {
  const { records, errors: syntaxErrors } = readCsv(text);
  const errors: FileRowError[] = [];
  const rows: ParsedRow[] = [];

  const isBlank = (r: CsvRecord) => r.cells.every((c) => c.trim() === "");
  const header = records.find((r) => !isBlank(r));
  const firstSyntaxError = syntaxErrors[0];
  if (header === undefined || (firstSyntaxError !== undefined && firstSyntaxError.line <= header.line)) {
    // No header (empty file) or the header itself is broken.
    if (firstSyntaxError !== undefined) {
      errors.push({ line: firstSyntaxError.line, field: "", message: `header row: ${firstSyntaxError.message}` });
    }
    return { rows, errors };
  }

  // Header: column index -> known column (undefined for unknown/duplicate ones).
  const columns: (CsvColumn | undefined)[] = [];
  const names = header.cells.map((c) => c.trim().toLowerCase());
  const seen = new Set<string>();
  let headerOk = true;
  names.forEach((name, idx) => {
    if (name === "") {
      errors.push({ line: header.line, field: `column ${idx + 1}`, message: "empty column name in the header row" });
      headerOk = false;
      columns.push(undefined);
    } else if (!(CSV_COLUMNS as readonly string[]).includes(name)) {
      const original = (header.cells[idx] ?? "").trim();
      errors.push({ line: header.line, field: original, message: unknownColumnMessage(original) });
      headerOk = false;
      columns.push(undefined);
    } else if (seen.has(name)) {
      errors.push({ line: header.line, field: name, message: `duplicate column "${name}"` });
      headerOk = false;
      columns.push(undefined);
    } else {
      seen.add(name);
      columns.push(name as CsvColumn);
    }
  });
  for (const req of REQUIRED_CSV_COLUMNS) {
    if (!seen.has(req)) {
      errors.push({ line: header.line, field: req, message: `missing required column "${req}"` });
      headerOk = false;
    }
  }

  // Records, in file order, with the syntax errors merged in.
  type Item = { kind: "record"; record: CsvRecord } | { kind: "error"; error: CsvSyntaxError };
  const items: Item[] = [
    ...records.filter((r) => r.line > header.line).map((record): Item => ({ kind: "record", record })),
    ...syntaxErrors.map((error): Item => ({ kind: "error", error })),
  ].sort((a, b) => lineOf(a) - lineOf(b));
  function lineOf(it: Item): number {
    return it.kind === "record" ? it.record.line : it.error.line;
  }

  for (const it of items) {
    if (it.kind === "error") {
      const col = columns[it.error.cell] ?? names[it.error.cell] ?? "";
      errors.push({ line: it.error.line, field: col, message: it.error.message });
      continue;
    }
    const { record } = it;
    if (isBlank(record)) continue;
    if (record.cells.length !== names.length) {
      errors.push({
        line: record.line,
        field: "",
        message: `the record has ${record.cells.length} cells but the header has ${names.length} columns`,
      });
      continue;
    }
    const cells = new Map<CsvColumn, string>();
    record.cells.forEach((cell, idx) => {
      const col = columns[idx];
      if (col !== undefined) cells.set(col, cell.trim());
    });
    const rowErrors: FileRowError[] = [];
    const trainer = trainerFromCells(cells, (field, message) => rowErrors.push({ line: record.line, field, message }));
    errors.push(...rowErrors);
    if (rowErrors.length === 0 && headerOk) rows.push({ line: record.line, trainer });
  }
  return { rows, errors };
}

function unknownColumnMessage(original: string): string {
  const name = original.toLowerCase();
  const snake = camelToSnake(original.replace(/[\s-]+/g, "_")).toLowerCase();
  const hint = (CSV_COLUMNS as readonly string[]).includes(snake) ? `; did you mean "${snake}"?` : "";
  const delimiterHint =
    !name.includes(",") && (name.includes(";") || name.includes("\t"))
      ? "; the file seems to use ';' or tabs between columns, but columns must be separated by ','"
      : "";
  return `unknown column "${name}"${hint}${delimiterHint} (expected columns: ${CSV_COLUMNS.join(", ")})`;
}

type Report = (field: string, message: string) => void;

/** Items of a list cell: split on `;`, trimmed, empty items dropped. */
function listItems(cell: string): string[] {
  return cell
    .split(LIST_SEPARATOR)
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

function trainerFromCells(cells: Map<CsvColumn, string>, report: Report): Trainer {
  const get = (c: CsvColumn) => cells.get(c) ?? "";

  const languages: Language[] = [];
  listItems(get("languages")).forEach((item, idx) => {
    const parts = item.split(LANGUAGE_SEPARATOR).map((s) => s.trim());
    const [tag, level] = parts;
    if (parts.length !== 2 || !tag || !level) {
      report("languages", `item ${idx + 1} ${show(item)} is not "tag:LEVEL" (e.g. "en:C1")`);
      return;
    }
    languages.push({ tag, level });
  });

  const accreditations: Accreditation[] = [];
  listItems(get("accreditations")).forEach((item, idx) => {
    const parts = item.split(ACCREDITATION_SEPARATOR).map((s) => s.trim());
    const [scheme = "", competency = "", level = "", validFrom = "", validUntil = "", status = ""] = parts;
    if (parts.length !== ACCREDITATION_PARTS.length) {
      report(
        "accreditations",
        `item ${idx + 1} ${show(item)} has ${parts.length} "|"-separated parts, expected ${ACCREDITATION_PARTS.length}: ` +
          ACCREDITATION_PARTS.join("|"),
      );
      return;
    }
    const missing = [scheme ? undefined : "scheme", competency ? undefined : "competency"].filter(Boolean);
    if (missing.length > 0) {
      report("accreditations", `item ${idx + 1} ${show(item)} has an empty ${missing.join(" and ")}`);
      return;
    }
    accreditations.push({ scheme, competency, level, validFrom, validUntil, status });
  });

  const intervals = (column: "availability" | "blackouts"): TimeRange[] => {
    const out: TimeRange[] = [];
    listItems(get(column)).forEach((item, idx) => {
      const parts = item.split(INTERVAL_SEPARATOR).map((s) => s.trim());
      const [start, end] = parts;
      if (parts.length !== 2 || !start || !end) {
        report(
          column,
          `item ${idx + 1} ${show(item)} is not an interval "start/end" (e.g. "2026-01-05T00:00:00Z/2026-01-20T00:00:00Z")`,
        );
        return;
      }
      out.push({ start, end });
    });
    return out;
  };

  return Trainer.create({
    id: get("id"),
    displayName: get("display_name"),
    homeHub: get("home_hub"),
    languages,
    regions: listItems(get("regions")),
    accreditations,
    availability: intervals("availability"),
    blackouts: intervals("blackouts"),
    private: normalisePrivate({
      email: get("email"),
      phone: get("phone"),
      nationalId: get("national_id"),
      notes: get("notes"),
    }),
  });
}

// ---------------------------------------------------------------------------------------
// CSV writing

function formatCsv(trainers: readonly Trainer[], includePrivate: boolean): string {
  const columns = CSV_COLUMNS.filter((c) => includePrivate || !PRIVATE_CSV_COLUMNS.includes(c));
  const problems: string[] = [];
  const records = trainers.map((t) => {
    const check = (field: string, value: string, separators: readonly string[]) => {
      if (value === "") problems.push(`trainer ${show(t.id)}: ${field} is empty`);
      for (const sep of separators) {
        if (value.includes(sep)) problems.push(`trainer ${show(t.id)}: ${field} ${show(value)} contains "${sep}"`);
      }
    };
    t.languages.forEach((l, i) => {
      check(`languages[${i}].tag`, l.tag, [LIST_SEPARATOR, LANGUAGE_SEPARATOR]);
      check(`languages[${i}].level`, l.level, [LIST_SEPARATOR, LANGUAGE_SEPARATOR]);
    });
    for (const [i, r] of t.regions.entries()) check(`regions[${i}]`, r, [LIST_SEPARATOR]);
    t.accreditations.forEach((a, i) => {
      for (const part of ACCREDITATION_PARTS) {
        const value = a[part];
        const field = `accreditations[${i}].${part}`;
        if (part === "scheme" || part === "competency") check(field, value, [LIST_SEPARATOR, ACCREDITATION_SEPARATOR]);
        else if (value !== "") check(field, value, [LIST_SEPARATOR, ACCREDITATION_SEPARATOR]);
      }
    });
    for (const key of ["availability", "blackouts"] as const) {
      t[key].forEach((r, i) => {
        check(`${key}[${i}].start`, r.start, [LIST_SEPARATOR, INTERVAL_SEPARATOR]);
        check(`${key}[${i}].end`, r.end, [LIST_SEPARATOR, INTERVAL_SEPARATOR]);
      });
    }
    const p = t.private;
    const cell: Record<CsvColumn, string> = {
      id: t.id,
      display_name: t.displayName,
      home_hub: t.homeHub,
      languages: t.languages.map((l) => `${l.tag}${LANGUAGE_SEPARATOR}${l.level}`).join(LIST_SEPARATOR),
      regions: t.regions.join(LIST_SEPARATOR),
      accreditations: t.accreditations
        .map((a) => ACCREDITATION_PARTS.map((part) => a[part]).join(ACCREDITATION_SEPARATOR))
        .join(LIST_SEPARATOR),
      availability: t.availability.map((r) => `${r.start}${INTERVAL_SEPARATOR}${r.end}`).join(LIST_SEPARATOR),
      blackouts: t.blackouts.map((r) => `${r.start}${INTERVAL_SEPARATOR}${r.end}`).join(LIST_SEPARATOR),
      email: p?.email ?? "",
      phone: p?.phone ?? "",
      national_id: p?.nationalId ?? "",
      notes: p?.notes ?? "",
    };
    return columns.map((c) => cell[c]);
  });
  if (problems.length > 0) {
    throw new Error(
      `cannot write these values to CSV so that they read back unchanged (use the JSON format):\n  ${problems.join("\n  ")}`,
    );
  }
  // Cells holding a line end of either kind must be quoted; csv-stringify only looks for its
  // own record delimiter when one is configured, so say so explicitly.
  return stringify([[...columns], ...records], { record_delimiter: "unix", quoted_match: /[\r\n]/ });
}

// ---------------------------------------------------------------------------------------
// JSON

function formatJson(trainers: readonly Trainer[], includePrivate: boolean): string {
  const out = trainers.map((t) => ({
    id: t.id,
    displayName: t.displayName,
    homeHub: t.homeHub,
    languages: t.languages.map((l) => ({ tag: l.tag, level: l.level })),
    regions: [...t.regions],
    accreditations: t.accreditations.map((a) => ({
      scheme: a.scheme,
      competency: a.competency,
      level: a.level,
      validFrom: a.validFrom,
      validUntil: a.validUntil,
      status: a.status,
    })),
    availability: t.availability.map((r) => ({ start: r.start, end: r.end })),
    blackouts: t.blackouts.map((r) => ({ start: r.start, end: r.end })),
    ...(includePrivate && t.private !== undefined
      ? {
          private: {
            email: t.private.email,
            phone: t.private.phone,
            nationalId: t.private.nationalId,
            notes: t.private.notes,
          },
        }
      : {}),
  }));
  return `${JSON.stringify(out, null, 2)}\n`;
}

const JSON_SYNTAX_MESSAGES: Record<string, string> = {
  InvalidSymbol: "invalid symbol",
  InvalidNumberFormat: "invalid number",
  PropertyNameExpected: "a property name in double quotes was expected (no trailing commas)",
  ValueExpected: "a value was expected (no trailing commas)",
  ColonExpected: "':' was expected",
  CommaExpected: "',' was expected",
  CloseBraceExpected: "'}' was expected",
  CloseBracketExpected: "']' was expected",
  EndOfFileExpected: "end of file was expected",
  InvalidCommentToken: "comments are not allowed",
  UnexpectedEndOfComment: "unterminated comment",
  UnexpectedEndOfString: "unterminated string",
  UnexpectedEndOfNumber: "unterminated number",
  InvalidUnicode: "invalid \\u escape",
  InvalidEscapeCharacter: "invalid escape character",
  InvalidCharacter: "invalid character in a string (control characters must be escaped)",
};

function jsonType(node: JsonNode): string {
  return node.type;
}

/** Top-level keys of a trainer object; updatedAt/updatedBy are accepted and ignored. */
const TRAINER_FIELDS: ReadonlySet<string> = new Set([
  "id",
  "displayName",
  "homeHub",
  "languages",
  "regions",
  "accreditations",
  "availability",
  "blackouts",
  "private",
  "updatedAt",
  "updatedBy",
]);
const REQUIRED_JSON_FIELDS = ["id", "displayName"];
const LANGUAGE_FIELDS = ["tag", "level"] as const;
const RANGE_FIELDS = ["start", "end"] as const;
const PRIVATE_FIELDS = ["email", "phone", "nationalId", "notes"] as const;

function parseJson(text: string): { rows: ParsedRow[]; errors: FileRowError[] } {
  const rows: ParsedRow[] = [];
  const errors: FileRowError[] = [];
  const lineOf = lineIndex(text);
  const syntax: ParseError[] = [];
  const root = parseTree(text, syntax, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: true });

  if (syntax.length > 0) {
    const seen = new Set<string>();
    for (const e of syntax) {
      const code = printParseErrorCode(e.error);
      const line = lineOf(e.offset);
      const message = `JSON syntax error: ${Object.hasOwn(JSON_SYNTAX_MESSAGES, code) ? JSON_SYNTAX_MESSAGES[code] : code}`;
      const key = `${line}\0${message}`;
      if (seen.has(key)) continue;
      seen.add(key);
      errors.push({ line, field: "", message });
    }
    return { rows, errors };
  }
  if (root === undefined) return { rows, errors }; // empty file
  if (root.type !== "array") {
    errors.push({
      line: lineOf(root.offset),
      field: "",
      message: `the file must contain a JSON array of trainer objects, not ${article(jsonType(root))}`,
    });
    return { rows, errors };
  }

  root.children?.forEach((element, index) => {
    const line = lineOf(element.offset);
    const rowErrors: FileRowError[] = [];
    const report: Report = (field, message) => rowErrors.push({ line, field, message });
    if (element.type !== "object") {
      report("", `element ${index + 1} of the array must be a trainer object, not ${article(jsonType(element))}`);
    } else {
      const trainer = trainerFromJson(element, report);
      if (rowErrors.length === 0) rows.push({ line, trainer });
    }
    errors.push(...rowErrors);
  });
  return { rows, errors };
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

/** The properties of an object node, reporting duplicate keys. */
function properties(node: JsonNode, path: string, report: Report): Map<string, JsonNode> {
  const out = new Map<string, JsonNode>();
  for (const prop of node.children ?? []) {
    const [keyNode, valueNode] = prop.children ?? [];
    if (keyNode === undefined || valueNode === undefined) continue; // only with syntax errors
    const key = String(keyNode.value);
    if (out.has(key)) {
      report(join(path, key), `duplicate key "${key}"`);
      continue;
    }
    out.set(key, valueNode);
  }
  return out;
}

function join(path: string, key: string): string {
  return path === "" ? key : `${path}.${key}`;
}

function str(node: JsonNode | undefined, path: string, report: Report): string {
  if (node === undefined) return "";
  if (node.type !== "string") {
    report(path, `expected a string, got ${article(jsonType(node))}`);
    return "";
  }
  return String(node.value).trim();
}

/** An object of string fields (language, accreditation, time range, private part). */
function stringObject<K extends string>(
  node: JsonNode,
  path: string,
  keys: readonly K[],
  report: Report,
): Record<K, string> | undefined {
  if (node.type !== "object") {
    report(path, `expected an object with ${keys.join(", ")}, got ${article(jsonType(node))}`);
    return undefined;
  }
  const props = properties(node, path, report);
  for (const key of props.keys()) {
    if (!(keys as readonly string[]).includes(key)) {
      report(join(path, key), `unknown field "${key}" (expected: ${keys.join(", ")})`);
    }
  }
  const out = {} as Record<K, string>;
  for (const key of keys) out[key] = str(props.get(key), join(path, key), report);
  return out;
}

function array<T>(
  node: JsonNode | undefined,
  path: string,
  report: Report,
  item: (n: JsonNode, path: string) => T | undefined,
): T[] {
  if (node === undefined) return [];
  if (node.type !== "array") {
    report(path, `expected an array, got ${article(jsonType(node))}`);
    return [];
  }
  const out: T[] = [];
  (node.children ?? []).forEach((child, i) => {
    const v = item(child, `${path}[${i}]`);
    if (v !== undefined) out.push(v);
  });
  return out;
}

function trainerFromJson(node: JsonNode, report: Report): Trainer {
  const props = properties(node, "", report);
  for (const key of props.keys()) {
    if (!TRAINER_FIELDS.has(key)) {
      const camel = snakeToCamel(key);
      const hint = TRAINER_FIELDS.has(camel) ? `; did you mean "${camel}"?` : "";
      report(key, `unknown field "${key}"${hint}`);
    }
  }
  for (const key of REQUIRED_JSON_FIELDS) {
    if (!props.has(key)) report(key, `missing required field "${key}"`);
  }
  const ranges = (key: "availability" | "blackouts") =>
    array(props.get(key), key, report, (n, p) => stringObject(n, p, RANGE_FIELDS, report));

  let priv: TrainerPrivate | undefined;
  const privNode = props.get("private");
  if (privNode !== undefined && privNode.type !== "null") {
    priv = normalisePrivate(stringObject(privNode, "private", PRIVATE_FIELDS, report));
  }

  return Trainer.create({
    id: str(props.get("id"), "id", report),
    displayName: str(props.get("displayName"), "displayName", report),
    homeHub: str(props.get("homeHub"), "homeHub", report),
    languages: array(props.get("languages"), "languages", report, (n, p) =>
      stringObject(n, p, LANGUAGE_FIELDS, report),
    ),
    regions: array(props.get("regions"), "regions", report, (n, p) => {
      if (n.type !== "string") {
        report(p, `expected a string, got ${article(jsonType(n))}`);
        return undefined;
      }
      return String(n.value).trim();
    }),
    accreditations: array(props.get("accreditations"), "accreditations", report, (n, p) =>
      stringObject(n, p, ACCREDITATION_PARTS, report),
    ),
    availability: ranges("availability"),
    blackouts: ranges("blackouts"),
    private: priv,
  });
}

/**
 * One trainer from cells in the CSV syntax (e.g. `languages: "en:C1;fr:B2"`), as the CLI's
 * `trainers add|update` flags give them. Problems are reported like CSV errors, with line 0.
 */
export function trainerFromFields(fields: Partial<Record<CsvColumn, string>>): {
  trainer: Trainer;
  errors: FileRowError[];
} {
  const errors: FileRowError[] = [];
  const cells = new Map<CsvColumn, string>();
  for (const column of CSV_COLUMNS) {
    const value = fields[column];
    if (value !== undefined) cells.set(column, value.trim());
  }
  const trainer = trainerFromCells(cells, (field, message) => errors.push({ line: 0, field, message }));
  return { trainer: withApiRanges(trainer), errors };
}
