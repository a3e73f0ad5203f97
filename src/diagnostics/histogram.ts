/**
 * Histogram with numpy's semantics, `np.histogram(values, bins=n, density=True)` (numpy
 * lib/histograms.py, 1.24): n equal-width bins over [min, max] (widened to [v - 0.5, v + 0.5]
 * when all values equal v), edges from `np.linspace`, left-closed bins with the last bin also
 * holding the maximum, and density = count / width / total.
 */

export interface Histogram {
  /** Bin mid-points, (edges[i] + edges[i + 1]) / 2. */
  binMids: Float64Array;
  /** Density per bin: count / bin width / total count, so that it integrates to 1. */
  density: Float64Array;
  /** Raw counts per bin. */
  counts: Float64Array;
  /** The bins + 1 edges. */
  edges: Float64Array;
}

/** `np.linspace(start, stop, num, endpoint=True)` bit for bit (numpy core/function_base.py). */
export function linspace(start: number, stop: number, num: number): Float64Array {
  const out = new Float64Array(num);
  const div = num - 1;
  const delta = stop - start;
  if (div > 0) {
    const step = delta / div;
    if (step === 0) {
      // numpy's special case for denormal steps: y = arange / div * delta.
      for (let i = 0; i < num; i++) out[i] = (i / div) * delta + start;
    } else {
      for (let i = 0; i < num; i++) out[i] = i * step + start;
    }
    out[num - 1] = stop;
  } else if (num === 1) {
    out[0] = 0 * delta + start;
  }
  return out;
}

/**
 * `np.histogram(values, bins, density=True)` for an integer number of bins. Throws (as numpy
 * raises) for a non-positive or non-integer bin count or a non-finite value. An empty input
 * gives the range [0, 1] and NaN densities, as numpy.
 */
export function histogram(values: ArrayLike<number>, bins: number): Histogram {
  if (!Number.isInteger(bins) || bins < 1) throw new RangeError(`histogram: bins must be a positive integer, got ${bins}`);
  const n = values.length;
  let first: number;
  let last: number;
  if (n === 0) {
    first = 0;
    last = 1;
  } else {
    first = Number.POSITIVE_INFINITY;
    last = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < n; i++) {
      const v = values[i];
      if (!Number.isFinite(v)) throw new RangeError(`histogram: autodetected range is not finite (value ${v})`);
      if (v < first) first = v;
      if (v > last) last = v;
    }
  }
  // numpy _get_outer_edges: expand an empty range to avoid dividing by zero.
  if (first === last) {
    first -= 0.5;
    last += 0.5;
  }
  const edges = linspace(first, last, bins + 1);
  const counts = new Float64Array(bins);
  // numpy's fast path for equal bins: estimate the index, then correct by one against the
  // edges ("not guaranteed to give exactly consistent results within ~1 ULP of the bin edges").
  const norm = bins / (last - first);
  for (let i = 0; i < n; i++) {
    const v = values[i];
    let idx = Math.trunc((v - first) * norm);
    if (idx === bins) idx -= 1;
    if (v < edges[idx]) idx -= 1;
    else if (v >= edges[idx + 1] && idx !== bins - 1) idx += 1;
    counts[idx] += 1;
  }
  const density = new Float64Array(bins);
  const binMids = new Float64Array(bins);
  for (let i = 0; i < bins; i++) {
    density[i] = counts[i] / (edges[i + 1] - edges[i]) / n;
    binMids[i] = (edges[i] + edges[i + 1]) / 2;
  }
  return { binMids, density, counts, edges };
}

/**
 * The probability of each integer for integer-valued samples (a count or 0/1 likelihood's predictive draws): bins of
 * unit width centred on the integers min..max, density = count / total — the mass of each value, which is also a
 * density over unit-width bins, so the answer keeps np.histogram's meaning. When that range holds more than `maxBins`
 * integers, each bin covers w = ⌈range / maxBins⌉ whole integers (edges at half-integers, so no integer straddles two
 * bins; the last may hold fewer) and its density is count / (integers held · total): the mean mass of its integers.
 * `cover` widens the range to hold those integers whatever the draws (a 0/1 likelihood's [0, 1]: its answer is always the
 * probability of 0 and of 1, even when every draw is 1). Throws for a non-integer or non-finite value, or fewer than
 * one bin.
 */
export function integerHistogram(values: ArrayLike<number>, maxBins: number, cover?: readonly [number, number]): Histogram {
  if (!Number.isInteger(maxBins) || maxBins < 1) throw new RangeError(`integerHistogram: maxBins must be a positive integer, got ${maxBins}`);
  const n = values.length;
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (!Number.isInteger(v)) throw new RangeError(`integerHistogram: ${v} is not an integer`);
    if (v < first) first = v;
    if (v > last) last = v;
  }
  if (n === 0) first = last = 0;
  if (cover !== undefined) {
    first = Math.min(first, cover[0]);
    last = Math.max(last, cover[1]);
  }
  const range = last - first + 1;
  const width = Math.ceil(range / maxBins);
  const bins = Math.ceil(range / width);
  const counts = new Float64Array(bins);
  for (let i = 0; i < n; i++) counts[Math.floor((values[i] - first) / width)] += 1;
  const density = new Float64Array(bins);
  const binMids = new Float64Array(bins);
  const edges = new Float64Array(bins + 1);
  edges[0] = first - 0.5;
  for (let j = 0; j < bins; j++) {
    // The integers bin j holds (the last may hold fewer than `width`): its edges, centre and mass per integer.
    const lo = first + j * width;
    const hi = Math.min(last, lo + width - 1);
    edges[j + 1] = hi + 0.5;
    binMids[j] = (lo + hi) / 2;
    density[j] = counts[j] / ((hi - lo + 1) * n);
  }
  return { binMids, density, counts, edges };
}
