/**
 * `concordat grievances …`: the hub's grievance register (docs/grievances.md). What other hubs see
 * of a grievance is codes and days; who complained and what they said are shown only here, to this
 * hub's operators (`show`, `list --private`).
 */
import type { Grievance, GrievanceCount, GrievanceFigures } from "../../node/api/generated/concordat/v1/grievances.js";
import { withConnection, type ConnectionOptions } from "../connection.js";
import { CliError, ExitCode } from "../errors.js";
import { printJson, printLine, printTable, type Io } from "../io.js";

/** A grievance as `--json` prints it: empty steps left out. */
function shown(g: Grievance): Record<string, unknown> {
  return Object.fromEntries(Object.entries(g).filter(([, v]) => v !== "" && v !== undefined));
}

function days(value: string | undefined, field: string): number {
  if (value === undefined) return 0;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new CliError(`${field} '${value}': expected a whole number of days (1 or more)`, ExitCode.Usage);
  return n;
}

export async function grievancesReceiveCommand(
  options: ConnectionOptions & {
    category: string;
    source: string;
    receivedOn?: string;
    acknowledgeWithin?: string;
    resolveWithin?: string;
    name?: string;
    contact?: string;
    anonymous?: boolean;
    description: string;
    delivery?: string;
    trainer?: string;
    module?: string;
  },
  io: Io,
): Promise<void> {
  const saved = await withConnection(options, (c) =>
    c.grievances.receive({
      category: options.category,
      source: options.source,
      receivedOn: options.receivedOn ?? "",
      acknowledgeWithinDays: days(options.acknowledgeWithin, "--acknowledge-within"),
      resolveWithinDays: days(options.resolveWithin, "--resolve-within"),
      complainant: {
        name: options.name ?? "",
        contact: options.contact ?? "",
        anonymous: options.anonymous === true,
      },
      description: options.description,
      about: { delivery: options.delivery ?? "", trainer: options.trainer ?? "", module: options.module ?? "" },
    }),
  );
  if (io.json) printJson(io, shown(saved));
  else
    printLine(
      io,
      `Received grievance ${saved.id} (${saved.category}, from ${saved.source}) on ${saved.receivedOn}: acknowledge by ${saved.acknowledgeBy}, resolve by ${saved.resolveBy}`,
    );
}

export async function grievancesAcknowledgeCommand(
  options: ConnectionOptions & { id: string; on?: string },
  io: Io,
): Promise<void> {
  const g = await withConnection(options, (c) => c.grievances.acknowledge({ id: options.id, on: options.on ?? "" }));
  if (io.json) printJson(io, shown(g));
  else printLine(io, `Grievance ${g.id} acknowledged on ${g.acknowledgedOn} (due by ${g.acknowledgeBy})`);
}

export async function grievancesInvestigateCommand(
  options: ConnectionOptions & { id: string; on?: string; note?: string },
  io: Io,
): Promise<void> {
  const g = await withConnection(options, (c) =>
    c.grievances.investigate({ id: options.id, on: options.on ?? "", note: options.note ?? "" }),
  );
  if (io.json) printJson(io, shown(g));
  else printLine(io, `Grievance ${g.id}: investigation started on ${g.investigationStartedOn}`);
}

export async function grievancesResolveCommand(
  options: ConnectionOptions & { id: string; on?: string; outcome: string; note?: string },
  io: Io,
): Promise<void> {
  const g = await withConnection(options, (c) =>
    c.grievances.resolve({ id: options.id, on: options.on ?? "", outcome: options.outcome, note: options.note ?? "" }),
  );
  if (io.json) printJson(io, shown(g));
  else
    printLine(
      io,
      `Grievance ${g.id} resolved on ${g.resolvedOn}: ${g.outcome} (${g.resolvedOn > g.resolveBy ? `late: due by ${g.resolveBy}` : `due by ${g.resolveBy}`})`,
    );
}

export async function grievancesListCommand(
  options: ConnectionOptions & { hub?: string; overdue?: boolean; at?: string; private?: boolean },
  io: Io,
): Promise<void> {
  const { hub, grievances } = await withConnection(options, (c) =>
    c.grievances.list({
      hub: options.hub ?? "",
      overdue: options.overdue === true,
      at: options.at ?? "",
      withPrivate: options.private === true,
    }),
  );
  if (io.json) {
    printJson(io, { hub, grievances: grievances.map(shown) });
    return;
  }
  printLine(io, `${grievances.length} grievance(s) at ${hub}${options.overdue ? " past a due date" : ""}`);
  if (grievances.length === 0) return;
  const withPrivate = grievances.some((g) => g.private !== undefined);
  printTable(
    io,
    [
      "id",
      "category",
      "source",
      "status",
      "received",
      "acknowledge by",
      "resolve by",
      "outcome",
      ...(withPrivate ? ["complainant"] : []),
    ],
    grievances.map((g) => [
      g.id,
      g.category,
      g.source,
      g.status,
      g.receivedOn,
      g.acknowledgedOn ? `${g.acknowledgeBy} (done ${g.acknowledgedOn})` : g.acknowledgeBy,
      g.resolvedOn ? `${g.resolveBy} (done ${g.resolvedOn})` : g.resolveBy,
      g.outcome || "-",
      ...(withPrivate ? [complainantOf(g)] : []),
    ]),
  );
}

function complainantOf(g: Grievance): string {
  const c = g.private?.complainant;
  if (!c) return "-";
  const who = c.name || "(no name)";
  return `${who}${c.anonymous ? " [anonymity asked]" : ""}`;
}

export async function grievancesShowCommand(options: ConnectionOptions & { id: string }, io: Io): Promise<void> {
  const g = await withConnection(options, (c) => c.grievances.get({ id: options.id, withPrivate: true }));
  if (io.json) {
    printJson(io, shown(g));
    return;
  }
  printLine(io, `Grievance ${g.id} at ${g.hub}: ${g.category}, from ${g.source}, ${g.status}`);
  printLine(io, `  received      ${g.receivedOn}`);
  printLine(io, `  acknowledged  ${g.acknowledgedOn || "-"} (due by ${g.acknowledgeBy})`);
  printLine(io, `  investigation ${g.investigationStartedOn || "-"}`);
  printLine(io, `  resolved      ${g.resolvedOn || "-"} (due by ${g.resolveBy})${g.outcome ? `: ${g.outcome}` : ""}`);
  const p = g.private;
  if (!p) return;
  printLine(io, "Kept at this hub only:");
  printLine(
    io,
    `  complainant   ${p.complainant?.name || "(no name)"}${p.complainant?.contact ? `, ${p.complainant.contact}` : ""}${p.complainant?.anonymous ? " (asked for anonymity)" : ""}`,
  );
  const about = [
    p.about?.delivery ? `delivery ${p.about.delivery}` : "",
    p.about?.trainer ? `trainer ${p.about.trainer}` : "",
    p.about?.module ? `module ${p.about.module}` : "",
  ].filter((s) => s !== "");
  if (about.length > 0) printLine(io, `  about         ${about.join(", ")}`);
  printLine(io, `  received by   ${p.receivedBy}`);
  printLine(io, "  description:");
  for (const line of p.description.split("\n")) printLine(io, `    ${line}`);
  for (const n of p.notes) {
    printLine(io, `  note (${n.step}, ${n.at}, ${n.by}):`);
    for (const line of n.text.split("\n")) printLine(io, `    ${line}`);
  }
}

const nonZero = (counts: GrievanceCount[]) =>
  counts
    .filter((c) => c.count > 0)
    .map((c) => `${c.key} ${c.count}`)
    .join(", ") || "-";

export async function grievancesFiguresCommand(
  options: ConnectionOptions & { hub?: string; at?: string },
  io: Io,
): Promise<void> {
  const f: GrievanceFigures = await withConnection(options, (c) =>
    c.grievances.figures({ hub: options.hub ?? "", at: options.at ?? "" }),
  );
  if (io.json) {
    printJson(io, {
      ...f,
      medianDaysToResolution: f.resolved > 0 ? f.medianDaysToResolution : null,
      maxDaysToResolution: f.resolved > 0 ? f.maxDaysToResolution : null,
    });
    return;
  }
  printLine(io, `Grievances at ${f.hub} as of ${f.at}: ${f.total} received, ${f.open} open`);
  printTable(
    io,
    ["figure", "value"],
    [
      ["by category", nonZero(f.byCategory)],
      ["by source", nonZero(f.bySource)],
      ["by status", nonZero(f.byStatus)],
      ["by outcome", nonZero(f.byOutcome)],
      ["overdue: acknowledgement", String(f.overdueAcknowledgement)],
      ["overdue: resolution", String(f.overdueResolution)],
      ["acknowledged late", String(f.lateAcknowledgement)],
      ["resolved late", String(f.lateResolution)],
      ["resolved", String(f.resolved)],
      ["median days to resolution", f.resolved > 0 ? String(f.medianDaysToResolution) : "-"],
      ["max days to resolution", f.resolved > 0 ? String(f.maxDaysToResolution) : "-"],
    ],
  );
}
