import { readFile } from "node:fs/promises";
import type { Delivery } from "../../node/api/generated/concordat/v1/deliveries.js";
import { withConnection, type ConnectionOptions } from "../connection.js";
import { CliError, ExitCode } from "../errors.js";
import { printJson, printLine, printTable, type Io } from "../io.js";

export interface DeliveryOptions extends ConnectionOptions {
  id: string;
  module?: string;
  start?: string;
  end?: string;
  country?: string;
  place?: string;
  language?: string;
  /** `CATEGORY=FEMALE/MALE/UNSPECIFIED`, repeatable. */
  group?: string[];
  completed?: number;
  passed?: number;
  /** `RESPONSES:MEAN` (mean score 0-100). */
  evaluation?: string;
  visibility?: string;
}

/** `police=12/20/1` → a participant group; every malformed one is named. */
export function parseGroups(values: readonly string[]): Delivery["participants"] {
  const problems: string[] = [];
  const groups = values.map((v) => {
    const m = /^([^=]+)=(\d+)\/(\d+)\/(\d+)$/.exec(v.trim());
    if (!m) {
      problems.push(`--group '${v}': expected CATEGORY=FEMALE/MALE/UNSPECIFIED, e.g. police=12/20/0`);
      return { category: "", female: 0, male: 0, unspecified: 0 };
    }
    return { category: (m[1] as string).trim(), female: Number(m[2]), male: Number(m[3]), unspecified: Number(m[4]) };
  });
  if (problems.length > 0) throw new CliError(problems.join("; "), ExitCode.Usage);
  return groups;
}

function evaluationOf(value: string | undefined): { responses: number; meanScore: number } {
  if (value === undefined) return { responses: 0, meanScore: 0 };
  const m = /^(\d+):(\d+(?:\.\d+)?)$/.exec(value.trim());
  if (!m) throw new CliError(`--evaluation '${value}': expected RESPONSES:MEAN, e.g. 28:81.5`, ExitCode.Usage);
  return { responses: Number(m[1]), meanScore: Number(m[2]) };
}

function message(options: DeliveryOptions): Delivery {
  return {
    id: options.id,
    module: options.module ?? "",
    start: options.start ?? "",
    end: options.end ?? "",
    country: options.country ?? "",
    place: options.place ?? "",
    language: options.language ?? "",
    participants: parseGroups(options.group ?? []),
    completed: options.completed ?? 0,
    passed: options.passed ?? 0,
    evaluation: evaluationOf(options.evaluation),
    visibility: options.visibility ?? "",
    source: "",
    recordedAt: "",
    recordedBy: "",
    hub: "",
  };
}

const total = (d: Delivery) => d.participants.reduce((s, g) => s + g.female + g.male + g.unspecified, 0);

function summary(d: Delivery): string {
  return `${d.id}: module ${d.module}, ${d.start} – ${d.end}${d.place ? `, ${d.place}` : ""}${d.country ? ` (${d.country})` : ""}; ${total(d)} participant(s), ${d.completed} completed, ${d.passed} passed (${d.source})`;
}

export async function deliveriesRecordCommand(options: DeliveryOptions, io: Io): Promise<void> {
  const saved = await withConnection(options, (c) => c.deliveries.recordDelivery({ delivery: message(options) }));
  if (io.json) printJson(io, saved);
  else printLine(io, `Recorded ${summary(saved)}`);
}

export async function deliveriesIngestCommand(options: DeliveryOptions & { file: string }, io: Io): Promise<void> {
  const json = await readFile(options.file, "utf8").catch((error: NodeJS.ErrnoException) => {
    throw new CliError(`cannot read '${options.file}': ${error.code ?? error.message}`, ExitCode.Usage);
  });
  const result = await withConnection(options, (c) =>
    c.deliveries.ingestStatements({ delivery: message(options), statementsJson: json }, { deadlineMs: 120_000 }),
  );
  if (io.json) printJson(io, result);
  else
    printLine(
      io,
      `Counted ${result.added} new statement(s) (${result.duplicates} seen before, not counted again) into ${summary(result.delivery as Delivery)}`,
    );
}

export async function deliveriesListCommand(options: ConnectionOptions & { hub?: string }, io: Io): Promise<void> {
  const result = await withConnection(options, (c) => c.deliveries.listDeliveries({ hub: options.hub ?? "" }));
  if (io.json) {
    printJson(io, result);
    return;
  }
  printLine(io, `${result.deliveries.length} deliveries`);
  if (result.deliveries.length > 0) {
    printTable(
      io,
      ["id", "module", "start", "end", "country", "participants", "completed", "passed", "source"],
      result.deliveries.map((d) => [
        d.id,
        d.module,
        d.start,
        d.end,
        d.country,
        String(total(d)),
        String(d.completed),
        String(d.passed),
        d.source,
      ]),
    );
  }
}

export async function deliveriesShowCommand(options: ConnectionOptions & { id: string }, io: Io): Promise<void> {
  const d = await withConnection(options, (c) => c.deliveries.getDelivery({ id: options.id }));
  if (io.json) {
    printJson(io, d);
    return;
  }
  printLine(io, summary(d));
  for (const g of d.participants)
    printLine(io, `  ${g.category.padEnd(12)} female ${g.female}, male ${g.male}, unspecified ${g.unspecified}`);
  if (d.evaluation && d.evaluation.responses > 0)
    printLine(io, `  evaluation   ${d.evaluation.responses} response(s), mean ${d.evaluation.meanScore}`);
  printLine(io, `  recorded     ${d.recordedAt} by ${d.recordedBy}; ${d.visibility}`);
}
