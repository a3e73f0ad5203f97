// One chain of adaptive NUTS, as Stan's run_adaptive_sampler does it: random initial values, a first step size,
// warm-up with dual averaging and windowed diagonal metric adaptation, then sampling with both frozen.
import { BayesServeError } from "../errors.js";
import { Rng } from "../model/random.js";
import { createNutsKernel, DEFAULT_MAX_TREE_DEPTH } from "./nuts.js";
import { createPoint, type LogDensityGradient } from "./point.js";
import {
  DUAL_AVERAGING_DEFAULTS,
  dualAveragingFinal,
  dualAveragingInit,
  dualAveragingUpdate,
  initStepSize,
} from "./step-size.js";
import { learnVariance, welfordInit, windowScheduleInit } from "./windowed-adaptation.js";

export interface SamplerSettings {
  /** Post-warm-up draws per chain. */
  draws: number;
  /** Warm-up (tuning) iterations per chain. */
  tune: number;
  seed: number;
  maxTreeDepth: number;
  /** Target acceptance statistic (Stan's adapt_delta). */
  targetAccept: number;
  /** Initial values are uniform(−initRadius, initRadius) on the unconstrained space (Stan: 2). */
  initRadius: number;
}

export const DEFAULT_SAMPLER_SETTINGS: SamplerSettings = {
  draws: 1000,
  tune: 1000,
  seed: 0,
  maxTreeDepth: DEFAULT_MAX_TREE_DEPTH,
  targetAccept: DUAL_AVERAGING_DEFAULTS.delta,
  initRadius: 2,
};

/** Per-draw sampler statistics, in this column order (Stan's names without the trailing "__"). */
export const SAMPLE_STATS = ["lp", "accept_stat", "step_size", "tree_depth", "n_leapfrog", "diverging", "energy"] as const;

export interface ChainResult {
  chain: number;
  /** Unconstrained draws, [draw][param]. */
  unconstrained: Float64Array;
  /** [draw][stat] in SAMPLE_STATS order. */
  stats: Float64Array;
  stepSize: number;
  invMetric: Float64Array;
  warmupDivergences: number;
  seconds: number;
}

/** Stan's limit on attempts to find initial values with a finite log-density and gradient. */
export const MAX_INIT_TRIES = 100;

export interface ChainTarget {
  dim: number;
  paramNames: string[];
  logDensityGradient: LogDensityGradient;
}

export function runChain(
  target: ChainTarget,
  settings: SamplerSettings,
  chain: number,
  onProgress?: (iteration: number, total: number, warmup: boolean) => void,
): ChainResult {
  const started = performance.now();
  const { dim, logDensityGradient } = target;
  const rng = new Rng(settings.seed, chain);
  const z = createPoint(dim);

  // Initial values: uniform(−2, 2) until the log-density and its gradient are finite.
  let ok = false;
  let lastProblem = "";
  for (let attempt = 0; attempt < MAX_INIT_TRIES && !ok; attempt++) {
    for (let i = 0; i < dim; i++) z.q[i] = (2 * rng.uniform() - 1) * settings.initRadius;
    z.logp = logDensityGradient(z.q, z.grad);
    ok = Number.isFinite(z.logp);
    if (!ok) lastProblem = `log-density is ${z.logp}`;
    for (let i = 0; ok && i < dim; i++)
      if (!Number.isFinite(z.grad[i])) {
        ok = false;
        lastProblem = `gradient of ${target.paramNames[i]} is ${z.grad[i]}`;
      }
  }
  if (!ok)
    throw new BayesServeError(
      "SAMPLER_DIVERGED",
      `chain ${chain}: no initial values with a finite log-density in ${MAX_INIT_TRIES} tries (last: ${lastProblem}); check the data and the priors`,
    );

  const invMetric = new Float64Array(dim).fill(1);
  const kernel = createNutsKernel(dim, settings.maxTreeDepth);
  const cfg = { ...DUAL_AVERAGING_DEFAULTS, delta: settings.targetAccept };
  const scratch = createPoint(dim);
  let epsilon = initStepSize(z, 1, invMetric, logDensityGradient, rng, scratch);
  let da = dualAveragingInit(epsilon);
  const windows = windowScheduleInit(settings.tune);
  const welford = welfordInit(dim);

  const nStats = SAMPLE_STATS.length;
  const unconstrained = new Float64Array(settings.draws * dim);
  const stats = new Float64Array(settings.draws * nStats);
  let warmupDivergences = 0;
  const total = settings.tune + settings.draws;
  const progressEvery = Math.max(1, Math.floor(total / 100));

  for (let it = 0; it < total; it++) {
    const warmup = it < settings.tune;
    const info = kernel.transition(z, epsilon, invMetric, logDensityGradient, rng);
    if (warmup) {
      if (info.divergent) warmupDivergences++;
      epsilon = dualAveragingUpdate(da, info.acceptStat, cfg);
      if (learnVariance(windows, welford, invMetric, z.q)) {
        epsilon = initStepSize(z, epsilon, invMetric, logDensityGradient, rng, scratch);
        da = dualAveragingInit(epsilon);
        checkCoordinateSteps(epsilon, invMetric, target.paramNames, chain, it);
      }
      if (it === settings.tune - 1) epsilon = dualAveragingFinal(da);
      checkStepSize(epsilon, chain, it);
    } else {
      const d = it - settings.tune;
      // Stan records the step size used for the draw.
      const row = d * nStats;
      stats[row] = z.logp;
      stats[row + 1] = info.acceptStat;
      stats[row + 2] = epsilon;
      stats[row + 3] = info.treeDepth;
      stats[row + 4] = info.nLeapfrog;
      stats[row + 5] = info.divergent ? 1 : 0;
      stats[row + 6] = info.energy;
      unconstrained.set(z.q, d * dim);
    }
    for (let i = 0; i < dim; i++)
      if (!Number.isFinite(z.q[i]) || Math.abs(z.q[i]) > 1e100)
        throw new BayesServeError(
          "SAMPLER_DIVERGED",
          `chain ${chain}, iteration ${it}: parameter ${target.paramNames[i]} drifted to ${z.q[i]} on the unconstrained scale; the posterior is improper (check its prior and that data inform it)`,
        );
    if (onProgress && (it % progressEvery === 0 || it === total - 1)) onProgress(it + 1, total, warmup);
  }
  if (settings.tune === 0) checkStepSize(epsilon, chain, 0);
  return {
    chain,
    unconstrained,
    stats,
    stepSize: epsilon,
    invMetric,
    warmupDivergences,
    seconds: (performance.now() - started) / 1000,
  };
}

/** Below this the sampler cannot move in any useful number of steps; above it the posterior cannot be proper. */
const MIN_STEP_SIZE = 1e-12;
const MAX_STEP_SIZE = 1e7;

/**
 * After a metric update the scale of a direction no likelihood or prior bounds moves into the inverse metric (its
 * variance estimate grows by orders of magnitude each window) while ε itself stays near 1, so `checkStepSize` alone
 * never sees it. The step a coordinate actually takes is ε·sqrt(M⁻¹ᵢ); past MAX_STEP_SIZE the posterior is improper.
 */
function checkCoordinateSteps(epsilon: number, invMetric: Float64Array, paramNames: string[], chain: number, it: number): void {
  for (let i = 0; i < invMetric.length; i++) {
    const step = epsilon * Math.sqrt(invMetric[i]);
    if (!(step <= MAX_STEP_SIZE))
      throw new BayesServeError(
        "SAMPLER_STEPSIZE",
        `chain ${chain}, iteration ${it}: the step size for parameter ${paramNames[i]} exploded to ${step.toExponential(2)} (its warm-up variance is ${invMetric[i].toExponential(2)}); the posterior is improper in ${paramNames[i]} (check its prior and that data inform it)`,
      );
  }
}

function checkStepSize(epsilon: number, chain: number, it: number): void {
  if (!(epsilon >= MIN_STEP_SIZE))
    throw new BayesServeError(
      "SAMPLER_STEPSIZE",
      `chain ${chain}, iteration ${it}: the step size collapsed to ${epsilon}; the posterior has a region the sampler cannot resolve (extreme curvature, a discontinuity, or non-identified parameters)`,
    );
  if (!(epsilon <= MAX_STEP_SIZE))
    throw new BayesServeError(
      "SAMPLER_STEPSIZE",
      `chain ${chain}, iteration ${it}: the step size exploded to ${epsilon}; the posterior is improper`,
    );
}
