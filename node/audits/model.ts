import { createHash } from "node:crypto";
import { ImmutableString } from "@automerge/automerge";
import canonicalizeModule from "canonicalize";
import { z } from "zod";
import type { SignedCheckpoint } from "../authority/index.js";
import { publicKeyOfDidKey, verifyEd25519 } from "../credentials/index.js";
import { decodeStored } from "../documents/index.js";
import type { FieldViolation } from "../errors.js";
import { Checker, checkText, ID_PATTERN, quote, TextKind } from "../text.js";

/**
 * Independent random audits (docs/evaluation.md, "Random audits"): the secretariat appoints
 * evaluators — people with their own Ed25519 keys, named by did:key — in its evaluation panel
 * document, and draws audits there. An audit fixes, per hub, the deliveries of a period as that hub
 * had signed them (its deliveries document's checkpoint); the sample is then drawn from them with a
 * seed nobody could choose or predict: the signature of the secretariat's own checkpoint that first
 * signed the audit. Anyone with the bundle recomputes it. An evaluator's finding is signed with the
 * evaluator's key, so it stays theirs whichever node stores it; the audited hub's response is in its
 * own deliveries document, signed by its checkpoints.
 */
export const PANEL_KEY = "evaluation-panel";
export const FINDINGS_KEY = "audit-findings";
export const SEVERITIES = ["none", "minor", "major", "critical"] as const;
export type Severity = (typeof SEVERITIES)[number];
export const STANCES = ["accepted", "disputed"] as const;
export type Stance = (typeof STANCES)[number];
export const MAX_PER_HUB = 1000;

const canonicalize = canonicalizeModule as unknown as (value: unknown) => string | undefined;

export interface Evaluator {
  id: string;
  name: string;
  /** did:key of the evaluator's Ed25519 key. */
  key: string;
  appointedAt: string;
  appointedBy: string;
  /** Findings dated after this do not count. */
  removedAt?: string;
}

/** The deliveries of one hub an audit samples from, as that hub had signed them. */
export interface Population {
  hub: string;
  /** The hub's deliveries document's checkpoint they were read at (null: the hub had none). */
  checkpoint: SignedCheckpoint | null;
  /** Ids of its deliveries in the period then, sorted. */
  deliveries: string[];
}

export interface AuditDefinition {
  id: string;
  period: { from: string; to: string };
  /** How many deliveries are sampled per hub (all of a hub's when it has fewer). */
  perHub: number;
  populations: Population[];
  drawnAt: string;
  drawnBy: string;
}

/** An audit with its seed: the secretariat's checkpoint of the panel document that first signed it. */
export interface Audit extends AuditDefinition {
  seed: SignedCheckpoint | null;
}

export interface FindingBody {
  audit: string;
  hub: string;
  delivery: string;
  /** The evaluator's id on the panel. */
  evaluator: string;
  /** Whether the delivery's reported figures were confirmed. */
  confirmed: boolean;
  severity: Severity;
  observations: string;
  /** When the evaluator signed it (ISO 8601). */
  at: string;
}

export interface SignedFinding {
  finding: FindingBody;
  /** Ed25519 by the evaluator's key over `findingBytes(finding)`, base64. */
  signature: string;
}

/** The audited hub's answer to the findings on one of its sampled deliveries. */
export interface AuditResponse {
  audit: string;
  delivery: string;
  stance: Stance;
  note: string;
  at: string;
  by: string;
}

// ---------------------------------------------------------------------------------------------
// the sample

/** Where a delivery falls in an audit's order: SHA-256 over the seed, the hub and the delivery. */
export function sampleScore(seed: string, hub: string, delivery: string): string {
  return createHash("sha256").update(`concordat/audit-sample/1\n${seed}\n${hub}\n${delivery}`).digest("hex");
}

/**
 * The sample: per hub (in id order), the `perHub` deliveries of its population that come first in
 * the seed's order. The seed is a base64 signature; any change to it reorders everything.
 */
export function drawSample(
  seed: string,
  populations: readonly Pick<Population, "hub" | "deliveries">[],
  perHub: number,
): Array<{ hub: string; delivery: string }> {
  return [...populations]
    .sort((a, b) => (a.hub < b.hub ? -1 : a.hub > b.hub ? 1 : 0))
    .flatMap((p) =>
      [...new Set(p.deliveries)]
        .map((delivery) => ({ delivery, score: sampleScore(seed, p.hub, delivery) }))
        .sort((a, b) => (a.score < b.score ? -1 : a.score > b.score ? 1 : 0))
        .slice(0, perHub)
        .map(({ delivery }) => ({ hub: p.hub, delivery })),
    );
}

// ---------------------------------------------------------------------------------------------
// signing findings

export const FINDING_DOMAIN = "concordat/audit-finding/1";

/** The bytes an evaluator signs: a domain line, then the finding as canonical JSON (RFC 8785). */
export function findingBytes(f: FindingBody): Uint8Array {
  const body = canonicalize({
    audit: f.audit,
    hub: f.hub,
    delivery: f.delivery,
    evaluator: f.evaluator,
    confirmed: f.confirmed,
    severity: f.severity,
    observations: f.observations,
    at: f.at,
  });
  return new TextEncoder().encode(`${FINDING_DOMAIN}\n${body ?? ""}`);
}

/** Why a finding's signature is not the evaluator's; undefined when it is. */
export async function findingSignatureProblem(signed: SignedFinding, key: string): Promise<string | undefined> {
  const { raw, problem } = publicKeyOfDidKey(key);
  if (!raw) return `the evaluator's key is not usable: ${problem ?? ""}`;
  const signature = Buffer.from(signed.signature, "base64");
  if (signature.length !== 64 || !(await verifyEd25519(raw, findingBytes(signed.finding), signature)))
    return "the signature does not verify with the evaluator's key (the finding was changed after it was signed, or signed with another key)";
  return undefined;
}

/** Whether an evaluator may sign a finding at `at`: appointed before it, not removed by then. */
export function panelProblem(evaluators: readonly Evaluator[], id: string, at: string): string | undefined {
  const e = evaluators.find((x) => x.id === id);
  if (!e) return `${quote(id)} is not on the secretariat's evaluation panel`;
  if (at < e.appointedAt) return `${quote(id)} was appointed at ${e.appointedAt}, after this finding (${at})`;
  if (e.removedAt !== undefined && at > e.removedAt)
    return `${quote(id)} was removed from the panel at ${e.removedAt}, before this finding (${at})`;
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// validation

const ISO = (v: string) => !Number.isNaN(Date.parse(v)) && /^\d{4}-\d{2}-\d{2}T/.test(v);

export function validateEvaluator(raw: { id: string; name: string; key: string }): {
  value: { id: string; name: string; key: string };
  violations: FieldViolation[];
} {
  const c = new Checker();
  const id = raw.id.trim();
  if (id === "") c.fail("evaluator.id", "is required");
  else if (c.characters("evaluator.id", id, TextKind.Line) && (id.length > 64 || !ID_PATTERN.test(id)))
    c.fail("evaluator.id", `${quote(id)} is not a valid id`);
  const name = checkText(c, "evaluator.name", raw.name, 200, true);
  const key = raw.key.trim();
  if (key === "") c.fail("evaluator.key", "is required (the did:key `concordat evaluators keygen` printed)");
  else if (c.characters("evaluator.key", key, TextKind.Line)) {
    const { problem } = publicKeyOfDidKey(key);
    if (problem) c.fail("evaluator.key", problem);
  }
  return { value: { id, name, key }, violations: c.violations };
}

/** Checks a finding's fields (who may sign it, and whether it is sampled, are the caller's). */
export function validateFinding(raw: SignedFinding): FieldViolation[] {
  const c = new Checker();
  const f = raw.finding;
  for (const field of ["audit", "hub", "delivery", "evaluator"] as const) {
    const v = f[field];
    if (v.trim() === "") c.fail(`finding.${field}`, "is required");
    else if (v !== v.trim() || v.length > 128 || !c.characters(`finding.${field}`, v, TextKind.Line))
      c.fail(`finding.${field}`, `${quote(v)} is not an id`);
  }
  if (!(SEVERITIES as readonly string[]).includes(f.severity))
    c.fail("finding.severity", `${quote(f.severity)} is not one of ${SEVERITIES.join(", ")}`);
  if (f.observations.length > 20_000) c.fail("finding.observations", "is longer than 20,000 characters");
  else c.characters("finding.observations", f.observations, TextKind.Multiline);
  if (!ISO(f.at)) c.fail("finding.at", `${quote(f.at)} is not an ISO 8601 time`);
  if (!/^[A-Za-z0-9+/]{86}==$/.test(raw.signature))
    c.fail("signature", "is not an Ed25519 signature (64 bytes, base64)");
  return c.violations;
}

// ---------------------------------------------------------------------------------------------
// stored forms (canonical JSON in one ImmutableString each: one owner writes them)

const stored = (value: unknown) => new ImmutableString(JSON.stringify(value));

const checkpointSchema = z.object({
  checkpoint: z.object({
    federationId: z.string(),
    owner: z.string(),
    documentId: z.string(),
    heads: z.array(z.string()),
    seq: z.number(),
    time: z.string(),
    kind: z.enum(["checkpoint", "release", "heartbeat"]),
    version: z.string().optional(),
  }),
  signature: z.string(),
});
const evaluatorSchema = z.object({
  id: z.string(),
  name: z.string(),
  key: z.string(),
  appointedAt: z.string(),
  appointedBy: z.string(),
  removedAt: z.string().optional(),
});
const definitionSchema = z.object({
  id: z.string(),
  period: z.object({ from: z.string(), to: z.string() }),
  perHub: z.number().int().min(1).max(MAX_PER_HUB),
  populations: z.array(
    z.object({ hub: z.string(), checkpoint: checkpointSchema.nullable(), deliveries: z.array(z.string()) }),
  ),
  drawnAt: z.string(),
  drawnBy: z.string(),
});
const findingSchema = z.object({
  finding: z.object({
    audit: z.string(),
    hub: z.string(),
    delivery: z.string(),
    evaluator: z.string(),
    confirmed: z.boolean(),
    severity: z.enum(SEVERITIES),
    observations: z.string(),
    at: z.string(),
  }),
  signature: z.string(),
});
const responseSchema = z.object({
  audit: z.string(),
  delivery: z.string(),
  stance: z.enum(STANCES),
  note: z.string(),
  at: z.string(),
  by: z.string(),
});

export const encodeEvaluator = (e: Evaluator) => stored(e);
export const encodeDefinition = (d: AuditDefinition) => stored(d);
export const encodeSeed = (s: SignedCheckpoint) => stored(s);
export const encodeFinding = (f: SignedFinding) => stored(f);
export const encodeResponse = (r: AuditResponse) => stored(r);

/** The panel document: `evaluators`, `audits` (definitions) and `seeds`, by id. */
export interface PanelDoc {
  evaluators?: Record<string, unknown>;
  audits?: Record<string, unknown>;
  seeds?: Record<string, unknown>;
}

export function evaluatorsIn(doc: PanelDoc | undefined): Evaluator[] {
  return Object.values(doc?.evaluators ?? {})
    .flatMap((v) => {
      const e = decodeStored(evaluatorSchema, v);
      return e ? [e] : [];
    })
    .sort((a, b) => (a.id < b.id ? -1 : 1));
}

export function auditsIn(doc: PanelDoc | undefined): Audit[] {
  return Object.entries(doc?.audits ?? {})
    .flatMap(([id, v]) => {
      const d = decodeStored(definitionSchema, v);
      return d ? [{ ...d, seed: decodeStored(checkpointSchema, doc?.seeds?.[id]) ?? null }] : [];
    })
    .sort((a, b) => (a.id < b.id ? -1 : 1));
}

/** The definition as stored at `id` (what the seed's checkpoint must hold). */
export function definitionIn(doc: PanelDoc | undefined, id: string): AuditDefinition | undefined {
  return decodeStored(definitionSchema, doc?.audits?.[id]);
}

export function findingsIn(doc: { findings?: Record<string, unknown> } | undefined): SignedFinding[] {
  return Object.values(doc?.findings ?? {}).flatMap((v) => {
    const f = decodeStored(findingSchema, v);
    return f ? [f] : [];
  });
}

export const findingKey = (f: FindingBody) => `${f.audit}/${f.hub}/${f.delivery}/${f.evaluator}`;
export const responseKey = (audit: string, delivery: string) => `${audit}/${delivery}`;

export function responsesIn(doc: { auditResponses?: Record<string, unknown> } | undefined): AuditResponse[] {
  return Object.values(doc?.auditResponses ?? {}).flatMap((v) => {
    const r = decodeStored(responseSchema, v);
    return r ? [r] : [];
  });
}
