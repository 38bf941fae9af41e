import type { Case, CaseEndorsement } from "../../node/api/generated/concordat/v1/cases.js";
import { readCaseFile, readCaseFolder } from "../case-files.js";
import { withConnection, type ConnectionOptions } from "../connection.js";
import { printJson, printLine, printTable, type Io } from "../io.js";

/** `HUB/ID` or `ID` (this hub's). */
function caseRef(value: string): { hub: string; id: string } {
  const slash = value.indexOf("/");
  return slash > 0 ? { hub: value.slice(0, slash), id: value.slice(slash + 1) } : { hub: "", id: value };
}

const endorsed = (e: CaseEndorsement | undefined) => (e ? `endorsed ${e.at.slice(0, 10)}` : "");

export async function casesAddCommand(
  options: ConnectionOptions & { file: string; update?: boolean },
  io: Io,
): Promise<void> {
  const value = await readCaseFile(options.file);
  const saved = await withConnection(options, (c) =>
    options.update ? c.cases.updateCase({ case: value }) : c.cases.addCase({ case: value }),
  );
  if (io.json) printJson(io, saved);
  else
    printLine(
      io,
      `${options.update ? "Updated" : "Added"} case '${saved.id}' (${saved.kind}, ${saved.language}, ${saved.review}, ${saved.visibility}).`,
    );
}

export async function casesImportCommand(
  options: ConnectionOptions & { dir: string; dryRun?: boolean },
  io: Io,
): Promise<void> {
  const cases = await readCaseFolder(options.dir);
  const result = await withConnection(options, (c) =>
    c.cases.importCases({ cases, dryRun: options.dryRun ?? false }, { deadlineMs: 120_000 }),
  );
  if (io.json) printJson(io, result);
  else
    printLine(
      io,
      `${result.dryRun ? "Checked (nothing written)" : "Imported"} ${cases.length} case(s) from ${options.dir}: ${result.created} new, ${result.updated} replaced.`,
    );
}

export async function casesShowCommand(options: ConnectionOptions & { ref: string }, io: Io): Promise<void> {
  const ref = caseRef(options.ref);
  const found = await withConnection(options, (c) => c.cases.getCase(ref));
  if (io.json) {
    printJson(io, found);
    return;
  }
  const k = found.case as Case;
  printLine(io, `${k.hub}/${k.id} — ${k.title}`);
  printLine(
    io,
    `  ${k.kind}, ${k.language}${k.country ? `, ${k.country}` : ""}${k.region ? ` (${k.region})` : ""}; ${k.review}, ${k.visibility}${found.endorsement ? `; endorsed by the secretariat on ${found.endorsement.at}${found.endorsement.note ? ` (${found.endorsement.note})` : ""}` : ""}`,
  );
  if (k.competencies.length > 0) printLine(io, `  competencies  ${k.competencies.join(", ")}`);
  if (k.tags.length > 0) printLine(io, `  tags          ${k.tags.join(", ")}`);
  for (const e of k.evidence)
    printLine(io, `  evidence      ${e.label ? `${e.label}: ` : ""}${e.url} (sha256 ${e.sha256.slice(0, 12)}…)`);
  printLine(io, `  updated       ${k.updatedAt} by ${k.updatedBy}`);
  if (k.summary) printLine(io, `\n${k.summary}`);
  if (k.body) printLine(io, `\n${k.body.trimEnd()}`);
}

export async function casesListCommand(options: ConnectionOptions & { hub?: string }, io: Io): Promise<void> {
  const result = await withConnection(options, (c) => c.cases.listCases({ hub: options.hub ?? "" }));
  if (io.json) {
    printJson(io, result);
    return;
  }
  printLine(io, `${result.cases.length} case(s)`);
  if (result.cases.length > 0)
    printTable(
      io,
      ["id", "kind", "title", "lang", "review", "visibility"],
      result.cases.map((k) => [k.id, k.kind, k.title, k.language, k.review, k.visibility]),
    );
}

export interface CasesSearchOptions extends ConnectionOptions {
  text: string;
  competency?: string;
  region?: string;
  lang?: string;
  hub?: string;
  kind?: string;
  public?: boolean;
  pageSize?: number;
  pageToken?: string;
}

export async function casesSearchCommand(options: CasesSearchOptions, io: Io): Promise<void> {
  const result = await withConnection(options, (c) =>
    c.cases.searchCases({
      text: options.text,
      competency: options.competency ?? "",
      region: options.region ?? "",
      language: options.lang ?? "",
      hub: options.hub ?? "",
      kind: options.kind ?? "",
      publicOnly: options.public ?? false,
      pageSize: options.pageSize ?? 0,
      pageToken: options.pageToken ?? "",
    }),
  );
  if (io.json) {
    printJson(io, result);
    return;
  }
  printLine(io, `${result.total} case(s) found`);
  if (result.results.length > 0) {
    printTable(
      io,
      ["hub", "case", "title", "kind", "lang", "review", "endorsement"],
      result.results.map((r) => [
        r.case?.hub ?? "",
        r.case?.id ?? "",
        r.case?.title ?? "",
        r.case?.kind ?? "",
        r.case?.language ?? "",
        r.case?.review ?? "",
        endorsed(r.endorsement),
      ]),
    );
  }
  if (result.nextPageToken) printLine(io, `More: --page-token ${result.nextPageToken}`);
}

export async function casesEndorseCommand(
  options: ConnectionOptions & { ref: string; note?: string },
  io: Io,
): Promise<void> {
  const ref = caseRef(options.ref);
  const e = await withConnection(options, (c) => c.cases.endorseCase({ ...ref, note: options.note ?? "" }));
  if (io.json) printJson(io, e);
  else printLine(io, `Endorsed ${options.ref} (${e.at}).`);
}
