import { ImmutableString } from "@automerge/automerge";
import { z } from "zod";
import { decodeStored } from "../documents/index.js";
import { invalidArgument, type FieldViolation } from "../errors.js";
import { Checker, quote, TextKind } from "../text.js";
import type { BusyTimeSource } from "../query/index.js";

/**
 * Bookings: a request is an entry in the requesting hub's `outbox` document; the answer is
 * an entry in the trainer's home hub's `engagements` document, under the same key. Both documents are
 * owned and checkpointed, so each entry is signed by its writer's checkpoints, and a reader takes
 * either only from a verified view. The home hub is the only writer of its trainers' engagements:
 * it decides one request at a time, so two overlapping engagements can never both hold.
 */
export const OUTBOX_KEY = "outbox";
export const ENGAGEMENTS_KEY = "engagements";

/** How a home hub answers requests for its trainers (config `bookings.policy`). */
export const BOOKING_POLICIES = ["manual", "tentative", "confirm"] as const;
export type BookingPolicy = (typeof BOOKING_POLICIES)[number];

/** Engagement states. `pending` is no entry yet: the request is waiting for the home hub. */
export const ENGAGEMENT_STATES = ["tentative", "confirmed", "declined", "cancelled"] as const;
export type EngagementState = (typeof ENGAGEMENT_STATES)[number];
export type BookingState = EngagementState | "pending";

/** Why a request was declined (or an engagement cancelled). */
export const DECLINE_REASONS = [
  "overlap",
  "blackout",
  "unavailable",
  "credential-expired",
  "credential-suspended",
  "credential-revoked",
  "not-accredited",
  "request-expired",
  "unknown-trainer",
  "declined-by-operator",
  "cancelled-by-requester",
  "cancelled-by-home-hub",
  /** The requester, or the trainer's home hub, is no longer in the federation (the charter removed it). */
  "member-removed",
] as const;
export type DeclineReason = (typeof DECLINE_REASONS)[number];

export const LIMITS = { id: 128, course: 200, note: 1000, maxDays: 366 } as const;
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]*$/;
const DAY_MS = 86_400_000;

/** A booking request as signed in the requester's outbox. Times are ISO 8601 UTC. */
export interface BookingRequest {
  id: string;
  requester: string;
  trainer: { hub: string; id: string };
  start: string;
  end: string;
  /** A competency the trainer is booked to teach: their accreditation for it must hold over the whole period. */
  competency: string;
  /** What the engagement is for (a module code, a course title): seen by the two hubs only in their lists. */
  course: string;
  note: string;
  /** After this, the home hub declines the request instead of deciding it. */
  expiresAt: string;
  createdAt: string;
  createdBy: string;
}

/** The home hub's answer to one request (and its later changes: confirmed, cancelled). */
export interface Engagement {
  request: { requester: string; id: string };
  trainer: string;
  start: string;
  end: string;
  state: EngagementState;
  /** For declined and cancelled: why. */
  reason: DeclineReason | "";
  detail: string;
  decidedAt: string;
  /** `policy` when the node decided by itself, otherwise the operator id. */
  decidedBy: string;
}

/** The requester's cancellation of its own request. */
export interface Cancellation {
  at: string;
  by: string;
  note: string;
}

/** Key of a request in the home hub's engagements: requests are unique per requester. */
export function bookingKey(requester: string, id: string): string {
  return `${requester}/${id}`;
}

const iso = z.string().refine((s) => !Number.isNaN(Date.parse(s)), "is not an ISO 8601 time");
const requestSchema = z.object({
  id: z.string(),
  requester: z.string(),
  trainer: z.object({ hub: z.string(), id: z.string() }),
  start: iso,
  end: iso,
  competency: z.string(),
  course: z.string(),
  note: z.string(),
  expiresAt: iso,
  createdAt: iso,
  createdBy: z.string(),
});
const engagementSchema = z.object({
  request: z.object({ requester: z.string(), id: z.string() }),
  trainer: z.string(),
  start: iso,
  end: iso,
  state: z.enum(ENGAGEMENT_STATES),
  reason: z.union([z.enum(DECLINE_REASONS), z.literal("")]),
  detail: z.string(),
  decidedAt: iso,
  decidedBy: z.string(),
});
const cancellationSchema = z.object({ at: iso, by: z.string(), note: z.string() });

/** Entries are stored whole, as canonical JSON in one ImmutableString (key order fixed here). */
export function encodeRequest(r: BookingRequest): ImmutableString {
  return new ImmutableString(
    JSON.stringify({
      id: r.id,
      requester: r.requester,
      trainer: { hub: r.trainer.hub, id: r.trainer.id },
      start: r.start,
      end: r.end,
      competency: r.competency,
      course: r.course,
      note: r.note,
      expiresAt: r.expiresAt,
      createdAt: r.createdAt,
      createdBy: r.createdBy,
    } satisfies BookingRequest),
  );
}

export function encodeEngagement(e: Engagement): ImmutableString {
  return new ImmutableString(
    JSON.stringify({
      request: { requester: e.request.requester, id: e.request.id },
      trainer: e.trainer,
      start: e.start,
      end: e.end,
      state: e.state,
      reason: e.reason,
      detail: e.detail,
      decidedAt: e.decidedAt,
      decidedBy: e.decidedBy,
    } satisfies Engagement),
  );
}

export function encodeCancellation(c: Cancellation): ImmutableString {
  return new ImmutableString(JSON.stringify({ at: c.at, by: c.by, note: c.note } satisfies Cancellation));
}

/** Undefined for an entry that does not decode: only what its owner signed gets here, but owners can be buggy. */
export const decodeRequest = (stored: unknown): BookingRequest | undefined => decodeStored(requestSchema, stored);
export const decodeEngagement = (stored: unknown): Engagement | undefined => decodeStored(engagementSchema, stored);
export const decodeCancellation = (stored: unknown): Cancellation | undefined =>
  decodeStored(cancellationSchema, stored);

/** The outbox document: requests by id, and the requester's cancellations by request id. */
export interface OutboxDoc {
  requests?: Record<string, unknown>;
  cancelled?: Record<string, unknown>;
}

/** The engagements document: answers by `bookingKey`. */
export interface EngagementsDoc {
  decisions?: Record<string, unknown>;
}

/** What an operator asks for, before validation. */
export interface RequestDraft {
  id: string;
  trainerHub: string;
  trainerId: string;
  start: string;
  end: string;
  competency: string;
  course: string;
  note: string;
  /** Empty: the configured default. */
  expiresAt: string;
}

/** Checks a draft and returns the request's fields with times normalised to ISO 8601 UTC. */
export function checkDraft(
  draft: RequestDraft,
  now: number,
  defaultTtlMs: number,
): { violations: FieldViolation[]; start: number; end: number; expiresAt: number } {
  const c = new Checker();
  const violations = c.violations;
  const fail = (field: string, description: string) => c.fail(field, description);
  if (draft.id !== "" && (draft.id.length > LIMITS.id || !ID_PATTERN.test(draft.id))) {
    fail(
      "request_id",
      `must be 1-${LIMITS.id} characters of letters, digits and . _ : - (starting with a letter or digit)`,
    );
  }
  if (draft.trainerHub === "") fail("trainer_hub", "is required");
  else c.text("trainer_hub", draft.trainerHub, { max: LIMITS.id });
  if (draft.trainerId === "") fail("trainer_id", "is required");
  else c.text("trainer_id", draft.trainerId, { max: LIMITS.id });
  c.text("competency", draft.competency, { max: LIMITS.id });
  const start = Date.parse(draft.start);
  const end = Date.parse(draft.end);
  if (Number.isNaN(start)) fail("from", `${quote(draft.start)} is not an ISO 8601 time`);
  if (Number.isNaN(end)) fail("to", `${quote(draft.end)} is not an ISO 8601 time`);
  if (!Number.isNaN(start) && !Number.isNaN(end)) {
    if (end <= start) fail("to", "must be after from");
    else if (end - start > LIMITS.maxDays * DAY_MS) fail("to", `must be at most ${LIMITS.maxDays} days after from`);
    if (start < now) fail("from", `is in the past (${new Date(start).toISOString()})`);
  }
  c.text("course", draft.course, { max: LIMITS.course });
  c.text("note", draft.note, { max: LIMITS.note, kind: TextKind.Multiline });
  let expiresAt = now + defaultTtlMs;
  if (draft.expiresAt !== "") {
    expiresAt = Date.parse(draft.expiresAt);
    if (Number.isNaN(expiresAt)) fail("expires_at", `${quote(draft.expiresAt)} is not an ISO 8601 time`);
    else if (expiresAt <= now) fail("expires_at", "is in the past");
  }
  return { violations, start, end, expiresAt };
}

/** A decline's or cancellation's note: multi-line text of at most LIMITS.note characters (INVALID_ARGUMENT otherwise). */
export function checkNote(note: string): string {
  const c = new Checker();
  const value = c.text("note", note, { max: LIMITS.note, kind: TextKind.Multiline });
  if (c.violations.length > 0) throw invalidArgument(c.violations);
  return value;
}

/** Do two ISO ranges overlap (half-open)? */
export function overlaps(a: { start: string; end: string }, b: { start: string; end: string }): boolean {
  return Date.parse(a.start) < Date.parse(b.end) && Date.parse(b.start) < Date.parse(a.end);
}

/** Tentative and confirmed engagements hold the trainer's time; the others do not. */
export function holdsTime(state: BookingState): boolean {
  return state === "tentative" || state === "confirmed";
}

/** The engagements document as the availability index reads busy time: what holds time, and how. */
export const engagementsBusyTime: BusyTimeSource = {
  ownKey: ENGAGEMENTS_KEY,
  type: "engagements",
  read(doc) {
    const out: Array<{ trainer: string; start: string; end: string; confirmed: boolean }> = [];
    for (const stored of Object.values((doc as EngagementsDoc | undefined)?.decisions ?? {})) {
      const e = decodeEngagement(stored);
      if (e && holdsTime(e.state))
        out.push({ trainer: e.trainer, start: e.start, end: e.end, confirmed: e.state === "confirmed" });
    }
    return out;
  },
};
