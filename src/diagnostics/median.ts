/**
 * Median with numpy's semantics (`np.median`): middle value for odd n, the mean of the two
 * middle values for even n (computed as numpy does, (a + b) / 2), NaN for an empty input or
 * if any value is NaN. R's `median` gives the same values for finite input.
 */

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
