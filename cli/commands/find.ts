import { writeFile } from "node:fs/promises";
import type { HubAnswer } from "../../node/api/generated/concordat/v1/availability.js";
import { withConnection, type ConnectionOptions } from "../connection.js";
import { apiRange } from "../date-flags.js";
import { formatRange } from "../day-ranges.js";
import { printJson, printLine, printTable, printText, type Io } from "../io.js";

const CEFR = ["A1", "A2", "B1", "B2", "C1", "C2"];

export interface FindOptions extends ConnectionOptions {
  competency?: string;
  module?: string[];
  language?: string;
  region?: string;
  hub?: string;
  from: string;
  to: string;
  days?: number;
  pageSize?: number;
  pageToken?: string;
  deliveredModule?: string;
  servedIn?: string;
}

/** `trainers find`: accredited, available trainers across the federation, ranked. */
export async function trainersFindCommand(options: FindOptions, io: Io): Promise<void> {
  const [language = "", minLevel = ""] = (options.language ?? "").split(":");
  const range = apiRange(options.from, options.to);
  const result = await withConnection(options, (c) =>
    c.availability.findAvailableTrainers({
      competency: options.competency ?? "",
      moduleCompetencies: options.module ?? [],
      language,
      minLevel,
      region: options.region ?? "",
      hub: options.hub ?? "",
      from: range.from,
      to: range.to,
      minConsecutiveDays: options.days ?? 0,
      pageSize: options.pageSize ?? 0,
      pageToken: options.pageToken ?? "",
      deliveredModule: options.deliveredModule ?? "",
      servedIn: options.servedIn ?? "",
    }),
  );
  if (io.json) {
    printJson(io, result);
    return;
  }
  const served = [
    options.deliveredModule ? `who delivered ${options.deliveredModule} before` : "",
    options.servedIn ? `who served in ${options.servedIn.toUpperCase()}` : "",
  ].filter((x) => x !== "");
  printLine(
    io,
    `${result.total} trainer(s) ${served.length > 0 ? `${served.join(" and ")}, ` : ""}${options.days ? `with ${options.days} free day(s) in a row` : "free for the whole period"} ${formatRange(range.from, range.to)}:`,
  );
  if (result.trainers.length > 0) {
    printTable(
      io,
      ["hub", "trainer", "name", "coverage", "conflicts", "level"],
      result.trainers.map((t) => [
        t.hub,
        t.trainerId,
        t.displayName,
        `${Math.round(t.coverage * 100)}%`,
        String(t.conflicts),
        CEFR[t.proficiency] ?? "-",
      ]),
    );
  }
  const byCompetency = Boolean(options.competency) || (options.module ?? []).length > 0;
  if (result.total === 0 && byCompetency) {
    const what = options.competency ? "this competency" : "these competencies";
    if (result.claimedUnverified > 0) {
      printLine(
        io,
        `${result.claimedUnverified} trainer(s) list accreditations for ${what} in their roster record, but none holds a verified credential for it: see \`concordat credentials issue\` (and \`credentials attach\` at the trainer's home hub).`,
      );
    } else {
      printLine(
        io,
        `Only verified credentials count for ${what}, never the accreditations a roster record lists: see \`concordat credentials issue\`.`,
      );
    }
  }
  // Every hub the answer drew on: "nobody matches" reads apart from "nothing received yet".
  for (const h of result.hubs) printLine(io, `  ${h.hub}: ${hubLine(h)}`);
  const silent = result.hubs.filter((h) => !h.verified).map((h) => h.hub);
  if (silent.length > 0)
    printLine(io, `Nothing verified yet from ${silent.join(", ")}: their trainers are not in this answer.`);
  if (result.nextPageToken) printLine(io, `More: --page-token ${result.nextPageToken}`);
}

function hubLine(h: HubAnswer): string {
  if (!h.verified) return "nothing verified yet (no signed checkpoint of it received)";
  const count = `${h.trainers} trainer(s) known`;
  if (h.checkpointSeq === 0) return `this hub, live; ${count}`;
  return `as of checkpoint ${h.checkpointSeq} (${h.checkpointTime}); ${count}${h.stale ? " — STALE" : ""}`;
}

/** `trainers freebusy ID`: iCalendar VFREEBUSY (busy periods only, no engagement details). */
export async function trainersFreeBusyCommand(
  options: ConnectionOptions & { id: string; hub?: string; from: string; to: string; out?: string },
  io: Io,
): Promise<void> {
  const range = apiRange(options.from, options.to);
  const result = await withConnection(options, (c) =>
    c.availability.trainerFreeBusy({
      hub: options.hub ?? "",
      trainerId: options.id,
      from: range.from,
      to: range.to,
    }),
  );
  if (options.out) {
    await writeFile(options.out, result.icalendar);
    if (io.json) printJson(io, { out: options.out });
    else printLine(io, `Wrote the free/busy of ${options.id} to ${options.out}`);
  } else printText(io, result.icalendar);
}
