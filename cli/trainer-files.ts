/**
 * File codec for `concordat trainers import|export`: reads CSV and JSON trainer files into
 * rows carrying their source line numbers, and writes trainers back. The cells and their rules
 * (which column holds which field of the roster's trainer, list separators, what reads back the
 * same) are in trainer-files/cells.ts, the two formats in trainer-files/csv.ts and json.ts.
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
import { type TimeRange, Trainer } from "../node/api/generated/concordat/v1/trainers.js";
import { TextKind, textViolationsIn } from "../node/text.js";
import { cellRange, toCellRange } from "./day-ranges.js";
import {
  CSV_COLUMNS,
  type CsvColumn,
  type FileRowError,
  normalisePrivate,
  type ParsedRow,
  trainerFromCells,
} from "./trainer-files/cells.js";
import { csvColumnOf, formatCsv, parseCsv } from "./trainer-files/csv.js";
import { formatJson, parseJson } from "./trainer-files/json.js";

export { CSV_COLUMNS, type CsvColumn, type FileRowError, type ParsedRow };

export type TrainerFileFormat = "csv" | "json";

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
