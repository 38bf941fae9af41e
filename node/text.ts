import countries from "i18n-iso-countries";
import type { z } from "zod";
import type { FieldViolation } from "./errors.js";

/**
 * What text the node accepts, checked in one place by every validator (API requests, files decoded
 * by the node, records of the core), and the one way text from elsewhere is shown (the CLI, error
 * details, HTML reports).
 *
 * Refused in any text: C0 control characters other than tab and line ends (NUL, BEL, ESC, …), DEL,
 * the C1 controls U+0080–U+009F, and the bidirectional embeddings, overrides and isolates
 * (U+202A–U+202E, U+2066–U+2069). Printed, they move a terminal's cursor, set its title, clear its
 * screen, or make text read in another order than it is stored.
 *
 * One-line text (names, titles, ids, codes) refuses in addition tab, line ends (LF, CR, U+2028,
 * U+2029) and the invisible direction marks LRM, RLM and ALM (U+200E, U+200F, U+061C): a mark
 * changes nothing but makes two names that look the same compare different. Multi-line free text
 * (bodies, descriptions, notes, summaries) keeps tabs, line ends of any convention (files written
 * on Windows carry CRLF) and the marks, which right-to-left prose needs around numbers and
 * punctuation.
 */
export const TextKind = { Line: "line", Multiline: "multiline" } as const;
export type TextKind = (typeof TextKind)[keyof typeof TextKind];

const NEVER = "\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F\\u202A-\\u202E\\u2066-\\u2069";
const LINE_ONLY = "\\t\\n\\r\\u2028\\u2029\\u200E\\u200F\\u061C";
const FORBIDDEN: Readonly<Record<TextKind, RegExp>> = {
  line: new RegExp(`[${NEVER}${LINE_ONLY}]`),
  multiline: new RegExp(`[${NEVER}]`),
};

/** `U+001B`: how a character is named in messages (never the character itself). */
export function codePointName(codePoint: number): string {
  return `U+${codePoint.toString(16).toUpperCase().padStart(4, "0")}`;
}

function category(codePoint: number): string {
  if (codePoint === 0x09) return "a tab";
  if (codePoint === 0x0a || codePoint === 0x0d || codePoint === 0x2028 || codePoint === 0x2029) return "a line break";
  if (codePoint === 0x200e || codePoint === 0x200f || codePoint === 0x061c) return "an invisible direction mark";
  if ((codePoint >= 0x202a && codePoint <= 0x202e) || (codePoint >= 0x2066 && codePoint <= 0x2069))
    return "a bidirectional override or isolate";
  return "a control character";
}

/** The first character `kind` text may not hold, with its index, or undefined when there is none. */
export function forbiddenCharacter(value: string, kind: TextKind): { codePoint: number; index: number } | undefined {
  const match = FORBIDDEN[kind].exec(value);
  return match ? { codePoint: match[0].charCodeAt(0), index: match.index } : undefined;
}

/** Why `value` is not `kind` text (naming the character as U+XXXX), or undefined when it is. */
export function textProblem(value: string, kind: TextKind): string | undefined {
  const found = forbiddenCharacter(value, kind);
  if (!found) return undefined;
  const what = `contains ${codePointName(found.codePoint)} (${category(found.codePoint)})`;
  const nowhere = FORBIDDEN.multiline.test(String.fromCharCode(found.codePoint));
  return nowhere ? `${what}, which no text may hold` : `${what}, which this one-line field may not hold`;
}

// ---------------------------------------------------------------------------------------------
// showing text that came from elsewhere

const SHOWN_AS_ESCAPE = new RegExp(`[${NEVER}]|\\r(?!\\n)`, "g");
const JSON_ESCAPED = /[\u007F-\u009F\u202A-\u202E\u2066-\u2069]/g;

function escapeOf(char: string): string {
  const code = char.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
}

/**
 * Text made safe to show on a terminal (or in a message, a log, a web page): every character that
 * no text may hold, and a carriage return not followed by a line feed, becomes a visible escape
 * (`\x1b`, `\x07`, `\u202e`). Tabs, line feeds and everything else are shown as they are.
 */
export function showText(text: string): string {
  return text.replace(SHOWN_AS_ESCAPE, escapeOf);
}

/**
 * JSON text made safe for a terminal without changing its value: JSON.stringify escapes C0
 * controls already; this escapes DEL, the C1 controls and the bidirectional controls as `\uXXXX`
 * too (they can only occur inside JSON strings, where the escape means the same character).
 */
export function showJson(json: string): string {
  return json.replace(JSON_ESCAPED, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** How far a message echoes a value: this many characters, then "…". */
export const QUOTE_CHARS = 40;

/**
 * A value quoted for a message: at most `max` characters (code points, never half a pair), then
 * "…", shown safely. Every message that repeats what a client sent goes through this, so that an
 * error never carries a large or hostile value back.
 */
export function quote(value: string, max = QUOTE_CHARS): string {
  if (value.length <= max) return `'${showText(value)}'`;
  // A code point is at most two UTF-16 units: the first 2 × max units hold the first max of them.
  const chars = Array.from(value.slice(0, max * 2));
  const cut = chars.length > max || value.length > max * 2;
  return `'${showText(cut ? `${chars.slice(0, max).join("")}…` : value)}'`;
}

/** Text cut to `max` characters (then "…"), for a field name or a description of bounded size. */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  const chars = Array.from(text.slice(0, max));
  if (chars.length > 0 && /[\uD800-\uDBFF]$/.test(chars[chars.length - 1] as string)) chars.pop();
  return `${chars.join("")}…`;
}

// ---------------------------------------------------------------------------------------------
// checking: one checker for hand-written validators, a zod refinement, and a walk over any value

/** Collects field violations; every hand-written validator of the node checks text through it. */
export class Checker {
  readonly violations: FieldViolation[] = [];

  fail(field: string, description: string): void {
    this.violations.push({ field, description });
  }

  /** Whether `value` holds only characters `kind` text may hold (else the field is named, never echoed). */
  characters(field: string, value: string, kind: TextKind): boolean {
    const problem = textProblem(value, kind);
    if (problem) this.fail(field, problem);
    return problem === undefined;
  }

  /** Trimmed text of at most `max` characters, of `kind` (one line unless said otherwise). */
  text(field: string, value: string, options: { max: number; kind?: TextKind; required?: boolean }): string {
    const trimmed = value.trim();
    if (options.required && trimmed === "") this.fail(field, "is required");
    if (trimmed.length > options.max)
      this.fail(field, `is ${trimmed.length} characters long; at most ${options.max} allowed`);
    else this.characters(field, trimmed, options.kind ?? TextKind.Line);
    return trimmed;
  }

  /** Whether a list is within `max` entries (else it is named once, and its entries are not looked at). */
  list(field: string, list: readonly unknown[], max: number): boolean {
    if (list.length <= max) return true;
    this.fail(field, `has ${list.length} entries; at most ${max} allowed`);
    return false;
  }
}

/** Trimmed one-line (or `kind`) text of at most `max` characters. */
export function checkText(
  c: Checker,
  field: string,
  value: string,
  max: number,
  required: boolean,
  kind: TextKind = TextKind.Line,
): string {
  return c.text(field, value, { max, required, kind });
}

/** A zod refinement for strings of `kind`: `z.string().superRefine(textRule(TextKind.Line))`. */
export function textRule(kind: TextKind): (value: string, ctx: z.RefinementCtx) => void {
  return (value, ctx) => {
    const problem = textProblem(value, kind);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  };
}

export interface TextWalkOptions {
  /** How an object key is named in a field path (e.g. camelCase to the proto's snake_case). */
  name?: (key: string) => string;
  /** ts-proto oneofs (`{ $case, value }`) are named by their case, as in the proto's JSON form. */
  oneofs?: boolean;
  /** Stop after this many problems. */
  limit?: number;
}

/**
 * Checks every string inside `value` (and every object key) as `kind` text: for what arrives whole
 * (a decoded API request, a JSON file, a record's free-form fields). Binary fields are skipped. The
 * walk is iterative, so deeply nested input cannot exhaust the stack.
 */
export function textViolationsIn(
  value: unknown,
  field: string,
  kind: TextKind = TextKind.Multiline,
  options: TextWalkOptions = {},
): FieldViolation[] {
  const name = options.name ?? ((key: string) => key);
  const limit = options.limit ?? 20;
  const violations: FieldViolation[] = [];
  const join = (path: string, key: string) => (path === "" ? key : `${path}.${key}`);
  const stack: Array<{ value: unknown; path: string }> = [{ value, path: field }];
  while (stack.length > 0 && violations.length < limit) {
    const { value: v, path } = stack.pop() as { value: unknown; path: string };
    if (typeof v === "string") {
      const problem = textProblem(v, kind);
      if (problem) violations.push({ field: path === "" ? "(request)" : path, description: problem });
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i -= 1) stack.push({ value: v[i], path: `${path}[${i}]` });
    } else if (v !== null && typeof v === "object" && !ArrayBuffer.isView(v) && !(v instanceof ArrayBuffer)) {
      const entries = Object.entries(v as Record<string, unknown>).reverse();
      for (const [key, child] of entries) {
        if (forbiddenCharacter(key, kind)) {
          // the key itself is checked (and named) in document order, in place of its value
          stack.push({ value: key, path: join(path, "(a key)") });
          continue;
        }
        const oneof =
          options.oneofs &&
          child !== null &&
          typeof child === "object" &&
          typeof (child as { $case?: unknown }).$case === "string" &&
          "value" in child;
        if (oneof) {
          const c = child as { $case: string; value: unknown };
          stack.push({ value: c.value, path: join(path, name(c.$case)) });
        } else {
          stack.push({ value: child, path: join(path, name(key)) });
        }
      }
    }
  }
  return violations;
}

/** Identifiers people give records (trainers, cases, deliveries): a letter or digit, then . _ : - too. */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]*$/;
const REGION_PATTERN = /^([A-Z]{2})(-[A-Z0-9]{1,3})?$/;

/** Longest language tag accepted (RFC 5646 asks implementations to handle at least 35). */
export const MAX_LANGUAGE_TAG = 64;

export function checkLanguageTag(c: Checker, field: string, tag: string): string {
  const v = tag.trim();
  if (v === "") {
    c.fail(field, "is required");
    return v;
  }
  if (!c.characters(field, v, TextKind.Line)) return v;
  if (v.length > MAX_LANGUAGE_TAG) {
    c.fail(field, `is ${v.length} characters long; a language tag has at most ${MAX_LANGUAGE_TAG}`);
    return v;
  }
  try {
    const [canonical] = Intl.getCanonicalLocales(v);
    return canonical ?? v;
  } catch {
    c.fail(field, `${quote(v)} is not a valid BCP 47 language tag`);
    return v;
  }
}

export function checkRegion(c: Checker, field: string, code: string): string {
  const v = code.trim().toUpperCase();
  if (!c.characters(field, v, TextKind.Line)) return v;
  const match = REGION_PATTERN.exec(v);
  if (!match || !countries.isValid(match[1] as string)) {
    c.fail(
      field,
      `${quote(code.trim())} is not an ISO 3166-1 alpha-2 country code or ISO 3166-2 subdivision (e.g. KE, KE-30)`,
    );
  }
  return v;
}
