/**
 * FFT-based autocovariance of one chain, as posterior's `autocovariance()` (R/convergence.R)
 * and ArviZ's `autocov` (stats/stats_utils.py): the "biased" estimate recommended by
 * Geyer (1992), acov[t] = (1/N) sum_{i < N-t} (x_i - mean)(x_{i+t} - mean).
 */
import { mean } from "./chains.js";
import { fftInPlace, nextPowerOfTwo } from "./fft.js";

/** Reusable FFT buffers for chains of one length (avoids allocating per chain). */
export interface AutocovarianceWorkspace {
  readonly re: Float64Array;
  readonly im: Float64Array;
}

/** Buffers for chains of length n: zero padding to >= 2n makes the circular correlation linear. */
export function autocovarianceWorkspace(n: number): AutocovarianceWorkspace {
  const size = nextPowerOfTwo(Math.max(2, 2 * n));
  return { re: new Float64Array(size), im: new Float64Array(size) };
}

/**
 * Writes the autocovariances at lags 0..N-1 of `x` into `out` (length >= N). As posterior,
 * the FFT result is rescaled so that lag 0 equals the directly computed sum of squares / N
 * ("direct scaling with var(x)"), and a constant sequence gives all zeros.
 */
export function autocovarianceInto(
  x: ArrayLike<number>,
  out: Float64Array,
  ws: AutocovarianceWorkspace = autocovarianceWorkspace(x.length),
): Float64Array {
  const n = x.length;
  const { re, im } = ws;
  if (re.length < 2 * n) throw new RangeError("autocovariance: workspace too small");
  const m = mean(x);
  let ss = 0;
  for (let i = 0; i < n; i++) {
    const d = x[i] - m;
    re[i] = d;
    ss += d * d;
  }
  re.fill(0, n);
  im.fill(0);
  if (ss === 0) {
    out.fill(0, 0, n);
    return out;
  }
  fftInPlace(re, im);
  for (let k = 0; k < re.length; k++) {
    re[k] = re[k] * re[k] + im[k] * im[k];
    im[k] = 0;
  }
  fftInPlace(re, im, true);
  const scale = ss / n / re[0];
  for (let t = 0; t < n; t++) out[t] = re[t] * scale;
  out[0] = ss / n;
  return out;
}

/** Autocovariances of `x` at lags 0..N-1 (new array). */
export function autocovariance(x: ArrayLike<number>): Float64Array {
  return autocovarianceInto(x, new Float64Array(x.length));
}
