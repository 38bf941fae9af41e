import { createHash, createHmac } from "node:crypto";
import canonicalizeModule from "canonicalize";
import type { FieldViolation } from "../errors.js";
import { textViolationsIn, TextKind } from "../text.js";

/**
 * xAPI / cmi5 statements folded into a delivery's figures, without keeping who the learners are.
 * Each learner becomes a pseudonym — an HMAC of the actor's identifier under a secret
 * that never leaves the hub's private document — so that one learner is counted once however many
 * statements or files name them; each statement is remembered by a hash of its id, so that the same
 * statements ingested twice count once. Only the counts are replicated.
 */
export const VERBS = {
  completed: "http://adlnet.gov/expapi/verbs/completed",
  passed: "http://adlnet.gov/expapi/verbs/passed",
  failed: "http://adlnet.gov/expapi/verbs/failed",
  /** cmi5: the course's moveOn criteria are met. */
  satisfied: "https://w3id.org/xapi/adl/verbs/satisfied",
} as const;

export const MAX_STATEMENTS = 200_000;

const canonicalize = canonicalizeModule as unknown as (value: unknown) => string | undefined;

/** What the hub remembers per delivery: hashes of statement ids, and per pseudonym what was reached. */
export interface IngestState {
  statements: Set<string>;
  /** Pseudonym → "p" (passed, hence completed), "c" (completed), "" (took part). */
  learners: Map<string, "" | "c" | "p">;
}

export interface Statement {
  id?: unknown;
  actor?: {
    mbox?: unknown;
    mbox_sha1sum?: unknown;
    openid?: unknown;
    account?: { homePage?: unknown; name?: unknown };
  };
  verb?: { id?: unknown };
  object?: { id?: unknown };
  result?: { success?: unknown; score?: { scaled?: unknown; raw?: unknown; min?: unknown; max?: unknown } };
}

/** What one statement says of its learner: "p" passed/demonstrated, "c" completed, "" took part; undefined: nothing. */
export type Judge = (s: Statement) => "" | "c" | "p" | undefined;

/** For a delivery's figures: passed, completed (or cmi5 satisfied), or took part. */
export const completionJudge: Judge = (s) => {
  const verb = String(s.verb?.id ?? "");
  return verb === VERBS.passed ? "p" : verb === VERBS.completed || verb === VERBS.satisfied ? "c" : "";
};

/**
 * For an assessment of one competency: a `passed` / `failed` verb, else `result.success`, else
 * `result.score.scaled` against `mastery` (0..1) decide whether the learner demonstrated it ("p")
 * or not (""); a statement with none of them says nothing of the assessment.
 */
export function assessmentJudge(mastery: number): Judge {
  return (s) => {
    const verb = String(s.verb?.id ?? "");
    if (verb === VERBS.passed) return "p";
    if (verb === VERBS.failed) return "";
    if (typeof s.result?.success === "boolean") return s.result.success ? "p" : "";
    const scaled = s.result?.score?.scaled;
    if (typeof scaled === "number" && Number.isFinite(scaled)) return scaled >= mastery ? "p" : "";
    return undefined;
  };
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

/** Reads a statements file: an array, or `{ "statements": [...] }` as an LRS returns it. */
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
  const list = Array.isArray(parsed) ? parsed : (parsed as { statements?: unknown } | null)?.statements;
  if (!Array.isArray(list))
    return {
      statements: [],
      violations: [
        {
          field: "statements",
          description: "must be a JSON array of xAPI statements, or an object with a 'statements' array",
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
  // Nothing of a statement's text is kept (only hashes and counts), but hostile text is refused all the same.
  const violations: FieldViolation[] = textViolationsIn(list, "statements", TextKind.Multiline);
  list.forEach((s: Statement, i) => {
    if (!s || typeof s !== "object")
      violations.push({ field: `statements[${i}]`, description: "is not a statement object" });
    else {
      if (actorKey(s.actor) === undefined)
        violations.push({
          field: `statements[${i}].actor`,
          description: "has no identifier (mbox, mbox_sha1sum, openid or account)",
        });
      if (typeof s.verb?.id !== "string" || s.verb.id === "")
        violations.push({ field: `statements[${i}].verb.id`, description: "is required" });
      if (s.id !== undefined && typeof s.id !== "string")
        violations.push({ field: `statements[${i}].id`, description: "must be a string (a UUID)" });
    }
  });
  return { statements: list as Statement[], violations };
}

/**
 * Folds `statements` into `state` (a copy is returned): new statements only, each learner once.
 * `secret` keys the pseudonyms; `delivery` scopes them (the same person in two deliveries is not linkable).
 */
export function fold(
  state: IngestState,
  statements: readonly Statement[],
  secret: Uint8Array,
  delivery: string,
  judge: Judge = completionJudge,
): { state: IngestState; added: number; duplicates: number } {
  const next: IngestState = { statements: new Set(state.statements), learners: new Map(state.learners) };
  const { added, duplicates } = eachNew(next.statements, statements, (s) => {
    const reached = judge(s);
    if (reached === undefined) return;
    const learner = pseudonym(secret, delivery, s);
    const before = next.learners.get(learner) ?? "";
    next.learners.set(learner, before === "p" || reached === "p" ? "p" : before === "c" || reached === "c" ? "c" : "");
  });
  return { state: next, added, duplicates };
}

/**
 * Calls `each` for every statement not in `seen` (by `statementHash`), adding it there: the same
 * statement read again, in this file or an earlier one, counts once.
 */
function eachNew(
  seen: Set<string>,
  statements: readonly Statement[],
  each: (s: Statement) => void,
): { added: number; duplicates: number } {
  let added = 0;
  let duplicates = 0;
  for (const s of statements) {
    const hash = statementHash(s);
    if (seen.has(hash)) {
      duplicates += 1;
      continue;
    }
    seen.add(hash);
    added += 1;
    each(s);
  }
  return { added, duplicates };
}

/** A statement as remembered: a hash of its id (or, without one, of its canonical JSON). */
function statementHash(s: Statement): string {
  const id = typeof s.id === "string" && s.id !== "" ? `id:${s.id.toLowerCase()}` : `body:${canonicalize(s) ?? ""}`;
  return createHash("sha256").update(id).digest("hex").slice(0, 32);
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

/** Per learner (a pseudonym), their score 0..1: the last statement with one counts. */
export interface ScoreState {
  statements: Set<string>;
  scores: Map<string, number>;
}

/** Folds statements' scores in, each statement once, each learner once (their latest score). */
export function foldScores(
  state: ScoreState,
  statements: readonly Statement[],
  secret: Uint8Array,
  delivery: string,
): { state: ScoreState; added: number; duplicates: number; withoutScore: number } {
  const next: ScoreState = { statements: new Set(state.statements), scores: new Map(state.scores) };
  let withoutScore = 0;
  const { added, duplicates } = eachNew(next.statements, statements, (s) => {
    const score = scoreOf(s);
    if (score === undefined) withoutScore += 1;
    else next.scores.set(pseudonym(secret, delivery, s), score);
  });
  return { state: next, added, duplicates, withoutScore };
}

/** The figures a state gives: learners (gender not reported by xAPI), completed, passed. */
export function figures(state: IngestState): { learners: number; completed: number; passed: number } {
  let completed = 0;
  let passed = 0;
  for (const v of state.learners.values()) {
    if (v !== "") completed += 1;
    if (v === "p") passed += 1;
  }
  return { learners: state.learners.size, completed, passed };
}
