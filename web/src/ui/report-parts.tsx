/**
 * A report on screen: its tables (captioned, a card per row on a phone) and the charts the HTML
 * report draws (cli/report-charts.ts lays them out for both). A chart is an image with a text
 * alternative: its title names it and its description holds every figure it draws; each series
 * has its own fill pattern as well as its colour (the legend shows both), so colour is never the
 * only way to tell them apart. In a right-to-left language the bars grow from the right.
 */
import type { ComponentChildren } from "preact";
import { useId } from "preact/hooks";
import {
  type BarChartSpec,
  baselineChart,
  type ChartWords,
  coverageCharts,
  layoutBarChart,
} from "../../../cli/report-charts.js";
import type { BaselineFigures, CoverageFigures, FigureChangeRow } from "../../../cli/report-rows.js";
import { countryName, currentLanguage, formatDay, formatNumber, formatTime, isRightToLeft, t } from "../i18n.js";

type Hub = CoverageFigures["hubs"][number];

/** A count in the person's language. */
const n = (value: number) => formatNumber(value);
/** A rate (0..1) as a percentage with one decimal, or a dash when there is none. */
export const rate = (value: number | null) =>
  value === null ? t("reports.na") : formatNumber(value, { style: "percent", maximumFractionDigits: 1 });

function chartWords(): ChartWords {
  return {
    competencies: t("reports.chart.competencies"),
    gender: t("reports.chart.gender"),
    rates: t("reports.chart.rates"),
    participantsBoth: t("reports.chart.participantsBoth"),
    female: t("reports.series.female"),
    male: t("reports.series.male"),
    unspecified: t("reports.series.unspecified"),
    completed: t("reports.series.completed"),
    passed: t("reports.series.passed"),
  };
}

/** A heading at a level the caller chooses (a coverage report is a section of a baseline's page too). */
function Heading(props: { level: 2 | 3 | 4; children: ComponentChildren; id?: string }) {
  const Tag = `h${props.level}` as "h2";
  return <Tag id={props.id}>{props.children}</Tag>;
}

/** The fill of a series' bars: its colour, and from the second series on, a pattern over it. */
function Pattern(props: { id: string; index: number; color: string }) {
  const kind = props.index % 4;
  if (kind === 0) return null;
  return (
    <pattern id={props.id} patternUnits="userSpaceOnUse" width="6" height="6">
      <rect width="6" height="6" fill={props.color} />
      {kind === 1 ? <path d="M-1,7 L7,-1" stroke="#ffffff" stroke-width="1.6" /> : null}
      {kind === 2 ? <circle cx="3" cy="3" r="1.3" fill="#ffffff" /> : null}
      {kind === 3 ? <path d="M0,3 H6 M3,0 V6" stroke="#ffffff" stroke-width="1.2" /> : null}
    </pattern>
  );
}

/** A row's label as drawn: what fits before the bars (the whole name is in the description and the tables). */
const LABEL_CHARS = 22;
const shortLabel = (label: string) =>
  [...label].length > LABEL_CHARS ? `${[...label].slice(0, LABEL_CHARS - 1).join("")}…` : label;

const fillOf = (prefix: string, index: number, color: string) =>
  index % 4 === 0 ? color : `url(#${prefix}-p${index})`;

/** One of the report's bar charts as an accessible SVG image, with its legend. */
export function BarChart(props: { spec: BarChartSpec }) {
  const { spec } = props;
  const prefix = `chart-${useId().replace(/[^A-Za-z0-9_-]/g, "")}`;
  const layout = layoutBarChart(spec);
  const rtl = isRightToLeft(currentLanguage());
  const value = (v: number) => (spec.rates ? rate(v) : n(v));
  const seriesName = (id: string) => spec.series.find((s) => s.id === id)?.name ?? id;
  // Mirrored in a right-to-left language: x from the right, text anchors swapped.
  const x = (at: number, width = 0) => (rtl ? layout.width - at - width : at);
  const anchor = (a: "start" | "end") => (rtl ? (a === "start" ? "end" : "start") : a);
  const description = layout.rows
    .map((row) =>
      t("reports.chart.row", {
        label: row.label,
        values: row.bars
          .map((b) => t("reports.chart.value", { series: seriesName(b.series), value: value(b.value) }))
          .join(", "),
      }),
    )
    .join(" ");
  const { axis } = layout;
  return (
    <figure class="report-chart" aria-labelledby={`${prefix}-caption`}>
      <figcaption id={`${prefix}-caption`}>{spec.title}</figcaption>
      <ul class="legend" aria-label={t("reports.chart.legend", { title: spec.title })}>
        {spec.series.map((s, i) => (
          <li key={s.id}>
            <svg width="16" height="16" viewBox="0 0 16 16" aria-hidden="true" focusable="false">
              <defs>
                <Pattern id={`${prefix}-l${i}`} index={i} color={s.color} />
              </defs>
              <rect
                x="1"
                y="1"
                width="14"
                height="14"
                fill={i % 4 === 0 ? s.color : `url(#${prefix}-l${i})`}
                stroke="#1a1f29"
                stroke-width="1"
              />
            </svg>
            {s.name}
          </li>
        ))}
      </ul>
      {layout.rows.length === 0 ? (
        <p class="muted">{t("reports.chart.empty")}</p>
      ) : (
        <svg
          role="img"
          aria-labelledby={`${prefix}-title ${prefix}-desc`}
          viewBox={`0 0 ${layout.width} ${layout.height}`}
          direction="ltr"
          data-chart={spec.id}
          data-plot-width={layout.plot}
          data-max={layout.max}
        >
          <title id={`${prefix}-title`}>{spec.title}</title>
          <desc id={`${prefix}-desc`}>{description}</desc>
          <defs>
            {spec.series.map((s, i) => (
              <Pattern key={s.id} id={`${prefix}-p${i}`} index={i} color={s.color} />
            ))}
          </defs>
          {layout.rows.map((row) => (
            <g key={row.label}>
              <text x={x(row.labelAt.x)} y={row.labelAt.y} text-anchor={anchor("end")} font-size="12" fill="#1a1f29">
                {shortLabel(row.label)}
              </text>
              {row.bars.map((bar) => (
                <g key={bar.key}>
                  <rect
                    x={x(bar.x, bar.width).toFixed(2)}
                    y={bar.y}
                    width={bar.width.toFixed(2)}
                    height={bar.height}
                    fill={fillOf(prefix, bar.seriesIndex, bar.color)}
                    stroke={bar.width > 0 ? "#1a1f29" : "none"}
                    stroke-width="0.5"
                    data-figure={bar.key}
                    data-value={bar.value}
                  />
                  {bar.valueAt ? (
                    <text
                      x={x(bar.valueAt.x).toFixed(2)}
                      y={bar.valueAt.y}
                      text-anchor={anchor("start")}
                      font-size="11"
                      fill="#4a5363"
                    >
                      {value(bar.value)}
                    </text>
                  ) : null}
                </g>
              ))}
              {row.total ? (
                <text
                  x={x(row.total.x).toFixed(2)}
                  y={row.total.y}
                  text-anchor={anchor("start")}
                  font-size="11"
                  fill="#4a5363"
                >
                  {n(row.total.value)}
                </text>
              ) : null}
            </g>
          ))}
          <line x1={x(axis.x)} x2={x(axis.x)} y1={axis.y1} y2={axis.y2} stroke="#6b7280" />
          <text x={x(axis.x)} y={axis.labelY} text-anchor={anchor("start")} font-size="11" fill="#4a5363">
            {n(0)}
          </text>
          <text x={x(axis.x + layout.plot)} y={axis.labelY} text-anchor={anchor("end")} font-size="11" fill="#4a5363">
            {spec.rates ? rate(1) : n(layout.max)}
          </text>
        </svg>
      )}
    </figure>
  );
}

/** A table cell that names its column on a phone (one card per row). */
function Cell(props: { label: string; children: ComponentChildren; numeric?: boolean; figure?: string }) {
  return (
    <td data-label={props.label} class={props.numeric ? "num" : undefined} data-figure={props.figure}>
      {props.children}
    </td>
  );
}

const hubLabel = (h: { hub: string; name: string }) => h.name || h.hub;

function GapList(props: { title: string; items: string[]; level: 3 | 4 }) {
  return (
    <>
      <Heading level={props.level}>
        {props.title} ({n(props.items.length)})
      </Heading>
      {props.items.length === 0 ? (
        <p class="muted">{t("reports.gaps.none")}</p>
      ) : (
        <ul class="gaps">
          {props.items.map((item) => (
            <li key={item}>{item}</li>
          ))}
        </ul>
      )}
    </>
  );
}

/** A mean score (0-100) or gain, or a dash when there is none. */
const mean = (value: number | null) => (value === null ? t("reports.na") : formatNumber(value));

/**
 * The four levels of evaluation per hub, assessments per competency and method, whether the hubs'
 * figures compare, and the random audits (docs/evaluation.md). Figures carry the CSV's keys.
 */
function EvaluationView(props: { report: CoverageFigures; level: 2 | 3 }) {
  const r = props.report;
  const sub = (props.level + 1) as 3 | 4;
  const col = (key: string) => t(`reports.evaluation.col.${key}`);
  const assessed = [
    ...r.hubs.flatMap((h) => h.evaluation.learning.assessments.map((a) => ({ hub: h.hub, a }))),
    ...r.evaluation.assessments.map((a) => ({ hub: "", a })),
  ];
  return (
    <>
      <Heading level={props.level}>{t("reports.evaluation.title")}</Heading>
      <div class="table-wrap">
        <table class="cards report-table">
          <caption>{t("reports.evaluation.caption")}</caption>
          <thead>
            <tr>
              {[
                "hub",
                "responses",
                "reaction",
                "prePostAssessed",
                "pre",
                "post",
                "gain",
                "followedUp",
                "overdue",
                "applying",
              ].map((key) => (
                <th key={key} scope="col">
                  {col(key)}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {r.hubs.map((h) => {
              const e = h.evaluation;
              const p = e.learning.prePost;
              const b = e.behaviour;
              const k = (section: string, measure: string) => `${section}|${h.hub}||${measure}`;
              return (
                <tr key={h.hub}>
                  <Cell label={col("hub")}>{hubLabel(h)}</Cell>
                  <Cell label={col("responses")} numeric figure={k("level1_reaction", "responses")}>
                    {n(e.reaction.responses)}
                  </Cell>
                  <Cell label={col("reaction")} numeric figure={k("level1_reaction", "mean_score")}>
                    {mean(e.reaction.meanScore)}
                  </Cell>
                  <Cell label={col("prePostAssessed")} numeric figure={k("level2_learning", "assessed_pre_post")}>
                    {n(p.assessed)}
                  </Cell>
                  <Cell label={col("pre")} numeric figure={k("level2_learning", "pre_mean")}>
                    {mean(p.preMean)}
                  </Cell>
                  <Cell label={col("post")} numeric figure={k("level2_learning", "post_mean")}>
                    {mean(p.postMean)}
                  </Cell>
                  <Cell label={col("gain")} numeric figure={k("level2_learning", "gain")}>
                    {mean(p.gain)}
                  </Cell>
                  <Cell label={col("followedUp")} numeric figure={k("level3_behaviour", "followed_up")}>
                    {t("reports.evaluation.ofExpected", { done: n(b.followedUp), expected: n(b.expected) })}
                  </Cell>
                  <Cell label={col("overdue")} numeric figure={k("level3_behaviour", "overdue")}>
                    {n(b.overdue)}
                  </Cell>
                  <Cell label={col("applying")} numeric figure={k("level3_behaviour", "application_rate")}>
                    {rate(b.applicationRate)}
                  </Cell>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {assessed.length > 0 ? (
        <div class="table-wrap">
          <table class="cards report-table">
            <caption>{t("reports.evaluation.assessments")}</caption>
            <thead>
              <tr>
                {["hub", "competency", "method", "assessed", "demonstrated", "rate"].map((key) => (
                  <th key={key} scope="col">
                    {col(key)}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {assessed.map(({ hub, a }) => {
                const k = (measure: string) => `assessment|${hub}|${a.competency}/${a.method}|${measure}`;
                return (
                  <tr key={`${hub}/${a.competency}/${a.method}`}>
                    <Cell label={col("hub")}>{hub === "" ? t("reports.evaluation.allHubs") : hub}</Cell>
                    <Cell label={col("competency")}>{a.code}</Cell>
                    <Cell label={col("method")}>{t(`reports.evaluation.method.${a.method}`)}</Cell>
                    <Cell label={col("assessed")} numeric figure={k("assessed")}>
                      {n(a.assessed)}
                    </Cell>
                    <Cell label={col("demonstrated")} numeric figure={k("demonstrated")}>
                      {n(a.demonstrated)}
                    </Cell>
                    <Cell label={col("rate")} numeric figure={k("rate")}>
                      {rate(a.rate)}
                    </Cell>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      ) : null}
      <GapList
        level={sub}
        title={t("reports.evaluation.indicators")}
        items={r.hubs.flatMap((h) =>
          h.evaluation.results.map((x) =>
            t("reports.evaluation.indicator", {
              hub: h.hub,
              indicator: x.indicator,
              value: n(x.value),
              unit: x.unit,
              from: formatDay(x.from),
              to: formatDay(x.to),
              source: x.source,
            }),
          ),
        )}
      />
      <Heading level={sub}>{t("reports.evaluation.compare")}</Heading>
      <ul class="gaps">
        {r.evaluation.comparability.map((c) => {
          const level = t(`reports.evaluation.level.${c.level}`);
          const hubs = c.instruments.flatMap((i) => i.hubs);
          return (
            <li key={c.level}>
              {hubs.length < 2
                ? t("reports.evaluation.nothingToCompare", { level })
                : c.comparable
                  ? t("reports.evaluation.comparable", {
                      level,
                      hubs: hubs.join(", "),
                      instrument: c.instruments[0]?.instrument ?? "",
                    })
                  : t("reports.evaluation.notComparable", {
                      level,
                      uses: c.instruments
                        .map((i) =>
                          t("reports.evaluation.uses", {
                            hubs: i.hubs.join(", "),
                            instrument: i.instrument === "none" ? t("reports.evaluation.noInstrument") : i.instrument,
                          }),
                        )
                        .join("; "),
                    })}
            </li>
          );
        })}
      </ul>
      {r.audits.map((a) => (
        <div key={a.id}>
          <Heading level={sub}>
            {t("reports.randomAudit.title", { id: a.id, from: formatDay(a.period.from), to: formatDay(a.period.to) })}
          </Heading>
          <p class="muted">
            {a.seed && a.seedProblem === null
              ? t("reports.randomAudit.seed", { perHub: n(a.perHub), seq: String(a.seed.seq) })
              : (a.seedProblem ?? "")}
          </p>
          <div class="table-wrap">
            <table class="cards report-table">
              <caption>{t("reports.randomAudit.caption", { id: a.id })}</caption>
              <thead>
                <tr>
                  {["hub", "sampled", "audited", "confirmed", "disputed"].map((key) => (
                    <th key={key} scope="col">
                      {t(`reports.randomAudit.col.${key}`)}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {a.hubs.map((h) => (
                  <tr key={h.hub}>
                    <Cell label={t("reports.randomAudit.col.hub")}>{h.hub}</Cell>
                    {(["sampled", "audited", "confirmed", "disputed"] as const).map((m) => (
                      <Cell
                        key={m}
                        label={t(`reports.randomAudit.col.${m}`)}
                        numeric
                        figure={`audit:${a.id}|${h.hub}||${m}`}
                      >
                        {n(h[m])}
                      </Cell>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {a.rejectedFindings.length > 0 ? (
            <GapList
              level={4}
              title={t("reports.randomAudit.notCounted")}
              items={a.rejectedFindings.map((f) =>
                t("reports.randomAudit.rejected", {
                  evaluator: f.evaluator,
                  hub: f.hub,
                  delivery: f.delivery,
                  problem: f.problem,
                }),
              )}
            />
          ) : null}
        </div>
      ))}
    </>
  );
}

/** A coverage report: summary, hubs, charts, accreditations, gaps and what it was computed from. */
export function CoverageView(props: { report: CoverageFigures; level?: 2 | 3 }) {
  const r = props.report;
  const level = props.level ?? 2;
  const sub = (level + 1) as 3 | 4;
  const sum = (f: (h: Hub) => number) => r.hubs.reduce((s, h) => s + f(h), 0);
  const participants = sum((h) => h.deliveries.participants);
  const completion =
    participants === 0 ? null : Math.round((sum((h) => h.deliveries.completed) / participants) * 1000) / 1000;
  const codes = [...new Map(r.hubs.flatMap((h) => h.competencies.map((c) => [c.competency, c.code] as const)))];
  const col = (key: string) => t(`reports.col.${key}`);
  const g = r.gaps;
  return (
    <>
      <Heading level={level}>{t("reports.summary.title")}</Heading>
      <dl class="report-tiles">
        {(
          [
            ["hubs", n(r.hubs.length)],
            ["trainers", n(sum((h) => h.trainers))],
            ["deliveries", n(sum((h) => h.deliveries.count))],
            ["participants", n(participants)],
            ["completion", rate(completion)],
            ["noTrainerGaps", n(g.noActiveTrainer.length)],
          ] as const
        ).map(([key, value]) => (
          <div key={key}>
            <dt>{t(`reports.summary.${key}`)}</dt>
            <dd>{value}</dd>
          </div>
        ))}
      </dl>

      <Heading level={level}>{t("reports.hubs.title")}</Heading>
      <div class="table-wrap">
        <table class="cards report-table">
          <caption>{t("reports.hubs.caption")}</caption>
          <thead>
            <tr>
              {[
                "hub",
                "trainers",
                "release",
                "deliveries",
                "participants",
                "female",
                "male",
                "unspecified",
                "completed",
                "passed",
                "completionRate",
                "passRate",
              ].map((key) => (
                <th key={key} scope="col">
                  {col(key)}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {r.hubs.map((h) => {
              const d = h.deliveries;
              const k = (measure: string) => `deliveries|${h.hub}||${measure}`;
              return (
                <tr key={h.hub}>
                  <Cell label={col("hub")}>
                    {hubLabel(h)} <span class="muted">{h.hub}</span>
                  </Cell>
                  <Cell label={col("trainers")} numeric figure={`hub|${h.hub}||trainers`}>
                    {n(h.trainers)}
                  </Cell>
                  <Cell label={col("release")} figure={`hub|${h.hub}||adopted_release`}>
                    {h.adoptedRelease ?? t("reports.release.none")}
                    {h.behindLatest ? <span class="badge warn">{t("reports.release.behind")}</span> : null}
                  </Cell>
                  {(["count", "participants", "female", "male", "unspecified", "completed", "passed"] as const).map(
                    (m) => (
                      <Cell key={m} label={col(m === "count" ? "deliveries" : m)} numeric figure={k(m)}>
                        {n(d[m])}
                      </Cell>
                    ),
                  )}
                  <Cell label={col("completionRate")} numeric figure={k("completion_rate")}>
                    {rate(d.completionRate)}
                  </Cell>
                  <Cell label={col("passRate")} numeric figure={k("pass_rate")}>
                    {rate(d.passRate)}
                  </Cell>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>

      <Heading level={level}>{t("reports.charts.title")}</Heading>
      <div class="report-charts">
        {coverageCharts(r, chartWords()).map((spec) => (
          <BarChart key={spec.id} spec={spec} />
        ))}
      </div>

      <Heading level={level}>{t("reports.accreditations.title")}</Heading>
      {codes.length === 0 ? (
        <p class="muted">{t("reports.accreditations.none")}</p>
      ) : (
        <div class="table-wrap">
          <table class="cards report-table">
            <caption>{t("reports.accreditations.caption")}</caption>
            <thead>
              <tr>
                <th scope="col">{col("hub")}</th>
                {codes.map(([id, code]) => [
                  <th key={`${id}-a`} scope="col">
                    {t("reports.col.active", { code })}
                  </th>,
                  <th key={`${id}-e`} scope="col">
                    {t("reports.col.expiring", { code })}
                  </th>,
                ])}
              </tr>
            </thead>
            <tbody>
              {r.hubs.map((h) => (
                <tr key={h.hub}>
                  <Cell label={col("hub")}>{hubLabel(h)}</Cell>
                  {codes.map(([id, code]) => {
                    const c = h.competencies.find((x) => x.competency === id);
                    return [
                      <Cell
                        key={`${id}-a`}
                        label={t("reports.col.active", { code })}
                        numeric
                        figure={`competency|${h.hub}|${id}|active_trainers`}
                      >
                        {c ? n(c.activeTrainers) : t("reports.na")}
                      </Cell>,
                      <Cell
                        key={`${id}-e`}
                        label={t("reports.col.expiring", { code })}
                        numeric
                        figure={`competency|${h.hub}|${id}|expiring_within_90_days`}
                      >
                        {c ? n(c.expiringWithin90Days) : t("reports.na")}
                      </Cell>,
                    ];
                  })}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}

      <EvaluationView report={r} level={level} />

      <Heading level={level}>{t("reports.gaps.title")}</Heading>
      <GapList
        level={sub}
        title={t("reports.gaps.noActiveTrainer")}
        items={g.noActiveTrainer.map((x) =>
          t("reports.gap.noActiveTrainer", { code: x.code, region: countryName(x.region) }),
        )}
      />
      <GapList
        level={sub}
        title={t("reports.gaps.expiring")}
        items={g.expiring.map((x) =>
          t("reports.gap.expiring", { hub: x.hub, competency: x.competency, count: x.count }),
        )}
      />
      <GapList
        level={sub}
        title={t("reports.gaps.awaitingReview")}
        items={g.awaitingReview.map((x) => t("reports.gap.pair", { hub: x.hub, item: x.adaptation }))}
      />
      <GapList
        level={sub}
        title={t("reports.gaps.behindRelease")}
        items={g.behindRelease.map((x) =>
          t("reports.gap.behindRelease", {
            hub: x.hub,
            adopted: x.adopted ?? t("reports.gap.noRelease"),
            latest: x.latest,
          }),
        )}
      />
      <GapList
        level={sub}
        title={t("reports.gaps.neverDelivered")}
        items={g.neverDelivered.map((x) => t("reports.gap.pair", { hub: x.hub, item: x.module }))}
      />

      <Heading level={level}>{t("reports.sources.title")}</Heading>
      <p class="muted">
        {t("reports.sources.text", {
          seq: String(r.sources.charter.checkpoint.seq),
          releases: r.sources.releases.map((s) => s.checkpoint.version ?? "?").join(", ") || t("reports.release.none"),
          count: r.sources.documents.length,
        })}
      </p>
    </>
  );
}

/** A coverage report's one-line description: period, latest release, when computed. */
export function CoverageMeta(props: { report: CoverageFigures }) {
  const r = props.report;
  return (
    <p class="report-meta">
      {t("reports.meta.coverage", {
        from: formatDay(r.period.from),
        to: formatDay(r.period.to),
        release: r.latestRelease ?? t("reports.release.none"),
        at: formatTime(r.generatedAt),
      })}
      {r.publicOnly ? <span class="badge ok">{t("reports.meta.publicOnly")}</span> : null}
    </p>
  );
}

function measureName(c: FigureChangeRow): string {
  const key = `reports.measure.${c.measure}`;
  const known = t(key, { subject: c.subject });
  if (known !== key) return known;
  return `${c.measure.replace(/_/g, " ")}${c.subject ? ` · ${c.subject}` : ""}`;
}

function ChangeTable(props: { caption: string; figures: FigureChangeRow[]; period: string; against: string }) {
  const show = (c: FigureChangeRow, v: number | null) =>
    v === null ? t("reports.na") : c.measure.endsWith("_rate") ? rate(v) : n(v);
  const change = (c: FigureChangeRow) => {
    if (c.change === null) return t("reports.na");
    const sign = c.change > 0 ? "+" : "";
    return c.measure.endsWith("_rate")
      ? t("reports.change.points", {
          value: `${sign}${formatNumber(c.change * 100, { maximumFractionDigits: 1 })}`,
        })
      : `${sign}${n(c.change)}`;
  };
  const figure = t("reports.col.figure");
  const changeLabel = t("reports.col.change");
  return (
    <div class="table-wrap">
      <table class="cards report-table">
        <caption>{props.caption}</caption>
        <thead>
          <tr>
            <th scope="col">{figure}</th>
            <th scope="col">{props.period}</th>
            <th scope="col">{props.against}</th>
            <th scope="col">{changeLabel}</th>
          </tr>
        </thead>
        <tbody>
          {props.figures.map((c) => (
            <tr key={`${c.measure}|${c.subject}`}>
              <Cell label={figure}>{measureName(c)}</Cell>
              <Cell label={props.period} numeric>
                {show(c, c.current)}
              </Cell>
              <Cell label={props.against} numeric>
                {show(c, c.baseline)}
              </Cell>
              <Cell label={changeLabel} numeric>
                {change(c)}
              </Cell>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** A baseline comparison: the federation's figures, the chart, each hub's figures, the current period in full. */
export function BaselineView(props: { report: BaselineFigures }) {
  const b = props.report;
  const period = b.period.label;
  const against = b.against.label;
  const nothing = (c: FigureChangeRow) =>
    (c.current === 0 || c.current === null) && (c.baseline === 0 || c.baseline === null);
  const quiet = b.changes.hubs.filter((h) => h.figures.every(nothing));
  return (
    <>
      <h2>{t("reports.baseline.federation")}</h2>
      <ChangeTable
        caption={t("reports.baseline.caption.federation", { period, against })}
        figures={b.changes.federation}
        period={period}
        against={against}
      />
      <BarChart spec={baselineChart(b, chartWords())} />
      {b.changes.hubs
        .filter((h) => !quiet.includes(h))
        .map((h) => (
          <section key={h.hub} aria-labelledby={`baseline-${h.hub}`}>
            <h2 id={`baseline-${h.hub}`}>{hubLabel(h)}</h2>
            <ChangeTable
              caption={t("reports.baseline.caption.hub", { hub: hubLabel(h), period, against })}
              figures={h.figures.filter((c) => !nothing(c))}
              period={period}
              against={against}
            />
          </section>
        ))}
      {quiet.length > 0 ? (
        <p class="muted">{t("reports.baseline.quiet", { hubs: quiet.map(hubLabel).join(", ") })}</p>
      ) : null}
      <h2>{t("reports.baseline.current", { period })}</h2>
      <CoverageView report={b.current} level={3} />
    </>
  );
}

export function BaselineMeta(props: { report: BaselineFigures }) {
  const b = props.report;
  return (
    <p class="report-meta">
      {t("reports.meta.baseline", {
        period: b.period.label,
        from: formatDay(b.period.from),
        to: formatDay(b.period.to),
        against: b.against.label,
        againstFrom: formatDay(b.against.from),
        againstTo: formatDay(b.against.to),
        at: formatTime(b.generatedAt),
      })}
      {b.current.publicOnly ? <span class="badge ok">{t("reports.meta.publicOnly")}</span> : null}
    </p>
  );
}
