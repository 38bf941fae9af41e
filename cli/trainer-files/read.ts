/**
 * Reading a trainer file (docs/trainer-files.md): what `concordat trainers import` and the web
 * console's import screen both run. Nothing here writes files or loads more than the readers and
 * the text rules, so the page can bundle it (no csv-stringify, no generated message code, no CLI errors).
 */
import type { Trainer } from "../../node/api/generated/concordat/v1/trainers.js";
import { TextKind, textViolationsIn } from "../../node/text.js";
import { cellRange } from "../day-ranges.js";
import type { FileRowError, ParsedRow } from "./cells.js";

export type { FileRowError, ParsedRow };
import { csvColumnOf, parseCsv } from "./csv.js";
import { parseJson } from "./json.js";

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
export function withApiRanges(t: Trainer): Trainer {
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
 * A trainer file read as `concordat trainers import` reads it, and as the web console's import
 * screen does (the same code, bundled into the page): parsed, ranges as the API takes them, and a
 * row holding a character no text may hold reported with its line like any unreadable row.
 */
export function readTrainerFile(
  content: string,
  format: TrainerFileFormat,
): { rows: ParsedRow[]; errors: FileRowError[] } {
  return withAcceptableText(parseTrainerFile(content, format), format);
}
