// NUTS end to end: a 10-dimensional standard normal, a strongly correlated Gaussian (the sd must not be inflated:
// this caught wrong boundary momenta in the U-turn checks), the seed's regression recovering its parameters with no
// divergences, and fit() with worker threads giving bit-identical draws to sequential chains.
import { describe, expect, it } from "vitest";
import { meanOfChains, sdOfChains } from "../../src/diagnostics/chains.js";
import { essBulk } from "../../src/diagnostics/ess.js";
import { mcseMean, mcseSd } from "../../src/diagnostics/mcse.js";
import { rhat } from "../../src/diagnostics/rhat.js";
import { fit } from "../../src/inference/fit.js";
import { runChain } from "../../src/inference/sampler.js";
import { bindModel } from "../../src/model/bind.js";
import { compileModel } from "../../src/model/compile.js";
import { model, Normal } from "../../src/model/index.js";
import { Rng } from "../../src/random/rng.js";
import { eightSchoolsNoncentered } from "../../src/models/posteriordb/eight-schools-noncentered.js";
import { seedRegression } from "../../src/models/seed-regression.js";
import { chainsOf, SEED_BETA, SEED_SIGMA, seedData, statColumn, sum } from "./helpers.js";

describe("NUTS on a 10-dimensional standard normal", async () => {
  const m = model("std_normal", (m) => void m.param("x", Normal(0, 1), { shape: 10 }));
  const p = await fit(m, {}, { chains: 4, draws: 1000, tune: 1000, seed: 3, threads: false, progress: false });

  it("every coordinate has mean 0 and sd 1", () => {
    for (let i = 0; i < 10; i++) {
      const c = chainsOf(p, `x[${i}]`);
      expect(Math.abs(meanOfChains(c)) / mcseMean(c), `x[${i}] mean`).toBeLessThan(4);
      expect(Math.abs(sdOfChains(c) - 1) / mcseSd(c), `x[${i}] sd ${sdOfChains(c)}`).toBeLessThan(4);
      expect(rhat(c)).toBeLessThan(1.01);
      expect(essBulk(c)).toBeGreaterThan(2000);
    }
  });

  it("the step size and the acceptance statistic settle where Stan's do", () => {
    // For a standard normal the adapted step size is a little under 1 (Stan: about 0.7–0.9 in 10 dimensions), and the
    // mean acceptance statistic after warm-up is near (in practice a little above) the 0.8 target.
    for (const eps of p.stepSizes) {
      expect(eps).toBeGreaterThan(0.5);
      expect(eps).toBeLessThan(1.2);
    }
    const accept = statColumn(p, "accept_stat");
    const meanAccept = sum(accept) / accept.length;
    expect(meanAccept).toBeGreaterThan(0.75);
    expect(meanAccept).toBeLessThan(0.95);
    expect(sum(statColumn(p, "diverging"))).toBe(0);
    // The adapted inverse metric estimates the unit variances.
    for (const inv of p.invMetrics)
      for (const v of inv) {
        expect(v).toBeGreaterThan(0.6);
        expect(v).toBeLessThan(1.6);
      }
  });

  it("tree depth and leapfrog counts are consistent: 2^d − 1 ≤ n_leapfrog ≤ 2^(d+1) − 1, and n ≤ 2^10 − 1", () => {
    const depth = statColumn(p, "tree_depth");
    const n = statColumn(p, "n_leapfrog");
    for (let i = 0; i < depth.length; i++) {
      expect(n[i]).toBeGreaterThanOrEqual(2 ** depth[i] - 1);
      expect(n[i]).toBeLessThanOrEqual(2 ** (depth[i] + 1) - 1);
      expect(depth[i]).toBeLessThanOrEqual(10);
    }
    const stepCol = statColumn(p, "step_size");
    for (let c = 0; c < p.chains; c++) expect(stepCol[c * p.draws]).toBe(p.stepSizes[c]);
  });

  it("lp is the log-density of the draw and energy ≥ −lp (kinetic energy is non-negative)", () => {
    const lp = statColumn(p, "lp");
    const energy = statColumn(p, "energy");
    const w = p.names.length;
    for (let i = 0; i < lp.length; i += 97) {
      let expected = -5 * Math.log(2 * Math.PI);
      for (let k = 0; k < 10; k++) expected -= 0.5 * p.values[i * w + k] ** 2;
      expect(lp[i]).toBeCloseTo(expected, 10);
      expect(energy[i]).toBeGreaterThanOrEqual(-lp[i]);
    }
  });
});

describe("NUTS on a strongly correlated Gaussian", () => {
  it.each(["stan", "grad-diag", "low-rank"] as const)(
    "recovers the sds of a kidiq-like posterior (correlations −0.92, scales 0.13 to 15), %s adaptation",
    (adaptation) => {
      // Precision A = XᵀX / 324 for a design with an intercept, a 0/1 indicator, a score 70..130 and their product.
      const rng = new Rng(1, 1);
      const d = 4;
      const rows = Array.from({ length: 400 }, () => {
        const hs = rng.uniform() < 0.8 ? 1 : 0;
        const iq = 70 + 60 * rng.uniform();
        return [1, hs, iq, hs * iq];
      });
      const A = Array.from({ length: d }, (_, i) => Array.from({ length: d }, (_, j) => rows.reduce((s, r) => s + r[i] * r[j], 0) / 324));
      const cov = invert(A);
      const target = {
        dim: d,
        paramNames: ["b0", "b1", "b2", "b3"],
        logDensityGradient: (q: Float64Array, g: Float64Array) => {
          let lp = 0;
          for (let i = 0; i < d; i++) {
            let s = 0;
            for (let j = 0; j < d; j++) s += A[i][j] * q[j];
            g[i] = -s;
            lp -= 0.5 * q[i] * s;
          }
          return lp;
        },
      };
      const draws = 8000;
      const settings = { draws, tune: 1000, seed: 1, maxTreeDepth: 10, targetAccept: 0.8, initRadius: 2, adaptation };
      const results = [0, 1, 2, 3].map((c) => runChain(target, settings, c));
      for (let i = 0; i < d; i++) {
        const chains = results.map((r) => Float64Array.from({ length: draws }, (_, k) => r.unconstrained[k * d + i]));
        const trueSd = Math.sqrt(cov[i][i]);
        const sd = sdOfChains(chains);
        expect(Math.abs(meanOfChains(chains)) / mcseMean(chains)).toBeLessThan(4);
        // With the U-turn bookkeeping bug the sds came out 4.6–5.3 % too large (z ≈ 3–4.4 at this length).
        expect(Math.abs(sd - trueSd) / mcseSd(chains), `b${i}: sd ${sd} vs ${trueSd}`).toBeLessThan(3);
        expect(Math.abs(sd / trueSd - 1)).toBeLessThan(0.03);
      }
    },
  );
});

describe("NUTS on the seed's regression (1,600 rows)", async () => {
  const data = seedData();
  const p = await fit(seedRegression, data, { chains: 2, draws: 1000, tune: 1000, seed: 42, threads: false, progress: false });

  it("recovers beta = (1, 1.25, 1.5) and sigma = 0.75", () => {
    // The posterior concentrates near the data-generating values: each within 4 posterior sds.
    const truth: Record<string, number> = { "beta[0]": SEED_BETA[0], "beta[1]": SEED_BETA[1], "beta[2]": SEED_BETA[2], sigma: SEED_SIGMA };
    for (const [name, value] of Object.entries(truth)) {
      const c = chainsOf(p, name);
      const z = (meanOfChains(c) - value) / sdOfChains(c);
      expect(Math.abs(z), `${name}: mean ${meanOfChains(c)}, sd ${sdOfChains(c)}`).toBeLessThan(4);
      expect(rhat(c)).toBeLessThan(1.01);
      expect(essBulk(c)).toBeGreaterThan(400);
    }
    // About the PyMC3 run's precision (sds 0.006 and 0.013: README, "The original project").
    expect(sdOfChains(chainsOf(p, "beta[0]"))).toBeLessThan(0.01);
    expect(sdOfChains(chainsOf(p, "sigma"))).toBeLessThan(0.02);
  });

  it("has no divergences after warm-up, and few leapfrog steps per draw", () => {
    expect(sum(statColumn(p, "diverging"))).toBe(0);
    // Early warm-up, from uniform(−2, 2) initial values and the first step sizes, may diverge a few times (Stan too).
    for (const n of p.warmupDivergences) expect(n).toBeLessThan(20);
    const perDraw = sum(statColumn(p, "n_leapfrog")) / (p.chains * p.draws);
    // Stan takes about 5.2 on this model and data size.
    expect(perDraw).toBeGreaterThan(3);
    expect(perDraw).toBeLessThan(8);
  });

  it("reports names, shapes and the constrained draws", () => {
    expect(p.names).toEqual(["beta[0]", "beta[1]", "beta[2]", "sigma"]);
    expect(p.shapes).toEqual({ beta: [3], sigma: [] });
    expect(p.values.length).toBe(2 * 1000 * 4);
    for (const s of chainsOf(p, "sigma")) for (const v of s) expect(v).toBeGreaterThan(0);
  });

  it("lp matches the compiled log-density at the draw", () => {
    const c = compileModel(bindModel(seedRegression.json, data));
    const lp = statColumn(p, "lp");
    const grad = new Float64Array(4);
    for (let i = 0; i < lp.length; i += 151) {
      const v = p.values.subarray(i * 4, i * 4 + 4);
      const theta = Float64Array.of(v[0], v[1], v[2], Math.log(v[3]));
      expect(c.logDensityGradient(theta, grad)).toBeCloseTo(lp[i], 6);
    }
  });
});

describe("NUTS on the seed's regression with the gradient-based metric", async () => {
  const data = seedData();
  const p = await fit(seedRegression, data, { chains: 2, draws: 1000, tune: 1000, seed: 42, threads: false, progress: false, adaptation: "grad-diag" });

  it("recovers the parameters with no divergences, and its metric is the posterior's variances", () => {
    const truth: Record<string, number> = { "beta[0]": SEED_BETA[0], "beta[1]": SEED_BETA[1], "beta[2]": SEED_BETA[2], sigma: SEED_SIGMA };
    for (const [name, value] of Object.entries(truth)) {
      const c = chainsOf(p, name);
      expect(Math.abs((meanOfChains(c) - value) / sdOfChains(c)), name).toBeLessThan(4);
      expect(rhat(c)).toBeLessThan(1.01);
      expect(essBulk(c)).toBeGreaterThan(400);
    }
    expect(sum(statColumn(p, "diverging"))).toBe(0);
    // The unconstrained variances: beta's as they are, log sigma's as sd(sigma)² / sigma² (delta method); the metric
    // should be within a factor of 2 of them.
    const variance = (xs: Float64Array[]) => sdOfChains(xs) ** 2;
    const sigma = chainsOf(p, "sigma");
    const expected = [0, 1, 2].map((k) => variance(chainsOf(p, `beta[${k}]`))).concat(variance(sigma) / meanOfChains(sigma) ** 2);
    for (const inv of p.invMetrics)
      for (let k = 0; k < 4; k++) {
        expect(inv[k] / expected[k], `coordinate ${k}`).toBeGreaterThan(0.5);
        expect(inv[k] / expected[k], `coordinate ${k}`).toBeLessThan(2);
      }
  });
});

describe("deterministic quantities", () => {
  it("are computed from each draw's constrained values (eight schools: theta = theta_trans·tau + mu)", async () => {
    const data = { J: 8, y: [28, 8, -3, 7, -1, 1, 18, 12], sigma: [15, 10, 16, 11, 9, 11, 10, 18] };
    const p = await fit(eightSchoolsNoncentered, data, { chains: 2, draws: 50, tune: 100, seed: 1, threads: false, progress: false });
    expect(p.names).toEqual([...Array.from({ length: 8 }, (_, j) => `theta_trans[${j}]`), "mu", "tau", ...Array.from({ length: 8 }, (_, j) => `theta[${j}]`)]);
    expect(p.shapes.theta).toEqual([8]);
    const w = p.names.length;
    for (let d = 0; d < p.chains * p.draws; d++) {
      const row = p.values.subarray(d * w, (d + 1) * w);
      for (let j = 0; j < 8; j++) expect(row[10 + j]).toBeCloseTo(row[j] * row[9] + row[8], 12);
      expect(row[9]).toBeGreaterThan(0);
    }
  });
});

describe("fit() on worker threads", () => {
  it("gives bit-identical draws and statistics to sequential chains for the same seed", async () => {
    const data = seedData(400, 7);
    const opts = { chains: 3, draws: 150, tune: 150, seed: 99, progress: false } as const;
    const [threaded, sequential] = await Promise.all([
      fit(seedRegression, data, { ...opts, threads: true }),
      fit(seedRegression, data, { ...opts, threads: false }),
    ]);
    expect(Buffer.from(threaded.values.buffer).equals(Buffer.from(sequential.values.buffer))).toBe(true);
    expect(Buffer.from(threaded.stats.buffer).equals(Buffer.from(sequential.stats.buffer))).toBe(true);
    expect(threaded.stepSizes).toEqual(sequential.stepSizes);
    expect(threaded.invMetrics.map((m) => Array.from(m))).toEqual(sequential.invMetrics.map((m) => Array.from(m)));
    // And a different seed gives different draws.
    const other = await fit(seedRegression, data, { ...opts, seed: 100, threads: false });
    expect(Buffer.from(other.values.buffer).equals(Buffer.from(sequential.values.buffer))).toBe(false);
  });
});

/** Gauss–Jordan inverse of a small matrix. */
function invert(A: number[][]): number[][] {
  const n = A.length;
  const M = A.map((r, i) => [...r, ...Array.from({ length: n }, (_, j) => (i === j ? 1 : 0))]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r][c]) > Math.abs(M[p][c])) p = r;
    [M[c], M[p]] = [M[p], M[c]];
    const v = M[c][c];
    for (let k = 0; k < 2 * n; k++) M[c][k] /= v;
    for (let r = 0; r < n; r++)
      if (r !== c) {
        const f = M[r][c];
        for (let k = 0; k < 2 * n; k++) M[r][k] -= f * M[c][k];
      }
  }
  return M.map((r) => r.slice(n));
}

describe("the low-rank metric on a nearly degenerate posterior", () => {
  it("kilpisjarvi (intercept and slope correlated −0.9999): a few leapfrog steps per draw instead of hundreds, the same posterior", async () => {
    const { definition } = await import("../../src/models/posteriordb/kilpisjarvi.js");
    const { loadReference } = await import("../posteriordb/reference.js");
    const ref = loadReference(definition.posterior);
    const data = definition.prepareData(ref.data);
    const opts = { chains: 2, draws: 1000, tune: 1000, seed: 5, threads: false, progress: false } as const;
    const lowRank = await fit(definition.model, data, { ...opts, adaptation: "low-rank" });
    const perDraw = sum(statColumn(lowRank, "n_leapfrog")) / (lowRank.chains * lowRank.draws);
    expect(perDraw).toBeLessThan(15);
    expect(sum(statColumn(lowRank, "diverging"))).toBe(0);
    for (const name of ["alpha", "beta", "sigma"]) {
      const ours = chainsOf(lowRank, name);
      const reference = ref.draws.get(name)!;
      const z = (meanOfChains(ours) - meanOfChains(reference)) / Math.hypot(mcseMean(ours), mcseMean(reference));
      expect(Math.abs(z), name).toBeLessThan(4);
      expect(Math.abs(sdOfChains(ours) / sdOfChains(reference) - 1), name).toBeLessThan(0.08);
      expect(rhat(ours)).toBeLessThan(1.01);
    }
  });
});
