/**
 * The availability query's model: what the index holds per trainer, what a query asks,
 * and what an answer is. Times are UTC milliseconds since the epoch; ranges are half-open [start, end).
 */
export { competenciesNamed, withAncestors, type CompetencyTree } from "../core/index.js";

export const CEFR = ["A1", "A2", "B1", "B2", "C1", "C2"] as const;

export interface Range {
  start: number;
  end: number;
}

export interface IndexedAccreditation {
  scheme: string;
  /** CASE item identifier. */
  competency: string;
  level: string;
  validFrom: number;
  validUntil: number;
}

/** One trainer as the index sees it: only verified accreditations, declared windows, blackouts, engagements. */
export interface TrainerRecord {
  hub: string;
  id: string;
  languages: Array<{ tag: string; level: string }>;
  /** ISO 3166-1 codes and ISO 3166-2 subdivisions served. */
  regions: string[];
  availability: Range[];
  blackouts: Range[];
  /** Tentative and confirmed engagements. */
  busy: Range[];
  accreditations: IndexedAccreditation[];
  /**
   * Competencies the roster record lists in its accreditations column: a claim, never counted by a
   * query (only `accreditations`, from verified credentials, is); kept to tell someone whose query
   * found nobody that trainers list it but hold no verified credential for it. Absent in records
   * derived before it was kept.
   */
  claimed?: string[];
  /**
   * Deployments the roster record lists (node/roster): the module, the country, and the end of the
   * last day served (exclusive). Absent in records derived before they were kept: none.
   */
  deployments?: IndexedDeployment[];
}

export interface IndexedDeployment {
  module: string;
  /** ISO 3166-1 alpha-2. */
  country: string;
  end: number;
}

export interface AvailabilityQuery {
  /** A competency: trainers accredited for it, or for any of its ancestors, qualify. */
  competency?: string;
  /** A module's aligned competencies: full coverage ranks first; partial coverage is returned after. */
  moduleCompetencies?: string[];
  language?: { tag: string; minLevel: string };
  /** A country (matches its subdivisions too) or a subdivision. */
  region?: string;
  hub?: string;
  range: Range;
  /** Absent: the whole range must be free. Present: at least this many consecutive free days in it. */
  minConsecutiveDays?: number;
  /** Has delivered this module before: a deployment of it that ended at or before the range starts. */
  deliveredModule?: string;
  /** Has served in this country (ISO 3166-1 alpha-2): a deployment there, at any time. */
  servedIn?: string;
}

/** Whether the record's deployments satisfy the query's `deliveredModule` and `servedIn`. */
export function servedAsAsked(record: TrainerRecord, query: AvailabilityQuery): boolean {
  const deployments = record.deployments ?? [];
  if (
    query.deliveredModule !== undefined &&
    !deployments.some((d) => d.module === query.deliveredModule && d.end <= query.range.start)
  )
    return false;
  if (query.servedIn !== undefined && !deployments.some((d) => d.country === query.servedIn)) return false;
  return true;
}

export interface AvailabilityMatch {
  hub: string;
  id: string;
  /** Share of the asked competencies covered (1 = all). */
  coverage: number;
  /** Blackouts and engagements overlapping the range. */
  conflicts: number;
  /** CEFR rank (0-5) of the asked language, or the trainer's best when none is asked. */
  proficiency: number;
}

export const DAY_MS = 86_400_000;

export function cefrRank(level: string): number {
  return (CEFR as readonly string[]).indexOf(level);
}

/** Ranking: full coverage first, then fewest conflicts, then proficiency, then hub and id. */
export function compareMatches(a: AvailabilityMatch, b: AvailabilityMatch): number {
  return (
    b.coverage - a.coverage ||
    a.conflicts - b.conflicts ||
    b.proficiency - a.proficiency ||
    (a.hub < b.hub ? -1 : a.hub > b.hub ? 1 : 0) ||
    (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
  );
}

/**
 * Where the index learns a trainer's busy time: one document each hub owns (at this hub, its
 * authoring copy under `ownKey`; elsewhere, verified views of `type`). The bookings component
 * supplies it; the index knows nothing else of bookings.
 */
export interface BusyTimeSource {
  readonly ownKey: string;
  readonly type: string;
  /** The periods a document holds a trainer's time: tentative or confirmed. */
  read(doc: unknown): Array<{ trainer: string; start: string; end: string; confirmed: boolean }>;
}
