import { CEFR, type AvailabilityQuery } from "../query/index.js";
import type { Availability } from "../query/availability.js";
import { invalidArgument, notFound, type FieldViolation } from "../errors.js";
import { MAX_FREEBUSY_DAYS, MAX_FREEBUSY_MS } from "../query/freebusy.js";
import { AvailabilityServiceService, type AvailabilityServiceServer } from "./generated/concordat/v1/availability.js";
import { unary, type HandlerComponents } from "./handlers.js";

export { AvailabilityServiceService };

export function availabilityService(components: HandlerComponents & { availability: Availability; info: { hubId: string } }): AvailabilityServiceServer {
  const { availability } = components;
  return {
    trainerFreeBusy: unary(components, "TrainerFreeBusy", "viewer", async (req) => {
      const from = Date.parse(req.from);
      const to = Date.parse(req.to);
      const violations: FieldViolation[] = [];
      if (Number.isNaN(from)) violations.push({ field: "from", description: `'${req.from}' is not an ISO 8601 time` });
      if (Number.isNaN(to)) violations.push({ field: "to", description: `'${req.to}' is not an ISO 8601 time` });
      if (!Number.isNaN(from) && !Number.isNaN(to) && (to <= from || to - from > MAX_FREEBUSY_MS)) {
        violations.push({ field: "to", description: `must be after from, by at most ${MAX_FREEBUSY_DAYS} days` });
      }
      if (violations.length > 0) throw invalidArgument(violations);
      const hub = req.hub.trim() || components.info.hubId;
      const icalendar = await availability.freeBusy(hub, req.trainerId.trim(), { start: from, end: to });
      if (icalendar === undefined) throw notFound(`no trainer '${req.trainerId}' of hub '${hub}' is known here`);
      return { icalendar };
    }),
    findAvailableTrainers: unary(components, "FindAvailableTrainers", "viewer", async (req) => {
      const violations: FieldViolation[] = [];
      const from = Date.parse(req.from);
      const to = Date.parse(req.to);
      if (Number.isNaN(from)) violations.push({ field: "from", description: `'${req.from}' is not an ISO 8601 time` });
      if (Number.isNaN(to)) violations.push({ field: "to", description: `'${req.to}' is not an ISO 8601 time` });
      if (!Number.isNaN(from) && !Number.isNaN(to) && to <= from) violations.push({ field: "to", description: "must be after from" });
      if (req.competency && req.moduleCompetencies.length > 0) violations.push({ field: "module_competencies", description: "ask for a competency or a module, not both" });
      const minLevel = req.minLevel || "A1";
      if (req.language && !(CEFR as readonly string[]).includes(minLevel)) violations.push({ field: "min_level", description: `'${minLevel}' is not a CEFR level` });
      const size = req.pageSize === 0 ? 50 : req.pageSize;
      if (size > 500) violations.push({ field: "page_size", description: "at most 500" });
      const offset = req.pageToken ? Number.parseInt(req.pageToken, 10) : 0;
      if (!Number.isInteger(offset) || offset < 0) violations.push({ field: "page_token", description: "is not a token this API gave" });
      if (violations.length > 0) throw invalidArgument(violations);
      const query: AvailabilityQuery = {
        range: { start: from, end: to },
        ...(req.competency ? { competency: req.competency } : {}),
        ...(req.moduleCompetencies.length > 0 ? { moduleCompetencies: req.moduleCompetencies } : {}),
        ...(req.language ? { language: { tag: req.language, minLevel } } : {}),
        ...(req.region ? { region: req.region } : {}),
        ...(req.hub ? { hub: req.hub } : {}),
        ...(req.minConsecutiveDays > 0 ? { minConsecutiveDays: req.minConsecutiveDays } : {}),
      };
      const started = performance.now();
      const answer = await availability.find(query, { size, offset });
      components.metrics?.queryAnswered("availability", (performance.now() - started) / 1000);
      const next = offset + answer.trainers.length;
      return {
        trainers: answer.trainers.map((t) => ({ hub: t.hub, trainerId: t.id, displayName: t.displayName, coverage: t.coverage, conflicts: t.conflicts, proficiency: t.proficiency })),
        total: answer.total,
        hubs: answer.hubs.map((h) => ({ hub: h.hub, checkpointSeq: h.seq, checkpointTime: h.time, stale: h.stale })),
        nextPageToken: next < answer.total ? String(next) : "",
      };
    }),
  };
}
