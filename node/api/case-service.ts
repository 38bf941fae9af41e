import type { CaseEndorsement, CaseRecord, Cases, RawCase } from "../cases/index.js";
import { invalidArgument } from "../errors.js";
import { CASE_LIMITS } from "../cases/index.js";
import { MAX_LANGUAGE_TAG } from "../text.js";
import { Checker } from "../text.js";
import {
  CaseServiceService,
  type Case as CaseMessage,
  type CaseServiceServer,
} from "./generated/concordat/v1/cases.js";
import { unary, type HandlerComponents } from "./handlers.js";

export { CaseServiceService };

/** The most text a search takes (its words), and the size of its filters. */
export const SEARCH_LIMITS = {
  text: 1000,
  id: CASE_LIMITS.id,
  hub: 63,
  region: CASE_LIMITS.region,
  kind: 32,
  pageToken: 20,
} as const;

function toMessage(hub: string, r: CaseRecord, withBody = true): CaseMessage {
  return { ...r, body: withBody ? r.body : "", evidence: r.evidence.map((e) => ({ ...e })), hub };
}

function fromMessage(m: CaseMessage | undefined): RawCase {
  if (!m) throw invalidArgument([{ field: "case", description: "is required" }]);
  return {
    id: m.id,
    kind: m.kind,
    title: m.title,
    summary: m.summary,
    body: m.body,
    language: m.language,
    country: m.country,
    region: m.region,
    competencies: m.competencies,
    tags: m.tags,
    evidence: m.evidence,
    review: m.review,
    visibility: m.visibility,
    version: m.version,
  };
}

const endorsementMessage = (e: CaseEndorsement | undefined) => (e ? { by: e.by, at: e.at, note: e.note } : undefined);

export function caseService(
  components: HandlerComponents & { cases: Cases; info: { hubId: string } },
): CaseServiceServer {
  const { cases, info } = components;
  return {
    addCase: unary(components, "AddCase", "operator", async (req, ctx) =>
      toMessage(info.hubId, await cases.add(ctx.operator.id, fromMessage(req.case))),
    ),
    updateCase: unary(components, "UpdateCase", "operator", async (req, ctx) =>
      toMessage(info.hubId, await cases.update(ctx.operator.id, fromMessage(req.case))),
    ),
    importCases: unary(components, "ImportCases", "operator", async (req, ctx) => {
      const raws = req.cases.map((c, i) => ({ source: c.source || `cases[${i}]`, raw: fromMessage(c.case) }));
      return { ...(await cases.import(ctx.operator.id, raws, req.dryRun)), dryRun: req.dryRun };
    }),
    getCase: unary(components, "GetCase", "viewer", async (req) => {
      const hub = req.hub.trim() || info.hubId;
      await cases.idle();
      const found = cases.get(hub, req.id.trim());
      return { case: toMessage(hub, found.record), endorsement: endorsementMessage(found.endorsement) };
    }),
    listCases: unary(components, "ListCases", "viewer", async (req) => {
      const hub = req.hub.trim() || info.hubId;
      await cases.idle();
      return { cases: cases.list(hub).map((r) => toMessage(hub, r, false)) };
    }),
    searchCases: unary(components, "SearchCases", "viewer", async (req) => {
      const c = new Checker();
      if (req.text.length > SEARCH_LIMITS.text)
        c.fail("text", `is ${req.text.length} characters long; a search takes at most ${SEARCH_LIMITS.text}`);
      c.text("competency", req.competency, { max: SEARCH_LIMITS.id });
      c.text("region", req.region, { max: SEARCH_LIMITS.region });
      c.text("language", req.language, { max: MAX_LANGUAGE_TAG });
      c.text("hub", req.hub, { max: SEARCH_LIMITS.hub });
      c.text("kind", req.kind, { max: SEARCH_LIMITS.kind });
      c.text("page_token", req.pageToken, { max: SEARCH_LIMITS.pageToken });
      const violations = c.violations;
      const size = req.pageSize === 0 ? 20 : req.pageSize;
      if (size > 200) violations.push({ field: "page_size", description: "at most 200" });
      const offset = req.pageToken ? Number.parseInt(req.pageToken, 10) : 0;
      if (!Number.isInteger(offset) || offset < 0)
        violations.push({ field: "page_token", description: "is not a token this API gave" });
      if (violations.length > 0) throw invalidArgument(violations);
      const started = performance.now();
      const answer = await cases.search(
        {
          text: req.text,
          ...(req.competency.trim() ? { competency: req.competency.trim() } : {}),
          ...(req.region.trim() ? { region: req.region.trim() } : {}),
          ...(req.language.trim() ? { language: req.language.trim() } : {}),
          ...(req.hub.trim() ? { hub: req.hub.trim() } : {}),
          ...(req.kind.trim() ? { kind: req.kind.trim() } : {}),
          publicOnly: req.publicOnly,
        },
        { size, offset },
      );
      components.metrics?.queryAnswered("cases", (performance.now() - started) / 1000);
      const next = offset + answer.cases.length;
      return {
        results: answer.cases.map((c) => ({
          case: toMessage(c.hub, c.record, false),
          score: c.score,
          endorsement: endorsementMessage(c.endorsement),
        })),
        total: answer.total,
        nextPageToken: next < answer.total ? String(next) : "",
      };
    }),
    endorseCase: unary(
      components,
      "EndorseCase",
      "admin",
      async (req, ctx) =>
        endorsementMessage(await cases.endorse(ctx.operator.id, req.hub.trim(), req.id.trim(), req.note.trim())) as {
          by: string;
          at: string;
          note: string;
        },
    ),
  };
}
