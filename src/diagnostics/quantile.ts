/**
 * Sample quantiles by R's default rule, `quantile(x, p, type = 7)` (Hyndman & Fan 1996,
 * definition 7; numpy's default "linear" method gives the same values up to rounding).
 */

/**
 * Type-7 quantile of already sorted values, computed exactly as R's `quantile.default`:
 * index = 1 + (n - 1) p, lo = floor(index), hi = ceiling(index), h = index - lo,
 * q = (1 - h) x[lo] + h x[hi] (left as x[lo] when h = 0 or x[hi] == x[lo]).
 */
export function quantileSorted(sorted: ArrayLike<number>, prob: number): number {
  const n = sorted.length;
  if (n === 0 || Number.isNaN(prob)) return Number.NaN;
  if (prob < 0 || prob > 1) throw new RangeError(`quantile: prob must be in [0, 1], got ${prob}`);
  const index = 1 + (n - 1) * prob; // 1-based, as in R
  const lo = Math.floor(index);
  const hi = Math.ceil(index);
  const qs = sorted[lo - 1];
  const xhi = sorted[hi - 1];
  if (index > lo && xhi !== qs) {
    const h = index - lo;
    return (1 - h) * qs + h * xhi;
  }
  return qs;
}

/** Type-7 quantile (R's default) of unsorted values; the input is not modified. */
export function quantile(values: ArrayLike<number>, prob: number): number {
  const sorted = Float64Array.from(values).sort();
  if (sorted.length > 0 && Number.isNaN(sorted[sorted.length - 1])) return Number.NaN;
  return quantileSorted(sorted, prob);
}

/**
 * The inverse of the empirical CDF at `prob` (R's `quantile(x, p, type = 1)`, Hyndman & Fan definition 1) of already
 * sorted values: the smallest value v with at least a fraction `prob` of the values ≤ v, x[⌈n·p⌉] (1-based; x[1] at
 * p = 0). Always one of the values, so integer samples give integer quantiles, as a discrete family's should.
 */
export function lowerQuantileSorted(sorted: ArrayLike<number>, prob: number): number {
  const n = sorted.length;
  if (n === 0 || Number.isNaN(prob)) return Number.NaN;
  if (prob < 0 || prob > 1) throw new RangeError(`quantile: prob must be in [0, 1], got ${prob}`);
  // R's rule, with its fuzz for n·p a rounding error away from an integer (n = 100, p = 0.07: 7.000000000000001).
  const np = n * prob;
  const fuzz = 4 * Number.EPSILON;
  const j = Math.floor(np + fuzz);
  const k = np > j + fuzz ? j + 1 : j;
  return sorted[Math.max(1, k) - 1];
}
