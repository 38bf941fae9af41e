import * as A from "@automerge/automerge";
import { CheckpointKind, type SignedCheckpoint } from "../authority/index.js";
import { checkpointInBundle, openBundle, type VerifyReport } from "../audit/index.js";
import { readCore } from "../core/index.js";
import { coreIdOf } from "../core/index.js";
import { documentTypeOf } from "../documents/index.js";
import { charterIdOf, ownedDocumentId, readCharter } from "../federation/index.js";
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
 *    same code a node uses, and every value compared.
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
  return computeCoverage(input);
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
