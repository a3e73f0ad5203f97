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
export function autocovarianceInto(x: ArrayLike<number>, out: Float64Array, ws: AutocovarianceWorkspace = autocovarianceWorkspace(x.length)): Float64Array {
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

/**
 * Autocovariances of two sequences of equal length N at once, with one forward and one
 * inverse complex FFT (the standard "two real FFTs for the price of one" packing, Press et al.,
 * Numerical Recipes §12.3): z = x + i y, X_k = (Z_k + conj Z_{M-k}) / 2,
 * Y_k = (Z_k - conj Z_{M-k}) / 2i; then |X_k|^2 + i |Y_k|^2 is transformed back, whose real and
 * imaginary parts are the two (real) autocorrelation sequences. Scaled as
 * {@link autocovarianceInto}.
 */
export function autocovariancePairInto(
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  outX: Float64Array,
  outY: Float64Array,
  ws: AutocovarianceWorkspace = autocovarianceWorkspace(x.length),
): void {
  const n = x.length;
  if (y.length !== n) throw new RangeError("autocovariance: sequences must have equal lengths");
  const { re, im } = ws;
  const M = re.length;
  if (M < 2 * n) throw new RangeError("autocovariance: workspace too small");
  const mx = mean(x);
  const my = mean(y);
  let ssx = 0;
  let ssy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i] - mx;
    const dy = y[i] - my;
    re[i] = dx;
    im[i] = dy;
    ssx += dx * dx;
    ssy += dy * dy;
  }
  re.fill(0, n);
  im.fill(0, n);
  fftInPlace(re, im);
  // Power spectra of both sequences, packed as |X_k|^2 + i |Y_k|^2 (k and M-k together).
  for (let k = 0; k <= M >> 1; k++) {
    const j = (M - k) & (M - 1);
    const zr = re[k];
    const zi = im[k];
    const wr = re[j];
    const wi = im[j];
    // X_k = ((zr + wr) + i (zi - wi)) / 2 ; Y_k = ((zi + wi) - i (zr - wr)) / 2
    const xr = 0.5 * (zr + wr);
    const xi = 0.5 * (zi - wi);
    const yr = 0.5 * (zi + wi);
    const yi = -0.5 * (zr - wr);
    const px = xr * xr + xi * xi;
    const py = yr * yr + yi * yi;
    re[k] = px;
    im[k] = py;
    re[j] = px;
    im[j] = py;
  }
  fftInPlace(re, im, true);
  if (ssx === 0) outX.fill(0, 0, n);
  else {
    const scale = ssx / n / re[0];
    for (let t = 0; t < n; t++) outX[t] = re[t] * scale;
    outX[0] = ssx / n;
  }
  if (ssy === 0) outY.fill(0, 0, n);
  else {
    const scale = ssy / n / im[0];
    for (let t = 0; t < n; t++) outY[t] = im[t] * scale;
    outY[0] = ssy / n;
  }
}

/** Autocovariances of `x` at lags 0..N-1 (new array). */
export function autocovariance(x: ArrayLike<number>): Float64Array {
  return autocovarianceInto(x, new Float64Array(x.length));
}

/**
 * Every chain minus its own mean, chain after chain in one buffer, with each chain's sum of squares: what
 * {@link meanAutocovarianceLags} sums lag by lag. The centring and the sums of squares are computed as
 * {@link autocovariancePairInto} computes them, so lag 0 is the same number either way.
 */
export function centredChains(chains: readonly ArrayLike<number>[], n: number): { centred: Float64Array; sumsOfSquares: Float64Array } {
  const centred = new Float64Array(chains.length * n);
  const sumsOfSquares = new Float64Array(chains.length);
  for (let c = 0; c < chains.length; c++) {
    const x = chains[c];
    const m = mean(x);
    let ss = 0;
    for (let i = 0; i < n; i++) {
      const d = x[i] - m;
      centred[c * n + i] = d;
      ss += d * d;
    }
    sumsOfSquares[c] = ss;
  }
  return { centred, sumsOfSquares };
}

/**
 * The mean over the `m` chains of their autocovariances at lags `from`..`to`−1, written into `out`: each
 * acov[t] = (1/n) Σ_{i < n−t} d_i d_{i+t} summed directly — the same estimate as the FFT's (which is this sum, zero
 * padding making its circular correlation linear), at m·n multiply-adds a lag. Chains are added two at a time and the
 * sum divided by m, as the FFT path adds them, so that lag 0 (ss/n) is the same number either way.
 */
export function meanAutocovarianceLags(
  centred: Float64Array,
  sumsOfSquares: Float64Array,
  m: number,
  n: number,
  out: Float64Array,
  from: number,
  to: number,
): void {
  for (let t = from; t < to; t++) {
    let total = 0;
    for (let c = 0; c < m; c += 2) {
      const a = lagOf(centred, sumsOfSquares, c, n, t);
      total += c + 1 < m ? a + lagOf(centred, sumsOfSquares, c + 1, n, t) : a;
    }
    out[t] = total / m;
  }
}

/** One centred chain's autocovariance at lag t. */
function lagOf(centred: Float64Array, sumsOfSquares: Float64Array, c: number, n: number, t: number): number {
  if (t === 0) return sumsOfSquares[c] / n;
  const base = c * n;
  let s = 0;
  for (let i = base, end = base + n - t; i < end; i++) s += centred[i] * centred[i + t];
  return s / n;
}
