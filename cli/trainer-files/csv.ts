import { type CsvRecord, type CsvSyntaxError, readCsv } from "../../node/csv.js";
import {
  CSV_COLUMNS,
  type CsvColumn,
  type FileRowError,
  type ParsedRow,
  REQUIRED_CSV_COLUMNS,
  trainerFromCells,
} from "./cells.js";

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
