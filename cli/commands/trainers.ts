import { readFile, rename, writeFile } from "node:fs/promises";
import { SingleBar } from "cli-progress";
import {
  ImportRow,
  type ImportResult,
  type ImportTrainersRequest,
  type Trainer,
} from "../../node/api/generated/concordat/v1/trainers.js";
import { withConnection, type Connection, type ConnectionOptions } from "../connection.js";
import { formatRange } from "../day-ranges.js";
import { CliError, ExitCode } from "../errors.js";
import {
  printJson,
  printJsonText,
  printLine,
  printNotice,
  printRecord,
  printTable,
  printText,
  type Io,
} from "../io.js";
import {
  formatFromPath,
  formatTrainerFile,
  readTrainerFile,
  trainerFromFields,
  type CsvColumn,
  type FileRowError,
  type TrainerFileFormat,
} from "../trainer-files.js";

/** Trainer fields as CLI flags, in the same cell syntax as the CSV columns (docs/trainer-files.md). */
export interface TrainerFieldOptions {
  id: string;
  name?: string;
  languages?: string;
  regions?: string;
  accreditations?: string;
  availability?: string;
  blackouts?: string;
  email?: string;
  phone?: string;
  nationalId?: string;
  notes?: string;
}

const FLAG_COLUMNS: ReadonlyArray<[keyof TrainerFieldOptions, CsvColumn, string]> = [
  ["id", "id", ""],
  ["name", "display_name", "display_name"],
  ["languages", "languages", "languages"],
  ["regions", "regions", "regions"],
  ["accreditations", "accreditations", "accreditations"],
  ["availability", "availability", "availability"],
  ["blackouts", "blackouts", "blackouts"],
  ["email", "email", "private.email"],
  ["phone", "phone", "private.phone"],
  ["nationalId", "national_id", "private.national_id"],
  ["notes", "notes", "private.notes"],
];

function trainerFromOptions(options: TrainerFieldOptions): { trainer: Trainer; mask: string[] } {
  const fields: Partial<Record<CsvColumn, string>> = {};
  const mask: string[] = [];
  for (const [option, column, maskField] of FLAG_COLUMNS) {
    const value = options[option];
    if (value === undefined) continue;
    fields[column] = value;
    if (maskField !== "") mask.push(maskField);
  }
  const { trainer, errors } = trainerFromFields(fields);
  if (errors.length > 0) {
    throw new CliError(
      "invalid trainer fields",
      ExitCode.Usage,
      errors.map((e) => `--${flagFor(e.field)}: ${e.message}`),
    );
  }
  return { trainer, mask };
}

function flagFor(column: string): string {
  const entry = FLAG_COLUMNS.find(([, c]) => c === column);
  return entry ? entry[0].replace(/[A-Z]/g, (m) => `-${m.toLowerCase()}`) : column;
}

function describeTrainer(io: Io, t: Trainer): void {
  if (io.json) {
    printJson(io, t);
    return;
  }
  const lines: Array<[string, string]> = [
    ["id", t.id],
    ["name", t.displayName],
    ["home hub", t.homeHub],
    ["languages", t.languages.map((l) => `${l.tag}:${l.level}`).join(", ")],
    ["regions", t.regions.join(", ")],
    [
      "claimed (roster)",
      t.accreditations.length === 0
        ? "none"
        : t.accreditations
            .map((a) => `${a.scheme}/${a.competency} ${a.level} ${a.validFrom}..${a.validUntil} ${a.status}`)
            .join("; "),
    ],
    ["availability", t.availability.map((r) => formatRange(r.start, r.end)).join(", ")],
    ["blackouts", t.blackouts.map((r) => formatRange(r.start, r.end)).join(", ")],
  ];
  if (t.private) {
    lines.push(
      ["email", t.private.email],
      ["phone", t.private.phone],
      ["national id", t.private.nationalId],
      ["notes", t.private.notes],
    );
  }
  lines.push(["updated", `${t.updatedAt} by ${t.updatedBy}`]);
  printRecord(io, {}, lines);
}

export async function trainersAddCommand(options: ConnectionOptions & TrainerFieldOptions, io: Io): Promise<void> {
  const { trainer } = trainerFromOptions(options);
  const added = await withConnection(options, (c) => c.trainers.addTrainer({ trainer }));
  if (!io.json) printLine(io, `Added trainer '${added.id}'.`);
  describeTrainer(io, added);
}

export async function trainersGetCommand(options: ConnectionOptions & { id: string }, io: Io): Promise<void> {
  const { trainer, checks, held } = await withConnection(options, async (c) => {
    const trainer = await c.trainers.getTrainer({ id: options.id });
    // The credentials the trainer holds (what counts), and each claimed accreditation: it counts only
    // when a credential the trainer holds verifies for it.
    const { checks, held } = await c.credentials.checkAccreditations({
      trainerId: trainer.id,
    });
    return { trainer, checks, held };
  });
  if (io.json) {
    printJson(io, { ...trainer, accreditationChecks: checks, credentials: held });
    return;
  }
  describeTrainer(io, trainer);
  const valid = held.filter((h) => h.valid).length;
  printLine(
    io,
    `Credentials held: ${held.length} (${valid} verified) — only verified credentials count in \`trainers find\`; the claimed accreditations above never do.`,
  );
  if (held.length > 0) {
    printTable(
      io,
      ["credential", "scheme / level", "competencies", "issuer", "valid", "counts?"],
      held.map((h) => [
        h.id,
        `${h.scheme} / ${h.level}`,
        h.competencies.join(" "),
        h.issuer,
        formatRange(h.validFrom, h.validUntil),
        h.valid ? "verified" : `NOT VALID: ${h.detail}`,
      ]),
    );
  } else {
    printLine(
      io,
      "  none: issue one with `concordat credentials issue`, or attach one issued elsewhere with `concordat credentials attach`.",
    );
  }
  if (checks.length > 0) {
    printTable(
      io,
      ["accreditation claimed", "level", "counts?", "why"],
      checks.map((a) => [`${a.scheme} / ${a.competency}`, a.level, a.verified ? "verified" : "UNVERIFIED", a.detail]),
    );
  }
}

export async function trainersUpdateCommand(options: ConnectionOptions & TrainerFieldOptions, io: Io): Promise<void> {
  const { trainer, mask } = trainerFromOptions(options);
  if (mask.length === 0) {
    throw new CliError("nothing to update: give at least one field flag (e.g. --name, --languages)", ExitCode.Usage);
  }
  const updated = await withConnection(options, (c) => c.trainers.updateTrainer({ trainer, updateMask: mask }));
  if (!io.json) printLine(io, `Updated ${mask.join(", ")} of trainer '${updated.id}'.`);
  describeTrainer(io, updated);
}

export async function trainersRemoveCommand(options: ConnectionOptions & { id: string }, io: Io): Promise<void> {
  await withConnection(options, (c) => c.trainers.removeTrainer({ id: options.id }));
  if (io.json) printJson(io, { removed: options.id });
  else printLine(io, `Removed trainer '${options.id}'.`);
}

export interface ListCommandOptions extends ConnectionOptions {
  pageSize?: number;
  pageToken?: string;
  all?: boolean;
}

export async function trainersListCommand(options: ListCommandOptions, io: Io): Promise<void> {
  const pages = await withConnection(options, async (c) => {
    const trainers: Trainer[] = [];
    let token = options.pageToken ?? "";
    let total = 0;
    let next = "";
    do {
      const page = await c.trainers.listTrainers({
        pageSize: options.pageSize ?? 100,
        pageToken: token,
      });
      trainers.push(...page.trainers);
      total = page.total;
      next = page.nextPageToken;
      token = next;
    } while (options.all && next !== "");
    return { trainers, total, nextPageToken: next };
  });
  if (io.json) {
    printJson(io, pages);
    return;
  }
  printTable(
    io,
    ["id", "name", "languages", "regions", "accreditations", "updated"],
    pages.trainers.map((t) => [
      t.id,
      t.displayName,
      t.languages.map((l) => `${l.tag}:${l.level}`).join(" "),
      t.regions.join(" "),
      String(t.accreditations.length),
      t.updatedAt.slice(0, 19).replace("T", " "),
    ]),
  );
  const more = pages.nextPageToken !== "" ? ` — more with --page-token ${pages.nextPageToken} or --all` : "";
  printLine(io, `${pages.trainers.length} of ${pages.total} trainers${more}`);
}

/** `trainers history`: deployments, lineage, moves and changes (cli/commands/trainer-history.ts). */
export { trainersHistoryCommand } from "./trainer-history.js";

export interface ImportCommandOptions extends ConnectionOptions {
  file: string;
  format?: string;
  skipInvalid?: boolean;
  dryRun?: boolean;
  upsert?: boolean;
}

function resolveFormat(path: string, given: string | undefined): TrainerFileFormat {
  if (given !== undefined) {
    if (given === "csv" || given === "json") return given;
    throw new CliError(`--format must be csv or json, not '${given}'`, ExitCode.Usage);
  }
  const format = formatFromPath(path);
  if (!format)
    throw new CliError(
      `cannot tell the format of '${path}' from its extension; pass --format csv|json`,
      ExitCode.Usage,
    );
  return format;
}

/**
 * Rows per message, and bytes: the node decodes and checks a message in one go, so a small one
 * keeps each of those steps short and the node answering other calls during an import.
 */
const BATCH = 100;
const BATCH_BYTES = 256 * 1024;

/** The rows in messages of at most BATCH rows and (unless one row is larger) BATCH_BYTES. */
function* batches(rows: readonly ImportRow[]): Generator<ImportRow[]> {
  let batch: ImportRow[] = [];
  let bytes = 0;
  for (const row of rows) {
    const size = ImportRow.encode(row).finish().byteLength;
    if (batch.length > 0 && (batch.length >= BATCH || bytes + size > BATCH_BYTES)) {
      yield batch;
      batch = [];
      bytes = 0;
    }
    batch.push(row);
    bytes += size;
  }
  if (batch.length > 0) yield batch;
}

/** Streams rows to ImportTrainers; the node validates all, then writes all valid rows in one batch. */
function streamImport(
  c: Connection,
  rows: readonly ImportRow[],
  options: { skipInvalid: boolean; dryRun: boolean; upsert: boolean },
  onSent: (sent: number) => void,
): Promise<ImportResult> {
  function* messages(): Generator<ImportTrainersRequest> {
    yield { part: { $case: "options", value: options } };
    let sent = 0;
    for (const batch of batches(rows)) {
      yield { part: { $case: "rows", value: { rows: batch } } };
      sent += batch.length;
      onSent(sent);
    }
  }
  return c.trainers.importTrainers(messages(), { deadlineMs: 10 * 60_000 });
}

/** Problems shown in the table for people; `--json` lists all of them. */
const SHOWN_ERRORS = 50;

function printRowErrors(io: Io, errors: readonly FileRowError[]): void {
  const sorted = [...errors].sort((a, b) => a.line - b.line);
  printTable(
    io,
    ["line", "field", "problem"],
    sorted.slice(0, SHOWN_ERRORS).map((e) => [String(e.line), e.field, e.message]),
  );
  if (sorted.length > SHOWN_ERRORS)
    printLine(io, `… and ${sorted.length - SHOWN_ERRORS} more problems (--json lists them all)`);
}

/**
 * `concordat trainers import FILE`: every row is checked first (the file's syntax here, the values by
 * the node); if any row is bad, nothing is imported and every bad row is reported with its line —
 * unless `--skip-invalid`, which imports the good rows.
 */
export async function trainersImportCommand(options: ImportCommandOptions, io: Io): Promise<ImportResult> {
  const format = resolveFormat(options.file, options.format);
  const content = await readFile(options.file, "utf8").catch((error: NodeJS.ErrnoException) => {
    throw new CliError(
      `cannot read '${options.file}': ${error.code === "ENOENT" ? "file not found" : error.message}`,
      ExitCode.Usage,
    );
  });
  const parsed = readTrainerFile(content, format);
  const skipInvalid = options.skipInvalid ?? false;
  // With unreadable rows and no --skip-invalid, nothing will be written: still let the node check
  // the readable rows, so that the report lists every problem at once.
  const dryRun = (options.dryRun ?? false) || (parsed.errors.length > 0 && !skipInvalid);
  const rows: ImportRow[] = parsed.rows.map((r) => ({ line: r.line, trainer: r.trainer }));

  const showBar = !io.json && Boolean(io.stderr.isTTY) && rows.length > 0;
  const bar = showBar
    ? new SingleBar({ format: "importing [{bar}] {value}/{total} rows", stream: io.stderr, hideCursor: true })
    : undefined;
  bar?.start(rows.length, 0);
  let result: ImportResult;
  try {
    result = await withConnection(options, (c) =>
      streamImport(c, rows, { skipInvalid, dryRun, upsert: options.upsert ?? false }, (sent) => {
        bar?.update(sent);
        if (bar && sent === rows.length) {
          bar.stop();
          printNotice(io, `the node is checking ${dryRun ? "" : "and writing "}${rows.length} rows…`);
        }
      }),
    );
  } finally {
    bar?.stop();
  }

  const errors: FileRowError[] = [...parsed.errors, ...result.errors];
  const skipped = result.skipped + (skipInvalid ? new Set(parsed.errors.map((e) => e.line)).size : 0);
  const summary = { ...result, skipped, errors: errors.sort((a, b) => a.line - b.line) };
  if (io.json) {
    printJson(io, summary);
  } else {
    if (errors.length > 0) printRowErrors(io, errors);
    if (result.errorsTotal > result.errors.length) {
      printLine(
        io,
        `The node found ${result.errorsTotal} problems in all and listed the first ${result.errors.length}.`,
      );
    }
    if (result.committed) {
      printLine(
        io,
        `Imported ${result.imported} trainers from ${options.file}${skipped > 0 ? `; skipped ${skipped} invalid rows` : ""}.`,
      );
    } else if (options.dryRun && errors.length === 0) {
      printLine(io, `Dry run: all ${rows.length} rows are valid; nothing was written.`);
    } else if (rows.length === 0 && errors.length === 0) {
      printLine(io, `${options.file} holds no trainers; nothing was written.`);
    }
  }
  if (errors.length > 0 && !result.committed) {
    const bad = new Set(errors.map((e) => e.line)).size;
    const truncated = result.errorsTotal > result.errors.length;
    throw new CliError(
      `${truncated ? "at least " : ""}${bad} row${bad === 1 ? "" : "s"} of ${options.file} ${bad === 1 && !truncated ? "is" : "are"} invalid; nothing was imported (fix them, or pass --skip-invalid to import the valid rows)`,
      ExitCode.Usage,
    );
  }
  return summary;
}

export interface ExportCommandOptions extends ConnectionOptions {
  out?: string;
  format?: string;
  publicOnly?: boolean;
}

async function collect(stream: AsyncIterable<Trainer>): Promise<Trainer[]> {
  const trainers: Trainer[] = [];
  for await (const trainer of stream) trainers.push(trainer);
  return trainers;
}

/** `concordat trainers export`: the roster as CSV or JSON, the same formats `import` reads. */
export async function trainersExportCommand(options: ExportCommandOptions, io: Io): Promise<void> {
  const format = options.out ? resolveFormat(options.out, options.format) : options.format === "csv" ? "csv" : "json";
  const includePrivate = !(options.publicOnly ?? false);
  const trainers = await withConnection(options, (c) => collect(c.trainers.exportTrainers({ includePrivate })));
  let text: string;
  try {
    text = formatTrainerFile(trainers, format, { includePrivate });
  } catch (error) {
    throw new CliError(`${(error as Error).message} — export with --format json instead`, ExitCode.Failure);
  }
  if (!options.out) {
    if (format === "json") printJsonText(io, text);
    else printText(io, text);
    return;
  }
  const temporary = `${options.out}.tmp-${process.pid}`;
  await writeFile(temporary, text, { mode: includePrivate ? 0o600 : 0o644 });
  await rename(temporary, options.out);
  if (io.json) printJson(io, { out: options.out, format, trainers: trainers.length, includePrivate });
  else
    printLine(
      io,
      `Exported ${trainers.length} trainers to ${options.out} (${format}${includePrivate ? ", with personal data" : ", public fields only"}).`,
    );
}
