/**
 * Pareto smoothed importance sampling (Vehtari, Simpson, Gelman, Yao & Gabry 2024, "Pareto smoothed importance
 * sampling", JMLR 25(72)), as R's loo package (2.5) computes it: the largest M = ⌈min(0.2·S, 3·√(S / r_eff))⌉ log
 * ratios are replaced by the expected order statistics of a generalised Pareto distribution fitted to them (Zhang &
 * Stephens 2009, with loo's weakly informative prior on k), and no weight exceeds the largest raw one. The fitted shape
 * k̂ says how far the weights can be trusted: ≤ 0.5 good, ≤ 0.7 ok, above that the estimate is unreliable.
 */
import { selectInPlace } from "./select.js";

/** Fewer tail draws than this and loo does not smooth (k̂ = Inf). */
const MIN_TAIL = 5;
/** Zhang & Stephens' grid: 30 points plus √N. */
const MIN_GRID_POINTS = 30;
/** The prior of Zhang & Stephens' fit (loo's `prior <- 3`). */
const GRID_PRIOR = 3;
/** loo's weakly informative prior pulling k̂ towards 0.5 with the weight of a = 10 observations. */
const WIP_WEIGHT = 10;

/** The fitted generalised Pareto shape k and scale σ. */
export interface GeneralizedPareto {
  k: number;
  sigma: number;
}

/** log-sum-exp of a[from..to). */
function logSumExp(a: ArrayLike<number>, from = 0, to = a.length): number {
  let max = Number.NEGATIVE_INFINITY;
  for (let i = from; i < to; i++) if (a[i] > max) max = a[i];
  if (max === Number.NEGATIVE_INFINITY) return max;
  let s = 0;
  for (let i = from; i < to; i++) s += Math.exp(a[i] - max);
  return max + Math.log(s);
}

/** Zhang & Stephens' (2009) generalised Pareto fit to `x` (sorted ascending, positive), as loo's gpdfit. */
export function gpdFit(x: Float64Array): GeneralizedPareto {
  const n = x.length;
  const m = MIN_GRID_POINTS + Math.floor(Math.sqrt(n));
  const xstar = x[Math.floor(n / 4 + 0.5) - 1]; // R's 1-based x[floor(N/4 + 0.5)]
  const theta = new Float64Array(m);
  const lTheta = new Float64Array(m);
  for (let j = 0; j < m; j++) {
    theta[j] = 1 / x[n - 1] + (1 - Math.sqrt(m / (j + 1 - 0.5))) / GRID_PRIOR / xstar;
    // loo's lx(θ, x): with a = −θ, k = mean(log1p(a·x)), log(a / k) − k − 1; times N.
    const a = -theta[j];
    let k = 0;
    for (let i = 0; i < n; i++) k += Math.log1p(a * x[i]);
    k /= n;
    lTheta[j] = n * (Math.log(a / k) - k - 1);
  }
  const norm = logSumExp(lTheta);
  let thetaHat = 0;
  for (let j = 0; j < m; j++) thetaHat += theta[j] * Math.exp(lTheta[j] - norm);
  let k = 0;
  for (let i = 0; i < n; i++) k += Math.log1p(-thetaHat * x[i]);
  k /= n;
  const sigma = -k / thetaHat;
  k = (k * n) / (n + WIP_WEIGHT) + (WIP_WEIGHT * 0.5) / (n + WIP_WEIGHT);
  if (Number.isNaN(k)) k = Number.POSITIVE_INFINITY;
  return { k, sigma };
}

/** The p-quantile of the generalised Pareto (loo's qgpd). */
function gpdQuantile(p: number, k: number, sigma: number): number {
  if (Number.isNaN(sigma) || sigma <= 0) return Number.NaN;
  return (sigma * Math.expm1(-k * Math.log1p(-p))) / k;
}

/** The tail length loo uses for S draws with relative efficiency r_eff. */
export function paretoTailLength(draws: number, rEff = 1): number {
  return Math.ceil(Math.min(0.2 * draws, 3 * Math.sqrt(draws / rEff)));
}

export interface PsisResult {
  /** Smoothed log weights, not normalised (as loo's weights(normalize = FALSE)). */
  logWeights: Float64Array;
  /** Pareto shape k̂ of the tail (Inf when the tail was too short or could not be fitted). */
  k: number;
}

/**
 * Indices of the `count` largest values of `lw`, ascending in (value, index) order — the last `count` entries of the
 * whole vector sorted by value with ties in index order, as loo's `order()` gives them — found by selecting the
 * threshold in O(S) and sorting only the candidates (the tail is ~3√S of S draws). `lw` must be free of NaN.
 */
function largestInOrder(lw: Float64Array, count: number, scratch: Float64Array): Int32Array {
  const s = lw.length;
  scratch.set(lw);
  selectInPlace(scratch, s - count);
  const threshold = scratch[s - count];
  let n = 0;
  for (let i = 0; i < s; i++) if (lw[i] >= threshold) n++;
  const candidates = new Int32Array(n);
  n = 0;
  for (let i = 0; i < s; i++) if (lw[i] >= threshold) candidates[n++] = i;
  // Candidates are in index order, so a stable sort by value keeps ties in index order.
  const sorted = Array.from(candidates).sort((a, b) => lw[a] - lw[b]);
  return Int32Array.from(sorted.slice(n - count));
}

/** PSIS of one vector of log importance ratios (for LOO: minus the draws' log-likelihood of one observation). */
export function psis(logRatios: ArrayLike<number>, rEff = 1, scratch: Float64Array = new Float64Array(logRatios.length)): PsisResult {
  const s = logRatios.length;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < s; i++) if (logRatios[i] > max) max = logRatios[i];
  const lw = new Float64Array(s);
  let hasNaN = false;
  for (let i = 0; i < s; i++) {
    lw[i] = logRatios[i] - max;
    if (Number.isNaN(lw[i])) hasNaN = true;
  }
  const tail = paretoTailLength(s, rEff);
  let k = Number.POSITIVE_INFINITY;
  if (tail >= MIN_TAIL) {
    // The tail and the draw just below it (the cutoff), in ascending order.
    const top = hasNaN ? fullOrder(lw).subarray(s - tail - 1) : largestInOrder(lw, tail + 1, scratch);
    const lwTail = Float64Array.from({ length: tail }, (_, j) => lw[top[1 + j]]);
    if (Math.abs(lwTail[tail - 1] - lwTail[0]) >= Number.EPSILON / 100) {
      const cutoff = lw[top[0]];
      const expCutoff = Math.exp(cutoff);
      const fit = gpdFit(Float64Array.from(lwTail, (v) => Math.exp(v) - expCutoff));
      k = fit.k;
      if (Number.isFinite(k)) for (let j = 0; j < tail; j++) lw[top[1 + j]] = Math.log(gpdQuantile((j + 1 - 0.5) / tail, k, fit.sigma) + expCutoff);
    }
  }
  for (let i = 0; i < s; i++) if (lw[i] > 0) lw[i] = 0;
  for (let i = 0; i < s; i++) lw[i] += max;
  return { logWeights: lw, k };
}

/** Every index, by value then index (only for vectors holding NaN, where a selection has no order to find). */
function fullOrder(lw: Float64Array): Int32Array {
  return Int32Array.from(Array.from({ length: lw.length }, (_, i) => i).sort((a, b) => lw[a] - lw[b] || a - b));
}

export { logSumExp as logSumExpOf };
