// From a validated request to the seed's answer fields: posterior-predictive samples for each instance, sorted once,
// then the median (point), ArviZ's HDI (interval) or numpy's density histogram (density). Used on the event loop
// for light requests and inside the sampling workers for heavy ones, so it depends on nothing but the predictor.
import { hdiSorted, histogram } from "../diagnostics/index.js";
import type { Instance, Predictor } from "../predict/index.js";
import type { PredictionKind } from "./schemas.js";

export interface PredictParams {
  kind: PredictionKind;
  nSamples: number;
  /** Seeds every instance's stream alike, so an instance's answer in a batch equals its answer alone. */
  seed: number | undefined;
  hdiProbability: number;
  bins: number;
}

/** One instance's answer: the median, the HDI bounds, or the histogram's mid-points and densities. */
export type InstanceAnswer = number | [number, number] | { mids: number[]; density: number[] };

/** An answer that would contain NaN or ±Infinity (the model's samples are not finite at this input). */
export class NonFiniteAnswer extends Error {
  constructor(readonly index: number) {
    super(`the predictive samples for instance ${index} are not all finite`);
    this.name = "NonFiniteAnswer";
  }
}

/** True when every value is a finite number (v − v is 0 for finite v, NaN for NaN and ±Infinity). */
function allFinite(a: Float64Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] - a[i] !== 0) return false;
  return true;
}

/** Puts the k-th smallest value at a[k], smaller ones before it, larger after (quickselect; a must be finite). */
function select(a: Float64Array, k: number): void {
  let lo = 0;
  let hi = a.length - 1;
  while (hi > lo) {
    const mid = (lo + hi) >>> 1;
    // Median of three as the pivot.
    const x = a[lo];
    const y = a[mid];
    const z = a[hi];
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        const t = a[i];
        a[i] = a[j];
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return;
  }
}

/**
 * np.median without a full sort: the middle value (odd n) or the mean of the two middle values, (a + b) / 2, as
 * numpy computes it (even n). Reorders `a`, which must be finite and not empty.
 */
export function medianOf(a: Float64Array): number {
  const n = a.length;
  const h = n >> 1;
  select(a, h);
  if (n % 2 === 1) return a[h];
  let below = a[0];
  for (let i = 1; i < h; i++) if (a[i] > below) below = a[i];
  return (below + a[h]) / 2;
}

/** Above this many windows the HDI sorts everything; below it, it keeps only the ends it needs. */
const PARTIAL_HDI_WINDOWS = 16;
// Scratch for the two insertion lists. Answers are computed synchronously, one at a time per thread, so one pair
// serves every request: an ArrayBuffer allocated per request costs a malloc, a free and a sweep.
const HDI_LOW = new Float64Array(PARTIAL_HDI_WINDOWS);
const HDI_HIGH = new Float64Array(PARTIAL_HDI_WINDOWS);

/**
 * ArviZ's HDI rule — sort; k = floor(p·n); the narrowest window [s[i], s[i + k]], the first on ties — computed from
 * only the values it looks at: the windows start at the n − k smallest values and end at the n − k largest, so for
 * the usual probabilities (0.95 of 100 samples: 5 windows) two short insertion lists replace a full sort. The
 * answer is the same, bit for bit. `a` must be finite and not empty, 0 < p < 1; it may be reordered.
 */
export function hdiOf(a: Float64Array, p: number): [number, number] {
  const n = a.length;
  const k = Math.floor(p * n);
  const m = n - k;
  if (m > PARTIAL_HDI_WINDOWS || 2 * m > n) return hdiSorted(a.sort(), p);
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

export function answerInstance(predictor: Predictor, instance: Instance, params: PredictParams, index: number): InstanceAnswer {
  // The array is ours: the summaries may reorder it; nothing below keeps a reference to it.
  if (samplesScratch.length !== params.nSamples) samplesScratch = new Float64Array(params.nSamples);
  const samples = predictor.sampleOne(instance, params.nSamples, params.seed, samplesScratch);
  if (!allFinite(samples)) throw new NonFiniteAnswer(index);
  switch (params.kind) {
    case "point":
      return medianOf(samples);
    case "interval":
      return hdiOf(samples, params.hdiProbability);
    default: {
      const h = histogram(samples, params.bins);
      const density = Array.from(h.density);
      // Finite samples can still span a range so narrow (relative to their size) that bins have zero width.
      for (const d of density) if (!Number.isFinite(d)) throw new NonFiniteAnswer(index);
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
export type PredictResponse = PointResponse | IntervalResponse | DensityResponse;

/** The response body: the seed's fields, each a list (in order) when the request was a batch. */
export function responseBody(kind: PredictionKind, answers: readonly InstanceAnswer[], batch: boolean, nSamples: number): PredictResponse {
  switch (kind) {
    case "point": {
      const ys = answers as number[];
      return { y_pred: batch ? ys : ys[0], algo_param: nSamples };
    }
    case "interval": {
      const iv = answers as [number, number][];
      if (!batch) return { y_pred_lower: iv[0][0], y_pred_upper: iv[0][1], algo_param: nSamples };
      return { y_pred_lower: iv.map((a) => a[0]), y_pred_upper: iv.map((a) => a[1]), algo_param: nSamples };
    }
    default: {
      const hs = answers as { mids: number[]; density: number[] }[];
      if (!batch) return { y_pred_bin_mids: hs[0].mids, y_pred_density: hs[0].density, algo_param: nSamples };
      return { y_pred_bin_mids: hs.map((h) => h.mids), y_pred_density: hs.map((h) => h.density), algo_param: nSamples };
    }
  }
}
