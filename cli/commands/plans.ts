import { readFile } from "node:fs/promises";
import { extname } from "node:path";
import type {
  FederationPlanResponse,
  Plan,
  PlanActualRow,
  PlanLines,
} from "../../node/api/generated/concordat/v1/plans.js";
import { withConnection, type ConnectionOptions } from "../connection.js";
import { CliError, ExitCode } from "../errors.js";
import { printJson, printLine, printTable, type Io } from "../io.js";

/** A year argument: four digits (the node checks the range). */
export function yearArgument(value: string): number {
  if (!/^\d{4}$/.test(value.trim())) throw new CliError(`'${value}' is not a year (e.g. 2027)`, ExitCode.Usage);
  return Number(value.trim());
}

const money = (n: number) => n.toLocaleString("en", { minimumFractionDigits: 0, maximumFractionDigits: 2 });

function printPlan(io: Io, p: Plan): void {
  const state =
    p.status === "signed"
      ? `signed version ${p.version}, by ${p.signedBy} at ${p.signedAt}`
      : `draft of version ${p.version}, not signed (last changed by ${p.updatedBy} at ${p.updatedAt})`;
  printLine(io, `Plan ${p.year} of ${p.hub}: ${state}`);
  if (p.signedVersions.length > 0) printLine(io, `Signed versions: ${p.signedVersions.join(", ")}`);
  printLine(io, `Deliveries planned: ${p.deliveries.reduce((s, d) => s + d.count, 0)}`);
  if (p.deliveries.length > 0)
    printTable(
      io,
      ["module", "quarter", "country", "language", "count"],
      p.deliveries.map((d) => [d.module, `Q${d.quarter}`, d.country, d.language, String(d.count)]),
    );
  printLine(io, `Trainers needed: ${p.trainers.reduce((s, t) => s + t.count, 0)}`);
  if (p.trainers.length > 0)
    printTable(
      io,
      ["competency", "language", "count"],
      p.trainers.map((t) => [t.competency, t.language, String(t.count)]),
    );
  printLine(io, `Support needed: ${p.support.length} line(s)`);
  if (p.support.length > 0)
    printTable(
      io,
      ["kind", "amount", "currency", "note"],
      p.support.map((s) => [s.kind, money(s.amount), s.currency, s.note]),
    );
  if (p.status === "draft") printLine(io, `Sign it with: concordat plans sign ${p.year}`);
}

/** `concordat plans set YEAR --file plan.json|plan.csv`: the year's draft, whole, from a file. */
export async function plansSetCommand(
  options: ConnectionOptions & { year: number; file: string },
  io: Io,
): Promise<void> {
  const text = await readFile(options.file, "utf8").catch((error: NodeJS.ErrnoException) => {
    throw new CliError(`cannot read '${options.file}': ${error.code ?? error.message}`, ExitCode.Usage);
  });
  const csv = extname(options.file).toLowerCase() === ".csv" || !text.trimStart().startsWith("{");
  const plan = await withConnection(options, (c) =>
    c.plans.setPlan({ year: options.year, json: csv ? "" : text, csv: csv ? text : "" }),
  );
  if (io.json) printJson(io, plan);
  else printPlan(io, plan);
}

/** `key=value,key=value` (a `note=` takes the rest of the text, commas included). */
function pairs(flag: string, text: string): Record<string, string> {
  const out: Record<string, string> = {};
  let rest = text;
  while (rest.trim() !== "") {
    const eq = rest.indexOf("=");
    if (eq < 0) throw new CliError(`${flag} '${text}': expected key=value pairs separated by commas`, ExitCode.Usage);
    const key = rest.slice(0, eq).trim().toLowerCase();
    rest = rest.slice(eq + 1);
    const comma = key === "note" ? -1 : rest.indexOf(",");
    out[key] = (comma < 0 ? rest : rest.slice(0, comma)).trim();
    rest = comma < 0 ? "" : rest.slice(comma + 1);
  }
  return out;
}

function numberOf(flag: string, field: string, value: string | undefined, quarter = false): number {
  if (value === undefined || value === "") return 0; // the node names what is missing
  const v = quarter ? value.replace(/^[Qq]/, "") : value;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new CliError(`${flag}: ${field} '${value}' is not a number`, ExitCode.Usage);
  return n;
}

function unknownKeys(flag: string, p: Record<string, string>, known: readonly string[]): void {
  const extra = Object.keys(p).filter((k) => !known.includes(k));
  if (extra.length > 0)
    throw new CliError(`${flag}: ${extra.join(", ")} is not one of ${known.join(", ")}`, ExitCode.Usage);
}

/** The lines given with --delivery, --trainers and --support (as the API takes them). */
export function linesOf(options: { delivery?: string[]; trainers?: string[]; support?: string[] }): PlanLines {
  return {
    deliveries: (options.delivery ?? []).map((text) => {
      const p = pairs("--delivery", text);
      unknownKeys("--delivery", p, ["module", "quarter", "country", "language", "count"]);
      return {
        module: p.module ?? "",
        quarter: numberOf("--delivery", "quarter", p.quarter, true),
        country: p.country ?? "",
        language: p.language ?? "",
        count: numberOf("--delivery", "count", p.count),
        competencies: [],
      };
    }),
    trainers: (options.trainers ?? []).map((text) => {
      const p = pairs("--trainers", text);
      unknownKeys("--trainers", p, ["competency", "language", "count"]);
      return {
        competency: p.competency ?? "",
        language: p.language ?? "",
        count: numberOf("--trainers", "count", p.count),
      };
    }),
    support: (options.support ?? []).map((text) => {
      const p = pairs("--support", text);
      unknownKeys("--support", p, ["kind", "amount", "currency", "note"]);
      return {
        kind: p.kind ?? "",
        amount: numberOf("--support", "amount", p.amount),
        currency: p.currency ?? "",
        note: p.note ?? "",
      };
    }),
  };
}

/** `concordat plans add YEAR --delivery … --trainers … --support …`: lines added to the draft. */
export async function plansAddCommand(
  options: ConnectionOptions & { year: number; delivery?: string[]; trainers?: string[]; support?: string[] },
  io: Io,
): Promise<void> {
  const lines = linesOf(options);
  if (lines.deliveries.length + lines.trainers.length + lines.support.length === 0)
    throw new CliError("nothing to add: give --delivery, --trainers or --support", ExitCode.Usage);
  const plan = await withConnection(options, (c) => c.plans.addPlanLines({ year: options.year, lines }));
  if (io.json) printJson(io, plan);
  else printPlan(io, plan);
}

/** `concordat plans sign YEAR`: signs the draft as a new version; other hubs see it from now on. */
export async function plansSignCommand(options: ConnectionOptions & { year: number }, io: Io): Promise<void> {
  const plan = await withConnection(options, (c) => c.plans.signPlan({ year: options.year }));
  if (io.json) printJson(io, plan);
  else
    printLine(
      io,
      `Signed version ${plan.version} of the ${plan.year} plan of ${plan.hub} at ${plan.signedAt}: other hubs see it at the next exchange`,
    );
}

/** `concordat plans show [YEAR] [--hub H]`. */
export async function plansShowCommand(
  options: ConnectionOptions & { year?: number; hub?: string },
  io: Io,
): Promise<void> {
  const plan = await withConnection(options, (c) =>
    c.plans.getPlan({ year: options.year ?? 0, hub: options.hub ?? "" }),
  );
  if (io.json) printJson(io, plan);
  else printPlan(io, plan);
}

function printFederation(io: Io, f: FederationPlanResponse): void {
  printLine(io, `Federation plan ${f.year}: ${f.plans.length} signed plan(s)`);
  if (f.plans.length > 0)
    printTable(
      io,
      ["hub", "version", "signed", "by", "deliveries"],
      f.plans.map((p) => [p.hub, String(p.version), p.signedAt, p.signedBy, String(p.deliveries)]),
    );
  if (f.missing.length > 0) printLine(io, `No signed plan from: ${f.missing.join(", ")}`);
  printLine(io, `Overlaps (the same module for the same country): ${f.overlaps.length}`);
  if (f.overlaps.length > 0)
    printTable(
      io,
      ["module", "country", "hubs"],
      f.overlaps.map((o) => [
        o.module,
        o.country,
        o.hubs.map((h) => `${h.hub} (${h.count} in ${h.quarters.map((q) => `Q${q}`).join(", ")})`).join("; "),
      ]),
    );
  printLine(io, `Gaps (core competencies no plan covers): ${f.gaps.length}`);
  if (f.gaps.length > 0)
    printTable(
      io,
      ["competency", "code"],
      f.gaps.map((g) => [g.competency, g.code]),
    );
  printLine(io, "Support requested");
  if (f.support.length > 0)
    printTable(
      io,
      ["kind", "currency", "amount", "hubs"],
      f.support.map((s) => [s.kind, s.currency, money(s.amount), s.hubs.join(", ")]),
    );
  for (const r of f.rejected) printLine(io, `Not counted: ${r.hub}'s plan ${r.key}: ${r.problem}`);
}

/** `concordat plans federation YEAR`: every member's signed plan, overlaps, gaps, support totals. */
export async function plansFederationCommand(options: ConnectionOptions & { year: number }, io: Io): Promise<void> {
  const f = await withConnection(options, (c) => c.plans.federationPlan({ year: options.year }));
  if (io.json) printJson(io, f);
  else printFederation(io, f);
}

function printActual(io: Io, year: number, rows: PlanActualRow[]): void {
  printLine(io, `Plan beside actual, ${year} (deliveries counted in the quarter they start)`);
  if (rows.length === 0) {
    printLine(io, "Nothing planned or delivered.");
    return;
  }
  printTable(
    io,
    ["hub", "quarter", "module", "planned", "actual", "difference", "plan version"],
    rows.map((r) => [
      r.hub,
      `Q${r.quarter}`,
      r.module,
      String(r.planned),
      String(r.actual),
      r.difference > 0 ? `+${r.difference}` : String(r.difference),
      String(r.planVersion),
    ]),
  );
}

/** `concordat plans actual YEAR [--hub H]`: planned deliveries beside those recorded. */
export async function plansActualCommand(
  options: ConnectionOptions & { year: number; hub?: string },
  io: Io,
): Promise<void> {
  const { rows } = await withConnection(options, (c) =>
    c.plans.planVsActual({ year: options.year, hub: options.hub ?? "" }),
  );
  if (io.json) printJson(io, { year: options.year, rows });
  else printActual(io, options.year, rows);
}
