/**
 * Import of a competency framework exported by Moodle (admin tool `tool_lpimportcsv`, "Export
 * competency framework", Moodle 3.1+) into the core model: one CFDocument, one CFItem per
 * competency, `isChildOf` associations for the tree and `isRelatedTo` ones for cross-references.
 *
 * The file is the one Moodle's exporter writes (framework_exporter.php): a header row naming the
 * 14 columns of MOODLE_COLUMNS, one row with `Is framework` = 1 describing the framework, then
 * one row per competency naming its parent by ID number. Moodle's own importer silently drops
 * what it cannot place (a competency whose parent is missing, with all its descendants; a
 * cross-reference to an unknown competency); this one refuses the file instead, naming every
 * problem with its line and column, so that nothing is lost without the operator knowing.
 *
 * Identifiers are derived from the ID numbers (not from Moodle's database ids), so importing
 * the same framework again, from this site or another, gives the same records and a release
 * diff shows only what changed. Moodle's own fields are kept under `extensions.moodle`, and
 * toMoodleCsv writes the core back out as the same kind of file.
 */
import { readCsv, type CsvRecord } from "../csv.js";
import { createHash } from "node:crypto";
import type { z } from "zod";
import { invalidArgument, type FieldViolation } from "../errors.js";
import { quote } from "../text.js";
import {
  associationSchema,
  frameworkSchema,
  itemSchema,
  violationsOf,
  type CoreAssociation,
  type CoreFramework,
  type CoreItem,
} from "./model.js";

export interface MoodleImportOptions {
  /** lastChangeDateTime of every record (ISO 8601). */
  now: string;
  /** BCP 47 tag of the short names and descriptions; "en" when not given. */
  language?: string;
}

/** The options, checked, with their defaults. */
interface Settings {
  now: string;
  language: string;
}

export interface MoodleImport {
  framework: CoreFramework;
  items: CoreItem[];
  associations: CoreAssociation[];
}

/** Header of Moodle's export, in its order (tool_lpimportcsv lang strings, English). */
export const MOODLE_COLUMNS = [
  "Parent ID number",
  "ID number",
  "Short name",
  "Description",
  "Description format",
  "Scale values",
  "Scale configuration",
  "Rule type (optional)",
  "Rule outcome (optional)",
  "Rule config (optional)",
  "Cross-referenced competency ID numbers",
  "Exported ID (optional)",
  "Is framework",
  "Taxonomy",
] as const;
export type MoodleColumn = (typeof MOODLE_COLUMNS)[number];

/** Without these the file cannot be read as a framework; the others default to empty cells. */
const REQUIRED_COLUMNS: readonly MoodleColumn[] = ["Parent ID number", "ID number", "Short name", "Is framework"];

const CREATOR = "Moodle import";
const DEFAULT_TYPE = "Competency";
/** Moodle's exporter writes a comma inside an ID number of the cross-reference list this way. */
const ENCODED_COMMA = /%2C/gi;
/** Moodle text formats (FORMAT_MOODLE, FORMAT_HTML, FORMAT_PLAIN, FORMAT_WIKI, FORMAT_MARKDOWN). */
const DESCRIPTION_FORMATS = "0 Moodle auto-format, 1 HTML, 2 plain text, 4 Markdown";
/** A UTF-16 code unit of a surrogate pair standing alone: not Unicode text. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/**
 * Reads a Moodle competency framework CSV (a UTF-8 BOM and any line ends allowed) into core
 * records, every one of them valid against the model's schemas.
 *
 * @throws ConcordatError INVALID_ARGUMENT listing every problem found (at most 200), each under
 *   a field `line N, <column>` (e.g. `line 7, ID number: 'HR-1' is used twice (first on line 5)`);
 *   also when `options` are invalid.
 */
export function parseMoodleCsv(text: string, options: MoodleImportOptions): MoodleImport {
  const settings = checkOptions(options);
  const problems = new Problems();
  const table = readTable(text.startsWith("\uFEFF") ? text.slice(1) : text, problems);
  const result = table === undefined ? undefined : buildImport(table, settings, problems);
  if (result === undefined || problems.count > 0) throw problems.error();
  return result;
}

// ---------------------------------------------------------------------------------------------
// problems

/** Problems of the file, each tied to the line where its record starts. */
class Problems {
  private readonly list: { line: number; violation: FieldViolation }[] = [];
  private readonly lines = new Set<number>();

  get count(): number {
    return this.list.length;
  }

  /** `column` undefined for a problem of the whole row. */
  add(line: number, column: string | undefined, description: string): void {
    this.list.push({
      line,
      violation: { field: column === undefined ? `line ${line}` : `line ${line}, ${column}`, description },
    });
    this.lines.add(line);
  }

  /** Whether the row starting on `line` has a problem (its records are then not schema-checked). */
  onLine(line: number): boolean {
    return this.lines.has(line);
  }

  /**
   * Every problem, in file order (found in several passes, they are sorted by line, stably): the
   * API bounds what it sends and says how many more there are, so the count stays right.
   */
  error(): Error {
    const n = this.list.length;
    const violations = [...this.list].sort((a, b) => a.line - b.line).map((p) => p.violation);
    return invalidArgument(violations, `the Moodle CSV is invalid: ${n} problem${n === 1 ? "" : "s"}`);
  }
}

/** A value quoted for a message (shortened, shown safely: node/text.ts). */
const show = quote;

function checkOptions(options: MoodleImportOptions): Settings {
  const violations: FieldViolation[] = [];
  const language = options.language ?? "en";
  if (Number.isNaN(Date.parse(options.now))) {
    violations.push({ field: "options.now", description: `${show(options.now)} is not an ISO 8601 time` });
  }
  if (!isLanguageTag(language)) {
    violations.push({ field: "options.language", description: `${show(language)} is not a BCP 47 language tag` });
  }
  if (violations.length > 0) throw invalidArgument(violations, "the Moodle import options are invalid");
  return { now: options.now, language };
}

function isLanguageTag(value: string): boolean {
  try {
    return Intl.getCanonicalLocales(value).length === 1;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// the table: header and rows

interface Row {
  line: number;
  cell: Record<MoodleColumn, string>;
}

interface Table {
  headerLine: number;
  rows: Row[];
}

/**
 * Header names compared without case, spaces or punctuation, and with or without "(optional)":
 * Moodle 3.1 wrote "Parent id number", "Shortname", "Cross referenced competency id numbers".
 */
function columnKey(name: string): string {
  return name
    .normalize("NFKC")
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, "")
    .replace(/optional$/, "");
}

const COLUMN_BY_KEY = new Map<string, MoodleColumn>(MOODLE_COLUMNS.map((c) => [columnKey(c), c]));

/**
 * The rows of the file with their cells by column, or undefined when the header cannot be used
 * (then only the header's and the syntax problems are reported: rows cannot be read without it).
 */
function readTable(text: string, problems: Problems): Table | undefined {
  const { records, errors } = readCsv(text);
  const isBlank = (r: CsvRecord) => r.cells.every((c) => c.trim() === "");
  const header = records.find((r) => !isBlank(r));
  const firstError = errors[0];
  if (header === undefined || (firstError !== undefined && firstError.line <= header.line)) {
    if (firstError !== undefined) problems.add(firstError.line, "header", firstError.message);
    else
      problems.add(
        1,
        "header",
        `the file is empty; expected a header row naming the columns ${MOODLE_COLUMNS.join(", ")}`,
      );
    return undefined;
  }
  const columns = headerColumns(header, problems);
  for (const error of errors) {
    problems.add(error.line, columnName(columns, error.cell), error.message);
  }
  if (columns === undefined) return undefined;

  const rows: Row[] = [];
  for (const record of records) {
    if (record.line <= header.line || isBlank(record)) continue;
    if (record.cells.length !== columns.length) {
      problems.add(
        record.line,
        undefined,
        `the row has ${record.cells.length} fields but the header has ${columns.length}`,
      );
      continue;
    }
    const cell = Object.fromEntries(MOODLE_COLUMNS.map((c) => [c, ""])) as Record<MoodleColumn, string>;
    record.cells.forEach((value, idx) => {
      const column = columns[idx];
      if (column === undefined) return;
      if (LONE_SURROGATE.test(value))
        problems.add(record.line, column, "holds an unpaired UTF-16 surrogate: not Unicode text");
      cell[column] = value;
    });
    rows.push({ line: record.line, cell });
  }
  return { headerLine: header.line, rows };
}

/** The column of each header cell, or undefined (problems reported) when the header is unusable. */
function headerColumns(header: CsvRecord, problems: Problems): (MoodleColumn | undefined)[] | undefined {
  const columns: (MoodleColumn | undefined)[] = [];
  let usable = true;
  header.cells.forEach((name, idx) => {
    const column = COLUMN_BY_KEY.get(columnKey(name));
    const where = `column ${idx + 1}`;
    if (name.trim() === "") {
      problems.add(header.line, where, "the header names no column here");
      usable = false;
    } else if (column === undefined) {
      const expected = MOODLE_COLUMNS.join(", ");
      problems.add(
        header.line,
        where,
        `${show(name.trim())} is not a column of Moodle's framework export (expected: ${expected})`,
      );
      usable = false;
    } else if (columns.includes(column)) {
      problems.add(header.line, where, `${show(name.trim())} repeats the column '${column}'`);
      usable = false;
    }
    columns.push(column !== undefined && !columns.includes(column) ? column : undefined);
  });
  for (const required of REQUIRED_COLUMNS) {
    if (!columns.includes(required)) {
      problems.add(header.line, required, `the header has no '${required}' column`);
      usable = false;
    }
  }
  return usable ? columns : undefined;
}

function columnName(columns: readonly (MoodleColumn | undefined)[] | undefined, idx: number): string {
  return columns?.[idx] ?? `column ${idx + 1}`;
}

// ---------------------------------------------------------------------------------------------
// the framework and its competencies

interface FrameworkRow {
  line: number;
  idnumber: string;
  shortName: string;
  description: string;
  descriptionFormat: number | undefined;
  /** Taxonomy terms by depth, first = top level. */
  terms: string[];
  cell: Record<MoodleColumn, string>;
}

interface Competency {
  line: number;
  idnumber: string;
  parentIdnumber: string;
  shortName: string;
  descriptionFormat: number | undefined;
  /** Cross-referenced ID numbers, decoded, without repeats. */
  related: string[];
  cell: Record<MoodleColumn, string>;
}

function buildImport(table: Table, settings: Settings, problems: Problems): MoodleImport | undefined {
  const frameworkRows: Row[] = [];
  const competencyRows: Row[] = [];
  for (const row of table.rows) {
    const isFramework = readIsFramework(row, problems);
    if (isFramework === true) frameworkRows.push(row);
    else if (isFramework === false) competencyRows.push(row);
  }
  const framework = readFramework(frameworkRows, table.headerLine, problems);
  const competencies = readCompetencies(competencyRows, problems);
  const byIdnumber = indexCompetencies(competencies, problems);
  const unique = [...byIdnumber.values()];
  checkParents(unique, byIdnumber, framework?.idnumber, problems);
  const inCycle = checkCycles(unique, byIdnumber, problems);
  checkCrossReferences(unique, byIdnumber, problems);
  if (framework === undefined) return undefined;

  const records = makeRecords(framework, unique, byIdnumber, inCycle, settings);
  checkRecords(records, problems);
  return {
    framework: records.framework,
    items: records.items.map((i) => i.item),
    associations: records.associations.map((a) => a.association),
  };
}

/** Moodle's exporter writes 1 for the framework row and an empty cell for the others. */
function readIsFramework(row: Row, problems: Problems): boolean | undefined {
  const value = row.cell["Is framework"].trim().toLowerCase();
  if (value === "1" || value === "true") return true;
  if (value === "" || value === "0" || value === "false") return false;
  problems.add(
    row.line,
    "Is framework",
    `${show(row.cell["Is framework"])} is neither 1 (the framework row) nor empty (a competency)`,
  );
  return undefined;
}

function readDescriptionFormat(row: Row, problems: Problems): number | undefined {
  const value = row.cell["Description format"].trim();
  if (value === "") return undefined;
  if (/^\d{1,9}$/.test(value)) return Number(value);
  problems.add(
    row.line,
    "Description format",
    `${show(value)} is not a Moodle text format number (${DESCRIPTION_FORMATS})`,
  );
  return undefined;
}

/** Reports an empty ID number or Short name; true when both are there. */
function checkNames(row: Row, what: string, problems: Problems): boolean {
  let ok = true;
  for (const column of ["ID number", "Short name"] as const) {
    if (row.cell[column].trim() === "") {
      problems.add(row.line, column, `is empty; ${what} needs one`);
      ok = false;
    }
  }
  return ok;
}

function readFramework(rows: readonly Row[], headerLine: number, problems: Problems): FrameworkRow | undefined {
  const [row, ...others] = rows;
  if (row === undefined) {
    const description =
      "no row has Is framework = 1; Moodle's export describes the framework in the row after the header";
    problems.add(headerLine, "Is framework", description);
    return undefined;
  }
  for (const other of others) {
    const description = `a second framework row (the framework is described on line ${row.line}); a file holds one framework`;
    problems.add(other.line, "Is framework", description);
  }
  checkNames(row, "the framework", problems);
  return {
    line: row.line,
    idnumber: row.cell["ID number"].trim(),
    shortName: row.cell["Short name"].trim(),
    description: row.cell.Description,
    descriptionFormat: readDescriptionFormat(row, problems),
    terms: row.cell.Taxonomy.split(",").map((t) => t.trim()),
    cell: row.cell,
  };
}

function readCompetencies(rows: readonly Row[], problems: Problems): Competency[] {
  const competencies: Competency[] = [];
  for (const row of rows) {
    const named = checkNames(row, "a competency", problems);
    const descriptionFormat = readDescriptionFormat(row, problems);
    if (!named && row.cell["ID number"].trim() === "") continue; // nothing can refer to it
    competencies.push({
      line: row.line,
      idnumber: row.cell["ID number"].trim(),
      parentIdnumber: row.cell["Parent ID number"].trim(),
      shortName: row.cell["Short name"].trim(),
      descriptionFormat,
      related: crossReferences(row.cell["Cross-referenced competency ID numbers"]),
      cell: row.cell,
    });
  }
  return competencies;
}

/** The cross-reference list as Moodle's exporter writes it: comma-separated, commas inside as %2C. */
function crossReferences(cell: string): string[] {
  const ids = cell
    .split(",")
    .map((s) => s.trim().replace(ENCODED_COMMA, ","))
    .filter((s) => s !== "");
  return [...new Set(ids)];
}

/** Competencies by ID number, the first of each; a repeated ID number is a problem. */
function indexCompetencies(competencies: readonly Competency[], problems: Problems): Map<string, Competency> {
  const byIdnumber = new Map<string, Competency>();
  for (const c of competencies) {
    const first = byIdnumber.get(c.idnumber);
    if (first === undefined) byIdnumber.set(c.idnumber, c);
    else problems.add(c.line, "ID number", `${show(c.idnumber)} is used twice (first on line ${first.line})`);
  }
  return byIdnumber;
}

function checkParents(
  competencies: readonly Competency[],
  byIdnumber: ReadonlyMap<string, Competency>,
  frameworkIdnumber: string | undefined,
  problems: Problems,
): void {
  for (const c of competencies) {
    if (c.parentIdnumber === "" || byIdnumber.has(c.parentIdnumber)) continue;
    const hint =
      c.parentIdnumber === frameworkIdnumber
        ? "; it is the framework's: leave Parent ID number empty for a top-level competency"
        : "";
    problems.add(c.line, "Parent ID number", `${show(c.parentIdnumber)} names no competency in the file${hint}`);
  }
}

/**
 * Reports each parent cycle once, on the line of its first member in the file, and returns the
 * ID numbers of the competencies in a cycle or below one (they have no depth).
 */
function checkCycles(
  competencies: readonly Competency[],
  byIdnumber: ReadonlyMap<string, Competency>,
  problems: Problems,
): Set<string> {
  const done = new Set<string>();
  const cyclic = new Set<string>();
  for (const start of competencies) {
    const path: Competency[] = [];
    const onPath = new Map<string, number>();
    let c: Competency | undefined = start;
    while (c !== undefined && !done.has(c.idnumber) && !onPath.has(c.idnumber)) {
      onPath.set(c.idnumber, path.length);
      path.push(c);
      c = c.parentIdnumber === "" ? undefined : byIdnumber.get(c.parentIdnumber);
    }
    let belowCycle = c !== undefined && cyclic.has(c.idnumber);
    if (c !== undefined && onPath.has(c.idnumber)) {
      const cycle = path.slice(onPath.get(c.idnumber));
      const first = cycle.reduce((a, b) => (b.line < a.line ? b : a));
      const chain = [...cycle, ...cycle.slice(0, 1)].map((m) => m.idnumber).join(" → ");
      const description =
        cycle.length === 1
          ? `${show(first.idnumber)} is its own parent`
          : `${show(first.idnumber)} is in a parent cycle: ${chain}`;
      problems.add(first.line, "Parent ID number", description);
      belowCycle = true;
    }
    for (const m of path) {
      done.add(m.idnumber);
      if (belowCycle) cyclic.add(m.idnumber);
    }
  }
  return cyclic;
}

function checkCrossReferences(
  competencies: readonly Competency[],
  byIdnumber: ReadonlyMap<string, Competency>,
  problems: Problems,
): void {
  const column = "Cross-referenced competency ID numbers";
  for (const c of competencies) {
    for (const id of c.related) {
      if (id === c.idnumber) problems.add(c.line, column, `${show(id)} is the competency itself`);
      else if (!byIdnumber.has(id)) problems.add(c.line, column, `${show(id)} names no competency in the file`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// records

interface Records {
  framework: CoreFramework;
  frameworkLine: number;
  items: { line: number; item: CoreItem }[];
  associations: { line: number; column: MoodleColumn; association: CoreAssociation }[];
}

/**
 * A UUID from a name: the first 16 bytes of its SHA-256 with the version (8) and variant bits
 * set, the name-based SHA-256 layout of RFC 9562 appendix B.2 (version 5 is SHA-1).
 */
function nameUuid(name: string): string {
  const bytes = createHash("sha256").update(name, "utf8").digest().subarray(0, 16);
  bytes.writeUInt8((bytes.readUInt8(6) & 0x0f) | 0x80, 6);
  bytes.writeUInt8((bytes.readUInt8(8) & 0x3f) | 0x80, 8);
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** NUL separates the parts of a name: Moodle ID numbers are single-line text and never hold it. */
const frameworkUuid = (frameworkIdnumber: string) => nameUuid(`moodle:${frameworkIdnumber}`);
const itemUuid = (frameworkIdnumber: string, idnumber: string) =>
  nameUuid(`moodle:${frameworkIdnumber}\u0000${idnumber}`);
const associationUuid = (type: string, origin: string, destination: string) =>
  nameUuid(`moodle:${type}\u0000${origin}\u0000${destination}`);

/** "behaviour" → "Behaviour"; the first code point, so a term starting beyond the BMP stays whole. */
function capitalise(term: string): string {
  const [first = "", ...rest] = Array.from(term);
  return first.toUpperCase() + rest.join("");
}

/** Depth of each competency (1 = top level); none for those in or below a parent cycle. */
function depths(
  competencies: readonly Competency[],
  byIdnumber: ReadonlyMap<string, Competency>,
  cyclic: ReadonlySet<string>,
): Map<string, number> {
  const depth = new Map<string, number>();
  for (const start of competencies) {
    const chain: Competency[] = [];
    let c: Competency | undefined = start;
    while (c !== undefined && !depth.has(c.idnumber) && !cyclic.has(c.idnumber)) {
      chain.push(c);
      c = c.parentIdnumber === "" ? undefined : byIdnumber.get(c.parentIdnumber);
    }
    if (c !== undefined && cyclic.has(c.idnumber)) continue;
    // c is undefined at the top (or at an unknown parent, already reported) or has its depth.
    let d = c === undefined ? 0 : (depth.get(c.idnumber) ?? 0);
    for (const m of chain.reverse()) depth.set(m.idnumber, ++d);
  }
  return depth;
}

function frameworkRecord(f: FrameworkRow, settings: Settings): CoreFramework {
  const moodle: Record<string, unknown> = {
    idnumber: f.idnumber,
    scaleValues: f.cell["Scale values"],
    scaleConfiguration: f.cell["Scale configuration"],
    taxonomy: f.cell.Taxonomy,
  };
  if (f.descriptionFormat !== undefined) moodle.descriptionFormat = f.descriptionFormat;
  const framework: CoreFramework = {
    identifier: frameworkUuid(f.idnumber),
    title: f.shortName,
    creator: CREATOR,
    language: settings.language,
    lastChangeDateTime: settings.now,
    extra: { extensions: { moodle } },
  };
  if (f.description.trim() !== "") framework.description = f.description;
  return framework;
}

/** Moodle fields kept verbatim for a later export; only those with a value. */
function competencyExtra(c: Competency): Record<string, unknown> {
  const moodle: Record<string, unknown> = { idnumber: c.idnumber, parentIdnumber: c.parentIdnumber };
  if (c.descriptionFormat !== undefined) moodle.descriptionFormat = c.descriptionFormat;
  const verbatim: [string, MoodleColumn][] = [
    ["scaleValues", "Scale values"],
    ["scaleConfiguration", "Scale configuration"],
    ["exportedId", "Exported ID (optional)"],
  ];
  // Moodle applies a rule only when it has a type; without one its exporter still writes
  // outcome 0 and config "null", which mean nothing and are not kept.
  if (c.cell["Rule type (optional)"].trim() !== "") {
    verbatim.push(
      ["ruleType", "Rule type (optional)"],
      ["ruleOutcome", "Rule outcome (optional)"],
      ["ruleConfig", "Rule config (optional)"],
    );
  }
  for (const [key, column] of verbatim) {
    const value = c.cell[column].trim();
    if (value !== "" && !(key === "ruleConfig" && value === "null")) moodle[key] = value;
  }
  return { extensions: { moodle } };
}

function itemRecord(c: Competency, f: FrameworkRow, depth: number | undefined, settings: Settings): CoreItem {
  const term = depth === undefined ? "" : (f.terms[depth - 1] ?? "");
  const item: CoreItem = {
    identifier: itemUuid(f.idnumber, c.idnumber),
    code: c.idnumber,
    statement: { [settings.language]: c.shortName },
    type: term === "" ? DEFAULT_TYPE : capitalise(term),
    language: settings.language,
    roleLevels: [],
    themes: [],
    lastChangeDateTime: settings.now,
    extra: competencyExtra(c),
  };
  if (c.cell.Description.trim() !== "") item.notes = c.cell.Description;
  return item;
}

function association(
  type: "isChildOf" | "isRelatedTo",
  origin: { identifier: string; title: string },
  destination: { identifier: string; title: string },
  now: string,
  sequenceNumber?: number,
): CoreAssociation {
  const a: CoreAssociation = {
    identifier: associationUuid(type, origin.identifier, destination.identifier),
    type,
    origin: { identifier: origin.identifier, title: origin.title },
    destination: { identifier: destination.identifier, title: destination.title },
    lastChangeDateTime: now,
    extra: {},
  };
  if (sequenceNumber !== undefined) a.sequenceNumber = sequenceNumber;
  return a;
}

/**
 * The records, in file order: the tree's `isChildOf` first (sequence numbers count siblings in
 * file order from 1, top-level ones under the framework), then the cross-references. Moodle
 * keeps a cross-reference as an unordered pair and exports it on both competencies, so a pair
 * gives one `isRelatedTo`, from the competency that names it first.
 */
function makeRecords(
  f: FrameworkRow,
  competencies: readonly Competency[],
  byIdnumber: ReadonlyMap<string, Competency>,
  cyclic: ReadonlySet<string>,
  settings: Settings,
): Records {
  const framework = frameworkRecord(f, settings);
  const depth = depths(competencies, byIdnumber, cyclic);
  const items = competencies.map((c) => ({ line: c.line, item: itemRecord(c, f, depth.get(c.idnumber), settings) }));
  const node = new Map(
    items.map(({ item }) => [
      item.code,
      { identifier: item.identifier, title: item.statement[settings.language] ?? "" },
    ]),
  );
  const top = { identifier: framework.identifier, title: framework.title };

  const associations: Records["associations"] = [];
  const siblings = new Map<string, number>();
  for (const c of competencies) {
    const self = node.get(c.idnumber);
    const parent = c.parentIdnumber === "" ? top : node.get(c.parentIdnumber);
    if (self === undefined || parent === undefined) continue;
    const sequence = (siblings.get(c.parentIdnumber) ?? 0) + 1;
    siblings.set(c.parentIdnumber, sequence);
    associations.push({
      line: c.line,
      column: "Parent ID number",
      association: association("isChildOf", self, parent, settings.now, sequence),
    });
  }
  const pairs = new Set<string>();
  for (const c of competencies) {
    const self = node.get(c.idnumber);
    if (self === undefined) continue;
    for (const id of c.related) {
      const other = node.get(id);
      if (other === undefined || id === c.idnumber) continue;
      const pair = JSON.stringify([c.idnumber, id].sort());
      if (pairs.has(pair)) continue;
      pairs.add(pair);
      associations.push({
        line: c.line,
        column: "Cross-referenced competency ID numbers",
        association: association("isRelatedTo", self, other, settings.now),
      });
    }
  }
  return { framework, frameworkLine: f.line, items, associations };
}

/** Record fields → the CSV column they come from, to name it in a schema problem. */
const FRAMEWORK_COLUMNS: Record<string, MoodleColumn> = {
  identifier: "ID number",
  title: "Short name",
  description: "Description",
};
const ITEM_COLUMNS: Record<string, MoodleColumn> = {
  identifier: "ID number",
  code: "ID number",
  statement: "Short name",
  notes: "Description",
  type: "Taxonomy",
};

/**
 * Checks every record against the model's schemas, the last word on what the core accepts (e.g.
 * an ID number too long for a code). Rows that already have a problem are left out: their
 * records are made from what could be read and would only repeat it.
 */
function checkRecords(records: Records, problems: Problems): void {
  const check = (
    schema: z.ZodType,
    value: unknown,
    line: number,
    kind: string,
    columns: Record<string, MoodleColumn>,
  ) => {
    if (problems.onLine(line)) return;
    const result = schema.safeParse(value);
    if (result.success) return;
    for (const v of violationsOf(result.error, "")) {
      const head = v.field.split(".")[0] ?? "";
      problems.add(line, columns[head] ?? `${kind}.${v.field}`, v.description);
    }
  };
  check(frameworkSchema, records.framework, records.frameworkLine, "framework", FRAMEWORK_COLUMNS);
  for (const { line, item } of records.items) check(itemSchema, item, line, "item", ITEM_COLUMNS);
  for (const { line, column, association: a } of records.associations) {
    check(associationSchema, a, line, "association", { origin: column, destination: column });
  }
}

// ---------------------------------------------------------------------------------------------
// export: the core back to Moodle's framework CSV

/** What Moodle's CSV has room for, and what it does not. */
export interface MoodleExport {
  /** The CSV text (UTF-8 BOM, a header naming MOODLE_COLUMNS, CRLF-free), as tool_lpimportcsv imports it. */
  csv: string;
  /** Parts of the core Moodle's format cannot hold, one sentence each (none for a Moodle-made core). */
  omitted: string[];
}

/** The parts of the core a Moodle export reads. */
export interface MoodleExportContent {
  framework: CoreFramework;
  items: readonly CoreItem[];
  associations: readonly CoreAssociation[];
}

/** Moodle's competency taxonomy terms (core_competency\competency_framework). */
const MOODLE_TAXONOMY_TERMS = [
  "behaviour",
  "competency",
  "concept",
  "domain",
  "indicator",
  "level",
  "outcome",
  "practice",
  "proficiency",
  "skill",
  "value",
];
/** Moodle requires a scale on the framework; a core made elsewhere gets this two-point one. */
const DEFAULT_SCALE_VALUES = "Not yet competent,Competent";
const DEFAULT_SCALE_CONFIGURATION =
  '[{"scaleid":"1"},{"id":1,"scaledefault":1,"proficient":0},{"id":2,"scaledefault":0,"proficient":1}]';
/** Moodle's short names hold at most 100 characters. */
const MAX_SHORT_NAME = 100;
/** FORMAT_PLAIN: the text of a core made elsewhere is plain text. */
const PLAIN_TEXT = 2;

/** The Moodle fields an import kept (`extensions.moodle`; `moodle` in cores imported before). */
function moodleFields(extra: Record<string, unknown>): Record<string, unknown> {
  const extensions = extra.extensions;
  const kept =
    typeof extensions === "object" && extensions !== null && !Array.isArray(extensions)
      ? (extensions as Record<string, unknown>).moodle
      : extra.moodle;
  return typeof kept === "object" && kept !== null && !Array.isArray(kept) ? (kept as Record<string, unknown>) : {};
}

const cellOf = (value: unknown): string =>
  typeof value === "string" ? value : typeof value === "number" ? String(value) : "";

/** A CSV field, quoted as PHP's fputcsv (Moodle's exporter) quotes it: with a comma, quote, space, tab or line end. */
function csvField(value: string): string {
  return /[",\r\n\t ]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/**
 * Writes the core as Moodle's competency framework CSV (the file `tool_lpimportcsv` imports and
 * parseMoodleCsv reads): the framework row, then each competency after its parent, depth first in
 * sequence order. The tree is the `isChildOf` links (an item without one is top level),
 * cross-references are the `isRelatedTo` links (written on both competencies, as Moodle does).
 * What an import from Moodle kept (ID numbers, scales, rules, text formats, taxonomy) is written
 * back as it was, so a Moodle file comes back out the same; a core made elsewhere gets the
 * item's code as ID number (its identifier when it has none or shares it), plain-text
 * descriptions, a two-point scale and a taxonomy from the item types. Whatever Moodle cannot hold
 * (other association types, a second parent, a translation, a short name over 100 characters) is
 * named in `omitted`.
 */
export function toMoodleCsv(content: MoodleExportContent): MoodleExport {
  const omitted: string[] = [];
  const { framework } = content;
  const fw = moodleFields(framework.extra);
  const byId = new Map(content.items.map((item) => [item.identifier, item]));

  // ID numbers: the kept one, else the code, else the identifier; unique in the file.
  const idnumbers = new Map<string, string>();
  const used = new Set<string>();
  for (const item of content.items) {
    const kept = cellOf(moodleFields(item.extra).idnumber);
    const wanted = kept !== "" ? kept : item.code.trim() !== "" ? item.code.trim() : item.identifier;
    const idnumber = used.has(wanted) ? item.identifier : wanted;
    if (idnumber !== wanted)
      omitted.push(`${quote(item.identifier)} shares the ID number ${quote(wanted)}: written as ${quote(idnumber)}`);
    used.add(idnumber);
    idnumbers.set(item.identifier, idnumber);
  }

  // The tree: each item's first parent, and its place among its siblings.
  const parent = new Map<string, { id: string; sequence: number }>();
  const related = new Map<string, string[]>();
  const relate = (a: string, b: string) => {
    const list = related.get(a) ?? [];
    if (!list.includes(b)) list.push(b);
    related.set(a, list);
  };
  for (const a of content.associations) {
    const origin = byId.get(a.origin.identifier);
    const destination =
      a.destination.identifier === framework.identifier ? "framework" : byId.get(a.destination.identifier);
    if (a.type === "isChildOf" && origin && destination) {
      const previous = parent.get(origin.identifier);
      if (previous === undefined) {
        parent.set(origin.identifier, {
          id: destination === "framework" ? "" : destination.identifier,
          sequence: a.sequenceNumber ?? Number.MAX_SAFE_INTEGER,
        });
      } else omitted.push(`${quote(idnumbers.get(origin.identifier) ?? "")} has a second parent: Moodle keeps one`);
    } else if (a.type === "isRelatedTo" && origin && destination && destination !== "framework") {
      relate(origin.identifier, destination.identifier);
      relate(destination.identifier, origin.identifier);
    } else
      omitted.push(`the ${a.type} link ${quote(a.identifier)}: Moodle's file has only the tree and cross-references`);
  }
  const children = new Map<string, CoreItem[]>();
  for (const item of content.items) {
    const p = parent.get(item.identifier)?.id ?? "";
    const under = p === "" || byId.has(p) ? p : "";
    children.set(under, [...(children.get(under) ?? []), item]);
  }
  for (const list of children.values())
    list.sort(
      (a, b) =>
        (parent.get(a.identifier)?.sequence ?? Number.MAX_SAFE_INTEGER) -
        (parent.get(b.identifier)?.sequence ?? Number.MAX_SAFE_INTEGER),
    );

  // Depth first, without recursion; an item in a parent cycle is never reached and goes top level.
  const ordered: { item: CoreItem; depth: number; parentId: string }[] = [];
  const placed = new Set<string>();
  const walk = (root: string, depth0: number) => {
    const stack = [...(children.get(root) ?? [])].reverse().map((item) => ({ item, depth: depth0, parentId: root }));
    while (stack.length > 0) {
      const next = stack.pop();
      if (!next || placed.has(next.item.identifier)) continue;
      placed.add(next.item.identifier);
      ordered.push(next);
      const below = children.get(next.item.identifier) ?? [];
      for (const child of [...below].reverse())
        stack.push({ item: child, depth: next.depth + 1, parentId: next.item.identifier });
    }
  };
  walk("", 1);
  for (const item of content.items) {
    if (placed.has(item.identifier)) continue;
    omitted.push(`${quote(idnumbers.get(item.identifier) ?? "")} is in a parent cycle: written at the top level`);
    parent.delete(item.identifier);
    children.set(item.identifier, children.get(item.identifier) ?? []);
    const stackRoot = { item, depth: 1, parentId: "" };
    placed.add(item.identifier);
    ordered.push(stackRoot);
    walk(item.identifier, 2);
  }

  const taxonomy =
    cellOf(fw.taxonomy) !== ""
      ? cellOf(fw.taxonomy)
      : (() => {
          const depth = Math.max(0, ...ordered.map((o) => o.depth));
          return Array.from({ length: depth }, (_, i) => {
            const type = ordered.find((o) => o.depth === i + 1)?.item.type.toLowerCase() ?? "";
            return MOODLE_TAXONOMY_TERMS.includes(type) ? type : "competency";
          }).join(",");
        })();

  const rows: string[][] = [[...MOODLE_COLUMNS]];
  const row = (cells: Partial<Record<MoodleColumn, string>>) => MOODLE_COLUMNS.map((c) => cells[c] ?? "");
  rows.push(
    row({
      "ID number": cellOf(fw.idnumber) !== "" ? cellOf(fw.idnumber) : framework.identifier,
      "Short name": shortName(framework.title, "the framework", omitted),
      Description: framework.description ?? "",
      "Description format": formatCell(fw),
      "Scale values": cellOf(fw.scaleValues) !== "" ? cellOf(fw.scaleValues) : DEFAULT_SCALE_VALUES,
      "Scale configuration":
        cellOf(fw.scaleConfiguration) !== "" ? cellOf(fw.scaleConfiguration) : DEFAULT_SCALE_CONFIGURATION,
      "Is framework": "1",
      Taxonomy: taxonomy,
    }),
  );
  for (const { item, parentId } of ordered) {
    const m = moodleFields(item.extra);
    const idnumber = idnumbers.get(item.identifier) ?? item.identifier;
    const statement = item.statement[item.language] ?? "";
    const translations = Object.keys(item.statement).filter((l) => l !== item.language);
    if (translations.length > 0)
      omitted.push(`${quote(idnumber)}: the statement in ${translations.join(", ")} (one language per file)`);
    const long = [...statement].length > MAX_SHORT_NAME;
    const description = long ? (item.notes ? `${statement}\n\n${item.notes}` : statement) : (item.notes ?? "");
    const ruleType = cellOf(m.ruleType);
    rows.push(
      row({
        "Parent ID number": parentId === "" ? "" : (idnumbers.get(parentId) ?? ""),
        "ID number": idnumber,
        "Short name": shortName(
          long ? (item.abbreviatedStatement?.[item.language] ?? statement) : statement,
          quote(idnumber),
          omitted,
        ),
        Description: description,
        "Description format": formatCell(m),
        "Scale values": cellOf(m.scaleValues),
        "Scale configuration": cellOf(m.scaleConfiguration),
        "Rule type (optional)": ruleType,
        "Rule outcome (optional)": ruleType === "" ? "" : cellOf(m.ruleOutcome),
        "Rule config (optional)": ruleType === "" ? "" : cellOf(m.ruleConfig),
        "Cross-referenced competency ID numbers": (related.get(item.identifier) ?? [])
          .map((id) => (idnumbers.get(id) ?? id).replaceAll(",", "%2C"))
          .join(","),
        "Exported ID (optional)": cellOf(m.exportedId),
      }),
    );
  }
  const csv = `\uFEFF${rows.map((r) => r.map(csvField).join(",")).join("\n")}\n`;
  return { csv, omitted };
}

/** The text format Moodle gave (empty when it gave none); plain text for a record made elsewhere. */
function formatCell(moodle: Record<string, unknown>): string {
  if (moodle.descriptionFormat !== undefined) return cellOf(moodle.descriptionFormat);
  return Object.keys(moodle).length > 0 ? "" : String(PLAIN_TEXT);
}

/** A Moodle short name: at most 100 characters (code points), cut with "…" and named when longer. */
function shortName(text: string, what: string, omitted: string[]): string {
  const points = [...text.replace(/\s*[\r\n]+\s*/g, " ").trim()];
  if (points.length <= MAX_SHORT_NAME) return points.join("");
  omitted.push(
    `${what}: the short name is cut to Moodle's ${MAX_SHORT_NAME} characters (the full text is the description)`,
  );
  return `${points.slice(0, MAX_SHORT_NAME - 1).join("")}…`;
}
