// Small numeric helpers for the figures: Gaussian KDE on a grid (linear binning + truncated kernel, so it costs
// O(n + grid·kernel) rather than O(n·grid)) and even thinning of long series.

import { quantileSorted } from "../diagnostics/quantile.js";

const SQRT_2PI = Math.sqrt(2 * Math.PI);

/** Finite values of an array, as a new Float64Array. */
export function finite(values: ArrayLike<number>): Float64Array {
  let n = 0;
  for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i])) n++;
  if (n === values.length) return Float64Array.from(values);
  const out = new Float64Array(n);
  let j = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (Number.isFinite(v)) out[j++] = v;
  }
  return out;
}

/**
 * Silverman's rule-of-thumb bandwidth, 0.9·min(sd, IQR/1.34)·n^(-1/5), with fallbacks for degenerate samples.
 * `values` must be finite.
 */
export function silvermanBandwidth(values: Float64Array): number {
  const n = values.length;
  if (n < 2) return 1;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += values[i];
  mean /= n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (values[i] - mean) ** 2;
  const sd = Math.sqrt(ss / (n - 1));
  const sorted = Float64Array.from(values).sort();
  const iqr = quantileSorted(sorted, 0.75) - quantileSorted(sorted, 0.25);
  let spread = iqr > 0 ? Math.min(sd, iqr / 1.34) : sd;
  if (!(spread > 0)) spread = Math.abs(mean) > 0 ? Math.abs(mean) * 1e-3 : 1e-3;
  return 0.9 * spread * Math.pow(n, -0.2);
}

export interface Grid {
  lo: number;
  hi: number;
  n: number;
}

/** x coordinate of grid point i. */
export function gridPoint(grid: Grid, i: number): number {
  return grid.n === 1 ? grid.lo : grid.lo + ((grid.hi - grid.lo) * i) / (grid.n - 1);
}

/**
 * A grid that covers every sample's range widened by `pad` bandwidths, with `n` points. Samples are finite arrays;
 * empty ones are ignored. Returns null when every sample is empty.
 */
export function commonGrid(samples: Float64Array[], bandwidths: number[], n: number, pad = 3): Grid | null {
  let lo = Infinity;
  let hi = -Infinity;
  samples.forEach((s, k) => {
    if (s.length === 0) return;
    let mn = Infinity;
    let mx = -Infinity;
    for (let i = 0; i < s.length; i++) {
      if (s[i] < mn) mn = s[i];
      if (s[i] > mx) mx = s[i];
    }
    lo = Math.min(lo, mn - pad * bandwidths[k]);
    hi = Math.max(hi, mx + pad * bandwidths[k]);
  });
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return null;
  if (hi <= lo) {
    const w = Math.abs(lo) > 0 ? Math.abs(lo) * 1e-3 : 1e-3;
    lo -= w;
    hi += w;
  }
  return { lo, hi, n };
}

/**
 * Gaussian kernel density estimate of finite `values` on `grid`, with bandwidth `bw` (Silverman's by default).
 * Values outside the grid are dropped. The bandwidth is never taken below one grid step.
 */
export function kde(values: Float64Array, grid: Grid, bw?: number): Float64Array {
  const { lo, hi, n } = grid;
  const out = new Float64Array(n);
  const count = values.length;
  if (count === 0 || n < 2) return out;
  const dx = (hi - lo) / (n - 1);
  const h = Math.max(bw ?? silvermanBandwidth(values), dx);
  // Linear binning onto the grid.
  const bins = new Float64Array(n);
  for (let i = 0; i < count; i++) {
    const t = (values[i] - lo) / dx;
    if (!(t >= 0 && t <= n - 1)) continue;
    const j = Math.min(Math.floor(t), n - 2);
    const f = t - j;
    bins[j] += 1 - f;
    bins[j + 1] += f;
  }
  // Convolve with the kernel, truncated at 5 bandwidths.
  const m = Math.min(n - 1, Math.ceil((5 * h) / dx));
  const w = new Float64Array(m + 1);
  for (let k = 0; k <= m; k++) w[k] = Math.exp(-0.5 * ((k * dx) / h) ** 2);
  const norm = 1 / (count * h * SQRT_2PI);
  for (let j = 0; j < n; j++) {
    const b = bins[j];
    if (b === 0) continue;
    const from = Math.max(0, j - m);
    const to = Math.min(n - 1, j + m);
    for (let i = from; i <= to; i++) out[i] += b * w[Math.abs(i - j)];
  }
  for (let i = 0; i < n; i++) out[i] *= norm;
  return out;
}

/** Indices 0, s, 2s, … (s = ceil(n / max)) so that at most `max` of `n` items are kept. */
export function thinIndices(n: number, max: number): number[] {
  const stride = Math.max(1, Math.ceil(n / Math.max(1, max)));
  const out: number[] = [];
  for (let i = 0; i < n; i += stride) out.push(i);
  return out;
}
