/**
 * Effective sample sizes, as the R package posterior (R/convergence.R: `.ess`, `ess_basic`,
 * `ess_bulk`, `ess_tail`, `ess_quantile`, `ess_mean`, `ess_sd`) and ArviZ
 * (stats/diagnostics.py: `_ess`, `_ess_bulk`, ...).
 *
 * References: Geyer (1992), "Practical Markov chain Monte Carlo", Statistical Science 7(4);
 * Vehtari, Gelman, Simpson, Carpenter & Bürkner (2021), "Rank-normalization, folding, and
 * localization: an improved R-hat for assessing convergence of MCMC", Bayesian Analysis 16(2).
 */
import { autocovarianceInto, autocovariancePairInto, autocovarianceWorkspace } from "./autocovariance.js";
import { drawsPerChain, mapChains, meanOfChains, sampleVariance, shouldReturnNaN, sortedDraws, splitChains, type Chains } from "./chains.js";
import { quantileSorted } from "./quantile.js";
import { zScale } from "./rank-normalize.js";

/**
 * posterior's `.ess(x)`: ESS of the chains as given (no splitting, no transformation).
 *
 * - NaN if a chain has fewer than 3 draws, a draw is non-finite, or all draws are equal
 *   (posterior's `should_return_NA`; older posterior/ArviZ returned the draw count instead).
 * - Multi-chain variance estimate var+ (BDA3 §11.4): mean within-chain variance times
 *   (n-1)/n plus the variance of the chain means.
 * - Autocorrelations rho_t = 1 - (W - mean_chains acov_t) / var+ (BDA3 §11.5; Stan Reference
 *   Manual, "Effective sample size"), truncated by Geyer's initial positive sequence on pairs
 *   (rho_{2k} + rho_{2k+1} > 0) and made monotone by Geyer's initial monotone sequence.
 * - tau = -1 + 2 sum_{t < max_t} rho_t + rho_{max_t}: the last, even, term is added once
 *   (posterior's "improved estimate", which reduces the variance for antithetic chains,
 *   Vehtari et al. 2021); tau is capped below at 1/log10(S), so that ESS <= S log10(S).
 */
export function essOfChains(chains: Chains): number {
  const n = drawsPerChain(chains);
  const m = chains.length;
  if (n < 3 || shouldReturnNaN(chains)) return Number.NaN;

  // Mean over chains of the autocovariance at each lag (posterior: rowMeans2(acov)); chains
  // are transformed two at a time.
  const ws = autocovarianceWorkspace(n);
  const acovA = new Float64Array(n);
  const acovB = new Float64Array(n);
  const acovMeans = new Float64Array(n);
  for (let c = 0; c < m; c += 2) {
    if (c + 1 < m) {
      autocovariancePairInto(chains[c], chains[c + 1], acovA, acovB, ws);
      for (let t = 0; t < n; t++) acovMeans[t] += acovA[t] + acovB[t];
    } else {
      autocovarianceInto(chains[c], acovA, ws);
      for (let t = 0; t < n; t++) acovMeans[t] += acovA[t];
    }
  }
  const chainMeans = new Float64Array(m);
  for (let c = 0; c < m; c++) {
    let s = 0;
    const x = chains[c];
    for (let i = 0; i < n; i++) s += x[i];
    chainMeans[c] = s / n;
  }
  for (let t = 0; t < n; t++) acovMeans[t] /= m;

  const meanVar = (acovMeans[0] * n) / (n - 1); // W: mean within-chain variance
  let varPlus = (meanVar * (n - 1)) / n;
  if (m > 1) varPlus += sampleVariance(chainMeans);

  // Geyer's initial positive sequence (posterior `.ess`, 0-based lags here; the R loop
  // condition `t < NROW(acov) - 5` is kept exactly).
  const rho = new Float64Array(n);
  let t = 0;
  let rhoEven = 1;
  rho[0] = rhoEven;
  let rhoOdd = 1 - (meanVar - acovMeans[1]) / varPlus;
  rho[1] = rhoOdd;
  while (t < n - 5 && !Number.isNaN(rhoEven + rhoOdd) && rhoEven + rhoOdd > 0) {
    t += 2;
    rhoEven = 1 - (meanVar - acovMeans[t]) / varPlus;
    rhoOdd = 1 - (meanVar - acovMeans[t + 1]) / varPlus;
    if (rhoEven + rhoOdd >= 0) {
      rho[t] = rhoEven;
      rho[t + 1] = rhoOdd;
    }
  }
  const maxT = t;
  // Used in the improved (antithetic-robust) estimate.
  if (rhoEven > 0) rho[maxT] = rhoEven;

  // Geyer's initial monotone sequence.
  t = 0;
  while (t <= maxT - 4) {
    t += 2;
    if (rho[t] + rho[t + 1] > rho[t - 2] + rho[t - 1]) {
      rho[t] = (rho[t - 2] + rho[t - 1]) / 2;
      rho[t + 1] = rho[t];
    }
  }

  // tau = -1 + 2 * sum(rho_hat_t[1:max_t]) + rho_hat_t[max_t + 1] (R, 1-based). When
  // max_t = 0, R's `1:0` is c(1, 0) and selects rho[0] alone; that quirk is kept.
  let sum = 0;
  if (maxT === 0) sum = rho[0];
  else for (let k = 0; k < maxT; k++) sum += rho[k];
  let tau = -1 + 2 * sum + rho[maxT];
  const S = m * n;
  // Safety cap: ESS at most S * log10(S) (posterior `tau_bound`).
  const tauBound = 1 / Math.log10(S);
  if (tau < tauBound) tau = tauBound;
  return S / tau;
}

/**
 * Basic ESS (posterior `ess_basic`, BDA3 / Vehtari et al. 2021). posterior defaults to
 * split = TRUE; here `split` defaults to false (the "raw" ESS of the test vector).
 */
export function essBasic(chains: Chains, split = false): number {
  return essOfChains(split ? splitChains(chains) : chains);
}

/** Bulk-ESS: ESS of the rank-normalised split chains (posterior `ess_bulk`). */
export function essBulk(chains: Chains): number {
  if (shouldReturnNaN(chains)) return Number.NaN;
  return essOfChains(zScale(splitChains(chains)));
}

/** ESS of the mean: ESS of the split chains (posterior `ess_mean`). */
export function essMean(chains: Chains): number {
  return essOfChains(splitChains(chains));
}

/**
 * ESS for the standard deviation: ESS of the squared deviations from the pooled mean,
 * `ess_mean((x - mean(x))^2)` — the posterior version (1.x) that produced the ArviZ
 * reference vector. (posterior >= 1.6 uses |x - mean(x)| instead.)
 */
export function essSd(chains: Chains): number {
  if (shouldReturnNaN(chains)) return Number.NaN;
  const mu = meanOfChains(chains);
  return essMean(
    mapChains(chains, (v) => {
      const d = v - mu;
      return d * d;
    }),
  );
}

/** posterior `.ess_quantile` with the pooled sorted draws already at hand. */
export function essQuantileSorted(chains: Chains, prob: number, sorted: Float64Array): number {
  if (!(prob >= 0 && prob <= 1)) throw new RangeError(`essQuantile: prob must be in [0, 1], got ${prob}`);
  if (shouldReturnNaN(chains)) return Number.NaN;
  // posterior: prob == 1 is replaced by (S - 0.5) / S so that the indicator is not constant.
  const p = prob === 1 ? (sorted.length - 0.5) / sorted.length : prob;
  const q = quantileSorted(sorted, p);
  // ESS of the indicator I(x <= q) over the split chains.
  return essOfChains(splitChains(mapChains(chains, (v) => (v <= q ? 1 : 0))));
}

/** ESS for the quantile at `prob`: ESS of the indicator x <= quantile(x, prob) (posterior `ess_quantile`). */
export function essQuantile(chains: Chains, prob: number): number {
  return essQuantileSorted(chains, prob, sortedDraws(chains));
}

/** ESS for the median (posterior `ess_median`). */
export function essMedian(chains: Chains): number {
  return essQuantile(chains, 0.5);
}

/** posterior `ess_tail` with the pooled sorted draws already at hand. */
export function essTailSorted(chains: Chains, sorted: Float64Array): number {
  const q05 = essQuantileSorted(chains, 0.05, sorted);
  const q95 = essQuantileSorted(chains, 0.95, sorted);
  // R's min() propagates NA, as Math.min propagates NaN.
  return Math.min(q05, q95);
}

/** Tail-ESS: minimum of the ESS of the 5% and 95% quantiles (posterior `ess_tail`). */
export function essTail(chains: Chains): number {
  return essTailSorted(chains, sortedDraws(chains));
}
