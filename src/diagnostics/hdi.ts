/**
 * Highest density interval of a sample by ArviZ's rule (arviz stats/stats.py `_hdi`): sort the
 * n values; k = floor(prob * n); among the n - k windows [s[i], s[i + k]] take the narrowest,
 * the first one on ties (numpy `argmin`).
 */

/** ArviZ's default HDI probability (`rcParams["stats.hdi_prob"]`). */
export const DEFAULT_HDI_PROB = 0.94;

/** HDI of already sorted values (ascending). See {@link hdi}. */
export function hdiSorted(sorted: ArrayLike<number>, prob = DEFAULT_HDI_PROB): [number, number] {
  const n = sorted.length;
  if (!(prob >= 0)) throw new RangeError(`hdi: prob must be a number in [0, 1), got ${prob}`);
  if (n > 0 && Number.isNaN(sorted[n - 1])) return [Number.NaN, Number.NaN];
  const k = Math.floor(prob * n); // interval_idx_inc
  const nIntervals = n - k;
  if (nIntervals <= 0) {
    // ArviZ raises "Too few elements for interval calculation" here (prob >= 1 or n = 0).
    throw new RangeError(`hdi: too few elements for interval calculation (n = ${n}, prob = ${prob})`);
  }
  let best = 0;
  let bestWidth = sorted[k] - sorted[0];
  for (let i = 1; i < nIntervals; i++) {
    const w = sorted[i + k] - sorted[i];
    if (w < bestWidth) {
      bestWidth = w;
      best = i;
    }
  }
  return [sorted[best], sorted[best + k]];
}

/**
 * Highest density interval [low, high] holding a fraction `prob` of the values, ArviZ's
 * `hdi(values, hdi_prob=prob)` for a 1-D sample. The input is not modified. Values equal in
 * number to floor(prob * n) + 1 are inside the interval, so for n = 1 (or all-equal values) it
 * is the single value twice. Throws when the interval cannot be formed (n = 0 or prob >= 1),
 * as ArviZ does; NaN bounds if a value is NaN.
 */
export function hdi(values: ArrayLike<number>, prob = DEFAULT_HDI_PROB): [number, number] {
  return hdiSorted(Float64Array.from(values).sort(), prob);
}
