// One chain of adaptive NUTS, as Stan's run_adaptive_sampler does it: random initial values, a first step size,
// warm-up (warmup.ts: dual averaging of the step size and one of the metric adaptations), then sampling with both
// frozen. A warm start takes the step size, metric and initial point from an earlier fit of the same model and adapts
// only the step size.
import { SAMPLER_DEFAULTS } from "../defaults.js";
import { BayesServeError } from "../errors.js";
import { Rng } from "../random/rng.js";
import { checkPosition, checkStepSize, type ChainLoop, type ChainTarget, nextReportedIteration, reportProgress } from "./chain-loop.js";
import { inverseMetricDiagonal, type LowRankMetric, lowRankMetricInit, toTheta, transformedDensity } from "./low-rank-adaptation.js";
import { createNutsKernel, SAMPLE_STATS } from "./nuts.js";
import { createWasmNutsKernel } from "./nuts-wasm.js";
import { createPoint, type PhasePoint } from "./point.js";
import { frozenMetric, gradientDiagonal, lowRankPlusDiagonal, type MetricAdaptation, warmUp, windowedVariance } from "./warmup.js";

export type { ChainTarget } from "./chain-loop.js";

/**
 * The metric adaptations: Stan's windowed variance of draws, nutpie's gradient-based diagonal estimate, or nutpie's
 * low-rank-plus-diagonal one.
 */
export const ADAPTATIONS = ["stan", "grad-diag", "low-rank"] as const;
export type Adaptation = (typeof ADAPTATIONS)[number];

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
  /** How the diagonal metric is learnt during warm-up. */
  adaptation: Adaptation;
}

export const DEFAULT_SAMPLER_SETTINGS: SamplerSettings = {
  draws: SAMPLER_DEFAULTS.draws,
  tune: SAMPLER_DEFAULTS.tune,
  seed: SAMPLER_DEFAULTS.seed,
  maxTreeDepth: SAMPLER_DEFAULTS.maxTreeDepth,
  targetAccept: SAMPLER_DEFAULTS.targetAccept,
  initRadius: SAMPLER_DEFAULTS.initRadius,
  adaptation: SAMPLER_DEFAULTS.adaptation,
};

export { SAMPLE_STATS };

/** Where a warm-started chain begins: an adapted step size and inverse metric, and a point (unconstrained). */
export interface ChainStart {
  stepSize: number;
  invMetric: ArrayLike<number>;
  position: ArrayLike<number>;
}

export interface ChainResult {
  chain: number;
  /** Unconstrained draws, [draw][param]. */
  unconstrained: Float64Array;
  /** [draw][stat] in SAMPLE_STATS order. */
  stats: Float64Array;
  stepSize: number;
  invMetric: Float64Array;
  warmupDivergences: number;
  /** Log-density gradients evaluated, warm-up and initialisation included. */
  gradients: number;
  /** Whether the chain began at a warm start's point (false: random initial values). */
  warmStarted: boolean;
  /** Wall-clock seconds of the whole chain, and of its initialisation and warm-up. */
  seconds: number;
  warmupSeconds: number;
}

/** Stan's limit on attempts to find initial values with a finite log-density and gradient. */
export const MAX_INIT_TRIES = 100;

/** Whether z's log-density and gradient are finite; else what is not. */
function problemAt(target: ChainTarget, z: PhasePoint): string | null {
  if (!Number.isFinite(z.logp)) return `log-density is ${z.logp}`;
  for (let i = 0; i < target.dim; i++) if (!Number.isFinite(z.grad[i])) return `gradient of ${target.paramNames[i]} is ${z.grad[i]}`;
  return null;
}

export function runChain(
  target: ChainTarget,
  settings: SamplerSettings,
  chain: number,
  onProgress?: (iteration: number, total: number, warmup: boolean) => void,
  start?: ChainStart,
): ChainResult {
  const started = performance.now();
  const { dim, logDensityGradient } = target;
  const rng = new Rng(settings.seed, chain);
  const z = createPoint(dim);
  let gradients = 0;

  // A warm start's point, when the log-density is finite there (new data can make it not so); else Stan's random
  // initial values: uniform(−2, 2) until the log-density and its gradient are finite.
  let warmStarted = false;
  if (start) {
    if (start.position.length !== dim || start.invMetric.length !== dim)
      throw new BayesServeError("USAGE", `chain ${chain}: the warm start has ${start.position.length} coordinates, the model ${dim}`);
    for (let i = 0; i < dim; i++) z.q[i] = start.position[i];
    z.logp = logDensityGradient(z.q, z.grad);
    gradients++;
    warmStarted = problemAt(target, z) === null;
  }
  let lastProblem: string | null = "";
  for (let attempt = 0; attempt < MAX_INIT_TRIES && !warmStarted && lastProblem !== null; attempt++) {
    for (let i = 0; i < dim; i++) z.q[i] = (2 * rng.uniform() - 1) * settings.initRadius;
    z.logp = logDensityGradient(z.q, z.grad);
    gradients++;
    lastProblem = problemAt(target, z);
  }
  if (!warmStarted && lastProblem !== null)
    throw new BayesServeError(
      "SAMPLER_INIT",
      `chain ${chain}: no initial values with a finite log-density in ${MAX_INIT_TRIES} tries (last: ${lastProblem}); check the data and the priors`,
    );

  const invMetric = new Float64Array(dim).fill(1);
  const total = settings.tune + settings.draws;
  const loop: ChainLoop = {
    target,
    chain,
    rng,
    z,
    invMetric,
    kernel: createWasmNutsKernel(dim, settings.maxTreeDepth) ?? createNutsKernel(dim, settings.maxTreeDepth),
    total,
    progressEvery: Math.max(1, Math.floor(total / 100)),
    onProgress,
    gradients,
  };
  let lowRank: LowRankMetric | null = null;
  let adaptation: MetricAdaptation;
  if (warmStarted) {
    invMetric.set(Array.from(start!.invMetric));
    adaptation = frozenMetric(start!.stepSize);
  } else if (settings.adaptation === "grad-diag") adaptation = gradientDiagonal(settings.tune, dim);
  else if (settings.adaptation === "low-rank") {
    // The kernel samples x, θ = T x (low-rank-adaptation.ts); T starts as the identity, so z is already on x.
    const metric = lowRankMetricInit(dim);
    lowRank = metric;
    loop.target = { dim, paramNames: target.paramNames, logDensityGradient: transformedDensity(logDensityGradient, metric) };
    loop.record = (x, out) => toTheta(metric, x, out);
    adaptation = lowRankPlusDiagonal(settings.tune, dim, metric);
  } else adaptation = windowedVariance(settings.tune, dim);
  const { epsilon, warmupDivergences } = warmUp(loop, settings.tune, settings.targetAccept, adaptation);
  if (settings.tune === 0) checkStepSize(epsilon, chain, 0);
  const warmupSeconds = (performance.now() - started) / 1000;
  const { unconstrained, stats } = sample(loop, settings, epsilon);
  return {
    chain,
    unconstrained,
    stats,
    stepSize: epsilon,
    invMetric: lowRank ? inverseMetricDiagonal(lowRank) : invMetric,
    warmupDivergences,
    gradients: loop.gradients,
    warmStarted,
    seconds: (performance.now() - started) / 1000,
    warmupSeconds,
  };
}

/** Sampling with the step size and metric frozen: the draws (unconstrained) and Stan's per-draw statistics. */
function sample(loop: ChainLoop, settings: SamplerSettings, epsilon: number): { unconstrained: Float64Array; stats: Float64Array } {
  const { target, rng, z, invMetric, kernel } = loop;
  const dim = target.dim;
  const nStats = SAMPLE_STATS.length;
  const leapfrogColumn = SAMPLE_STATS.indexOf("n_leapfrog");
  const unconstrained = new Float64Array(settings.draws * dim);
  const stats = new Float64Array(settings.draws * nStats);
  const theta = new Float64Array(dim);
  // The kernel records the draws in runs that end where progress is reported: the per-draw work stays in the kernel
  // (nuts.wat for chains), not in a JavaScript loop each fresh worker would have to compile.
  for (let d = 0; d < settings.draws;) {
    const last = Math.min(settings.draws - 1, nextReportedIteration(loop, settings.tune + d) - settings.tune);
    kernel.transitions(z, last - d + 1, epsilon, invMetric, target.logDensityGradient, rng, unconstrained, stats, d);
    for (; d <= last; d++) {
      loop.gradients += stats[d * nStats + leapfrogColumn];
      checkPosition(loop, settings.tune + d, unconstrained, d * dim);
      if (loop.record) {
        loop.record(unconstrained.subarray(d * dim, (d + 1) * dim), theta);
        unconstrained.set(theta, d * dim);
      }
    }
    reportProgress(loop, settings.tune + last, false);
  }
  return { unconstrained, stats };
}
