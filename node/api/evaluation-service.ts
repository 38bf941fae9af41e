import { parsePeriod, type Deliveries, type FollowUp, type Indicator } from "../deliveries/index.js";
import { formatInstrument } from "../deliveries/index.js";
import { invalidArgument, type FieldViolation } from "../errors.js";
import {
  EvaluationServiceService,
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

/** Evaluation after the course: level-3 follow-ups (and those due) and level-4 indicators. */
export function evaluationService(
  components: HandlerComponents & { deliveries: Deliveries; info: { hubId: string } },
): EvaluationServiceServer {
  const { deliveries, info } = components;
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
  };
}
