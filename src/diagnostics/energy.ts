/**
 * Energy Bayesian fraction of missing information (E-BFMI), Betancourt (2016), "Diagnosing
 * suboptimal cotangent disintegrations in Hamiltonian Monte Carlo", arXiv:1604.00695, eq. (5)
 * estimator, as ArviZ `bfmi` (stats/diagnostics.py `_bfmi`): per chain,
 * mean((E_n - E_{n-1})^2) / var(E) with the variance's denominator n - 1.
 * Values below 0.3 are commonly taken to indicate poor exploration of the energy distribution.
 */
import { sampleVariance } from "./chains.js";

/** E-BFMI of one chain's energies (NaN for fewer than 2 draws). */
export function ebfmiOfChain(energy: ArrayLike<number>): number {
  const n = energy.length;
  if (n < 2) return Number.NaN;
  let num = 0;
  for (let i = 1; i < n; i++) {
    const d = energy[i] - energy[i - 1];
    num += d * d;
  }
  num /= n - 1;
  return num / sampleVariance(energy);
}

/** E-BFMI per chain, from the sampler's Hamiltonian energy at each draw (one array per chain). */
export function ebfmi(energyPerChain: readonly ArrayLike<number>[]): Float64Array {
  const out = new Float64Array(energyPerChain.length);
  for (let c = 0; c < energyPerChain.length; c++) out[c] = ebfmiOfChain(energyPerChain[c]);
  return out;
}
