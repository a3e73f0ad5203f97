// One chain of adaptive NUTS, as Stan's run_adaptive_sampler does it: random initial values, a first step size,
// warm-up with dual averaging and a diagonal metric adaptation, then sampling with both frozen. The metric adapts by
// Stan's windowed variance of draws ("stan") or by nutpie's gradient-based estimate ("grad-diag",
// grad-adaptation.ts). A warm start takes the step size, metric and initial point from an earlier fit of the same
// model and adapts only the step size.
import { BayesServeError } from "../errors.js";
import { Rng } from "../model/random.js";
import { gradAdaptationInit, invMetricFromGradient, learnFromGradients } from "./grad-adaptation.js";
import {
  fromTheta,
  gradToTheta,
  gradToX,
  inverseMetricDiagonal,
  learnLowRank,
  type LowRankMetric,
  lowRankMetricInit,
  pointWindowsInit,
  toTheta,
  transformedDensity,
} from "./low-rank-adaptation.js";
import { createNutsKernel, DEFAULT_MAX_TREE_DEPTH, type NutsKernel } from "./nuts.js";
import { createPoint, type LogDensityGradient, type PhasePoint } from "./point.js";
import {
  DUAL_AVERAGING_DEFAULTS,
  dualAveragingFinal,
  dualAveragingInit,
  dualAveragingUpdate,
  initStepSize,
} from "./step-size.js";
import { learnVariance, welfordInit, windowScheduleInit } from "./windowed-adaptation.js";

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
  draws: 1000,
  tune: 1000,
  seed: 0,
  maxTreeDepth: DEFAULT_MAX_TREE_DEPTH,
  targetAccept: DUAL_AVERAGING_DEFAULTS.delta,
  initRadius: 2,
  adaptation: "stan",
};

/** Chains of a training run unless it says otherwise (`train --chains`, and a deployed train stage's pods). */
export const DEFAULT_CHAINS = 2;

/** Per-draw sampler statistics, in this column order (Stan's names without the trailing "__"). */
export const SAMPLE_STATS = ["lp", "accept_stat", "step_size", "tree_depth", "n_leapfrog", "diverging", "energy"] as const;

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

export interface ChainTarget {
  dim: number;
  paramNames: string[];
  logDensityGradient: LogDensityGradient;
}

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
    kernel: createNutsKernel(dim, settings.maxTreeDepth),
    total,
    progressEvery: Math.max(1, Math.floor(total / 100)),
    onProgress,
    gradients,
  };
  let warm: { epsilon: number; warmupDivergences: number };
  let lowRank: LowRankMetric | null = null;
  if (warmStarted) {
    invMetric.set(Array.from(start!.invMetric));
    warm = warmUpFromStart(loop, settings, start!.stepSize);
  } else if (settings.adaptation === "grad-diag") warm = warmUpGradDiag(loop, settings);
  else if (settings.adaptation === "low-rank") {
    // The kernel samples x, θ = T x (low-rank-adaptation.ts); T starts as the identity, so z is already on x.
    const metric = lowRankMetricInit(dim);
    lowRank = metric;
    loop.target = { dim, paramNames: target.paramNames, logDensityGradient: transformedDensity(logDensityGradient, metric) };
    loop.record = (x, out) => toTheta(metric, x, out);
    warm = warmUpLowRank(loop, settings, metric);
  } else warm = warmUp(loop, settings);
  const { epsilon, warmupDivergences } = warm;
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

/** What both phases of a chain work on. */
interface ChainLoop {
  target: ChainTarget;
  chain: number;
  rng: Rng;
  /** The current state; each transition replaces it. */
  z: PhasePoint;
  invMetric: Float64Array;
  kernel: NutsKernel;
  total: number;
  progressEvery: number;
  onProgress?: (iteration: number, total: number, warmup: boolean) => void;
  /** Log-density gradients evaluated so far. */
  gradients: number;
  /** When the kernel samples transformed coordinates x: writes the draw on θ (unconstrained) from x. */
  record?: (x: Float64Array, out: Float64Array) => void;
}

// Warm-up and sampling are separate functions, not branches of one loop: V8 optimises a long-running loop on stack
// (OSR) with the feedback it has seen, and a single loop compiled during warm-up was thrown away (deoptimised) when
// the sampling branch first ran, then ran unoptimised for every draw.

/** Warm-up: dual averaging of the step size and windowed adaptation of the diagonal metric (Stan's defaults). */
function warmUp(loop: ChainLoop, settings: SamplerSettings): { epsilon: number; warmupDivergences: number } {
  const { target, chain, rng, z, invMetric, kernel } = loop;
  const cfg = { ...DUAL_AVERAGING_DEFAULTS, delta: settings.targetAccept };
  const scratch = createPoint(target.dim);
  let epsilon = initStepSize(z, 1, invMetric, target.logDensityGradient, rng, scratch, loop);
  let da = dualAveragingInit(epsilon);
  const windows = windowScheduleInit(settings.tune);
  const welford = welfordInit(target.dim);
  let warmupDivergences = 0;
  for (let it = 0; it < settings.tune; it++) {
    const info = kernel.transition(z, epsilon, invMetric, target.logDensityGradient, rng);
    loop.gradients += info.nLeapfrog;
    if (info.divergent) warmupDivergences++;
    epsilon = dualAveragingUpdate(da, info.acceptStat, cfg);
    if (learnVariance(windows, welford, invMetric, z.q)) {
      epsilon = initStepSize(z, epsilon, invMetric, target.logDensityGradient, rng, scratch, loop);
      da = dualAveragingInit(epsilon);
      checkCoordinateSteps(epsilon, invMetric, target.paramNames, chain, it);
    }
    if (it === settings.tune - 1) epsilon = dualAveragingFinal(da);
    checkStepSize(epsilon, chain, it);
    checkPosition(loop, it);
    if (loop.onProgress && (it % loop.progressEvery === 0 || it === loop.total - 1)) loop.onProgress(it + 1, loop.total, true);
  }
  return { epsilon, warmupDivergences };
}

/**
 * Warm-up with nutpie's gradient-based metric (grad-adaptation.ts) and Stan's dual averaging of the step size. The
 * metric starts at 1/|g| of the initial point and changes every iteration; the step size restarts from Stan's
 * heuristic at the first change and again when the metric freezes for the final window.
 */
function warmUpGradDiag(loop: ChainLoop, settings: SamplerSettings): { epsilon: number; warmupDivergences: number } {
  const { target, chain, rng, z, invMetric, kernel } = loop;
  const cfg = { ...DUAL_AVERAGING_DEFAULTS, delta: settings.targetAccept };
  const scratch = createPoint(target.dim);
  invMetricFromGradient(z.grad, invMetric);
  let epsilon = initStepSize(z, 1, invMetric, target.logDensityGradient, rng, scratch, loop);
  let da = dualAveragingInit(epsilon);
  const adaptation = gradAdaptationInit(z.q, z.grad, settings.tune);
  const previous = new Float64Array(target.dim);
  let warmupDivergences = 0;
  for (let it = 0; it < settings.tune; it++) {
    previous.set(z.q);
    const info = kernel.transition(z, epsilon, invMetric, target.logDensityGradient, rng);
    loop.gradients += info.nLeapfrog;
    if (info.divergent) warmupDivergences++;
    epsilon = dualAveragingUpdate(da, info.acceptStat, cfg);
    let moved = false;
    for (let i = 0; i < target.dim && !moved; i++) moved = z.q[i] !== previous[i];
    const update = learnFromGradients(adaptation, it, z.q, z.grad, moved && !info.divergent, invMetric);
    if (update !== "none") checkCoordinateSteps(epsilon, invMetric, target.paramNames, chain, it);
    if (update === "first" || (it === adaptation.finalWindowStart && it > 0)) {
      epsilon = initStepSize(z, epsilon, invMetric, target.logDensityGradient, rng, scratch, loop);
      da = dualAveragingInit(epsilon);
    }
    if (it === settings.tune - 1) epsilon = dualAveragingFinal(da);
    checkStepSize(epsilon, chain, it);
    checkPosition(loop, it);
    if (loop.onProgress && (it % loop.progressEvery === 0 || it === loop.total - 1)) loop.onProgress(it + 1, loop.total, true);
  }
  return { epsilon, warmupDivergences };
}

/**
 * Warm-up with nutpie's low-rank-plus-diagonal metric (low-rank-adaptation.ts): as warmUpGradDiag, the estimate from
 * the window's draws and gradients on θ; after each change the chain's state is re-expressed on the new x.
 */
function warmUpLowRank(loop: ChainLoop, settings: SamplerSettings, metric: LowRankMetric): { epsilon: number; warmupDivergences: number } {
  const { target, chain, rng, z, invMetric, kernel } = loop;
  const cfg = { ...DUAL_AVERAGING_DEFAULTS, delta: settings.targetAccept };
  const scratch = createPoint(target.dim);
  invMetricFromGradient(z.grad, invMetric);
  let epsilon = initStepSize(z, 1, invMetric, target.logDensityGradient, rng, scratch, loop);
  let da = dualAveragingInit(epsilon);
  const windows = pointWindowsInit(z.q, z.grad, settings.tune);
  const previous = new Float64Array(target.dim);
  const theta = new Float64Array(target.dim);
  const gTheta = new Float64Array(target.dim);
  let warmupDivergences = 0;
  for (let it = 0; it < settings.tune; it++) {
    previous.set(z.q);
    const info = kernel.transition(z, epsilon, invMetric, target.logDensityGradient, rng);
    loop.gradients += info.nLeapfrog;
    if (info.divergent) warmupDivergences++;
    epsilon = dualAveragingUpdate(da, info.acceptStat, cfg);
    let moved = false;
    for (let i = 0; i < target.dim && !moved; i++) moved = z.q[i] !== previous[i];
    toTheta(metric, z.q, theta);
    gradToTheta(metric, z.grad, gTheta);
    const update = learnLowRank(windows, it, theta, gTheta, moved && !info.divergent, metric);
    if (update !== "none") {
      fromTheta(metric, theta, z.q);
      gradToX(metric, gTheta, z.grad);
      for (let i = 0; i < target.dim; i++) invMetric[i] = metric.std[i] * metric.std[i];
      checkCoordinateSteps(epsilon, inverseMetricDiagonal(metric), target.paramNames, chain, it);
    }
    if (update === "first" || (it === windows.finalWindowStart && it > 0)) {
      epsilon = initStepSize(z, epsilon, invMetric, target.logDensityGradient, rng, scratch, loop);
      da = dualAveragingInit(epsilon);
    }
    if (it === settings.tune - 1) epsilon = dualAveragingFinal(da);
    checkStepSize(epsilon, chain, it);
    checkPosition(loop, it);
    if (loop.onProgress && (it % loop.progressEvery === 0 || it === loop.total - 1)) loop.onProgress(it + 1, loop.total, true);
  }
  return { epsilon, warmupDivergences };
}

/**
 * Warm-up from a warm start: the metric is the earlier fit's, frozen; the step size adapts by dual averaging from the
 * earlier fit's (as Stan's terminal buffer does after the last metric update).
 */
function warmUpFromStart(loop: ChainLoop, settings: SamplerSettings, stepSize: number): { epsilon: number; warmupDivergences: number } {
  const { target, chain, rng, z, invMetric, kernel } = loop;
  const cfg = { ...DUAL_AVERAGING_DEFAULTS, delta: settings.targetAccept };
  checkStepSize(stepSize, chain, 0);
  checkCoordinateSteps(stepSize, invMetric, target.paramNames, chain, 0);
  let epsilon = stepSize;
  const da = dualAveragingInit(epsilon);
  let warmupDivergences = 0;
  for (let it = 0; it < settings.tune; it++) {
    const info = kernel.transition(z, epsilon, invMetric, target.logDensityGradient, rng);
    loop.gradients += info.nLeapfrog;
    if (info.divergent) warmupDivergences++;
    epsilon = dualAveragingUpdate(da, info.acceptStat, cfg);
    if (it === settings.tune - 1) epsilon = dualAveragingFinal(da);
    checkStepSize(epsilon, chain, it);
    checkPosition(loop, it);
    if (loop.onProgress && (it % loop.progressEvery === 0 || it === loop.total - 1)) loop.onProgress(it + 1, loop.total, true);
  }
  return { epsilon, warmupDivergences };
}

/** Sampling with the step size and metric frozen: the draws (unconstrained) and Stan's per-draw statistics. */
function sample(loop: ChainLoop, settings: SamplerSettings, epsilon: number): { unconstrained: Float64Array; stats: Float64Array } {
  const { target, rng, z, invMetric, kernel } = loop;
  const dim = target.dim;
  const nStats = SAMPLE_STATS.length;
  const unconstrained = new Float64Array(settings.draws * dim);
  const stats = new Float64Array(settings.draws * nStats);
  const theta = new Float64Array(dim);
  for (let d = 0; d < settings.draws; d++) {
    const it = settings.tune + d;
    const info = kernel.transition(z, epsilon, invMetric, target.logDensityGradient, rng);
    loop.gradients += info.nLeapfrog;
    // Stan records the step size used for the draw.
    const row = d * nStats;
    stats[row] = z.logp;
    stats[row + 1] = info.acceptStat;
    stats[row + 2] = epsilon;
    stats[row + 3] = info.treeDepth;
    stats[row + 4] = info.nLeapfrog;
    stats[row + 5] = info.divergent ? 1 : 0;
    stats[row + 6] = info.energy;
    if (loop.record) {
      loop.record(z.q, theta);
      unconstrained.set(theta, d * dim);
    } else unconstrained.set(z.q, d * dim);
    checkPosition(loop, it);
    if (loop.onProgress && (it % loop.progressEvery === 0 || it === loop.total - 1)) loop.onProgress(it + 1, loop.total, false);
  }
  return { unconstrained, stats };
}

/** A coordinate that left the finite numbers (or went past 1e100) on the unconstrained scale: an improper posterior. */
function checkPosition(loop: ChainLoop, it: number): void {
  const q = loop.z.q;
  for (let i = 0; i < q.length; i++)
    if (!Number.isFinite(q[i]) || Math.abs(q[i]) > 1e100)
      throw new BayesServeError(
        "SAMPLER_DIVERGED",
        `chain ${loop.chain}, iteration ${it}: parameter ${loop.target.paramNames[i]} drifted to ${q[i]} on the unconstrained scale; the posterior is improper (check its prior and that data inform it)`,
      );
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
