/**
 * A hub's roster as the CSV file an operator imports (`concordat trainers import FILE`,
 * docs/trainer-files.md), from a fixed seed: the trainers of the availability benchmarks (1-4
 * accreditations, 1-3 languages with CEFR levels, 1-3 regions, a year of availability windows and
 * blackouts) plus the private columns a real export carries: e-mail, phone, sometimes a national id
 * and notes (some with commas, quotes or a line break, which the CSV must quote). Written with the
 * CLI's own writer (`formatTrainerFile`), so it is exactly the format the CLI reads.
 */
import { writeFile } from "node:fs/promises";
import { formatTrainerFile, parseTrainerFile } from "../../cli/trainer-files.js";
import { Trainer } from "../../node/api/generated/concordat/v1/trainers.js";
import { makeFramework, makeHubs, profiles, toDraft, type Hub, type Profile } from "../availability/generate.js";
import { Random } from "../lib/random.js";

const NOTES = [
  "Prefers morning sessions",
  'Co-facilitated the "Train the Trainers" module, 2025',
  "Needs a visa for Schengen countries; passport valid to 2029",
  "Available for remote delivery only, no travel in Q3",
  "Speaks at conferences, good with senior audiences",
  "Former police inspector, 15 years of service",
  "Vegetarian; travels with 2 weeks notice",
  "Mentor for new trainers;\nask the hub coordinator first",
];

/** Plain ASCII for an e-mail address: "Aïcha Traoré" → "aicha.traore". */
function asciiName(name: string): string {
  return name
    .normalize("NFD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z]+/g, ".");
}

function toFileTrainer(p: Profile, random: Random, hub: Hub): Trainer {
  const draft = toDraft(p);
  // As a spreadsheet writes them: whole seconds, no milliseconds.
  const seconds = (r: { start: string; end: string }) => ({
    start: r.start.replace(".000Z", "Z"),
    end: r.end.replace(".000Z", "Z"),
  });
  const digits = (n: number) => Array.from({ length: n }, () => random.int(0, 9)).join("");
  return Trainer.create({
    ...draft,
    availability: draft.availability.map(seconds),
    blackouts: draft.blackouts.map(seconds),
    homeHub: hub.id,
    private: {
      email: `${asciiName(p.displayName)}.${p.id.toLowerCase()}@${random.pick(["example.org", "mail.example.net", "hub.example.com"])}`,
      phone: `+${random.int(20, 299)} ${digits(3)} ${digits(6)}`,
      nationalId: random.chance(0.4) ? `${hub.country}${digits(9)}` : "",
      notes: random.chance(0.3) ? random.pick(NOTES) : "",
    },
  });
}

export interface RosterFile {
  path: string;
  hub: string;
  trainers: number;
  bytes: number;
}

/** Writes `count` trainers of hub `hubId` (the node's own hub) to `path` as CSV with the private columns. */
export async function writeRosterCsv(path: string, hubId: string, count: number, seed = 11): Promise<RosterFile> {
  const framework = makeFramework(seed);
  const hub: Hub = { ...(makeHubs(1)[0] as Hub), id: hubId };
  const random = new Random(seed * 7919);
  const trainers = [...profiles(seed, framework, [hub], count, { probeWindow: true })].map((p) =>
    toFileTrainer(p, random, hub),
  );
  const text = formatTrainerFile(trainers, "csv", { includePrivate: true });
  // The file must read back whole, as the CLI will read it.
  const parsed = parseTrainerFile(text, "csv");
  if (parsed.errors.length > 0 || parsed.rows.length !== count) {
    throw new Error(
      `the generated CSV reads back as ${parsed.rows.length} rows with ${parsed.errors.length} problems: ${JSON.stringify(parsed.errors.slice(0, 3))}`,
    );
  }
  await writeFile(path, text);
  return { path, hub: hubId, trainers: count, bytes: Buffer.byteLength(text) };
}
