import type { Logger } from "pino";
import type { VerifiedViews } from "../authority/index.js";
import type { Cases } from "../cases/index.js";
import { type CoreContent, type CoreSource, CURRICULUM_KEY, readCurriculum, violationsOf } from "../core/index.js";
import type { Deliveries } from "../deliveries/index.js";
import { DocumentType, type OwnedDocuments, type OwnedDocumentSpec } from "../documents/index.js";
import { failedPrecondition, invalidArgument, notFound, permissionDenied, type FieldViolation } from "../errors.js";
import { ownedDocumentId, type Membership } from "../federation/index.js";
import { quote } from "../text.js";
import { candidatesIn, type Candidate } from "./candidates.js";
import {
  commentInputSchema,
  commentsIn,
  decisionInputSchema,
  decisionsIn,
  FEEDBACK_KEY,
  proposalInputSchema,
  proposalsIn,
  splitRef,
  stored,
  type Decision,
  type Proposal,
  type ProposalComment,
  type ProposalStatus,
} from "./model.js";

export function feedbackSpec(): OwnedDocumentSpec {
  return {
    key: FEEDBACK_KEY,
    type: DocumentType.Feedback,
    replicated: true,
    initial: { proposals: {}, comments: {}, decisions: {} },
  };
}

/** A proposal as any node shows it: with its hub, where it stands, and what others said. */
export interface ProposalView extends Proposal {
  hub: string;
  ref: string;
  status: ProposalStatus;
  decision?: Decision;
  /** The release that names it as answered. */
  releasedIn?: string;
  comments: Array<ProposalComment & { hub: string }>;
  /** Hubs other than the proposer's that support it. */
  supporters: string[];
}

export interface ProposalFilter {
  hub?: string;
  status?: string;
  /** A core item or module id. */
  target?: string;
  /** Words that must all appear in its id, reason, proposed text, outcomes or comments. */
  search?: string;
}

/**
 * Proposals to change the core, comments and support, and the secretariat's decisions (model.ts).
 * This node writes only its own feedback document; others' are read from their verified views.
 */
export class Feedback {
  readonly #self: string;
  readonly #isSecretariat: boolean;
  readonly #documents: OwnedDocuments;
  readonly #views: VerifiedViews;
  readonly #membership: Membership;
  readonly #core: CoreSource;
  readonly #cases: Cases;
  readonly #deliveries: Deliveries;
  readonly #log: Logger;

  constructor(
    init: { hubId: string; isSecretariat: boolean },
    c: {
      documents: OwnedDocuments;
      views: VerifiedViews;
      membership: Membership;
      core: CoreSource;
      cases: Cases;
      deliveries: Deliveries;
      logger: Logger;
    },
  ) {
    this.#self = init.hubId;
    this.#isSecretariat = init.isSecretariat;
    this.#documents = c.documents;
    this.#views = c.views;
    this.#membership = c.membership;
    this.#core = c.core;
    this.#cases = c.cases;
    this.#deliveries = c.deliveries;
    this.#log = c.logger;
  }

  /** Every member's feedback document: this hub's own, the others' as last verified. */
  #documentsByHub(): Array<{ hub: string; role: string; doc: unknown }> {
    return this.#membership.members().flatMap((m) => {
      if (m.hub === this.#self)
        return this.#documents.has(FEEDBACK_KEY)
          ? [{ hub: m.hub, role: m.role, doc: this.#documents.get(FEEDBACK_KEY) }]
          : [];
      const view = this.#views.view(ownedDocumentId(m.directoryId, FEEDBACK_KEY));
      return view ? [{ hub: m.hub, role: m.role, doc: view.doc }] : [];
    });
  }

  async #write(operatorId: string, action: string, subject: string, change: (doc: Record<string, unknown>) => void) {
    await this.#documents.transact({ operatorId, action, subjects: [subject] }, () => ({
      create: this.#documents.has(FEEDBACK_KEY) ? [] : [feedbackSpec()],
      edits: [{ key: FEEDBACK_KEY, subject, change }],
      result: undefined,
    }));
  }

  #own(): { proposals: Proposal[]; comments: ProposalComment[]; decisions: Decision[] } {
    const doc = this.#documents.has(FEEDBACK_KEY) ? this.#documents.get(FEEDBACK_KEY) : undefined;
    return { proposals: proposalsIn(doc), comments: commentsIn(doc), decisions: decisionsIn(doc) };
  }

  /**
   * Proposes a change to a core item or module of the latest release (again, with the same id:
   * replaces it while the secretariat has not decided on it). The target, a case to cite and
   * every piece of evidence must exist as named; every problem is named at once.
   */
  async propose(operatorId: string, input: unknown): Promise<ProposalView> {
    if (this.#isSecretariat)
      throw failedPrecondition("the secretariat edits the core's drafts itself; proposals come from hubs");
    const parsed = proposalInputSchema.safeParse(input);
    if (!parsed.success) throw invalidArgument(violationsOf(parsed.error, "proposal"));
    const value = parsed.data;
    const release = (await this.#core.releases()).at(-1);
    const content = release ? await this.#core.content(release.version) : undefined;
    if (!release || !content)
      throw failedPrecondition("no core release is known here yet: there is nothing to propose a change to");
    const violations: FieldViolation[] = [];
    const target = targetIn(content, value.target);
    if (!target)
      violations.push({
        field: "proposal.target.id",
        description: `no ${value.target.kind} ${quote(value.target.id)} in core release ${release.version}`,
      });
    if (value.change.case !== undefined) {
      const problem = this.#caseProblem(value.change.case);
      if (problem) violations.push({ field: "proposal.change.case", description: problem });
    }
    value.evidence.forEach((e, i) => {
      const field = `proposal.evidence.${i}.ref`;
      if (e.kind === "case") {
        const problem = this.#caseProblem(e.ref);
        if (problem) violations.push({ field, description: problem });
      } else if (e.kind === "delivery") {
        try {
          this.#deliveries.get(e.ref);
        } catch {
          violations.push({ field, description: `no delivery ${quote(e.ref)} recorded by this hub` });
        }
      }
    });
    if (violations.length > 0) throw invalidArgument(violations);
    const ref = `${this.#self}/${value.id}`;
    const decision = this.#decisions().get(ref);
    if (decision)
      throw failedPrecondition(
        `proposal ${quote(ref)} was ${decision.outcome} by the secretariat at ${decision.at}: make a new proposal under another id`,
      );
    const before = this.#own().proposals.find((p) => p.id === value.id);
    const proposal: Proposal = {
      id: value.id,
      target: value.target,
      change: value.change,
      reason: value.reason,
      evidence: value.evidence,
      against: release.version,
      proposedAt: before?.proposedAt ?? new Date().toISOString(),
      proposedBy: before?.proposedBy ?? operatorId,
    };
    await this.#write(operatorId, "proposal.put", ref, (doc) => {
      doc.proposals ??= {};
      (doc.proposals as Record<string, unknown>)[proposal.id] = stored(proposal);
    });
    this.#log.info({ proposal: ref }, "proposed a change to the core");
    return await this.get(ref);
  }

  /** Withdraws one of this hub's proposals that the secretariat has not decided on. */
  async withdraw(operatorId: string, id: string): Promise<ProposalView> {
    const ref = `${this.#self}/${id.trim()}`;
    const proposal = this.#own().proposals.find((p) => p.id === id.trim());
    if (!proposal) throw notFound(`this hub has no proposal ${quote(id)}`);
    const decision = this.#decisions().get(ref);
    if (decision) throw failedPrecondition(`proposal ${quote(ref)} was already ${decision.outcome} by the secretariat`);
    await this.#write(operatorId, "proposal.withdraw", ref, (doc) => {
      (doc.proposals as Record<string, unknown>)[proposal.id] = stored({ ...proposal, withdrawn: true });
    });
    return await this.get(ref);
  }

  /** Comments on, supports or objects to a proposal (one support per hub: supporting again changes nothing). */
  async comment(operatorId: string, input: unknown): Promise<ProposalView> {
    const parsed = commentInputSchema.safeParse(input);
    if (!parsed.success) throw invalidArgument(violationsOf(parsed.error, "comment"));
    const { proposal: ref, stance, text } = parsed.data;
    const view = await this.get(ref);
    if (stance === "support" && view.hub === this.#self)
      throw failedPrecondition("a hub does not support its own proposal: support counts other hubs");
    const own = this.#own().comments.filter((c) => c.proposal === ref);
    if (stance === "support" && own.some((c) => c.stance === "support")) return view;
    const comment: ProposalComment = { proposal: ref, stance, text, at: new Date().toISOString(), by: operatorId };
    await this.#write(operatorId, `proposal.${stance}`, ref, (doc) => {
      doc.comments ??= {};
      (doc.comments as Record<string, unknown>)[`${ref}#${own.length + 1}`] = stored(comment);
    });
    return await this.get(ref);
  }

  /** The secretariat's decision: accepted, merged into its drafts, or rejected with a reason. */
  async decide(operatorId: string, input: unknown): Promise<ProposalView> {
    if (!this.#isSecretariat) throw permissionDenied("only the secretariat decides on proposals to the core");
    const parsed = decisionInputSchema.safeParse(input);
    if (!parsed.success) throw invalidArgument(violationsOf(parsed.error, "decision"));
    const { proposal: ref, outcome, reason } = parsed.data;
    const view = await this.get(ref);
    if (view.status === "withdrawn") throw failedPrecondition(`proposal ${quote(ref)} was withdrawn by ${view.hub}`);
    if (view.releasedIn)
      throw failedPrecondition(`proposal ${quote(ref)} is answered by release ${view.releasedIn}: its decision stands`);
    const decision: Decision = { proposal: ref, outcome, reason, at: new Date().toISOString(), by: operatorId };
    await this.#write(operatorId, `proposal.${outcome}`, ref, (doc) => {
      doc.decisions ??= {};
      (doc.decisions as Record<string, unknown>)[ref] = stored(decision);
    });
    this.#log.info({ proposal: ref, outcome }, "decided on a proposal to the core");
    return await this.get(ref);
  }

  /**
   * Proposals merged into the drafts that no release has answered yet: the next release names
   * them. An accepted one waits until the secretariat says it is merged.
   */
  async unreleased(): Promise<string[]> {
    if (!this.#isSecretariat) return [];
    const released = new Set((await this.#core.releases()).flatMap((r) => r.answers));
    return this.#own()
      .decisions.filter((d) => d.outcome === "merged" && !released.has(d.proposal))
      .map((d) => d.proposal)
      .sort();
  }

  /** The secretariat's decisions, by proposal: its own here, its verified view elsewhere. */
  #decisions(): Map<string, Decision> {
    const secretariat = this.#documentsByHub().find((d) => d.role === "secretariat");
    return new Map(decisionsIn(secretariat?.doc).map((d) => [d.proposal, d]));
  }

  #releasedIn = async (): Promise<Map<string, string>> => {
    const out = new Map<string, string>();
    for (const r of await this.#core.releases())
      for (const ref of r.answers) if (!out.has(ref)) out.set(ref, r.version);
    return out;
  };

  /** One proposal, of any hub (others' as last verified), with where it stands. */
  async get(ref: string): Promise<ProposalView> {
    const found = this.#all(await this.#releasedIn()).find((p) => p.ref === ref.trim());
    if (!found)
      throw notFound(`no proposal ${quote(ref)} is known here (others' as of their latest verified checkpoint)`);
    return found;
  }

  /** Proposals of every hub, newest first, with where each stands. */
  async list(filter: ProposalFilter = {}): Promise<ProposalView[]> {
    const words = (filter.search ?? "")
      .toLowerCase()
      .split(/\s+/)
      .filter((w) => w !== "");
    return this.#all(await this.#releasedIn())
      .filter((p) => filter.hub === undefined || filter.hub === "" || p.hub === filter.hub)
      .filter((p) => filter.status === undefined || filter.status === "" || p.status === filter.status)
      .filter((p) => filter.target === undefined || filter.target === "" || p.target.id === filter.target)
      .filter((p) => {
        if (words.length === 0) return true;
        const text = [
          p.ref,
          p.target.id,
          p.reason,
          p.change.text ?? "",
          ...(p.change.outcomes ?? []),
          ...p.comments.map((c) => c.text),
        ]
          .join(" ")
          .toLowerCase();
        return words.every((w) => text.includes(w));
      })
      .sort((a, b) => b.proposedAt.localeCompare(a.proposedAt) || a.ref.localeCompare(b.ref));
  }

  #all(releasedIn: Map<string, string>): ProposalView[] {
    const docs = this.#documentsByHub();
    const decisions = new Map(
      decisionsIn(docs.find((d) => d.role === "secretariat")?.doc).map((d) => [d.proposal, d] as const),
    );
    const comments = docs.flatMap((d) => commentsIn(d.doc).map((c) => ({ ...c, hub: d.hub })));
    return docs.flatMap((d) =>
      proposalsIn(d.doc).map((p): ProposalView => {
        const ref = `${d.hub}/${p.id}`;
        const decision = decisions.get(ref);
        const released = releasedIn.get(ref);
        const on = comments.filter((c) => c.proposal === ref);
        const status: ProposalStatus = p.withdrawn
          ? "withdrawn"
          : released
            ? "released"
            : (decision?.outcome ?? "open");
        return {
          ...p,
          hub: d.hub,
          ref,
          status,
          ...(decision ? { decision } : {}),
          ...(released ? { releasedIn: released } : {}),
          comments: on,
          supporters: [
            ...new Set(on.filter((c) => c.stance === "support" && c.hub !== d.hub).map((c) => c.hub)),
          ].sort(),
        };
      }),
    );
  }

  /**
   * Adaptations that recur across hubs (candidates.ts): the same core item or module adapted the
   * same way by at least `minHubs` hubs, from every hub's curriculum as last verified.
   */
  async candidates(minHubs = 2): Promise<Candidate[]> {
    if (!Number.isInteger(minHubs) || minHubs < 2 || minHubs > 1000)
      throw invalidArgument([{ field: "min_hubs", description: `${minHubs} is not a number of hubs (2 to 1000)` }]);
    const curricula = this.#membership.members().flatMap((m) => {
      if (m.role === "secretariat" || m.removedAt !== undefined) return [];
      if (m.hub === this.#self)
        return this.#documents.has(CURRICULUM_KEY)
          ? [{ hub: m.hub, content: readCurriculum(this.#documents.get(CURRICULUM_KEY)) }]
          : [];
      const view = this.#views.view(ownedDocumentId(m.directoryId, CURRICULUM_KEY));
      return view ? [{ hub: m.hub, content: readCurriculum(view.doc) }] : [];
    });
    const core = await this.#core.content();
    const open = (await this.list()).filter(
      (p) => p.status === "open" || p.status === "accepted" || p.status === "merged",
    );
    return candidatesIn(curricula, core, minHubs).map((c) => ({
      ...c,
      proposals: open.filter((p) => p.target.kind === c.target.kind && p.target.id === c.target.id).map((p) => p.ref),
    }));
  }

  #caseProblem(ref: string): string | undefined {
    const { hub, id } = splitRef(ref);
    try {
      this.#cases.get(hub, id);
      return undefined;
    } catch (error) {
      return error instanceof Error ? error.message : String(error);
    }
  }
}

function targetIn(content: CoreContent, target: { kind: "item" | "module"; id: string }): boolean {
  return target.kind === "item"
    ? content.items.some((i) => i.identifier === target.id)
    : content.modules.some((m) => m.id === target.id);
}
