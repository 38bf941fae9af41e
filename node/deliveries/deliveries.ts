import { createHash, randomBytes } from "node:crypto";
import { ImmutableString } from "@automerge/automerge";
import type { VerifiedViews } from "../authority/index.js";
import type { Curriculum } from "../core/index.js";
import {
  DocumentType,
  textOf,
  type DocumentEdit,
  type OwnedDocuments,
  type OwnedDocumentSpec,
} from "../documents/index.js";
import { failedPrecondition, invalidArgument, notFound, type FieldViolation } from "../errors.js";
import { quote } from "../text.js";
import { ownedDocumentId, type Membership } from "../federation/index.js";
import {
  DELIVERIES_KEY,
  decodeDelivery,
  deliveriesIn,
  encodeDelivery,
  isDay,
  NO_LEARNING,
  participantsOf,
  rawOf,
  validateDelivery,
  type Delivery,
  type DeliveryContext,
  type RawDeliveryDraft,
} from "./model.js";
import {
  ASSESSMENT_METHODS,
  decodeFollowUps,
  encodeFollowUps,
  encodeIndicator,
  addDays,
  followUpDueOf,
  followUpsIn,
  indicatorKey,
  indicatorsIn,
  readAssessmentsCsv,
  readFollowUpsCsv,
  validateFollowUp,
  validateIndicator,
  type FollowUp,
  type FollowUpDraft,
  type Indicator,
  type IndicatorDraft,
  type InstrumentCheck,
  type RawAssessment,
} from "./evaluation.js";
import {
  assessmentJudge,
  completionJudge,
  figures,
  fold,
  foldScores,
  latestStored,
  learnersOf,
  readStatements,
  scoresOf,
  voidedTarget,
  type Entry,
  type Kept,
  type IngestState,
  type ScoreState,
} from "./xapi.js";

/** What xAPI scores can be folded into: the course evaluation, the test before, the test after. */
export const SCORE_LEVELS = ["reaction", "pre", "post"] as const;

const PRIVATE_KEY = "deliveries-private";

export function deliveriesSpecs(): OwnedDocumentSpec[] {
  return [
    {
      key: DELIVERIES_KEY,
      type: DocumentType.Deliveries,
      replicated: true,
      initial: { deliveries: {}, followUps: {}, indicators: {} },
    },
    // Never replicated: the pseudonym secret and, per delivery, hashes of ingested statements and pseudonyms.
    { key: PRIVATE_KEY, type: DocumentType.PrivateDeliveries, replicated: false, initial: { ingest: {} } },
  ];
}

interface DeliveriesDoc {
  deliveries?: Record<string, unknown>;
  /** Per delivery id, its level-3 follow-ups (evaluation.ts). */
  followUps?: Record<string, unknown>;
  /** Level-4 indicators, by `indicator|from|to`. */
  indicators?: Record<string, unknown>;
}

/** A follow-up that falls due: a delivery of a module that asks for one, with none recorded yet. */
export interface DueFollowUp {
  delivery: string;
  module: string;
  end: string;
  due: string;
  /** Days past due at the time asked (negative: due in that many days). */
  overdueDays: number;
}

/** How xAPI results count as an assessment: of which competency, by which method, passing at which scaled score. */
export interface AssessmentTarget {
  competency: string;
  method: string;
  mastery: number;
}

const DAY_MS = 86_400_000;

interface PrivateDoc {
  secret?: ImmutableString;
  /**
   * Per delivery: its statements joined by "," (each `hash`, `hash:LEARNER-INDEX:REACHED`, `hash:w`
   * voiding, `hash:v` / `hash:V` voided before / after it came), and its learners' `pseudonym:state`
   * pairs joined by "," (one ImmutableString each); per pulled source (`ID@lrs:HASH`), its cursor.
   */
  ingest?: Record<string, { statements?: ImmutableString; learners?: ImmutableString; cursor?: ImmutableString }>;
}

/** Where an xAPI ingestion goes: an existing xAPI delivery, or a new one with these fields. */
export type IngestTarget = Omit<
  RawDeliveryDraft,
  "participants" | "completed" | "passed" | "evaluation" | "assessments" | "learning"
>;

/**
 * A hub's course deliveries: recorded by hand (figures as reported) or folded from xAPI / cmi5
 * statements. Other hubs' deliveries are read as of their latest verified checkpoint (for reports).
 */
export class Deliveries {
  readonly #self: string;
  readonly #documents: OwnedDocuments;
  readonly #curriculum: Curriculum;
  readonly #views: VerifiedViews;
  readonly #membership: Membership;
  readonly #instruments: InstrumentCheck;

  constructor(
    init: { hubId: string },
    components: {
      documents: OwnedDocuments;
      curriculum: Curriculum;
      views: VerifiedViews;
      membership: Membership;
      /** Whether an evaluation instrument exists (the case repository knows). */
      instruments: InstrumentCheck;
    },
  ) {
    this.#self = init.hubId;
    this.#documents = components.documents;
    this.#curriculum = components.curriculum;
    this.#views = components.views;
    this.#membership = components.membership;
    this.#instruments = components.instruments;
  }

  async #context(): Promise<DeliveryContext & { followUpDays: Map<string, number> }> {
    const modules = (await this.#curriculum.effective()).modules;
    return {
      modules: new Map(modules.map((m) => [m.id, m.competencies])),
      instruments: this.#instruments,
      followUpDays: new Map(
        modules.flatMap((m) => (m.followUpAfterDays === undefined ? [] : [[m.id, m.followUpAfterDays] as const])),
      ),
    };
  }

  #doc(): DeliveriesDoc {
    return this.#documents.get<DeliveriesDoc>(DELIVERIES_KEY);
  }

  #stored(id: string): Delivery | undefined {
    return decodeDelivery(this.#doc().deliveries?.[id]);
  }

  /** Records (adds or replaces) a delivery's reported figures. */
  async record(operatorId: string, draft: RawDeliveryDraft): Promise<Delivery> {
    const { value, violations } = validateDelivery(draft, await this.#context());
    if (violations.length > 0) throw invalidArgument(violations);
    const delivery: Delivery = {
      ...value,
      source: "manual",
      recordedAt: new Date().toISOString(),
      recordedBy: operatorId,
    };
    await this.#documents.transact({ operatorId, action: "delivery.record", subjects: [delivery.id] }, () => {
      if (this.#stored(delivery.id)?.source === "xapi")
        throw failedPrecondition(
          `delivery '${delivery.id}' is counted from xAPI statements; ingest into it, or record under another id`,
        );
      return {
        edits: [
          {
            key: DELIVERIES_KEY,
            subject: delivery.id,
            change: (doc) => ((doc.deliveries as Record<string, unknown>)[delivery.id] = encodeDelivery(delivery)),
          },
        ],
        result: undefined,
      };
    });
    return delivery;
  }

  /**
   * Folds a file of xAPI statements into delivery `target.id` (created with `target`'s fields when
   * new). Every statement is checked first; statements seen before count once; voided ones not at
   * all; learners are counted once each and kept only as pseudonyms in the private document, in the
   * same batch as the figures. With `source` (statements pulled from an LRS), the latest `stored`
   * among them becomes that source's cursor, in the same batch.
   */
  async ingest(
    operatorId: string,
    target: IngestTarget,
    json: string,
    options: { mastery?: number; source?: string } = {},
  ): Promise<{ delivery: Delivery; added: number; duplicates: number; voided: number; cursor: string }> {
    const { statements, violations } = readStatements(json);
    const mastery = options.mastery ?? 0;
    if (!Number.isFinite(mastery) || mastery < 0 || mastery > 1)
      violations.unshift({ field: "mastery", description: `${mastery} is not a scaled score from 0 to 1` });
    const source = options.source ?? "";
    if (source.length > 4096) violations.unshift({ field: "source", description: "is longer than 4,096 characters" });
    if (violations.length > 0)
      throw invalidArgument(
        violations.slice(0, 100),
        `${violations.length} problem(s) in the statements; nothing was counted:\n${violations
          .slice(0, 20)
          .map((v) => `  ${v.field}: ${v.description}`)
          .join("\n")}`,
      );
    const context = await this.#context();
    return this.#documents.transact({ operatorId, action: "delivery.ingest", subjects: [target.id] }, () => {
      const existing = this.#stored(target.id.trim());
      if (existing && existing.source !== "xapi")
        throw failedPrecondition(
          `delivery '${target.id}' was recorded by hand; ingest statements into another delivery id`,
        );
      const base: RawDeliveryDraft = existing
        ? rawOf(existing)
        : {
            ...target,
            participants: [],
            completed: 0,
            passed: 0,
            evaluation: { responses: 0, meanScore: 0, instrument: "" },
            assessments: [],
            learning: NO_LEARNING,
          };
      const priv = this.#documents.get<PrivateDoc>(PRIVATE_KEY);
      const secretHex = textOf(priv.secret) ?? randomBytes(32).toString("hex");
      const before = readState(priv.ingest?.[target.id.trim()]);
      const folded = fold(
        before,
        statements,
        Buffer.from(secretHex, "hex"),
        target.id.trim(),
        completionJudge(mastery),
      );
      const counts = figures(folded.state);
      const checked = validateDelivery(
        {
          ...base,
          participants: [{ category: "learners", female: 0, male: 0, unspecified: counts.learners }],
          completed: counts.completed,
          passed: counts.passed,
        },
        context,
      );
      if (checked.violations.length > 0) throw invalidArgument(checked.violations);
      const delivery: Delivery = {
        ...checked.value,
        source: "xapi",
        recordedAt: new Date().toISOString(),
        recordedBy: operatorId,
      };
      const id = delivery.id;
      const cursorKey = source === "" ? "" : sourceKey(id, source);
      const cursor = source === "" ? "" : latestStored(statements, textOf(priv.ingest?.[cursorKey]?.cursor) ?? "");
      return {
        edits: [
          {
            key: DELIVERIES_KEY,
            subject: id,
            change: (doc) => ((doc.deliveries as Record<string, unknown>)[id] = encodeDelivery(delivery)),
          },
          privateState(id, id, secretHex, writeState(folded.state)),
          ...(cursor === "" ? [] : [privateState(id, cursorKey, secretHex, { cursor: new ImmutableString(cursor) })]),
        ],
        result: { delivery, added: folded.added, duplicates: folded.duplicates, voided: folded.voided, cursor },
      };
    });
  }

  /**
   * The cursor of statements pulled from `source` into delivery `id`: the latest `stored` among
   * them ("" before the first pull), to ask the LRS only for statements stored since.
   */
  cursor(id: string, source: string): string {
    const priv = this.#documents.get<PrivateDoc>(PRIVATE_KEY);
    return textOf(priv.ingest?.[sourceKey(id.trim(), source)]?.cursor) ?? "";
  }

  /**
   * Sets a delivery's assessments, from a form (`rows`) or a CSV file (`csv`): each row gives one
   * competency and method's figures, replacing that pair's; pairs not given are kept. The whole
   * delivery is checked again (competencies of its module, counts within its participants).
   */
  async assess(
    operatorId: string,
    id: string,
    input: { rows: readonly RawAssessment[] } | { csv: string },
  ): Promise<Delivery> {
    let rows: readonly RawAssessment[];
    if ("csv" in input) {
      const read = readAssessmentsCsv(input.csv);
      if (read.violations.length > 0)
        throw invalidArgument(read.violations.slice(0, 100), problemsText("the CSV", read.violations));
      rows = read.rows;
    } else rows = input.rows;
    if (rows.length === 0) throw invalidArgument([{ field: "assessments", description: "none given" }]);
    const context = await this.#context();
    return this.#documents.transact({ operatorId, action: "delivery.assess", subjects: [id] }, () => {
      const existing = this.#stored(id.trim());
      if (!existing) throw notFound(`no delivery ${quote(id)} at this hub`);
      const given = new Set(rows.map((r) => `${r.competency.trim()}\n${r.method.trim().toLowerCase()}`));
      const kept = existing.assessments.filter((a) => !given.has(`${a.competency}\n${a.method}`));
      return this.#replace(operatorId, existing, { assessments: [...kept, ...rows] }, context);
    });
  }

  /**
   * Counts xAPI / cmi5 results as one competency's assessment by one method: each learner once (a
   * pseudonym, as for the delivery's figures), demonstrated when any of their statements passed.
   */
  async ingestAssessment(
    operatorId: string,
    id: string,
    target: AssessmentTarget,
    json: string,
  ): Promise<{ delivery: Delivery; added: number; duplicates: number; withoutResult: number }> {
    const problems: FieldViolation[] = [];
    const method = target.method.trim().toLowerCase();
    if (!(ASSESSMENT_METHODS as readonly string[]).includes(method))
      problems.push({
        field: "method",
        description: `${quote(target.method)} is not one of ${ASSESSMENT_METHODS.join(", ")}`,
      });
    if (!Number.isFinite(target.mastery) || target.mastery <= 0 || target.mastery > 1)
      problems.push({ field: "mastery", description: `${target.mastery} is not a scaled score above 0 and at most 1` });
    const { statements, violations } = readStatements(json);
    problems.push(...violations);
    if (problems.length > 0)
      throw invalidArgument(problems.slice(0, 100), problemsText("the statements", problems, "nothing was counted"));
    const context = await this.#context();
    const competency = target.competency.trim();
    return this.#documents.transact({ operatorId, action: "delivery.assess", subjects: [id] }, () => {
      const existing = this.#stored(id.trim());
      if (!existing) throw notFound(`no delivery ${quote(id)} at this hub`);
      const priv = this.#documents.get<PrivateDoc>(PRIVATE_KEY);
      const secretHex = textOf(priv.secret) ?? randomBytes(32).toString("hex");
      const stateKey = `${existing.id}#${competency}#${method}`;
      const judge = assessmentJudge(target.mastery);
      const folded = fold(
        readState(priv.ingest?.[stateKey]),
        statements,
        Buffer.from(secretHex, "hex"),
        existing.id,
        judge,
      );
      const counts = figures(folded.state);
      const withoutResult = statements.filter((s) => voidedTarget(s) === undefined && judge(s) === undefined).length;
      const assessments = [
        ...existing.assessments.filter((a) => !(a.competency === competency && a.method === method)),
        { competency, method, assessed: counts.learners, demonstrated: counts.passed },
      ];
      const { edits, result } = this.#replace(operatorId, existing, { assessments }, context);
      return {
        edits: [...edits, privateState(existing.id, stateKey, secretHex, writeState(folded.state))],
        result: { delivery: result, added: folded.added, duplicates: folded.duplicates, withoutResult },
      };
    });
  }

  /**
   * Folds xAPI / cmi5 scores into a delivery's level-1 or level-2 figures: `reaction`, an
   * end-of-course questionnaire (responses and their mean score); `pre` or `post`, the tests before
   * and after the course (the learners who took both, and their means). Each learner counts once,
   * with their latest score, as a pseudonym in the private document; each statement once.
   */
  async ingestScores(
    operatorId: string,
    id: string,
    target: { level: string; instrument: string },
    json: string,
  ): Promise<{ delivery: Delivery; added: number; duplicates: number; withoutScore: number }> {
    const problems: FieldViolation[] = [];
    const level = target.level.trim().toLowerCase();
    if (!(SCORE_LEVELS as readonly string[]).includes(level))
      problems.push({
        field: "level",
        description: `${quote(target.level)} is not one of ${SCORE_LEVELS.join(", ")} (the course evaluation, the test before, the test after)`,
      });
    const { statements, violations } = readStatements(json);
    problems.push(...violations);
    if (problems.length > 0)
      throw invalidArgument(problems.slice(0, 100), problemsText("the statements", problems, "nothing was counted"));
    const context = await this.#context();
    return this.#documents.transact({ operatorId, action: "delivery.scores", subjects: [id] }, () => {
      const existing = this.#stored(id.trim());
      if (!existing) throw notFound(`no delivery ${quote(id)} at this hub`);
      const priv = this.#documents.get<PrivateDoc>(PRIVATE_KEY);
      const secretHex = textOf(priv.secret) ?? randomBytes(32).toString("hex");
      const key = (l: string) => `${existing.id}#${l}`;
      const folded = foldScores(
        readScores(priv.ingest?.[key(level)]),
        statements,
        Buffer.from(secretHex, "hex"),
        existing.id,
      );
      const scores = scoresOf(folded.state);
      const mean = (values: number[]) =>
        values.length === 0 ? 0 : Math.round((values.reduce((s, v) => s + v, 0) / values.length) * 1000) / 10;
      const raw = rawOf(existing);
      let change: Partial<RawDeliveryDraft>;
      if (level === "reaction")
        change = {
          evaluation: {
            responses: scores.size,
            meanScore: mean([...scores.values()]),
            instrument: target.instrument.trim() || raw.evaluation.instrument,
          },
        };
      else {
        const pre = level === "pre" ? scores : scoresOf(readScores(priv.ingest?.[key("pre")]));
        const post = level === "post" ? scores : scoresOf(readScores(priv.ingest?.[key("post")]));
        const both = [...pre.keys()].filter((k) => post.has(k));
        // Until a learner has taken both tests, the figures recorded so far stand.
        change =
          both.length === 0
            ? {}
            : {
                learning: {
                  assessed: both.length,
                  preMean: mean(both.map((k) => pre.get(k) as number)),
                  postMean: mean(both.map((k) => post.get(k) as number)),
                  instrument: target.instrument.trim() || raw.learning.instrument,
                },
              };
      }
      const { edits, result } = this.#replace(operatorId, existing, change, context);
      return {
        edits: [...edits, privateState(existing.id, key(level), secretHex, writeScores(folded.state))],
        result: {
          delivery: result,
          added: folded.added,
          duplicates: folded.duplicates,
          withoutScore: folded.withoutScore,
        },
      };
    });
  }

  /** The edit that stores `existing` with `change` applied, checked whole. */
  #replace(
    operatorId: string,
    existing: Delivery,
    change: Partial<RawDeliveryDraft>,
    context: DeliveryContext,
  ): { edits: DocumentEdit[]; result: Delivery } {
    const checked = validateDelivery({ ...rawOf(existing), ...change }, context);
    if (checked.violations.length > 0) throw invalidArgument(checked.violations);
    const delivery: Delivery = {
      ...checked.value,
      source: existing.source,
      recordedAt: new Date().toISOString(),
      recordedBy: operatorId,
    };
    return {
      edits: [
        {
          key: DELIVERIES_KEY,
          subject: delivery.id,
          change: (doc) => ((doc.deliveries as Record<string, unknown>)[delivery.id] = encodeDelivery(delivery)),
        },
      ],
      result: delivery,
    };
  }

  /**
   * Records a level-3 follow-up of one of this hub's deliveries; one conducted on the same day from
   * the same source replaces it (a correction).
   */
  async recordFollowUp(operatorId: string, draft: FollowUpDraft): Promise<FollowUp> {
    const { value, violations } = this.#checkFollowUp(draft);
    if (violations.length > 0) throw invalidArgument(violations);
    const [followUp] = await this.#writeFollowUps(operatorId, [value]);
    return followUp as FollowUp;
  }

  #checkFollowUp(draft: FollowUpDraft): ReturnType<typeof validateFollowUp> {
    const delivery = this.#stored(draft.delivery.trim());
    return validateFollowUp(
      draft,
      delivery && { id: delivery.id, end: delivery.end, participants: participantsOf(delivery) },
      this.#instruments,
      isDay,
    );
  }

  /**
   * Writes checked follow-ups in one batch: each replaces one of its delivery's conducted on the
   * same day from the same source; a delivery gone meanwhile refuses the whole batch.
   */
  async #writeFollowUps(
    operatorId: string,
    values: ReadonlyArray<Omit<FollowUp, "recordedAt" | "recordedBy">>,
  ): Promise<FollowUp[]> {
    const at = new Date().toISOString();
    const followUps: FollowUp[] = values.map((v) => ({ ...v, recordedAt: at, recordedBy: operatorId }));
    const ids = [...new Set(followUps.map((f) => f.delivery))];
    await this.#documents.transact({ operatorId, action: "delivery.follow-up", subjects: ids }, () => ({
      edits: ids.map((id): DocumentEdit => {
        if (!this.#stored(id)) throw notFound(`no delivery ${quote(id)} at this hub`);
        const mine = followUps.filter((f) => f.delivery === id);
        const kept = decodeFollowUps(this.#doc().followUps?.[id]).filter(
          (f) => !mine.some((m) => m.conductedOn === f.conductedOn && m.source === f.source),
        );
        return {
          key: DELIVERIES_KEY,
          subject: id,
          change: (doc) => {
            doc.followUps ??= {};
            (doc.followUps as Record<string, unknown>)[id] = encodeFollowUps([...kept, ...mine]);
          },
        };
      }),
      result: undefined,
    }));
    return followUps;
  }

  /**
   * Follow-ups from a CSV file, all or nothing: every row is checked first (as `recordFollowUp`
   * checks one), each problem named with its line; then all are written in one batch.
   */
  async importFollowUps(operatorId: string, csv: string): Promise<FollowUp[]> {
    const read = readFollowUpsCsv(csv);
    const violations: FieldViolation[] = [...read.violations];
    const values = read.rows.flatMap(({ line, draft }) => {
      const checked = this.#checkFollowUp(draft);
      violations.push(
        ...checked.violations.map((v) => ({
          field: `csv line ${line}, ${v.field.replace(/^follow_up\./, "")}`,
          description: v.description,
        })),
      );
      return [checked.value];
    });
    const seen = new Map<string, number>();
    read.rows.forEach(({ line, draft }, i) => {
      const key = `${draft.delivery.trim()}\n${draft.conductedOn.trim()}\n${values[i]?.source ?? ""}`;
      const first = seen.get(key);
      if (first !== undefined)
        violations.push({
          field: `csv line ${line}`,
          description: `the same follow-up as line ${first} (delivery, date and source)`,
        });
      else seen.set(key, line);
    });
    if (violations.length > 0) throw invalidArgument(violations.slice(0, 100), problemsText("the CSV", violations));
    return this.#writeFollowUps(operatorId, values);
  }

  /** A hub's follow-ups (this hub's live, another's as verified), of one delivery or all. */
  followUps(hub = this.#self, delivery = ""): FollowUp[] {
    const all = followUpsIn(this.#read(hub));
    return delivery === "" ? all : all.filter((f) => f.delivery === delivery);
  }

  /** Records (or corrects) a level-4 indicator's figure for a period. */
  async recordIndicator(operatorId: string, draft: IndicatorDraft): Promise<Indicator> {
    const { value, violations } = validateIndicator(draft);
    if (violations.length > 0) throw invalidArgument(violations);
    const indicator: Indicator = { ...value, recordedAt: new Date().toISOString(), recordedBy: operatorId };
    const key = indicatorKey(indicator);
    await this.#documents.transact({ operatorId, action: "delivery.indicator", subjects: [key] }, () => ({
      edits: [
        {
          key: DELIVERIES_KEY,
          subject: key,
          change: (doc) => {
            doc.indicators ??= {};
            (doc.indicators as Record<string, unknown>)[key] = encodeIndicator(indicator);
          },
        },
      ],
      result: undefined,
    }));
    return indicator;
  }

  indicators(hub = this.#self): Indicator[] {
    return indicatorsIn(this.#read(hub));
  }

  /**
   * The follow-ups that fall due by `at` + `withinDays` (YYYY-MM-DD): this hub's deliveries with a
   * follow-up date (their own, or the module's period after their end) and no follow-up recorded
   * yet, most overdue first.
   */
  async due(at: string, withinDays: number): Promise<DueFollowUp[]> {
    const problems: FieldViolation[] = [];
    if (!isDay(at)) problems.push({ field: "at", description: `${quote(at)} is not a date (YYYY-MM-DD)` });
    if (!Number.isInteger(withinDays) || withinDays < 0 || withinDays > 3660)
      problems.push({ field: "within_days", description: `${withinDays} is not a number of days (0 to 3,660)` });
    if (problems.length > 0) throw invalidArgument(problems);
    const { followUpDays } = await this.#context();
    const followed = new Set(this.followUps().map((f) => f.delivery));
    const horizon = addDays(at, withinDays);
    const atMs = Date.parse(`${at}T00:00:00Z`);
    return this.list()
      .flatMap((d): DueFollowUp[] => {
        const days = followUpDays.get(d.module);
        const due = followUpDueOf(d, days);
        if (due === undefined || followed.has(d.id)) return [];
        if (due > horizon) return [];
        return [
          {
            delivery: d.id,
            module: d.module,
            end: d.end,
            due,
            overdueDays: Math.round((atMs - Date.parse(`${due}T00:00:00Z`)) / DAY_MS),
          },
        ];
      })
      .sort((a, b) => (a.due < b.due ? -1 : a.due > b.due ? 1 : a.delivery < b.delivery ? -1 : 1));
  }

  /** Stores this hub's response to an audit's findings (audits.ts) beside the delivery it answers for. */
  async writeResponse(operatorId: string, key: string, value: unknown): Promise<void> {
    await this.#documents.transact({ operatorId, action: "audit.respond", subjects: [key] }, () => ({
      edits: [
        {
          key: DELIVERIES_KEY,
          subject: key,
          change: (doc) => {
            doc.auditResponses ??= {};
            (doc.auditResponses as Record<string, unknown>)[key] = value;
          },
        },
      ],
      result: undefined,
    }));
  }

  /** A hub's deliveries document as plain data (its audit responses too). */
  document(hub = this.#self): unknown {
    return this.#read(hub);
  }

  /** A hub's deliveries document: this hub's live, another's as of its latest verified checkpoint. */
  #read(hub: string): DeliveriesDoc | undefined {
    if (hub === this.#self) return this.#doc();
    const member = this.#membership.member(hub);
    return member
      ? (this.#views.view(ownedDocumentId(member.directoryId, DELIVERIES_KEY))?.doc as DeliveriesDoc | undefined)
      : undefined;
  }

  /** One delivery: this hub's live, another's as of its latest verified checkpoint. */
  get(id: string, hub = this.#self): Delivery {
    const d = hub === this.#self ? this.#stored(id) : decodeDelivery(this.#read(hub)?.deliveries?.[id]);
    if (!d)
      throw notFound(
        hub === this.#self
          ? `no delivery ${quote(id)} at this hub`
          : `no delivery ${quote(id)} of hub ${quote(hub)} is known here (as of its latest verified checkpoint)`,
      );
    return d;
  }

  /** A hub's deliveries (this hub's live, another's as of its latest verified checkpoint), by start. */
  list(hub = this.#self): Delivery[] {
    return deliveriesIn(this.#read(hub));
  }
}

/** A message that lists the first problems, for a file with many. */
function problemsText(what: string, problems: readonly FieldViolation[], consequence = "nothing was written"): string {
  return `${problems.length} problem(s) in ${what}; ${consequence}:\n${problems
    .slice(0, 20)
    .map((v) => `  ${v.field}: ${v.description}`)
    .join("\n")}`;
}

/** The edit that keeps an ingestion's state (and, the first time, the pseudonym secret) in the private document. */
function privateState(subject: string, stateKey: string, secretHex: string, state: unknown): DocumentEdit {
  return {
    key: PRIVATE_KEY,
    subject,
    change: (doc) => {
      if (doc.secret === undefined) doc.secret = new ImmutableString(secretHex);
      (doc.ingest as Record<string, unknown>)[stateKey] = state;
    },
  };
}

type StoredState = { statements?: ImmutableString; learners?: ImmutableString } | undefined;

/**
 * An ingest state as stored: its statements in the order read, joined by "," (each `hash` saying
 * nothing, `hash:LEARNER-INDEX:VALUE` counting, `hash:w` voiding, `hash:v` / `hash:V` voided before /
 * after it came), and its learners' `pseudonym:summary` pairs (the index table) joined by ",".
 * Statements read before learners were kept per statement (bare hashes, with `pseudonym:summary`
 * learners) still count as they did, but cannot be voided.
 */
function readKept<V>(stored: StoredState, decode: (text: string) => V | undefined): Kept<V> {
  const items = (textOf(stored?.statements) ?? "").split(",").filter((x) => x !== "");
  const learners = (textOf(stored?.learners) ?? "")
    .split(",")
    .filter((x) => x !== "")
    .map((pair) => pair.split(":"));
  const statements = new Map<string, Entry<V>>();
  if (!items.some((x) => x.includes(":")))
    for (const [k = "", v = ""] of learners) {
      const value = decode(v);
      if (value !== undefined) statements.set(`L${k}`, { kind: "counts", learner: k, value });
    }
  for (const item of items) {
    const [hash = "", a, b = ""] = item.split(":");
    const learner = a === undefined ? undefined : learners[Number(a)]?.[0];
    const value = decode(b);
    if (a === "w") statements.set(hash, { kind: "voiding" });
    else if (a === "v" || a === "V") statements.set(hash, { kind: "voided", received: a === "V" });
    else if (learner === undefined || value === undefined) statements.set(hash, { kind: "none" });
    else statements.set(hash, { kind: "counts", learner, value });
  }
  return { statements };
}

function writeKept<V>(
  state: Kept<V>,
  summary: Map<string, V>,
): { statements: ImmutableString; learners: ImmutableString } {
  const learners = [...summary];
  const index = new Map(learners.map(([k], i) => [k, i]));
  const items = [...state.statements].map(([hash, e]) =>
    e.kind === "counts"
      ? `${hash}:${index.get(e.learner)}:${e.value}`
      : e.kind === "voiding"
        ? `${hash}:w`
        : e.kind === "voided"
          ? `${hash}:${e.received ? "V" : "v"}`
          : hash,
  );
  return {
    statements: new ImmutableString(items.join(",")),
    learners: new ImmutableString(learners.map(([k, v]) => `${k}:${v}`).join(",")),
  };
}

const readState = (stored: StoredState): IngestState => readKept(stored, (v) => (v === "p" || v === "c" ? v : ""));
const writeState = (state: IngestState) => writeKept(state, learnersOf(state));
const readScores = (stored: StoredState): ScoreState =>
  readKept(stored, (v) => {
    const n = v === "" ? Number.NaN : Number(v);
    return Number.isFinite(n) ? n : undefined;
  });
const writeScores = (state: ScoreState) => writeKept(state, scoresOf(state));

/** Where a pulled source's cursor is kept: the delivery and a hash of the source (LRS and query). */
function sourceKey(id: string, source: string): string {
  return `${id}@lrs:${createHash("sha256").update(source).digest("hex").slice(0, 24)}`;
}
