// Warm-up adaptation against hand-computed values from Stan's formulas: dual averaging (stepsize_adaptation.hpp),
// the windowed schedule (windowed_adaptation.hpp), the regularised variance (var_adaptation.hpp), and
// init_stepsize (base_hmc.hpp); and nutpie's gradient-based diagonal and low-rank estimates and their schedule (nuts-rs).
import { describe, expect, it } from "vitest";
import { BayesServeError } from "../../src/errors.js";
import { createPoint } from "../../src/inference/point.js";
import { DUAL_AVERAGING_DEFAULTS, dualAveragingFinal, dualAveragingInit, dualAveragingUpdate, initStepSize } from "../../src/inference/step-size.js";
import {
  drawGradAdd,
  drawGradEstimateInit,
  gradAdaptationInit,
  invMetricFromEstimate,
  invMetricFromGradient,
  learnFromGradients,
} from "../../src/inference/grad-adaptation.js";
import {
  estimateLowRank,
  fromTheta,
  gradToTheta,
  gradToX,
  inverseMetricDiagonal,
  lowRankMetricInit,
  spdMean,
  toTheta,
} from "../../src/inference/low-rank-adaptation.js";
import { learnVariance, welfordInit, windowScheduleInit } from "../../src/inference/windowed-adaptation.js";
import { warmUp, windowedVariance } from "../../src/inference/warmup.js";
import type { ChainLoop } from "../../src/inference/chain-loop.js";
import type { NutsKernel } from "../../src/inference/nuts.js";
import { Rng } from "../../src/random/rng.js";

describe("dual averaging", () => {
  it("matches Stan's learn_stepsize step by step (δ 0.8, γ 0.05, κ 0.75, t0 10, μ = log(10·ε0))", () => {
    // By hand (Python, double precision) for ε0 = 1 and accept stats 0.9, 0.5, 1.2 (capped at 1), 0.7, 0:
    //   η = 1/(t + t0); s̄ ← (1 − η)s̄ + η(δ − a); x = μ − s̄√t/γ; x̄ ← (1 − t^−κ)x̄ + t^−κ x; ε = e^x.
    const expected: [number, number][] = [
      [11.99396102035386, 11.99396102035386],
      [6.24125055778261, 8.133527627722609],
      [9.999999999999998, 8.905099888556975],
      [7.514772930752859, 8.386365812865877],
      [0.6833852792409176, 3.961998415733205],
    ];
    const s = dualAveragingInit(1);
    expect(s.mu).toBeCloseTo(Math.log(10), 15);
    [0.9, 0.5, 1.2, 0.7, 0].forEach((a, i) => {
      const eps = dualAveragingUpdate(s, a, DUAL_AVERAGING_DEFAULTS);
      expect(eps).toBeCloseTo(expected[i][0], 12);
      expect(dualAveragingFinal(s)).toBeCloseTo(expected[i][1], 12);
    });
    expect(s.counter).toBe(5);
  });

  it("converges to the step size whose acceptance is δ", () => {
    // A fake sampler whose acceptance falls with ε: a(ε) = exp(−ε²/2); a = 0.8 at ε* = sqrt(−2 log 0.8).
    const target = Math.sqrt(-2 * Math.log(0.8));
    const s = dualAveragingInit(1);
    let eps = 1;
    for (let t = 0; t < 2000; t++) eps = dualAveragingUpdate(s, Math.exp((-eps * eps) / 2), DUAL_AVERAGING_DEFAULTS);
    expect(dualAveragingFinal(s)).toBeCloseTo(target, 2);
  });
});

/** Iterations (0-based) at which learnVariance closes a window, for a warm-up of n iterations. */
function windowEnds(numWarmup: number): number[] {
  const w = windowScheduleInit(numWarmup);
  const est = welfordInit(1);
  const inv = new Float64Array(1).fill(1);
  const ends: number[] = [];
  for (let it = 0; it < numWarmup; it++) if (learnVariance(w, est, inv, Float64Array.of(it % 7))) ends.push(it);
  return ends;
}

describe("windowed adaptation schedule", () => {
  // From Stan's compute_next_window: the window doubles after each end; if the next-but-one boundary would pass the
  // terminal buffer, the next window stretches to num_warmup − term_buffer − 1.
  it("1,000 warm-up iterations: windows end at 99, 149, 249, 449, 949 (Stan's 100, 150, 250, 450, 950)", () => {
    expect(windowEnds(1000)).toEqual([99, 149, 249, 449, 949]);
  });
  it("2,000: 99, 149, 249, 449, 849, 1949", () => {
    expect(windowEnds(2000)).toEqual([99, 149, 249, 449, 849, 1949]);
  });
  it("500: the fourth window stretches to 449", () => {
    expect(windowEnds(500)).toEqual([99, 149, 249, 449]);
  });
  it("150 (exactly 75 + 25 + 50): one window, ending at 99", () => {
    expect(windowEnds(150)).toEqual([99]);
  });
  it("100 (too short for the defaults): 15 % / 75 % / 10 %, one window ending at 89", () => {
    expect(windowScheduleInit(100)).toMatchObject({ initBuffer: 15, termBuffer: 10, baseWindow: 75 });
    expect(windowEnds(100)).toEqual([89]);
  });
  it("20: 3 / 15 / 2, one window ending at 17; below 20 no adaptation at all", () => {
    expect(windowEnds(20)).toEqual([17]);
    expect(windowEnds(19)).toEqual([]);
    expect(windowEnds(0)).toEqual([]);
  });

  it("each window's metric is the regularised variance of that window's draws only", () => {
    const w = windowScheduleInit(1000);
    const est = welfordInit(2);
    const inv = new Float64Array(2).fill(1);
    const rng = new Rng(4, 0);
    const draws: number[][] = [];
    for (let it = 0; it < 1000; it++) {
      const q = Float64Array.of(rng.normal() * 3, 0.5 + rng.uniform() * (it < 100 ? 1 : 10));
      draws.push(Array.from(q));
      if (learnVariance(w, est, inv, q)) {
        const start = it === 99 ? 75 : [0, 99, 149, 249, 449][[99, 149, 249, 449, 949].indexOf(it)] + 1;
        const window = draws.slice(start, it + 1);
        const n = window.length;
        for (let k = 0; k < 2; k++) {
          const xs = window.map((d) => d[k]);
          const m = xs.reduce((a, b) => a + b, 0) / n;
          const v = xs.reduce((a, b) => a + (b - m) ** 2, 0) / (n - 1);
          // var_adaptation: (n / (n + 5))·var + 1e-3·(5 / (n + 5)).
          expect(inv[k]).toBeCloseTo((n / (n + 5)) * v + 1e-3 * (5 / (n + 5)), 10);
        }
        expect([25, 50, 100, 200, 500]).toContain(n);
      }
    }
  });
});

describe("init_stepsize", () => {
  // A one-dimensional standard normal at q = 0 with momentum always 1: one leapfrog step of size ε gives
  // H0 − H1 = −ε⁴/8, so the acceptance crosses 0.8 at ε = (−8 log 0.8)^¼ ≈ 1.156.
  const logDensity = (q: Float64Array, g: Float64Array) => {
    g[0] = -q[0];
    return -0.5 * q[0] * q[0];
  };
  const unitMomentum = { normal: () => 1 } as unknown as Rng;
  const start = () => {
    const z = createPoint(1);
    z.logp = logDensity(z.q, z.grad);
    return z;
  };

  it("doubles from below until the acceptance falls under 0.8: 0.1 → 1.6, 1 → 2", () => {
    expect(initStepSize(start(), 0.1, Float64Array.of(1), logDensity, unitMomentum)).toBeCloseTo(1.6, 14);
    expect(initStepSize(start(), 1, Float64Array.of(1), logDensity, unitMomentum)).toBe(2);
  });
  it("halves from above until the acceptance rises over 0.8: 3 → 0.75", () => {
    expect(initStepSize(start(), 3, Float64Array.of(1), logDensity, unitMomentum)).toBe(0.75);
  });
  it("leaves the point where it was", () => {
    const z = start();
    z.q[0] = 0.3;
    z.logp = logDensity(z.q, z.grad);
    initStepSize(z, 1, Float64Array.of(1), logDensity, new Rng(1, 0));
    expect(z.q[0]).toBe(0.3);
    expect(z.logp).toBe(-0.045);
  });
  it("on a flat density the step size explodes: SAMPLER_STEPSIZE, the posterior is improper", () => {
    const flat = (_q: Float64Array, g: Float64Array) => {
      g.fill(0);
      return 0;
    };
    const z = createPoint(2);
    let err: unknown;
    try {
      initStepSize(z, 1, Float64Array.of(1, 1), flat, new Rng(1, 0));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BayesServeError);
    expect((err as BayesServeError).code).toBe("SAMPLER_STEPSIZE");
    expect((err as Error).message).toMatch(/improper/);
  });
});

describe("the first dual averaging of Stan's windowed adaptation", () => {
  // rstan 2.21 on posteriordb's gp_pois_regr-gp_regr (seed 7, chain 1, adapt_delta 0.8), its warm-up's first four
  // stepsize__ and accept_stat__ from get_sampler_params(inc_warmup = TRUE). Stan sets μ = log(10 × stepsize = 1)
  // before init_stepsize runs, so from the second iteration on its step sizes do not depend on the heuristic's 0.25:
  // with μ = log(10 × 0.25) the second would be 3.596.
  const stanAcceptStats = [1, 0, 0, 0.87987692714862809];
  const stanStepSizes = [0.25, 14.385510095776777, 2.4311673443421422, 0.23979140553843048];

  it("aims at 10× Stan's nominal step size 1, not at 10× the heuristic's first step size", () => {
    // A narrow normal (sd 0.01), so that the heuristic's first step size is far from both 1 and Stan's 0.25.
    const logDensity = (q: Float64Array, g: Float64Array) => {
      g[0] = -q[0] / 1e-4;
      return (-0.5 * q[0] * q[0]) / 1e-4;
    };
    const z = createPoint(1);
    z.q[0] = 0.003;
    z.logp = logDensity(z.q, z.grad);
    const used: number[] = [];
    const kernel: NutsKernel = {
      transition(_z, epsilon) {
        const acceptStat = stanAcceptStats[used.length];
        used.push(epsilon);
        return { acceptStat, treeDepth: 1, nLeapfrog: 1, divergent: false, energy: 0 };
      },
      transitions() {
        throw new Error("warm-up makes single transitions");
      },
    };
    const loop: ChainLoop = {
      target: { dim: 1, paramNames: ["x"], logDensityGradient: logDensity },
      chain: 0,
      rng: new Rng(3, 0),
      z,
      invMetric: Float64Array.of(1),
      kernel,
      total: 1000,
      progressEvery: 1000,
      gradients: 0,
    };
    warmUp(loop, stanAcceptStats.length, 0.8, windowedVariance(1000, 1));
    expect(used).toHaveLength(4);
    expect(used[0]).toBeLessThan(0.1);
    for (let i = 1; i < 4; i++) expect(used[i] / stanStepSizes[i]).toBeCloseTo(1, 12);
  });
});

describe("gradient-based diagonal metric (nutpie)", () => {
  it("sqrt(Var[x] / Var[g]) recovers a Gaussian's variances from a few dozen draws", () => {
    // For N(0, diag(v)), g = −x / v: Var[g] = 1 / v, so sqrt(Var[x] / Var[g]) = v exactly in expectation of both.
    const v = [0.01, 1, 400];
    const rng = new Rng(5, 0);
    const e = drawGradEstimateInit(3);
    for (let k = 0; k < 50; k++) {
      const q = Float64Array.from(v, (vi) => Math.sqrt(vi) * rng.normal());
      drawGradAdd(
        e,
        q,
        Float64Array.from(q, (qi, i) => -qi / v[i]),
      );
    }
    const inv = new Float64Array(3);
    expect(invMetricFromEstimate(e, inv)).toBe(true);
    // Exact for a Gaussian with any number of draws: x and g are proportional coordinate by coordinate.
    for (let i = 0; i < 3; i++) expect(inv[i]).toBeCloseTo(v[i], 10);
  });

  it("starts from 1/|g| of the initial point, 1 where the gradient is 0", () => {
    const inv = new Float64Array(3);
    invMetricFromGradient(Float64Array.of(4, -0.5, 0), inv);
    expect(Array.from(inv)).toEqual([0.25, 2, 1]);
  });

  it("switches to the background estimate after 10 draws early and 80 later, and freezes the metric for the last 15 %", () => {
    const q0 = Float64Array.of(0);
    const a = gradAdaptationInit(q0, Float64Array.of(0), 1000);
    expect(a.earlyEnd).toBe(300);
    expect(a.finalWindowStart).toBe(850);
    const inv = Float64Array.of(1);
    const counts: number[] = [];
    const rng = new Rng(2, 0);
    const updates: string[] = [];
    for (let it = 0; it < 1000; it++) {
      const x = rng.normal();
      updates.push(learnFromGradients(a, it, Float64Array.of(x), Float64Array.of(-x), true, inv));
      counts.push(a.foreground.n);
    }
    // Both start with the initial point; at iteration 8 the background holds 10 draws and becomes the foreground,
    // which then grows until the background has 10 new ones again (iteration 18).
    expect(counts[0]).toBe(2);
    expect(counts[7]).toBe(9);
    expect(counts[8]).toBe(10);
    expect(counts[9]).toBe(11);
    expect(counts[17]).toBe(19);
    expect(counts[18]).toBe(10);
    // After 30 %, switches every 80 draws; none within 80 of the final window, so the last estimate grows past 160.
    expect(counts[298]).toBe(10);
    expect(counts[377]).toBe(89);
    expect(counts[378]).toBe(80);
    expect(counts.slice(300, 850).every((n) => n >= 10 && n <= 240)).toBe(true);
    expect(updates[1]).toBe("first");
    expect(updates.slice(2, 850).every((u) => u === "changed")).toBe(true);
    expect(updates.slice(850).every((u) => u === "none")).toBe(true);
    expect(inv[0]).toBeCloseTo(1, 10);
  });

  it("unusable draws (the sampler did not move, or diverged) are left out", () => {
    const a = gradAdaptationInit(Float64Array.of(0), Float64Array.of(0), 100);
    const inv = Float64Array.of(1);
    learnFromGradients(a, 0, Float64Array.of(5), Float64Array.of(-5), false, inv);
    expect(a.foreground.n).toBe(1);
  });
});

describe("low-rank-plus-diagonal metric (nutpie)", () => {
  it("spdMean solves Σ B Σ = A (the geometric mean of A and B⁻¹)", () => {
    const n = 4;
    const rng = new Rng(3, 0);
    const spd = () => {
      const r = Float64Array.from({ length: n * n }, () => rng.normal());
      const out = new Float64Array(n * n);
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k < n; k++) out[i * n + j] += r[i * n + k] * r[j * n + k];
      for (let i = 0; i < n; i++) out[i * n + i] += 0.5;
      return out;
    };
    const A = spd();
    const B = spd();
    const S = spdMean(A, B, n);
    const mul = (x: Float64Array, y: Float64Array) => {
      const o = new Float64Array(n * n);
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k < n; k++) o[i * n + j] += x[i * n + k] * y[k * n + j];
      return o;
    };
    const SBS = mul(mul(S, B), S);
    for (let i = 0; i < n * n; i++) expect(SBS[i]).toBeCloseTo(A[i], 9);
  });

  it("θ = T x: the inverse and the gradient maps are consistent (Tᵀ∇θ is ∇ₓ, T⁻¹T = I), and T S² Tᵀ is the metric", () => {
    const dim = 3;
    const m = lowRankMetricInit(dim);
    m.std.set([2, 0.5, 3]);
    m.rank = 1;
    m.values = Float64Array.of(400);
    m.vectors = Float64Array.of(0.6, 0.8, 0);
    const x = Float64Array.of(0.3, -1.2, 0.7);
    const theta = new Float64Array(dim);
    const back = new Float64Array(dim);
    toTheta(m, x, theta);
    fromTheta(m, theta, back);
    for (let i = 0; i < dim; i++) expect(back[i]).toBeCloseTo(x[i], 12);
    // f(θ) = a·θ has ∇θ = a and f(T x) has ∇ₓ = Tᵀ a; check against finite differences of f(T x).
    const a = Float64Array.of(1.5, -0.4, 2);
    const gx = new Float64Array(dim);
    gradToX(m, a, gx);
    const f = (xx: Float64Array) => {
      const t = new Float64Array(dim);
      toTheta(m, xx, t);
      return a[0] * t[0] + a[1] * t[1] + a[2] * t[2];
    };
    for (let i = 0; i < dim; i++) {
      const h = 1e-6;
      const xp = x.slice();
      const xm = x.slice();
      xp[i] += h;
      xm[i] -= h;
      expect(gx[i]).toBeCloseTo((f(xp) - f(xm)) / (2 * h), 6);
    }
    const ga = new Float64Array(dim);
    gradToTheta(m, gx, ga);
    for (let i = 0; i < dim; i++) expect(ga[i]).toBeCloseTo(a[i], 12);
    // diag(M⁻¹) = sᵢ² (1 + uᵢ² (λ − 1)).
    expect(Array.from(inverseMetricDiagonal(m))).toEqual([4 * (1 + 0.36 * 399), 0.25 * (1 + 0.64 * 399), 9].map((v) => expect.closeTo(v, 9)));
  });

  it("finds the direction of a correlation of 0.9999 from 100 draws of a Gaussian", () => {
    // Cov = [[1, ρ], [ρ, 1]] (ρ = 0.9999): variances 1.9999 and 1e-4 along (1, 1)/√2 and (1, −1)/√2.
    const rho = 0.9999;
    const rng = new Rng(9, 0);
    const draws: Float64Array[] = [];
    const grads: Float64Array[] = [];
    for (let k = 0; k < 100; k++) {
      const u = rng.normal() * Math.sqrt(1 + rho);
      const v = rng.normal() * Math.sqrt(1 - rho);
      const x = Float64Array.of((u + v) / Math.SQRT2, (u - v) / Math.SQRT2);
      // g = −Cov⁻¹ x.
      const det = 1 - rho * rho;
      draws.push(x);
      grads.push(Float64Array.of(-(x[0] - rho * x[1]) / det, -(x[1] - rho * x[0]) / det));
    }
    const m = lowRankMetricInit(2);
    expect(estimateLowRank(draws, grads, m)).toBe(true);
    expect(m.rank).toBeGreaterThanOrEqual(1);
    // M⁻¹ = S(I + U(Λ − I)Uᵀ)S reproduces the covariance: check M⁻¹ applied to the two principal directions.
    const full = (e: Float64Array) => {
      const t = new Float64Array(2);
      const out = new Float64Array(2);
      // M⁻¹ e = T S² Tᵀ e.
      gradToX(m, e, t);
      t[0] *= m.std[0] ** 2;
      t[1] *= m.std[1] ** 2;
      toTheta(m, t, out);
      return out;
    };
    const along = full(Float64Array.of(Math.SQRT1_2, Math.SQRT1_2));
    const across = full(Float64Array.of(Math.SQRT1_2, -Math.SQRT1_2));
    // Within 15 %: the estimate is exact for a Gaussian but for its regularisation (nγ = 1e-3 on the scaled
    // covariances, a few per cent of the smaller variance here), where the diagonal alone is off by a factor of ~140.
    expect(Math.abs((along[0] + along[1]) / Math.SQRT2 / (1 + rho) - 1)).toBeLessThan(0.15);
    expect(Math.abs((across[0] - across[1]) / Math.SQRT2 / (1 - rho) - 1)).toBeLessThan(0.15);
  });
});
