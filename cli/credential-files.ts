/**
 * Files of credentials to issue, for `concordat credentials issue --from FILE`
 * (docs/accrediting-body.md): one row per credential, in CSV or JSON.
 *
 * CSV: a header row with the columns `trainer`, `scheme`, `level`, `valid_from`, `valid_until`
 * (required) and `evidence` (optional; one narrative). JSON: an array of objects with the keys
 * `trainer`, `scheme`, `level`, `validFrom`, `validUntil` and `evidence` (a string or an array of
 * strings). `trainer` is `ID` for this hub's trainer or `HUB/ID` for another hub's. Every problem is
 * reported with its line; a row with a problem is left out of `rows`. The values are checked by the
 * node, as issuing would (a dry run), before anything is issued.
 */
import { parseTree, printParseErrorCode, type Node as JsonNode, type ParseError } from "jsonc-parser";
import { readCsv } from "../node/csv.js";
import type { FileRowError } from "./trainer-files.js";

export interface IssueRow {
  /** 1-based line where the row starts. */
  line: number;
  trainer: string;
  scheme: string;
  level: string;
  validFrom: string;
  validUntil: string;
  evidence: string[];
}

const REQUIRED = ["trainer", "scheme", "level", "valid_from", "valid_until"] as const;
const COLUMNS = [...REQUIRED, "evidence"] as const;
type Column = (typeof COLUMNS)[number];
const JSON_KEYS: Record<string, Column> = {
  trainer: "trainer",
  scheme: "scheme",
  level: "level",
  validFrom: "valid_from",
  validUntil: "valid_until",
  evidence: "evidence",
};

export function parseIssueFile(content: string, format: "csv" | "json"): { rows: IssueRow[]; errors: FileRowError[] } {
  const text = content.startsWith("\uFEFF") ? content.slice(1) : content;
  return format === "csv" ? parseCsv(text) : parseJson(text);
}

function row(
  line: number,
  cells: Partial<Record<Column, string | string[]>>,
  errors: FileRowError[],
  field: (c: Column) => string,
): IssueRow | undefined {
  const before = errors.length;
  const get = (c: Column) => {
    const v = cells[c];
    return typeof v === "string" ? v.trim() : "";
  };
  for (const c of REQUIRED) if (get(c) === "") errors.push({ line, field: field(c), message: "is required" });
  if (errors.length > before) return undefined;
  const evidence = cells.evidence;
  return {
    line,
    trainer: get("trainer"),
    scheme: get("scheme"),
    level: get("level"),
    validFrom: get("valid_from"),
    validUntil: get("valid_until"),
    evidence: (Array.isArray(evidence) ? evidence : [evidence ?? ""]).map((e) => e.trim()).filter((e) => e !== ""),
  };
}

function parseCsv(text: string): { rows: IssueRow[]; errors: FileRowError[] } {
  const { records, errors: syntax } = readCsv(text);
  const errors: FileRowError[] = syntax.map((e) => ({ line: e.line, field: "", message: e.message }));
  const rows: IssueRow[] = [];
  const [header, ...body] = records.filter((r) => r.cells.some((c) => c.trim() !== ""));
  if (!header) return { rows, errors };
  const names = header.cells.map((c) => c.trim().toLowerCase());
  names.forEach((n, i) => {
    if (!(COLUMNS as readonly string[]).includes(n))
      errors.push({ line: header.line, field: n, message: `is not a column (${COLUMNS.join(", ")})` });
    else if (names.indexOf(n) !== i) errors.push({ line: header.line, field: n, message: "appears twice" });
  });
  const missing = REQUIRED.filter((c) => !names.includes(c));
  if (missing.length > 0)
    errors.push({ line: header.line, field: "", message: `missing column(s) ${missing.join(", ")}` });
  if (errors.some((e) => e.line === header.line)) return { rows, errors };
  for (const record of body) {
    const cells: Partial<Record<Column, string>> = {};
    for (const [i, n] of names.entries()) cells[n as Column] = record.cells[i] ?? "";
    if (record.cells.length > names.length)
      errors.push({
        line: record.line,
        field: "",
        message: `has ${record.cells.length} cells; the header has ${names.length}`,
      });
    else {
      const r = row(record.line, cells, errors, (c) => c);
      if (r) rows.push(r);
    }
  }
  return { rows, errors };
}

function parseJson(text: string): { rows: IssueRow[]; errors: FileRowError[] } {
  const starts = [0];
  for (let i = 0; i < text.length; i += 1) if (text[i] === "\n") starts.push(i + 1);
  const lineOf = (offset: number) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((starts[mid] as number) <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };
  const syntax: ParseError[] = [];
  const root = parseTree(text, syntax, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: true });
  const errors: FileRowError[] = syntax.map((e) => ({
    line: lineOf(e.offset),
    field: "",
    message: `JSON syntax error: ${printParseErrorCode(e.error)}`,
  }));
  const rows: IssueRow[] = [];
  if (errors.length > 0 || root === undefined) return { rows, errors };
  if (root.type !== "array")
    return {
      rows,
      errors: [
        {
          line: lineOf(root.offset),
          field: "",
          message: "the file must hold a JSON array of objects, one per credential",
        },
      ],
    };
  (root.children ?? []).forEach((element: JsonNode, index) => {
    const line = lineOf(element.offset);
    if (element.type !== "object") {
      errors.push({ line, field: "", message: `element ${index + 1} is not an object` });
      return;
    }
    const cells: Partial<Record<Column, string | string[]>> = {};
    let bad = false;
    for (const prop of element.children ?? []) {
      const [k, v] = prop.children ?? [];
      if (!k || !v) continue;
      const key = String(k.value);
      const column = Object.hasOwn(JSON_KEYS, key) ? JSON_KEYS[key] : undefined;
      if (column === undefined) {
        errors.push({
          line: lineOf(k.offset),
          field: key,
          message: `is not a key (${Object.keys(JSON_KEYS).join(", ")})`,
        });
        bad = true;
      } else if (v.type === "string") cells[column] = String(v.value);
      else if (column === "evidence" && v.type === "array" && (v.children ?? []).every((e) => e.type === "string"))
        cells[column] = (v.children ?? []).map((e) => String(e.value));
      else {
        errors.push({
          line: lineOf(v.offset),
          field: key,
          message: column === "evidence" ? "must be a string or an array of strings" : "must be a string",
        });
        bad = true;
      }
    }
    const camel = (c: Column) => Object.keys(JSON_KEYS).find((k) => JSON_KEYS[k] === c) ?? c;
    const r = row(line, cells, errors, camel);
    if (r && !bad) rows.push(r);
  });
  return { rows, errors };
}
