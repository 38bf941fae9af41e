import type { Audits, DrawnAudit, HeldFinding } from "../audits/index.js";
import { parsePeriod, type Deliveries, type FollowUp, type Indicator } from "../deliveries/index.js";
import { formatInstrument } from "../deliveries/index.js";
import { invalidArgument, type FieldViolation } from "../errors.js";
import {
  EvaluationServiceService,
  type Audit as AuditMessage,
  type Finding as FindingMessage,
  type FollowUp as FollowUpMessage,
  type Indicator as IndicatorMessage,
  type EvaluationServiceServer,
} from "./generated/concordat/v1/evaluations.js";
import { unary, type HandlerComponents } from "./handlers.js";

export { EvaluationServiceService };

function followUpMessage(hub: string, f: FollowUp): FollowUpMessage {
  return { ...f, instrument: formatInstrument(f.instrument), hub };
}

function indicatorMessage(hub: string, i: Indicator): IndicatorMessage {
  return { ...i, period: i.from === i.to ? i.from : `${i.from}..${i.to}`, hub };
}

function findingMessage(f: HeldFinding): FindingMessage {
  return { ...f.finding, signature: f.signature, storedBy: f.storedBy };
}

function auditMessage(a: DrawnAudit, audits: Audits): AuditMessage {
  return {
    id: a.id,
    from: a.period.from,
    to: a.period.to,
    perHub: a.perHub,
    drawnAt: a.drawnAt,
    drawnBy: a.drawnBy,
    seedSignature: a.seed?.signature ?? "",
    seedSeq: a.seed?.checkpoint.seq ?? 0,
    seedTime: a.seed?.checkpoint.time ?? "",
    populations: a.populations.map((p) => ({
      hub: p.hub,
      seq: p.checkpoint?.checkpoint.seq ?? 0,
      deliveries: p.deliveries,
    })),
    sample: a.sample,
    findings: audits.findings(a.id).map(findingMessage),
    responses: [...new Set(a.sample.map((s) => s.hub))].flatMap((hub) =>
      audits
        .responses(hub)
        .filter((r) => r.audit === a.id)
        .map((r) => ({ ...r, hub })),
    ),
  };
}

/**
 * Evaluation after the course: level-3 follow-ups (and those due), level-4 indicators, the
 * evaluator panel and random audits.
 */
export function evaluationService(
  components: HandlerComponents & { deliveries: Deliveries; audits: Audits; info: { hubId: string } },
): EvaluationServiceServer {
  const { deliveries, audits, info } = components;
  return {
    recordFollowUp: unary(components, "RecordFollowUp", "operator", async (req, ctx) => {
      const m = req.followUp;
      if (!m) throw invalidArgument([{ field: "follow_up", description: "is required" }]);
      const saved = await deliveries.recordFollowUp(ctx.operator.id, {
        delivery: m.delivery,
        conductedOn: m.conductedOn,
        source: m.source,
        reached: m.reached,
        applying: m.applying,
        instrument: m.instrument,
      });
      return followUpMessage(info.hubId, saved);
    }),
    importFollowUps: unary(components, "ImportFollowUps", "operator", async (req, ctx) => ({
      followUps: (await deliveries.importFollowUps(ctx.operator.id, req.csv)).map((f) =>
        followUpMessage(info.hubId, f),
      ),
    })),
    listFollowUps: unary(components, "ListFollowUps", "viewer", async (req) => {
      const hub = req.hub.trim() || info.hubId;
      return { followUps: deliveries.followUps(hub, req.delivery.trim()).map((f) => followUpMessage(hub, f)) };
    }),
    listDueFollowUps: unary(components, "ListDueFollowUps", "viewer", async (req) => {
      const at = req.at.trim() || new Date().toISOString().slice(0, 10);
      const due = await deliveries.due(at, req.withinDays);
      return { at, due };
    }),
    recordIndicator: unary(components, "RecordIndicator", "operator", async (req, ctx) => {
      const m = req.indicator;
      if (!m) throw invalidArgument([{ field: "indicator", description: "is required" }]);
      const violations: FieldViolation[] = [];
      const period = parsePeriod(m.period.trim(), "indicator.period", violations);
      if (!period) throw invalidArgument(violations);
      const saved = await deliveries.recordIndicator(ctx.operator.id, {
        indicator: m.indicator,
        from: period.from,
        to: period.to,
        value: m.value,
        unit: m.unit,
        source: m.source,
      });
      return indicatorMessage(info.hubId, saved);
    }),
    listIndicators: unary(components, "ListIndicators", "viewer", async (req) => {
      const hub = req.hub.trim() || info.hubId;
      return { indicators: deliveries.indicators(hub).map((i) => indicatorMessage(hub, i)) };
    }),
    appointEvaluator: unary(components, "AppointEvaluator", "operator", async (req, ctx) => {
      const m = req.evaluator;
      if (!m) throw invalidArgument([{ field: "evaluator", description: "is required" }]);
      const e = await audits.appoint(ctx.operator.id, { id: m.id, name: m.name, key: m.key });
      return { ...e, removedAt: e.removedAt ?? "" };
    }),
    removeEvaluator: unary(components, "RemoveEvaluator", "operator", async (req, ctx) => {
      const e = await audits.remove(ctx.operator.id, req.id);
      return { ...e, removedAt: e.removedAt ?? "" };
    }),
    listEvaluators: unary(components, "ListEvaluators", "viewer", async () => ({
      evaluators: audits.evaluators().map((e) => ({ ...e, removedAt: e.removedAt ?? "" })),
    })),
    drawAudit: unary(components, "DrawAudit", "operator", async (req, ctx) => {
      const violations: FieldViolation[] = [];
      const period = parsePeriod(req.period.trim(), "audit.period", violations);
      if (!period) throw invalidArgument(violations);
      const drawn = await audits.draw(ctx.operator.id, {
        id: req.id,
        period: { from: period.from, to: period.to },
        perHub: req.perHub,
      });
      return auditMessage(drawn, audits);
    }),
    getAudit: unary(components, "GetAudit", "viewer", async (req) => auditMessage(audits.get(req.id), audits)),
    listAudits: unary(components, "ListAudits", "viewer", async () => ({
      audits: audits.list().map((a) => auditMessage(a, audits)),
    })),
    recordFinding: unary(components, "RecordFinding", "operator", async (req, ctx) => {
      const m = req.finding;
      if (!m) throw invalidArgument([{ field: "finding", description: "is required" }]);
      const { signature, storedBy: _s, ...finding } = m;
      return findingMessage(
        await audits.recordFinding(ctx.operator.id, {
          finding: { ...finding, severity: finding.severity as HeldFinding["finding"]["severity"] },
          signature,
        }),
      );
    }),
    respondToAudit: unary(components, "RespondToAudit", "operator", async (req, ctx) => ({
      ...(await audits.respond(ctx.operator.id, req)),
      hub: info.hubId,
    })),
  };
}
