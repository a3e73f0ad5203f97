/**
 * Rank normalisation of draws (Vehtari et al. 2021, "Rank-normalization, folding, and
 * localization: an improved R-hat", Bayesian Analysis 16(2), §4), as posterior's `z_scale`.
 */
import { drawsPerChain, type Chains } from "./chains.js";
import { normalQuantile } from "./normal-quantile.js";

/** Blom's fractional offset c = 3/8 (Blom 1958), posterior's `backtransform_ranks` default. */
export const BLOM_OFFSET = 3 / 8;

/**
 * 1-based ranks of `values`, ties given their average rank (R `rank(ties.method = "average")`,
 * scipy `rankdata(method="average")`). NaN values must have been excluded by the caller.
 */
export function averageRanks(values: ArrayLike<number>): Float64Array {
  const n = values.length;
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((i, j) => values[i] - values[j]);
  const ranks = new Float64Array(n);
  let start = 0;
  while (start < n) {
    const v = values[order[start]];
    let end = start + 1;
    while (end < n && values[order[end]] === v) end++;
    // Positions start..end-1 (0-based) hold ranks start+1..end; their average is (start+1+end)/2.
    const r = (start + 1 + end) / 2;
    for (let k = start; k < end; k++) ranks[order[k]] = r;
    start = end;
  }
  return ranks;
}

/**
 * posterior's `z_scale(x, c = 3/8)`: ranks over all chains pooled, then the normal quantile
 * of the back-transformed ranks (r - c) / (S - 2c + 1). Returns new arrays in the same
 * chain layout.
 */
export function zScale(chains: Chains, c = BLOM_OFFSET): Float64Array[] {
  const n = drawsPerChain(chains);
  const m = chains.length;
  const S = m * n;
  const pooled = new Float64Array(S);
  for (let k = 0; k < m; k++) pooled.set(chains[k], k * n);
  const ranks = averageRanks(pooled);
  const denom = S - 2 * c + 1;
  for (let i = 0; i < S; i++) pooled[i] = normalQuantile((ranks[i] - c) / denom);
  const out: Float64Array[] = new Array(m);
  for (let k = 0; k < m; k++) out[k] = pooled.subarray(k * n, (k + 1) * n);
  return out;
}
