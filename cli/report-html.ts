import type { BaselineReport, CoverageReport, FigureChange, HubCoverage } from "../node/reports/index.js";
import { showText } from "../node/text.js";
import { type BarChartSpec, baselineChart, coverageCharts, layoutBarChart } from "./report-charts.js";

/**
 * A report as one self-contained HTML page: inline CSS and inline SVG charts, no script, no font,
 * no image, no address outside the page, so it opens offline and can be mailed or archived as is.
 * Every figure on it (table cells and chart bars) carries `data-figure` = the key of that figure in
 * the report's long form (`section|hub|subject|measure`, as the CSV has it) and, on bars,
 * `data-value`: the browser test reads them back and compares them with `--json`.
 */
export function renderReportHtml(report: CoverageReport | BaselineReport): string {
  return report.kind === "concordat.baseline/1" ? baselinePage(report) : coveragePage(report);
}

/** HTML-escaped, with control and bidirectional characters (which escaping HTML leaves as they are) shown as escapes. */
const esc = (s: string) => showText(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const num = (n: number) => n.toLocaleString("en-GB");
export const formatRate = (x: number | null): string => (x === null ? "–" : `${(x * 100).toFixed(1)}%`);
const fig = (key: string, text: string, cls = "") => `<td class="n${cls}" data-figure="${esc(key)}">${esc(text)}</td>`;

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif;color:#1d2329;margin:0;background:#f5f6f8}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #d5d9de;padding-bottom:4px}
h3{font-size:15px;margin:16px 0 6px}
.meta{color:#56606b;margin:0 0 16px}.badge{display:inline-block;background:#e8eef3;border-radius:3px;padding:1px 6px;margin-left:6px;font-size:12px}
.tiles{display:flex;gap:12px;flex-wrap:wrap}.tile{background:#fff;border:1px solid #d5d9de;border-radius:6px;padding:10px 14px;min-width:120px}
.tile b{display:block;font-size:22px}.tile span{color:#56606b;font-size:12px}
table{border-collapse:collapse;background:#fff;margin:6px 0 12px;width:100%}th,td{border:1px solid #d5d9de;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#eef1f4;font-weight:600}td.n{text-align:right;font-variant-numeric:tabular-nums}td.up{color:#2e7d32}td.down{color:#b23a2e}
.chart{background:#fff;border:1px solid #d5d9de;border-radius:6px;padding:8px;margin:6px 0 12px}
.legend{font-size:12px;color:#56606b}.legend i{display:inline-block;width:10px;height:10px;margin:0 4px 0 10px;vertical-align:middle}
ul.gaps{margin:4px 0 12px;padding-left:20px}.none{color:#56606b}
footer,.sources{color:#56606b;font-size:12px}code{font-size:12px}
@media print{body{background:#fff}.chart,.tile{break-inside:avoid}}
`;

function page(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${esc(title)}</title>
<style>${STYLE}</style>
</head>
<body><main>
${body}
<footer><p>Computed by Concordat from what each hub signed. The JSON form of this report names every checkpoint it comes from; <code>concordat report verify</code> recomputes it from an audit bundle.</p></footer>
</main></body>
</html>
`;
}

/** A bar chart (report-charts.ts lays it out) as inline SVG, with its legend. */
function barChart(spec: BarChartSpec): string {
  const layout = layoutBarChart(spec);
  const value = (v: number) => (spec.rates ? formatRate(v) : num(v));
  const seriesName = (id: string) => spec.series.find((s) => s.id === id)?.name ?? id;
  const parts: string[] = [];
  for (const row of layout.rows) {
    parts.push(
      `<text x="${row.labelAt.x}" y="${row.labelAt.y}" text-anchor="end" font-size="12">${esc(row.label)}</text>`,
    );
    for (const bar of row.bars) {
      parts.push(
        `<rect x="${bar.x.toFixed(2)}" y="${bar.y}" width="${bar.width.toFixed(2)}" height="${bar.height}" fill="${bar.color}" data-figure="${esc(bar.key)}" data-value="${bar.value}"><title>${esc(`${row.label} · ${seriesName(bar.series)}: ${value(bar.value)}`)}</title></rect>`,
      );
      if (bar.valueAt)
        parts.push(
          `<text x="${bar.valueAt.x.toFixed(2)}" y="${bar.valueAt.y}" font-size="11" fill="#56606b">${esc(value(bar.value))}</text>`,
        );
    }
    if (row.total)
      parts.push(
        `<text x="${row.total.x.toFixed(2)}" y="${row.total.y}" font-size="11" fill="#56606b">${num(row.total.value)}</text>`,
      );
  }
  const { axis, height, width, plot, max } = layout;
  parts.push(`<line x1="${axis.x}" x2="${axis.x}" y1="${axis.y1}" y2="${axis.y2}" stroke="#9aa3ad"/>`);
  parts.push(
    `<text x="${axis.x}" y="${axis.labelY}" font-size="11" fill="#56606b">0</text><text x="${axis.x + plot}" y="${axis.labelY}" font-size="11" fill="#56606b" text-anchor="end">${spec.rates ? "100%" : num(max)}</text>`,
  );
  const legend = spec.series.map((s) => `<i style="background:${s.color}"></i>${esc(s.name)}`).join("");
  return `<div class="chart"><h3>${esc(spec.title)}</h3><div class="legend">${legend}</div><svg role="img" aria-label="${esc(spec.title)}" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" data-plot-width="${plot}" data-max="${max}">${parts.join("")}</svg></div>`;
}

function coverageBody(r: CoverageReport, heading: string): string {
  const codes = [
    ...new Map(r.hubs.flatMap((h) => h.competencies.map((c) => [c.competency, c.code] as const))).entries(),
  ];
  const sum = (f: (h: HubCoverage) => number) => r.hubs.reduce((s, h) => s + f(h), 0);
  const participants = sum((h) => h.deliveries.participants);
  const tiles = [
    ["hubs", num(r.hubs.length)],
    ["trainers", num(sum((h) => h.trainers))],
    ["deliveries in the period", num(sum((h) => h.deliveries.count))],
    ["participants", num(participants)],
    [
      "completion",
      formatRate(
        participants === 0 ? null : Math.round((sum((h) => h.deliveries.completed) / participants) * 1000) / 1000,
      ),
    ],
    ["gaps: no active trainer", num(r.gaps.noActiveTrainer.length)],
  ];
  const out: string[] = [];
  out.push(`<h2>${esc(heading)}</h2>`);
  out.push(
    `<div class="tiles">${tiles.map(([label, value]) => `<div class="tile"><b>${esc(value as string)}</b><span>${esc(label as string)}</span></div>`).join("")}</div>`,
  );

  out.push(
    `<h2>Hubs</h2><table><thead><tr><th>hub</th><th>trainers</th><th>release</th><th>deliveries</th><th>participants</th><th>female</th><th>male</th><th>unspecified</th><th>completed</th><th>passed</th><th>completion</th><th>pass rate</th></tr></thead><tbody>`,
  );
  for (const h of r.hubs) {
    const d = h.deliveries;
    const k = (measure: string) => `deliveries|${h.hub}||${measure}`;
    out.push(
      `<tr><th>${esc(h.name || h.hub)} <span class="badge">${esc(h.hub)}</span></th>${fig(`hub|${h.hub}||trainers`, String(h.trainers))}<td data-figure="${esc(`hub|${h.hub}||adopted_release`)}">${esc(h.adoptedRelease ?? "")}</td>` +
        `${fig(k("count"), num(d.count))}${fig(k("participants"), num(d.participants))}${fig(k("female"), num(d.female))}${fig(k("male"), num(d.male))}${fig(k("unspecified"), num(d.unspecified))}${fig(k("completed"), num(d.completed))}${fig(k("passed"), num(d.passed))}${fig(k("completion_rate"), formatRate(d.completionRate))}${fig(k("pass_rate"), formatRate(d.passRate))}</tr>`,
    );
  }
  out.push(`</tbody></table>`);

  for (const chart of coverageCharts(r)) out.push(barChart(chart));

  out.push(
    `<h2>Accreditations per competency</h2><table><thead><tr><th>hub</th>${codes.map(([, code]) => `<th>${esc(code)} active</th><th>${esc(code)} expiring ≤ 90 days</th>`).join("")}</tr></thead><tbody>`,
  );
  for (const h of r.hubs) {
    out.push(
      `<tr><th>${esc(h.hub)}</th>${codes
        .map(([id]) => {
          const c = h.competencies.find((x) => x.competency === id);
          return c
            ? `${fig(`competency|${h.hub}|${id}|active_trainers`, num(c.activeTrainers))}${fig(`competency|${h.hub}|${id}|expiring_within_90_days`, num(c.expiringWithin90Days))}`
            : "<td></td><td></td>";
        })
        .join("")}</tr>`,
    );
  }
  out.push(`</tbody></table>`);

  out.push(planSection(r));
  out.push(evaluationSection(r));
  out.push(grievanceSection(r));

  const list = (title: string, items: string[]) =>
    `<h3>${esc(title)} (${items.length})</h3>${items.length === 0 ? `<p class="none">none</p>` : `<ul class="gaps">${items.join("")}</ul>`}`;
  const g = r.gaps;
  out.push(`<h2>Gaps</h2>`);
  out.push(
    list(
      "Competencies with no active trainer in a country",
      g.noActiveTrainer.map(
        (x) =>
          `<li data-figure="${esc(`gap:no_active_trainer||${x.competency}|region:${x.region}`)}">${esc(x.code)} in ${esc(x.region)}</li>`,
      ),
    ),
  );
  out.push(
    list(
      "Accreditations expiring within 90 days",
      g.expiring.map(
        (x) =>
          `<li>${esc(x.hub)} · ${esc(x.competency)}: <span data-figure="${esc(`gap:expiring|${x.hub}|${x.competency}|count`)}">${x.count}</span></li>`,
      ),
    ),
  );
  out.push(
    list(
      "Adaptations awaiting review",
      g.awaitingReview.map(
        (x) =>
          `<li data-figure="${esc(`gap:awaiting_review|${x.hub}|${x.adaptation}|`)}">${esc(x.hub)} · ${esc(x.adaptation)}</li>`,
      ),
    ),
  );
  out.push(
    list(
      "Hubs behind the latest release",
      g.behindRelease.map(
        (x) =>
          `<li data-figure="${esc(`gap:behind_release|${x.hub}|${x.adopted ?? ""}|latest`)}">${esc(x.hub)} follows ${esc(x.adopted ?? "no release")}, latest ${esc(x.latest)}</li>`,
      ),
    ),
  );
  out.push(
    list(
      "Modules never delivered",
      g.neverDelivered.map(
        (x) =>
          `<li data-figure="${esc(`gap:never_delivered|${x.hub}|${x.module}|`)}">${esc(x.hub)} · ${esc(x.module)}</li>`,
      ),
    ),
  );

  out.push(
    `<h2>Computed from</h2><div class="sources"><p>Charter seq ${r.sources.charter.checkpoint.seq} (${esc(r.sources.charter.checkpoint.time)}); core releases ${r.sources.releases.map((s) => esc(s.checkpoint.version ?? "?")).join(", ") || "none"}.</p><table><thead><tr><th>hub</th><th>document</th><th>type</th><th>seq</th><th>signed</th></tr></thead><tbody>`,
  );
  for (const h of r.hubs)
    for (const c of h.checkpoints)
      out.push(
        `<tr><td>${esc(h.hub)}</td><td><code>${esc(c.document)}</code></td><td>${esc(c.type)}</td><td class="n">${c.seq}</td><td>${esc(c.time)}</td></tr>`,
      );
  out.push(`</tbody></table></div>`);
  return out.join("\n");
}

const mean = (x: number | null) => (x === null ? "–" : String(x));

/** Grievances received in the period, per hub (docs/grievances.md): figures only, never a person. */
function grievanceSection(r: CoverageReport): string {
  const out: string[] = [
    `<h2>Grievances</h2><table><thead><tr><th>hub</th><th>received</th><th>open</th><th>overdue: acknowledgement</th><th>overdue: resolution</th><th>resolved</th><th>median days to resolution</th><th>max days</th><th>by category</th><th>by outcome</th></tr></thead><tbody>`,
  ];
  const listed = (counts: Record<string, number>) =>
    Object.entries(counts)
      .filter(([, v]) => v > 0)
      .map(([k, v]) => `${k} ${num(v)}`)
      .join(", ") || "–";
  for (const h of r.hubs) {
    const g = h.grievances;
    const k = (measure: string) => `grievances|${h.hub}||${measure}`;
    const d = g.daysToResolution;
    out.push(
      `<tr><th>${esc(h.hub)}</th>${fig(k("received"), num(g.total))}${fig(k("open"), num(g.open))}${fig(k("overdue_acknowledgement"), num(g.overdue.acknowledgement))}${fig(k("overdue_resolution"), num(g.overdue.resolution))}${fig(k("resolved"), num(d.resolved))}${fig(k("median_days_to_resolution"), mean(d.median))}${fig(k("max_days_to_resolution"), mean(d.max))}<td>${esc(listed(g.byCategory))}</td><td>${esc(listed(g.byOutcome))}</td></tr>`,
    );
  }
  out.push(`</tbody></table>`);
  return out.join("");
}

/** Signed annual plans beside deliveries recorded (docs/plans.md), per hub, module and quarter. */
function planSection(r: CoverageReport): string {
  const rows = r.planVsActual ?? [];
  if (rows.length === 0) return "";
  const out: string[] = [
    `<h2>Plan beside actual</h2><p class="meta">Deliveries planned in each hub's latest signed annual plan, beside those recorded (counted in the quarter they start).</p><table><thead><tr><th>hub</th><th>quarter</th><th>module</th><th>planned</th><th>actual</th><th>difference</th><th>plan version</th></tr></thead><tbody>`,
  ];
  for (const p of rows) {
    const k = (m: string) => `plan:${p.year}-Q${p.quarter}|${p.hub}|${p.module}|${m}`;
    out.push(
      `<tr><th>${esc(p.hub)}</th><td>${esc(`${p.year}-Q${p.quarter}`)}</td><td>${esc(p.module)}</td>${fig(k("planned"), num(p.planned))}${fig(k("actual"), num(p.actual))}${fig(k("difference"), p.difference > 0 ? `+${num(p.difference)}` : num(p.difference))}<td>${esc(String(p.planVersion))}</td></tr>`,
    );
  }
  out.push(`</tbody></table>`);
  return out.join("");
}

/** The four levels of evaluation (docs/evaluation.md): per hub, per competency and method, indicators, and what compares. */
function evaluationSection(r: CoverageReport): string {
  const out: string[] = [
    `<h2>Evaluation at four levels</h2><table><thead><tr><th>hub</th><th>1 · responses</th><th>1 · mean score</th><th>2 · assessed before and after</th><th>2 · pre mean</th><th>2 · post mean</th><th>2 · gain</th><th>3 · follow-ups expected</th><th>3 · followed up</th><th>3 · overdue</th><th>3 · reached</th><th>3 · applying</th><th>3 · application</th></tr></thead><tbody>`,
  ];
  for (const h of r.hubs) {
    const e = h.evaluation;
    const p = e.learning.prePost;
    const b = e.behaviour;
    const k = (section: string, measure: string) => `${section}|${h.hub}||${measure}`;
    out.push(
      `<tr><th>${esc(h.hub)}</th>${fig(k("level1_reaction", "responses"), num(e.reaction.responses))}${fig(k("level1_reaction", "mean_score"), mean(e.reaction.meanScore))}` +
        `${fig(k("level2_learning", "assessed_pre_post"), num(p.assessed))}${fig(k("level2_learning", "pre_mean"), mean(p.preMean))}${fig(k("level2_learning", "post_mean"), mean(p.postMean))}${fig(k("level2_learning", "gain"), mean(p.gain))}` +
        `${fig(k("level3_behaviour", "follow_ups_expected"), num(b.expected))}${fig(k("level3_behaviour", "followed_up"), num(b.followedUp))}${fig(k("level3_behaviour", "overdue"), num(b.overdue))}${fig(k("level3_behaviour", "reached"), num(b.reached))}${fig(k("level3_behaviour", "applying"), num(b.applying))}${fig(k("level3_behaviour", "application_rate"), formatRate(b.applicationRate))}</tr>`,
    );
  }
  out.push(`</tbody></table>`);
  const assessed = [
    ...r.hubs.flatMap((h) => h.evaluation.learning.assessments.map((a) => ({ hub: h.hub, a }))),
    ...r.evaluation.assessments.map((a) => ({ hub: "", a })),
  ];
  if (assessed.length > 0) {
    out.push(
      `<h3>Assessments per competency and method</h3><table><thead><tr><th>hub</th><th>competency</th><th>method</th><th>assessed</th><th>demonstrated</th><th>rate</th></tr></thead><tbody>`,
    );
    for (const { hub, a } of assessed) {
      const k = (measure: string) => `assessment|${hub}|${a.competency}/${a.method}|${measure}`;
      out.push(
        `<tr><th>${hub === "" ? "all hubs" : esc(hub)}</th><td>${esc(a.code)}</td><td>${esc(a.method)}</td>${fig(k("assessed"), num(a.assessed))}${fig(k("demonstrated"), num(a.demonstrated))}${fig(k("rate"), formatRate(a.rate))}</tr>`,
      );
    }
    out.push(`</tbody></table>`);
  }
  const results = r.hubs.flatMap((h) => h.evaluation.results.map((x) => ({ hub: h.hub, x })));
  if (results.length > 0) {
    out.push(
      `<h3>Results: the hubs' indicators</h3><table><thead><tr><th>hub</th><th>indicator</th><th>period</th><th>value</th><th>unit</th><th>source</th></tr></thead><tbody>`,
    );
    for (const { hub, x } of results)
      out.push(
        `<tr><th>${esc(hub)}</th><td>${esc(x.indicator)}</td><td>${esc(x.from)} – ${esc(x.to)}</td>${fig(`level4_results|${hub}|${x.indicator} ${x.from}..${x.to}|${x.unit}`, num(x.value))}<td>${esc(x.unit)}</td><td>${esc(x.source)}</td></tr>`,
      );
    out.push(`</tbody></table>`);
  }
  for (const a of r.audits) {
    out.push(
      `<h3>Random audit ${esc(a.id)} <span class="badge">${esc(a.period.from)} – ${esc(a.period.to)}, ${a.perHub} per hub</span></h3><p class="meta">${a.seedProblem ? esc(a.seedProblem) : `Sample seeded by the secretariat's signature of its panel's checkpoint seq ${a.seed?.seq ?? "?"} (${esc(a.seed?.time ?? "")}); anyone can recompute it with <code>concordat report verify</code>.`}</p><table><thead><tr><th>hub</th><th>sampled</th><th>audited</th><th>confirmed</th><th>disputed</th></tr></thead><tbody>`,
    );
    for (const h of a.hubs) {
      const k = (m: string) => `audit:${a.id}|${h.hub}||${m}`;
      out.push(
        `<tr><th>${esc(h.hub)}</th>${fig(k("sampled"), num(h.sampled))}${fig(k("audited"), num(h.audited))}${fig(k("confirmed"), num(h.confirmed))}${fig(k("disputed"), num(h.disputed))}</tr>`,
      );
    }
    out.push(`</tbody></table>`);
    const findings = a.sample.flatMap((s) => s.findings.map((f) => ({ s, f })));
    if (findings.length > 0)
      out.push(
        `<ul class="gaps">${findings.map(({ s, f }) => `<li>${esc(s.hub)} · ${esc(s.delivery)}: ${esc(f.evaluator)} — ${f.confirmed ? "figures confirmed" : "figures not confirmed"} (${esc(f.severity)})${f.observations ? `: ${esc(f.observations)}` : ""}${s.response ? `; the hub ${esc(s.response.stance)}${s.response.note ? `: ${esc(s.response.note)}` : ""}` : ""}</li>`).join("")}</ul>`,
      );
    if (a.rejectedFindings.length > 0)
      out.push(
        `<p>Not counted:</p><ul class="gaps">${a.rejectedFindings.map((f) => `<li>${esc(f.evaluator)} on ${esc(f.hub)} · ${esc(f.delivery)} (stored by ${esc(f.storedBy)}): ${esc(f.problem)}</li>`).join("")}</ul>`,
      );
  }
  out.push(
    `<h3>Do the figures compare?</h3><ul class="gaps">${r.evaluation.comparability.map((c) => `<li>${c.comparable ? "Comparable" : "Note"}: ${esc(c.note)}</li>`).join("")}</ul>`,
  );
  return out.join("\n");
}

function coveragePage(r: CoverageReport): string {
  const title = `Coverage ${r.period.from} – ${r.period.to}`;
  const header = `<h1>${esc(title)}</h1><p class="meta">Generated ${esc(r.generatedAt)} · latest core release ${esc(r.latestRelease ?? "none")}${r.publicOnly ? '<span class="badge">public only</span>' : ""}</p>`;
  return page(title, header + coverageBody(r, "Summary"));
}

function changeRow(prefix: string, c: FigureChange): string {
  const fmt = (v: number | null) => (v === null ? "–" : c.measure.endsWith("_rate") ? formatRate(v) : num(v));
  const key = `${prefix}|${c.subject}|${c.measure}`;
  const dir = c.change === null || c.change === 0 ? "" : c.change > 0 ? " up" : " down";
  const change =
    c.change === null
      ? "–"
      : `${c.change > 0 ? "+" : ""}${c.measure.endsWith("_rate") ? `${(c.change * 100).toFixed(1)} pts` : num(c.change)}`;
  return `<tr><td>${esc(c.measure.replace(/_/g, " "))}${c.subject ? ` · ${esc(c.subject)}` : ""}</td>${fig(`${key}|current`, fmt(c.current))}${fig(`${key}|baseline`, fmt(c.baseline))}${fig(`${key}|change`, change, dir)}</tr>`;
}

function baselinePage(b: BaselineReport): string {
  const title = `Baseline: ${b.period.label} against ${b.against.label}`;
  const out: string[] = [];
  out.push(
    `<h1>${esc(title)}</h1><p class="meta">${esc(b.period.from)} – ${esc(b.period.to)} against ${esc(b.against.from)} – ${esc(b.against.to)} · generated ${esc(b.generatedAt)}${b.current.publicOnly ? '<span class="badge">public only</span>' : ""}</p>`,
  );
  const head = `<table><thead><tr><th>figure</th><th>${esc(b.period.label)}</th><th>${esc(b.against.label)}</th><th>change</th></tr></thead><tbody>`;
  out.push(
    `<h2>Federation</h2>${head}${b.changes.federation.map((c) => changeRow("federation|", c)).join("")}</tbody></table>`,
  );
  out.push(barChart(baselineChart(b)));
  for (const h of b.changes.hubs)
    out.push(
      `<h2>${esc(h.name || h.hub)} <span class="badge">${esc(h.hub)}</span></h2>${head}${h.figures.map((c) => changeRow(`hub|${h.hub}`, c)).join("")}</tbody></table>`,
    );
  out.push(`<h2>${esc(b.period.label)} in full</h2>`);
  out.push(
    coverageBody(b.current, `Coverage ${b.current.period.from} – ${b.current.period.to}`).replace(
      /data-figure="/g,
      'data-figure="current:',
    ),
  );
  return page(title, out.join("\n"));
}
