import type { TopLevelSpec } from "vega-lite";
import type { ReportPpc } from "../types.js";
import { commonGrid, finite, gridPoint, kde, silvermanBandwidth } from "../stats.js";
import { BASE_CONFIG, placeholderSpec, round } from "./common.js";

export interface PpcPlotOptions {
  /** Most replicated datasets drawn. Default 100. */
  maxReplicates?: number;
  /** Grid points per density curve. Default 128. */
  gridPoints?: number;
}

const OBSERVED = "observed";
const REPLICATED = "posterior predictive";
const MEAN = "posterior predictive mean";

/**
 * az.plot_ppc: the density of the observed y (black), the density of each replicated dataset (thin blue lines) and
 * their pointwise mean (dashed orange), on one grid.
 */
export function ppcPlotSpec(ppc: ReportPpc, yName = "y", options: PpcPlotOptions = {}): TopLevelSpec {
  const title = "Posterior predictive check";
  const observed = finite(ppc.observed);
  const replicated = ppc.replicated
    .slice(0, options.maxReplicates ?? 100)
    .map(finite)
    .filter((r) => r.length > 1);
  if (observed.length < 2 && replicated.length === 0) return placeholderSpec(title, "No observed or replicated data");
  const samples = [observed, ...replicated];
  const bws = samples.map((s) => silvermanBandwidth(s));
  const grid = commonGrid(samples, bws, options.gridPoints ?? 128);
  if (!grid) return placeholderSpec(title, "No observed or replicated data");

  type Row = { series: string; value: number; density: number };
  // All replicated curves form one path, broken by a null between curves: one mark instead of one per replicate,
  // which keeps Vega's work (and the SVG) small. "i" keeps the points in this order.
  const repRows: { i: number; series: string; value: number; density: number | null }[] = [];
  const meanRows: Row[] = [];
  const obsRows: Row[] = [];
  const mean = new Float64Array(grid.n);
  replicated.forEach((r, k) => {
    const d = kde(r, grid, bws[k + 1]);
    for (let i = 0; i < grid.n; i++) {
      mean[i] += d[i] / replicated.length;
      repRows.push({ i: repRows.length, series: REPLICATED, value: round(gridPoint(grid, i)), density: round(d[i], 4) });
    }
    repRows.push({ i: repRows.length, series: REPLICATED, value: grid.hi, density: null });
  });
  if (replicated.length > 0) {
    for (let i = 0; i < grid.n; i++) meanRows.push({ series: MEAN, value: round(gridPoint(grid, i)), density: round(mean[i], 4) });
  }
  if (observed.length > 1) {
    const d = kde(observed, grid, bws[0]);
    for (let i = 0; i < grid.n; i++) obsRows.push({ series: OBSERVED, value: round(gridPoint(grid, i)), density: round(d[i], 4) });
  }
  // Only the series that are drawn appear in the legend.
  const series = [
    { name: OBSERVED, color: "#000000", dash: [] as number[], shown: obsRows.length > 0 },
    { name: REPLICATED, color: "#1f77b4", dash: [] as number[], shown: replicated.length > 0 },
    { name: MEAN, color: "#ff7f0e", dash: [6, 4], shown: replicated.length > 0 },
  ].filter((s) => s.shown);
  const domain = series.map((s) => s.name);
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: {
      text: title,
      subtitle: `${observed.length} observed values · ${replicated.length} replicated datasets`,
    },
    width: 480,
    height: 320,
    encoding: {
      x: { field: "value", type: "quantitative", title: yName, scale: { zero: false, nice: false } },
      y: { field: "density", type: "quantitative", title: "density" },
      color: {
        field: "series",
        type: "nominal",
        title: null,
        scale: { domain, range: series.map((s) => s.color) },
        legend: { orient: "right", symbolType: "stroke", symbolStrokeWidth: 2 },
      },
      strokeDash: {
        field: "series",
        type: "nominal",
        title: null,
        scale: { domain, range: series.map((s) => s.dash) },
      },
    },
    // One layer per series, in drawing order: replicated lines underneath, the mean and the observed on top.
    layer: [
      {
        data: { values: repRows },
        mark: { type: "line", strokeWidth: 0.7, strokeOpacity: 0.5 },
        encoding: { order: { field: "i", type: "quantitative" } },
      },
      {
        data: { values: obsRows },
        mark: { type: "line", strokeWidth: 2 },
      },
      {
        data: { values: meanRows },
        mark: { type: "line", strokeWidth: 2 },
      },
    ],
    config: BASE_CONFIG,
  };
}
