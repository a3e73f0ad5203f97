// Scoring held-out rows with posterior-predictive samples: the seed's MAPE (of the mean of 100 samples per row),
// RMSE, the empirical coverage of 50 / 90 / 95 % HDIs, and the mean CRPS.
import { hdiSorted } from "../diagnostics/index.js";
import type { Instance, Predictor } from "../predict/index.js";

/** The seed's choice: 100 predictive samples per row for the point prediction and MAPE. */
export const MAPE_SAMPLES = 100;
/** More samples for interval coverage and CRPS, so that they measure the model and not the sampling noise. */
export const SCORE_SAMPLES = 1000;
/** sklearn's mean_absolute_percentage_error floor for |y|. */
const MAPE_EPS = 2.220446049250313e-16;

export interface Evaluation {
  metrics: Record<string, number>;
  /** Per test row: mean prediction and 90% HDI (for plots). */
  mean: Float64Array;
  lower: Float64Array;
  upper: Float64Array;
}

/** CRPS of an ensemble: E|X − y| − ½ E|X − X'|, exact over the sample (sorted form, O(n log n)). */
export function crpsFromSamples(samples: Float64Array, y: number): number {
  return crpsFromSorted(Float64Array.from(samples).sort(), y);
}

export function crpsFromSorted(s: Float64Array, y: number): number {
  const n = s.length;
  let absErr = 0;
  let spread = 0;
  for (let i = 0; i < n; i++) {
    absErr += Math.abs(s[i] - y);
    spread += (2 * i - n + 1) * s[i];
  }
  return absErr / n - spread / (n * n);
}

export function evaluatePredictions(predictor: Predictor, instances: Instance[], actual: Float64Array, seed: number): Evaluation {
  const n = instances.length;
  const mean = new Float64Array(n);
  const lower = new Float64Array(n);
  const upper = new Float64Array(n);
  if (n === 0) return { metrics: {}, mean, lower, upper };
  const point = predictor.sample(instances, MAPE_SAMPLES, seed);
  const scoring = predictor.sample(instances, SCORE_SAMPLES, seed + 1);
  let ape = 0;
  let se = 0;
  let crps = 0;
  const covered = { 50: 0, 90: 0, 95: 0 } as Record<number, number>;
  for (let r = 0; r < n; r++) {
    const p = point[r];
    let m = 0;
    for (let s = 0; s < p.length; s++) m += p[s];
    m /= p.length;
    mean[r] = m;
    const y = actual[r];
    ape += Math.abs(y - m) / Math.max(Math.abs(y), MAPE_EPS);
    se += (y - m) * (y - m);
    const sc = scoring[r].sort();
    for (const level of [50, 90, 95]) {
      const [lo, hi] = hdiSorted(sc, level / 100);
      if (y >= lo && y <= hi) covered[level]++;
      if (level === 90) {
        lower[r] = lo;
        upper[r] = hi;
      }
    }
    crps += crpsFromSorted(sc, y);
  }
  return {
    metrics: {
      mape: ape / n,
      rmse: Math.sqrt(se / n),
      coverage_50: covered[50] / n,
      coverage_90: covered[90] / n,
      coverage_95: covered[95] / n,
      crps: crps / n,
      test_rows: n,
    },
    mean,
    lower,
    upper,
  };
}
