import type { SignedCheckpoint } from "../authority/index.js";
import type { CoreRelease, CoreSource } from "../core/index.js";
import { impactOf, readCurriculum } from "../core/index.js";
import type { CoreContent } from "../core/index.js";
import { CredentialVerifier, heldIn, type CredentialsDoc } from "../credentials/index.js";
import { deliveriesIn, followUpsIn, indicatorsIn } from "../deliveries/index.js";
import { grievancesIn, type GrievancesDoc } from "../grievances/index.js";
import type { CharterMember, CharterState } from "../federation/index.js";
import { accreditationsOf } from "../query/index.js";
import { decodeTrainer } from "../roster/index.js";
import { checkpointProblem } from "../authority/index.js";
import {
  auditsIn,
  drawSample,
  findingBytes,
  findingSignatureProblem,
  findingsIn,
  evaluatorsIn,
  panelProblem,
  responsesIn,
  type PanelDoc,
  type SignedFinding,
} from "../audits/index.js";
import { reportPlansOf } from "../plans/index.js";
import type { AuditInput, CheckpointRef, HubInput, ReportInput, ReportSources, SourceCheckpoint } from "./coverage.js";

/** The document types a report reads, besides the charter and the core. */
export const REPORTED_TYPES = new Set([
  "roster",
  "credentials",
  "curriculum",
  "deliveries",
  "evaluation-panel",
  "audit-findings",
  "grievances",
  "annual-plans",
]);

/** One member's document at the heads of a checkpoint that verified. */
export interface SignedDocument {
  hub: string;
  type: string;
  signed: SignedCheckpoint;
  /** The document as of the checkpoint's heads. */
  doc: unknown;
}

/**
 * Everything a report is computed from, each part as signed: the charter (who the members are and
 * their keys), the core's releases, and every member's reported documents. A node builds it from its
 * own latest checkpoints and its verified views; an auditor from an audit bundle, at the checkpoints
 * a report names. The same function turns either into the report's input.
 */
export interface SignedState {
  charter: { signed: SignedCheckpoint; state: CharterState };
  /** Oldest first. */
  releases: Array<{ signed: SignedCheckpoint; content: CoreContent }>;
  documents: SignedDocument[];
}

const source = (hub: string, type: string, s: SignedCheckpoint): SourceCheckpoint => ({
  hub,
  type,
  checkpoint: s.checkpoint,
  signature: s.signature,
});

export function sourcesOf(state: SignedState): ReportSources {
  return {
    charter: source("", "charter", state.charter.signed),
    releases: state.releases.map((r) => source("", "core", r.signed)),
    documents: state.documents
      .map((d) => source(d.hub, d.type, d.signed))
      .sort((a, b) =>
        a.hub < b.hub ? -1 : a.hub > b.hub ? 1 : a.checkpoint.documentId < b.checkpoint.documentId ? -1 : 1,
      ),
  };
}

/** The core as its signed releases give it (for adaptations' review state). */
class SignedReleases implements CoreSource {
  readonly #releases: SignedState["releases"];

  constructor(releases: SignedState["releases"]) {
    this.#releases = releases;
  }

  async releases(): Promise<CoreRelease[]> {
    return this.#releases.map(({ signed: { checkpoint: c } }) => ({
      version: c.version ?? "",
      notes: "",
      answers: [],
      heads: c.heads,
      seq: c.seq,
      time: c.time,
    }));
  }

  async content(version?: string): Promise<CoreContent | undefined> {
    const release =
      version === undefined
        ? this.#releases.at(-1)
        : this.#releases.find((r) => r.signed.checkpoint.version === version);
    return release?.content;
  }

  async signed(): Promise<SignedCheckpoint[]> {
    return this.#releases.map((r) => r.signed);
  }
}

/** A roster document's trainers as a report reads them: id and regions, in id order. */
type RosterEntries = ReadonlyArray<readonly [id: string, regions: string[]]>;

/**
 * What a node keeps between reports: each roster document's trainers as of the heads a checkpoint
 * signed. The same heads always give the same trainers, so a report over 50,000 trainers decodes
 * only the rosters that changed since the last one (each decoded record costs microseconds, and a
 * roster read through Automerge more). Only the documents of the latest report are kept.
 */
export class ReportCache {
  #rosters = new Map<string, RosterEntries>();
  #used = new Set<string>();

  rosterEntries(signed: SignedCheckpoint, read: () => RosterEntries): RosterEntries {
    const key = `${signed.checkpoint.documentId}@${signed.checkpoint.heads.join(",")}`;
    this.#used.add(key);
    let entries = this.#rosters.get(key);
    if (!entries) {
      entries = read();
      this.#rosters.set(key, entries);
    }
    return entries;
  }

  /** Forgets what the report just made did not read (older heads, documents gone). */
  sweep(): void {
    for (const key of this.#rosters.keys()) if (!this.#used.has(key)) this.#rosters.delete(key);
    this.#used.clear();
  }
}

function readRosterEntries(doc: unknown): RosterEntries {
  const entries: Array<readonly [string, string[]]> = [];
  for (const [id, stored] of Object.entries((doc as { trainers?: Record<string, unknown> }).trainers ?? {}).sort(
    ([x], [y]) => (x < y ? -1 : 1),
  )) {
    try {
      entries.push([id, decodeTrainer(stored).regions]);
    } catch {
      // a record that does not decode counts nowhere (the index skips it too)
    }
  }
  return entries;
}

/**
 * The report's input from a signed state: per member, its trainers with the accreditations their
 * held credentials verify (against the charter and the issuers' credentials documents in the same
 * state), its curriculum, adaptations and deliveries. Deterministic: the same state and options give
 * the same input, at a node or in `report verify`.
 */
export async function reportInputOf(
  state: SignedState,
  options: { generatedAt: string; asOf: string; period: { from: string; to: string }; publicOnly: boolean },
  cache?: ReportCache,
): Promise<ReportInput> {
  const members = state.charter.state.members;
  const charter = {
    holderOf: (peerId: string) => members.find((m) => m.keys.some((k) => k.peerId === peerId)),
    member: (hub: string) => members.find((m) => m.hub === hub),
  };
  const docsOf = (hub: string, type: string) => state.documents.filter((d) => d.hub === hub && d.type === type);
  const credentialDocs = state.documents
    .filter((d) => d.type === "credentials")
    .map((d) => ({ hub: d.hub, doc: d.doc as Partial<CredentialsDoc> }));
  const verifier = new CredentialVerifier(charter, () => credentialDocs);
  const core = new SignedReleases(state.releases);

  const latest = state.releases.at(-1);
  const content = latest?.content;
  const parents: Record<string, string[]> = {};
  for (const a of content?.associations ?? [])
    if (a.type === "isChildOf") (parents[a.origin.identifier] ??= []).push(a.destination.identifier);
  const competencies = (content?.items ?? [])
    .filter((i) => i.type.toLowerCase() === "competency")
    .map((i) => ({ id: i.identifier, code: i.code }))
    .sort((a, b) => (a.code < b.code ? -1 : 1));

  const hubs: HubInput[] = [];
  for (const member of members) {
    const hub = await hubInput(member, docsOf, verifier, core, (peer) => charter.holderOf(peer)?.hub ?? "", cache);
    // The secretariat appears only if it has trainers, deliveries or grievances of its own.
    if (
      member.role === "secretariat" &&
      hub.trainers.length === 0 &&
      hub.deliveries.length === 0 &&
      (hub.grievances ?? []).length === 0
    )
      continue;
    hubs.push(hub);
  }
  return {
    generatedAt: options.generatedAt,
    asOf: options.asOf,
    period: options.period,
    latestRelease: latest?.signed.checkpoint.version,
    competencies,
    parents,
    hubs,
    publicOnly: options.publicOnly,
    audits: await auditInputs(state),
    plans: await reportPlansOf(state.documents, state.charter.state.federationId, members),
    sources: sourcesOf(state),
  };
}

/**
 * The secretariat's audits as signed, each with its seed checked (the secretariat's signature over
 * its panel document), its sample drawn from it, and every finding any hub stores checked: signed by
 * an evaluator on the panel at the time, on a sampled delivery. Findings that fail are kept, with why.
 */
async function auditInputs(state: SignedState): Promise<AuditInput[]> {
  const { federationId, members } = state.charter.state;
  const secretariat = members.find((m) => m.role === "secretariat");
  const panel = state.documents.find((d) => d.type === "evaluation-panel" && d.hub === secretariat?.hub);
  if (!secretariat || !panel) return [];
  const doc = panel.doc as PanelDoc;
  const evaluators = evaluatorsIn(doc);
  const findings = new Map<
    string,
    { storedBy: string; finding: AuditInput["findings"][number]["finding"]; signature: string }
  >();
  for (const d of [...state.documents].sort((x, y) => (x.hub < y.hub ? -1 : 1)))
    if (d.type === "audit-findings")
      // The same finding stored by several hubs counts once; a copy changed under the same signature is another.
      for (const f of findingsIn(d.doc as { findings?: Record<string, unknown> }))
        if (!findings.has(findingId(f))) findings.set(findingId(f), { storedBy: d.hub, ...f });
  const out: AuditInput[] = [];
  for (const audit of auditsIn(doc)) {
    let seedProblem: string | null = null;
    if (!audit.seed) seedProblem = "not drawn yet: no seed";
    else {
      const problem = await checkpointProblem(audit.seed, {
        federationId,
        documentId: panel.signed.checkpoint.documentId,
      });
      if (problem) seedProblem = `the seed is not a checkpoint of the panel: ${problem}`;
      else if (!secretariat.keys.some((k) => k.peerId === audit.seed?.checkpoint.owner))
        seedProblem = `the seed is signed by ${audit.seed.checkpoint.owner}, not by the secretariat`;
    }
    const sample =
      audit.seed && seedProblem === null ? drawSample(audit.seed.signature, audit.populations, audit.perHub) : [];
    const sampled = new Set(sample.map((s) => `${s.hub}\n${s.delivery}`));
    const checked: AuditInput["findings"] = [];
    for (const f of findings.values()) {
      if (f.finding.audit !== audit.id) continue;
      const evaluator = evaluators.find((e) => e.id === f.finding.evaluator);
      const problem =
        panelProblem(evaluators, f.finding.evaluator, f.finding.at) ??
        (await findingSignatureProblem(f, evaluator?.key ?? "")) ??
        (sampled.has(`${f.finding.hub}\n${f.finding.delivery}`) ? undefined : "the delivery is not in the sample");
      checked.push({ ...f, problem: problem ?? null });
    }
    out.push({
      id: audit.id,
      period: audit.period,
      perHub: audit.perHub,
      drawnAt: audit.drawnAt,
      seed: audit.seed
        ? {
            document: audit.seed.checkpoint.documentId,
            seq: audit.seed.checkpoint.seq,
            time: audit.seed.checkpoint.time,
            signature: audit.seed.signature,
          }
        : null,
      seedProblem,
      populations: audit.populations.map((p) => ({
        hub: p.hub,
        checkpoint: p.checkpoint
          ? {
              document: p.checkpoint.checkpoint.documentId,
              seq: p.checkpoint.checkpoint.seq,
              time: p.checkpoint.checkpoint.time,
            }
          : null,
        deliveries: p.deliveries.length,
      })),
      sample,
      findings: checked.sort((a, b) => (findingOrder(a) < findingOrder(b) ? -1 : 1)),
      responses: state.documents
        .filter((d) => d.type === "deliveries")
        .flatMap((d) =>
          responsesIn(d.doc as { auditResponses?: Record<string, unknown> }).map((r) => ({ ...r, hub: d.hub })),
        )
        .filter((r) => r.audit === audit.id)
        .sort((a, b) => (`${a.hub}/${a.delivery}` < `${b.hub}/${b.delivery}` ? -1 : 1)),
    });
  }
  return out;
}

const findingId = (f: SignedFinding) => `${f.signature}\n${Buffer.from(findingBytes(f.finding)).toString("base64")}`;

const findingOrder = (f: { finding: { hub: string; delivery: string; evaluator: string }; signature: string }) =>
  `${f.finding.hub}/${f.finding.delivery}/${f.finding.evaluator}/${f.signature}`;

async function hubInput(
  member: CharterMember,
  docsOf: (hub: string, type: string) => SignedDocument[],
  verifier: CredentialVerifier,
  core: CoreSource,
  hubOf: (peerId: string) => string,
  cache: ReportCache | undefined,
): Promise<HubInput> {
  const credentials = docsOf(member.hub, "credentials")[0]?.doc as Partial<CredentialsDoc> | undefined;
  const trainers: HubInput["trainers"] = [];
  const rosters = docsOf(member.hub, "roster").sort((a, b) =>
    a.signed.checkpoint.documentId < b.signed.checkpoint.documentId ? -1 : 1,
  );
  for (const roster of rosters) {
    const entries = cache
      ? cache.rosterEntries(roster.signed, () => readRosterEntries(roster.doc))
      : readRosterEntries(roster.doc);
    for (const [id, regions] of entries) {
      const { accreditations } = await accreditationsOf(heldIn(credentials, id), (c) => verifier.verify(c, {}), hubOf);
      trainers.push({
        regions,
        accreditations: accreditations.map((a) => ({
          competency: a.competency,
          validFrom: a.validFrom,
          validUntil: a.validUntil,
        })),
      });
    }
  }
  const curriculumDoc = docsOf(member.hub, "curriculum")[0]?.doc;
  const curriculum = curriculumDoc === undefined ? undefined : readCurriculum(curriculumDoc);
  const adopted = curriculum?.adoption?.version;
  const impact = adopted && curriculum ? await impactOf(curriculum.adaptations, core, adopted).catch(() => []) : [];
  const review = new Set(impact.filter((e) => e.status !== "unchanged").map((e) => e.adaptation));
  const adoptedContent = adopted ? await core.content(adopted) : undefined;
  const modules = [...(adoptedContent?.modules ?? []), ...(curriculum?.localModules ?? [])];
  const deliveriesDoc = docsOf(member.hub, "deliveries")[0]?.doc as
    | {
        deliveries?: Record<string, unknown>;
        followUps?: Record<string, unknown>;
        indicators?: Record<string, unknown>;
      }
    | undefined;
  const checkpoints: CheckpointRef[] = [...REPORTED_TYPES].flatMap((type) =>
    docsOf(member.hub, type).map((d) => ({
      document: d.signed.checkpoint.documentId,
      type,
      seq: d.signed.checkpoint.seq,
      time: d.signed.checkpoint.time,
    })),
  );
  return {
    hub: member.hub,
    name: member.name,
    checkpoints,
    trainers,
    adopted,
    adaptations: (curriculum?.adaptations ?? []).map((a) => ({
      id: a.id,
      target: a.target,
      needsReview: review.has(a.id),
    })),
    modules: modules.map((m) => m.id),
    followUpDays: Object.fromEntries(
      modules.flatMap((m) => (m.followUpAfterDays === undefined ? [] : [[m.id, m.followUpAfterDays]])),
    ),
    deliveries: deliveriesIn(deliveriesDoc),
    followUps: followUpsIn(deliveriesDoc),
    indicators: indicatorsIn(deliveriesDoc),
    grievances: grievancesIn(docsOf(member.hub, "grievances")[0]?.doc as GrievancesDoc | undefined),
  };
}
