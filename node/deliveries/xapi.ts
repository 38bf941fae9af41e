import { createHash, createHmac } from "node:crypto";
import canonicalizeModule from "canonicalize";
import type { FieldViolation } from "../errors.js";
import { textViolationsIn, TextKind } from "../text.js";

/**
 * xAPI / cmi5 statements folded into a delivery's figures, without keeping who the learners are.
 * Each learner becomes a pseudonym — an HMAC of the actor's identifier under a secret
 * that never leaves the hub's private document — so that one learner is counted once however many
 * statements or files name them; each statement is remembered by a hash of its id (with its
 * learner's pseudonym and what it said), so that the same statements ingested twice count once and
 * a statement voided later (xAPI 1.0.3 §2.3.2) stops counting. Only the counts are replicated.
 */
export const VERBS = {
  completed: "http://adlnet.gov/expapi/verbs/completed",
  passed: "http://adlnet.gov/expapi/verbs/passed",
  failed: "http://adlnet.gov/expapi/verbs/failed",
  voided: "http://adlnet.gov/expapi/verbs/voided",
  /** cmi5: the course's moveOn criteria are met. */
  satisfied: "https://w3id.org/xapi/adl/verbs/satisfied",
} as const;

export const MAX_STATEMENTS = 200_000;

const OBJECT_TYPES = ["Activity", "Agent", "Group", "StatementRef", "SubStatement"] as const;

const canonicalize = canonicalizeModule as unknown as (value: unknown) => string | undefined;

/** What a statement says of its learner: "p" passed (hence completed), "c" completed, "" took part. */
export type Reached = "" | "c" | "p";

/** One statement as remembered (under the hash of its id). */
export type Entry<V = Reached> =
  /** It counts: its learner's pseudonym and what it said (what they reached, or their score). */
  | { kind: "counts"; learner: string; value: V }
  /** Seen; says nothing (or read before its learner was kept, which a voiding cannot take back). */
  | { kind: "none" }
  /** A voiding statement: never counts, cannot itself be voided. */
  | { kind: "voiding" }
  /** Voided: never counts, whether it came before its voiding or (`received` false) not yet. */
  | { kind: "voided"; received: boolean };

/** What the hub remembers per delivery: each statement (by a hash of its id) and what it counts for, in the order read. */
export interface Kept<V> {
  statements: Map<string, Entry<V>>;
}

/** Per delivery, for its figures: what each statement said its learner reached. */
export type IngestState = Kept<Reached>;

/** Per delivery and level, for its scores: each statement's score 0..1. */
export type ScoreState = Kept<number>;

export interface Statement {
  id?: unknown;
  actor?: {
    mbox?: unknown;
    mbox_sha1sum?: unknown;
    openid?: unknown;
    account?: { homePage?: unknown; name?: unknown };
  };
  verb?: { id?: unknown };
  object?: { id?: unknown; objectType?: unknown };
  result?: {
    success?: unknown;
    completion?: unknown;
    score?: { scaled?: unknown; raw?: unknown; min?: unknown; max?: unknown };
  };
  /** Set by the LRS when it stored the statement (ISO 8601). */
  stored?: unknown;
}

/** What one statement says of its learner: "p" passed/demonstrated, "c" completed, "" took part; undefined: nothing. */
export type Judge = (s: Statement) => Reached | undefined;

/** A verb's id, with ADL's `https://adlnet.gov/expapi/verbs/…` read as the `http://` one it means. */
export function verbOf(s: Statement): string {
  const verb = typeof s.verb?.id === "string" ? s.verb.id : "";
  return verb.replace(/^https:\/\/adlnet\.gov\/expapi\/verbs\//, "http://adlnet.gov/expapi/verbs/");
}

/**
 * For a delivery's figures: passed (a `passed` verb not contradicted by `result.success` false, or
 * any verb with `result.success` true, or — given a `mastery` — a scaled score at least that with no
 * success), else completed (a `completed` or cmi5 `satisfied` verb, or `result.completion` true),
 * else took part.
 */
export function completionJudge(mastery = 0): Judge {
  return (s) => {
    const verb = verbOf(s);
    const success = s.result?.success;
    const scaled = s.result?.score?.scaled;
    const passed =
      success === true ||
      (verb === VERBS.passed && success !== false) ||
      (typeof success !== "boolean" &&
        mastery > 0 &&
        typeof scaled === "number" &&
        Number.isFinite(scaled) &&
        scaled >= mastery);
    if (passed) return "p";
    return verb === VERBS.completed || verb === VERBS.satisfied || s.result?.completion === true ? "c" : "";
  };
}

/**
 * For an assessment of one competency: a `passed` / `failed` verb, else `result.success`, else
 * `result.score.scaled` against `mastery` (0..1) decide whether the learner demonstrated it ("p")
 * or not (""); a statement with none of them says nothing of the assessment.
 */
export function assessmentJudge(mastery: number): Judge {
  return (s) => {
    const verb = verbOf(s);
    if (verb === VERBS.passed) return s.result?.success === false ? "" : "p";
    if (verb === VERBS.failed) return "";
    if (typeof s.result?.success === "boolean") return s.result.success ? "p" : "";
    const scaled = s.result?.score?.scaled;
    if (typeof scaled === "number" && Number.isFinite(scaled)) return scaled >= mastery ? "p" : "";
    return undefined;
  };
}

/** The id of the statement `s` voids, when `s` is a voiding statement (verb voided, object a StatementRef). */
export function voidedTarget(s: Statement): string | undefined {
  if (verbOf(s) !== VERBS.voided) return undefined;
  return typeof s.object?.id === "string" && s.object.id !== "" ? s.object.id : undefined;
}

/** The actor's inverse functional identifier (xAPI 1.0.3 §4.1.2.3), as one string. */
function actorKey(actor: Statement["actor"]): string | undefined {
  if (!actor || typeof actor !== "object") return undefined;
  if (typeof actor.mbox === "string" && actor.mbox !== "") return `mbox:${actor.mbox.toLowerCase()}`;
  if (typeof actor.mbox_sha1sum === "string" && actor.mbox_sha1sum !== "")
    return `sha1:${actor.mbox_sha1sum.toLowerCase()}`;
  if (typeof actor.openid === "string" && actor.openid !== "") return `openid:${actor.openid}`;
  if (actor.account && typeof actor.account.homePage === "string" && typeof actor.account.name === "string")
    return `account:${actor.account.homePage}|${actor.account.name}`;
  return undefined;
}

/**
 * Reads a statements file: an array, `{ "statements": [...] }` as an LRS returns a page of them,
 * or one statement object as an LRS returns it for `?statementId=` (its problems are named
 * `statement.…`).
 */
export function readStatements(json: string): { statements: Statement[]; violations: FieldViolation[] } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (error) {
    return {
      statements: [],
      violations: [{ field: "statements", description: `is not JSON: ${(error as Error).message}` }],
    };
  }
  const single =
    parsed !== null && typeof parsed === "object" && !Array.isArray(parsed) && !("statements" in parsed)
      ? ["actor", "verb", "object"].some((k) => k in parsed)
      : false;
  const list = single
    ? [parsed]
    : Array.isArray(parsed)
      ? parsed
      : (parsed as { statements?: unknown } | null)?.statements;
  if (!Array.isArray(list))
    return {
      statements: [],
      violations: [
        {
          field: "statements",
          description:
            "must be a JSON array of xAPI statements, an object with a 'statements' array, or one statement object",
        },
      ],
    };
  if (list.length > MAX_STATEMENTS)
    return {
      statements: [],
      violations: [
        { field: "statements", description: `has ${list.length} statements; at most ${MAX_STATEMENTS} per file` },
      ],
    };
  const at = (i: number) => (single ? "statement" : `statements[${i}]`);
  // Nothing of a statement's text is kept (only hashes and counts), but hostile text is refused all the same.
  const violations: FieldViolation[] = textViolationsIn(
    single ? parsed : list,
    single ? "statement" : "statements",
    TextKind.Multiline,
  );
  list.forEach((s: Statement, i) => {
    if (!s || typeof s !== "object" || Array.isArray(s)) {
      violations.push({ field: at(i), description: "is not a statement object" });
      return;
    }
    if (actorKey(s.actor) === undefined)
      violations.push({
        field: `${at(i)}.actor`,
        description: "has no identifier (mbox, mbox_sha1sum, openid or account)",
      });
    if (typeof s.verb?.id !== "string" || s.verb.id === "")
      violations.push({ field: `${at(i)}.verb.id`, description: "is required" });
    if (s.id !== undefined && typeof s.id !== "string")
      violations.push({ field: `${at(i)}.id`, description: "must be a string (a UUID)" });
    violations.push(...objectViolations(s, at(i)));
  });
  return { statements: list as Statement[], violations };
}

/** A statement's object (xAPI 1.0.3 §2.4.4): required; an Activity or StatementRef needs its id; a voiding statement's is a StatementRef. */
function objectViolations(s: Statement, at: string): FieldViolation[] {
  const object = s.object;
  if (!object || typeof object !== "object" || Array.isArray(object))
    return [
      { field: `${at}.object`, description: "is required (an Activity, Agent, Group, StatementRef or SubStatement)" },
    ];
  const type = object.objectType ?? "Activity";
  if (typeof type !== "string" || !(OBJECT_TYPES as readonly string[]).includes(type))
    return [{ field: `${at}.object.objectType`, description: `must be one of ${OBJECT_TYPES.join(", ")}` }];
  const problems: FieldViolation[] = [];
  if ((type === "Activity" || type === "StatementRef") && (typeof object.id !== "string" || object.id === ""))
    problems.push({
      field: `${at}.object.id`,
      description: `is required (an ${type}'s ${type === "Activity" ? "IRI" : "statement id"})`,
    });
  if (verbOf(s) === VERBS.voided && type !== "StatementRef")
    problems.push({
      field: `${at}.object.objectType`,
      description: "must be StatementRef: a voiding statement names the statement it voids",
    });
  return problems;
}

/**
 * Folds `statements` into `state` (a copy is returned): new statements only, each learner once.
 * A voiding statement voids its target, whether the target came before (in this batch or an
 * earlier one) or comes later; voiding statements themselves never count.
 * `secret` keys the pseudonyms; `delivery` scopes them (the same person in two deliveries is not linkable).
 */
export function fold(
  state: IngestState,
  statements: readonly Statement[],
  secret: Uint8Array,
  delivery: string,
  judge: Judge = completionJudge(),
): { state: IngestState; added: number; duplicates: number; voided: number } {
  const { without: _, ...folded } = foldKept(state, statements, judge, (s) => pseudonym(secret, delivery, s));
  return folded;
}

/** `fold` for any value a statement gives its learner (`value` undefined: it gives none, counted in `without`). */
function foldKept<V>(
  state: Kept<V>,
  statements: readonly Statement[],
  value: (s: Statement) => V | undefined,
  learnerOf: (s: Statement) => string,
): { state: Kept<V>; added: number; duplicates: number; voided: number; without: number } {
  const next = new Map(state.statements);
  let added = 0;
  let duplicates = 0;
  let voided = 0;
  let without = 0;
  for (const s of statements) {
    const hash = statementHash(s);
    const entry = next.get(hash);
    if (entry?.kind === "voided" && !entry.received) {
      // Voided before it came: remembered, never counted.
      next.set(hash, { kind: "voided", received: true });
      added += 1;
      continue;
    }
    if (entry !== undefined) {
      duplicates += 1;
      continue;
    }
    added += 1;
    const target = voidedTarget(s);
    if (target !== undefined) {
      next.set(hash, { kind: "voiding" });
      const targetHash = idHash(target);
      const voids = next.get(targetHash);
      if (voids === undefined) next.set(targetHash, { kind: "voided", received: false });
      else if (voids.kind === "counts" || voids.kind === "none")
        next.set(targetHash, { kind: "voided", received: true });
      // A voiding statement cannot be voided; a statement voided already stays so.
      if (voids === undefined || voids.kind === "counts" || voids.kind === "none") voided += 1;
      continue;
    }
    const v = value(s);
    if (v === undefined) without += 1;
    next.set(hash, v === undefined ? { kind: "none" } : { kind: "counts", learner: learnerOf(s), value: v });
  }
  return { state: { statements: next }, added, duplicates, voided, without };
}

function idHash(id: string): string {
  return createHash("sha256").update(`id:${id.toLowerCase()}`).digest("hex").slice(0, 32);
}

/** A statement as remembered: a hash of its id (or, without one, of its canonical JSON). */
function statementHash(s: Statement): string {
  if (typeof s.id === "string" && s.id !== "") return idHash(s.id);
  return createHash("sha256")
    .update(`body:${canonicalize(s) ?? ""}`)
    .digest("hex")
    .slice(0, 32);
}

/** The learner of a statement as a pseudonym: an HMAC under the hub's secret, scoped to the delivery. */
function pseudonym(secret: Uint8Array, delivery: string, s: Statement): string {
  return createHmac("sha256", secret)
    .update(`${delivery}\n${actorKey(s.actor) ?? ""}`)
    .digest("hex")
    .slice(0, 32);
}

/**
 * A statement's score as a fraction 0..1: `result.score.scaled`, else `raw` within `min`..`max`;
 * undefined when it carries none (or one out of range).
 */
export function scoreOf(s: Statement): number | undefined {
  const score = s.result?.score;
  const scaled = score?.scaled;
  if (typeof scaled === "number" && Number.isFinite(scaled)) return scaled >= 0 && scaled <= 1 ? scaled : undefined;
  const { raw, min, max } = score ?? {};
  if (
    typeof raw === "number" &&
    typeof min === "number" &&
    typeof max === "number" &&
    max > min &&
    raw >= min &&
    raw <= max
  )
    return (raw - min) / (max - min);
  return undefined;
}

/**
 * Folds statements' scores in, each statement once, each learner once (their latest score that
 * still counts); voiding as for `fold`.
 */
export function foldScores(
  state: ScoreState,
  statements: readonly Statement[],
  secret: Uint8Array,
  delivery: string,
): { state: ScoreState; added: number; duplicates: number; voided: number; withoutScore: number } {
  const { without, ...folded } = foldKept(state, statements, scoreOf, (s) => pseudonym(secret, delivery, s));
  return { ...folded, withoutScore: without };
}

/** Per learner (a pseudonym), their latest score (in the order read) that still counts. */
export function scoresOf(state: ScoreState): Map<string, number> {
  const scores = new Map<string, number>();
  for (const entry of state.statements.values()) if (entry.kind === "counts") scores.set(entry.learner, entry.value);
  return scores;
}

/** Per learner (a pseudonym), the most their statements that still count reached. */
export function learnersOf(state: IngestState): Map<string, Reached> {
  const learners = new Map<string, Reached>();
  for (const entry of state.statements.values()) {
    if (entry.kind !== "counts") continue;
    const before = learners.get(entry.learner) ?? "";
    const r = entry.value;
    learners.set(entry.learner, before === "p" || r === "p" ? "p" : before === "c" || r === "c" ? "c" : "");
  }
  return learners;
}

/** The figures a state gives: learners (gender not reported by xAPI), completed, passed. */
export function figures(state: IngestState): { learners: number; completed: number; passed: number } {
  let completed = 0;
  let passed = 0;
  const learners = learnersOf(state);
  for (const v of learners.values()) {
    if (v !== "") completed += 1;
    if (v === "p") passed += 1;
  }
  return { learners: learners.size, completed, passed };
}

/** The latest `stored` (ISO 8601, as the LRS wrote it) among `statements` and `after`; "" when none. */
export function latestStored(statements: readonly Statement[], after = ""): string {
  let latest = after;
  let latestMs = after === "" ? Number.NEGATIVE_INFINITY : Date.parse(after);
  for (const s of statements) {
    if (typeof s.stored !== "string") continue;
    const ms = Date.parse(s.stored);
    if (Number.isFinite(ms) && (ms > latestMs || (ms === latestMs && s.stored > latest))) {
      latest = s.stored;
      latestMs = ms;
    }
  }
  return latest;
}
