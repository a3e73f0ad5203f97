// The predictive scores training records beside the per-kind metrics: the held-out rows' log predictive density and
// PSIS-LOO of the training rows (with how many observations have Pareto k̂ above 0.7), from the pointwise
// log-likelihood (src/predict/scores.ts).
//
// The held-out elpd is exact over every held-out row whatever their number: it is accumulated a row at a time (one
// log-likelihood column of `SCORE_DRAWS` values, and a number per row), never a rows × draws matrix. PSIS-LOO is given
// the training rows it is to run on: all of them, or a random sample (row-sample.ts), which is then scaled to all the
// training rows by Magnusson et al.'s (2019) simple random sampling estimator (diagnostics/loo.ts `subsampleLoo`).
import { type LooApproximation, subsampleLoo } from "../diagnostics/index.js";
import { heldOutLpd, looOfRows, SCORE_DRAWS, type InstanceRows, type Predictor } from "../predict/index.js";

/** The scores this module adds to every kind's metrics (a gate may bound them too). */
export const SCORE_METRICS = ["elpd_holdout", "elpd_loo", "p_loo", "loo_pareto_k_above_0_7"] as const;

/** PSIS-LOO costs rows × draws log-likelihood evaluations and a sort per row: above this many, it is left out. */
export const MAX_LOO_EVALUATIONS = 40_000_000;

/** The scores as metrics, and PSIS-LOO's estimates with each (sampled) training row's Pareto k̂ (for the report), if computed. */
export interface PredictiveScores {
  metrics: Record<string, number>;
  loo: {
    elpd: number;
    se: number;
    pLoo: number;
    paretoK: Float64Array;
    /** When computed on a sample of the training rows: its size, of how many, and the SE the sampling adds. */
    subsample?: { rows: number; of: number; subsamplingSe: number; estimator: "srs" | "difference" };
  } | null;
}

/** Every training row, the sample's indices among them, and the posterior collapsed to one point (its mean). */
export interface LooSubsampleRows {
  all: InstanceRows;
  allY: ArrayLike<number>;
  indices: Int32Array;
  point: Predictor;
}

/**
 * log p(y_i | θ̄) of every training row at the posterior's point `point` (one evaluation a row, streamed): Magnusson
 * et al.'s point approximation of elpd_loo,i, for the difference estimator. Its sum and sum of squares, and its values
 * at the sampled rows.
 */
export function pointApproximation(rows: LooSubsampleRows): LooApproximation {
  const { all, allY, indices, point } = rows;
  const column = new Float64Array(1);
  const sampled = new Float64Array(indices.length);
  let sum = 0;
  let sumOfSquares = 0;
  let next = 0;
  for (let i = 0; i < all.length; i++) {
    const a = point.logLik(all.at(i)!, allY[i], 1, column)[0];
    sum += a;
    sumOfSquares += a * a;
    if (next < indices.length && indices[next] === i) sampled[next++] = a;
  }
  return { sum, sumOfSquares, sampled };
}

/**
 * `looRows` are the training rows PSIS-LOO runs on: all `trainRowsTotal` of them, or a simple random sample of them
 * (without replacement), whose estimate is scaled to all — by the difference estimator with the point approximation
 * when `subsample` gives every row and the posterior's point, else by the simple one.
 */
export function predictiveScores(
  predictor: Predictor,
  testInstances: InstanceRows,
  testY: ArrayLike<number>,
  looRows: InstanceRows,
  looY: ArrayLike<number>,
  trainRowsTotal = looRows.length,
  subsample?: LooSubsampleRows,
): PredictiveScores {
  const metrics: Record<string, number> = {};
  let loo: PredictiveScores["loo"] = null;
  if (testInstances.length >= 2) {
    const h = heldOutLpd(predictor, testInstances, testY);
    metrics.elpd_holdout = h.elpd;
    metrics.elpd_holdout_se = h.se;
  }
  if (looRows.length >= 2 && looRows.length * Math.min(SCORE_DRAWS, predictor.drawCount) <= MAX_LOO_EVALUATIONS) {
    const sampledLoo = looOfRows(predictor, looRows, looY);
    const l = subsampleLoo(sampledLoo, trainRowsTotal, subsample !== undefined && looRows.length < trainRowsTotal ? pointApproximation(subsample) : undefined);
    const sampled = l.sampleSize < l.total;
    metrics.elpd_loo = l.elpd;
    metrics.elpd_loo_se = l.se;
    if (sampled) metrics.elpd_loo_subsampling_se = l.subsamplingSe;
    metrics.p_loo = l.pLoo;
    // Counted among the rows LOO ran on (the sample's, when sampled).
    metrics.loo_pareto_k_above_0_7 = l.warnings.above07;
    if (sampled) metrics.loo_sample_rows = l.sampleSize;
    loo = {
      elpd: l.elpd,
      se: l.se,
      pLoo: l.pLoo,
      paretoK: l.pointwise.k,
      ...(sampled ? { subsample: { rows: l.sampleSize, of: l.total, subsamplingSe: l.subsamplingSe, estimator: l.estimator } } : {}),
    };
  }
  return { metrics, loo };
}
