import type { Checkpoint } from "../authority/index.js";
import { withAncestors, type CompetencyTree } from "../core/index.js";
import {
  ASSESSMENT_METHODS,
  followUpDueOf,
  formatInstrument,
  participantsOf,
  type Delivery,
  type FollowUp,
  type Indicator,
} from "../deliveries/index.js";
import type { AuditResponse, FindingBody } from "../audits/index.js";
import { grievanceReportFigures, type Grievance, type GrievanceFigures } from "../grievances/index.js";
import { planVsActualOf, type PlanActualRow, type SignedPlanBody } from "../plans/index.js";

/**
 * The coverage report, computed by a pure function from what the federation signed: per
 * hub and competency, trainers with verified active accreditations and those expiring soon; adapted
 * modules and the release they follow; deliveries and completion in a period, and their evaluation
 * at four levels (docs/evaluation.md); and the gaps. Every
 * hub's section names the checkpoints its figures come from. No trainer is named: figures only.
 */
export const EXPIRY_WINDOW_DAYS = 90;
const DAY_MS = 86_400_000;

/** A checkpoint a report was computed from, as its owner signed it, with the document's type. */
export interface SourceCheckpoint {
  /** The owning hub (empty for the charter and the core: the secretariat's, by the trust anchor). */
  hub: string;
  type: string;
  checkpoint: Checkpoint;
  signature: string;
}

/** Every checkpoint a report was computed from: enough for `report verify` to rebuild its input from an audit bundle. */
export interface ReportSources {
  charter: SourceCheckpoint;
  releases: SourceCheckpoint[];
  documents: SourceCheckpoint[];
}

/** A hub's section names the checkpoints its figures come from, briefly (the full ones are in `sources`). */
export interface CheckpointRef {
  document: string;
  type: string;
  seq: number;
  time: string;
}

export interface HubInput {
  hub: string;
  name: string;
  checkpoints: CheckpointRef[];
  /** Verified trainers: their accreditations (verified, not suspended or revoked) and the countries they serve. */
  trainers: Array<{
    regions: string[];
    accreditations: Array<{ competency: string; validFrom: number; validUntil: number }>;
  }>;
  adopted: string | undefined;
  adaptations: Array<{ id: string; target: { kind: string; id: string }; needsReview: boolean }>;
  /** Module ids of its effective curriculum. */
  modules: string[];
  /** Module id → days after a delivery's end when its follow-up falls due (modules that set one). */
  followUpDays: Record<string, number>;
  deliveries: Delivery[];
  followUps: FollowUp[];
  indicators: Indicator[];
  /** Its grievance register's replicated records (codes and days; docs/grievances.md). */
  grievances?: Grievance[];
}

export interface ReportInput {
  generatedAt: string;
  /** When accreditations are judged active (the report's time, or a period's end for a baseline). */
  asOf: string;
  period: { from: string; to: string };
  latestRelease: string | undefined;
  competencies: Array<{ id: string; code: string }>;
  parents: Record<string, string[]>;
  hubs: HubInput[];
  /** Leave out what is marked internal (deliveries). */
  publicOnly: boolean;
  audits: AuditInput[];
  /** Members' signed annual plans whose signatures verified (node/plans). */
  plans?: SignedPlanBody[];
  sources: ReportSources;
}

/** An audit as the report reads it (signed-state.ts checks the seed and every finding first). */
export interface AuditInput {
  id: string;
  period: { from: string; to: string };
  perHub: number;
  drawnAt: string;
  seed: { document: string; seq: number; time: string; signature: string } | null;
  seedProblem: string | null;
  populations: Array<{
    hub: string;
    checkpoint: { document: string; seq: number; time: string } | null;
    deliveries: number;
  }>;
  sample: Array<{ hub: string; delivery: string }>;
  findings: Array<{ storedBy: string; finding: FindingBody; signature: string; problem: string | null }>;
  responses: Array<AuditResponse & { hub: string }>;
}

/** An audit in a report: its sample with the findings and responses on each delivery, and the counts per hub. */
export interface AuditReport {
  id: string;
  period: { from: string; to: string };
  perHub: number;
  drawnAt: string;
  seed: AuditInput["seed"];
  seedProblem: string | null;
  populations: AuditInput["populations"];
  sample: Array<{
    hub: string;
    delivery: string;
    findings: Array<FindingBody & { signature: string; storedBy: string }>;
    response: { stance: string; note: string; at: string } | null;
  }>;
  hubs: Array<{ hub: string; sampled: number; audited: number; confirmed: number; disputed: number }>;
  /** Findings that do not count, and why (not signed by a panel member, edited after signing, not sampled). */
  rejectedFindings: Array<{ storedBy: string; evaluator: string; hub: string; delivery: string; problem: string }>;
}

export interface CompetencyCoverage {
  competency: string;
  code: string;
  activeTrainers: number;
  expiringWithin90Days: number;
}

export interface HubCoverage {
  hub: string;
  name: string;
  checkpoints: CheckpointRef[];
  trainers: number;
  competencies: CompetencyCoverage[];
  adoptedRelease: string | null;
  behindLatest: boolean;
  adaptedModules: string[];
  adaptationsAwaitingReview: string[];
  deliveries: {
    count: number;
    participants: number;
    female: number;
    male: number;
    unspecified: number;
    completed: number;
    passed: number;
    completionRate: number | null;
    passRate: number | null;
  };
  modulesNeverDelivered: string[];
  evaluation: HubEvaluation;
  /** Grievances received in the period, as they stood at `asOf`: figures only. */
  grievances: GrievanceFigures;
}

/** One competency assessed by one method: how many were assessed, how many demonstrated it. */
export interface AssessmentFigures {
  competency: string;
  code: string;
  method: string;
  assessed: number;
  demonstrated: number;
  rate: number | null;
}

/** A hub's deliveries in the period, evaluated at the four levels. */
export interface HubEvaluation {
  reaction: { deliveries: number; responses: number; meanScore: number | null; instruments: string[] };
  learning: {
    assessments: AssessmentFigures[];
    prePost: {
      deliveries: number;
      assessed: number;
      preMean: number | null;
      postMean: number | null;
      gain: number | null;
      instruments: string[];
    };
  };
  behaviour: {
    /** Deliveries whose module sets a follow-up period. */
    expected: number;
    /** Of them, with at least one follow-up recorded. */
    followedUp: number;
    /** Due by the report's time and not followed up. */
    overdue: number;
    followUps: number;
    reached: number;
    applying: number;
    applicationRate: number | null;
    instruments: string[];
  };
  /** Level-4 indicators whose period lies within the report's. */
  results: Array<{ indicator: string; from: string; to: string; value: number; unit: string; source: string }>;
}

/** Whether one level's figures compare across hubs: only when every hub used the same instrument. */
export interface Comparability {
  level: "reaction" | "learning" | "behaviour";
  comparable: boolean;
  /** Each instrument used and the hubs that used it ("none": figures without a named instrument). */
  instruments: Array<{ instrument: string; hubs: string[] }>;
  note: string;
}

export interface CoverageReport {
  kind: "concordat.coverage/1";
  generatedAt: string;
  asOf: string;
  period: { from: string; to: string };
  latestRelease: string | null;
  publicOnly: boolean;
  hubs: HubCoverage[];
  gaps: {
    noActiveTrainer: Array<{ competency: string; code: string; region: string }>;
    expiring: Array<{ hub: string; competency: string; count: number }>;
    awaitingReview: Array<{ hub: string; adaptation: string }>;
    behindRelease: Array<{ hub: string; adopted: string | null; latest: string }>;
    neverDelivered: Array<{ hub: string; module: string }>;
    followUpsOverdue: Array<{ hub: string; count: number }>;
  };
  /** Random audits of deliveries whose period overlaps the report's. */
  audits: AuditReport[];
  /** Per hub, module and quarter overlapping the period: its signed annual plan beside deliveries recorded. */
  planVsActual: PlanActualRow[];
  evaluation: {
    /** Across hubs: per competency and method. */
    assessments: AssessmentFigures[];
    comparability: Comparability[];
  };
  sources: ReportSources;
}

const rate = (part: number, whole: number): number | null =>
  whole === 0 ? null : Math.round((part / whole) * 1000) / 1000;
const mean = (total: number, weight: number): number | null =>
  weight === 0 ? null : Math.round((total / weight) * 10) / 10;

/** Figures per competency and method, in code then method order. */
function assessmentFigures(
  delivered: readonly Delivery[],
  codeOf: (competency: string) => string,
): AssessmentFigures[] {
  const by = new Map<string, AssessmentFigures>();
  for (const d of delivered)
    for (const a of d.assessments) {
      const key = `${a.competency}\n${a.method}`;
      const f = by.get(key) ?? {
        competency: a.competency,
        code: codeOf(a.competency),
        method: a.method,
        assessed: 0,
        demonstrated: 0,
        rate: null,
      };
      f.assessed += a.assessed;
      f.demonstrated += a.demonstrated;
      by.set(key, f);
    }
  const order = (m: string) => (ASSESSMENT_METHODS as readonly string[]).indexOf(m);
  return [...by.values()]
    .map((f) => ({ ...f, rate: rate(f.demonstrated, f.assessed) }))
    .sort((a, b) => (a.code < b.code ? -1 : a.code > b.code ? 1 : order(a.method) - order(b.method)));
}

const sortedSet = (values: Iterable<string>) => [...new Set(values)].sort();

function evaluate(
  h: HubInput,
  delivered: readonly Delivery[],
  input: ReportInput,
  codeOf: (c: string) => string,
): HubEvaluation {
  const reacted = delivered.filter((d) => d.evaluation.responses > 0);
  const responses = reacted.reduce((s, d) => s + d.evaluation.responses, 0);
  const learnt = delivered.filter((d) => d.learning !== undefined && d.learning.assessed > 0);
  const assessed = learnt.reduce((s, d) => s + (d.learning?.assessed ?? 0), 0);
  const preMean = mean(
    learnt.reduce((s, d) => s + (d.learning?.preMean ?? 0) * (d.learning?.assessed ?? 0), 0),
    assessed,
  );
  const postMean = mean(
    learnt.reduce((s, d) => s + (d.learning?.postMean ?? 0) * (d.learning?.assessed ?? 0), 0),
    assessed,
  );
  const ids = new Set(delivered.map((d) => d.id));
  const followUps = h.followUps.filter((f) => ids.has(f.delivery));
  const followed = new Set(followUps.map((f) => f.delivery));
  const dueOf = (d: Delivery) => {
    return followUpDueOf(d, h.followUpDays[d.module]);
  };
  const expected = delivered.filter((d) => dueOf(d) !== undefined);
  const asOfDay = input.asOf.slice(0, 10);
  const reached = followUps.reduce((s, f) => s + f.reached, 0);
  const applying = followUps.reduce((s, f) => s + f.applying, 0);
  return {
    reaction: {
      deliveries: reacted.length,
      responses,
      meanScore: mean(
        reacted.reduce((s, d) => s + d.evaluation.meanScore * d.evaluation.responses, 0),
        responses,
      ),
      instruments: sortedSet(reacted.map((d) => formatInstrument(d.evaluation.instrument) || "none")),
    },
    learning: {
      assessments: assessmentFigures(delivered, codeOf),
      prePost: {
        deliveries: learnt.length,
        assessed,
        preMean,
        postMean,
        gain: preMean === null || postMean === null ? null : Math.round((postMean - preMean) * 10) / 10,
        instruments: sortedSet(learnt.map((d) => formatInstrument(d.learning?.instrument) || "none")),
      },
    },
    behaviour: {
      expected: expected.length,
      followedUp: expected.filter((d) => followed.has(d.id)).length,
      overdue: expected.filter((d) => !followed.has(d.id) && (dueOf(d) as string) <= asOfDay).length,
      followUps: followUps.length,
      reached,
      applying,
      applicationRate: rate(applying, reached),
      instruments: sortedSet(followUps.map((f) => formatInstrument(f.instrument) || "none")),
    },
    results: h.indicators
      .filter((i) => i.from >= input.period.from && i.to <= input.period.to)
      .map((i) => ({ indicator: i.indicator, from: i.from, to: i.to, value: i.value, unit: i.unit, source: i.source })),
  };
}

/**
 * An audit as the report shows it. A public report (`publicOnly`) keeps the counts and the sample,
 * without the findings' observations or the hubs' notes (free text that may name people).
 */
function auditReport(a: AuditInput, publicOnly: boolean): AuditReport {
  const valid = a.findings.filter((f) => f.problem === null);
  const sample = a.sample.map((s) => {
    const response = a.responses.find((r) => r.hub === s.hub && r.delivery === s.delivery);
    return {
      ...s,
      findings: valid
        .filter((f) => f.finding.hub === s.hub && f.finding.delivery === s.delivery)
        .map((f) => ({ ...f.finding, signature: f.signature, storedBy: f.storedBy })),
      response: response ? { stance: response.stance, note: response.note, at: response.at } : null,
    };
  });
  const shown = publicOnly
    ? sample.map((s) => ({
        ...s,
        findings: [],
        response: s.response ? { ...s.response, note: "" } : null,
      }))
    : sample;
  const hubs = [...new Set(a.populations.map((p) => p.hub))].sort().map((hub) => {
    const mine = sample.filter((s) => s.hub === hub);
    const audited = mine.filter((s) => s.findings.length > 0);
    return {
      hub,
      sampled: mine.length,
      audited: audited.length,
      confirmed: audited.filter((s) => s.findings.every((f) => f.confirmed)).length,
      disputed: mine.filter((s) => s.response?.stance === "disputed").length,
    };
  });
  return {
    id: a.id,
    period: a.period,
    perHub: a.perHub,
    drawnAt: a.drawnAt,
    seed: a.seed,
    seedProblem: a.seedProblem,
    populations: a.populations,
    sample: shown,
    hubs,
    rejectedFindings: a.findings.flatMap((f) =>
      f.problem === null
        ? []
        : [
            {
              storedBy: f.storedBy,
              evaluator: f.finding.evaluator,
              hub: f.finding.hub,
              delivery: f.finding.delivery,
              problem: f.problem,
            },
          ],
    ),
  };
}

const LEVEL_NAMES = {
  reaction: "course evaluation scores",
  learning: "pre/post gains",
  behaviour: "follow-up figures",
};

/** Per level: which instruments the hubs' figures came from, and whether they compare. */
function comparability(hubs: readonly HubCoverage[]): Comparability[] {
  const levels = [
    ["reaction", (h: HubCoverage) => (h.evaluation.reaction.deliveries > 0 ? h.evaluation.reaction.instruments : [])],
    [
      "learning",
      (h: HubCoverage) =>
        h.evaluation.learning.prePost.deliveries > 0 ? h.evaluation.learning.prePost.instruments : [],
    ],
    ["behaviour", (h: HubCoverage) => (h.evaluation.behaviour.followUps > 0 ? h.evaluation.behaviour.instruments : [])],
  ] as const;
  return levels.map(([level, used]) => {
    const byInstrument = new Map<string, string[]>();
    for (const h of hubs) for (const i of used(h)) byInstrument.set(i, [...(byInstrument.get(i) ?? []), h.hub]);
    const instruments = [...byInstrument]
      .map(([instrument, hubIds]) => ({ instrument, hubs: hubIds }))
      .sort((a, b) => (a.instrument < b.instrument ? -1 : 1));
    const reporting = sortedSet(instruments.flatMap((i) => i.hubs));
    const only = instruments.length === 1 ? instruments[0] : undefined;
    const comparable = reporting.length > 1 && only !== undefined && only.instrument !== "none";
    const what = LEVEL_NAMES[level];
    const note =
      reporting.length === 0
        ? `no hub reports ${what} in this period`
        : reporting.length === 1
          ? `only ${reporting[0]} reports ${what}: nothing to compare`
          : comparable
            ? `${what} compare across ${reporting.join(", ")}: all used ${only?.instrument}`
            : `${what} do not compare across hubs: ${instruments.map((i) => `${i.hubs.join(", ")} used ${i.instrument === "none" ? "no named instrument" : i.instrument}`).join("; ")}`;
    return { level, comparable, instruments, note };
  });
}

export function computeCoverage(input: ReportInput): CoverageReport {
  const now = Date.parse(input.asOf);
  const soon = now + EXPIRY_WINDOW_DAYS * DAY_MS;
  const tree: CompetencyTree = { parents: (c) => input.parents[c] ?? [] };
  // For each core competency, the accreditations that count for it: for it or for any ancestor.
  const covering = new Map(input.competencies.map((c) => [c.id, withAncestors(tree, c.id)]));
  const activeFor = (a: { competency: string; validFrom: number; validUntil: number }, competency: string) =>
    (covering.get(competency)?.has(a.competency) ?? false) && a.validFrom <= now && a.validUntil >= now;
  const codeOf = (id: string) => input.competencies.find((c) => c.id === id)?.code ?? id;
  const inPeriod = (d: Delivery) =>
    d.start <= input.period.to && d.end >= input.period.from && (!input.publicOnly || d.visibility === "public");

  const hubs = [...input.hubs]
    .sort((a, b) => (a.hub < b.hub ? -1 : 1))
    .map((h): HubCoverage => {
      const competencies = input.competencies.map((c) => {
        let active = 0;
        let expiring = 0;
        for (const t of h.trainers) {
          const held = t.accreditations.filter((a) => activeFor(a, c.id));
          if (held.length === 0) continue;
          active += 1;
          if (Math.max(...held.map((a) => a.validUntil)) <= soon) expiring += 1;
        }
        return { competency: c.id, code: c.code, activeTrainers: active, expiringWithin90Days: expiring };
      });
      const delivered = h.deliveries.filter(inPeriod);
      const sum = (f: (d: Delivery) => number) => delivered.reduce((s, d) => s + f(d), 0);
      const participants = sum(participantsOf);
      const completed = sum((d) => d.completed);
      const passed = sum((d) => d.passed);
      const everDelivered = new Set(h.deliveries.map((d) => d.module));
      return {
        hub: h.hub,
        name: h.name,
        checkpoints: [...h.checkpoints].sort((a, b) => (a.document < b.document ? -1 : 1)),
        trainers: h.trainers.length,
        competencies,
        adoptedRelease: h.adopted ?? null,
        behindLatest: input.latestRelease !== undefined && h.adopted !== input.latestRelease,
        adaptedModules: h.adaptations
          .filter((a) => a.target.kind === "module")
          .map((a) => a.target.id)
          .sort(),
        adaptationsAwaitingReview: h.adaptations
          .filter((a) => a.needsReview)
          .map((a) => a.id)
          .sort(),
        deliveries: {
          count: delivered.length,
          participants,
          female: sum((d) => d.participants.reduce((s, g) => s + g.female, 0)),
          male: sum((d) => d.participants.reduce((s, g) => s + g.male, 0)),
          unspecified: sum((d) => d.participants.reduce((s, g) => s + g.unspecified, 0)),
          completed,
          passed,
          completionRate: rate(completed, participants),
          passRate: rate(passed, participants),
        },
        modulesNeverDelivered: h.modules.filter((m) => !everDelivered.has(m)).sort(),
        evaluation: evaluate(h, delivered, input, codeOf),
        grievances: grievanceReportFigures(h.grievances ?? [], input.period, input.asOf),
      };
    });

  // Regions: every country a trainer serves, anywhere in the federation.
  const regions = [
    ...new Set(input.hubs.flatMap((h) => h.trainers.flatMap((t) => t.regions.map((r) => r.slice(0, 2))))),
  ].sort();
  const noActiveTrainer = input.competencies.flatMap((c) =>
    regions
      .filter(
        (region) =>
          !input.hubs.some((h) =>
            h.trainers.some(
              (t) =>
                t.regions.some((r) => r.slice(0, 2) === region) && t.accreditations.some((a) => activeFor(a, c.id)),
            ),
          ),
      )
      .map((region) => ({ competency: c.id, code: c.code, region })),
  );
  return {
    kind: "concordat.coverage/1",
    generatedAt: input.generatedAt,
    asOf: input.asOf,
    period: input.period,
    latestRelease: input.latestRelease ?? null,
    publicOnly: input.publicOnly,
    hubs,
    gaps: {
      noActiveTrainer,
      expiring: hubs.flatMap((h) =>
        h.competencies
          .filter((c) => c.expiringWithin90Days > 0)
          .map((c) => ({ hub: h.hub, competency: c.competency, count: c.expiringWithin90Days })),
      ),
      awaitingReview: hubs.flatMap((h) =>
        h.adaptationsAwaitingReview.map((adaptation) => ({ hub: h.hub, adaptation })),
      ),
      behindRelease:
        input.latestRelease === undefined
          ? []
          : hubs
              .filter((h) => h.behindLatest)
              .map((h) => ({ hub: h.hub, adopted: h.adoptedRelease, latest: input.latestRelease as string })),
      neverDelivered: hubs.flatMap((h) => h.modulesNeverDelivered.map((module) => ({ hub: h.hub, module }))),
      followUpsOverdue: hubs
        .filter((h) => h.evaluation.behaviour.overdue > 0)
        .map((h) => ({ hub: h.hub, count: h.evaluation.behaviour.overdue })),
    },
    audits: input.audits
      .filter((a) => a.period.from <= input.period.to && a.period.to >= input.period.from)
      .map((a) => auditReport(a, input.publicOnly)),
    planVsActual: planVsActualOf(
      input.plans ?? [],
      input.hubs.map((h) => ({
        hub: h.hub,
        deliveries: h.deliveries.filter((d) => !input.publicOnly || d.visibility === "public"),
      })),
      input.period,
    ),
    evaluation: {
      assessments: assessmentFigures(
        input.hubs.flatMap((h) => h.deliveries.filter(inPeriod)),
        codeOf,
      ),
      comparability: comparability(hubs),
    },
    sources: input.sources,
  };
}
