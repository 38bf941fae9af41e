import { ImmutableString } from "@automerge/automerge";
import { z } from "zod";
import { decodeStored } from "../documents/index.js";
import type { FieldViolation } from "../errors.js";
import { Checker, checkLanguageTag, checkRegion, checkText, ID_PATTERN, quote, TextKind } from "../text.js";
import {
  assessmentSchema,
  checkAssessments,
  checkInstrument,
  checkLearning,
  count,
  formatInstrument,
  instrumentSchema,
  learningSchema,
  type Assessment,
  type InstrumentCheck,
  type InstrumentRef,
  type Learning,
  type RawAssessment,
  type RawLearning,
} from "./evaluation.js";

/**
 * Deliveries: a course run of a module at a hub — dates, place, participants by category
 * (with gender where reported), completed and passed counts, its evaluation at the first two levels
 * (evaluation.ts) — in the hub's `deliveries` document. Figures only: no learner is named anywhere (xAPI ingestion keeps pseudonyms in a private
 * document to count each learner once, see ingest.ts).
 */
export const DELIVERIES_KEY = "deliveries";
export const DELIVERY_SOURCES = ["manual", "xapi"] as const;
export type DeliverySource = (typeof DELIVERY_SOURCES)[number];

export interface ParticipantGroup {
  /** e.g. police, corrections, border, defence, civilian, learners. */
  category: string;
  female: number;
  male: number;
  /** Not reported, or neither. */
  unspecified: number;
}

export interface Delivery {
  id: string;
  /** A module of the hub's effective curriculum (core, as adopted, or local). */
  module: string;
  /** YYYY-MM-DD. */
  start: string;
  end: string;
  country: string;
  place: string;
  language: string;
  participants: ParticipantGroup[];
  completed: number;
  passed: number;
  /** Level 1, reaction: the course evaluation's responses, their mean score 0-100, the questionnaire used. */
  evaluation: { responses: number; meanScore: number; instrument?: InstrumentRef };
  /** Level 2, learning: per competency the module is aligned to and method, assessed and demonstrated. */
  assessments: Assessment[];
  /** Level 2, learning: pre/post assessment (absent: not measured). */
  learning?: Learning;
  /** YYYY-MM-DD: when this delivery's follow-up falls due, if not the module's period after its end. */
  followUpDue?: string;
  source: DeliverySource;
  visibility: "public" | "internal";
  recordedAt: string;
  recordedBy: string;
}

export type DeliveryDraft = Omit<Delivery, "recordedAt" | "recordedBy" | "source">;
/** As it arrives: visibility and instruments are free text ("" for the default, internal / none). */
export type RawDeliveryDraft = Omit<
  DeliveryDraft,
  "visibility" | "evaluation" | "assessments" | "learning" | "followUpDue"
> & {
  visibility: string;
  /** "" for the module's period after the end. */
  followUpDue?: string;
  evaluation: { responses: number; meanScore: number; instrument: string };
  assessments: RawAssessment[];
  learning: RawLearning;
};

export const NO_LEARNING: RawLearning = { assessed: 0, preMean: 0, postMean: 0, instrument: "" };

/** A stored delivery as a draft again (to change some of it and check the whole). */
export function rawOf(d: Delivery): RawDeliveryDraft {
  return {
    ...d,
    evaluation: { ...d.evaluation, instrument: formatInstrument(d.evaluation.instrument) },
    assessments: d.assessments.map((a) => ({ ...a })),
    learning: d.learning ? { ...d.learning, instrument: formatInstrument(d.learning.instrument) } : NO_LEARNING,
    followUpDue: d.followUpDue ?? "",
  };
}

/** What a delivery is checked against: the hub's modules (id → aligned competencies) and instruments. */
export interface DeliveryContext {
  modules: ReadonlyMap<string, readonly string[]>;
  instruments: InstrumentCheck;
}

export function participantsOf(d: Pick<Delivery, "participants">): number {
  return d.participants.reduce((sum, g) => sum + g.female + g.male + g.unspecified, 0);
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** A real calendar date written YYYY-MM-DD (not 2027-02-30, not 2027-13-01). */
export function isDay(v: string): boolean {
  const t = Date.parse(`${v}T00:00:00Z`);
  return DATE.test(v) && !Number.isNaN(t) && new Date(t).toISOString().slice(0, 10) === v;
}

function checkDay(c: Checker, field: string, value: string): string {
  const v = value.trim();
  if (c.characters(field, v, TextKind.Line) && !isDay(v)) c.fail(field, `${quote(v)} is not a date (YYYY-MM-DD)`);
  return v;
}

/** Checks a delivery against the hub's effective curriculum and the instruments that exist. */
export function validateDelivery(
  raw: RawDeliveryDraft,
  context: DeliveryContext,
  prefix = "delivery",
): { value: DeliveryDraft; violations: FieldViolation[] } {
  const c = new Checker();
  const f = (name: string) => `${prefix}.${name}`;
  const id = raw.id.trim();
  if (id === "") c.fail(f("id"), "is required");
  else if (c.characters(f("id"), id, TextKind.Line) && (id.length > 128 || !ID_PATTERN.test(id)))
    c.fail(f("id"), `${quote(id)} is not a valid id`);
  const module = raw.module.trim();
  if (module === "") c.fail(f("module"), "is required");
  else if (c.characters(f("module"), module, TextKind.Line) && !context.modules.has(module))
    c.fail(
      f("module"),
      `${quote(module)} is not a module of this hub's curriculum (the adopted release's or a local one)`,
    );
  const start = checkDay(c, f("start"), raw.start);
  const end = checkDay(c, f("end"), raw.end);
  if (!c.violations.some((v) => v.field === f("start") || v.field === f("end")) && end < start)
    c.fail(f("end"), `(${end}) is before start (${start})`);
  const country = raw.country.trim() === "" ? "" : checkRegion(c, f("country"), raw.country);
  const place = checkText(c, f("place"), raw.place, 200, false);
  const language = raw.language.trim() === "" ? "" : checkLanguageTag(c, f("language"), raw.language);
  if (raw.participants.length > 50) c.fail(f("participants"), `has ${raw.participants.length} groups; at most 50`);
  const seen = new Set<string>();
  const participants = raw.participants.slice(0, 50).map((g, i) => {
    const category = checkText(c, f(`participants[${i}].category`), g.category, 60, true).toLowerCase();
    if (seen.has(category)) c.fail(f(`participants[${i}].category`), `${quote(category)} is listed twice`);
    seen.add(category);
    return {
      category,
      female: count(c, f(`participants[${i}].female`), g.female),
      male: count(c, f(`participants[${i}].male`), g.male),
      unspecified: count(c, f(`participants[${i}].unspecified`), g.unspecified),
    };
  });
  const total = participants.reduce((s, g) => s + g.female + g.male + g.unspecified, 0);
  const completed = count(c, f("completed"), raw.completed);
  const passed = count(c, f("passed"), raw.passed);
  if (completed > total) c.fail(f("completed"), `(${completed}) is more than the participants (${total})`);
  if (passed > completed) c.fail(f("passed"), `(${passed}) is more than those who completed (${completed})`);
  const responses = count(c, f("evaluation.responses"), raw.evaluation.responses);
  const meanScore = raw.evaluation.meanScore;
  if (!Number.isFinite(meanScore) || meanScore < 0 || meanScore > 100)
    c.fail(f("evaluation.mean_score"), `${meanScore} is not a score from 0 to 100`);
  if (responses === 0 && meanScore !== 0) c.fail(f("evaluation.mean_score"), "is given without any responses");
  if (responses > total) c.fail(f("evaluation.responses"), `(${responses}) is more than the participants (${total})`);
  const instrument = checkInstrument(c, f("evaluation.instrument"), raw.evaluation.instrument, context.instruments);
  if (responses === 0 && instrument) c.fail(f("evaluation.instrument"), "is given without any responses");
  const assessments = checkAssessments(c, f("assessments"), raw.assessments, {
    competencies: context.modules.get(module) ?? [],
    module,
    participants: total,
  });
  const followUpDue = (raw.followUpDue ?? "").trim();
  if (followUpDue !== "") {
    const due = checkDay(c, f("follow_up_due"), followUpDue);
    if (isDay(due) && isDay(end) && due < end)
      c.fail(f("follow_up_due"), `(${due}) is before the delivery ends (${end})`);
  }
  const learning = checkLearning(c, f("learning"), raw.learning, {
    participants: total,
    instruments: context.instruments,
  });
  const visibility = raw.visibility.trim() === "" ? "internal" : raw.visibility.trim();
  if (visibility !== "public" && visibility !== "internal")
    c.fail(f("visibility"), `${quote(raw.visibility)} is not public or internal`);
  return {
    value: {
      id,
      module,
      start,
      end,
      country,
      place,
      language,
      participants,
      completed,
      passed,
      evaluation: { responses, meanScore, ...(instrument ? { instrument } : {}) },
      assessments,
      ...(learning ? { learning } : {}),
      ...(followUpDue !== "" ? { followUpDue } : {}),
      visibility: visibility === "public" ? "public" : "internal",
    },
    violations: c.violations,
  };
}

export function encodeDelivery(d: Delivery): ImmutableString {
  return new ImmutableString(
    JSON.stringify({
      id: d.id,
      module: d.module,
      start: d.start,
      end: d.end,
      country: d.country,
      place: d.place,
      language: d.language,
      participants: d.participants.map((g) => ({
        category: g.category,
        female: g.female,
        male: g.male,
        unspecified: g.unspecified,
      })),
      completed: d.completed,
      passed: d.passed,
      evaluation: {
        responses: d.evaluation.responses,
        meanScore: d.evaluation.meanScore,
        ...(d.evaluation.instrument ? { instrument: { ...d.evaluation.instrument } } : {}),
      },
      assessments: d.assessments.map((a) => ({
        competency: a.competency,
        method: a.method,
        assessed: a.assessed,
        demonstrated: a.demonstrated,
      })),
      ...(d.learning
        ? {
            learning: {
              assessed: d.learning.assessed,
              preMean: d.learning.preMean,
              postMean: d.learning.postMean,
              ...(d.learning.instrument ? { instrument: { ...d.learning.instrument } } : {}),
            },
          }
        : {}),
      ...(d.followUpDue ? { followUpDue: d.followUpDue } : {}),
      source: d.source,
      visibility: d.visibility,
      recordedAt: d.recordedAt,
      recordedBy: d.recordedBy,
    } satisfies Delivery),
  );
}

const count$ = z.number().int().min(0);
const deliverySchema = z.object({
  id: z.string(),
  module: z.string(),
  start: z.string(),
  end: z.string(),
  country: z.string(),
  place: z.string(),
  language: z.string(),
  participants: z.array(z.object({ category: z.string(), female: count$, male: count$, unspecified: count$ })),
  completed: count$,
  passed: count$,
  evaluation: z.object({ responses: count$, meanScore: z.number(), instrument: instrumentSchema.optional() }),
  // Deliveries recorded before evaluation by level had neither.
  assessments: z.array(assessmentSchema).default([]),
  learning: learningSchema.optional(),
  followUpDue: z.string().optional(),
  source: z.enum(DELIVERY_SOURCES),
  visibility: z.enum(["public", "internal"]),
  recordedAt: z.string(),
  recordedBy: z.string(),
});

export function decodeDelivery(stored: unknown): Delivery | undefined {
  return decodeStored(deliverySchema, stored);
}

/** A deliveries document's deliveries (those that decode), by start then id. */
export function deliveriesIn(doc: { deliveries?: Record<string, unknown> } | undefined): Delivery[] {
  return Object.values(doc?.deliveries ?? {})
    .flatMap((stored) => {
      const d = decodeDelivery(stored);
      return d ? [d] : [];
    })
    .sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : a.id < b.id ? -1 : 1));
}
