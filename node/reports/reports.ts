import type { Checkpointer, VerifiedViews } from "../authority/index.js";
import { CURRICULUM_KEY, impactOf, readCurriculum, type CoreSource, type Curriculum, type CurriculumContent } from "../core/index.js";
import { CREDENTIALS_KEY } from "../credentials/index.js";
import type { Deliveries } from "../deliveries/index.js";
import { DELIVERIES_KEY, isDay } from "../deliveries/model.js";
import { textOf, type OwnedDocuments } from "../documents/index.js";
import { invalidArgument } from "../errors.js";
import { ownedDocumentId, type Membership } from "../federation/index.js";
import type { Availability } from "../query/availability.js";
import { computeCoverage, type CoverageReport, type HubInput, type ReportInput, type SourceCheckpoint } from "./coverage.js";

const REPORTED_TYPES = new Set(["roster", CREDENTIALS_KEY, CURRICULUM_KEY, DELIVERIES_KEY]);

/**
 * Gathers what the coverage report is computed from, as signed: every other hub's documents as of
 * their latest verified checkpoints, and this hub's as of its own latest checkpoints (pending ones
 * are signed first, so that what the report shows is what an audit bundle holds).
 */
export class Reports {
  readonly #self: string;
  readonly #documents: OwnedDocuments;
  readonly #checkpointer: Checkpointer;
  readonly #views: VerifiedViews;
  readonly #membership: Membership;
  readonly #core: CoreSource;
  readonly #curriculum: Curriculum;
  readonly #availability: Availability;
  readonly #deliveries: Deliveries;

  constructor(
    init: { hubId: string },
    c: { documents: OwnedDocuments; checkpointer: Checkpointer; views: VerifiedViews; membership: Membership; core: CoreSource; curriculum: Curriculum; availability: Availability; deliveries: Deliveries },
  ) {
    this.#self = init.hubId;
    this.#documents = c.documents;
    this.#checkpointer = c.checkpointer;
    this.#views = c.views;
    this.#membership = c.membership;
    this.#core = c.core;
    this.#curriculum = c.curriculum;
    this.#availability = c.availability;
    this.#deliveries = c.deliveries;
  }

  async coverage(options: { from: string; to: string; publicOnly: boolean; now?: string }): Promise<CoverageReport> {
    const violations = [];
    if (!isDay(options.from)) violations.push({ field: "from", description: `'${options.from}' is not a date (YYYY-MM-DD)` });
    if (!isDay(options.to)) violations.push({ field: "to", description: `'${options.to}' is not a date (YYYY-MM-DD)` });
    if (isDay(options.from) && isDay(options.to) && options.to < options.from) violations.push({ field: "to", description: "is before from" });
    if (violations.length > 0) throw invalidArgument(violations);
    await this.#checkpointer.flush();
    const releases = await this.#core.releases();
    const latest = releases.at(-1)?.version;
    const content = latest ? await this.#core.content(latest) : undefined;
    const parents: Record<string, string[]> = {};
    for (const a of content?.associations ?? []) if (a.type === "isChildOf") (parents[a.origin.identifier] ??= []).push(a.destination.identifier);
    const competencies = (content?.items ?? []).filter((i) => i.type.toLowerCase() === "competency").map((i) => ({ id: i.identifier, code: i.code })).sort((a, b) => (a.code < b.code ? -1 : 1));

    const records = await this.#availability.records();
    const hubs: HubInput[] = [];
    for (const member of this.#membership.members()) {
      const own = member.hub === this.#self;
      // The secretariat appears only if it has trainers or deliveries of its own.
      if (member.role === "secretariat" && records.every((r) => r.hub !== member.hub) && this.#deliveries.list(member.hub).length === 0) continue;
      let curriculum: CurriculumContent | undefined;
      if (own) curriculum = this.#curriculum.current();
      else {
        const view = this.#views.view(ownedDocumentId(member.directoryId, CURRICULUM_KEY));
        curriculum = view ? readCurriculum(view.doc) : undefined;
      }
      const adopted = curriculum?.adoption?.version;
      const impact = adopted && curriculum ? await impactOf(curriculum.adaptations, this.#core, adopted).catch(() => []) : [];
      const review = new Set(impact.filter((e) => e.status !== "unchanged").map((e) => e.adaptation));
      const adoptedContent = adopted ? await this.#core.content(adopted) : undefined;
      hubs.push({
        hub: member.hub,
        name: member.name,
        checkpoints: own ? this.#ownCheckpoints() : this.#foreignCheckpoints(member.hub),
        trainers: records.filter((r) => r.hub === member.hub).map((r) => ({ regions: r.regions, accreditations: r.accreditations.map((a) => ({ competency: a.competency, validFrom: a.validFrom, validUntil: a.validUntil })) })),
        adopted,
        adaptations: (curriculum?.adaptations ?? []).map((a) => ({ id: a.id, target: a.target, needsReview: review.has(a.id) })),
        modules: [...(adoptedContent?.modules ?? []).map((m) => m.id), ...(curriculum?.localModules ?? []).map((m) => m.id)],
        deliveries: this.#deliveries.list(member.hub),
      });
    }
    const input: ReportInput = { generatedAt: options.now ?? new Date().toISOString(), period: { from: options.from, to: options.to }, latestRelease: latest, competencies, parents, hubs, publicOnly: options.publicOnly };
    return computeCoverage(input);
  }

  #ownCheckpoints(): SourceCheckpoint[] {
    return this.#documents
      .describe()
      .filter((d) => d.replicated && REPORTED_TYPES.has(d.header.type))
      .flatMap((d) => {
        const signed = this.#checkpointer.latest(d.id);
        return signed ? [{ document: d.id, kind: d.header.type, seq: signed.checkpoint.seq, time: signed.checkpoint.time }] : [];
      });
  }

  #foreignCheckpoints(hub: string): SourceCheckpoint[] {
    return this.#views
      .views()
      .filter((v) => v.hub === hub)
      .flatMap((v) => {
        const kind = textOf((v.doc as { header?: { type?: unknown } }).header?.type) ?? "";
        return REPORTED_TYPES.has(kind) ? [{ document: v.documentId, kind, seq: v.checkpoint.seq, time: v.checkpoint.time }] : [];
      });
  }
}
