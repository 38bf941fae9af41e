import { ImmutableString } from "@automerge/automerge";
import { z } from "zod";
import { decodeStored } from "../documents/index.js";
import { ID_PATTERN, textRule, TextKind } from "../text.js";

/**
 * Feedback that changes the core (docs/feedback.md). A hub proposes a change to a core item or
 * module in its own `feedback` document, with its reason and evidence; other hubs comment on it or
 * support it in theirs; the secretariat decides in its own. Every part is the writer's, signed by
 * its checkpoints: nobody writes another's proposal, comment or decision. A release names the
 * proposals it answers (the core's `releaseAnswers`, signed with the release).
 */
export const FEEDBACK_KEY = "feedback";

export const CHANGE_KINDS = ["text", "outcomes", "cite-case"] as const;
export type ChangeKind = (typeof CHANGE_KINDS)[number];
export const EVIDENCE_KINDS = ["case", "delivery", "figure"] as const;
export const STANCES = ["support", "comment", "object"] as const;
export type Stance = (typeof STANCES)[number];
export const OUTCOMES = ["accepted", "merged", "rejected"] as const;
export type Outcome = (typeof OUTCOMES)[number];
/** Where a proposal stands, as its hub sees it. */
export type ProposalStatus = "open" | "withdrawn" | Outcome | "released";

export interface Evidence {
  kind: (typeof EVIDENCE_KINDS)[number];
  /** A case `HUB/CASE-ID`, a delivery of the proposing hub, or a figure as words ("demonstrated_rate hr-1 = 0.42, 2027-Q1"). */
  ref: string;
  note?: string;
}

export interface ProposedChange {
  kind: ChangeKind;
  /** The proposed wording (kind text): a competency's statement, or a module's title. */
  text?: string;
  /** The language of `text` (BCP 47). */
  language?: string;
  /** The proposed learning outcomes (kind outcomes), replacing the module's. */
  outcomes?: string[];
  /** A case to cite (kind cite-case), `HUB/CASE-ID`. */
  case?: string;
}

export interface Proposal {
  id: string;
  target: { kind: "item" | "module"; id: string };
  change: ProposedChange;
  reason: string;
  evidence: Evidence[];
  /** The core release current when it was proposed. */
  against: string;
  withdrawn?: boolean;
  proposedAt: string;
  proposedBy: string;
}

export interface ProposalComment {
  /** `HUB/PROPOSAL-ID`. */
  proposal: string;
  stance: Stance;
  text: string;
  at: string;
  by: string;
}

export interface Decision {
  /** `HUB/PROPOSAL-ID`. */
  proposal: string;
  outcome: Outcome;
  reason: string;
  at: string;
  by: string;
}

export const LIMITS = { reason: 20_000, text: 20_000, evidence: 50, outcomes: 50, outcome: 2000, comment: 20_000 };

const line = (max: number) => z.string().trim().min(1, "is required").max(max).superRefine(textRule(TextKind.Line));
const multiline = (max: number) =>
  z.string().trim().min(1, "is required").max(max).superRefine(textRule(TextKind.Multiline));
const idSchema = z
  .string()
  .trim()
  .min(1, "is required")
  .max(64)
  .regex(ID_PATTERN, "is not a valid id (letters, digits, '.', '_', ':', '-')");
/** `HUB/ID`. */
export const REF_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}\/[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
const refSchema = z.string().trim().regex(REF_PATTERN, "is not HUB/ID");

const changeSchema = z
  .object({
    kind: z.enum(CHANGE_KINDS),
    text: multiline(LIMITS.text).optional(),
    language: z
      .string()
      .trim()
      .min(2)
      .max(35)
      .regex(/^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$/, "is not a language tag")
      .optional(),
    outcomes: z.array(line(LIMITS.outcome)).min(1).max(LIMITS.outcomes).optional(),
    case: refSchema.optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    const need = (field: "text" | "outcomes" | "case", what: string) => {
      if (c[field] === undefined) ctx.addIssue({ code: "custom", path: [field], message: `is required for a ${what}` });
    };
    if (c.kind === "text") {
      need("text", "change of wording");
      if (c.language === undefined)
        ctx.addIssue({ code: "custom", path: ["language"], message: "is required for a change of wording" });
    }
    if (c.kind === "outcomes") need("outcomes", "change of outcomes");
    if (c.kind === "cite-case") need("case", "case to cite");
    for (const field of ["text", "outcomes", "case"] as const) {
      const owner = field === "text" ? "text" : field === "outcomes" ? "outcomes" : "cite-case";
      if (c[field] !== undefined && c.kind !== owner)
        ctx.addIssue({ code: "custom", path: [field], message: `belongs to a change of kind ${owner}, not ${c.kind}` });
    }
  });

export const proposalInputSchema = z
  .object({
    id: idSchema,
    target: z.object({ kind: z.enum(["item", "module"]), id: idSchema }).strict(),
    change: changeSchema,
    reason: multiline(LIMITS.reason),
    evidence: z
      .array(
        z
          .object({
            kind: z.enum(EVIDENCE_KINDS),
            ref: line(500),
            note: z.string().trim().max(2000).superRefine(textRule(TextKind.Line)).optional(),
          })
          .strict(),
      )
      .max(LIMITS.evidence)
      .default([]),
  })
  .strict()
  .superRefine((p, ctx) => {
    if (p.change.kind === "outcomes" && p.target.kind !== "module")
      ctx.addIssue({ code: "custom", path: ["change", "kind"], message: "outcomes belong to a module, not an item" });
    p.evidence.forEach((e, i) => {
      if (e.kind === "case" && !REF_PATTERN.test(e.ref))
        ctx.addIssue({ code: "custom", path: ["evidence", i, "ref"], message: "a case is named HUB/CASE-ID" });
    });
  });
export type ProposalInput = z.input<typeof proposalInputSchema>;

export const commentInputSchema = z
  .object({
    proposal: refSchema,
    stance: z.enum(STANCES),
    text: z.string().trim().max(LIMITS.comment).superRefine(textRule(TextKind.Multiline)),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.stance !== "support" && c.text === "")
      ctx.addIssue({
        code: "custom",
        path: ["text"],
        message: `is required for ${c.stance === "object" ? "an objection" : "a comment"}`,
      });
  });

export const decisionInputSchema = z
  .object({
    proposal: refSchema,
    outcome: z.enum(OUTCOMES),
    reason: z.string().trim().max(LIMITS.reason).superRefine(textRule(TextKind.Multiline)),
  })
  .strict()
  .superRefine((d, ctx) => {
    if (d.outcome === "rejected" && d.reason === "")
      ctx.addIssue({
        code: "custom",
        path: ["reason"],
        message: "is required: a proposal is never rejected without a reason",
      });
  });

// ---------------------------------------------------------------------------------------------
// stored forms: one JSON text per record (one owner writes them)

export interface FeedbackDoc {
  proposals?: Record<string, unknown>;
  /** This hub's comments, by `HUB/PROPOSAL-ID#n`. */
  comments?: Record<string, unknown>;
  /** The secretariat's decisions, by `HUB/PROPOSAL-ID`. */
  decisions?: Record<string, unknown>;
}

export const stored = (value: unknown) => new ImmutableString(JSON.stringify(value));

const proposalSchema = z.object({
  id: z.string(),
  target: z.object({ kind: z.enum(["item", "module"]), id: z.string() }),
  change: z.object({
    kind: z.enum(CHANGE_KINDS),
    text: z.string().optional(),
    language: z.string().optional(),
    outcomes: z.array(z.string()).optional(),
    case: z.string().optional(),
  }),
  reason: z.string(),
  evidence: z.array(z.object({ kind: z.enum(EVIDENCE_KINDS), ref: z.string(), note: z.string().optional() })),
  against: z.string(),
  withdrawn: z.boolean().optional(),
  proposedAt: z.string(),
  proposedBy: z.string(),
});
const commentSchema = z.object({
  proposal: z.string(),
  stance: z.enum(STANCES),
  text: z.string(),
  at: z.string(),
  by: z.string(),
});
const decisionSchema = z.object({
  proposal: z.string(),
  outcome: z.enum(OUTCOMES),
  reason: z.string(),
  at: z.string(),
  by: z.string(),
});

/** Every record of a map that decodes: one its owner wrote in another shape (outside the API) is not shown. */
function decodeAll<T>(schema: z.ZodType<T>, map: Record<string, unknown> | undefined): T[] {
  return Object.values(map ?? {}).flatMap((value) => {
    const record = decodeStored(schema, value);
    return record === undefined ? [] : [record];
  });
}

export function proposalsIn(doc: unknown): Proposal[] {
  return decodeAll(proposalSchema, (doc as FeedbackDoc | undefined)?.proposals).sort((a, b) =>
    a.id.localeCompare(b.id),
  );
}

export function commentsIn(doc: unknown): ProposalComment[] {
  return decodeAll(commentSchema, (doc as FeedbackDoc | undefined)?.comments).sort((a, b) => a.at.localeCompare(b.at));
}

export function decisionsIn(doc: unknown): Decision[] {
  return decodeAll(decisionSchema, (doc as FeedbackDoc | undefined)?.decisions);
}

export function splitRef(ref: string): { hub: string; id: string } {
  const slash = ref.indexOf("/");
  return { hub: ref.slice(0, slash), id: ref.slice(slash + 1) };
}
