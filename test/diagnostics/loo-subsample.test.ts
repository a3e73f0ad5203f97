// PSIS-LOO on a simple random sample of the observations, scaled to all (Magnusson et al. 2019; R loo's srs_est):
// with every observation it is `loo` itself; over every sample of m of N observations the estimate's mean is the full
// elpd_loo, its spread is what the subsampling SE says on average, and N·s² is on average the full SE² — exact
// identities of sampling without replacement, checked here by enumerating all C(N, m) samples of a small case.
import { describe, expect, it } from "vitest";
import { loo, subsampleLoo } from "../../src/diagnostics/index.js";
import { LOO_CASES } from "../fixtures/loo/cases.js";

/** The case's log-likelihood of the given observations only (draws × cols, row-major). */
function columns(c: (typeof LOO_CASES)[number], cols: number[]): Float64Array {
  const out = new Float64Array(c.draws * cols.length);
  for (let s = 0; s < c.draws; s++) cols.forEach((i, j) => (out[s * cols.length + j] = c.logLik[s * c.obs + i]));
  return out;
}

function* subsets(n: number, m: number, from = 0, chosen: number[] = []): Generator<number[]> {
  if (chosen.length === m) yield [...chosen];
  else for (let i = from; i <= n - (m - chosen.length); i++) yield* subsets(n, m, i + 1, [...chosen, i]);
}

describe("subsampleLoo", () => {
  it("with every observation is the full PSIS-LOO exactly, nothing added by sampling", () => {
    for (const c of LOO_CASES) {
      const full = loo(c.logLik, c.draws, c.obs);
      const s = subsampleLoo(full, c.obs);
      expect(s).toMatchObject({ elpd: full.elpd, se: full.se, pLoo: full.pLoo, pLooSe: full.pLooSe, looic: full.looic, looicSe: full.looicSe });
      expect(s.subsamplingSe).toBe(0);
      expect(s).toMatchObject({ sampleSize: c.obs, total: c.obs });
    }
  });

  it("over every sample of 3 of 9 observations: unbiased for elpd_loo, its subsampling variance and the usual SE²", () => {
    const c = LOO_CASES.find((k) => k.name === "normal-outliers")!;
    const n = 9;
    const m = 3;
    const full = loo(
      columns(
        c,
        Array.from({ length: n }, (_, i) => c.obs - n + i),
      ),
      c.draws,
      n,
    ); // includes the outliers
    let count = 0;
    let sum = 0;
    let sumSq = 0;
    let meanSubsamplingVar = 0;
    let meanSeSq = 0;
    for (const chosen of subsets(n, m)) {
      const s = subsampleLoo(
        loo(
          columns(
            c,
            chosen.map((i) => c.obs - n + i),
          ),
          c.draws,
          m,
        ),
        n,
      );
      // Each observation's pointwise elpd does not depend on which others are in the sample.
      chosen.forEach((i, j) => expect(s.pointwise.elpd[j]).toBeCloseTo(full.pointwise.elpd[i], 12));
      count++;
      sum += s.elpd;
      sumSq += s.elpd ** 2;
      meanSubsamplingVar += s.subsamplingSe ** 2;
      meanSeSq += s.se ** 2;
    }
    expect(count).toBe(84);
    const mean = sum / count;
    expect(mean).toBeCloseTo(full.elpd, 9);
    // The estimate's variance over all samples (population form) is what v(ŷ) = N²(1 − m/N)s²/m gives on average.
    expect(sumSq / count - mean ** 2).toBeCloseTo(meanSubsamplingVar / count, 6);
    expect(meanSeSq / count).toBeCloseTo(full.se ** 2, 6);
    expect(Math.sqrt(meanSubsamplingVar / count)).toBeGreaterThan(0);
  });

  it("the difference estimator, over every sample of 3 of 9 with any approximation: unbiased, v(ŷ) unbiased, the usual SE² as loo's", () => {
    const c = LOO_CASES.find((k) => k.name === "normal-outliers")!;
    const n = 9;
    const m = 3;
    const obs = Array.from({ length: n }, (_, i) => c.obs - n + i);
    const full = loo(columns(c, obs), c.draws, n);
    // A rough approximation: each observation's log-likelihood at the first draw (the estimator is unbiased whatever it is).
    const approx = obs.map((i) => c.logLik[i]);
    const sum = approx.reduce((a, b) => a + b, 0);
    const sumOfSquares = approx.reduce((a, b) => a + b * b, 0);
    let count = 0;
    let mean = 0;
    let meanSq = 0;
    let meanV = 0;
    let meanUsual = 0;
    for (const chosen of subsets(n, m)) {
      const s = subsampleLoo(
        loo(
          columns(
            c,
            chosen.map((i) => obs[i]),
          ),
          c.draws,
          m,
        ),
        n,
        { sum, sumOfSquares, sampled: chosen.map((i) => approx[i]) },
      );
      expect(s.estimator).toBe("difference");
      count++;
      mean += s.elpd;
      meanSq += s.elpd ** 2;
      meanV += s.subsamplingSe ** 2;
      meanUsual += s.se ** 2;
    }
    mean /= count;
    expect(mean).toBeCloseTo(full.elpd, 9);
    expect(meanSq / count - mean ** 2).toBeCloseTo(meanV / count, 6);
    // Σy² − (Σy)²/N on average: N times the population variance, (N − 1)/N of loo's N · sample variance.
    expect(meanUsual / count).toBeCloseTo(((n - 1) / n) * full.se ** 2, 6);
    // With every observation, the full LOO whatever the approximation.
    expect(subsampleLoo(full, n, { sum, sumOfSquares, sampled: approx })).toMatchObject({ elpd: full.elpd, se: full.se, subsamplingSe: 0 });
  });

  it("the difference estimator with a close approximation adds far less SE than the simple one", () => {
    const c = LOO_CASES[0];
    const full = loo(c.logLik, c.draws, c.obs);
    const idx = Array.from({ length: 10 }, (_, j) => j * Math.floor(c.obs / 10));
    const sample = loo(columns(c, idx), c.draws, idx.length);
    // An approximation off by a little noise (as log p(y_i | θ̄) is from elpd_loo,i on large data).
    const approx = Array.from(full.pointwise.elpd, (e, i) => e + 0.01 * Math.sin(i));
    const d = subsampleLoo(sample, c.obs, {
      sum: approx.reduce((a, b) => a + b, 0),
      sumOfSquares: approx.reduce((a, b) => a + b * b, 0),
      sampled: idx.map((i) => approx[i]),
    });
    const srs = subsampleLoo(sample, c.obs);
    expect(srs.estimator).toBe("srs");
    expect(d.subsamplingSe).toBeLessThan(srs.subsamplingSe / 10);
    expect(Math.abs(d.elpd - full.elpd)).toBeLessThan(3 * d.subsamplingSe + 1e-9);
    expect(d.se).toBeCloseTo(full.se, 0);
  });

  it("a sample of m of N: N times its mean, the SEs of Magnusson et al.'s simple random sampling estimator", () => {
    const c = LOO_CASES[0];
    const sample = loo(columns(c, [0, 2, 4, 6, 8]), c.draws, 5);
    const s = subsampleLoo(sample, 40);
    const e = Array.from(sample.pointwise.elpd);
    const mean = e.reduce((a, b) => a + b, 0) / 5;
    const s2 = e.reduce((a, b) => a + (b - mean) ** 2, 0) / 4;
    expect(s.elpd).toBeCloseTo(40 * mean, 10);
    expect(s.se).toBeCloseTo(Math.sqrt(40 * s2), 10);
    expect(s.subsamplingSe).toBeCloseTo(Math.sqrt(((40 * 40 * (1 - 5 / 40)) / 5) * s2), 10);
    expect(s.looic).toBeCloseTo(-2 * s.elpd, 10);
    expect(() => subsampleLoo(sample, 4)).toThrow(RangeError);
  });
});
