/**
 * The trainer file reader of `concordat trainers import` (cli/trainer-files.ts, docs/trainer-files.md),
 * for the browser: the same checks, the same lines, fields and messages, so a row the CLI refuses
 * the console refuses the same way (test/console/roster.test.ts compares the two on the same files).
 *
 * Why a copy and not an import: the CLI's codec builds its rows with ts-proto's `Trainer.create`,
 * and ts-proto's generated module loads @grpc/grpc-js at run time (its service client), which
 * needs Node's http2, net and tls and cannot be bundled for a browser; cli/day-ranges.ts pulls the
 * CLI's error module, which loads the node's whole API. The node-free parts are imported as they are
 * (node/csv.ts's RFC 4180 reader, node/text.ts's text rules); the reading parts of
 * cli/trainer-files/{cells,csv,json}.ts are copied here with `Trainer.create` replaced by `trainer()`.
 * Only reading is copied: the console writes no files. Keep the two in step.
 */
import { type Node as JsonNode, type ParseError, parseTree, printParseErrorCode } from "jsonc-parser";
import { type CsvRecord, type CsvSyntaxError, readCsv } from "../../../node/csv.js";
import { TextKind, textViolationsIn } from "../../../node/text.js";

/** The plain shapes of the API's messages (ts-proto's and protobuf-es's agree on these field names). */
export interface Language {
  tag: string;
  level: string;
}
export interface Accreditation {
  scheme: string;
  competency: string;
  level: string;
  validFrom: string;
  validUntil: string;
  status: string;
}
export interface TimeRange {
  start: string;
  end: string;
}
export interface TrainerPrivate {
  email: string;
  phone: string;
  nationalId: string;
  notes: string;
}
export interface Trainer {
  id: string;
  displayName: string;
  homeHub: string;
  languages: Language[];
  regions: string[];
  accreditations: Accreditation[];
  availability: TimeRange[];
  blackouts: TimeRange[];
  private: TrainerPrivate | undefined;
  updatedAt: string;
  updatedBy: string;
}

/** What `Trainer.create` does for the CLI: every field present, defaults for the missing ones. */
function trainer(fields: Partial<Trainer>): Trainer {
  return {
    id: "",
    displayName: "",
    homeHub: "",
    languages: [],
    regions: [],
    accreditations: [],
    availability: [],
    blackouts: [],
    private: undefined,
    updatedAt: "",
    updatedBy: "",
    ...fields,
  };
}

export type TrainerFileFormat = "csv" | "json";

/** The format implied by a file name's extension (`.csv` or `.json`, any case). */
export function formatFromPath(path: string): TrainerFileFormat | undefined {
  const match = /\.([^./\\]+)$/.exec(path);
  const ext = match?.[1]?.toLowerCase();
  return ext === "csv" || ext === "json" ? ext : undefined;
}

/** Parses a trainer file as `parseTrainerFile` then `withAcceptableText` do for the CLI. */
export function readTrainerFile(
  content: string,
  format: TrainerFileFormat,
): { rows: ParsedRow[]; errors: FileRowError[] } {
  const text = content.startsWith("\uFEFF") ? content.slice(1) : content;
  const parsed = format === "csv" ? parseCsv(text) : parseJson(text);
  const rows: ParsedRow[] = [];
  const errors = [...parsed.errors];
  for (const row of parsed.rows) {
    const withRanges = {
      ...row.trainer,
      availability: row.trainer.availability.map(cellRange),
      blackouts: row.trainer.blackouts.map(cellRange),
    };
    const problems = textViolationsIn(withRanges, "", TextKind.Multiline);
    if (problems.length === 0) rows.push({ line: row.line, trainer: withRanges });
    for (const p of problems)
      errors.push({ line: row.line, field: format === "csv" ? csvColumnOf(p.field) : p.field, message: p.description });
  }
  return { rows, errors };
}

// cli/day-ranges.ts: plain dates are whole days, the last one included; the API's ranges are half-open.
const DAY_MS = 86_400_000;
const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

function isPlainDate(value: string): boolean {
  if (!DATE_ONLY.test(value)) return false;
  const d = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === value;
}

function nextDay(date: string): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + DAY_MS).toISOString().slice(0, 10);
}

export function cellRange(range: TimeRange): TimeRange {
  if (isPlainDate(range.start) && isPlainDate(range.end) && range.end >= range.start)
    return { start: range.start, end: nextDay(range.end) };
  return range;
}

// ---------------------------------------------------------------------------------------
// cli/trainer-files/cells.ts (reading)

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

/** Reports a problem of the record being read: its column or field, and why. */
export type Report = (field: string, message: string) => void;

/**
 * The CSV column of each public field of the roster's trainer (node/roster), or null for a field
 * the node sets that files do not carry. A field added to the trainer is a compile error here
 * until it is given a column (or null), so no codec can forget it.
 */
const PUBLIC_COLUMNS = {
  id: "id",
  displayName: "display_name",
  homeHub: "home_hub",
  languages: "languages",
  regions: "regions",
  accreditations: "accreditations",
  availability: "availability",
  blackouts: "blackouts",
  updatedAt: null,
  updatedBy: null,
} as const satisfies Record<keyof Omit<Trainer, "private">, string | null>;

/** The CSV column of each private field of the roster's trainer (never replicated). */
const PRIVATE_COLUMNS = {
  email: "email",
  phone: "phone",
  nationalId: "national_id",
  notes: "notes",
} as const satisfies Record<keyof TrainerPrivate, string>;

type PublicColumn = Exclude<(typeof PUBLIC_COLUMNS)[keyof typeof PUBLIC_COLUMNS], null>;
type PrivateColumn = (typeof PRIVATE_COLUMNS)[keyof typeof PRIVATE_COLUMNS];
export type CsvColumn = PublicColumn | PrivateColumn;

/** The trainer's public fields a file carries, in the order files write them (`updatedAt`/`updatedBy` are the node's). */
export const FILE_PUBLIC_FIELDS = (Object.keys(PUBLIC_COLUMNS) as Array<keyof typeof PUBLIC_COLUMNS>).filter(
  (field): field is Exclude<keyof Omit<Trainer, "private">, "updatedAt" | "updatedBy"> =>
    PUBLIC_COLUMNS[field] !== null,
);

/** The trainer's private fields, in file order. */
export const PRIVATE_FIELDS = Object.keys(PRIVATE_COLUMNS) as Array<keyof typeof PRIVATE_COLUMNS>;

export const PRIVATE_CSV_COLUMNS: readonly CsvColumn[] = PRIVATE_FIELDS.map((f) => PRIVATE_COLUMNS[f]);

/** CSV columns, in output order: the public fields', then the private ones'. */
export const CSV_COLUMNS: readonly CsvColumn[] = [
  ...FILE_PUBLIC_FIELDS.map((f) => PUBLIC_COLUMNS[f]),
  ...PRIVATE_CSV_COLUMNS,
];

export const REQUIRED_CSV_COLUMNS: readonly CsvColumn[] = [PUBLIC_COLUMNS.id, PUBLIC_COLUMNS.displayName];

/** The parts of an accreditation item, in cell order; every field of the roster's accreditation, once. */
export const ACCREDITATION_PARTS = Object.keys({
  scheme: true,
  competency: true,
  level: true,
  validFrom: true,
  validUntil: true,
  status: true,
} satisfies Record<keyof Accreditation, true>) as Array<keyof Accreditation>;

/** The fields of a language item and of a time range, as the roster's trainer has them. */
export const LANGUAGE_FIELDS = Object.keys({ tag: true, level: true } satisfies Record<keyof Language, true>) as Array<
  keyof Language
>;
export const RANGE_FIELDS = Object.keys({ start: true, end: true } satisfies Record<keyof TimeRange, true>) as Array<
  keyof TimeRange
>;

export const LIST_SEPARATOR = ";";
export const LANGUAGE_SEPARATOR = ":";
export const ACCREDITATION_SEPARATOR = "|";
export const INTERVAL_SEPARATOR = "/";

/** A value quoted for an error message, shortened when long. */
export function show(value: string): string {
  return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
}

/** Trimmed private part, or undefined when it is absent or all its fields are empty. */
export function normalisePrivate(p: TrainerPrivate | undefined): TrainerPrivate | undefined {
  if (p === undefined) return undefined;
  const out: TrainerPrivate = {
    email: p.email.trim(),
    phone: p.phone.trim(),
    nationalId: p.nationalId.trim(),
    notes: p.notes.trim(),
  };
  return out.email || out.phone || out.nationalId || out.notes ? out : undefined;
}

// ---------------------------------------------------------------------------------------
// reading cells

/** Items of a list cell: split on `;`, trimmed, empty items dropped. */
function listItems(cell: string): string[] {
  return cell
    .split(LIST_SEPARATOR)
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

/** A trainer from its cells (trimmed, by column); each problem is reported with its column. */
export function trainerFromCells(cells: Map<CsvColumn, string>, report: Report): Trainer {
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

  return trainer({
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
// cli/trainer-files/csv.ts (reading)

export function parseCsv(text: string): { rows: ParsedRow[]; errors: FileRowError[] } {
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

function camelToSnake(s: string): string {
  return s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
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

/** The CSV column a field path comes from: `languages[1].level` → languages, `private.nationalId` → national_id. */
export function csvColumnOf(path: string): string {
  const [first = "", second] = path.split(".");
  const top = first.replace(/\[\d+\]$/, "");
  const field = top === "private" && second ? second : top;
  return camelToSnake(field);
}

// ---------------------------------------------------------------------------------------
// cli/trainer-files/json.ts (reading)

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
const TRAINER_FIELDS: ReadonlySet<string> = new Set([...FILE_PUBLIC_FIELDS, "private", "updatedAt", "updatedBy"]);
const REQUIRED_JSON_FIELDS = ["id", "displayName"];

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

function snakeToCamel(s: string): string {
  return s.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

export function parseJson(text: string): { rows: ParsedRow[]; errors: FileRowError[] } {
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

  return trainer({
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
