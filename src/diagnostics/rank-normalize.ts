/**
 * Rank normalisation of draws (Vehtari et al. 2021, "Rank-normalization, folding, and
 * localization: an improved R-hat", Bayesian Analysis 16(2)), as posterior's `z_scale`.
 */
import { drawsPerChain, type Chains } from "./chains.js";
import { normalQuantile } from "./normal-quantile.js";

/** Blom's fractional offset c = 3/8 (Blom 1958), posterior's `backtransform_ranks` default. */
export const BLOM_OFFSET = 3 / 8;

/**
 * 1-based ranks of `values`, ties given their average rank (R `rank(ties.method = "average")`,
 * scipy `rankdata(method="average")`). NaN values must have been excluded by the caller.
 * A value equal to sorted[lo..hi-1] (0-based) holds ranks lo+1..hi, whose average is
 * (lo + 1 + hi) / 2; lo and hi are found by binary search in a sorted copy.
 */
export function averageRanks(values: ArrayLike<number>, sorted?: Float64Array): Float64Array {
  const n = values.length;
  const s = sorted ?? Float64Array.from(values).sort();
  if (s.length !== n) throw new RangeError("averageRanks: sorted copy has the wrong length");
  const ranks = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v = values[i];
    // lo: first index with s[lo] >= v
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (s[mid] < v) lo = mid + 1;
      else hi = mid;
    }
    // hi: first index with s[hi] > v
    let up = lo;
    hi = n;
    while (up < hi) {
      const mid = (up + hi) >>> 1;
      if (s[mid] <= v) up = mid + 1;
      else hi = mid;
    }
    ranks[i] = (lo + 1 + up) / 2;
  }
  return ranks;
}

/**
 * posterior's `z_scale(x, c = 3/8)`: ranks over all chains pooled, then the normal quantile
 * of the back-transformed ranks (r - c) / (S - 2c + 1). Returns new arrays in the same
 * chain layout. `sortedPooled`, if given, must be all the draws of `chains` sorted ascending
 * (it saves a sort).
 */
export function zScale(chains: Chains, c = BLOM_OFFSET, sortedPooled?: Float64Array): Float64Array[] {
  const n = drawsPerChain(chains);
  const m = chains.length;
  const S = m * n;
  const pooled = new Float64Array(S);
  for (let k = 0; k < m; k++) pooled.set(chains[k], k * n);
  const ranks = averageRanks(pooled, sortedPooled);
  const denom = S - 2 * c + 1;
  for (let i = 0; i < S; i++) pooled[i] = normalQuantile((ranks[i] - c) / denom);
  const out: Float64Array[] = new Array(m);
  for (let k = 0; k < m; k++) out[k] = pooled.subarray(k * n, (k + 1) * n);
  return out;
}
