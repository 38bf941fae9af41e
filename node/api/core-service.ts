import type { VerifiedViews } from "../authority/index.js";
import { casePackageOf, parseCasePackage } from "../core/index.js";
import type { CoreAuthoring, CoreRelease, CoreSource } from "../core/index.js";
import { CURRICULUM_KEY, readCurriculum, impactOf, type Curriculum } from "../core/index.js";
import { diffCore, type FieldChange as CoreFieldChange } from "../core/index.js";
import { RECORD_KINDS, type CoreContent, type RecordKind } from "../core/index.js";
import { parseMoodleCsv } from "../core/index.js";
import type { VerifiedCoreReleases } from "../core/index.js";
import { invalidArgument, notFound } from "../errors.js";
import { quote } from "../text.js";
import { ownedDocumentId, type Membership } from "../federation/index.js";
import { buildAuditBundle, encodeBundle, type AuditSources } from "../audit/index.js";
import {
  AuditServiceService,
  type AuditServiceServer,
  CoreServiceService,
  type CoreRelease as CoreReleaseMessage,
  type CoreServiceServer,
  type FieldChange,
  type HubReleaseStatus,
} from "./generated/concordat/v1/core.js";
import type { Feedback } from "../feedback/index.js";
import { serverStream, unary, type HandlerComponents } from "./handlers.js";

export { AuditServiceService, CoreServiceService };

/** Records one PutCoreRecords call may carry, and ids one RemoveCoreRecords call may name. */
export const MAX_RECORDS_PER_CALL = 10_000;
export const MAX_IDS_PER_CALL = 1000;

function checkCount(field: string, list: readonly unknown[], max: number): void {
  if (list.length > max)
    throw invalidArgument([{ field, description: `has ${list.length} entries; at most ${max} per call` }]);
}

export interface CoreServiceComponents extends HandlerComponents {
  /** The secretariat's drafts and releases (every call refuses on a hub). */
  coreAuthoring: CoreAuthoring;
  /** Releases as this node knows them: its own at the secretariat, verified ones at a hub. */
  coreSource: CoreSource;
  /** At a hub: the verified releases, with the releases it refused. */
  verifiedCore: VerifiedCoreReleases;
  curriculum: Curriculum;
  membership: Membership;
  views: VerifiedViews;
  /** The proposals a release answers: those decided and not released yet. */
  feedback: Pick<Feedback, "unreleased">;
  info: { hubId: string };
}

function parseJson(text: string, field: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw invalidArgument([{ field, description: `is not JSON: ${(error as Error).message}` }]);
  }
}

function kindOf(kind: string): RecordKind {
  if (!(RECORD_KINDS as readonly string[]).includes(kind)) {
    throw invalidArgument([{ field: "kind", description: `${quote(kind)} is not one of ${RECORD_KINDS.join(", ")}` }]);
  }
  return kind as RecordKind;
}

function releaseMessage(r: CoreRelease): CoreReleaseMessage {
  return { version: r.version, notes: r.notes, answers: r.answers, heads: r.heads, seq: r.seq, time: r.time };
}

function fieldMessage(f: CoreFieldChange): FieldChange {
  return {
    field: f.field,
    before: f.before === undefined ? "" : JSON.stringify(f.before),
    after: f.after === undefined ? "" : JSON.stringify(f.after),
  };
}

export function coreService(components: CoreServiceComponents): CoreServiceServer {
  const { coreAuthoring, coreSource, verifiedCore, curriculum, membership, views } = components;

  /** A release's content, the drafts ("draft", secretariat only), or the newest release. */
  const contentOf = async (release: string, draft: boolean): Promise<{ label: string; content: CoreContent }> => {
    if (draft || release === "draft") return { label: "draft", content: coreAuthoring.draft() };
    const releases = await coreSource.releases();
    const version = release || releases.at(-1)?.version;
    const content = version ? await coreSource.content(version) : undefined;
    if (!version || !content) {
      throw notFound(
        release
          ? `no verified release ${release} of the core here (known: ${releases.map((r) => r.version).join(", ") || "none"})`
          : "no release of the core yet",
      );
    }
    return { label: version, content };
  };

  return {
    putCoreRecords: unary(components, "PutCoreRecords", "operator", async (req, ctx) => {
      checkCount("records", req.records, MAX_RECORDS_PER_CALL);
      return {
        ids: await coreAuthoring.put(
          ctx.operator.id,
          kindOf(req.kind),
          req.records.map((r, i) => parseJson(r, `records[${i}]`)),
          { merge: req.merge },
        ),
      };
    }),
    removeCoreRecords: unary(components, "RemoveCoreRecords", "operator", async (req, ctx) => {
      checkCount("ids", req.ids, MAX_IDS_PER_CALL);
      return { removed: await coreAuthoring.remove(ctx.operator.id, kindOf(req.kind), req.ids) };
    }),
    importCore: unary(components, "ImportCore", "operator", async (req, ctx) => {
      const text = Buffer.from(req.content).toString("utf8");
      let parts: Parameters<CoreAuthoring["import"]>[1];
      if (req.format === "case") parts = parseCasePackage(parseJson(text, "content"));
      else if (req.format === "moodle")
        parts = parseMoodleCsv(text, {
          now: new Date().toISOString(),
          ...(req.language ? { language: req.language } : {}),
        });
      else throw invalidArgument([{ field: "format", description: `${quote(req.format)} is not case or moodle` }]);
      return coreAuthoring.import(ctx.operator.id, parts, req.dryRun);
    }),
    releaseCore: unary(components, "ReleaseCore", "admin", async (req, ctx) =>
      releaseMessage(
        await coreAuthoring.release(
          ctx.operator.id,
          req.version.trim(),
          req.notes,
          await components.feedback.unreleased(),
        ),
      ),
    ),
    exportCore: unary(components, "ExportCore", "viewer", async (req) => {
      const { label, content } = await contentOf(req.release, req.draft);
      if (!content.framework) {
        throw notFound(
          `the core (${label}) has no framework (CASE CFDocument) to export: the drafts get one with their first item, or from a CASE import`,
        );
      }
      // A CASE 1.1 package (caseVersion stamped), with the identifiers and uris CASE requires.
      const pkg = casePackageOf(content);
      return { release: label, json: JSON.stringify(pkg, null, 2) };
    }),
    listCoreReleases: unary(components, "ListCoreReleases", "viewer", async () => ({
      releases: (await coreSource.releases()).map(releaseMessage),
      problems: coreSource === verifiedCore ? verifiedCore.problems().map((p) => `${p.version}: ${p.reason}`) : [],
    })),
    showCore: unary(components, "ShowCore", "viewer", async (req) => {
      const { label, content } = await contentOf(req.release, req.draft);
      return { release: label, json: JSON.stringify(content) };
    }),
    diffCore: unary(components, "DiffCore", "viewer", async (req) => {
      if (!req.from || !req.to)
        throw invalidArgument([{ field: req.from ? "to" : "from", description: "name a release (or draft)" }]);
      const [a, b] = await Promise.all([contentOf(req.from, false), contentOf(req.to, false)]);
      return {
        changes: diffCore(a.content, b.content).map((c) => ({
          kind: c.kind,
          id: c.id,
          code: c.code,
          change: c.change,
          fields: c.fields.map(fieldMessage),
        })),
      };
    }),
    adoptCore: unary(components, "AdoptCore", "admin", async (req, ctx) =>
      curriculum.adopt(ctx.operator.id, req.version.trim()),
    ),
    putCurriculumRecord: unary(components, "PutCurriculumRecord", "operator", async (req, ctx) => {
      const raw = parseJson(req.json, "json");
      const record =
        req.kind === "adaptation"
          ? await curriculum.adapt(ctx.operator.id, raw)
          : req.kind === "local-module"
            ? await curriculum.putLocalModule(ctx.operator.id, raw)
            : req.kind === "mapping"
              ? await curriculum.putMapping(ctx.operator.id, raw)
              : req.kind === "scheme"
                ? await curriculum.putScheme(ctx.operator.id, raw)
                : (() => {
                    throw invalidArgument([
                      {
                        field: "kind",
                        description: `${quote(req.kind)} is not adaptation, local-module, mapping or scheme`,
                      },
                    ]);
                  })();
      return { json: JSON.stringify(record) };
    }),
    removeCurriculumRecord: unary(components, "RemoveCurriculumRecord", "operator", async (req, ctx) => {
      const map =
        req.kind === "adaptation"
          ? "adaptations"
          : req.kind === "local-module"
            ? "localModules"
            : req.kind === "mapping"
              ? "mappings"
              : req.kind === "scheme"
                ? "schemes"
                : undefined;
      if (!map)
        throw invalidArgument([
          { field: "kind", description: `${quote(req.kind)} is not adaptation, local-module or mapping` },
        ]);
      await curriculum.remove(ctx.operator.id, map, req.id.trim());
      return {};
    }),
    confirmAdaptation: unary(components, "ConfirmAdaptation", "operator", async (req, ctx) => ({
      json: JSON.stringify(await curriculum.confirm(ctx.operator.id, req.id.trim(), req.release.trim() || undefined)),
    })),
    showCurriculum: unary(components, "ShowCurriculum", "viewer", async () => {
      const current = curriculum.current();
      return { json: JSON.stringify({ ...current, effective: await curriculum.effective() }) };
    }),
    coreImpact: unary(components, "CoreImpact", "viewer", async (req) => ({
      entries: (await curriculum.impact(req.release.trim() || undefined)).map((e) => ({
        adaptation: e.adaptation,
        targetKind: e.target.kind,
        targetId: e.target.id,
        code: e.code,
        baseRelease: e.baseRelease,
        release: e.release,
        status: e.status,
        changes: e.changes.map(fieldMessage),
      })),
    })),
    federationReleases: unary(components, "FederationReleases", "viewer", async () => {
      const latest = (await coreSource.releases()).at(-1)?.version ?? "";
      const hubs: HubReleaseStatus[] = [];
      for (const member of membership.members()) {
        if (member.role === "secretariat") continue;
        // This hub's own standing comes from its own state (it never holds a verified view of itself).
        const self = member.hub === components.info.hubId;
        const view = self ? undefined : views.view(ownedDocumentId(member.directoryId, CURRICULUM_KEY));
        const current = self ? curriculum.current() : view ? readCurriculum(view.doc) : undefined;
        // One hub's odd curriculum must not break the overview of all.
        const impact = current && latest ? await impactOf(current.adaptations, coreSource, latest).catch(() => []) : [];
        hubs.push({
          hub: member.hub,
          adopted: current?.adoption?.version ?? "",
          adaptedItems: current?.adaptations.filter((a) => a.target.kind === "item").length ?? 0,
          adaptedModules: current?.adaptations.filter((a) => a.target.kind === "module").length ?? 0,
          needsReview: impact.filter((e) => e.status !== "unchanged").length,
          checkpointSeq: view?.checkpoint.seq ?? 0,
          checkpointTime: view?.checkpoint.time ?? "",
          removed: member.removedAt !== undefined,
          self,
        });
      }
      return { latest, hubs };
    }),
  };
}

/** The audit bundle, streamed in 1 MiB chunks (docs/auditor.md). */
export function auditService(
  components: HandlerComponents & { audit: () => Promise<AuditSources> },
): AuditServiceServer {
  return {
    exportAudit: serverStream(components, "ExportAudit", "viewer", async function* (_req, ctx) {
      const bundle = await buildAuditBundle(await components.audit());
      const bytes = encodeBundle(bundle);
      for (let offset = 0; offset < bytes.byteLength; offset += 1024 * 1024) {
        const chunk = bytes.subarray(offset, Math.min(bytes.byteLength, offset + 1024 * 1024));
        yield { data: Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength) };
      }
      ctx.log.info(
        { bytes: bytes.byteLength, documents: bundle.documents.length, checkpoints: bundle.checkpoints.length },
        "audit bundle streamed",
      );
    }),
  };
}
