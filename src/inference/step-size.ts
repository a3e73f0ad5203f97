// Step-size adaptation by Nesterov dual averaging (Hoffman & Gelman 2014, §3.2.1; Stan's stepsize_adaptation.hpp),
// and Stan's heuristic for a first step size (base_hmc::init_stepsize).
import { SAMPLER_DEFAULTS } from "../defaults.js";
import type { Rng } from "../random/rng.js";
import { leapfrog } from "./integrator.js";
import { hamiltonian, sampleMomentum } from "./metric.js";
import { copyPoint, createPoint, type LogDensityGradient, type PhasePoint } from "./point.js";
import { BayesServeError } from "../errors.js";

/** Stan's defaults (stan::services::util, adapt_delta etc.; Hoffman & Gelman 2014 §3.2.1). */
export const DUAL_AVERAGING_DEFAULTS = { delta: SAMPLER_DEFAULTS.targetAccept, gamma: 0.05, kappa: 0.75, t0: 10 } as const;

export interface DualAveragingState {
  counter: number;
  sBar: number;
  xBar: number;
  mu: number;
}

export interface DualAveragingSettings {
  delta: number;
  gamma: number;
  kappa: number;
  t0: number;
}

/** mu = log(10 ε): aim the shrinkage at a step size larger than the first guess (Stan's set_mu). */
export function dualAveragingInit(epsilon: number): DualAveragingState {
  return { counter: 0, sBar: 0, xBar: 0, mu: Math.log(10 * epsilon) };
}

/** One update from an acceptance statistic; returns the next step size. Mutates `s`. */
export function dualAveragingUpdate(s: DualAveragingState, acceptStat: number, cfg: DualAveragingSettings): number {
  s.counter++;
  const stat = acceptStat > 1 ? 1 : acceptStat;
  const eta = 1 / (s.counter + cfg.t0);
  s.sBar = (1 - eta) * s.sBar + eta * (cfg.delta - stat);
  const x = s.mu - (s.sBar * Math.sqrt(s.counter)) / cfg.gamma;
  const xEta = Math.pow(s.counter, -cfg.kappa);
  s.xBar = (1 - xEta) * s.xBar + xEta * x;
  return Math.exp(x);
}

/** The step size to sample with once warm-up ends: exp(x̄). */
export function dualAveragingFinal(s: DualAveragingState): number {
  return Math.exp(s.xBar);
}

/** Stan's init_stepsize upper limit: beyond it the posterior is taken to be improper. */
export const MAX_INIT_STEPSIZE = 1e7;

/**
 * Doubles or halves ε until the acceptance probability of one leapfrog step crosses 0.8 (Stan's init_stepsize).
 * Leaves `z` unchanged. Throws a clear error when ε explodes (improper posterior) or collapses to 0.
 */
export function initStepSize(
  z: PhasePoint,
  epsilon: number,
  invMetric: Float64Array,
  logDensity: LogDensityGradient,
  rng: Rng,
  scratch: PhasePoint = createPoint(z.q.length),
  /** Counts the log-density gradients the search evaluates (one per trial step). */
  count: { gradients: number } = { gradients: 0 },
): number {
  if (epsilon === 0 || epsilon > MAX_INIT_STEPSIZE || Number.isNaN(epsilon)) return epsilon;
  const LOG_08 = Math.log(0.8);
  const trial = (): number => {
    copyPoint(z, scratch);
    sampleMomentum(scratch.p, invMetric, rng);
    const h0 = hamiltonian(scratch, invMetric);
    leapfrog(scratch, epsilon, invMetric, logDensity);
    count.gradients++;
    let h = hamiltonian(scratch, invMetric);
    if (Number.isNaN(h)) h = Infinity;
    return h0 - h;
  };
  const direction = trial() > LOG_08 ? 1 : -1;
  for (;;) {
    const deltaH = trial();
    if (direction === 1 && !(deltaH > LOG_08)) break;
    if (direction === -1 && !(deltaH < LOG_08)) break;
    epsilon = direction === 1 ? epsilon * 2 : epsilon * 0.5;
    if (epsilon > MAX_INIT_STEPSIZE)
      throw new BayesServeError(
        "SAMPLER_STEPSIZE",
        "the step size grew past 1e7 while searching for a usable one: the posterior is improper (a parameter without a proper prior or likelihood?)",
      );
    if (epsilon === 0)
      throw new BayesServeError(
        "SAMPLER_STEPSIZE",
        "no acceptably small step size could be found: the log-density is not continuous or not finite around the initial values",
      );
  }
  return epsilon;
}
