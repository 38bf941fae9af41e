import { readFile } from "node:fs/promises";
import type { Delivery } from "../../node/api/generated/concordat/v1/deliveries.js";
import { LrsError, pullStatements, sourceOf, type LrsCredentials } from "../../node/deliveries/index.js";
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
  /** `HUB/CASE-ID@VERSION`: the questionnaire the course evaluation used. */
  evaluationInstrument?: string;
  /** `COMPETENCY:METHOD:ASSESSED:DEMONSTRATED`, repeatable. */
  assessment?: string[];
  /** `ASSESSED:PRE:POST` (mean scores 0-100). */
  learning?: string;
  learningInstrument?: string;
  /** YYYY-MM-DD: the follow-up date, when not the module's period after the end. */
  followUpDue?: string;
  visibility?: string;
}

/** `hr-1:practical:20:17` → an assessment; every malformed one is named. */
export function parseAssessments(values: readonly string[]): Delivery["assessments"] {
  const problems: string[] = [];
  const out = values.map((v) => {
    const m = /^([^:]+):([^:]+):(\d+):(\d+)$/.exec(v.trim());
    if (!m) {
      problems.push(`--assessment '${v}': expected COMPETENCY:METHOD:ASSESSED:DEMONSTRATED, e.g. hr-1:practical:20:17`);
      return { competency: "", method: "", assessed: 0, demonstrated: 0 };
    }
    return { competency: m[1] as string, method: m[2] as string, assessed: Number(m[3]), demonstrated: Number(m[4]) };
  });
  if (problems.length > 0) throw new CliError(problems.join("; "), ExitCode.Usage);
  return out;
}

function learningOf(value: string | undefined, instrument: string | undefined): Delivery["learning"] {
  if (value === undefined) {
    if (instrument !== undefined)
      throw new CliError("--learning-instrument needs --learning ASSESSED:PRE:POST", ExitCode.Usage);
    return undefined;
  }
  const m = /^(\d+):(\d+(?:\.\d+)?):(\d+(?:\.\d+)?)$/.exec(value.trim());
  if (!m) throw new CliError(`--learning '${value}': expected ASSESSED:PRE:POST, e.g. 24:52:78`, ExitCode.Usage);
  return { assessed: Number(m[1]), preMean: Number(m[2]), postMean: Number(m[3]), instrument: instrument ?? "" };
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

function evaluationOf(value: string | undefined, instrument: string | undefined): Delivery["evaluation"] {
  if (value === undefined) {
    if (instrument !== undefined)
      throw new CliError("--evaluation-instrument needs --evaluation RESPONSES:MEAN", ExitCode.Usage);
    return { responses: 0, meanScore: 0, instrument: "" };
  }
  const m = /^(\d+):(\d+(?:\.\d+)?)$/.exec(value.trim());
  if (!m) throw new CliError(`--evaluation '${value}': expected RESPONSES:MEAN, e.g. 28:81.5`, ExitCode.Usage);
  return { responses: Number(m[1]), meanScore: Number(m[2]), instrument: instrument ?? "" };
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
    evaluation: evaluationOf(options.evaluation, options.evaluationInstrument),
    assessments: parseAssessments(options.assessment ?? []),
    learning: learningOf(options.learning, options.learningInstrument),
    followUpDue: options.followUpDue ?? "",
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

/** `--mastery 0.8` → 0.8; absent → undefined (scores do not decide passing). */
function masteryOf(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const mastery = Number(value);
  if (!Number.isFinite(mastery) || mastery <= 0 || mastery > 1)
    throw new CliError(`--mastery '${value}': expected a scaled score above 0 and at most 1, e.g. 0.8`, ExitCode.Usage);
  return mastery;
}

export async function deliveriesIngestCommand(
  options: DeliveryOptions & { file: string; mastery?: string },
  io: Io,
): Promise<void> {
  const json = await readText(options.file);
  const mastery = masteryOf(options.mastery);
  const result = await withConnection(options, (c) =>
    c.deliveries.ingestStatements(
      { delivery: message(options), statementsJson: json, ...(mastery === undefined ? {} : { mastery }) },
      { deadlineMs: 120_000 },
    ),
  );
  if (io.json) printJson(io, result);
  else
    printLine(
      io,
      `Counted ${result.added} new statement(s) (${result.duplicates} seen before, not counted again${result.voided > 0 ? `; ${result.voided} voiding` : ""}) into ${summary(result.delivery as Delivery)}`,
    );
}

export interface PullOptions extends DeliveryOptions {
  /** The LRS's xAPI endpoint, e.g. https://lrs.example/xapi. */
  lrs: string;
  activity?: string;
  verb?: string;
  relatedActivities?: boolean;
  /** ISO 8601: ask for statements stored after this, instead of after the stored cursor. */
  since?: string;
  user?: string;
  passwordFile?: string;
  mastery?: string;
}

/**
 * `concordat deliveries pull <id> --lrs URL`: the statements an LRS stored since the last pull (of
 * this delivery from this source), counted into the delivery as `ingest` counts a file. The CLI
 * talks to the LRS, so the password stays on this machine; the node keeps only the cursor.
 */
export async function deliveriesPullCommand(options: PullOptions, io: Io): Promise<void> {
  const mastery = masteryOf(options.mastery);
  if (options.since !== undefined && !Number.isFinite(Date.parse(options.since)))
    throw new CliError(
      `--since '${options.since}': expected an ISO 8601 time, e.g. 2027-02-01T00:00:00Z`,
      ExitCode.Usage,
    );
  if ((options.user === undefined) !== (options.passwordFile === undefined))
    throw new CliError("--user and --password-file go together (Basic auth to the LRS)", ExitCode.Usage);
  const query = {
    endpoint: options.lrs,
    ...(options.activity ? { activity: options.activity } : {}),
    ...(options.verb ? { verb: options.verb } : {}),
    ...(options.relatedActivities ? { relatedActivities: true } : {}),
  };
  let source: string;
  try {
    source = sourceOf(query);
  } catch (error) {
    throw new CliError(`--lrs: ${(error as Error).message}`, ExitCode.Usage);
  }
  const credentials: LrsCredentials | undefined =
    options.user === undefined
      ? undefined
      : { user: options.user, password: (await readText(options.passwordFile as string)).replace(/\r?\n$/, "") };
  const result = await withConnection(options, async (c) => {
    const since = options.since ?? (await c.deliveries.getPullCursor({ delivery: options.id, source })).since;
    const pulled = await pullStatements(query, since, credentials).catch((error: unknown) => {
      throw error instanceof LrsError ? new CliError(error.message, ExitCode.Failure) : error;
    });
    if (pulled.statements.length === 0) return { since, pages: pulled.pages, pulled: 0, ingested: undefined };
    const ingested = await c.deliveries.ingestStatements(
      {
        delivery: message(options),
        statementsJson: JSON.stringify({ statements: pulled.statements }),
        source,
        ...(mastery === undefined ? {} : { mastery }),
      },
      { deadlineMs: 120_000 },
    );
    return { since, pages: pulled.pages, pulled: pulled.statements.length, ingested };
  });
  if (io.json) {
    printJson(io, { source, ...result });
    return;
  }
  const from = result.since ? `stored after ${result.since}` : "all";
  if (!result.ingested) {
    printLine(io, `Nothing new from ${source} (${from}); ${options.id} unchanged`);
    return;
  }
  const r = result.ingested;
  printLine(
    io,
    `Pulled ${result.pulled} statement(s) (${from}, ${result.pages} page(s)): ${r.added} new, ${r.duplicates} seen before${r.voided > 0 ? `, ${r.voided} voiding` : ""}; next pull from ${r.cursor}. ${summary(r.delivery as Delivery)}`,
  );
}

const round1 = (n: number) => Math.round(n * 10) / 10;

/**
 * `concordat deliveries assess <id>`: a delivery's assessments per competency and method, from the
 * command line (`--assessment`), a CSV file (`--file`), or xAPI / cmi5 results (`--xapi` with
 * `--competency` and `--method`).
 */
export async function deliveriesAssessCommand(
  options: ConnectionOptions & {
    id: string;
    assessment?: string[];
    file?: string;
    xapi?: string;
    competency?: string;
    method?: string;
    mastery?: string;
  },
  io: Io,
): Promise<void> {
  const sources = [
    options.assessment?.length ? "--assessment" : "",
    options.file ? "--file" : "",
    options.xapi ? "--xapi" : "",
  ].filter((s) => s !== "");
  if (sources.length !== 1)
    throw new CliError(
      sources.length === 0
        ? "give the assessments: --assessment COMPETENCY:METHOD:ASSESSED:DEMONSTRATED, --file FILE.csv, or --xapi FILE.json with --competency and --method"
        : `give one of ${sources.join(", ")}, not several`,
      ExitCode.Usage,
    );
  if (options.xapi) {
    if (!options.competency || !options.method)
      throw new CliError("--xapi needs --competency ID and --method METHOD (what the results assess)", ExitCode.Usage);
    const mastery = options.mastery === undefined ? 0 : Number(options.mastery);
    if (options.mastery !== undefined && (!Number.isFinite(mastery) || mastery <= 0 || mastery > 1))
      throw new CliError(
        `--mastery '${options.mastery}': expected a scaled score above 0 and at most 1, e.g. 0.8`,
        ExitCode.Usage,
      );
    const json = await readText(options.xapi);
    const result = await withConnection(options, (c) =>
      c.deliveries.ingestAssessment(
        {
          delivery: options.id,
          competency: options.competency as string,
          method: options.method as string,
          mastery,
          statementsJson: json,
        },
        { deadlineMs: 120_000 },
      ),
    );
    if (io.json) printJson(io, result);
    else {
      const a = result.delivery?.assessments.find(
        (x) => x.competency === options.competency?.trim() && x.method === options.method?.trim().toLowerCase(),
      );
      printLine(
        io,
        `Counted ${result.added} new statement(s) (${result.duplicates} seen before, ${result.withoutResult} without a result) into ${options.id}: ${a ? `${a.demonstrated} of ${a.assessed} demonstrated ${a.competency} (${a.method})` : "no assessment"}`,
      );
    }
    return;
  }
  const request = options.file
    ? { delivery: options.id, assessments: [], csv: await readText(options.file) }
    : { delivery: options.id, assessments: parseAssessments(options.assessment ?? []), csv: "" };
  const saved = await withConnection(options, (c) => c.deliveries.recordAssessments(request));
  if (io.json) printJson(io, saved);
  else {
    printLine(io, `Assessments of ${saved.id} (${saved.assessments.length} competency × method):`);
    for (const a of saved.assessments)
      printLine(io, `  ${a.competency} by ${a.method}: ${a.demonstrated} of ${a.assessed} demonstrated it`);
  }
}

/**
 * `concordat deliveries scores <id> --xapi FILE --level reaction|pre|post`: an LMS's questionnaire
 * or its tests before and after, as xAPI scores, into the delivery's level-1 or level-2 figures.
 */
export async function deliveriesScoresCommand(
  options: ConnectionOptions & { id: string; xapi: string; level: string; instrument?: string },
  io: Io,
): Promise<void> {
  const json = await readText(options.xapi);
  const result = await withConnection(options, (c) =>
    c.deliveries.ingestScores(
      { delivery: options.id, level: options.level, instrument: options.instrument ?? "", statementsJson: json },
      { deadlineMs: 120_000 },
    ),
  );
  if (io.json) {
    printJson(io, result);
    return;
  }
  const d = result.delivery;
  const figures =
    options.level.trim().toLowerCase() === "reaction"
      ? `${d?.evaluation?.responses ?? 0} response(s), mean ${d?.evaluation?.meanScore ?? 0}`
      : d?.learning && d.learning.assessed > 0
        ? `${d.learning.assessed} took both tests: mean ${d.learning.preMean} → ${d.learning.postMean}`
        : "no learner has taken both tests yet";
  printLine(
    io,
    `Counted ${result.added} new statement(s) (${result.duplicates} seen before, ${result.withoutScore} without a score) into ${options.id}: ${figures}`,
  );
}

async function readText(file: string): Promise<string> {
  return readFile(file, "utf8").catch((error: NodeJS.ErrnoException) => {
    throw new CliError(`cannot read '${file}': ${error.code ?? error.message}`, ExitCode.Usage);
  });
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

export async function deliveriesShowCommand(
  options: ConnectionOptions & { id: string; hub?: string },
  io: Io,
): Promise<void> {
  const d = await withConnection(options, (c) => c.deliveries.getDelivery({ id: options.id, hub: options.hub ?? "" }));
  if (io.json) {
    printJson(io, d);
    return;
  }
  printLine(io, summary(d));
  for (const g of d.participants)
    printLine(io, `  ${g.category.padEnd(12)} female ${g.female}, male ${g.male}, unspecified ${g.unspecified}`);
  if (d.evaluation && d.evaluation.responses > 0)
    printLine(
      io,
      `  reaction     ${d.evaluation.responses} response(s), mean ${d.evaluation.meanScore}${d.evaluation.instrument ? ` (instrument ${d.evaluation.instrument})` : ""}`,
    );
  for (const a of d.assessments)
    printLine(
      io,
      `  assessed     ${a.competency} by ${a.method}: ${a.demonstrated} of ${a.assessed} demonstrated it${a.assessed > 0 ? ` (${Math.round((a.demonstrated / a.assessed) * 100)} %)` : ""}`,
    );
  if (d.learning && d.learning.assessed > 0)
    printLine(
      io,
      `  learning     ${d.learning.assessed} assessed before and after: mean ${d.learning.preMean} → ${d.learning.postMean} (gain ${round1(d.learning.postMean - d.learning.preMean)})${d.learning.instrument ? ` (instrument ${d.learning.instrument})` : ""}`,
    );
  printLine(io, `  recorded     ${d.recordedAt} by ${d.recordedBy}; ${d.visibility}`);
}
