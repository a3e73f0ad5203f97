// Warm-up: one loop of NUTS transitions with Stan's dual averaging of the step size, and a metric adaptation plugged
// into it as a small init/learn object (as BlackJAX's window_adaptation composes its parts):
// - Stan's windowed variance of draws (windowed-adaptation.ts);
// - nutpie's gradient-based diagonal estimate (grad-adaptation.ts);
// - nutpie's low-rank-plus-diagonal estimate (low-rank-adaptation.ts), on transformed coordinates;
// - none, for a warm start: the earlier fit's metric stays frozen and only the step size adapts.
// Whenever an adaptation changes the metric enough to ask for it, the step size restarts from Stan's heuristic with
// fresh dual averaging (Stan's adapt_diag_e_nuts after each window).
import {
  DRAW_GRAD_OPS,
  GRAD_ADAPTATION_DEFAULTS,
  gradAdaptationInit,
  invMetricFromGradient,
  learnFromGradients,
  type GradAdaptation,
} from "./grad-adaptation.js";
import { wasmDrawGradOps } from "./grad-estimate-wasm.js";
import { checkCoordinateSteps, checkPosition, checkStepSize, type ChainLoop, reportProgress } from "./chain-loop.js";
import {
  fromTheta,
  gradToTheta,
  gradToX,
  inverseMetricDiagonal,
  learnLowRank,
  type LowRankMetric,
  type PointWindows,
  pointWindowsInit,
  toTheta,
} from "./low-rank-adaptation.js";
import type { TransitionInfo } from "./nuts.js";
import { createPoint, type PhasePoint } from "./point.js";
import { DUAL_AVERAGING_DEFAULTS, dualAveragingFinal, dualAveragingInit, dualAveragingUpdate, initStepSize } from "./step-size.js";
import { learnVariance, welfordInit, windowScheduleInit } from "./windowed-adaptation.js";

/** How the metric adapts during warm-up, over the chain's state (`loop.invMetric` is what it writes). */
export interface MetricAdaptation {
  /** Sets the initial metric and returns the first step size. */
  start(loop: ChainLoop, scratch: PhasePoint): number;
  /**
   * The step size ε whose log(10·ε) is the first dual averaging's μ; without it, the first step size's. Stan's is its
   * nominal step size, set before init_stepsize runs, so its first μ does not follow the heuristic's result.
   */
  firstMuStepSize?: number;
  /** Before iteration `it`'s transition. */
  before?(loop: ChainLoop): void;
  /**
   * After iteration `it`'s transition, with the step size dual averaging gave it: learns from the new state; true when
   * the step size must restart.
   */
  learn(loop: ChainLoop, it: number, info: TransitionInfo, epsilon: number): boolean;
  /** After the step size restarted at iteration `it`. */
  restarted?(loop: ChainLoop, it: number, epsilon: number): void;
}

export interface WarmupResult {
  /** The step size sampling uses: dual averaging's final (averaged) value. */
  epsilon: number;
  warmupDivergences: number;
}

// Warm-up and sampling are separate functions, not branches of one loop: V8 optimises a long-running loop on stack
// (OSR) with the feedback it has seen, and a single loop compiled during warm-up was thrown away (deoptimised) when
// the sampling branch first ran, then ran unoptimised for every draw.

/** `tune` warm-up iterations from the chain's current state. */
export function warmUp(loop: ChainLoop, tune: number, targetAccept: number, adaptation: MetricAdaptation): WarmupResult {
  const { target, chain, rng, z, invMetric, kernel } = loop;
  const cfg = { ...DUAL_AVERAGING_DEFAULTS, delta: targetAccept };
  const scratch = createPoint(target.dim);
  let epsilon = adaptation.start(loop, scratch);
  let da = dualAveragingInit(adaptation.firstMuStepSize ?? epsilon);
  let warmupDivergences = 0;
  for (let it = 0; it < tune; it++) {
    adaptation.before?.(loop);
    const info = kernel.transition(z, epsilon, invMetric, target.logDensityGradient, rng);
    loop.gradients += info.nLeapfrog;
    if (info.divergent) warmupDivergences++;
    epsilon = dualAveragingUpdate(da, info.acceptStat, cfg);
    if (adaptation.learn(loop, it, info, epsilon)) {
      epsilon = initStepSize(z, epsilon, invMetric, target.logDensityGradient, rng, scratch, loop);
      da = dualAveragingInit(epsilon);
      adaptation.restarted?.(loop, it, epsilon);
    }
    if (it === tune - 1) epsilon = dualAveragingFinal(da);
    checkStepSize(epsilon, chain, it);
    checkPosition(loop, it);
    reportProgress(loop, it, true);
  }
  return { epsilon, warmupDivergences };
}

/**
 * Stan's nominal step size (its `stepsize` argument, default 1): init_stepsize starts from it, and the first dual
 * averaging's μ is log(10 × it), set before init_stepsize runs (services/sample/hmc_nuts_diag_e_adapt.hpp, then
 * util/run_adaptive_sampler.hpp); only the restarts after each window take μ from the heuristic's result
 * (adapt_diag_e_nuts::transition).
 */
export const NOMINAL_STEP_SIZE = 1;

/** Stan's first step size: the heuristic from the nominal step size at the initial point, with the metric as it starts. */
function heuristicStart(loop: ChainLoop, scratch: PhasePoint): number {
  return initStepSize(loop.z, NOMINAL_STEP_SIZE, loop.invMetric, loop.target.logDensityGradient, loop.rng, scratch, loop);
}

/** nutpie's first metric, 1/|g| at the initial point, and Stan's first step size with it. */
function gradientStart(loop: ChainLoop, scratch: PhasePoint): number {
  invMetricFromGradient(loop.z.grad, loop.invMetric);
  return heuristicStart(loop, scratch);
}

/** Whether the last transition moved (a rejected proposal leaves q exactly as it was). */
function movedFrom(previous: Float64Array, q: Float64Array): boolean {
  for (let i = 0; i < q.length; i++) if (q[i] !== previous[i]) return true;
  return false;
}

/** Stan's windowed adaptation: the variance of the draws of each slow window becomes the metric. */
export function windowedVariance(tune: number, dim: number): MetricAdaptation {
  const windows = windowScheduleInit(tune);
  const welford = welfordInit(dim);
  return {
    start: heuristicStart,
    firstMuStepSize: NOMINAL_STEP_SIZE,
    learn: (loop) => learnVariance(windows, welford, loop.invMetric, loop.z.q),
    restarted: (loop, it, epsilon) => checkCoordinateSteps(epsilon, loop.invMetric, loop.target.paramNames, loop.chain, it),
  };
}

/**
 * nutpie's gradient-based diagonal metric: it starts at 1/|g| of the initial point and changes every iteration; the
 * step size restarts at the first change and again when the metric freezes for the final window.
 */
export function gradientDiagonal(tune: number, dim: number): MetricAdaptation {
  let state: GradAdaptation | null = null;
  const previous = new Float64Array(dim);
  return {
    start(loop, scratch) {
      const epsilon = gradientStart(loop, scratch);
      state = gradAdaptationInit(loop.z.q, loop.z.grad, tune, GRAD_ADAPTATION_DEFAULTS, wasmDrawGradOps(dim) ?? DRAW_GRAD_OPS);
      return epsilon;
    },
    before: (loop) => previous.set(loop.z.q),
    learn(loop, it, info, epsilon) {
      const a = state!;
      const { z, invMetric } = loop;
      const update = learnFromGradients(a, it, z.q, z.grad, movedFrom(previous, z.q) && !info.divergent, invMetric);
      if (update !== "none") checkCoordinateSteps(epsilon, invMetric, loop.target.paramNames, loop.chain, it);
      return update === "first" || (it === a.finalWindowStart && it > 0);
    },
  };
}

/**
 * nutpie's low-rank-plus-diagonal metric: estimated, as gradientDiagonal, from the window's draws and gradients on θ;
 * the kernel samples x = T⁻¹θ, so after each change the chain's state is re-expressed on the new x.
 */
export function lowRankPlusDiagonal(tune: number, dim: number, metric: LowRankMetric): MetricAdaptation {
  let windows: PointWindows | null = null;
  const previous = new Float64Array(dim);
  const theta = new Float64Array(dim);
  const gTheta = new Float64Array(dim);
  return {
    start(loop, scratch) {
      const epsilon = gradientStart(loop, scratch);
      windows = pointWindowsInit(loop.z.q, loop.z.grad, tune);
      return epsilon;
    },
    before: (loop) => previous.set(loop.z.q),
    learn(loop, it, info, epsilon) {
      const w = windows!;
      const { z, invMetric } = loop;
      const moved = movedFrom(previous, z.q);
      toTheta(metric, z.q, theta);
      gradToTheta(metric, z.grad, gTheta);
      const update = learnLowRank(w, it, theta, gTheta, moved && !info.divergent, metric);
      if (update !== "none") {
        fromTheta(metric, theta, z.q);
        gradToX(metric, gTheta, z.grad);
        for (let i = 0; i < dim; i++) invMetric[i] = metric.std[i] * metric.std[i];
        checkCoordinateSteps(epsilon, inverseMetricDiagonal(metric), loop.target.paramNames, loop.chain, it);
      }
      return update === "first" || (it === w.finalWindowStart && it > 0);
    },
  };
}

/**
 * A warm start's: the metric is the earlier fit's (already in loop.invMetric), frozen; the step size adapts by dual
 * averaging from the earlier fit's, as Stan's terminal buffer does after the last metric update.
 */
export function frozenMetric(stepSize: number): MetricAdaptation {
  return {
    start(loop) {
      checkStepSize(stepSize, loop.chain, 0);
      checkCoordinateSteps(stepSize, loop.invMetric, loop.target.paramNames, loop.chain, 0);
      return stepSize;
    },
    learn: () => false,
  };
}
