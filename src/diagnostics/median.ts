/**
 * Median with numpy's semantics (`np.median`): middle value for odd n, the mean of the two
 * middle values for even n (computed as numpy does, (a + b) / 2), NaN for an empty input or
 * if any value is NaN. R's `median` gives the same values for finite input.
 */
import { selectInPlace } from "./select.js";

/** Median of already sorted values (ascending, NaN last). */
export function medianSorted(sorted: ArrayLike<number>): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  if (Number.isNaN(sorted[n - 1])) return Number.NaN;
  const h = n >> 1;
  if (n % 2 === 1) return sorted[h];
  return (sorted[h - 1] + sorted[h]) / 2;
}

/** Median of unsorted values (the input is not modified). */
export function median(values: ArrayLike<number>): number {
  return medianSorted(Float64Array.from(values).sort());
}

/**
 * `median` without a full sort (quickselect): the same value, bit for bit — the middle value for odd n, (a + b) / 2 of
 * the two middle values for even n. Reorders `a`, which must be finite and not empty.
 */
export function medianInPlace(a: Float64Array): number {
  const n = a.length;
  const h = n >> 1;
  selectInPlace(a, h);
  if (n % 2 === 1) return a[h];
  // The largest of the h values now before a[h] is the other middle value.
  let below = a[0];
  for (let i = 1; i < h; i++) if (a[i] > below) below = a[i];
  return (below + a[h]) / 2;
}

/**
 * The inverse of the empirical CDF at ½ (R's `quantile(x, 0.5, type = 1)`, `lowerQuantileSorted` at 0.5): the
 * ⌈n/2⌉-th smallest value, so integer samples give an integer. Reorders `a`, which must be finite and not empty.
 */
export function lowerMedianInPlace(a: Float64Array): number {
  const k = Math.ceil(a.length / 2) - 1;
  selectInPlace(a, k);
  return a[k];
}
