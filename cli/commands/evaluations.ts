import type { FollowUp, Indicator } from "../../node/api/generated/concordat/v1/evaluations.js";
import { readFile } from "node:fs/promises";
import { withConnection, type ConnectionOptions } from "../connection.js";
import { CliError, ExitCode } from "../errors.js";
import { printJson, printLine, printTable, type Io } from "../io.js";

/** `concordat evaluations follow-up <delivery>`: a level-3 follow-up of one of this hub's deliveries. */
export async function evaluationsFollowUpCommand(
  options: ConnectionOptions & {
    delivery: string;
    on: string;
    source: string;
    reached: number;
    applying: number;
    instrument?: string;
  },
  io: Io,
): Promise<void> {
  const followUp: FollowUp = {
    delivery: options.delivery,
    conductedOn: options.on,
    source: options.source,
    reached: options.reached,
    applying: options.applying,
    instrument: options.instrument ?? "",
    recordedAt: "",
    recordedBy: "",
    hub: "",
  };
  const saved = await withConnection(options, (c) => c.evaluations.recordFollowUp({ followUp }));
  if (io.json) printJson(io, saved);
  else
    printLine(
      io,
      `Recorded the ${saved.source} follow-up of ${saved.delivery} on ${saved.conductedOn}: ${saved.applying} of ${saved.reached} reached apply it`,
    );
}

/** `concordat evaluations follow-ups import FILE.csv`: a survey's follow-ups, all or nothing. */
export async function evaluationsImportFollowUpsCommand(
  options: ConnectionOptions & { file: string },
  io: Io,
): Promise<void> {
  const csv = await readFile(options.file, "utf8").catch((error: NodeJS.ErrnoException) => {
    throw new CliError(`cannot read '${options.file}': ${error.code ?? error.message}`, ExitCode.Usage);
  });
  const result = await withConnection(options, (c) => c.evaluations.importFollowUps({ csv }));
  if (io.json) printJson(io, result);
  else
    printLine(
      io,
      `Recorded ${result.followUps.length} follow-up(s) of ${new Set(result.followUps.map((f) => f.delivery)).size} delivery(ies)`,
    );
}

export async function evaluationsFollowUpsCommand(
  options: ConnectionOptions & { hub?: string; delivery?: string },
  io: Io,
): Promise<void> {
  const result = await withConnection(options, (c) =>
    c.evaluations.listFollowUps({ hub: options.hub ?? "", delivery: options.delivery ?? "" }),
  );
  if (io.json) {
    printJson(io, result);
    return;
  }
  printLine(io, `${result.followUps.length} follow-up(s)`);
  if (result.followUps.length > 0)
    printTable(
      io,
      ["delivery", "conducted", "source", "reached", "applying", "instrument"],
      result.followUps.map((f) => [
        f.delivery,
        f.conductedOn,
        f.source,
        String(f.reached),
        String(f.applying),
        f.instrument || "-",
      ]),
    );
}

/** `concordat evaluations due`: the follow-ups that fall due, so that none is forgotten. */
export async function evaluationsDueCommand(
  options: ConnectionOptions & { at?: string; within?: number },
  io: Io,
): Promise<void> {
  const result = await withConnection(options, (c) =>
    c.evaluations.listDueFollowUps({ at: options.at ?? "", withinDays: options.within ?? 0 }),
  );
  if (io.json) {
    printJson(io, result);
    return;
  }
  printLine(
    io,
    `${result.due.length} follow-up(s) due by ${result.at}${options.within ? ` + ${options.within} days` : ""}`,
  );
  if (result.due.length > 0)
    printTable(
      io,
      ["delivery", "module", "ended", "due", "status"],
      result.due.map((d) => [
        d.delivery,
        d.module,
        d.end,
        d.due,
        d.overdueDays > 0
          ? `${d.overdueDays} days overdue`
          : d.overdueDays === 0
            ? "due today"
            : `in ${-d.overdueDays} days`,
      ]),
    );
}

/** `concordat evaluations indicator <name>`: a level-4 figure for a period, with its source. */
export async function evaluationsIndicatorCommand(
  options: ConnectionOptions & { indicator: string; period: string; value: number; unit: string; source: string },
  io: Io,
): Promise<void> {
  const indicator: Indicator = {
    indicator: options.indicator,
    period: options.period,
    from: "",
    to: "",
    value: options.value,
    unit: options.unit,
    source: options.source,
    recordedAt: "",
    recordedBy: "",
    hub: "",
  };
  const saved = await withConnection(options, (c) => c.evaluations.recordIndicator({ indicator }));
  if (io.json) printJson(io, saved);
  else
    printLine(
      io,
      `Recorded ${saved.indicator} ${saved.from}..${saved.to}: ${saved.value} ${saved.unit} (${saved.source})`,
    );
}

export async function evaluationsIndicatorsCommand(
  options: ConnectionOptions & { hub?: string },
  io: Io,
): Promise<void> {
  const result = await withConnection(options, (c) => c.evaluations.listIndicators({ hub: options.hub ?? "" }));
  if (io.json) {
    printJson(io, result);
    return;
  }
  printLine(io, `${result.indicators.length} indicator figure(s)`);
  if (result.indicators.length > 0)
    printTable(
      io,
      ["indicator", "from", "to", "value", "unit", "source"],
      result.indicators.map((i) => [i.indicator, i.from, i.to, String(i.value), i.unit, i.source]),
    );
}
