import * as A from "@automerge/automerge";
import type { Checkpointer, SignedCheckpoint, VerifiedViews } from "../authority/index.js";
import { DELIVERIES_KEY, deliveriesIn, type Deliveries } from "../deliveries/index.js";
import { DocumentType, type OwnedDocuments, type OwnedDocumentSpec } from "../documents/index.js";
import {
  alreadyExists,
  failedPrecondition,
  invalidArgument,
  notFound,
  permissionDenied,
  type FieldViolation,
} from "../errors.js";
import { ownedDocumentId, type Membership } from "../federation/index.js";
import { Checker, checkText, ID_PATTERN, quote, TextKind } from "../text.js";
import {
  auditsIn,
  drawSample,
  encodeDefinition,
  encodeEvaluator,
  encodeFinding,
  encodeResponse,
  encodeSeed,
  evaluatorsIn,
  FINDINGS_KEY,
  findingKey,
  findingSignatureProblem,
  findingsIn,
  MAX_PER_HUB,
  PANEL_KEY,
  panelProblem,
  responseKey,
  responsesIn,
  STANCES,
  validateEvaluator,
  validateFinding,
  type Audit,
  type AuditDefinition,
  type AuditResponse,
  type Evaluator,
  type PanelDoc,
  type Population,
  type SignedFinding,
  type Stance,
} from "./model.js";

function panelSpec(): OwnedDocumentSpec {
  return {
    key: PANEL_KEY,
    type: DocumentType.EvaluationPanel,
    replicated: true,
    initial: { evaluators: {}, audits: {}, seeds: {} },
  };
}

function findingsSpec(): OwnedDocumentSpec {
  return { key: FINDINGS_KEY, type: DocumentType.AuditFindings, replicated: true, initial: { findings: {} } };
}

/** An audit as a node shows it: its definition, its seed, and the sample the seed draws. */
export interface DrawnAudit extends Audit {
  sample: Array<{ hub: string; delivery: string }>;
}

/** A finding as this node holds it: signed by its evaluator, stored by some hub. */
export interface HeldFinding extends SignedFinding {
  storedBy: string;
}

/**
 * The shared evaluator panel and random audits (model.ts). The secretariat appoints evaluators and
 * draws audits in its panel document; any hub stores an evaluator's signed finding in its own
 * findings document once it has checked it; a sampled hub answers in its deliveries document.
 */
export class Audits {
  readonly #self: string;
  readonly #isSecretariat: boolean;
  readonly #documents: OwnedDocuments;
  readonly #views: VerifiedViews;
  readonly #membership: Membership;
  readonly #checkpointer: Checkpointer;
  readonly #deliveries: Deliveries;

  constructor(
    init: { hubId: string; isSecretariat: boolean },
    c: {
      documents: OwnedDocuments;
      views: VerifiedViews;
      membership: Membership;
      checkpointer: Checkpointer;
      deliveries: Deliveries;
    },
  ) {
    this.#self = init.hubId;
    this.#isSecretariat = init.isSecretariat;
    this.#documents = c.documents;
    this.#views = c.views;
    this.#membership = c.membership;
    this.#checkpointer = c.checkpointer;
    this.#deliveries = c.deliveries;
  }

  /** The secretariat's panel document: its own here, its latest verified view elsewhere. */
  #panel(): PanelDoc | undefined {
    if (this.#isSecretariat)
      return this.#documents.has(PANEL_KEY) ? this.#documents.get<PanelDoc>(PANEL_KEY) : undefined;
    const secretariat = this.#membership.members().find((m) => m.role === "secretariat");
    return secretariat
      ? (this.#views.view(ownedDocumentId(secretariat.directoryId, PANEL_KEY))?.doc as PanelDoc | undefined)
      : undefined;
  }

  #requireSecretariat(what: string): void {
    if (!this.#isSecretariat) throw permissionDenied(`only the secretariat ${what}`);
  }

  evaluators(): Evaluator[] {
    return evaluatorsIn(this.#panel());
  }

  /** Appoints an evaluator with their did:key (again: renames them). */
  async appoint(operatorId: string, raw: { id: string; name: string; key: string }): Promise<Evaluator> {
    this.#requireSecretariat("appoints evaluators");
    const { value, violations } = validateEvaluator(raw);
    if (violations.length > 0) throw invalidArgument(violations);
    const panel = this.evaluators();
    const other = panel.find((e) => e.key === value.key && e.id !== value.id);
    if (other) throw alreadyExists(`that key is already evaluator ${quote(other.id)}'s`);
    const before = panel.find((e) => e.id === value.id);
    if (before && before.key !== value.key)
      throw failedPrecondition(
        `evaluator ${quote(value.id)} has another key: findings they signed must stay verifiable; appoint the new key under another id`,
      );
    if (before?.removedAt !== undefined)
      throw failedPrecondition(
        `evaluator ${quote(value.id)} was removed at ${before.removedAt}; appoint them again under another id, so that who was on the panel when stays on record`,
      );
    const evaluator: Evaluator = {
      ...value,
      appointedAt: before?.appointedAt ?? new Date().toISOString(),
      appointedBy: before?.appointedBy ?? operatorId,
    };
    await this.#writePanel(operatorId, "evaluator.appoint", evaluator.id, (doc) => {
      (doc.evaluators as Record<string, unknown>)[evaluator.id] = encodeEvaluator(evaluator);
    });
    return evaluator;
  }

  /** Removes an evaluator: findings they sign from now on do not count; earlier ones still do. */
  async remove(operatorId: string, id: string): Promise<Evaluator> {
    this.#requireSecretariat("removes evaluators");
    const before = this.evaluators().find((e) => e.id === id.trim());
    if (!before) throw notFound(`no evaluator ${quote(id)} on the panel`);
    if (before.removedAt !== undefined) return before;
    const evaluator: Evaluator = { ...before, removedAt: new Date().toISOString() };
    await this.#writePanel(operatorId, "evaluator.remove", evaluator.id, (doc) => {
      (doc.evaluators as Record<string, unknown>)[evaluator.id] = encodeEvaluator(evaluator);
    });
    return evaluator;
  }

  async #writePanel(
    operatorId: string,
    action: string,
    subject: string,
    change: (doc: Record<string, unknown>) => void,
  ): Promise<void> {
    await this.#documents.transact({ operatorId, action, subjects: [subject] }, () => ({
      create: this.#documents.has(PANEL_KEY) ? [] : [panelSpec()],
      edits: [{ key: PANEL_KEY, subject, change }],
      result: undefined,
    }));
  }

  /**
   * Draws an audit of `period`: fixes every member's deliveries in the period as it last signed
   * them, has the panel document signed with that, and takes the signature as the seed. A draw cut
   * short between the two (a crash) is finished by drawing the same id again.
   */
  async draw(
    operatorId: string,
    raw: { id: string; period: { from: string; to: string }; perHub: number },
  ): Promise<DrawnAudit> {
    this.#requireSecretariat("draws audits");
    const c = new Checker();
    const id = raw.id.trim();
    if (id === "") c.fail("audit.id", "is required");
    else if (c.characters("audit.id", id, TextKind.Line) && (id.length > 64 || !ID_PATTERN.test(id)))
      c.fail("audit.id", `${quote(id)} is not a valid id`);
    if (!Number.isInteger(raw.perHub) || raw.perHub < 1 || raw.perHub > MAX_PER_HUB)
      c.fail("audit.per_hub", `${raw.perHub} is not a sample size (1 to ${MAX_PER_HUB} deliveries per hub)`);
    if (c.violations.length > 0) throw invalidArgument(c.violations);
    const existing = auditsIn(this.#panel()).find((a) => a.id === id);
    if (existing?.seed) throw alreadyExists(`audit ${quote(id)} was drawn at ${existing.drawnAt}`);
    if (!existing) {
      const definition: AuditDefinition = {
        id,
        period: raw.period,
        perHub: raw.perHub,
        populations: await this.#populations(raw.period),
        drawnAt: new Date().toISOString(),
        drawnBy: operatorId,
      };
      await this.#writePanel(operatorId, "audit.draw", id, (doc) => {
        (doc.audits as Record<string, unknown>)[id] = encodeDefinition(definition);
      });
    }
    // The seed: the panel's checkpoint that signs the definition, signed now.
    await this.#checkpointer.flush();
    const seed = this.#checkpointer.latest(this.#documents.idOf(PANEL_KEY));
    if (!seed) throw failedPrecondition("the panel document has no checkpoint to seed the sample with");
    await this.#writePanel(operatorId, "audit.seed", id, (doc) => {
      doc.seeds ??= {};
      (doc.seeds as Record<string, unknown>)[id] = encodeSeed(seed);
    });
    return this.get(id);
  }

  /** Every member's deliveries in the period, as of its latest checkpoint (its verified view here). */
  async #populations(period: { from: string; to: string }): Promise<Population[]> {
    await this.#checkpointer.flush();
    const inPeriod = (doc: unknown) =>
      deliveriesIn(doc as { deliveries?: Record<string, unknown> })
        .filter((d) => d.start <= period.to && d.end >= period.from)
        .map((d) => d.id)
        .sort();
    return this.#membership
      .members()
      .filter((m) => m.removedAt === undefined)
      .map((m): Population => {
        if (m.hub === this.#self) {
          if (!this.#documents.has(DELIVERIES_KEY)) return { hub: m.hub, checkpoint: null, deliveries: [] };
          const checkpoint = this.#checkpointer.latest(this.#documents.idOf(DELIVERIES_KEY)) ?? null;
          return { hub: m.hub, checkpoint, deliveries: checkpoint ? this.#deliveriesAt(checkpoint, inPeriod) : [] };
        }
        const view = this.#views.view(ownedDocumentId(m.directoryId, DELIVERIES_KEY));
        if (!view) return { hub: m.hub, checkpoint: null, deliveries: [] };
        const checkpoint: SignedCheckpoint = { checkpoint: view.checkpoint, signature: view.signature };
        return { hub: m.hub, checkpoint, deliveries: inPeriod(view.doc) };
      })
      .sort((a, b) => (a.hub < b.hub ? -1 : 1));
  }

  /** This hub's deliveries as its checkpoint signed them (the authoring copy at those heads). */
  #deliveriesAt(checkpoint: SignedCheckpoint, read: (doc: unknown) => string[]): string[] {
    return read(A.view(this.#documents.get<unknown>(DELIVERIES_KEY) as A.Doc<unknown>, checkpoint.checkpoint.heads));
  }

  list(): DrawnAudit[] {
    return auditsIn(this.#panel()).map((a) => withSample(a));
  }

  get(id: string): DrawnAudit {
    const audit = auditsIn(this.#panel()).find((a) => a.id === id.trim());
    if (!audit) throw notFound(`no audit ${quote(id)} is known here (drawn by the secretariat, as last verified)`);
    return withSample(audit);
  }

  /**
   * Stores an evaluator's signed finding after checking it: its fields; that the audit is drawn and
   * samples that delivery; that the evaluator is on the panel; that the signature is theirs.
   */
  async recordFinding(operatorId: string, signed: SignedFinding): Promise<HeldFinding> {
    const violations: FieldViolation[] = validateFinding(signed);
    const f = signed.finding;
    const audit = auditsIn(this.#panel()).find((a) => a.id === f.audit);
    if (f.audit.trim() !== "" && !audit)
      violations.push({ field: "finding.audit", description: `no audit ${quote(f.audit)} is known here` });
    else if (audit && !audit.seed)
      violations.push({ field: "finding.audit", description: `audit ${quote(f.audit)} is not drawn yet (no seed)` });
    else if (audit && !withSample(audit).sample.some((s) => s.hub === f.hub && s.delivery === f.delivery))
      violations.push({
        field: "finding.delivery",
        description: `${quote(f.hub)}'s delivery ${quote(f.delivery)} is not in audit ${quote(f.audit)}'s sample`,
      });
    const panel = this.evaluators();
    const evaluator = panel.find((e) => e.id === f.evaluator);
    const onPanel = f.evaluator.trim() === "" ? undefined : panelProblem(panel, f.evaluator, f.at);
    if (onPanel) violations.push({ field: "finding.evaluator", description: onPanel });
    if (evaluator && violations.every((v) => v.field !== "signature")) {
      const problem = await findingSignatureProblem(signed, evaluator.key);
      if (problem) violations.push({ field: "signature", description: problem });
    }
    if (violations.length > 0) throw invalidArgument(violations);
    const key = findingKey(f);
    await this.#documents.transact({ operatorId, action: "audit.finding", subjects: [key] }, () => ({
      create: this.#documents.has(FINDINGS_KEY) ? [] : [findingsSpec()],
      edits: [
        {
          key: FINDINGS_KEY,
          subject: key,
          change: (doc) => ((doc.findings as Record<string, unknown>)[key] = encodeFinding(signed)),
        },
      ],
      result: undefined,
    }));
    return { ...signed, storedBy: this.#self };
  }

  /** Every finding held here: this hub's own findings document and every other hub's, as verified. */
  findings(audit = ""): HeldFinding[] {
    const held: HeldFinding[] = [];
    if (this.#documents.has(FINDINGS_KEY))
      for (const f of findingsIn(this.#documents.get(FINDINGS_KEY))) held.push({ ...f, storedBy: this.#self });
    for (const view of this.#views.views())
      if (view.hub !== this.#self && ownedDocumentId(view.ownerDirectory, FINDINGS_KEY) === view.documentId)
        for (const f of findingsIn(view.doc as { findings?: Record<string, unknown> }))
          held.push({ ...f, storedBy: view.hub });
    return held.filter((f) => audit === "" || f.finding.audit === audit);
  }

  /** This hub's answer to the findings on one of its sampled deliveries (replaces an earlier one). */
  async respond(
    operatorId: string,
    raw: { audit: string; delivery: string; stance: string; note: string },
  ): Promise<AuditResponse> {
    const c = new Checker();
    const audit = auditsIn(this.#panel()).find((a) => a.id === raw.audit.trim());
    if (!audit) c.fail("response.audit", `no audit ${quote(raw.audit)} is known here`);
    else if (!withSample(audit).sample.some((s) => s.hub === this.#self && s.delivery === raw.delivery.trim()))
      c.fail("response.delivery", `${quote(raw.delivery)} is not one of this hub's deliveries in the sample`);
    const stance = raw.stance.trim().toLowerCase();
    if (!(STANCES as readonly string[]).includes(stance))
      c.fail("response.stance", `${quote(raw.stance)} is not one of ${STANCES.join(", ")}`);
    const note = checkText(c, "response.note", raw.note, 20_000, stance === "disputed", TextKind.Multiline);
    if (c.violations.length > 0) throw invalidArgument(c.violations);
    const response: AuditResponse = {
      audit: raw.audit.trim(),
      delivery: raw.delivery.trim(),
      stance: stance as Stance,
      note,
      at: new Date().toISOString(),
      by: operatorId,
    };
    const key = responseKey(response.audit, response.delivery);
    await this.#deliveries.writeResponse(operatorId, key, encodeResponse(response));
    return response;
  }

  /** A hub's responses (this hub's live, another's as verified). */
  responses(hub = this.#self): AuditResponse[] {
    return responsesIn(this.#deliveries.document(hub) as { auditResponses?: Record<string, unknown> } | undefined);
  }
}

function withSample(a: Audit): DrawnAudit {
  return { ...a, sample: a.seed ? drawSample(a.seed.signature, a.populations, a.perHub) : [] };
}
