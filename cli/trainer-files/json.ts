/**
 * The JSON trainer file (docs/trainer-files.md, "JSON"): an array of trainer objects, read with
 * the line of each so that every problem names where it is.
 */
import { type Node as JsonNode, type ParseError, parseTree, printParseErrorCode } from "jsonc-parser";
import type { Trainer, TrainerPrivate } from "../../node/api/generated/concordat/v1/trainers.js";
import {
  ACCREDITATION_PARTS,
  FILE_PUBLIC_FIELDS,
  type FileRowError,
  LANGUAGE_FIELDS,
  newTrainer,
  normalisePrivate,
  PRIVATE_FIELDS,
  type ParsedRow,
  RANGE_FIELDS,
  type Report,
} from "./cells.js";

export function formatJson(trainers: readonly Trainer[], includePrivate: boolean): string {
  // Every public field a file carries is written (a field added to the roster's trainer is a compile error here).
  const out = trainers.map((t) => ({
    ...({
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
    } satisfies Record<(typeof FILE_PUBLIC_FIELDS)[number], unknown>),
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

  return newTrainer({
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
