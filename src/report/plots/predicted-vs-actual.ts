import type { TopLevelSpec } from "vega-lite";
import type { ReportPredictions } from "../types.js";
import { BASE_CONFIG, placeholderSpec, round } from "./common.js";

/** Percentage label of an interval probability: 0.95 → "95", 0.945 → "94.5". */
export function percentLabel(p: number): string {
  return String(Number((p * 100).toPrecision(4)));
}

/**
 * Held-out rows: predictive mean against the actual value, with the HDI as a vertical bar and the y = x line.
 * Points whose interval misses the actual value are drawn in a second colour.
 */
export function predictedVsActualSpec(predictions: ReportPredictions, yName = "y"): TopLevelSpec {
  const title = "Predicted vs actual";
  const pct = percentLabel(predictions.hdiProb);
  const n = Math.min(predictions.actual.length, predictions.mean.length, predictions.lower.length, predictions.upper.length);
  const inside = `actual inside ${pct}% HDI`;
  const outside = `actual outside ${pct}% HDI`;
  const rows: { actual: number; mean: number; lower: number; upper: number; covered: string }[] = [];
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < n; i++) {
    const a = predictions.actual[i];
    const m = predictions.mean[i];
    const l = predictions.lower[i];
    const u = predictions.upper[i];
    if (![a, m, l, u].every(Number.isFinite)) continue;
    rows.push({ actual: round(a), mean: round(m), lower: round(l), upper: round(u), covered: a >= l && a <= u ? inside : outside });
    lo = Math.min(lo, a, l);
    hi = Math.max(hi, a, u);
  }
  if (rows.length === 0) return placeholderSpec(title, "No held-out rows to score", 420, 420);
  const coverage = rows.filter((r) => r.covered === inside).length / rows.length;
  const pad = (hi - lo) * 0.03 || 1;
  const domain = [round(lo - pad, 4), round(hi + pad, 4)];
  const x = { field: "actual", type: "quantitative" as const, title: `actual ${yName}`, scale: { domain, nice: false } };
  const color = {
    field: "covered",
    type: "nominal" as const,
    title: null,
    scale: { domain: [inside, outside], range: ["#1f77b4", "#d62728"] },
    legend: { orient: "top-left" as const, fillColor: "white", padding: 6, strokeColor: "#cccccc" },
  };
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: {
      text: title,
      subtitle: `${rows.length} held-out rows · predictive mean and ${pct}% HDI · empirical coverage ${(coverage * 100).toFixed(1)}%`,
    },
    width: 420,
    height: 420,
    layer: [
      {
        data: { values: [{ a: domain[0] }, { a: domain[1] }] },
        mark: { type: "line", color: "#444444", strokeDash: [5, 4], strokeWidth: 1.2 },
        encoding: {
          x: { field: "a", type: "quantitative", scale: { domain, nice: false } },
          y: { field: "a", type: "quantitative", scale: { domain, nice: false } },
        },
      },
      {
        data: { values: rows },
        layer: [
          {
            mark: { type: "rule", strokeWidth: 1, strokeOpacity: 0.3 },
            encoding: {
              x,
              y: { field: "lower", type: "quantitative", title: `predicted ${yName}`, scale: { domain, nice: false } },
              y2: { field: "upper" },
              color,
            },
          },
          {
            mark: { type: "circle", size: 16, fillOpacity: 0.85 },
            encoding: {
              x,
              y: { field: "mean", type: "quantitative", title: `predicted ${yName}`, scale: { domain, nice: false } },
              color,
            },
          },
        ],
      },
    ],
    config: BASE_CONFIG,
  };
}
