import type { TopLevelSpec } from "vega-lite";
import type { ReportLoo } from "../types.js";
import { BASE_CONFIG, placeholderSpec, round } from "./common.js";

/** Pareto k̂ thresholds drawn on the plot: above 0.5 the PSIS estimate's variance grows, above 0.7 it is unreliable
 *  (Vehtari, Gelman & Gabry 2017, §2.1; loo's pareto_k_table). */
const K_GOOD = 0.5;
const K_BAD = 0.7;

/** Most rows above 0.7 named in the subtitle. */
const MAX_ROWS_NAMED = 10;

/** Largest number of points drawn; beyond it every observation above 0.5 is kept and the rest thinned evenly. */
const MAX_POINTS = 4000;

/**
 * PSIS-LOO's Pareto k̂ of each training observation (as loo's plot.psis_loo), with the 0.5 and 0.7 thresholds dashed:
 * points above 0.7 are the observations whose leave-one-out predictive density the estimate cannot be trusted for —
 * usually outliers or influential rows.
 */
export function paretoKSpec(loo: ReportLoo): TopLevelSpec {
  const title = "PSIS-LOO diagnostics";
  const k = loo.paretoK;
  if (k.length === 0) return placeholderSpec(title, "No training rows scored", 640, 260);
  const stride = Math.max(1, Math.ceil(k.length / MAX_POINTS));
  const points: { row: number; k: number; level: string }[] = [];
  let above05 = 0;
  let above07 = 0;
  // The row a reader can look up: its number in the data (1 = the first row after the header) when known.
  const rowOf = (i: number) => (loo.dataRows !== undefined ? loo.dataRows[i] + 1 : i + 1);
  const worst: number[] = [];
  for (let i = 0; i < k.length; i++) {
    if (k[i] > K_BAD) {
      above07++;
      if (worst.length < MAX_ROWS_NAMED) worst.push(rowOf(i));
    } else if (k[i] > K_GOOD) above05++;
    if (k[i] > K_GOOD || i % stride === 0)
      points.push({ row: rowOf(i), k: round(k[i], 3), level: k[i] > K_BAD ? "k̂ > 0.7" : k[i] > K_GOOD ? "0.5 < k̂ ≤ 0.7" : "k̂ ≤ 0.5" });
  }
  const named =
    above07 === 0
      ? ""
      : ` (${loo.dataRows !== undefined ? "data" : "training"} row${above07 === 1 ? "" : "s"} ${worst.join(", ")}${above07 > worst.length ? ", …" : ""})`;
  const subtitle = `${k.length} training rows · elpd_loo ${loo.elpd.toFixed(1)} (SE ${loo.se.toFixed(1)}) · p_loo ${loo.pLoo.toFixed(1)} · ${above05} with 0.5 < k̂ ≤ 0.7, ${above07} above 0.7${named}${stride > 1 ? ` · every ${stride}th row below 0.5 shown` : ""}`;
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: { text: title, subtitle },
    width: 640,
    height: 260,
    layer: [
      {
        data: { values: [{ k: K_GOOD }, { k: K_BAD }] },
        mark: { type: "rule", color: "#c5221f", strokeDash: [5, 4], strokeWidth: 1 },
        encoding: { y: { field: "k", type: "quantitative" } },
      },
      {
        data: { values: points },
        mark: { type: "point", shape: "cross", size: 30, filled: true },
        encoding: {
          x: {
            field: "row",
            type: "quantitative",
            title: loo.dataRows !== undefined ? "row of the data (1 = first row after the header)" : "training row",
            scale: { nice: false },
          },
          y: { field: "k", type: "quantitative", title: "Pareto k̂" },
          color: {
            field: "level",
            type: "nominal",
            title: null,
            scale: { domain: ["k̂ ≤ 0.5", "0.5 < k̂ ≤ 0.7", "k̂ > 0.7"], range: ["#1f77b4", "#e8a317", "#c5221f"] },
            legend: { orient: "right" },
          },
        },
      },
    ],
    config: BASE_CONFIG,
  };
}
