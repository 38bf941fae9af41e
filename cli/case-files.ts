import { readdir, readFile } from "node:fs/promises";
import { basename, extname, join } from "node:path";
import { isMap, isSeq, parseDocument } from "yaml";
import type { Case } from "../node/api/generated/concordat/v1/cases.js";
import { TextKind, textViolationsIn } from "../node/text.js";
import { CliError, ExitCode } from "./errors.js";

/**
 * Cases as Markdown files with YAML front matter (docs/hub-operator.md, "Cases"):
 *
 *     ---
 *     id: uof-detention-01          # default: the file name without .md
 *     kind: case-study              # case-study | best-practice | evaluation-tool | lesson-learned
 *     title: Use of force in pre-trial detention
 *     language: en
 *     competencies: [hr-1, uof-2]
 *     evidence:
 *       - url: https://example.org/report.pdf
 *         sha256: 9f86d0…
 *     ---
 *     The body, in Markdown.
 */
const STRING_FIELDS = [
  "id",
  "kind",
  "title",
  "summary",
  "language",
  "country",
  "region",
  "review",
  "visibility",
  "version",
] as const;
const LIST_FIELDS = ["competencies", "tags"] as const;
const KNOWN = new Set<string>([...STRING_FIELDS, ...LIST_FIELDS, "evidence"]);

/** Parses one file; returns the case or the problems (each naming the file, and the line where known). */
export function parseCaseFile(source: string, text: string): { value?: Case; problems: string[] } {
  const problems: string[] = [];
  const match = /^\uFEFF?---\r?\n([\s\S]*?)\r?\n---[ \t]*(?:\r?\n|$)/.exec(text);
  if (!match) return { problems: [`${source}: does not start with YAML front matter between '---' lines`] };
  const doc = parseDocument(match[1] as string, { prettyErrors: false });
  for (const e of doc.errors)
    problems.push(`${source}: front matter line ${(e.linePos?.[0]?.line ?? 0) + 1}: ${e.message}`);
  if (problems.length > 0) return { problems };
  const data = doc.toJS() as unknown;
  if (!data || typeof data !== "object" || Array.isArray(data) || !isMap(doc.contents))
    return { problems: [`${source}: the front matter must be a mapping of fields`] };
  const fields = data as Record<string, unknown>;
  for (const key of Object.keys(fields))
    if (!KNOWN.has(key)) problems.push(`${source}: unknown field '${key}' (known: ${[...KNOWN].join(", ")})`);
  const str = (key: string): string => {
    const v = fields[key];
    if (v === undefined || v === null) return "";
    if (typeof v === "string" || typeof v === "number") return String(v);
    problems.push(`${source}: '${key}' must be text`);
    return "";
  };
  const list = (key: string): string[] => {
    const v = fields[key];
    if (v === undefined || v === null) return [];
    if (Array.isArray(v) && v.every((x) => typeof x === "string" || typeof x === "number")) return v.map(String);
    problems.push(`${source}: '${key}' must be a list of text`);
    return [];
  };
  const evidenceNode = doc.get("evidence");
  const evidence: Case["evidence"] = [];
  if (evidenceNode !== undefined && evidenceNode !== null) {
    if (!isSeq(evidenceNode)) problems.push(`${source}: 'evidence' must be a list of {url, sha256, label}`);
    else {
      for (const [i, e] of ((fields.evidence as unknown[]) ?? []).entries()) {
        if (!e || typeof e !== "object" || Array.isArray(e)) {
          problems.push(`${source}: evidence[${i}] must be a mapping {url, sha256, label}`);
          continue;
        }
        const x = e as Record<string, unknown>;
        evidence.push({ url: String(x.url ?? ""), sha256: String(x.sha256 ?? ""), label: String(x.label ?? "") });
      }
    }
  }
  const body = text.slice(match[0].length);
  const value: Case = {
    id: str("id") || basename(source, extname(source)),
    kind: str("kind"),
    title: str("title"),
    summary: str("summary"),
    body,
    language: str("language"),
    country: str("country"),
    region: str("region"),
    competencies: list("competencies"),
    tags: list("tags"),
    evidence,
    review: str("review"),
    visibility: str("visibility"),
    version: str("version"),
    updatedAt: "",
    updatedBy: "",
    hub: "",
  };
  // Text no node accepts (control characters, terminal escapes, bidi overrides), named with its file.
  for (const v of textViolationsIn(value, "", TextKind.Multiline))
    problems.push(`${source}: ${v.field}: ${v.description}`);
  return problems.length > 0 ? { problems } : { value, problems };
}

async function readText(path: string): Promise<string> {
  return readFile(path, "utf8").catch((error: NodeJS.ErrnoException) => {
    throw new CliError(`cannot read '${path}': ${error.code ?? error.message}`, ExitCode.Usage);
  });
}

export async function readCaseFile(path: string): Promise<Case> {
  const { value, problems } = parseCaseFile(basename(path), await readText(path));
  if (!value)
    throw new CliError(`${problems.length} problem(s) in ${path}; nothing was sent`, ExitCode.Usage, problems);
  return value;
}

/** Every `*.md` file of a folder (sorted by name); all must parse, or nothing is sent. */
export async function readCaseFolder(dir: string): Promise<Array<{ source: string; case: Case }>> {
  const names = (
    await readdir(dir).catch((error: NodeJS.ErrnoException) => {
      throw new CliError(`cannot read the folder '${dir}': ${error.code ?? error.message}`, ExitCode.Usage);
    })
  )
    .filter((n) => n.toLowerCase().endsWith(".md"))
    .sort();
  if (names.length === 0) throw new CliError(`no Markdown files (*.md) in '${dir}'`, ExitCode.Usage);
  const out: Array<{ source: string; case: Case }> = [];
  const problems: string[] = [];
  for (const name of names) {
    const parsed = parseCaseFile(name, await readText(join(dir, name)));
    problems.push(...parsed.problems);
    if (parsed.value) out.push({ source: name, case: parsed.value });
  }
  if (problems.length > 0)
    throw new CliError(
      `${problems.length} problem(s) in ${names.length} file(s) of '${dir}'; nothing was sent`,
      ExitCode.Usage,
      problems,
    );
  return out;
}
