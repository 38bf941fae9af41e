import type { Candidate, Feedback, ProposalView } from "../feedback/index.js";
import { invalidArgument } from "../errors.js";
import {
  FeedbackServiceService,
  type Candidate as CandidateMessage,
  type FeedbackServiceServer,
  type Proposal as ProposalMessage,
} from "./generated/concordat/v1/feedback.js";
import { unary, type HandlerComponents } from "./handlers.js";

export { FeedbackServiceService };

/** Empty strings of a proto message are absent fields. */
const given = (value: string): string | undefined => (value.trim() === "" ? undefined : value);

function proposalMessage(p: ProposalView): ProposalMessage {
  return {
    ref: p.ref,
    hub: p.hub,
    id: p.id,
    targetKind: p.target.kind,
    targetId: p.target.id,
    change: {
      kind: p.change.kind,
      text: p.change.text ?? "",
      language: p.change.language ?? "",
      outcomes: p.change.outcomes ?? [],
      case: p.change.case ?? "",
    },
    reason: p.reason,
    evidence: p.evidence.map((e) => ({ kind: e.kind, ref: e.ref, note: e.note ?? "" })),
    against: p.against,
    status: p.status,
    decision: p.decision
      ? { outcome: p.decision.outcome, reason: p.decision.reason, at: p.decision.at, by: p.decision.by }
      : undefined,
    releasedIn: p.releasedIn ?? "",
    comments: p.comments.map((c) => ({ hub: c.hub, stance: c.stance, text: c.text, at: c.at, by: c.by })),
    supporters: p.supporters,
    proposedAt: p.proposedAt,
    proposedBy: p.proposedBy,
  };
}

function candidateMessage(c: Candidate): CandidateMessage {
  return {
    targetKind: c.target.kind,
    targetId: c.target.id,
    aspect: c.aspect,
    core: c.core,
    hubs: c.hubs,
    agreeing: c.agreeing,
    commonValue: c.commonValue,
    proposals: c.proposals,
  };
}

/** Proposals to change the core, comments, the secretariat's decisions, and candidates for the core. */
export function feedbackService(components: HandlerComponents & { feedback: Feedback }): FeedbackServiceServer {
  const { feedback } = components;
  return {
    propose: unary(components, "Propose", "operator", async (req, ctx) => {
      const change = req.change;
      if (!change) throw invalidArgument([{ field: "proposal.change", description: "is required" }]);
      const saved = await feedback.propose(ctx.operator.id, {
        id: req.id,
        target: { kind: req.targetKind, id: req.targetId },
        change: {
          kind: change.kind,
          text: given(change.text),
          language: given(change.language),
          outcomes: change.outcomes.length > 0 ? change.outcomes : undefined,
          case: given(change.case),
        },
        reason: req.reason,
        evidence: req.evidence.map((e) => ({ kind: e.kind, ref: e.ref, note: given(e.note) })),
      });
      return proposalMessage(saved);
    }),
    withdrawProposal: unary(components, "WithdrawProposal", "operator", async (req, ctx) =>
      proposalMessage(await feedback.withdraw(ctx.operator.id, req.id)),
    ),
    commentProposal: unary(components, "CommentProposal", "operator", async (req, ctx) =>
      proposalMessage(
        await feedback.comment(ctx.operator.id, { proposal: req.proposal, stance: req.stance, text: req.text }),
      ),
    ),
    decideProposal: unary(components, "DecideProposal", "admin", async (req, ctx) =>
      proposalMessage(
        await feedback.decide(ctx.operator.id, { proposal: req.proposal, outcome: req.outcome, reason: req.reason }),
      ),
    ),
    getProposal: unary(components, "GetProposal", "viewer", async (req) =>
      proposalMessage(await feedback.get(req.proposal)),
    ),
    listProposals: unary(components, "ListProposals", "viewer", async (req) => ({
      proposals: (
        await feedback.list({
          hub: req.hub.trim(),
          status: req.status.trim(),
          target: req.target.trim(),
          search: req.search,
        })
      ).map(proposalMessage),
    })),
    candidates: unary(components, "Candidates", "viewer", async (req) => ({
      candidates: (await feedback.candidates(req.minHubs === 0 ? 2 : req.minHubs)).map(candidateMessage),
    })),
  };
}
