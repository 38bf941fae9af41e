import type { Checkpoint } from "../authority/index.js";
import { withAncestors, type CompetencyTree } from "../core/index.js";
import { participantsOf, type Delivery } from "../deliveries/index.js";

/**
 * The coverage report, computed by a pure function from what the federation signed: per
 * hub and competency, trainers with verified active accreditations and those expiring soon; adapted
 * modules and the release they follow; deliveries and completion in a period; and the gaps. Every
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
  deliveries: Delivery[];
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
  sources: ReportSources;
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
  };
  sources: ReportSources;
}

const rate = (part: number, whole: number): number | null =>
  whole === 0 ? null : Math.round((part / whole) * 1000) / 1000;

export function computeCoverage(input: ReportInput): CoverageReport {
  const now = Date.parse(input.asOf);
  const soon = now + EXPIRY_WINDOW_DAYS * DAY_MS;
  const tree: CompetencyTree = { parents: (c) => input.parents[c] ?? [] };
  // For each core competency, the accreditations that count for it: for it or for any ancestor.
  const covering = new Map(input.competencies.map((c) => [c.id, withAncestors(tree, c.id)]));
  const activeFor = (a: { competency: string; validFrom: number; validUntil: number }, competency: string) =>
    (covering.get(competency)?.has(a.competency) ?? false) && a.validFrom <= now && a.validUntil >= now;
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
    },
    sources: input.sources,
  };
}
