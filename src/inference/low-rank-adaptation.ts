// nutpie's low-rank-plus-diagonal metric (Seyboldt, Carlson & Carpenter, arXiv 2603.18845; nuts-rs
// mass_matrix/low_rank.rs): the inverse metric M⁻¹ = S (I + U (Λ − I) Uᵀ) S, where S = diag(s) is the gradient-based
// diagonal (sᵢ² = sqrt(Var[xᵢ] / Var[gᵢ]), as grad-adaptation.ts) and U, Λ are the eigenvectors and eigenvalues, far
// from 1, of the Fisher-divergence estimate of the covariance in the S-scaled space: the matrix Σ with Σ C_g Σ = C_x,
// C_x and C_g the covariances of the scaled draws and gradients (their geometric mean, Σ = C_x # C_g⁻¹). Strong
// correlations (kilpisjarvi's intercept and slope, diamonds' polynomial terms) then cost a few leapfrog steps per draw
// instead of hundreds.
//
// NUTS with that metric is NUTS with the diagonal metric S² on coordinates x where θ = T x, T = S B S⁻¹,
// B = I + U (√Λ − 1) Uᵀ (so that T S² Tᵀ = M⁻¹): the kernel stays diagonal, and the chain's log-density is wrapped
// (θ = T x, ∇ₓ = Tᵀ ∇θ, the Jacobian constant). Schedule and windows as grad-adaptation.ts; the estimate is
// recomputed from the window's points every UPDATE_EVERY iterations and at each switch of windows (nuts-rs every
// iteration: here the eigendecompositions would cost more than a cheap model's iterations).
import { symmetricEigen } from "../model/linalg.js";
import { GRAD_ADAPTATION_DEFAULTS } from "./grad-adaptation.js";
import type { LogDensityGradient } from "./point.js";

/** nuts-rs LowRankSettings defaults: the regularisation γ and the eigenvalue cutoff (kept: λ > c or λ < 1/c). */
export const LOW_RANK_DEFAULTS = { gamma: 1e-5, eigenvalueCutoff: 100 } as const;
/** Iterations between recomputations of the metric (besides every switch of windows). */
export const UPDATE_EVERY = 10;
/** Above this many dimensions the dense eigendecompositions are too costly to repeat in warm-up: diagonal only. */
export const MAX_LOW_RANK_DIM = 200;

/** The transform θ = T x = x + S U D Uᵀ S⁻¹ x, D = √Λ − 1, and the diagonal metric S² the kernel uses on x. */
export interface LowRankMetric {
  dim: number;
  /** sᵢ: the diagonal's square roots. */
  std: Float64Array;
  /** Number of eigenpairs kept. */
  rank: number;
  /** Row k: the k-th kept eigenvector (dim values). */
  vectors: Float64Array;
  /** λₖ: the kept eigenvalues. */
  values: Float64Array;
  /** Room for the rank coefficients (the transforms allocate nothing). */
  scratch: Float64Array;
}

export function lowRankMetricInit(dim: number): LowRankMetric {
  return { dim, std: new Float64Array(dim).fill(1), rank: 0, vectors: new Float64Array(0), values: new Float64Array(0), scratch: new Float64Array(dim) };
}

/**
 * out = x + S U diag(f(λ)) Uᵀ S⁻¹ x, or with S and S⁻¹ swapped (`inverseScale`): T x for f = √λ − 1, T⁻¹θ for
 * f = 1/√λ − 1, Tᵀ g (swapped) for f = √λ − 1, T⁻ᵀ g (swapped) for f = 1/√λ − 1.
 */
function apply(m: LowRankMetric, x: Float64Array, out: Float64Array, inverse: boolean, swapScale: boolean): void {
  const { dim, std, rank, vectors, values } = m;
  if (rank === 0) {
    if (out !== x) for (let i = 0; i < dim; i++) out[i] = x[i];
    return;
  }
  const coef = m.scratch;
  for (let k = 0; k < rank; k++) {
    let t = 0;
    for (let i = 0; i < dim; i++) t += vectors[k * dim + i] * (swapScale ? x[i] * std[i] : x[i] / std[i]);
    const root = Math.sqrt(values[k]);
    coef[k] = t * (inverse ? 1 / root - 1 : root - 1);
  }
  for (let i = 0; i < dim; i++) {
    let t = 0;
    for (let k = 0; k < rank; k++) t += vectors[k * dim + i] * coef[k];
    out[i] = x[i] + (swapScale ? t / std[i] : t * std[i]);
  }
}

/** θ = T x. */
export const toTheta = (m: LowRankMetric, x: Float64Array, out: Float64Array) => apply(m, x, out, false, false);
/** x = T⁻¹ θ. */
export const fromTheta = (m: LowRankMetric, theta: Float64Array, out: Float64Array) => apply(m, theta, out, true, false);
/** ∇ₓ = Tᵀ ∇θ. */
export const gradToX = (m: LowRankMetric, g: Float64Array, out: Float64Array) => apply(m, g, out, false, true);
/** ∇θ = T⁻ᵀ ∇ₓ. */
export const gradToTheta = (m: LowRankMetric, g: Float64Array, out: Float64Array) => apply(m, g, out, true, true);

/** The log-density on x for the metric's current transform (which may change later: the wrapper reads it each call). */
export function transformedDensity(f: LogDensityGradient, m: LowRankMetric): LogDensityGradient {
  const theta = new Float64Array(m.dim);
  const gTheta = new Float64Array(m.dim);
  return (x, gx) => {
    toTheta(m, x, theta);
    const lp = f(theta, gTheta);
    gradToX(m, gTheta, gx);
    return lp;
  };
}

/** diag(M⁻¹) on θ: sᵢ² (1 + Σₖ Uₖᵢ² (λₖ − 1)), what Posterior.invMetrics reports. */
export function inverseMetricDiagonal(m: LowRankMetric): Float64Array {
  const out = new Float64Array(m.dim);
  for (let i = 0; i < m.dim; i++) {
    let t = 1;
    for (let k = 0; k < m.rank; k++) t += m.vectors[k * m.dim + i] ** 2 * (m.values[k] - 1);
    out[i] = m.std[i] * m.std[i] * t;
  }
  return out;
}

/** Σ with Σ B Σ = A for symmetric positive-definite A, B: B^{-1/2} (B^{1/2} A B^{1/2})^{1/2} B^{-1/2}. */
export function spdMean(A: Float64Array, B: Float64Array, n: number): Float64Array {
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  symmetricEigen(B.slice(), n, values, vectors);
  const power = (vals: Float64Array, vecs: Float64Array, f: (v: number) => number): Float64Array => {
    const out = new Float64Array(n * n);
    for (let k = 0; k < n; k++) {
      const fk = f(vals[k]);
      for (let i = 0; i < n; i++) {
        const vi = vecs[k * n + i] * fk;
        for (let j = 0; j < n; j++) out[i * n + j] += vi * vecs[k * n + j];
      }
    }
    return out;
  };
  const bHalf = power(values, vectors, Math.sqrt);
  const bMinusHalf = power(values, vectors, (v) => 1 / Math.sqrt(v));
  const mid = multiply(multiply(bHalf, A, n), bHalf, n);
  const mv = new Float64Array(n);
  const mvec = new Float64Array(n * n);
  symmetricEigen(mid, n, mv, mvec);
  const midHalf = power(mv, mvec, (v) => Math.sqrt(Math.max(v, 0)));
  return multiply(multiply(bMinusHalf, midHalf, n), bMinusHalf, n);
}

function multiply(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let k = 0; k < n; k++) {
      const aik = a[i * n + k];
      if (aik === 0) continue;
      for (let j = 0; j < n; j++) out[i * n + j] += aik * b[k * n + j];
    }
  return out;
}

/**
 * The metric from points (draws and their gradients on θ), in place. Returns false, changing nothing, below three
 * points or when the estimate is not finite.
 */
export function estimateLowRank(draws: Float64Array[], grads: Float64Array[], m: LowRankMetric, cfg = LOW_RANK_DEFAULTS): boolean {
  const n = draws.length;
  const dim = m.dim;
  if (n < 3) return false;
  const std = new Float64Array(dim);
  const xs = draws.map(() => new Float64Array(dim));
  const gs = grads.map(() => new Float64Array(dim));
  for (let i = 0; i < dim; i++) {
    let mx = 0;
    let mg = 0;
    for (let k = 0; k < n; k++) {
      mx += draws[k][i];
      mg += grads[k][i];
    }
    mx /= n;
    mg /= n;
    let sx = 0;
    let sg = 0;
    for (let k = 0; k < n; k++) {
      sx += (draws[k][i] - mx) ** 2;
      sg += (grads[k][i] - mg) ** 2;
    }
    const s = Math.sqrt(Math.sqrt(sx) / Math.sqrt(sg));
    // A coordinate whose draws or gradients never varied keeps its scale.
    std[i] = Number.isFinite(s) && s > 0 ? Math.min(Math.max(s, 1e-10), 1e10) : m.std[i];
    for (let k = 0; k < n; k++) {
      xs[k][i] = (draws[k][i] - mx) / std[i];
      gs[k][i] = (grads[k][i] - mg) * std[i];
    }
  }
  let values = new Float64Array(0);
  let vectors = new Float64Array(0);
  if (dim > 1 && dim <= MAX_LOW_RANK_DIM) {
    // Covariances of the scaled points, regularised by nγ on the diagonal (nuts-rs: XXᵀ/(n²γ) + I, the same up to a
    // factor that cancels in the mean).
    const cx = new Float64Array(dim * dim);
    const cg = new Float64Array(dim * dim);
    for (let k = 0; k < n; k++)
      for (let i = 0; i < dim; i++) {
        const xi = xs[k][i] / n;
        const gi = gs[k][i] / n;
        for (let j = 0; j < dim; j++) {
          cx[i * dim + j] += xi * xs[k][j];
          cg[i * dim + j] += gi * gs[k][j];
        }
      }
    for (let i = 0; i < dim; i++) {
      cx[i * dim + i] += n * cfg.gamma;
      cg[i * dim + i] += n * cfg.gamma;
    }
    const sigma = spdMean(cx, cg, dim);
    const ev = new Float64Array(dim);
    const evec = new Float64Array(dim * dim);
    symmetricEigen(sigma, dim, ev, evec);
    const keep: number[] = [];
    for (let k = 0; k < dim; k++) if (ev[k] > cfg.eigenvalueCutoff || ev[k] < 1 / cfg.eigenvalueCutoff) keep.push(k);
    values = Float64Array.from(keep, (k) => ev[k]);
    vectors = new Float64Array(keep.length * dim);
    keep.forEach((k, r) => vectors.set(evec.subarray(k * dim, (k + 1) * dim), r * dim));
    if (!values.every((v) => Number.isFinite(v) && v > 0) || !vectors.every(Number.isFinite)) {
      values = new Float64Array(0);
      vectors = new Float64Array(0);
    }
  }
  if (!std.every((s) => Number.isFinite(s) && s > 0)) return false;
  m.std.set(std);
  m.rank = values.length;
  m.values = values;
  m.vectors = vectors;
  return true;
}

/** The windows of points: the foreground (every point held) and the background (those from `split` on). */
export interface PointWindows {
  draws: Float64Array[];
  grads: Float64Array[];
  split: number;
  tune: number;
  earlyEnd: number;
  finalWindowStart: number;
  updated: boolean;
}

export function pointWindowsInit(theta0: Float64Array, grad0: Float64Array, tune: number, cfg = GRAD_ADAPTATION_DEFAULTS): PointWindows {
  return {
    draws: [theta0.slice()],
    grads: [grad0.slice()],
    split: 0,
    tune,
    earlyEnd: Math.trunc(cfg.earlyWindow * tune),
    finalWindowStart: tune - Math.trunc(cfg.stepSizeWindow * tune),
    updated: false,
  };
}

/**
 * Feeds warm-up iteration `it`: the draw and gradient on θ, and whether the draw is usable. Recomputes `metric` at
 * switches and every UPDATE_EVERY iterations; returns what changed, as learnFromGradients does.
 */
export function learnLowRank(
  w: PointWindows,
  it: number,
  theta: Float64Array,
  grad: Float64Array,
  usable: boolean,
  metric: LowRankMetric,
  cfg = GRAD_ADAPTATION_DEFAULTS,
): "none" | "changed" | "first" {
  if (it >= w.finalWindowStart) return "none";
  if (usable) {
    w.draws.push(theta.slice());
    w.grads.push(grad.slice());
  }
  const switchEvery = it < w.earlyEnd ? cfg.earlySwitchEvery : cfg.switchEvery;
  let switched = false;
  if (w.draws.length - w.split >= switchEvery && switchEvery + it <= w.finalWindowStart) {
    w.draws.splice(0, w.split);
    w.grads.splice(0, w.split);
    w.split = w.draws.length;
    switched = true;
  }
  if (!switched && w.updated && it % UPDATE_EVERY !== 0) return "none";
  if (!estimateLowRank(w.draws, w.grads, metric)) return "none";
  if (!w.updated) {
    w.updated = true;
    return "first";
  }
  return "changed";
}
