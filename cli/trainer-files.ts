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
import type { TimeRange, Trainer } from "../node/api/generated/concordat/v1/trainers.js";
import { toCellRange } from "./day-ranges.js";
import {
  CSV_COLUMNS,
  type CsvColumn,
  type FileRowError,
  newTrainer,
  normalisePrivate,
  type ParsedRow,
  trainerFromCells,
} from "./trainer-files/cells.js";
import { formatCsv } from "./trainer-files/csv-write.js";
import { formatJson } from "./trainer-files/json.js";
import {
  formatFromPath,
  parseTrainerFile,
  readTrainerFile,
  type TrainerFileFormat,
  withAcceptableText,
  withApiRanges,
} from "./trainer-files/read.js";

export { CSV_COLUMNS, type CsvColumn, type FileRowError, type ParsedRow };
export { formatFromPath, parseTrainerFile, readTrainerFile, type TrainerFileFormat, withAcceptableText };

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
  return newTrainer({
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
