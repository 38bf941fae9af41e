import * as A from "@automerge/automerge";
import { CheckpointKind, type SignedCheckpoint } from "../authority/index.js";
import { checkpointInBundle, openBundle, type VerifyReport } from "../audit/index.js";
import { readCore } from "../core/index.js";
import { coreIdOf } from "../core/index.js";
import { documentTypeOf } from "../documents/index.js";
import { charterIdOf, ownedDocumentId, readCharter } from "../federation/index.js";
import {
  auditsIn,
  definitionIn,
  evaluatorsIn,
  findingSignatureProblem,
  panelProblem,
  type PanelDoc,
} from "../audits/index.js";
import { deliveriesIn } from "../deliveries/index.js";
import { compareBaseline, type BaselineReport } from "./baseline.js";
import { computeCoverage, type CoverageReport, type SourceCheckpoint } from "./coverage.js";
import { REPORTED_TYPES, reportInputOf, type SignedDocument, type SignedState } from "./signed-state.js";

export interface ReportVerification {
  ok: boolean;
  /** The report's kind (`concordat.coverage/1`, `concordat.baseline/1`). */
  kind: string;
  /** The bundle's own verification. */
  bundle: VerifyReport;
  /** Source checkpoints checked against the bundle. */
  sources: number;
  /** Leaves of the report compared with the recomputation. */
  figures: number;
  /** Everything that failed: a source that does not verify, a document left out, a figure that differs. */
  failures: string[];
}

const MAX_DIFFERENCES = 50;

/**
 * Recomputes a JSON report (coverage or baseline) from an audit bundle and confirms it, offline, with
 * only the trust anchor:
 * 1. the bundle verifies (`audit verify`);
 * 2. every checkpoint the report names verifies against the bundle: signed by the trust anchor (the
 *    charter, the core's releases) or by the member the report attributes it to, for a document the
 *    bundle holds, at heads its changes contain, of the type the report says;
 * 3. no document of a reported type that existed when the report was made is left out;
 * 4. the report's input is rebuilt from those documents at those heads, the report recomputed with the
 *    same code a node uses, and every value compared;
 * 5. every audit it shows was drawn as stated: its seed is the secretariat's checkpoint of the panel
 *    that first holds the audit as it stands, each hub's population is what that hub had signed at the
 *    checkpoint the audit names, and every finding it counts is signed by an evaluator on the panel.
 */
export async function verifyReport(report: unknown, bundleRaw: unknown, anchor: string): Promise<ReportVerification> {
  const opened = await openBundle(bundleRaw, anchor);
  const failures: string[] = [];
  const result: ReportVerification = { ok: false, kind: "", bundle: opened.report, sources: 0, figures: 0, failures };
  if (!opened.report.ok) {
    failures.push(
      `the audit bundle does not verify (${opened.report.failures.length} problem(s); run 'concordat audit verify' on it): ${opened.report.failures[0] ?? ""}`,
    );
    return result;
  }
  const r = report as { kind?: unknown } | null;
  result.kind = typeof r?.kind === "string" ? r.kind : "";
  let recomputed: unknown;
  if (r?.kind === "concordat.coverage/1") {
    recomputed = await recompute(r as unknown as CoverageReport, opened, anchor, result);
  } else if (r?.kind === "concordat.baseline/1") {
    const b = r as unknown as BaselineReport;
    const current = await recompute(b.current, opened, anchor, result);
    const baseline = await recompute(b.baseline, opened, anchor, result);
    if (current && baseline)
      recomputed = compareBaseline(current, baseline, {
        period: String(b.period?.label ?? ""),
        against: String(b.against?.label ?? ""),
      });
  } else {
    failures.push(
      `not a Concordat report: its kind is '${String(r?.kind ?? "")}', not 'concordat.coverage/1' or 'concordat.baseline/1'`,
    );
  }
  if (recomputed !== undefined) {
    const differences: string[] = [];
    result.figures = compare(report, JSON.parse(JSON.stringify(recomputed)) as unknown, "", differences);
    for (const d of differences.slice(0, MAX_DIFFERENCES)) failures.push(d);
    if (differences.length > MAX_DIFFERENCES)
      failures.push(`… and ${differences.length - MAX_DIFFERENCES} more difference(s)`);
  }
  // A baseline checks its audits and sources once per period: say each failure once.
  failures.splice(0, failures.length, ...new Set(failures));
  result.ok = failures.length === 0;
  return result;
}

type Opened = Awaited<ReturnType<typeof openBundle>>;

/** One coverage report recomputed from the bundle at its sources; undefined when a source fails. */
async function recompute(
  r: CoverageReport | undefined,
  opened: Opened,
  anchor: string,
  result: ReportVerification,
): Promise<CoverageReport | undefined> {
  const failures = result.failures;
  const sources = r?.sources;
  if (!r || !sources?.charter || !Array.isArray(sources.releases) || !Array.isArray(sources.documents)) {
    failures.push("the report names no sources (charter, releases, documents): it cannot be recomputed");
    return undefined;
  }
  const federationId = opened.report.federationId;
  const ctx = { federationId, anchor, members: opened.members, documents: opened.documents };
  const before = failures.length;
  /** The document at the source's heads, if the source verifies against the bundle. */
  const open = async (s: SourceCheckpoint, label: string): Promise<A.Doc<unknown> | undefined> => {
    result.sources += 1;
    const signed: SignedCheckpoint = { checkpoint: s.checkpoint, signature: s.signature };
    const problem =
      s.checkpoint && typeof s.signature === "string" ? await checkpointInBundle(signed, ctx) : "malformed";
    if (problem) {
      failures.push(`${label} (${s.checkpoint?.documentId ?? "?"}, seq ${s.checkpoint?.seq ?? "?"}): ${problem}`);
      return undefined;
    }
    return A.view((opened.documents.get(s.checkpoint.documentId) as { doc: A.Doc<unknown> }).doc, s.checkpoint.heads);
  };

  let charter: SignedState["charter"] | undefined;
  if (sources.charter.checkpoint?.documentId !== charterIdOf(anchor) || sources.charter.checkpoint.owner !== anchor) {
    failures.push("the report's charter is not the one the trust anchor signs");
  } else {
    const doc = await open(sources.charter, "the charter's checkpoint");
    if (doc)
      charter = {
        signed: { checkpoint: sources.charter.checkpoint, signature: sources.charter.signature },
        state: readCharter(doc).state,
      };
  }
  const releases: SignedState["releases"] = [];
  for (const s of sources.releases) {
    const c = s.checkpoint;
    if (c?.kind !== CheckpointKind.Release || c.documentId !== coreIdOf(anchor) || c.owner !== anchor) {
      failures.push(`release ${c?.version ?? "?"}: not a release of the core signed by the trust anchor`);
      continue;
    }
    const doc = await open(s, `release ${c.version ?? "?"}`);
    if (doc) releases.push({ signed: { checkpoint: c, signature: s.signature }, content: readCore(doc).content });
  }
  const documents: SignedDocument[] = [];
  for (const s of sources.documents) {
    const label = `the ${s.type} of hub '${s.hub}'`;
    const owner = opened.members.find((m) => m.keys.some((k) => k.peerId === s.checkpoint?.owner));
    if (!owner || owner.hub !== s.hub) {
      failures.push(
        `${label}: signed by ${s.checkpoint?.owner ?? "?"}, which is ${owner ? `a key of hub '${owner.hub}'` : "no member's key"}`,
      );
      continue;
    }
    const doc = await open(s, label);
    if (!doc) continue;
    const type = documentTypeOf(doc) ?? "";
    if (type !== s.type || !REPORTED_TYPES.has(type)) {
      failures.push(`${label} (${s.checkpoint.documentId}): the document is a '${type}' document`);
      continue;
    }
    documents.push({ hub: s.hub, type, signed: { checkpoint: s.checkpoint, signature: s.signature }, doc });
  }

  // Nothing left out: every reported document the bundle holds that existed when the report was made.
  const named = new Set(sources.documents.map((s) => s.checkpoint?.documentId));
  const madeAt = Date.parse(r.generatedAt) / 1000;
  for (const [id, entry] of opened.documents) {
    if (named.has(id)) continue;
    const type = documentTypeOf(entry.doc) ?? "";
    if (!REPORTED_TYPES.has(type)) continue;
    const first = Math.min(...A.getAllChanges(entry.doc).map((c) => A.decodeChange(c).time));
    const hub = opened.members.find((m) => ownedDocumentId(m.directoryId, entry.key) === id)?.hub ?? "?";
    if (first <= madeAt)
      failures.push(
        `the report leaves out the ${type} document ${id} (${entry.key}) of hub '${hub}', which existed when it was made`,
      );
  }

  if (failures.length > before || !charter) return undefined;
  const input = await reportInputOf(
    { charter, releases, documents },
    { generatedAt: r.generatedAt, asOf: r.asOf, period: r.period, publicOnly: r.publicOnly },
  );
  const recomputed = computeCoverage(input);
  await checkAudits(r, documents, { ...ctx, members: opened.members }, failures);
  return recomputed;
}

/** Step 5: each audit the report shows, against the bundle's full history. */
async function checkAudits(
  r: CoverageReport,
  documents: readonly SignedDocument[],
  ctx: Parameters<typeof checkpointInBundle>[1],
  failures: string[],
): Promise<void> {
  const reported = Array.isArray(r.audits) ? r.audits : [];
  if (reported.length === 0) return;
  const secretariat = ctx.members.find((m) => m.role === "secretariat");
  const panel = documents.find((d) => d.type === "evaluation-panel" && d.hub === secretariat?.hub);
  const full = panel
    ? (ctx.documents.get(panel.signed.checkpoint.documentId) as { doc: A.Doc<unknown> } | undefined)
    : undefined;
  if (!panel || !full) {
    failures.push("the report shows audits, but the bundle holds no evaluation panel signed by the secretariat");
    return;
  }
  const audits = auditsIn(panel.doc as PanelDoc);
  const evaluators = evaluatorsIn(panel.doc as PanelDoc);
  for (const shown of reported) {
    const label = `audit '${String(shown?.id ?? "?")}'`;
    const audit = audits.find((a) => a.id === shown?.id);
    if (!audit?.seed) {
      failures.push(`${label}: the secretariat's panel holds no such audit with a seed`);
      continue;
    }
    // The seed: a checkpoint of the panel by the secretariat, whose heads already hold the audit as it stands.
    const seedProblem = await checkpointInBundle(audit.seed, ctx);
    const atSeed = seedProblem
      ? undefined
      : definitionIn(A.view(full.doc, audit.seed.checkpoint.heads) as PanelDoc, audit.id);
    const { seed: _seed, ...definition } = audit;
    if (seedProblem || audit.seed.checkpoint.documentId !== panel.signed.checkpoint.documentId)
      failures.push(
        `${label}: its seed is not a checkpoint of the secretariat's panel in the bundle: ${seedProblem ?? "another document"}`,
      );
    else if (JSON.stringify(atSeed) !== JSON.stringify(definition))
      failures.push(
        `${label}: the checkpoint that seeds it ${atSeed ? "holds another definition of it (changed after the seed was signed)" : "does not hold it (the seed was chosen after the audit was known)"}`,
      );
    else if (firstSeed(full.doc, audit.id) !== audit.seed.signature)
      failures.push(`${label}: its seed was replaced after it was first recorded (the sample was drawn again)`);
    // Each population: what that hub had signed at the checkpoint the audit names.
    for (const p of audit.populations) {
      if (!p.checkpoint) {
        if (p.deliveries.length > 0)
          failures.push(`${label}: hub '${p.hub}''s population names deliveries but no checkpoint`);
        continue;
      }
      const owner = ctx.members.find((m) => m.keys.some((k) => k.peerId === p.checkpoint?.checkpoint.owner));
      const problem =
        owner?.hub === p.hub
          ? await checkpointInBundle(p.checkpoint, ctx)
          : `signed by ${owner ? `hub '${owner.hub}'` : "no member"}`;
      if (problem) {
        failures.push(
          `${label}: hub '${p.hub}''s population checkpoint (seq ${p.checkpoint.checkpoint.seq}) does not verify: ${problem}`,
        );
        continue;
      }
      const doc = ctx.documents.get(p.checkpoint.checkpoint.documentId) as { doc: A.Doc<unknown> };
      const signed = deliveriesIn(
        A.view(doc.doc, p.checkpoint.checkpoint.heads) as { deliveries?: Record<string, unknown> },
      )
        .filter((d) => d.start <= audit.period.to && d.end >= audit.period.from)
        .map((d) => d.id)
        .sort();
      if (JSON.stringify(signed) !== JSON.stringify(p.deliveries))
        failures.push(
          `${label}: hub '${p.hub}''s population is not what it signed at seq ${p.checkpoint.checkpoint.seq} (${p.deliveries.length} deliveries named, ${signed.length} signed)`,
        );
    }
    // Every finding the report counts: signed by an evaluator on the panel, unchanged since.
    for (const s of Array.isArray(shown.sample) ? shown.sample : [])
      for (const f of Array.isArray(s?.findings) ? s.findings : []) {
        const { signature, storedBy: _by, ...finding } = f;
        const evaluator = evaluators.find((e) => e.id === finding.evaluator);
        const problem =
          panelProblem(evaluators, finding.evaluator, finding.at) ??
          (await findingSignatureProblem({ finding, signature }, evaluator?.key ?? ""));
        if (problem)
          failures.push(
            `${label}: the finding by '${finding.evaluator}' on ${s.hub}/${s.delivery} is not a panel member's: ${problem}`,
          );
      }
  }
}

/** The first seed the panel's history ever recorded for an audit (a seed replaced later is a redraw). */
function firstSeed(doc: A.Doc<unknown>, id: string): string | undefined {
  for (const state of A.getHistory(doc)) {
    const seed = auditsIn(state.snapshot as PanelDoc).find((a) => a.id === id)?.seed;
    if (seed) return seed.signature;
  }
  return undefined;
}

/** Compares two JSON values; pushes a line per differing leaf (path, both values); returns the leaves compared. */
function compare(reported: unknown, recomputed: unknown, path: string, out: string[]): number {
  const show = (v: unknown) => (v === undefined ? "nothing" : JSON.stringify(v));
  if (
    typeof recomputed === "object" &&
    recomputed !== null &&
    typeof reported === "object" &&
    reported !== null &&
    Array.isArray(recomputed) === Array.isArray(reported)
  ) {
    let leaves = 0;
    const keys = new Set([...Object.keys(recomputed), ...Object.keys(reported)]);
    for (const k of keys) {
      leaves += compare(
        (reported as Record<string, unknown>)[k],
        (recomputed as Record<string, unknown>)[k],
        Array.isArray(recomputed) ? `${path}[${k}]` : path ? `${path}.${k}` : k,
        out,
      );
    }
    return leaves;
  }
  if (JSON.stringify(reported) !== JSON.stringify(recomputed))
    out.push(`${path || "the report"}: the report says ${show(reported)}, the bundle gives ${show(recomputed)}`);
  return 1;
}
