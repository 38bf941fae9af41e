import { formatInstrument, type Deliveries, type Delivery, type RawDeliveryDraft } from "../deliveries/index.js";
import { invalidArgument } from "../errors.js";
import {
  DeliveryServiceService,
  type Delivery as DeliveryMessage,
  type DeliveryServiceServer,
} from "./generated/concordat/v1/deliveries.js";
import { unary, type HandlerComponents } from "./handlers.js";

export { DeliveryServiceService };

/** The scaled score that demonstrates a competency when a statement says no more (docs/evaluation.md). */
export const DEFAULT_MASTERY = 0.8;

export function deliveryMessage(hub: string, d: Delivery): DeliveryMessage {
  return {
    ...d,
    participants: d.participants.map((g) => ({ ...g })),
    evaluation: { ...d.evaluation, instrument: formatInstrument(d.evaluation.instrument) },
    assessments: d.assessments.map((a) => ({ ...a })),
    learning: d.learning ? { ...d.learning, instrument: formatInstrument(d.learning.instrument) } : undefined,
    followUpDue: d.followUpDue ?? "",
    hub,
  };
}

function draftOf(m: DeliveryMessage | undefined): RawDeliveryDraft {
  if (!m) throw invalidArgument([{ field: "delivery", description: "is required" }]);
  return {
    id: m.id,
    module: m.module,
    start: m.start,
    end: m.end,
    country: m.country,
    place: m.place,
    language: m.language,
    participants: m.participants.map((g) => ({
      category: g.category,
      female: g.female,
      male: g.male,
      unspecified: g.unspecified,
    })),
    completed: m.completed,
    passed: m.passed,
    evaluation: {
      responses: m.evaluation?.responses ?? 0,
      meanScore: m.evaluation?.meanScore ?? 0,
      instrument: m.evaluation?.instrument ?? "",
    },
    assessments: m.assessments.map((a) => ({ ...a })),
    learning: {
      assessed: m.learning?.assessed ?? 0,
      preMean: m.learning?.preMean ?? 0,
      postMean: m.learning?.postMean ?? 0,
      instrument: m.learning?.instrument ?? "",
    },
    visibility: m.visibility,
    followUpDue: m.followUpDue,
  };
}

export function deliveryService(
  components: HandlerComponents & { deliveries: Deliveries; info: { hubId: string } },
): DeliveryServiceServer {
  const { deliveries, info } = components;
  return {
    recordDelivery: unary(components, "RecordDelivery", "operator", async (req, ctx) =>
      deliveryMessage(info.hubId, await deliveries.record(ctx.operator.id, draftOf(req.delivery))),
    ),
    ingestStatements: unary(components, "IngestStatements", "operator", async (req, ctx) => {
      const {
        participants: _p,
        completed: _c,
        passed: _s,
        evaluation: _e,
        assessments: _a,
        learning: _l,
        ...target
      } = draftOf(req.delivery);
      const result = await deliveries.ingest(ctx.operator.id, target, req.statementsJson, {
        mastery: req.mastery,
        source: req.source,
      });
      return {
        delivery: deliveryMessage(info.hubId, result.delivery),
        added: result.added,
        duplicates: result.duplicates,
        voided: result.voided,
        cursor: result.cursor,
      };
    }),
    getPullCursor: unary(components, "GetPullCursor", "operator", async (req) => ({
      since: deliveries.cursor(req.delivery, req.source),
    })),
    recordAssessments: unary(components, "RecordAssessments", "operator", async (req, ctx) => {
      if (req.csv !== "" && req.assessments.length > 0)
        throw invalidArgument([{ field: "csv", description: "give assessments or a CSV file, not both" }]);
      const input = req.csv !== "" ? { csv: req.csv } : { rows: req.assessments.map((a) => ({ ...a })) };
      return deliveryMessage(info.hubId, await deliveries.assess(ctx.operator.id, req.delivery, input));
    }),
    ingestAssessment: unary(components, "IngestAssessment", "operator", async (req, ctx) => {
      const result = await deliveries.ingestAssessment(
        ctx.operator.id,
        req.delivery,
        { competency: req.competency, method: req.method, mastery: req.mastery === 0 ? DEFAULT_MASTERY : req.mastery },
        req.statementsJson,
      );
      return {
        delivery: deliveryMessage(info.hubId, result.delivery),
        added: result.added,
        duplicates: result.duplicates,
        withoutResult: result.withoutResult,
      };
    }),
    ingestScores: unary(components, "IngestScores", "operator", async (req, ctx) => {
      const result = await deliveries.ingestScores(
        ctx.operator.id,
        req.delivery,
        { level: req.level, instrument: req.instrument },
        req.statementsJson,
      );
      return {
        delivery: deliveryMessage(info.hubId, result.delivery),
        added: result.added,
        duplicates: result.duplicates,
        withoutScore: result.withoutScore,
      };
    }),
    getDelivery: unary(components, "GetDelivery", "viewer", async (req) => {
      const hub = req.hub.trim() || info.hubId;
      return deliveryMessage(hub, deliveries.get(req.id.trim(), hub));
    }),
    listDeliveries: unary(components, "ListDeliveries", "viewer", async (req) => {
      const hub = req.hub.trim() || info.hubId;
      return { deliveries: deliveries.list(hub).map((d) => deliveryMessage(hub, d)) };
    }),
  };
}
