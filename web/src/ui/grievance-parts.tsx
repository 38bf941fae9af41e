/**
 * The coverage report's grievance figures (docs/grievances.md): per hub, the grievances received in
 * the period as its register stood on the report's day — counts, overdue steps and days to
 * resolution. Figures only: who complained never leaves the hub, so nothing here can name a person.
 * Each figure carries the CSV's key (`grievances|hub||measure`), as the other report tables do.
 */
import type { CoverageFigures, GrievanceFiguresRow } from "../../../cli/report-rows.js";
import { formatNumber, t } from "../i18n.js";

const n = (value: number) => formatNumber(value);
const days = (value: number | null) => (value === null ? t("reports.na") : formatNumber(value));

/** "conduct 2, safety 1" in the person's language; a dash when every count is 0. */
function counts(kind: "category" | "outcome", figures: Record<string, number>): string {
  const shown = Object.entries(figures)
    .filter(([, v]) => v > 0)
    .map(([k, v]) => t("reports.grievances.count", { what: t(`reports.grievances.${kind}.${k}`), count: n(v) }));
  return shown.length === 0 ? t("reports.na") : shown.join(", ");
}

export function GrievanceView(props: { report: CoverageFigures }) {
  const hubs = props.report.hubs.flatMap((h) =>
    h.grievances ? [{ hub: h.hub, name: h.name, g: h.grievances as GrievanceFiguresRow }] : [],
  );
  const col = (key: string) => t(`reports.grievances.col.${key}`);
  const columns = [
    "hub",
    "received",
    "open",
    "overdueAcknowledgement",
    "overdueResolution",
    "resolved",
    "medianDays",
    "maxDays",
    "byCategory",
    "byOutcome",
  ];
  return (
    <section class="report-grievances" aria-labelledby="reports-grievances">
      <h2 id="reports-grievances">{t("reports.grievances.title")}</h2>
      <p>{t("reports.grievances.intro")}</p>
      {hubs.length === 0 ? (
        <p class="muted">{t("reports.grievances.none")}</p>
      ) : (
        <div class="table-wrap">
          <table class="cards report-table">
            <caption>{t("reports.grievances.caption")}</caption>
            <thead>
              <tr>
                {columns.map((key) => (
                  <th key={key} scope="col">
                    {col(key)}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {hubs.map(({ hub, name, g }) => {
                const k = (measure: string) => `grievances|${hub}||${measure}`;
                const cell = (key: string, measure: string, value: string) => (
                  <td data-label={col(key)} class="num" data-figure={k(measure)}>
                    {value}
                  </td>
                );
                return (
                  <tr key={hub}>
                    <td data-label={col("hub")}>{name || hub}</td>
                    {cell("received", "received", n(g.total))}
                    {cell("open", "open", n(g.open))}
                    {cell("overdueAcknowledgement", "overdue_acknowledgement", n(g.overdue.acknowledgement))}
                    {cell("overdueResolution", "overdue_resolution", n(g.overdue.resolution))}
                    {cell("resolved", "resolved", n(g.daysToResolution.resolved))}
                    {cell("medianDays", "median_days_to_resolution", days(g.daysToResolution.median))}
                    {cell("maxDays", "max_days_to_resolution", days(g.daysToResolution.max))}
                    <td data-label={col("byCategory")}>{counts("category", g.byCategory)}</td>
                    <td data-label={col("byOutcome")}>{counts("outcome", g.byOutcome)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
