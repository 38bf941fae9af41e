import { randomUUID } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import type { CoreContent } from "../../node/core/model.js";
import { withConnection, type ConnectionOptions } from "../connection.js";
import { fetchCasePackage } from "../case-provider.js";
import { CliError, ExitCode } from "../errors.js";
import { toMoodleCsv } from "../../node/core/index.js";
import { printJson, printJsonText, printLine, printNotice, printTable, printText, type Io } from "../io.js";

/** Reads a file (or standard input for "-") as text, with a usage error naming it when it cannot. */
export async function readInput(file: string): Promise<Buffer> {
  if (file === "-") {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }
  return readFile(file).catch((error: NodeJS.ErrnoException) => {
    throw new CliError(`cannot read '${file}': ${error.code ?? error.message}`, ExitCode.Usage);
  });
}

/** Parses `LANG=TEXT` pairs into a language map. */
export function langPairs(values: readonly string[] | undefined, flag: string): Record<string, string> | undefined {
  if (!values || values.length === 0) return undefined;
  const map: Record<string, string> = {};
  for (const value of values) {
    const i = value.indexOf("=");
    if (i < 1) throw new CliError(`${flag} '${value}' is not LANG=TEXT (e.g. en="Use of force")`, ExitCode.Usage);
    map[value.slice(0, i)] = value.slice(i + 1);
  }
  return map;
}

function parseJsonFile(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new CliError(`'${file}' is not JSON: ${(error as Error).message}`, ExitCode.Usage);
  }
}

/** `core put KIND FILE`: records of one kind from a JSON file (one record, or an array). */
export async function corePutCommand(
  options: ConnectionOptions & { kind: string; file: string },
  io: Io,
): Promise<void> {
  const parsed = parseJsonFile((await readInput(options.file)).toString("utf8"), options.file);
  const records = (Array.isArray(parsed) ? parsed : [parsed]).map((r) => JSON.stringify(r));
  const result = await withConnection(options, (c) =>
    c.core.putCoreRecords({ kind: options.kind, records, merge: false }),
  );
  if (io.json) printJson(io, result);
  else printLine(io, `Saved ${result.ids.length} ${options.kind}(s) in the drafts: ${result.ids.join(", ")}`);
}

/**
 * `core item`: one competency item from flags. A new item (no --id, or an --id not in the drafts)
 * needs --code and --statement; an existing one changes only in what the flags give — its other
 * fields, its other languages and the CASE fields Concordat keeps for it (`uri`, …) stay as they are.
 */
export async function coreItemAddCommand(
  options: ConnectionOptions & {
    code?: string;
    statement?: string[];
    type?: string;
    language?: string;
    id?: string;
    roleLevel?: string[];
    theme?: string[];
    notes?: string;
  },
  io: Io,
): Promise<void> {
  const statement = langPairs(options.statement, "--statement");
  if (options.id === undefined && (options.code === undefined || statement === undefined)) {
    throw new CliError(
      "a new item needs --code and --statement (or name an existing item with --id to change it)",
      ExitCode.Usage,
    );
  }
  const given = {
    identifier: options.id ?? randomUUID(),
    ...(options.code !== undefined ? { code: options.code } : {}),
    ...(statement ? { statement } : {}),
    ...(options.type !== undefined ? { type: options.type } : {}),
    ...(options.language !== undefined ? { language: options.language } : {}),
    ...(options.roleLevel ? { roleLevels: options.roleLevel } : {}),
    ...(options.theme ? { themes: options.theme } : {}),
    ...(options.notes !== undefined ? { notes: options.notes } : {}),
    lastChangeDateTime: new Date().toISOString(),
  };
  const result = await withConnection(options, (c) =>
    c.core.putCoreRecords({ kind: "item", records: [JSON.stringify(given)], merge: true }),
  );
  if (io.json) printJson(io, given);
  else printLine(io, `Saved item ${options.code ?? result.ids[0]} (${result.ids[0]}) in the drafts`);
}

/** `core associate ORIGIN TYPE DESTINATION`: a CASE association between two items (by identifier). */
export async function coreAssociateCommand(
  options: ConnectionOptions & { origin: string; type: string; destination: string; sequence?: number; id?: string },
  io: Io,
): Promise<void> {
  const association = {
    identifier: options.id ?? randomUUID(),
    type: options.type,
    origin: { identifier: options.origin },
    destination: { identifier: options.destination },
    ...(options.sequence !== undefined ? { sequenceNumber: options.sequence } : {}),
    lastChangeDateTime: new Date().toISOString(),
  };
  const result = await withConnection(options, (c) =>
    c.core.putCoreRecords({
      kind: "association",
      records: [JSON.stringify(association)],
      merge: true,
    }),
  );
  if (io.json) printJson(io, association);
  else
    printLine(
      io,
      `Saved association ${options.origin} ${options.type} ${options.destination} (${result.ids[0]}) in the drafts`,
    );
}

export async function coreRemoveCommand(
  options: ConnectionOptions & { kind: string; ids: string[] },
  io: Io,
): Promise<void> {
  const result = await withConnection(options, (c) =>
    c.core.removeCoreRecords({ kind: options.kind, ids: options.ids }),
  );
  if (io.json) printJson(io, result);
  else printLine(io, `Removed ${result.removed} ${options.kind}(s) from the drafts`);
}

/**
 * What `core import` reads: a file (FORMAT FILE), or with --url a CASE provider's package (the
 * format is then case, and no file is named).
 */
function importSource(options: { format?: string; file?: string; url?: string }): { format: string; source: string } {
  if (options.url !== undefined) {
    if (options.file !== undefined) throw new CliError("name a file or give --url, not both", ExitCode.Usage);
    if (options.format !== undefined && options.format !== "case")
      throw new CliError(`--url reads a CASE package: the format is case, not '${options.format}'`, ExitCode.Usage);
    return { format: "case", source: options.url };
  }
  if (options.format === undefined || options.file === undefined)
    throw new CliError("name the format and the file (core import case FILE), or give --url", ExitCode.Usage);
  return { format: options.format, source: options.file };
}

export async function coreImportCommand(
  options: ConnectionOptions & { format?: string; file?: string; url?: string; dryRun?: boolean; language?: string },
  io: Io,
): Promise<void> {
  const { format, source } = importSource(options);
  const content = options.url !== undefined ? await fetchCasePackage(options.url) : await readInput(source);
  const result = await withConnection(options, (c) =>
    c.core.importCore(
      { format, content, dryRun: options.dryRun ?? false, language: options.language ?? "" },
      { deadlineMs: 120_000 },
    ),
  );
  if (io.json) {
    printJson(io, result);
    return;
  }
  const what = `${result.framework ? "the framework, " : ""}${result.items} items, ${result.associations} associations`;
  printLine(
    io,
    result.dryRun
      ? `Checked ${source}: ${what} would be imported; nothing written (--dry-run)`
      : `Imported ${what} into the drafts`,
  );
}

export async function coreExportCommand(
  options: ConnectionOptions & { format?: string; release?: string; draft?: boolean; out?: string },
  io: Io,
): Promise<void> {
  if (options.format === "moodle") return coreExportMoodle(options, io);
  if (options.format !== undefined && options.format !== "case")
    throw new CliError(`'${options.format}' is not an export format (case, moodle)`, ExitCode.Usage);
  const result = await withConnection(options, (c) =>
    c.core.exportCore({ release: options.release ?? "", draft: options.draft ?? false }),
  );
  if (options.out) {
    await writeFile(options.out, `${result.json}\n`);
    if (io.json) printJson(io, { release: result.release, out: options.out });
    else printLine(io, `Wrote the core (${result.release}) as a CASE 1.1 package to ${options.out}`);
  } else printJsonText(io, result.json);
}

/**
 * The framework as Moodle's competency framework CSV (tool_lpimportcsv), made here from the core's
 * content: what Moodle's format cannot hold is named on standard error (in --json, listed).
 */
async function coreExportMoodle(
  options: ConnectionOptions & { release?: string; draft?: boolean; out?: string },
  io: Io,
): Promise<void> {
  const result = await withConnection(options, (c) =>
    c.core.showCore({ release: options.release ?? "", draft: options.draft ?? false }),
  );
  const core = JSON.parse(result.json) as CoreContent;
  if (!core.framework)
    throw new CliError(
      `the core (${result.release}) has no framework to export: the drafts get one with their first item, or from an import`,
      ExitCode.NotFound,
    );
  const { csv, omitted } = toMoodleCsv({
    framework: core.framework,
    items: core.items,
    associations: core.associations,
  });
  if (options.out) {
    await writeFile(options.out, csv);
    if (io.json) printJson(io, { release: result.release, out: options.out, omitted });
    else {
      printLine(io, `Wrote the core (${result.release}) as a Moodle competency framework CSV to ${options.out}`);
      for (const o of omitted) printNotice(io, `not in Moodle's format: ${o}`);
    }
  } else {
    printText(io, csv);
    for (const o of omitted) printNotice(io, `not in Moodle's format: ${o}`);
  }
}

export async function coreReleaseCommand(
  options: ConnectionOptions & { version: string; notes?: string },
  io: Io,
): Promise<void> {
  const release = await withConnection(options, (c) =>
    c.core.releaseCore({ version: options.version, notes: options.notes ?? "" }),
  );
  if (io.json) printJson(io, release);
  else {
    printLine(
      io,
      `Released the core as ${release.version} (seq ${release.seq}, signed ${release.time}); hubs receive it as it replicates`,
    );
    if (release.answers.length > 0) printLine(io, `It answers the proposals ${release.answers.join(", ")}`);
  }
}

export async function coreReleasesCommand(options: ConnectionOptions, io: Io): Promise<void> {
  const result = await withConnection(options, (c) => c.core.listCoreReleases({}));
  if (io.json) {
    printJson(io, result);
    return;
  }
  if (result.releases.length === 0) printLine(io, "No release of the core yet.");
  else
    printTable(
      io,
      ["version", "signed at", "seq", "notes", "answers"],
      result.releases.map((r) => [r.version, r.time, String(r.seq), r.notes, r.answers.join(", ") || "-"]),
    );
  for (const p of result.problems) printLine(io, `refused: ${p}`);
}

function firstText(map: Record<string, string> | undefined, language?: string): string {
  if (!map) return "";
  return (language ? map[language] : undefined) ?? Object.values(map)[0] ?? "";
}

export async function coreShowCommand(
  options: ConnectionOptions & { release?: string; draft?: boolean },
  io: Io,
): Promise<void> {
  const result = await withConnection(options, (c) =>
    c.core.showCore({ release: options.release ?? "", draft: options.draft ?? false }),
  );
  const core = JSON.parse(result.json) as CoreContent;
  if (io.json) {
    printJson(io, { release: result.release, ...core });
    return;
  }
  printLine(
    io,
    `core ${result.release}: ${core.framework?.title ?? "(no framework)"} — ${core.items.length} items, ${core.associations.length} associations, ${core.modules.length} modules, ${core.schemes.length} schemes`,
  );
  if (core.items.length > 0) {
    printTable(
      io,
      ["code", "type", "statement", "languages", "role levels", "themes"],
      [...core.items]
        .sort((a, b) => a.code.localeCompare(b.code))
        .map((i) => [
          i.code,
          i.type,
          firstText(i.statement, i.language).slice(0, 80),
          Object.keys(i.statement).join(" "),
          i.roleLevels.join(" "),
          i.themes.join(" "),
        ]),
    );
  }
  if (core.modules.length > 0) {
    printTable(
      io,
      ["module", "title", "minutes", "delivery", "units", "competencies"],
      core.modules.map((m) => [
        m.code || m.id,
        firstText(m.title),
        String(m.durationMinutes),
        m.deliveryMode,
        String(m.units.length),
        String(m.competencies.length),
      ]),
    );
  }
  if (core.schemes.length > 0)
    printTable(
      io,
      ["scheme", "name", "levels", "valid (months)"],
      core.schemes.map((s) => [s.id, firstText(s.name), s.levels.join(" "), String(s.validityMonths)]),
    );
}

const clip = (s: string) => (s.length > 60 ? `${s.slice(0, 57)}…` : s);

export async function coreDiffCommand(
  options: ConnectionOptions & { from: string; to: string },
  io: Io,
): Promise<void> {
  const result = await withConnection(options, (c) => c.core.diffCore({ from: options.from, to: options.to }));
  if (io.json) {
    printJson(io, result.changes);
    return;
  }
  if (result.changes.length === 0) {
    printLine(io, `No differences between ${options.from} and ${options.to}.`);
    return;
  }
  printLine(io, `${result.changes.length} record(s) differ between ${options.from} and ${options.to}:`);
  const rows = result.changes.flatMap((c) =>
    c.fields.map((f, i) => [
      i === 0 ? c.kind : "",
      i === 0 ? c.code || c.id : "",
      i === 0 ? c.change : "",
      f.field,
      clip(f.before || "-"),
      clip(f.after || "-"),
    ]),
  );
  printTable(io, ["kind", "record", "change", "field", "before", "after"], rows);
}

export async function coreAdoptCommand(options: ConnectionOptions & { version: string }, io: Io): Promise<void> {
  const adoption = await withConnection(options, (c) => c.core.adoptCore({ version: options.version }));
  if (io.json) printJson(io, adoption);
  else
    printLine(
      io,
      `This hub now follows core release ${adoption.version} (adopted ${adoption.adoptedAt} by ${adoption.adoptedBy})`,
    );
}

export async function coreImpactCommand(options: ConnectionOptions & { release?: string }, io: Io): Promise<void> {
  const result = await withConnection(options, (c) => c.core.coreImpact({ release: options.release ?? "" }));
  if (io.json) {
    printJson(io, result.entries);
    return;
  }
  const affected = result.entries.filter((e) => e.status !== "unchanged");
  const release = result.entries[0]?.release ?? options.release ?? "the newest release";
  if (result.entries.length === 0) {
    printLine(io, "This hub has no adaptations.");
    return;
  }
  printLine(io, `${affected.length} of ${result.entries.length} adaptation(s) need review against ${release}:`);
  const rows = affected.flatMap((e) => {
    const head = [
      e.adaptation,
      `${e.targetKind} ${e.code || e.targetId}`,
      e.baseRelease,
      e.status === "removed" ? "NEEDS REVIEW (removed)" : "NEEDS REVIEW",
    ];
    if (e.changes.length === 0) return [[...head, "", "", ""]];
    return e.changes.map((f, i) => [
      ...(i === 0 ? head : ["", "", "", ""]),
      f.field,
      clip(f.before || "-"),
      clip(f.after || "-"),
    ]);
  });
  if (rows.length > 0) printTable(io, ["adaptation", "adapts", "based on", "state", "field", "before", "after"], rows);
  if (affected.length > 0)
    printLine(
      io,
      "Re-base an adaptation with `concordat curriculum adapt …`, or confirm it unchanged with `concordat curriculum confirm ID`.",
    );
}

export async function federationReleasesCommand(options: ConnectionOptions, io: Io): Promise<void> {
  const result = await withConnection(options, (c) => c.core.federationReleases({}));
  if (io.json) {
    printJson(io, result);
    return;
  }
  printLine(io, `newest release: ${result.latest || "none"}`);
  printTable(
    io,
    ["hub", "adopted", "adapted items", "adapted modules", "needs review", "as of checkpoint"],
    result.hubs.map((h) => [
      h.removed ? `${h.hub} (removed)` : h.self ? `${h.hub} (this hub)` : h.hub,
      h.adopted || "-",
      String(h.adaptedItems),
      String(h.adaptedModules),
      String(h.needsReview),
      h.self ? "this hub (live)" : h.checkpointSeq > 0 ? `${h.checkpointSeq} (${h.checkpointTime})` : "none verified",
    ]),
  );
}
