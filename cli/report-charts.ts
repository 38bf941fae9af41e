/**
 * The charts of a report, as data: which charts a coverage or baseline report has (their bars, keyed
 * as the CSV keys figures) and where each bar and label goes. The HTML page (report-html.ts) turns
 * a layout into SVG text; the web console (web/src/ui/report-parts.tsx) into SVG elements, in the
 * person's language. Pure and import-free but for types, so the console bundles it for the browser.
 */
import type { BaselineFigures, CoverageFigures } from "./report-rows.js";

export const PALETTE = ["#1f6f8b", "#b35c00", "#3f7a24", "#8f4d9e", "#c0392b", "#2c3e50", "#8a6500", "#11806a"];
export const GENDER_COLOURS = { female: "#8f4d9e", male: "#1f6f8b", unspecified: "#6b7280" } as const;
/** The baseline period's bars: a grey as dark as text needs (4.5:1 on white). */
export const BASELINE_COLOUR = "#6b7580";

export interface ChartSeries {
  /** What bars name as their series. */
  id: string;
  /** Shown in the legend. */
  name: string;
  color: string;
}

export interface ChartBar {
  series: string;
  value: number;
  /** The figure's key, as the CSV's long form has it (`chart:section|hub|subject|measure`). */
  key: string;
}

export interface BarChartSpec {
  /** Stable name of the chart (for element ids). */
  id: string;
  title: string;
  rows: Array<{ label: string; bars: ChartBar[] }>;
  series: ChartSeries[];
  /** One bar per row, its segments the series; else one bar per series (grouped). */
  stacked?: boolean;
  /** Values are rates (0..1): the scale is 0..100%. */
  rates?: boolean;
}

export interface PlacedBar extends ChartBar {
  x: number;
  y: number;
  width: number;
  height: number;
  color: string;
  /** The series' place in the legend (the console draws a pattern per place: not colour alone). */
  seriesIndex: number;
  /** Where its value is written, after the bar (grouped charts only). */
  valueAt?: { x: number; y: number };
}

export interface ChartLayout {
  width: number;
  height: number;
  labelWidth: number;
  /** Width of the plot: a bar of value `max` is this long. */
  plot: number;
  max: number;
  rows: Array<{
    label: string;
    /** The label's anchor (its end, at the plot's start). */
    labelAt: { x: number; y: number };
    bars: PlacedBar[];
    /** Stacked charts: the row's total, written after the bar. */
    total?: { x: number; y: number; value: number };
  }>;
  axis: { x: number; y1: number; y2: number; labelY: number };
}

/** Where everything of a horizontal bar chart goes (grouped or stacked), on a `width`-wide canvas. */
export function layoutBarChart(spec: BarChartSpec, width = 720): ChartLayout {
  const { rows, series } = spec;
  const labelWidth = 150;
  const plot = width - labelWidth - 60;
  const barHeight = 14;
  const perRow = spec.stacked ? 1 : Math.max(1, series.length);
  const rowHeight = perRow * (barHeight + 2) + 10;
  const totals = rows.map((r) =>
    spec.stacked ? r.bars.reduce((s, b) => s + b.value, 0) : Math.max(0, ...r.bars.map((b) => b.value)),
  );
  const max = spec.rates ? 1 : Math.max(1, ...totals);
  const height = rows.length * rowHeight + 24;
  return {
    width,
    height,
    labelWidth,
    plot,
    max,
    axis: { x: labelWidth, y1: 4, y2: height - 16, labelY: height - 4 },
    rows: rows.map((row, i) => {
      const y0 = 8 + i * rowHeight;
      let x = labelWidth;
      const bars = row.bars.map((bar, j): PlacedBar => {
        const w = (bar.value / max) * plot;
        const index = series.findIndex((s) => s.id === bar.series);
        const seriesIndex = index >= 0 ? index : j;
        const color = series[index]?.color ?? (PALETTE[j % PALETTE.length] as string);
        const y = spec.stacked ? y0 : y0 + j * (barHeight + 2);
        const bx = spec.stacked ? x : labelWidth;
        if (spec.stacked) x += w;
        return {
          ...bar,
          x: bx,
          y,
          width: w,
          height: barHeight,
          color,
          seriesIndex,
          ...(spec.stacked ? {} : { valueAt: { x: bx + w + 4, y: y + barHeight - 3 } }),
        };
      });
      return {
        label: row.label,
        labelAt: { x: labelWidth - 6, y: y0 + (perRow * (barHeight + 2)) / 2 + 4 },
        bars,
        ...(spec.stacked ? { total: { x: x + 4, y: y0 + barHeight - 3, value: totals[i] as number } } : {}),
      };
    }),
  };
}

/** The words on the charts, in the reader's language (English on the HTML page). */
export interface ChartWords {
  competencies: string;
  gender: string;
  rates: string;
  participantsBoth: string;
  female: string;
  male: string;
  unspecified: string;
  completed: string;
  passed: string;
}

export const ENGLISH_CHART_WORDS: ChartWords = {
  competencies: "Active accredited trainers per competency",
  gender: "Participants in the period, by gender",
  rates: "Completion and pass rates in the period",
  participantsBoth: "Participants per hub, both periods",
  female: "female",
  male: "male",
  unspecified: "unspecified",
  completed: "completed",
  passed: "passed",
};

const GENDERS = ["female", "male", "unspecified"] as const;

/** A coverage report's three charts: active trainers per competency, participants by gender, completion and pass rates. */
export function coverageCharts(r: CoverageFigures, words: ChartWords = ENGLISH_CHART_WORDS): BarChartSpec[] {
  const codes = [
    ...new Map(r.hubs.flatMap((h) => h.competencies.map((c) => [c.competency, c.code] as const))).values(),
  ];
  const label = (h: CoverageFigures["hubs"][number]) => h.name || h.hub;
  return [
    {
      id: "competencies",
      title: words.competencies,
      series: codes.map((code, i) => ({ id: code, name: code, color: PALETTE[i % PALETTE.length] as string })),
      rows: r.hubs.map((h) => ({
        label: label(h),
        bars: h.competencies.map((c) => ({
          series: c.code,
          value: c.activeTrainers,
          key: `chart:competency|${h.hub}|${c.competency}|active_trainers`,
        })),
      })),
    },
    {
      id: "gender",
      title: words.gender,
      stacked: true,
      series: GENDERS.map((g) => ({ id: g, name: words[g], color: GENDER_COLOURS[g] })),
      rows: r.hubs.map((h) => ({
        label: label(h),
        bars: GENDERS.map((g) => ({ series: g, value: h.deliveries[g], key: `chart:deliveries|${h.hub}||${g}` })),
      })),
    },
    {
      id: "rates",
      title: words.rates,
      rates: true,
      series: [
        { id: "completed", name: words.completed, color: PALETTE[2] as string },
        { id: "passed", name: words.passed, color: PALETTE[0] as string },
      ],
      rows: r.hubs.map((h) => ({
        label: label(h),
        bars: [
          {
            series: "completed",
            value: h.deliveries.completionRate ?? 0,
            key: `chart:deliveries|${h.hub}||completion_rate`,
          },
          { series: "passed", value: h.deliveries.passRate ?? 0, key: `chart:deliveries|${h.hub}||pass_rate` },
        ],
      })),
    },
  ];
}

/** A baseline's own chart: participants per hub in both periods (its current period's coverage charts besides). */
export function baselineChart(b: BaselineFigures, words: ChartWords = ENGLISH_CHART_WORDS): BarChartSpec {
  return {
    id: "participants-both",
    title: words.participantsBoth,
    series: [
      { id: "current", name: b.period.label, color: PALETTE[0] as string },
      { id: "baseline", name: b.against.label, color: BASELINE_COLOUR },
    ],
    rows: b.changes.hubs.map((h) => {
      const p = h.figures.find((f) => f.measure === "participants");
      return {
        label: h.name || h.hub,
        bars: [
          { series: "current", value: p?.current ?? 0, key: `chart:hub|${h.hub}||participants|current` },
          { series: "baseline", value: p?.baseline ?? 0, key: `chart:hub|${h.hub}||participants|baseline` },
        ],
      };
    }),
  };
}
