/**
 * What the soak expects the federation to hold: every trainer as the last acknowledged write left
 * it, and every acknowledged booking request. Trainers are generated from the seeded PRNG.
 *
 * Dates: every trainer declares 2027 as available; blackouts and booking requests fall in
 * March–June 2027; October 2027 (PROBE) is never blacked out nor booked, so a query for it at any
 * hub answers with every trainer that hub knows — the convergence check reads other hubs' rosters
 * through it.
 */
import type { Trainer } from "../../node/api/generated/concordat/v1/trainers.js";
import type { Random } from "../lib/random.js";

export const DAY = 86_400_000;
export const YEAR_START = Date.UTC(2027, 0, 1);
export const YEAR_END = Date.UTC(2028, 0, 1);
/** Bookings and blackouts: 1 March 2027 + 0..BOOKING_DAYS days. */
export const BOOKING_START = Date.UTC(2027, 2, 1);
export const BOOKING_DAYS = 60;
export const PROBE = {
  from: new Date(Date.UTC(2027, 9, 1)).toISOString(),
  to: new Date(Date.UTC(2027, 9, 3)).toISOString(),
};

const COUNTRIES = ["KE", "UG", "TZ", "RW", "SN", "JO", "UA", "GE", "CO", "PH", "NG", "GH"] as const;
export const LANGUAGES = ["en", "fr", "ar", "sw", "uk", "es", "pt", "ru"] as const;
export const LEVELS = ["A1", "A2", "B1", "B2", "C1", "C2"] as const;
const FIRST = [
  "Amina",
  "Jean",
  "Layla",
  "Oksana",
  "Tomás",
  "Grace",
  "Nino",
  "Ahmed",
  "Wanjiru",
  "Rosa",
  "Ibrahima",
  "Mariam",
] as const;
const LAST = [
  "Odhiambo",
  "Ndiaye",
  "Haddad",
  "Melnyk",
  "Restrepo",
  "Mensah",
  "Beridze",
  "Saleh",
  "Kamau",
  "Santos",
  "Diallo",
  "Okafor",
] as const;

export function countryOf(hubIndex: number): string {
  return COUNTRIES[(hubIndex - 1) % COUNTRIES.length] as string;
}

/** The part of a trainer the soak writes and checks. */
export interface TrainerState {
  displayName: string;
  languages: Array<{ tag: string; level: string }>;
  regions: string[];
  blackouts: Array<{ start: string; end: string }>;
}

export const iso = (ms: number) => new Date(ms).toISOString();

/** A trainer's content, version `version` (the name carries it, so every update is visible). */
export function makeState(rng: Random, hubIndex: number, id: string, version: number): TrainerState {
  const langs = rng.sample(LANGUAGES, rng.int(1, 3)).map((tag) => ({ tag, level: rng.pick(LEVELS) }));
  const regions = [countryOf(hubIndex), ...(rng.chance(0.4) ? [countryOf(hubIndex + 1)] : [])];
  const blackouts: TrainerState["blackouts"] = [];
  for (let i = rng.int(0, 2); i > 0; i -= 1) {
    const start = BOOKING_START + rng.int(0, BOOKING_DAYS) * DAY;
    blackouts.push({ start: iso(start), end: iso(start + rng.int(1, 3) * DAY) });
  }
  blackouts.sort((a, b) => (a.start < b.start ? -1 : 1));
  return {
    displayName: `${rng.pick(FIRST)} ${rng.pick(LAST)} ${id} v${version}`,
    languages: langs,
    regions,
    blackouts,
  };
}

export function toMessage(id: string, s: TrainerState): Trainer {
  return {
    id,
    displayName: s.displayName,
    homeHub: "",
    languages: s.languages,
    regions: s.regions,
    accreditations: [],
    availability: [{ start: iso(YEAR_START), end: iso(YEAR_END) }],
    blackouts: s.blackouts,
    private: undefined,
    updatedAt: "",
    updatedBy: "",
  };
}

/** A canonical text of the checked fields, to compare what a node holds with what was written. */
export function canonical(s: TrainerState): string {
  const time = (x: string) => (Number.isNaN(Date.parse(x)) ? x : iso(Date.parse(x)));
  return JSON.stringify({
    displayName: s.displayName,
    languages: s.languages.map((l) => `${l.tag.toLowerCase()}:${l.level.toUpperCase()}`).sort(),
    regions: s.regions.map((r) => r.toUpperCase()).sort(),
    blackouts: s.blackouts.map((b) => `${time(b.start)}/${time(b.end)}`).sort(),
  });
}

export function stateOf(t: Trainer): TrainerState {
  return { displayName: t.displayName, languages: t.languages, regions: t.regions, blackouts: t.blackouts };
}

export interface ModelTrainer {
  hub: string;
  id: string;
  /** As the last acknowledged write left it; undefined once removed. */
  state: TrainerState | undefined;
  /** When the add was acknowledged (performance.now()). */
  addedAt: number;
  /** A call on it is in flight (no two calls on one trainer at once, so acknowledgements are ordered). */
  busy: boolean;
  /** Acknowledged adds and updates: the owner's history of the trainer must hold at least this many entries. */
  ackedWrites: number;
  /** Writes whose outcome is unknown (the call was cut by the kill, or failed unexpectedly). */
  unknownWrites: number;
  /** Set when a write's outcome is unknown: the states the owner may hold (undefined: absent). The trainer gets no more calls. */
  possible?: Array<TrainerState | undefined>;
  removedAt?: number;
  /** A remove was sent (acknowledged or not). */
  removing?: boolean;
}

export interface SentRequest {
  key: string;
  requester: string;
  id: string;
  trainerHub: string;
  trainerId: string;
  from: string;
  to: string;
  /** acked: RequestBooking answered OK; unknown: the call was cut (the request may or may not exist). */
  ack: "acked" | "unknown";
  /** Retries of the same request that were answered OK (each must say created = false). */
  retries: number;
  at: number;
}

export const overlaps = (a: { from: string; to: string }, b: { from: string; to: string }) =>
  Date.parse(a.from) < Date.parse(b.to) && Date.parse(b.from) < Date.parse(a.to);
