import { invalidArgument, permissionDenied } from "../errors.js";
import {
  checkDay,
  type GrievanceFigures,
  type Grievances,
  type HeldGrievance,
  type PrivateGrievance,
} from "../grievances/index.js";
import { hasRole, type Operator } from "../operators/index.js";
import { Checker } from "../text.js";
import {
  GrievanceServiceService,
  type GrievanceFigures as FiguresMessage,
  type Grievance as GrievanceMessage,
  type GrievancePrivate,
  type GrievanceServiceServer,
} from "./generated/concordat/v1/grievances.js";
import { unary, type HandlerComponents } from "./handlers.js";

export { GrievanceServiceService };

function privateMessage(p: PrivateGrievance): GrievancePrivate {
  return {
    complainant: p.complainant,
    description: p.description,
    about: p.about,
    notes: p.notes,
    receivedBy: p.receivedBy,
  };
}

function grievanceMessage(g: HeldGrievance): GrievanceMessage {
  return {
    id: g.id,
    hub: g.hub,
    category: g.category,
    source: g.source,
    status: g.status,
    receivedOn: g.receivedOn,
    acknowledgeBy: g.acknowledgeBy,
    resolveBy: g.resolveBy,
    acknowledgedOn: g.acknowledgedOn ?? "",
    investigationStartedOn: g.investigationStartedOn ?? "",
    resolvedOn: g.resolvedOn ?? "",
    outcome: g.outcome ?? "",
    private: g.private ? privateMessage(g.private) : undefined,
  };
}

const counts = (r: Record<string, number>) => Object.entries(r).map(([key, count]) => ({ key, count }));

function figuresMessage(f: GrievanceFigures & { hub: string }): FiguresMessage {
  return {
    hub: f.hub,
    at: f.at,
    total: f.total,
    byCategory: counts(f.byCategory),
    bySource: counts(f.bySource),
    byStatus: counts(f.byStatus),
    byOutcome: counts(f.byOutcome),
    open: f.open,
    overdueAcknowledgement: f.overdue.acknowledgement,
    overdueResolution: f.overdue.resolution,
    lateAcknowledgement: f.late.acknowledgement,
    lateResolution: f.late.resolution,
    resolved: f.daysToResolution.resolved,
    medianDaysToResolution: f.daysToResolution.median ?? 0,
    maxDaysToResolution: f.daysToResolution.max ?? 0,
  };
}

/** Only this hub's operators (not viewers) see the private part, and only on this node. */
function mayReadPrivate(operator: Operator): void {
  if (!hasRole(operator.role, "operator"))
    throw permissionDenied(
      `operator '${operator.id}' has role '${operator.role}': the private part of a grievance (who complained, what they said) needs 'operator'`,
    );
}

/**
 * The grievance register (docs/grievances.md): steps by operators; records of any hub (another's as
 * verified, never with a private part) and figures for viewers; the private part for this hub's
 * operators only.
 */
export function grievanceService(
  components: HandlerComponents & { grievances: Grievances; info: { hubId: string } },
): GrievanceServiceServer {
  const { grievances, info } = components;
  return {
    receive: unary(components, "Receive", "operator", async (req, ctx) =>
      grievanceMessage(
        await grievances.receive(ctx.operator.id, {
          category: req.category,
          source: req.source,
          receivedOn: req.receivedOn,
          acknowledgeWithinDays: req.acknowledgeWithinDays,
          resolveWithinDays: req.resolveWithinDays,
          complainant: req.complainant ?? { name: "", contact: "", anonymous: false },
          description: req.description,
          about: req.about ?? { delivery: "", trainer: "", module: "" },
        }),
      ),
    ),
    acknowledge: unary(components, "Acknowledge", "operator", async (req, ctx) =>
      grievanceMessage(await grievances.acknowledge(ctx.operator.id, req.id, req.on)),
    ),
    investigate: unary(components, "Investigate", "operator", async (req, ctx) =>
      grievanceMessage(await grievances.investigate(ctx.operator.id, req.id, req.on, req.note)),
    ),
    resolve: unary(components, "Resolve", "operator", async (req, ctx) =>
      grievanceMessage(await grievances.resolve(ctx.operator.id, req.id, req.on, req.outcome, req.note)),
    ),
    list: unary(components, "List", "viewer", async (req, ctx) => {
      const hub = req.hub.trim() || info.hubId;
      if (req.withPrivate) {
        mayReadPrivate(ctx.operator);
        if (hub !== info.hubId)
          throw permissionDenied(
            `the private part of ${hub}'s grievances never leaves ${hub}: ask its own node (this is ${info.hubId})`,
          );
      }
      const c = new Checker();
      const at = checkDay(c, "at", req.at, { latest: "9999-12-31" });
      if (c.violations.length > 0) throw invalidArgument(c.violations);
      const list = grievances.list({
        hub,
        withPrivate: req.withPrivate,
        ...(req.overdue ? { overdueAt: req.at.trim() === "" ? new Date().toISOString().slice(0, 10) : at } : {}),
      });
      return { hub, grievances: list.map(grievanceMessage) };
    }),
    get: unary(components, "Get", "viewer", async (req, ctx) => {
      if (req.withPrivate) mayReadPrivate(ctx.operator);
      return grievanceMessage(grievances.get(req.id, req.withPrivate));
    }),
    figures: unary(components, "Figures", "viewer", async (req) =>
      figuresMessage(grievances.figures(req.hub.trim() || info.hubId, req.at)),
    ),
  };
}
