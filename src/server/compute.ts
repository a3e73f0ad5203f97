// From a validated request to its answer fields: posterior-predictive samples for each instance, then the median
// (point), ArviZ's HDI (interval) or numpy's density histogram (density); or E[y | x, θ] over every posterior draw,
// then its mean and HDI (mean). For a discrete likelihood the point is an integer (the median as the inverse of the
// empirical CDF at ½) and the density the probability of each integer. Used on the event loop for light requests and
// inside the sampling workers for heavy ones, so it depends on nothing but the predictor.
import { hdiSorted, histogram, integerHistogram, selectInPlace } from "../diagnostics/index.js";
import { InstanceError, type Instance, type Predictor } from "../predict/index.js";
import type { PredictionKind } from "./schemas.js";

export interface PredictParams {
  kind: PredictionKind;
  nSamples: number;
  /** Seeds every instance's stream alike, so an instance's answer in a batch equals its answer alone. */
  seed: number | undefined;
  hdiProbability: number;
  bins: number;
  /** Unseen levels of categories that can draw them are answered (allow_new_levels). */
  allowNewLevels: boolean;
}

/** The posterior of E[y | x, θ]: its mean and HDI. */
export interface MeanAnswer {
  mean: number;
  lower: number;
  upper: number;
}

/** One instance's answer: the median, the HDI bounds, the histogram's mid-points and densities, or the mean's posterior. */
export type InstanceAnswer = number | [number, number] | { mids: number[]; density: number[] } | MeanAnswer;

/** The predictive samples (or means) at this input are not all finite numbers: no answer can be given. */
function notFinite(index: number, what: string): InstanceError {
  return new InstanceError(index, [], "not_finite", `the model's ${what} at this input are not all finite numbers, so no answer can be given`);
}

/** True when every value is a finite number (v − v is 0 for finite v, NaN for NaN and ±Infinity). */
function allFinite(a: Float64Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] - a[i] !== 0) return false;
  return true;
}

/**
 * np.median without a full sort: the middle value (odd n) or the mean of the two middle values, (a + b) / 2, as
 * numpy computes it (even n). Reorders `a`, which must be finite and not empty.
 */
export function medianOf(a: Float64Array): number {
  const n = a.length;
  const h = n >> 1;
  selectInPlace(a, h, 0, n - 1);
  if (n % 2 === 1) return a[h];
  let below = a[0];
  for (let i = 1; i < h; i++) if (a[i] > below) below = a[i];
  return (below + a[h]) / 2;
}

/**
 * The inverse of the empirical CDF at ½ (R's quantile type 1): the ⌈n/2⌉-th smallest value, the smallest v with at
 * least half the values ≤ v. For integer samples an integer, as a discrete family's point prediction should be.
 * Reorders `a`, which must be finite and not empty.
 */
export function lowerMedianOf(a: Float64Array): number {
  const k = Math.ceil(a.length / 2) - 1;
  selectInPlace(a, k, 0, a.length - 1);
  return a[k];
}

/** Sorts a[from..to) in place (typed-array sort of a view, no copy). */
function sortRange(a: Float64Array, from: number, to: number): void {
  a.subarray(from, to).sort();
}

/** Below this many windows the HDI keeps two short insertion lists of the ends it needs. */
const PARTIAL_HDI_WINDOWS = 16;
// Scratch for the two insertion lists. Answers are computed synchronously, one at a time per thread, so one pair
// serves every request: an ArrayBuffer allocated per request costs a malloc, a free and a sweep.
const HDI_LOW = new Float64Array(PARTIAL_HDI_WINDOWS);
const HDI_HIGH = new Float64Array(PARTIAL_HDI_WINDOWS);

/**
 * ArviZ's HDI rule — sort; k = floor(p·n); the narrowest window [s[i], s[i + k]], the first on ties — computed from
 * only the values it looks at: the windows start at the m = n − k smallest values and end at the m largest. For the
 * usual probabilities and sample sizes (0.95 of 100 samples: 5 windows) two short insertion lists replace a full
 * sort; for more windows (the mean's HDI over 10,000 draws: 500) two quickselects set the m smallest and the m
 * largest apart and only those are sorted. The answer is the same, bit for bit. `a` must be finite and not empty,
 * 0 < p < 1; it may be reordered.
 */
export function hdiOf(a: Float64Array, p: number): [number, number] {
  const n = a.length;
  const k = Math.floor(p * n);
  const m = n - k;
  if (2 * m > n) return hdiSorted(a.sort(), p);
  if (m > PARTIAL_HDI_WINDOWS) {
    // The m smallest to a[0..m) and the m largest to a[n−m..n), each sorted: hdiSorted reads only those (window i
    // is [a[i], a[i + k]], i < m, i + k ≥ n − m), so the rest can stay unsorted.
    selectInPlace(a, m - 1, 0, n - 1);
    selectInPlace(a, n - m, m, n - 1);
    sortRange(a, 0, m);
    sortRange(a, n - m, n);
    return hdiSorted(a, p);
  }
  const lo = HDI_LOW.fill(Number.POSITIVE_INFINITY, 0, m); // the m smallest, ascending
  const hi = HDI_HIGH.fill(Number.NEGATIVE_INFINITY, 0, m); // the m largest, ascending
  for (let t = 0; t < n; t++) {
    const v = a[t];
    if (v < lo[m - 1]) {
      let j = m - 1;
      while (j > 0 && lo[j - 1] > v) {
        lo[j] = lo[j - 1];
        j--;
      }
      lo[j] = v;
    }
    if (v > hi[0]) {
      let j = 0;
      while (j < m - 1 && hi[j + 1] < v) {
        hi[j] = hi[j + 1];
        j++;
      }
      hi[j] = v;
    }
  }
  // Window i is [s[i], s[i + k]]: s[i] = lo[i], and s[i + k] = hi[i] since hi holds s[k] … s[n − 1].
  let best = 0;
  let bestWidth = hi[0] - lo[0];
  for (let i = 1; i < m; i++) {
    const w = hi[i] - lo[i];
    if (w < bestWidth) {
      bestWidth = w;
      best = i;
    }
  }
  return [lo[best], hi[best]];
}

/** The samples buffer, reused while requests ask for the same n_samples (the usual case): see HDI_LOW. */
let samplesScratch = new Float64Array(0);
/** E[y | x, θ] per posterior draw, reused likewise. */
let meansScratch = new Float64Array(0);

export function answerInstance(predictor: Predictor, instance: Instance, params: PredictParams, index: number): InstanceAnswer {
  try {
    return params.kind === "mean" ? meanAnswer(predictor, instance, params) : sampleAnswer(predictor, instance, params);
  } catch (err) {
    throw err instanceof InstanceError ? err.at(index) : (err as Error);
  }
}

function meanAnswer(predictor: Predictor, instance: Instance, params: PredictParams): MeanAnswer {
  if (meansScratch.length !== predictor.drawCount) meansScratch = new Float64Array(predictor.drawCount);
  const means = predictor.means(instance, meansScratch, params.allowNewLevels);
  if (!allFinite(means)) throw notFinite(0, "expected values");
  let sum = 0;
  for (let i = 0; i < means.length; i++) sum += means[i];
  const [lower, upper] = hdiOf(means, params.hdiProbability);
  return { mean: sum / means.length, lower, upper };
}

function sampleAnswer(predictor: Predictor, instance: Instance, params: PredictParams): InstanceAnswer {
  // The array is ours: the summaries may reorder it; nothing below keeps a reference to it.
  if (samplesScratch.length !== params.nSamples) samplesScratch = new Float64Array(params.nSamples);
  const samples = predictor.sampleOne(instance, params.nSamples, params.seed, samplesScratch, params.allowNewLevels);
  if (!allFinite(samples)) throw notFinite(0, "predictive samples");
  const discrete = predictor.family.discrete;
  switch (params.kind) {
    case "point":
      return discrete ? lowerMedianOf(samples) : medianOf(samples);
    case "interval":
      return hdiOf(samples, params.hdiProbability);
    default: {
      const h = discrete ? integerHistogram(samples, params.bins) : histogram(samples, params.bins);
      const density = Array.from(h.density);
      // Finite samples can still span a range so narrow (relative to their size) that bins have zero width.
      for (const d of density) if (!Number.isFinite(d)) throw notFinite(0, "predictive samples");
      return { mids: Array.from(h.binMids), density };
    }
  }
}

export function answerAll(predictor: Predictor, instances: readonly Instance[], params: PredictParams): InstanceAnswer[] {
  const out = new Array<InstanceAnswer>(instances.length);
  for (let i = 0; i < instances.length; i++) out[i] = answerInstance(predictor, instances[i], params, i);
  return out;
}

export interface PointResponse {
  y_pred: number | number[];
  algo_param: number;
}
export interface IntervalResponse {
  y_pred_lower: number | number[];
  y_pred_upper: number | number[];
  algo_param: number;
}
export interface DensityResponse {
  y_pred_bin_mids: number[] | number[][];
  y_pred_density: number[] | number[][];
  algo_param: number;
}
export interface MeanResponse {
  y_mean: number | number[];
  y_mean_lower: number | number[];
  y_mean_upper: number | number[];
  hdi_probability: number;
  n_draws: number;
}
export type PredictResponse = PointResponse | IntervalResponse | DensityResponse | MeanResponse;

/**
 * The response body: the seed's fields (or the mean's), each a list (in order) when the request was a batch.
 * `drawCount` is the number of posterior draws a mean averages over.
 */
export function responseBody(answers: readonly InstanceAnswer[], batch: boolean, params: PredictParams, drawCount: number): PredictResponse {
  const nSamples = params.nSamples;
  switch (params.kind) {
    case "point": {
      const ys = answers as number[];
      return { y_pred: batch ? ys : ys[0], algo_param: nSamples };
    }
    case "interval": {
      const iv = answers as [number, number][];
      if (!batch) return { y_pred_lower: iv[0][0], y_pred_upper: iv[0][1], algo_param: nSamples };
      return { y_pred_lower: iv.map((a) => a[0]), y_pred_upper: iv.map((a) => a[1]), algo_param: nSamples };
    }
    case "mean": {
      const ms = answers as MeanAnswer[];
      const p = params.hdiProbability;
      if (!batch) return { y_mean: ms[0].mean, y_mean_lower: ms[0].lower, y_mean_upper: ms[0].upper, hdi_probability: p, n_draws: drawCount };
      return { y_mean: ms.map((m) => m.mean), y_mean_lower: ms.map((m) => m.lower), y_mean_upper: ms.map((m) => m.upper), hdi_probability: p, n_draws: drawCount };
    }
    default: {
      const hs = answers as { mids: number[]; density: number[] }[];
      if (!batch) return { y_pred_bin_mids: hs[0].mids, y_pred_density: hs[0].density, algo_param: nSamples };
      return { y_pred_bin_mids: hs.map((h) => h.mids), y_pred_density: hs.map((h) => h.density), algo_param: nSamples };
    }
  }
}
