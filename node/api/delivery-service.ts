import type { Deliveries, Delivery, RawDeliveryDraft } from "../deliveries/index.js";
import { invalidArgument } from "../errors.js";
import {
  DeliveryServiceService,
  type Delivery as DeliveryMessage,
  type DeliveryServiceServer,
} from "./generated/concordat/v1/deliveries.js";
import { unary, type HandlerComponents } from "./handlers.js";

export { DeliveryServiceService };

export function deliveryMessage(hub: string, d: Delivery): DeliveryMessage {
  return { ...d, participants: d.participants.map((g) => ({ ...g })), evaluation: { ...d.evaluation }, hub };
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
    evaluation: { responses: m.evaluation?.responses ?? 0, meanScore: m.evaluation?.meanScore ?? 0 },
    visibility: m.visibility,
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
      const { participants: _p, completed: _c, passed: _s, evaluation: _e, ...target } = draftOf(req.delivery);
      const result = await deliveries.ingest(ctx.operator.id, target, req.statementsJson);
      return {
        delivery: deliveryMessage(info.hubId, result.delivery),
        added: result.added,
        duplicates: result.duplicates,
      };
    }),
    getDelivery: unary(components, "GetDelivery", "viewer", async (req) =>
      deliveryMessage(info.hubId, deliveries.get(req.id.trim())),
    ),
    listDeliveries: unary(components, "ListDeliveries", "viewer", async (req) => {
      const hub = req.hub.trim() || info.hubId;
      return { deliveries: deliveries.list(hub).map((d) => deliveryMessage(hub, d)) };
    }),
  };
}
