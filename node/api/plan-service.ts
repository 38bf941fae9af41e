import { invalidArgument } from "../errors.js";
import type { PlanView, Plans } from "../plans/index.js";
import {
  PlanServiceService,
  type Plan as PlanMessage,
  type PlanServiceServer,
} from "./generated/concordat/v1/plans.js";
import { unary, type HandlerComponents } from "./handlers.js";

export { PlanServiceService };

function planMessage(p: PlanView): PlanMessage {
  return { ...p };
}

/** Joint annual plans: a hub's draft and signed versions, the federation's plan, plan beside actual. */
export function planService(components: HandlerComponents & { plans: Plans }): PlanServiceServer {
  const { plans } = components;
  return {
    setPlan: unary(components, "SetPlan", "operator", async (req, ctx) => {
      const json = req.json.trim() !== "";
      const csv = req.csv.trim() !== "";
      if (json === csv)
        throw invalidArgument([
          {
            field: json ? "csv" : "json",
            description: json ? "give json or csv, not both" : "a plan file (json or csv) is required",
          },
        ]);
      return planMessage(await plans.set(ctx.operator.id, req.year, json ? { json: req.json } : { csv: req.csv }));
    }),
    addPlanLines: unary(components, "AddPlanLines", "operator", async (req, ctx) =>
      planMessage(
        await plans.add(ctx.operator.id, req.year, {
          deliveries: (req.lines?.deliveries ?? []).map(({ competencies: _, ...d }) => d),
          trainers: req.lines?.trainers ?? [],
          support: req.lines?.support ?? [],
        }),
      ),
    ),
    signPlan: unary(components, "SignPlan", "operator", async (req, ctx) =>
      planMessage(await plans.sign(ctx.operator.id, req.year)),
    ),
    getPlan: unary(components, "GetPlan", "viewer", async (req) => planMessage(await plans.get(req.year, req.hub))),
    federationPlan: unary(components, "FederationPlan", "viewer", async (req) => await plans.federation(req.year)),
    planVsActual: unary(components, "PlanVsActual", "viewer", async (req) => ({
      rows: await plans.actual(req.year, req.hub),
    })),
  };
}
