// How well a model predicts observed values, from its pointwise log-likelihood: the log predictive density of
// held-out rows, log mean_s p(y_i | x_i, θ_s), and PSIS-LOO of the rows it was trained on (Vehtari, Gelman & Gabry
// 2017). Both use the first `draws` posterior draws of the serving order — a random subset of all of them.
import { estimateWithSe, looByColumns, looCompare, type LooResult } from "../diagnostics/index.js";
import type { Instance } from "./instance-check.js";
import type { Predictor } from "./predictor.js";

/**
 * Rows to score, taken one at a time: an array of instances, or a table's rows made as they are asked for (a million
 * rows held as objects at once would take hundreds of MB).
 */
export interface InstanceRows {
  readonly length: number;
  at(index: number): Instance | undefined;
}

/** Posterior draws a score is computed from: plenty for an elpd (loo's examples use 1,000 to 4,000). */
export const SCORE_DRAWS = 2000;

export interface PointwiseScore {
  /** Per row: log mean_s p(y_i | x_i, θ_s). */
  pointwise: Float64Array;
  /** Their sum, and its SE (√(N · var)). */
  elpd: number;
  se: number;
}

/** log mean exp of v[0..n). */
function logMeanExp(v: Float64Array): number {
  let max = Number.NEGATIVE_INFINITY;
  for (const x of v) if (x > max) max = x;
  if (!Number.isFinite(max)) return max;
  let s = 0;
  for (const x of v) s += Math.exp(x - max);
  return max + Math.log(s / v.length);
}

/** The log pointwise predictive density of rows the model did not see. */
export function heldOutLpd(predictor: Predictor, instances: InstanceRows, ys: ArrayLike<number>, draws = SCORE_DRAWS): PointwiseScore {
  const pointwise = new Float64Array(instances.length);
  const column = new Float64Array(Math.min(draws, predictor.drawCount));
  for (let i = 0; i < instances.length; i++) pointwise[i] = logMeanExp(predictor.logLik(instances.at(i)!, ys[i], column.length, column));
  const { estimate, se } = estimateWithSe(pointwise);
  return { pointwise, elpd: estimate, se };
}

/** PSIS-LOO of the rows the model was trained on. */
export function looOfRows(predictor: Predictor, instances: InstanceRows, ys: ArrayLike<number>, draws = SCORE_DRAWS): LooResult {
  const n = Math.min(draws, predictor.drawCount);
  return looByColumns(n, instances.length, (i, column) => {
    predictor.logLik(instances.at(i)!, ys[i], n, column);
  });
}

/** b minus a over the same rows: the elpd difference and its SE (loo_compare's elpd_diff and se_diff). */
export function compareScores(a: PointwiseScore, b: PointwiseScore): { elpdDiff: number; seDiff: number } {
  return looCompare(a.pointwise, b.pointwise);
}
