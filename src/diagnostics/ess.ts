/**
 * Effective sample sizes, as the R package posterior (R/convergence.R: `.ess`, `ess_basic`,
 * `ess_bulk`, `ess_tail`, `ess_quantile`, `ess_mean`, `ess_sd`) and ArviZ
 * (stats/diagnostics.py: `_ess`, `_ess_bulk`, ...).
 *
 * References: Geyer (1992), "Practical Markov chain Monte Carlo", Statistical Science 7(4);
 * Vehtari, Gelman, Simpson, Carpenter & Bürkner (2021), "Rank-normalization, folding, and
 * localization: an improved R-hat for assessing convergence of MCMC", Bayesian Analysis 16(2).
 */
import { autocovarianceInto, autocovariancePairInto, autocovarianceWorkspace, centredChains, meanAutocovarianceLags } from "./autocovariance.js";
import { nextPowerOfTwo } from "./fft.js";
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

  // The mean over chains of the autocovariance at each lag (posterior: rowMeans2(acov)), summed lag by lag while
  // Geyer's sequence needs few lags — it ends within a few lags for a well-mixed chain — and for every lag by FFT once
  // it needs more than DIRECT_LAGS(n): the same estimate, equal to rounding (lag 0 exactly).
  const acov = new Float64Array(n);
  const { centred, sumsOfSquares } = centredChains(chains, n);
  const directLimit = Math.min(n, directLags(n));
  let known = Math.min(directLimit, FIRST_LAGS);
  meanAutocovarianceLags(centred, sumsOfSquares, m, n, acov, 0, known);
  const chainMeans = new Float64Array(m);
  for (let c = 0; c < m; c++) {
    let s = 0;
    const x = chains[c];
    for (let i = 0; i < n; i++) s += x[i];
    chainMeans[c] = s / n;
  }
  const meanVar = (acov[0] * n) / (n - 1); // W: mean within-chain variance
  let varPlus = (meanVar * (n - 1)) / n;
  if (m > 1) varPlus += sampleVariance(chainMeans);

  const rho = new Float64Array(n);
  let tau = geyerTau(acov, known, n, m, meanVar, varPlus, rho);
  while (tau === null) {
    if (known < directLimit) {
      const to = Math.min(directLimit, 2 * known);
      meanAutocovarianceLags(centred, sumsOfSquares, m, n, acov, known, to);
      known = to;
    } else {
      meanAutocovarianceFft(chains, n, acov);
      known = n;
    }
    tau = geyerTau(acov, known, n, m, meanVar, varPlus, rho);
  }
  return (m * n) / tau;
}

/** Lags summed directly before the first check of Geyer's sequence: enough for most well-mixed chains. */
const FIRST_LAGS = 8;

/**
 * The lags summed directly (m·n multiply-adds each) before one FFT of every lag takes over. The FFT of every lag costs
 * as much as 6–10 × log2(its length) lags summed directly (bench/README.md, "Diagnostics"); stopping at 3 × log2 keeps
 * a sequence that needs the FFT after all within ~1.5× the FFT's cost.
 */
function directLags(n: number): number {
  return 2 * Math.ceil(1.5 * Math.log2(nextPowerOfTwo(2 * n))); // even: Geyer's sequence reads lags in pairs
}

/** Every lag's autocovariance by FFT, averaged over chains; chains are transformed two at a time. */
function meanAutocovarianceFft(chains: Chains, n: number, out: Float64Array): void {
  const m = chains.length;
  const ws = autocovarianceWorkspace(n);
  const acovA = new Float64Array(n);
  const acovB = new Float64Array(n);
  out.fill(0);
  for (let c = 0; c < m; c += 2) {
    if (c + 1 < m) {
      autocovariancePairInto(chains[c], chains[c + 1], acovA, acovB, ws);
      for (let t = 0; t < n; t++) out[t] += acovA[t] + acovB[t];
    } else {
      autocovarianceInto(chains[c], acovA, ws);
      for (let t = 0; t < n; t++) out[t] += acovA[t];
    }
  }
  for (let t = 0; t < n; t++) out[t] /= m;
}

/**
 * τ = −1 + 2 Σ ρ̂_t from the mean autocovariances, Geyer's initial positive and monotone sequences as posterior's
 * `.ess` (0-based lags here; the R loop condition `t < NROW(acov) - 5` kept exactly); null when it would read a lag
 * at or beyond `known`. `rho` is scratch of n numbers.
 */
function geyerTau(acov: Float64Array, known: number, n: number, m: number, meanVar: number, varPlus: number, rho: Float64Array): number | null {
  if (known < 2) return null;
  rho.fill(0); // a sequence that stops at lag t leaves ρ̂_t unset (0, as in posterior's fresh vector)
  let t = 0;
  let rhoEven = 1;
  rho[0] = rhoEven;
  let rhoOdd = 1 - (meanVar - acov[1]) / varPlus;
  rho[1] = rhoOdd;
  while (t < n - 5 && !Number.isNaN(rhoEven + rhoOdd) && rhoEven + rhoOdd > 0) {
    t += 2;
    if (t + 1 >= known) return null;
    rhoEven = 1 - (meanVar - acov[t]) / varPlus;
    rhoOdd = 1 - (meanVar - acov[t + 1]) / varPlus;
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
  // Safety cap: ESS at most S * log10(S) (posterior `tau_bound`).
  const tauBound = 1 / Math.log10(m * n);
  if (tau < tauBound) tau = tauBound;
  return tau;
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
