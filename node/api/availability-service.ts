import { CEFR, type AvailabilityQuery } from "../query/index.js";
import type { Availability } from "../query/index.js";
import { invalidArgument, notFound } from "../errors.js";
import { MAX_LANGUAGE_TAG } from "../text.js";
import { Checker, checkRegion, quote } from "../text.js";
import { MAX_FREEBUSY_DAYS, MAX_FREEBUSY_MS } from "../query/index.js";
import { AvailabilityServiceService, type AvailabilityServiceServer } from "./generated/concordat/v1/availability.js";
import { unary, type HandlerComponents } from "./handlers.js";

export { AvailabilityServiceService };

/** Sizes of a query's parts: ids, codes and times are short; a module has at most this many competencies. */
export const QUERY_LIMITS = { id: 128, hub: 63, region: 16, time: 64, pageToken: 20, moduleCompetencies: 200 } as const;

/** The parts of a query every availability query shares, checked for size (and characters). */
function checkQueryText(c: Checker, req: { from: string; to: string; hub: string }): void {
  c.text("from", req.from, { max: QUERY_LIMITS.time });
  c.text("to", req.to, { max: QUERY_LIMITS.time });
  c.text("hub", req.hub, { max: QUERY_LIMITS.hub });
}

export function availabilityService(
  components: HandlerComponents & { availability: Availability; info: { hubId: string } },
): AvailabilityServiceServer {
  const { availability } = components;
  return {
    trainerFreeBusy: unary(components, "TrainerFreeBusy", "viewer", async (req) => {
      const c = new Checker();
      checkQueryText(c, req);
      c.text("trainer_id", req.trainerId, { max: QUERY_LIMITS.id, required: true });
      if (c.violations.length > 0) throw invalidArgument(c.violations);
      const from = Date.parse(req.from);
      const to = Date.parse(req.to);
      const violations = c.violations;
      if (Number.isNaN(from))
        violations.push({ field: "from", description: `${quote(req.from)} is not an ISO 8601 time` });
      if (Number.isNaN(to)) violations.push({ field: "to", description: `${quote(req.to)} is not an ISO 8601 time` });
      if (!Number.isNaN(from) && !Number.isNaN(to) && (to <= from || to - from > MAX_FREEBUSY_MS)) {
        violations.push({ field: "to", description: `must be after from, by at most ${MAX_FREEBUSY_DAYS} days` });
      }
      if (violations.length > 0) throw invalidArgument(violations);
      const hub = req.hub.trim() || components.info.hubId;
      const icalendar = await availability.freeBusy(hub, req.trainerId.trim(), { start: from, end: to });
      if (icalendar === undefined)
        throw notFound(`no trainer ${quote(req.trainerId)} of hub ${quote(hub)} is known here`);
      return { icalendar };
    }),
    findAvailableTrainers: unary(components, "FindAvailableTrainers", "viewer", async (req) => {
      // Sizes first: a query is answered from memory, and none of its parts is long.
      const c = new Checker();
      checkQueryText(c, req);
      c.text("competency", req.competency, { max: QUERY_LIMITS.id });
      if (c.list("module_competencies", req.moduleCompetencies, QUERY_LIMITS.moduleCompetencies)) {
        for (const [i, m] of req.moduleCompetencies.entries())
          c.text(`module_competencies[${i}]`, m, { max: QUERY_LIMITS.id });
      }
      c.text("language", req.language, { max: MAX_LANGUAGE_TAG });
      c.text("region", req.region, { max: QUERY_LIMITS.region });
      c.text("page_token", req.pageToken, { max: QUERY_LIMITS.pageToken });
      const deliveredModule = c.text("delivered_module", req.deliveredModule ?? "", { max: QUERY_LIMITS.id });
      let servedIn = (req.servedIn ?? "").trim();
      if (servedIn !== "") {
        const before = c.violations.length;
        servedIn = checkRegion(c, "served_in", servedIn);
        if (c.violations.length === before && servedIn.length !== 2)
          c.fail("served_in", `${quote(servedIn)} is a subdivision; deployments name countries (ISO 3166-1 alpha-2)`);
      }
      if (c.violations.length > 0) throw invalidArgument(c.violations);
      const violations = c.violations;
      const from = Date.parse(req.from);
      const to = Date.parse(req.to);
      if (Number.isNaN(from))
        violations.push({ field: "from", description: `${quote(req.from)} is not an ISO 8601 time` });
      if (Number.isNaN(to)) violations.push({ field: "to", description: `${quote(req.to)} is not an ISO 8601 time` });
      if (!Number.isNaN(from) && !Number.isNaN(to) && to <= from)
        violations.push({ field: "to", description: "must be after from" });
      if (req.competency && req.moduleCompetencies.length > 0)
        violations.push({ field: "module_competencies", description: "ask for a competency or a module, not both" });
      const minLevel = req.minLevel || "A1";
      if (req.language && !(CEFR as readonly string[]).includes(minLevel))
        violations.push({ field: "min_level", description: `${quote(minLevel)} is not a CEFR level` });
      const size = req.pageSize === 0 ? 50 : req.pageSize;
      if (size > 500) violations.push({ field: "page_size", description: "at most 500" });
      const offset = req.pageToken ? Number.parseInt(req.pageToken, 10) : 0;
      if (!Number.isInteger(offset) || offset < 0)
        violations.push({ field: "page_token", description: "is not a token this API gave" });
      if (violations.length > 0) throw invalidArgument(violations);
      const query: AvailabilityQuery = {
        range: { start: from, end: to },
        ...(req.competency ? { competency: req.competency } : {}),
        ...(req.moduleCompetencies.length > 0 ? { moduleCompetencies: req.moduleCompetencies } : {}),
        ...(req.language ? { language: { tag: req.language, minLevel } } : {}),
        ...(req.region ? { region: req.region } : {}),
        ...(req.hub ? { hub: req.hub } : {}),
        ...(req.minConsecutiveDays > 0 ? { minConsecutiveDays: req.minConsecutiveDays } : {}),
        ...(deliveredModule !== "" ? { deliveredModule } : {}),
        ...(servedIn !== "" ? { servedIn } : {}),
      };
      const started = performance.now();
      const answer = await availability.find(query, { size, offset });
      components.metrics?.queryAnswered("availability", (performance.now() - started) / 1000);
      const next = offset + answer.trainers.length;
      return {
        trainers: answer.trainers.map((t) => ({
          hub: t.hub,
          trainerId: t.id,
          displayName: t.displayName,
          coverage: t.coverage,
          conflicts: t.conflicts,
          proficiency: t.proficiency,
        })),
        total: answer.total,
        hubs: answer.hubs.map((h) => ({
          hub: h.hub,
          checkpointSeq: h.seq,
          checkpointTime: h.time,
          stale: h.stale,
          verified: h.verified,
          trainers: h.trainers,
        })),
        nextPageToken: next < answer.total ? String(next) : "",
        claimedUnverified: answer.claimedUnverified,
      };
    }),
  };
}
