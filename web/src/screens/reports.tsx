/**
 * Reports: the federation's coverage in a period, or two periods compared (ReportService, as
 * `concordat report coverage|baseline`), as tables and the HTML report's charts; the report as CSV
 * and JSON (the files `--csv FILE` and `--out FILE` write, by the same code); and this node's audit
 * bundle (AuditService.ExportAudit, as `concordat audit export`), assembled from its chunks. Every
 * role may see all of it (the API asks for viewer). The options are in the address, so a report
 * can be bookmarked; it is computed again when what it counts changes at the node.
 */
import { useState } from "preact/hooks";
import {
  csvText,
  reportJson,
  reportRows,
  type BaselineFigures,
  type CoverageFigures,
} from "../../../cli/report-rows.js";
import { api, fieldErrors } from "../api.js";
import type { ScreenProps } from "../app.js";
import { formatNumber, t } from "../i18n.js";
import { useLive } from "../live.js";
import { navigate, queryParams } from "../router.js";
import { Busy, download, ErrorMessage, Field, Notice, Screen, Select, useLoad } from "../ui/kit.js";
import { BaselineMeta, BaselineView, CoverageMeta, CoverageView } from "../ui/report-parts.js";
import { GrievanceView } from "../ui/grievance-parts.js";
import "./reports.css";

type Kind = "coverage" | "baseline";

interface Query {
  kind: Kind;
  from: string;
  to: string;
  period: string;
  against: string;
  publicOnly: boolean;
}

type Report = CoverageFigures | BaselineFigures;

/** Reports take the time the CLI gives them. */
const REPORT_TIMEOUT_MS = 120_000;
const AUDIT_TIMEOUT_MS = 600_000;

function defaults(): Query {
  const year = new Date().getFullYear();
  return {
    kind: "coverage",
    from: `${year}-01-01`,
    to: `${year}-12-31`,
    period: String(year),
    against: String(year - 1),
    publicOnly: false,
  };
}

/** The options in the address (/reports?kind=baseline&period=2026&against=2025), over the defaults. */
function queryFromAddress(): Query {
  const q = queryParams();
  const d = defaults();
  return {
    kind: q.get("kind") === "baseline" ? "baseline" : "coverage",
    from: q.get("from") ?? d.from,
    to: q.get("to") ?? d.to,
    period: q.get("period") ?? d.period,
    against: q.get("against") ?? d.against,
    publicOnly: q.get("public") === "1",
  };
}

function address(q: Query): string {
  const params = new URLSearchParams({ kind: q.kind });
  if (q.kind === "coverage") {
    params.set("from", q.from);
    params.set("to", q.to);
  } else {
    params.set("period", q.period);
    params.set("against", q.against);
  }
  if (q.publicOnly) params.set("public", "1");
  return `/reports?${params.toString()}`;
}

async function loadReport(q: Query, signal: AbortSignal): Promise<Report> {
  const options = { signal, timeoutMs: REPORT_TIMEOUT_MS };
  const response =
    q.kind === "coverage"
      ? await api.reports.coverageReport({ from: q.from, to: q.to, publicOnly: q.publicOnly }, options)
      : await api.reports.baselineReport({ period: q.period, against: q.against, publicOnly: q.publicOnly }, options);
  return JSON.parse(response.json) as Report;
}

/** A file name's part from what a person typed (a period such as 2026-01-01..2026-03-31). */
const namePart = (s: string) => s.replace(/\.\./g, "_").replace(/[^A-Za-z0-9-]+/g, "_");

function fileBase(report: Report): string {
  return report.kind === "concordat.baseline/1"
    ? `baseline-${namePart(report.period.label)}-against-${namePart(report.against.label)}`
    : `coverage-${namePart(report.period.from)}-${namePart(report.period.to)}`;
}

/** A byte count in the person's language (kB, MB). */
function size(bytes: number): string {
  if (bytes < 1000) return formatNumber(bytes, { style: "unit", unit: "byte", unitDisplay: "long" });
  if (bytes < 1_000_000)
    return formatNumber(bytes / 1000, { style: "unit", unit: "kilobyte", maximumFractionDigits: 1 });
  return formatNumber(bytes / 1_000_000, { style: "unit", unit: "megabyte", maximumFractionDigits: 1 });
}

/** The audit bundle's file name, as docs/auditor.md names one: the hub and the month. */
function bundleName(hubId: string): string {
  return `${namePart(hubId)}-${new Date().toISOString().slice(0, 7)}.bundle`;
}

function AuditBundle(props: { hubId: string }) {
  const [state, setState] = useState<
    | { step: "idle" }
    | { step: "busy"; bytes: number }
    | { step: "done"; name: string; bytes: number }
    | { step: "failed"; error: unknown }
  >({ step: "idle" });
  const start = async () => {
    setState({ step: "busy", bytes: 0 });
    try {
      const chunks: Uint8Array<ArrayBuffer>[] = [];
      let bytes = 0;
      for await (const chunk of api.audit.exportAudit({}, { timeoutMs: AUDIT_TIMEOUT_MS })) {
        chunks.push(chunk.data as Uint8Array<ArrayBuffer>);
        bytes += chunk.data.byteLength;
        setState({ step: "busy", bytes });
      }
      const name = bundleName(props.hubId);
      download(name, chunks, "application/octet-stream");
      setState({ step: "done", name, bytes });
    } catch (error) {
      setState({ step: "failed", error });
    }
  };
  return (
    <section class="report-audit" aria-labelledby="reports-audit">
      <h2 id="reports-audit">{t("reports.audit.title")}</h2>
      <p>{t("reports.audit.intro")}</p>
      <button type="button" class="secondary" onClick={() => void start()} disabled={state.step === "busy"}>
        {t("reports.audit.download")}
      </button>
      {state.step === "busy" ? <Busy label={t("reports.audit.progress", { size: size(state.bytes) })} /> : null}
      {state.step === "done" ? (
        <Notice tone="ok">{t("reports.audit.done", { name: state.name, size: size(state.bytes) })}</Notice>
      ) : null}
      {state.step === "failed" ? <ErrorMessage error={state.error} /> : null}
    </section>
  );
}

function Downloads(props: { report: Report }) {
  const { report } = props;
  const base = fileBase(report);
  return (
    <section class="report-downloads" aria-labelledby="reports-downloads">
      <h2 id="reports-downloads">{t("reports.downloads")}</h2>
      <div class="row">
        <button
          type="button"
          class="secondary"
          onClick={() => download(`${base}.csv`, csvText(reportRows(report)), "text/csv;charset=utf-8")}
        >
          {t("reports.download.csv")}
        </button>
        <button
          type="button"
          class="secondary"
          onClick={() => download(`${base}.json`, reportJson(report), "application/json")}
        >
          {t("reports.download.json")}
        </button>
      </div>
      <p class="muted">{t("reports.download.hint")}</p>
    </section>
  );
}

export function ReportsScreen(props: ScreenProps) {
  // What is shown (from the address), and what the form holds until it is sent.
  const [shown, setShown] = useState<Query>(queryFromAddress);
  const [draft, setDraft] = useState<Query>(shown);
  const live = useLive("checkpoint", "release", "member", "curriculum");
  const key = JSON.stringify(shown);
  const loaded = useLoad((signal) => loadReport(shown, signal), [key], live);
  const errors = fieldErrors(loaded.error);
  const set = (patch: Partial<Query>) => setDraft((d) => ({ ...d, ...patch }));
  const submit = (event: Event) => {
    event.preventDefault();
    navigate(address(draft), true);
    setShown({ ...draft });
  };
  const report = loaded.data;
  // A report of another kind than asked is an earlier answer: not shown while the new one loads.
  const fits =
    report !== undefined && (report.kind === "concordat.baseline/1") === (shown.kind === "baseline") && !loaded.error;
  return (
    <Screen title={t("reports.title")}>
      <p>{t("reports.intro")}</p>
      <form class="report-form" onSubmit={submit} aria-label={t("reports.form.label")}>
        <div class="row">
          <Select
            label={t("reports.kind")}
            value={draft.kind}
            onValue={(v) => set({ kind: v === "baseline" ? "baseline" : "coverage" })}
            options={[
              { value: "coverage", label: t("reports.kind.coverage") },
              { value: "baseline", label: t("reports.kind.baseline") },
            ]}
          />
          {draft.kind === "coverage" ? (
            <>
              <Field
                label={t("reports.from")}
                type="date"
                value={draft.from}
                onValue={(v) => set({ from: v })}
                error={shown.kind === "coverage" ? errors.get("from") : undefined}
                required
              />
              <Field
                label={t("reports.to")}
                type="date"
                value={draft.to}
                onValue={(v) => set({ to: v })}
                error={shown.kind === "coverage" ? errors.get("to") : undefined}
                required
              />
            </>
          ) : (
            <>
              <Field
                label={t("reports.period")}
                value={draft.period}
                onValue={(v) => set({ period: v })}
                hint={t("reports.period.hint")}
                error={shown.kind === "baseline" ? errors.get("period") : undefined}
                required
              />
              <Field
                label={t("reports.against")}
                value={draft.against}
                onValue={(v) => set({ against: v })}
                hint={t("reports.period.hint")}
                error={shown.kind === "baseline" ? errors.get("against") : undefined}
                required
              />
            </>
          )}
        </div>
        <div class="row">
          <label class="check">
            <input
              type="checkbox"
              checked={draft.publicOnly}
              onChange={(e) => set({ publicOnly: (e.currentTarget as HTMLInputElement).checked })}
            />
            {t("reports.publicOnly")}
          </label>
          <button type="submit">{t("reports.show")}</button>
        </div>
      </form>
      {loaded.loading ? <Busy label={t("reports.loading")} /> : null}
      {loaded.error && errors.size === 0 ? <ErrorMessage error={loaded.error} /> : null}
      {fits && report ? (
        <div class="report" aria-busy={loaded.loading ? "true" : undefined}>
          {report.kind === "concordat.baseline/1" ? (
            <>
              <BaselineMeta report={report} />
              <Downloads report={report} />
              <BaselineView report={report} />
            </>
          ) : (
            <>
              <CoverageMeta report={report} />
              <Downloads report={report} />
              <CoverageView report={report} />
              <GrievanceView report={report} />
            </>
          )}
        </div>
      ) : null}
      <AuditBundle hubId={props.me.hubId} />
    </Screen>
  );
}
