// Gradient-based diagonal metric adaptation, as nutpie does it (Seyboldt, Carlson & Carpenter, "nutpie", arXiv
// 2603.18845; the nuts-rs crate's GlobalStrategy and diagonal mass-matrix strategy). The diagonal metric that
// minimises the Fisher divergence between the posterior and a Gaussian with that covariance, from draws x and their
// gradients g, is σᵢ² = sqrt(Var[xᵢ] / Var[gᵢ]): exact for a Gaussian (Var[g] = 1/Var[x]) and, because gradients carry
// curvature, usable after a few dozen draws where a variance of draws alone needs hundreds.
//
// Schedule over `tune` warm-up iterations (nuts-rs defaults): the inverse metric starts at 1/|g| of the initial
// point; every iteration the estimates take in the new draw and its gradient, and the metric is updated from them.
// Two estimators run side by side: the foreground one the metric is read from, and a background one started later,
// which replaces the foreground one once it holds `switchEvery` draws (10 in the first 30 % of warm-up, 80 after), so
// that early, far-from-typical draws are forgotten. In the last 15 % the metric is frozen and only the step size
// adapts. Draws where the sampler did not move, and divergent ones, are not used.

/** nuts-rs defaults (AdaptOptions::default). */
export const GRAD_ADAPTATION_DEFAULTS = {
  earlyWindow: 0.3,
  stepSizeWindow: 0.15,
  switchEvery: 80,
  earlySwitchEvery: 10,
} as const;

/** nuts-rs's clamp on the metric's diagonal (mass_matrix_adapt.rs LOWER_LIMIT, UPPER_LIMIT). */
export const MIN_VARIANCE = 1e-20;
export const MAX_VARIANCE = 1e20;

/** Running mean and sum of squared deviations (Welford) of draws and of their gradients. */
export interface DrawGradEstimate {
  n: number;
  drawMean: Float64Array;
  drawM2: Float64Array;
  gradMean: Float64Array;
  gradM2: Float64Array;
}

export function drawGradEstimateInit(dim: number): DrawGradEstimate {
  return { n: 0, drawMean: new Float64Array(dim), drawM2: new Float64Array(dim), gradMean: new Float64Array(dim), gradM2: new Float64Array(dim) };
}

export function drawGradAdd(e: DrawGradEstimate, q: Float64Array, grad: Float64Array): void {
  e.n++;
  const w = 1 / e.n;
  for (let i = 0; i < q.length; i++) {
    const dq = q[i] - e.drawMean[i];
    e.drawMean[i] += dq * w;
    e.drawM2[i] += dq * (q[i] - e.drawMean[i]);
    const dg = grad[i] - e.gradMean[i];
    e.gradMean[i] += dg * w;
    e.gradM2[i] += dg * (grad[i] - e.gradMean[i]);
  }
}

function clampVariance(v: number): number {
  return v < MIN_VARIANCE ? MIN_VARIANCE : v > MAX_VARIANCE ? MAX_VARIANCE : v;
}

/** The first inverse metric: 1/|gᵢ| at the initial point (1 where the gradient is 0 or not finite). */
export function invMetricFromGradient(grad: Float64Array, invMetric: Float64Array): void {
  for (let i = 0; i < grad.length; i++) {
    const v = 1 / Math.abs(grad[i]);
    invMetric[i] = Number.isFinite(v) && v > 0 ? clampVariance(v) : 1;
  }
}

/**
 * The inverse metric from an estimate: sqrt(Var[x] / Var[g]) per coordinate (the two variances' normalisations
 * cancel). Leaves a coordinate unchanged where that is not a positive finite number (a gradient that never varied).
 * Returns false, changing nothing, below three draws.
 */
export function invMetricFromEstimate(e: DrawGradEstimate, invMetric: Float64Array): boolean {
  if (e.n < 3) return false;
  for (let i = 0; i < invMetric.length; i++) {
    const v = Math.sqrt(e.drawM2[i] / e.gradM2[i]);
    if (Number.isFinite(v) && v > 0) invMetric[i] = clampVariance(v);
  }
  return true;
}

/**
 * The estimates' storage and their two loops: the functions of this file, or the same in WebAssembly
 * (grad-estimate-wasm.ts), bit for bit.
 */
export interface DrawGradOps {
  /** A new, empty estimate over `dim` coordinates (a chain makes two). */
  estimate(dim: number): DrawGradEstimate;
  add(e: DrawGradEstimate, q: Float64Array, grad: Float64Array): void;
  invMetric(e: DrawGradEstimate, invMetric: Float64Array): boolean;
}

export const DRAW_GRAD_OPS: DrawGradOps = { estimate: drawGradEstimateInit, add: drawGradAdd, invMetric: invMetricFromEstimate };

export interface GradAdaptation {
  tune: number;
  earlyEnd: number;
  /** First iteration of the final window, where only the step size adapts. */
  finalWindowStart: number;
  foreground: DrawGradEstimate;
  background: DrawGradEstimate;
  /** Whether the metric has been updated from draws yet (the first update restarts the step size's adaptation). */
  updated: boolean;
  ops: DrawGradOps;
}

/** The schedule for `tune` iterations, both estimators holding the initial point (as nuts-rs starts them). */
export function gradAdaptationInit(
  q0: Float64Array,
  grad0: Float64Array,
  tune: number,
  cfg: typeof GRAD_ADAPTATION_DEFAULTS = GRAD_ADAPTATION_DEFAULTS,
  ops: DrawGradOps = DRAW_GRAD_OPS,
): GradAdaptation {
  const a: GradAdaptation = {
    tune,
    earlyEnd: Math.trunc(cfg.earlyWindow * tune),
    finalWindowStart: tune - Math.trunc(cfg.stepSizeWindow * tune),
    foreground: ops.estimate(q0.length),
    background: ops.estimate(q0.length),
    updated: false,
    ops,
  };
  ops.add(a.foreground, q0, grad0);
  ops.add(a.background, q0, grad0);
  return a;
}

/**
 * What one warm-up iteration did to the metric: nothing, changed it (every iteration once three usable draws are in),
 * or changed it for the first time (restart the step size from a fresh guess).
 */
export type MetricUpdate = "none" | "changed" | "first";

/**
 * Feeds warm-up iteration `it` (0-based): the draw q, its gradient, and whether it is usable (moved, not divergent).
 * Updates `invMetric` in place.
 */
export function learnFromGradients(
  a: GradAdaptation,
  it: number,
  q: Float64Array,
  grad: Float64Array,
  usable: boolean,
  invMetric: Float64Array,
  cfg: typeof GRAD_ADAPTATION_DEFAULTS = GRAD_ADAPTATION_DEFAULTS,
): MetricUpdate {
  if (it >= a.finalWindowStart) return "none";
  if (usable) {
    a.ops.add(a.foreground, q, grad);
    a.ops.add(a.background, q, grad);
  }
  const switchEvery = it < a.earlyEnd ? cfg.earlySwitchEvery : cfg.switchEvery;
  // Switch only when the background holds enough draws and the switch is not too late to be followed by updates.
  if (a.background.n >= switchEvery && switchEvery + it <= a.finalWindowStart) {
    const old = a.foreground;
    a.foreground = a.background;
    a.background = old;
    a.background.n = 0;
    a.background.drawMean.fill(0);
    a.background.drawM2.fill(0);
    a.background.gradMean.fill(0);
    a.background.gradM2.fill(0);
  }
  if (!a.ops.invMetric(a.foreground, invMetric)) return "none";
  if (!a.updated) {
    a.updated = true;
    return "first";
  }
  return "changed";
}
