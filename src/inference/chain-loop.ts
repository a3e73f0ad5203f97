// What the phases of one chain (warm-up, sampling) work on, and the checks every iteration makes: a chain that has
// left the finite numbers, or whose step size collapsed or exploded, stops with an error that names the parameter.
import { BayesServeError } from "../errors.js";
import type { Rng } from "../random/rng.js";
import type { NutsKernel } from "./nuts.js";
import type { LogDensityGradient, PhasePoint } from "./point.js";

export interface ChainTarget {
  dim: number;
  paramNames: string[];
  logDensityGradient: LogDensityGradient;
}

export interface ChainLoop {
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

/** Reports progress every `progressEvery` iterations and at the last. */
export function reportProgress(loop: ChainLoop, it: number, warmup: boolean): void {
  if (loop.onProgress && (it % loop.progressEvery === 0 || it === loop.total - 1)) loop.onProgress(it + 1, loop.total, warmup);
}

/** The first iteration from `it` on whose progress reportProgress reports. */
export function nextReportedIteration(loop: ChainLoop, it: number): number {
  return Math.min(Math.ceil(it / loop.progressEvery) * loop.progressEvery, loop.total - 1);
}

/**
 * A coordinate that left the finite numbers (or went past 1e100) on the unconstrained scale: an improper posterior.
 * The position is the current state's, or iteration `it`'s recorded at q[at..at+dim).
 */
export function checkPosition(loop: ChainLoop, it: number, q: Float64Array = loop.z.q, at = 0): void {
  for (let i = 0; i < loop.target.dim; i++)
    if (!Number.isFinite(q[at + i]) || Math.abs(q[at + i]) > 1e100)
      throw new BayesServeError(
        "SAMPLER_DIVERGED",
        `chain ${loop.chain}, iteration ${it}: parameter ${loop.target.paramNames[i]} drifted to ${q[at + i]} on the unconstrained scale; the posterior is improper (check its prior and that data inform it)`,
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
export function checkCoordinateSteps(epsilon: number, invMetric: Float64Array, paramNames: string[], chain: number, it: number): void {
  for (let i = 0; i < invMetric.length; i++) {
    const step = epsilon * Math.sqrt(invMetric[i]);
    if (!(step <= MAX_STEP_SIZE))
      throw new BayesServeError(
        "SAMPLER_STEPSIZE",
        `chain ${chain}, iteration ${it}: the step size for parameter ${paramNames[i]} exploded to ${step.toExponential(2)} (its warm-up variance is ${invMetric[i].toExponential(2)}); the posterior is improper in ${paramNames[i]} (check its prior and that data inform it)`,
      );
  }
}

export function checkStepSize(epsilon: number, chain: number, it: number): void {
  if (!(epsilon >= MIN_STEP_SIZE))
    throw new BayesServeError(
      "SAMPLER_STEPSIZE",
      `chain ${chain}, iteration ${it}: the step size collapsed to ${epsilon}; the posterior has a region the sampler cannot resolve (extreme curvature, a discontinuity, or non-identified parameters)`,
    );
  if (!(epsilon <= MAX_STEP_SIZE))
    throw new BayesServeError("SAMPLER_STEPSIZE", `chain ${chain}, iteration ${it}: the step size exploded to ${epsilon}; the posterior is improper`);
}
