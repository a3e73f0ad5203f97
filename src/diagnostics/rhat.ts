/**
 * Potential scale reduction factor R-hat, as the R package posterior (R/convergence.R:
 * `.rhat`, `rhat_basic`, `rhat`) and ArviZ (stats/diagnostics.py: `_rhat`, `_rhat_rank`).
 *
 * References: Gelman & Rubin (1992); Gelman et al., BDA3 (2013) §11.4; Vehtari, Gelman,
 * Simpson, Carpenter & Bürkner (2021), Bayesian Analysis 16(2) (rank-normalised split-R-hat).
 */
import { drawsPerChain, mapChains, sampleVariance, shouldReturnNaN, sortedDraws, splitChains, type Chains } from "./chains.js";
import { medianSorted } from "./median.js";
import { zScale } from "./rank-normalize.js";

/**
 * posterior's `.rhat(x)` on the chains as given: sqrt((B/W + n - 1) / n) with B/n the variance
 * of the chain means and W the mean within-chain variance (BDA3 §11.4). NaN for fewer
 * than two chains, non-finite draws, or all draws equal.
 */
export function rhatOfChains(chains: Chains): number {
  const n = drawsPerChain(chains);
  const m = chains.length;
  if (m < 2 || shouldReturnNaN(chains)) return Number.NaN;
  const chainMeans = new Float64Array(m);
  let withinSum = 0;
  for (let c = 0; c < m; c++) {
    const x = chains[c];
    let s = 0;
    for (let i = 0; i < n; i++) s += x[i];
    const mu = s / n;
    chainMeans[c] = mu;
    withinSum += sampleVariance(x, mu);
  }
  const varBetween = n * sampleVariance(chainMeans);
  const varWithin = withinSum / m;
  return Math.sqrt((varBetween / varWithin + n - 1) / n);
}

/**
 * Basic R-hat (posterior `rhat_basic`): not split by default here (posterior's default is
 * split = TRUE; the "raw" R-hat of the test vector is the unsplit one).
 */
export function rhatBasic(chains: Chains, split = false): number {
  return rhatOfChains(split ? splitChains(chains) : chains);
}

/** Classic split-R-hat (BDA3 §11.4): R-hat of the chains cut in halves, no rank normalisation. */
export function splitRhat(chains: Chains): number {
  return rhatOfChains(splitChains(chains));
}

/**
 * Tail part of posterior's `rhat`: rank-normalised split-R-hat of the draws folded around the
 * median of all draws, |x - median(x)| (posterior `fold_draws`). `sorted`: all draws sorted.
 */
export function foldedRhatSorted(chains: Chains, sorted: Float64Array): number {
  const med = medianSorted(sorted);
  return rhatOfChains(zScale(splitChains(mapChains(chains, (v) => Math.abs(v - med)))));
}

/** Bulk part of posterior's `rhat`: rank-normalised split-R-hat. */
export function bulkRhat(chains: Chains): number {
  return rhatOfChains(zScale(splitChains(chains)));
}

/** posterior `rhat` with the pooled sorted draws already at hand (for the median). */
export function rhatSorted(chains: Chains, sorted: Float64Array): number {
  if (shouldReturnNaN(chains)) return Number.NaN;
  // max() propagates NaN, as R's max() with NA.
  return Math.max(bulkRhat(chains), foldedRhatSorted(chains, sorted));
}

/**
 * Rank-normalised split-R-hat (posterior `rhat`, Vehtari et al. 2021): the maximum of the
 * bulk R-hat (rank-normalised split chains) and the tail R-hat (rank-normalised split chains
 * of |x - median(x)|).
 */
export function rhat(chains: Chains): number {
  return rhatSorted(chains, sortedDraws(chains));
}
