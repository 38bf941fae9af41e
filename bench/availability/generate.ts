/**
 * Realistic, deterministic rosters and queries for the availability benchmarks: a competency
 * framework of ~60 items in a tree (isChildOf, with a few items under two parents), trainers with
 * 1-4 accreditations skewed towards popular competencies, 1-3 languages with CEFR levels, 1-3
 * regions (the hub's country, its ISO 3166-2 subdivisions, a neighbour), a year of declared
 * availability with blackouts and engagements; and a mix of the queries operators ask.
 */
import {
  DAY_MS,
  type AvailabilityIndexInit,
  type AvailabilityQuery,
  type CompetencyTree,
  type Range,
  type TrainerRecord,
} from "../../node/query/index.js";
import type { RawTrainerDraft } from "../../node/roster/trainer.js";
import { Random, zipf } from "../lib/random.js";

/** The year trainers declare availability for, and queries ask about. */
export const YEAR_START = Date.UTC(2027, 0, 1);
export const YEAR_END = Date.UTC(2028, 0, 1);

/**
 * The index's clock: "today" is the start of the generated year, so its time buckets (4 weeks back,
 * a year ahead) hold the year the trainers declare and the queries ask about, as a node's would
 * for the coming year.
 */
export const BENCH_INDEX_INIT: AvailabilityIndexInit = { now: () => YEAR_START };

/** A window every generated trainer declares free (no blackout, no engagement): a query on it counts everyone. */
export const PROBE: Range = { start: Date.UTC(2028, 0, 10), end: Date.UTC(2028, 0, 12) };
const PROBE_WINDOW: Range = { start: Date.UTC(2028, 0, 8), end: Date.UTC(2028, 0, 20) };

// ---------------------------------------------------------------------------------------------
// the framework

const DOMAINS = ["hr", "gen", "gov", "pol", "bor", "jus", "ddr"] as const;

export interface Framework {
  /** Every item, roots first. */
  items: string[];
  /** Items by depth: 0 domains, 1 competencies, 2 sub-competencies. */
  byDepth: [string[], string[], string[]];
  parents: Map<string, string[]>;
  tree: CompetencyTree;
}

export function makeFramework(seed: number): Framework {
  const random = new Random(seed);
  const parents = new Map<string, string[]>();
  const byDepth: [string[], string[], string[]] = [[], [], []];
  for (const domain of DOMAINS) {
    byDepth[0].push(domain);
    const competencies = random.int(2, 4);
    for (let c = 1; c <= competencies; c += 1) {
      const competency = `${domain}-${c}`;
      byDepth[1].push(competency);
      parents.set(competency, [domain]);
      const subs = random.int(0, 3);
      for (let s = 1; s <= subs; s += 1) {
        const sub = `${competency}.${s}`;
        byDepth[2].push(sub);
        parents.set(sub, [competency]);
      }
    }
  }
  // A few cross-cutting items under a second parent in another domain (e.g. gender in policing).
  for (let i = 0; i < 4; i += 1) {
    const sub = random.pick(byDepth[2]);
    const other = random.pick(byDepth[1].filter((c) => !sub.startsWith(`${c}.`)));
    const list = parents.get(sub) as string[];
    if (!list.includes(other)) list.push(other);
  }
  return {
    items: [...byDepth[0], ...byDepth[1], ...byDepth[2]],
    byDepth,
    parents,
    tree: { parents: (c) => parents.get(c) ?? [] },
  };
}

// ---------------------------------------------------------------------------------------------
// hubs

/** Countries where SSR training hubs work (ISO 3166-1 alpha-2), with a main language. */
const COUNTRIES: ReadonlyArray<readonly [string, string]> = [
  ["KE", "en"],
  ["SN", "fr"],
  ["JO", "ar"],
  ["UA", "uk"],
  ["UG", "en"],
  ["ML", "fr"],
  ["LB", "ar"],
  ["CO", "es"],
  ["NG", "en"],
  ["CI", "fr"],
  ["IQ", "ar"],
  ["GT", "es"],
  ["ET", "en"],
  ["BF", "fr"],
  ["TN", "ar"],
  ["MZ", "pt"],
  ["GH", "en"],
  ["NE", "fr"],
  ["EG", "ar"],
  ["GE", "ka"],
  ["RW", "en"],
  ["CM", "fr"],
  ["MA", "ar"],
  ["AO", "pt"],
  ["TZ", "sw"],
  ["CD", "fr"],
  ["PS", "ar"],
  ["HN", "es"],
  ["SO", "so"],
  ["TD", "fr"],
  ["LY", "ar"],
  ["BA", "bs"],
  ["SS", "en"],
  ["CF", "fr"],
  ["YE", "ar"],
  ["MD", "ro"],
  ["LR", "en"],
  ["GN", "fr"],
  ["SD", "ar"],
  ["AM", "hy"],
  ["SL", "en"],
  ["BJ", "fr"],
  ["MR", "ar"],
  ["TL", "pt"],
  ["ZM", "en"],
  ["TG", "fr"],
  ["AF", "fa"],
  ["SV", "es"],
  ["MW", "en"],
  ["HT", "fr"],
];

/** Second languages, most common first (with some regional variants, which match by primary subtag). */
const SECOND_LANGUAGES = ["en", "fr", "ar", "es", "pt", "ru", "en-GB", "fr-CA", "sw", "pt-BR", "de", "es-419"];

export interface Hub {
  /** Its place in the federation (0-based): seeds its trainers. */
  index: number;
  id: string;
  country: string;
  language: string;
  /** ISO 3166-2 subdivisions (synthetic numbers) of its country. */
  subdivisions: string[];
  neighbours: string[];
}

export function makeHubs(count: number): Hub[] {
  return Array.from({ length: count }, (_, i) => {
    const [country, language] = COUNTRIES[i % COUNTRIES.length] as readonly [string, string];
    const neighbours = [
      COUNTRIES[(i + 1) % COUNTRIES.length],
      COUNTRIES[(i + COUNTRIES.length - 1) % COUNTRIES.length],
      COUNTRIES[(i + 4) % COUNTRIES.length],
    ].map((c) => (c as readonly [string, string])[0]);
    return {
      index: i,
      id: `hub-${String(i + 1).padStart(2, "0")}`,
      country,
      language,
      subdivisions: Array.from({ length: 8 }, (_, s) => `${country}-${String(s + 1).padStart(2, "0")}`),
      neighbours,
    };
  });
}

// ---------------------------------------------------------------------------------------------
// trainers

/** A trainer as generated: times in UTC milliseconds, convertible to an index record or a roster draft. */
export interface Profile {
  hub: string;
  id: string;
  displayName: string;
  languages: Array<{ tag: string; level: string }>;
  regions: string[];
  availability: Range[];
  blackouts: Range[];
  busy: Range[];
  accreditations: Array<{ scheme: string; competency: string; level: string; validFrom: number; validUntil: number }>;
}

const day = (n: number) => n * DAY_MS;
const FIRST_NAMES = [
  "Amina",
  "Jean",
  "Layla",
  "Olena",
  "Kwame",
  "Fatou",
  "Omar",
  "María",
  "Chidi",
  "Aïcha",
  "Yusuf",
  "Ana",
  "Tigist",
  "Idrissa",
  "Nour",
  "Pedro",
  "Grace",
  "Moussa",
  "Hana",
  "Nino",
];
const LAST_NAMES = [
  "Odhiambo",
  "Diallo",
  "Haddad",
  "Kovalenko",
  "Mensah",
  "Ndiaye",
  "Khalil",
  "Restrepo",
  "Okafor",
  "Traoré",
  "Saleh",
  "Silva",
  "Bekele",
  "Sawadogo",
  "Aziz",
  "Lopes",
  "Achieng",
  "Keita",
  "Mansour",
  "Beridze",
];

/** Ranges of whole (sometimes half) days: a realistic declared calendar. */
function dayRange(random: Random, from: number, minDays: number, maxDays: number): Range {
  const half = random.chance(0.1) ? DAY_MS / 2 : 0;
  const start = from + half;
  return { start, end: start + day(random.int(minDays, maxDays)) };
}

export function makeProfile(
  random: Random,
  framework: Framework,
  hub: Hub,
  n: number,
  options: { probeWindow: boolean },
): Profile {
  // Accreditations: mostly competencies, some whole domains, some sub-competencies; popular ones more often.
  const accreditations: Profile["accreditations"] = [];
  const count = random.weighted([
    [1, 35],
    [2, 35],
    [3, 20],
    [4, 10],
  ] as const);
  const seen = new Set<string>();
  while (accreditations.length < count) {
    const depth = random.weighted([
      [0, 15],
      [1, 55],
      [2, 30],
    ] as const);
    const competency = random.weighted(zipf(framework.byDepth[depth], 0.8));
    if (seen.has(competency)) continue;
    seen.add(competency);
    const validFrom = Date.UTC(2024, 0, 1) + day(random.int(0, 3 * 365 + 180));
    const years = random.weighted([
      [2, 30],
      [3, 60],
      [5, 10],
    ] as const);
    accreditations.push({
      scheme: `${competency.split("-")[0]}-trainer`,
      competency,
      level: String(random.int(1, 3)),
      validFrom,
      validUntil: validFrom + day(365 * years),
    });
  }
  // Languages: the hub's, usually well; often a second, sometimes a third.
  const languages: Profile["languages"] = [
    {
      tag: hub.language,
      level: random.weighted([
        ["C2", 50],
        ["C1", 35],
        ["B2", 15],
      ] as const),
    },
  ];
  const more = random.weighted([
    [0, 35],
    [1, 45],
    [2, 20],
  ] as const);
  for (const tag of random
    .sample(
      SECOND_LANGUAGES.filter((t) => !t.startsWith(hub.language)),
      6,
    )
    .slice(0, more)) {
    languages.push({
      tag,
      level: random.weighted([
        ["A2", 10],
        ["B1", 25],
        ["B2", 30],
        ["C1", 25],
        ["C2", 10],
      ] as const),
    });
  }
  // Regions: the country or some of its subdivisions, sometimes a neighbour.
  const regions = random.chance(0.5) ? [hub.country] : random.sample(hub.subdivisions, random.int(1, 2));
  if (random.chance(0.25)) regions.push(random.pick(hub.neighbours));
  // A year of declared windows (2-10 weeks, with gaps), a few blackouts, some engagements.
  const availability: Range[] = [];
  let cursor = YEAR_START + day(random.int(0, 20));
  while (cursor < YEAR_END) {
    const window = dayRange(random, cursor, 14, 70);
    if (window.start < YEAR_END) availability.push({ start: window.start, end: Math.min(window.end, YEAR_END) });
    cursor = window.end + day(random.int(3, 30));
  }
  if (options.probeWindow) availability.push(PROBE_WINDOW);
  const inYear = () => YEAR_START + day(random.int(0, 355));
  const blackouts = Array.from(
    {
      length: random.weighted([
        [0, 25],
        [1, 30],
        [2, 25],
        [3, 12],
        [4, 8],
      ] as const),
    },
    () => dayRange(random, inYear(), 1, 10),
  );
  const busy = Array.from(
    {
      length: random.weighted([
        [0, 30],
        [1, 20],
        [2, 20],
        [3, 15],
        [4, 10],
        [6, 5],
      ] as const),
    },
    () => dayRange(random, inYear(), 2, 10),
  );
  return {
    hub: hub.id,
    id: `T${hub.id.slice(4)}-${String(n).padStart(4, "0")}`,
    displayName: `${random.pick(FIRST_NAMES)} ${random.pick(LAST_NAMES)}`,
    languages,
    regions,
    availability,
    blackouts,
    busy,
    accreditations,
  };
}

/** Trainers one at a time, `perHub` for each hub in turn (the same seed gives the same trainers). */
export function* profiles(
  seed: number,
  framework: Framework,
  hubs: readonly Hub[],
  perHub: number,
  options = { probeWindow: false },
): Generator<Profile> {
  for (const hub of hubs) {
    const random = new Random(seed * 1_000 + hub.index);
    for (let n = 1; n <= perHub; n += 1) yield makeProfile(random, framework, hub, n, options);
  }
}

/** What the index holds for the trainer (every accreditation counted as verified). */
export function toRecord(p: Profile): TrainerRecord {
  return {
    hub: p.hub,
    id: p.id,
    languages: p.languages,
    regions: p.regions,
    availability: p.availability,
    blackouts: p.blackouts,
    busy: p.busy,
    accreditations: p.accreditations,
  };
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * A roster draft (what an import sends). Its accreditations are claims: without credentials that
 * verify, the index counts none of them. Engagements are not part of a roster.
 */
export function toDraft(p: Profile): RawTrainerDraft {
  return {
    id: p.id,
    displayName: p.displayName,
    languages: p.languages,
    regions: p.regions,
    accreditations: p.accreditations.map((a) => ({
      ...a,
      validFrom: iso(a.validFrom).slice(0, 10),
      validUntil: iso(a.validUntil).slice(0, 10),
      status: "active",
    })),
    availability: p.availability.map((r) => ({ start: iso(r.start), end: iso(r.end) })),
    blackouts: p.blackouts.map((r) => ({ start: iso(r.start), end: iso(r.end) })),
  };
}

// ---------------------------------------------------------------------------------------------
// queries

export const QUERY_KINDS = ["competency", "module", "language", "region", "hub", "consecutive"] as const;
export type QueryKind = (typeof QUERY_KINDS)[number];

export interface LabelledQuery {
  kind: QueryKind | "range-only";
  query: AvailabilityQuery;
}

/**
 * `count` distinct queries in a realistic mix: a competency and dates (1-10 days, all free); a
 * module of 3-5 competencies; a language at a minimum level; a country or subdivision; a hub; or a
 * few consecutive free days within 2-6 weeks. Most narrow by a competency, as operators do.
 */
export function makeQueries(seed: number, framework: Framework, hubs: readonly Hub[], count: number): LabelledQuery[] {
  const random = new Random(seed);
  const competency = () =>
    random.weighted(zipf([...framework.byDepth[1], ...framework.byDepth[2], ...framework.byDepth[0]], 0.6));
  const range = (minDays: number, maxDays: number): Range => {
    const start = YEAR_START + day(random.int(14, 330));
    return { start, end: start + day(random.int(minDays, maxDays)) };
  };
  const out: LabelledQuery[] = [];
  const seen = new Set<string>();
  while (out.length < count) {
    const kind = random.weighted<QueryKind>([
      ["competency", 30],
      ["module", 15],
      ["language", 15],
      ["region", 15],
      ["hub", 10],
      ["consecutive", 15],
    ]);
    let query: AvailabilityQuery;
    switch (kind) {
      case "competency":
        query = { competency: competency(), range: range(1, 10) };
        break;
      case "module": {
        const domain = random.pick(framework.byDepth[0]);
        const own = framework.items.filter((c) => c.startsWith(`${domain}-`));
        const size = random.int(3, 5);
        const picked = random.sample(own, size);
        while (picked.length < size) {
          const extra = competency();
          if (!picked.includes(extra)) picked.push(extra);
        }
        query = {
          moduleCompetencies: picked,
          range: range(3, 10),
          ...(random.chance(0.4) ? { minConsecutiveDays: random.int(2, 3) } : {}),
        };
        break;
      }
      case "language":
        query = {
          competency: competency(),
          language: {
            tag: random.weighted(zipf(["en", "fr", "ar", "es", "pt", "ru", "uk", "sw"], 1)),
            minLevel: random.weighted([
              ["B1", 20],
              ["B2", 40],
              ["C1", 30],
              ["C2", 10],
            ] as const),
          },
          range: range(1, 10),
        };
        break;
      case "region": {
        const hub = random.pick(hubs);
        query = {
          competency: competency(),
          region: random.chance(0.6) ? hub.country : random.pick(hub.subdivisions),
          range: range(1, 10),
        };
        break;
      }
      case "hub":
        query = {
          hub: random.pick(hubs).id,
          range: range(1, 10),
          ...(random.chance(0.5) ? { competency: competency() } : {}),
        };
        break;
      case "consecutive":
        query = { competency: competency(), range: range(14, 42), minConsecutiveDays: random.int(3, 10) };
        break;
    }
    const key = JSON.stringify(query);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ kind, query });
  }
  return out;
}

/** Queries that narrow by nothing but dates: every trainer is a candidate (the index's worst case; not in the mix). */
export function makeRangeOnlyQueries(seed: number, count: number): LabelledQuery[] {
  const random = new Random(seed);
  return Array.from({ length: count }, () => {
    const start = YEAR_START + day(random.int(14, 330));
    return { kind: "range-only" as const, query: { range: { start, end: start + day(random.int(1, 7)) } } };
  });
}
