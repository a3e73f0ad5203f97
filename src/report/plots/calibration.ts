import type { TopLevelSpec } from "vega-lite";
import type { ReportCalibrationBin } from "../types.js";
import { BASE_CONFIG, placeholderSpec, round } from "./common.js";

/**
 * A reliability diagram for a 0/1 target (scikit-learn's calibration_curve, ten equal-width bins): in each bin of
 * predicted P(y = 1), the observed frequency of y = 1 against the mean prediction, sized by the rows in the bin; the
 * dashed diagonal is perfect calibration.
 */
export function calibrationSpec(bins: readonly ReportCalibrationBin[], yName = "y"): TopLevelSpec {
  const title = "Calibration";
  if (bins.length === 0) return placeholderSpec(title, "No held-out rows to score", 420, 420);
  const rows = bins.map((b) => ({
    predicted: round(b.meanPredicted, 4),
    observed: round(b.observedRate, 4),
    rows: b.rows,
    bin: `${b.lower.toFixed(1)}–${b.upper.toFixed(1)}`,
  }));
  const total = bins.reduce((n, b) => n + b.rows, 0);
  const ece = bins.reduce((e, b) => e + (b.rows / total) * Math.abs(b.meanPredicted - b.observedRate), 0);
  const axis = { domain: [0, 1], nice: false };
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: {
      text: title,
      subtitle: `${total} held-out rows in ${bins.length} bins of predicted P(${yName} = 1) · expected calibration error ${ece.toFixed(3)}`,
    },
    width: 420,
    height: 420,
    layer: [
      {
        data: { values: [{ a: 0 }, { a: 1 }] },
        mark: { type: "line", color: "#444444", strokeDash: [5, 4], strokeWidth: 1.2 },
        encoding: { x: { field: "a", type: "quantitative", scale: axis }, y: { field: "a", type: "quantitative", scale: axis } },
      },
      {
        data: { values: rows },
        layer: [
          {
            mark: { type: "line", color: "#1f77b4", strokeWidth: 1.5 },
            encoding: {
              x: { field: "predicted", type: "quantitative", title: `mean predicted P(${yName} = 1)`, scale: axis },
              y: { field: "observed", type: "quantitative", title: `observed frequency of ${yName} = 1`, scale: axis },
            },
          },
          {
            mark: { type: "circle", color: "#1f77b4", fillOpacity: 0.85 },
            encoding: {
              x: { field: "predicted", type: "quantitative", scale: axis },
              y: { field: "observed", type: "quantitative", scale: axis },
              // Not from zero: the legend's smallest entry was a "0 rows" circle no bin can have.
              size: {
                field: "rows",
                type: "quantitative",
                title: "rows",
                scale: { zero: false },
                legend: { orient: "bottom-right", fillColor: "white", padding: 6 },
              },
            },
          },
        ],
      },
    ],
    config: BASE_CONFIG,
  };
}
