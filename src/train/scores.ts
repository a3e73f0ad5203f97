// The predictive scores training records beside the per-kind metrics: the held-out rows' log predictive density and
// PSIS-LOO of the training rows (with how many observations have Pareto k̂ above 0.7), from the pointwise
// log-likelihood (src/predict/scores.ts).
import { heldOutLpd, looOfRows, SCORE_DRAWS, type Instance, type Predictor } from "../predict/index.js";

/** The scores this module adds to every kind's metrics (a gate may bound them too). */
export const SCORE_METRICS = ["elpd_holdout", "elpd_loo", "p_loo", "loo_pareto_k_above_0_7"] as const;

/** PSIS-LOO costs rows × draws log-likelihood evaluations and a sort per row: above this many, it is left out. */
export const MAX_LOO_EVALUATIONS = 40_000_000;

export function predictiveScores(
  predictor: Predictor,
  testInstances: readonly Instance[],
  testY: ArrayLike<number>,
  trainInstances: readonly Instance[],
  trainY: ArrayLike<number>,
): Record<string, number> {
  const out: Record<string, number> = {};
  if (testInstances.length >= 2) {
    const h = heldOutLpd(predictor, testInstances, testY);
    out.elpd_holdout = h.elpd;
    out.elpd_holdout_se = h.se;
  }
  if (trainInstances.length >= 2 && trainInstances.length * Math.min(SCORE_DRAWS, predictor.drawCount) <= MAX_LOO_EVALUATIONS) {
    const l = looOfRows(predictor, trainInstances, trainY);
    out.elpd_loo = l.elpd;
    out.elpd_loo_se = l.se;
    out.p_loo = l.pLoo;
    out.loo_pareto_k_above_0_7 = l.warnings.above07;
  }
  return out;
}
