// Scoring held-out rows with the posterior predictive, with the metrics that fit the likelihood's family:
// - continuous: the seed's MAPE (of the mean of 100 samples per row; only when no actual value is 0, where it is not
//   defined), RMSE, the empirical coverage of 50 / 90 / 95 % HDIs, and the mean CRPS;
// - counts: MAE and RMSE of the expected count E[y | x] (exact over every posterior draw), the mean ranked probability
//   score, and HDI coverage;
// - 0/1: log loss, Brier score and accuracy of P(y = 1 | x) (exact over every posterior draw), ROC AUC, and the
//   expected calibration error over ten equal-width bins (the calibration plot's bins).
import { hdiDiscreteSorted, hdiSorted } from "../diagnostics/index.js";
import { responseKindOf, type ResponseKind } from "../model/families.js";
import { Rng } from "../random/rng.js";
import type { Instance, InstanceRows, Predictor } from "../predict/index.js";

/** The seed's choice: 100 predictive samples per row for the point prediction and MAPE. */
export const MAPE_SAMPLES = 100;
/** More samples for interval coverage and CRPS, so that they measure the model and not the sampling noise. */
export const SCORE_SAMPLES = 1000;
/** The HDI drawn in the predicted-vs-actual plot. */
export const PLOT_HDI_PROBABILITY = 0.9;
/** Probabilities are kept this far from 0 and 1 in the log loss (scikit-learn's log_loss eps before 1.5). */
const LOG_LOSS_EPS = 1e-15;
/** Bins of the calibration plot and error (scikit-learn's calibration_curve default). */
export const CALIBRATION_BINS = 10;

/** The held-out metrics of each kind of target, as evaluatePredictions names them (a metric may be left out where it is undefined). */
export const METRICS_BY_KIND: Record<ResponseKind, readonly string[]> = {
  continuous: ["mape", "rmse", "crps", "coverage_50", "coverage_90", "coverage_95"],
  count: ["mae", "rmse", "rps", "coverage_50", "coverage_90", "coverage_95"],
  binary: ["log_loss", "brier", "accuracy", "roc_auc", "calibration_error"],
};

/** One bin of predicted probabilities: how often the event happened among the rows predicted in it. */
export interface CalibrationBin {
  lower: number;
  upper: number;
  rows: number;
  meanPredicted: number;
  observedRate: number;
}

export interface Evaluation {
  kind: ResponseKind;
  metrics: Record<string, number>;
  /** Per test row: the predictive mean (for counts and 0/1, E[y | x] exactly) and its 90 % HDI (for plots). */
  mean: Float64Array;
  lower: Float64Array;
  upper: Float64Array;
  /** For a 0/1 target: the calibration plot's bins (empty ones left out). */
  calibration: CalibrationBin[];
}

/** CRPS of an ensemble: E|X − y| − ½ E|X − X'|, exact over the sample (sorted form, O(n log n)). */
export function crpsFromSamples(samples: Float64Array, y: number): number {
  return crpsFromSorted(Float64Array.from(samples).sort(), y);
}

/**
 * CRPS of a sorted ensemble. For integer samples and an integer y it is also the ranked probability score
 * Σ_k (F(k) − 1{y ≤ k})², since both CDFs are then steps at the integers.
 */
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

/** ROC AUC of scores against 0/1 labels (Mann–Whitney U, ties given half), NaN when only one class occurs. */
export function rocAuc(scores: Float64Array, labels: Float64Array): number {
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  let positives = 0;
  let rankSum = 0;
  for (let i = 0; i < n;) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1]] === scores[order[i]]) j++;
    const rank = (i + j) / 2 + 1; // average rank of the tie group, 1-based
    for (let k = i; k <= j; k++)
      if (labels[order[k]] === 1) {
        positives++;
        rankSum += rank;
      }
    i = j + 1;
  }
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) return Number.NaN;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/** The calibration bins of probabilities p against 0/1 outcomes y (equal-width bins over [0, 1]). */
export function calibrationBins(p: Float64Array, y: Float64Array, bins = CALIBRATION_BINS): CalibrationBin[] {
  const rows = new Float64Array(bins);
  const sumP = new Float64Array(bins);
  const sumY = new Float64Array(bins);
  for (let i = 0; i < p.length; i++) {
    const b = Math.min(bins - 1, Math.floor(p[i] * bins));
    rows[b]++;
    sumP[b] += p[i];
    sumY[b] += y[i];
  }
  const out: CalibrationBin[] = [];
  for (let b = 0; b < bins; b++)
    if (rows[b] > 0) out.push({ lower: b / bins, upper: (b + 1) / bins, rows: rows[b], meanPredicted: sumP[b] / rows[b], observedRate: sumY[b] / rows[b] });
  return out;
}

/**
 * Rows scored at a time: their 1,000 predictive samples each are held (8 MB), not every row's (a 400,000-row test set
 * would hold 3.2 GB). Each sampler's stream runs on across chunks, so the answer is the one a single pass gives.
 */
const EVALUATION_CHUNK_ROWS = 1000;

export function evaluatePredictions(predictor: Predictor, instances: InstanceRows, actual: Float64Array, seed: number): Evaluation {
  const n = instances.length;
  const kind = responseKindOf(predictor.family);
  const mean = new Float64Array(n);
  const lower = new Float64Array(n);
  const upper = new Float64Array(n);
  if (n === 0) return { kind, metrics: {}, mean, lower, upper, calibration: [] };
  const scoringRng = new Rng(seed + 1, 0);
  const pointRng = new Rng(seed, 0);
  const draws = kind === "continuous" ? null : new Float64Array(predictor.drawCount);
  const coverage = { 50: 0, 90: 0, 95: 0 } as Record<number, number>;
  // Continuous: CRPS; counts: the ranked probability score (the same sum for integer samples).
  let crps = 0;
  for (let from = 0; from < n; from += EVALUATION_CHUNK_ROWS) {
    const chunk: Instance[] = [];
    for (let r = from; r < Math.min(n, from + EVALUATION_CHUNK_ROWS); r++) chunk.push(instances.at(r)!);
    const sorted = predictor.sample(chunk, SCORE_SAMPLES, scoringRng).map((s) => s.sort());
    for (let k = 0; k < chunk.length; k++) {
      const r = from + k;
      for (const level of [50, 90, 95]) {
        // The interval /interval serves: for a discrete family the most probable run of integers of ArviZ's width.
        const [lo, hi] = (kind === "continuous" ? hdiSorted : hdiDiscreteSorted)(sorted[k], level / 100);
        if (actual[r] >= lo && actual[r] <= hi) coverage[level]++;
        if (level === PLOT_HDI_PROBABILITY * 100) {
          lower[r] = lo;
          upper[r] = hi;
        }
      }
      if (kind !== "binary") crps += crpsFromSorted(sorted[k], actual[r]);
    }
    if (draws === null) {
      // The seed's point prediction: the mean of 100 samples.
      const point = predictor.sample(chunk, MAPE_SAMPLES, pointRng);
      for (let k = 0; k < chunk.length; k++) {
        let m = 0;
        for (const v of point[k]) m += v;
        mean[from + k] = m / point[k].length;
      }
    } else {
      for (let k = 0; k < chunk.length; k++) mean[from + k] = expectedValue(predictor, chunk[k], draws);
    }
  }
  const coverageMetrics = { coverage_50: coverage[50] / n, coverage_90: coverage[90] / n, coverage_95: coverage[95] / n };
  const metrics: Record<string, number> =
    kind === "continuous" ? continuousMetrics(actual, mean, crps) : kind === "count" ? countMetrics(actual, mean, crps) : binaryMetrics(actual, mean);
  const calibration = kind === "binary" ? calibrationBins(mean, actual) : [];
  if (kind === "binary") metrics.calibration_error = calibration.reduce((e, b) => e + (b.rows / n) * Math.abs(b.meanPredicted - b.observedRate), 0);
  return { kind, metrics: { ...metrics, ...(kind === "binary" ? {} : coverageMetrics), test_rows: n }, mean, lower, upper, calibration };
}

/** The seed's metrics: MAPE and RMSE of the mean of 100 samples, and the mean CRPS (its sum given). */
function continuousMetrics(actual: Float64Array, mean: Float64Array, crpsSum: number): Record<string, number> {
  const n = actual.length;
  let ape = 0;
  let se = 0;
  let zeros = 0;
  for (let r = 0; r < n; r++) {
    const y = actual[r];
    const m = mean[r];
    if (y === 0) zeros++;
    else ape += Math.abs(y - m) / Math.abs(y);
    se += (y - m) * (y - m);
  }
  // MAPE is not defined where an actual value is 0 (scikit-learn's floor turns those rows into 1e15-sized terms).
  return { ...(zeros === 0 ? { mape: ape / n } : {}), rmse: Math.sqrt(se / n), crps: crpsSum / n };
}

/** E[y | x] of a row, exact over every posterior draw (`draws` is scratch space, drawCount long). */
function expectedValue(predictor: Predictor, instance: Instance, draws: Float64Array): number {
  predictor.means(instance, draws);
  let m = 0;
  for (const v of draws) m += v;
  return m / draws.length;
}

function countMetrics(actual: Float64Array, mean: Float64Array, rpsSum: number): Record<string, number> {
  const n = actual.length;
  let ae = 0;
  let se = 0;
  for (let r = 0; r < n; r++) {
    const e = actual[r] - mean[r];
    ae += Math.abs(e);
    se += e * e;
  }
  return { mae: ae / n, rmse: Math.sqrt(se / n), rps: rpsSum / n };
}

function binaryMetrics(actual: Float64Array, p: Float64Array): Record<string, number> {
  const n = actual.length;
  let logLoss = 0;
  let brier = 0;
  let correct = 0;
  for (let r = 0; r < n; r++) {
    const y = actual[r];
    const q = Math.min(1 - LOG_LOSS_EPS, Math.max(LOG_LOSS_EPS, p[r]));
    logLoss -= y === 1 ? Math.log(q) : Math.log(1 - q);
    brier += (p[r] - y) * (p[r] - y);
    if ((p[r] > 0.5 ? 1 : 0) === y) correct++;
  }
  const auc = rocAuc(p, actual);
  return { log_loss: logLoss / n, brier: brier / n, accuracy: correct / n, ...(Number.isFinite(auc) ? { roc_auc: auc } : {}) };
}
