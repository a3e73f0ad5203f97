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
 * A value equal to sorted[lo..up-1] (0-based) holds ranks lo+1..up, whose average is
 * (lo + 1 + up) / 2; lo and up are found by binary search in a sorted copy (up only when the
 * value has a tie).
 */
export function averageRanks(values: ArrayLike<number>, sorted?: Float64Array): Float64Array {
  const n = values.length;
  const s = sorted ?? Float64Array.from(values).sort();
  if (s.length !== n) throw new RangeError("averageRanks: sorted copy has the wrong length");
  const ranks = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v = values[i];
    const lo = firstNotBelow(s, v);
    const up = lo + 1 < n && s[lo + 1] === v ? firstAbove(s, v) : lo + 1;
    ranks[i] = (lo + 1 + up) / 2;
  }
  return ranks;
}

// The two searches add each comparison's outcome to the index instead of branching on it: on draws in random order
// a branch is mispredicted half the time, and these searches were ~4× faster (bench/README.md, "Diagnostics").

/** The first index i of ascending `s` with s[i] >= v (s.length if none). */
function firstNotBelow(s: Float64Array, v: number): number {
  const n = s.length;
  if (n === 0) return 0;
  let base = 0;
  for (let len = n; len > 1;) {
    const half = len >>> 1;
    base += half * +(s[base + half - 1] < v);
    len -= half;
  }
  return base + +(s[base] < v);
}

/** The first index i of ascending `s` with s[i] > v (s.length if none). */
function firstAbove(s: Float64Array, v: number): number {
  const n = s.length;
  if (n === 0) return 0;
  let base = 0;
  for (let len = n; len > 1;) {
    const half = len >>> 1;
    base += half * +(s[base + half - 1] <= v);
    len -= half;
  }
  return base + +(s[base] <= v);
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
