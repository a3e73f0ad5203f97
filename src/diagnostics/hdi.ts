/**
 * Highest density interval of a sample by ArviZ's rule (arviz stats/stats.py `_hdi`): sort the
 * n values; k = floor(prob * n); among the n - k windows [s[i], s[i + k]] take the narrowest,
 * the first one on ties (numpy `argmin`).
 */
import { selectInPlace } from "./select.js";

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

/** Below this many windows `hdiInPlace` keeps two short insertion lists of the ends it needs. */
const PARTIAL_HDI_WINDOWS = 16;
// Scratch for the two insertion lists. The function runs synchronously, one call at a time per thread, so one pair
// serves every call: an ArrayBuffer allocated per call costs a malloc, a free and a sweep.
const HDI_LOW = new Float64Array(PARTIAL_HDI_WINDOWS);
const HDI_HIGH = new Float64Array(PARTIAL_HDI_WINDOWS);

/**
 * `hdi` computed from only the values it looks at — the same interval, bit for bit: the windows start at the
 * m = n − k smallest values and end at the m largest. For few windows (0.95 of 100 samples: 5) two short insertion
 * lists replace the sort; for more (0.95 of 10,000 draws: 500) two quickselects set the m smallest and the m largest
 * apart and only those are sorted. `a` must be finite and not empty, 0 < prob < 1; it may be reordered.
 */
export function hdiInPlace(a: Float64Array, prob: number): [number, number] {
  const n = a.length;
  const k = Math.floor(prob * n);
  const m = n - k;
  if (2 * m > n) return hdiSorted(a.sort(), prob);
  if (m > PARTIAL_HDI_WINDOWS) {
    // The m smallest to a[0..m) and the m largest to a[n−m..n), each sorted: hdiSorted reads only those (window i
    // is [a[i], a[i + k]], i < m, i + k ≥ n − m), so the rest can stay unsorted.
    selectInPlace(a, m - 1, 0, n - 1);
    selectInPlace(a, n - m, m, n - 1);
    a.subarray(0, m).sort();
    a.subarray(n - m, n).sort();
    return hdiSorted(a, prob);
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

/**
 * The highest-density interval of integer-valued draws (a count or 0/1 likelihood's predictive draws). ArviZ's rule
 * finds the narrowest width w whose window holds floor(prob · n) + 1 of the draws, then takes the first such window;
 * with integer draws many windows share that width, and the first is the lowest one. For a Poisson whose predictive
 * probabilities peak at 14 its 50 % interval came out as [10, 15] rather than [12, 17], holding 10 and 11 and leaving
 * out 16 and 17, which are more probable. Here the windows of w + 1 consecutive integers are ranked by the draws they
 * hold and the first of the most probable is taken (the same width as ArviZ's, so at least as many draws). Sorted
 * values, ascending; finite integers.
 */
export function hdiDiscreteSorted(sorted: ArrayLike<number>, prob: number): [number, number] {
  const [lo, hi] = hdiSorted(sorted, prob);
  const w = hi - lo;
  if (!(w >= 0)) return [lo, hi];
  const n = sorted.length;
  let bestLo = lo;
  let bestHi = hi;
  let bestCount = -1;
  let j = 0;
  for (let i = 0; i < n; i++) {
    if (i > 0 && sorted[i] === sorted[i - 1]) continue;
    const end = sorted[i] + w;
    if (j < i) j = i;
    while (j < n && sorted[j] <= end) j++;
    if (j - i > bestCount) {
      bestCount = j - i;
      bestLo = sorted[i];
      bestHi = sorted[j - 1];
    }
  }
  return [bestLo, bestHi];
}

/** Counts of each integer for hdiDiscreteInPlace, reused (one call at a time per thread). */
let discreteCounts = new Int32Array(0);

/**
 * `hdiDiscreteSorted` of integer-valued draws in any order — the same interval — by counting each integer when the
 * draws span at most about 2n integers (no sort), else by sorting `a` (it may be reordered). `a` finite integers,
 * not empty, 0 < prob < 1.
 */
export function hdiDiscreteInPlace(a: Float64Array, prob: number): [number, number] {
  const n = a.length;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n; i++) {
    const v = a[i];
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const range = max - min + 1;
  const k = Math.floor(prob * n);
  if (!(range <= 2 * n + 64) || n - k <= 0 || !Number.isSafeInteger(min) || !Number.isSafeInteger(max)) return hdiDiscreteSorted(a.sort(), prob);
  if (discreteCounts.length < range) discreteCounts = new Int32Array(Math.max(range, 2 * discreteCounts.length));
  const counts = discreteCounts.fill(0, 0, range);
  for (let i = 0; i < n; i++) counts[a[i] - min]++;
  // The narrowest run of consecutive integers holding k + 1 draws (ArviZ's width), by two pointers.
  const need = k + 1;
  let width = range - 1;
  let sum = 0;
  let lo = 0;
  for (let hi = 0; hi < range; hi++) {
    sum += counts[hi];
    while (sum - counts[lo] >= need) sum -= counts[lo++];
    if (sum >= need && hi - lo < width) width = hi - lo;
  }
  // Of the runs of width + 1 integers, the one holding the most draws, the first on ties. Its ends hold draws: were
  // one empty, a narrower run would hold as many.
  let held = 0;
  for (let i = 0; i <= width; i++) held += counts[i];
  let bestStart = 0;
  let bestHeld = held;
  for (let start = 1; start + width < range; start++) {
    held += counts[start + width] - counts[start - 1];
    if (held > bestHeld) {
      bestHeld = held;
      bestStart = start;
    }
  }
  return [min + bestStart, min + bestStart + width];
}
