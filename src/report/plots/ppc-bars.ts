import type { TopLevelSpec } from "vega-lite";
import type { ReportPpc } from "../types.js";
import { BASE_CONFIG, placeholderSpec, round } from "./common.js";

/** Most distinct values drawn as bars; beyond them the largest values share the last bar. */
const MAX_BARS = 60;
/** The interval drawn over the replicated frequencies (bayesplot's ppc_bars default, prob = 0.9). */
const INTERVAL = 0.9;

/**
 * The posterior predictive check of a discrete target, as bayesplot's ppc_bars: for each value (an integer, or 0 and
 * 1), the observed frequency as a bar and the replicated datasets' frequencies as their median with a 90 % interval.
 */
export function ppcBarsSpec(ppc: ReportPpc, yName = "y"): TopLevelSpec {
  const title = "Posterior predictive check";
  const observed = ppc.observed;
  const replicated = ppc.replicated.filter((r) => r.length > 0);
  if (observed.length === 0) return placeholderSpec(title, "No observed data");
  let lo = Infinity;
  let hi = -Infinity;
  // The range covers the replicated values too, at both ends: a count the model predicts but the data never show
  // (zeros where the data have none) is exactly what the check is for, and must get its bar.
  for (const xs of [observed, ...replicated])
    for (const v of xs)
      if (Number.isFinite(v)) {
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
  hi = Math.min(hi, lo + MAX_BARS - 1);
  const values = Array.from({ length: hi - lo + 1 }, (_, k) => lo + k);
  const frequencies = (xs: Float64Array): Float64Array => {
    const f = new Float64Array(values.length);
    for (const v of xs) if (v >= lo) f[Math.min(values.length - 1, v - lo)] += 1 / xs.length;
    return f;
  };
  const obs = frequencies(observed);
  const reps = replicated.map(frequencies);
  const rows = values.map((v, k) => {
    const across = Float64Array.from(reps, (f) => f[k]).sort();
    const q = (p: number): number => (across.length === 0 ? Number.NaN : across[Math.min(across.length - 1, Math.floor(p * across.length))]);
    return {
      value: k === values.length - 1 && values.length === MAX_BARS ? `≥ ${v}` : String(v),
      order: k,
      observed: round(obs[k], 4),
      median: round(q(0.5), 4),
      lower: round(q((1 - INTERVAL) / 2), 4),
      upper: round(q(1 - (1 - INTERVAL) / 2), 4),
    };
  });
  const x = { field: "value", type: "ordinal" as const, title: yName, sort: { field: "order" }, axis: { labelAngle: 0, labelOverlap: "parity" as const } };
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: {
      text: title,
      subtitle: `${observed.length} observed values · ${replicated.length} replicated datasets · bars observed, points the replicates' median with a ${INTERVAL * 100}% interval`,
    },
    width: Math.max(420, Math.min(720, 24 * values.length)),
    height: 320,
    data: { values: rows },
    layer: [
      { mark: { type: "bar", color: "#9ecae1" }, encoding: { x, y: { field: "observed", type: "quantitative", title: "frequency" } } },
      ...(replicated.length > 0
        ? [
            {
              mark: { type: "rule" as const, color: "#08306b", strokeWidth: 1.5 },
              encoding: { x, y: { field: "lower", type: "quantitative" as const }, y2: { field: "upper" } },
            },
            {
              mark: { type: "point" as const, color: "#08306b", filled: true, size: 30 },
              encoding: { x, y: { field: "median", type: "quantitative" as const } },
            },
          ]
        : []),
    ],
    config: BASE_CONFIG,
  };
}
