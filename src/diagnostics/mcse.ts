/**
 * Monte Carlo standard errors, as the R package posterior (R/convergence.R: `mcse_mean`,
 * `mcse_sd`, `mcse_quantile`, `mcse_median`), in the version that produced the ArviZ test
 * vector (ArviZ stats/diagnostics.py `_mcse_*` mirror it).
 */
import { betaQuantile } from "./beta-quantile.js";
import { meanOfChains, sdOfChains, sortedDraws, mapChains, type Chains } from "./chains.js";
import { essMean, essQuantileSorted } from "./ess.js";

/** MCSE of the mean: sd(x) / sqrt(ess_mean(x)) (posterior `mcse_mean`; BDA3 §11.5). */
export function mcseMean(chains: Chains): number {
  return sdOfChains(chains) / Math.sqrt(essMean(chains));
}

/**
 * MCSE of the standard deviation without assuming normality (posterior `mcse_sd`): with
 * c = x - mean(x), the variance of the variance estimate is (E[c^4] - E[c^2]^2) / ess, with
 * ess = ess_mean(c^2) (Kenney & Keeping 1951, p. 141), and by the first-order Taylor
 * expansion of sqrt, Var(sd) ≈ Var(var) / (4 E[c^2]).
 */
export function mcseSd(chains: Chains): number {
  const mu = meanOfChains(chains);
  const c2 = mapChains(chains, (v) => {
    const d = v - mu;
    return d * d;
  });
  const ess = essMean(c2);
  let s2 = 0;
  let s4 = 0;
  let n = 0;
  for (const x of c2) {
    for (let i = 0; i < x.length; i++) {
      s2 += x[i];
      s4 += x[i] * x[i];
    }
    n += x.length;
  }
  const eVar = s2 / n;
  const varVar = (s4 / n - eVar * eVar) / ess;
  const varSd = varVar / eVar / 4;
  return Math.sqrt(varSd);
}

/**
 * Central interval of the standard normal: Φ(-1) and Φ(1), the probabilities posterior's
 * `.mcse_quantile` passes to qbeta (rounded there to 7 digits, kept as written).
 */
const PHI_MINUS_1 = 0.1586553;
const PHI_PLUS_1 = 0.8413447;

/** posterior `.mcse_quantile` with the pooled sorted draws already at hand. */
export function mcseQuantileSorted(chains: Chains, prob: number, sorted: Float64Array): number {
  const ess = essQuantileSorted(chains, prob, sorted);
  if (Number.isNaN(ess)) return Number.NaN;
  // The ±1 sd interval of the Beta(ess p + 1, ess (1-p) + 1) posterior of the quantile's rank
  // (Vehtari et al. 2021, MCSE of quantiles), mapped back to the ordered draws.
  const a = ess * prob + 1;
  const b = ess * (1 - prob) + 1;
  const lower = betaQuantile(PHI_MINUS_1, a, b);
  const upper = betaQuantile(PHI_PLUS_1, a, b);
  const S = sorted.length;
  // R, 1-based: th1 <- ssims[max(floor(a[1] * S), 1)]; th2 <- ssims[min(ceiling(a[2] * S), S)]
  const i1 = Math.max(Math.floor(lower * S), 1);
  const i2 = Math.min(Math.ceil(upper * S), S);
  return (sorted[i2 - 1] - sorted[i1 - 1]) / 2;
}

/** MCSE of the quantile at `prob` (posterior `mcse_quantile`). */
export function mcseQuantile(chains: Chains, prob: number): number {
  return mcseQuantileSorted(chains, prob, sortedDraws(chains));
}

/** MCSE of the median (posterior `mcse_median`). */
export function mcseMedian(chains: Chains): number {
  return mcseQuantile(chains, 0.5);
}
