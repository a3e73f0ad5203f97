// Random draws: each family's `random` has the right mean and variance over many draws (loose z-tests: |z| < 5
// with the variance's standard error estimated from the draws themselves), Cauchy-type families their quartiles;
// and the Rng is deterministic for a seed and stream.
import { SPECIAL } from "../../src/model/special.js";
import { describe, expect, it } from "vitest";
import { familyOf } from "../../src/model/families.js";
import { Rng } from "../../src/random/rng.js";
import { boundsProblem } from "../../src/model/value-bounds.js";
import normalCdf from "@stdlib/stats-base-dists-normal-cdf";

const N = 40_000;
/** Φ(0.4), from the normal CDF table (R: pnorm(0.4)). */
const PHI_04 = 0.6554217416103242;
const logistic = (x: number) => 1 / (1 + Math.exp(-x));

/** [family, args, mean, variance]: closed forms in this project's parameterisation. */
const MOMENTS: [string, number[], number, number][] = [
  ["Normal", [1.5, 2], 1.5, 4],
  ["HalfNormal", [2], 2 * Math.sqrt(2 / Math.PI), 4 * (1 - 2 / Math.PI)],
  ["StudentT", [7, -1, 0.5], -1, 0.25 * (7 / 5)],
  ["Exponential", [2.5], 0.4, 0.16],
  ["Gamma", [3.5, 2], 1.75, 0.875],
  ["Gamma", [0.4, 1.5], 0.4 / 1.5, 0.4 / 2.25], // shape < 1: the boost U^(1/shape)
  ["InverseGamma", [7, 3], 0.5, 9 / (36 * 5)],
  ["LogNormal", [0.2, 0.5], Math.exp(0.2 + 0.125), (Math.exp(0.25) - 1) * Math.exp(0.4 + 0.25)],
  ["Beta", [2, 5], 2 / 7, 10 / (49 * 8)],
  ["Beta", [0.5, 0.5], 0.5, 0.25 / 2],
  ["Uniform", [-1, 3], 1, 16 / 12],
  ["BernoulliLogit", [0.8], logistic(0.8), logistic(0.8) * (1 - logistic(0.8))],
  ["BinomialLogit", [12, -0.4], 12 * logistic(-0.4), 12 * logistic(-0.4) * (1 - logistic(-0.4))], // n < 64: inversion
  ["BinomialLogit", [500, 1.1], 500 * logistic(1.1), 500 * logistic(1.1) * (1 - logistic(1.1))], // n ≥ 64: beta splitting
  ["PoissonLog", [Math.log(3.5)], 3.5, 3.5], // λ < 10: multiplication
  ["PoissonLog", [Math.log(42)], 42, 42], // λ ≥ 10: PTRS
  ["NegativeBinomial", [4, 2.5], 4, 4 + 16 / 2.5],
  ["NegativeBinomial", [30, 8], 30, 30 + 900 / 8],
  // Weibull(k = 2, σ = 1.5): σΓ(1 + 1/k) and σ²(Γ(1 + 2/k) − Γ(1 + 1/k)²), Γ(1.5) = √π/2.
  ["Weibull", [2, 1.5], 1.5 * (Math.sqrt(Math.PI) / 2), 2.25 * (1 - Math.PI / 4)],
  ["GammaMean", [2.5, 3], 2.5, 3 / 1.44], // shape 3, rate 3/2.5
  ["BetaProportion", [0.3, 6], 0.3, (1.8 * 4.2) / (36 * 7)], // Beta(1.8, 4.2)
  ["Bernoulli", [0.3], 0.3, 0.21],
  ["BernoulliProbit", [0.4], PHI_04, PHI_04 * (1 - PHI_04)],
  ["Binomial", [12, 0.35], 4.2, 12 * 0.35 * 0.65],
  ["Binomial", [500, 0.7], 350, 105],
  ["Poisson", [3.5], 3.5, 3.5],
  ["Poisson", [42], 42, 42],
  ["NegativeBinomialLog", [Math.log(4), 2.5], 4, 4 + 16 / 2.5],
];

function moments(xs: Float64Array) {
  let m = 0;
  for (const x of xs) m += x;
  m /= xs.length;
  let v = 0;
  for (const x of xs) v += (x - m) ** 2;
  v /= xs.length - 1;
  // Standard error of the sample variance from the spread of the squared deviations.
  let w = 0;
  for (const x of xs) w += ((x - m) ** 2 - v) ** 2;
  const seVar = Math.sqrt(w / (xs.length - 1) / xs.length);
  return { mean: m, variance: v, seVar };
}

describe("random draws of each family", () => {
  it.each(MOMENTS.map(([family, args, mean, variance]) => ({ family, args, mean, variance })))(
    "$family($args): mean and variance",
    ({ family, args, mean, variance }) => {
      const f = familyOf(family);
      const rng = new Rng(2024, family.length + args.length);
      const xs = new Float64Array(N);
      for (let i = 0; i < N; i++) xs[i] = f.random(rng, args);
      const s = moments(xs);
      const zMean = (s.mean - mean) / Math.sqrt(variance / N);
      const zVar = (s.variance - variance) / s.seVar;
      expect(Math.abs(zMean), `mean ${s.mean} vs ${mean}`).toBeLessThan(5);
      expect(Math.abs(zVar), `variance ${s.variance} vs ${variance}`).toBeLessThan(5);
      const outside = xs.filter((x) => (family === "Uniform" ? !(x >= args[0] && x < args[1]) : !Number.isFinite(x) || boundsProblem(f.values, x) !== null));
      expect(outside.length, `draws outside the support: ${outside.slice(0, 5)}`).toBe(0);
    },
  );

  // No mean or variance: the fraction below each true quartile is binomial(N, p).
  const QUARTILES: [string, number[], [number, number][]][] = [
    [
      "Cauchy",
      [2, 3],
      [
        [2 - 3, 0.25],
        [2, 0.5],
        [2 + 3, 0.75],
      ],
    ],
    [
      "HalfCauchy",
      [1.5],
      [
        [1.5 * Math.tan(Math.PI / 8), 0.25],
        [1.5, 0.5],
        [1.5 * Math.tan((3 * Math.PI) / 8), 0.75],
      ],
    ],
    [
      "StudentT",
      [1, 0, 1],
      [
        [-1, 0.25],
        [0, 0.5],
        [1, 0.75],
      ],
    ], // ν = 1 is the Cauchy
  ];
  it.each(QUARTILES.map(([family, args, qs]) => ({ family, args, qs })))("$family($args): quartiles", ({ family, args, qs }) => {
    const f = familyOf(family);
    const rng = new Rng(77, 1);
    const xs = Array.from({ length: N }, () => f.random(rng, args));
    for (const [q, p] of qs) {
      const frac = xs.filter((x) => x <= q).length / N;
      expect(Math.abs(frac - p) / Math.sqrt((p * (1 - p)) / N), `P(X ≤ ${q}) = ${frac}, expected ${p}`).toBeLessThan(5);
    }
  });
});

describe("fromStandardNormal", () => {
  // Bulk predictive sampling replaces `random` by this code over pre-drawn normals: it must be the same number.
  it.each(["Normal", "HalfNormal", "LogNormal"])("%s: the code applied to the next normal equals random(), bit for bit", (name) => {
    const f = familyOf(name);
    const args = name === "HalfNormal" ? [1.7] : [0.3, 1.9];
    const code = f.fromStandardNormal!(
      args.map((_, k) => `a[${k}]`),
      "z",
    );
    const fn = new Function("F", "a", "z", `return ${code};`).bind(null, SPECIAL) as (a: number[], z: number) => number;
    const a = new Rng(8, 1);
    const b = new Rng(8, 1);
    for (let i = 0; i < 2000; i++) expect(fn(args, a.normal())).toBe(f.random(b, args));
  });
});

describe("Rng", () => {
  it("is deterministic for a seed and stream, and streams differ", () => {
    const seq = (seed: number, stream: number) => {
      const r = new Rng(seed, stream);
      return Array.from({ length: 200 }, (_, i) => (i % 3 === 0 ? r.uniform() : i % 3 === 1 ? r.normal() : r.int(1000)));
    };
    expect(seq(42, 0)).toEqual(seq(42, 0));
    expect(seq(42, 3)).toEqual(seq(42, 3));
    expect(seq(42, 0)).not.toEqual(seq(42, 1));
    expect(seq(42, 0)).not.toEqual(seq(43, 0));
    expect(seq(2 ** 40 + 5, 0)).not.toEqual(seq(5, 0)); // the high part of a large seed counts too
  });

  it("uniform lies in [0, 1) with mean ½ and variance 1/12; uniformOpen never returns 0", () => {
    const r = new Rng(9, 0);
    let s = 0;
    let s2 = 0;
    let bad = 0;
    for (let i = 0; i < N; i++) {
      const u = r.uniform();
      if (!(u >= 0 && u < 1) || !(r.uniformOpen() > 0)) bad++;
      s += u;
      s2 += u * u;
    }
    expect(bad).toBe(0);
    const mean = s / N;
    expect(Math.abs(mean - 0.5) / Math.sqrt(1 / 12 / N)).toBeLessThan(5);
    expect(Math.abs(s2 / N - mean * mean - 1 / 12)).toBeLessThan(0.003);
  });

  it("int(n) is uniform over 0..n-1 (chi-square over the cells)", () => {
    const r = new Rng(10, 0);
    const n = 7;
    const counts = new Array(n).fill(0);
    for (let i = 0; i < 70_000; i++) counts[r.int(n)]++;
    const expected = 10_000;
    const chi2 = counts.reduce((a, c) => a + (c - expected) ** 2 / expected, 0);
    expect(chi2).toBeLessThan(30); // 6 degrees of freedom: P(χ² > 30) ≈ 4e-5
    expect(r.int(1)).toBe(0);
  });

  it("int(n) above 2^21 (the remainder path, not Lemire's) is an integer in 0..n-1, uniform over 10 bands", () => {
    const r = new Rng(13, 0);
    const n = 3_000_000_007;
    const bands = new Array(10).fill(0);
    let bad = 0;
    for (let i = 0; i < 50_000; i++) {
      const k = r.int(n);
      if (!(Number.isInteger(k) && k >= 0 && k < n)) bad++;
      bands[Math.floor((k / n) * 10)]++;
    }
    expect(bad).toBe(0);
    const chi2 = bands.reduce((a, c) => a + (c - 5000) ** 2 / 5000, 0);
    expect(chi2).toBeLessThan(33); // 9 degrees of freedom: P(χ² > 33) ≈ 1e-4
  });

  // The ziggurat's tables are computed at load time (Marsaglia & Tsang's zigset recursion): a wrong table shows up as
  // a CDF that is off near a layer edge, or a tail with the wrong mass. Kolmogorov–Smirnov against @stdlib's normal
  // CDF over 400,000 draws: the 0.1 % critical value is 1.949/√n = 0.0031.
  it("normal follows the standard normal CDF (Kolmogorov–Smirnov), tail beyond the ziggurat's base included", () => {
    const r = new Rng(12, 0);
    const n = 400_000;
    const xs = new Float64Array(n);
    for (let i = 0; i < n; i++) xs[i] = r.normal();
    xs.sort();
    let d = 0;
    for (let i = 0; i < n; i++) {
      const f = normalCdf(xs[i], 0, 1);
      d = Math.max(d, f - i / n, (i + 1) / n - f);
    }
    expect(d).toBeLessThan(1.949 / Math.sqrt(n));
    // Beyond r = 3.6541528853610088 the draws come from the tail algorithm alone: P(|Z| > r) = 2.580e-4.
    const pTail = 2 * normalCdf(-3.6541528853610088, 0, 1);
    const tail = xs.filter((x) => Math.abs(x) > 3.6541528853610088).length;
    expect(Math.abs(tail - n * pTail) / Math.sqrt(n * pTail)).toBeLessThan(5);
    // Symmetric: as many negative as positive draws.
    const negatives = xs.findIndex((x) => x >= 0);
    expect(Math.abs(negatives - n / 2) / Math.sqrt(n / 4)).toBeLessThan(5);
  });

  it("normal has mean 0, variance 1 and the normal's tail mass", () => {
    const r = new Rng(11, 0);
    const xs = new Float64Array(N);
    for (let i = 0; i < N; i++) xs[i] = r.normal();
    const s = moments(xs);
    expect(Math.abs(s.mean) / Math.sqrt(1 / N)).toBeLessThan(5);
    expect(Math.abs(s.variance - 1) / s.seVar).toBeLessThan(5);
    const tail = xs.filter((x) => Math.abs(x) > 1.959964).length / N;
    expect(Math.abs(tail - 0.05) / Math.sqrt((0.05 * 0.95) / N)).toBeLessThan(5);
  });

  // The predictive sampling loop relies on the bulk draws being the calls' numbers in the calls' order (seeded answers
  // are defined by them): the ziggurat's rare wedge and tail draws (~1 %) included, and the generator left where the
  // calls would leave it.
  it("fillNormal gives the same numbers as the calls, and the stream goes on from the same place", () => {
    const n = 100_003;
    const a = new Rng(21, 4);
    const b = new Rng(21, 4);
    const z = new Float64Array(n);
    a.fillNormal(z, n);
    const calls = Float64Array.from({ length: n }, () => b.normal());
    expect(z).toEqual(calls);
    expect(z.filter((x) => Math.abs(x) > 3.6541528853610088).length).toBeGreaterThan(0); // the tail path ran
    expect(a.uniform()).toBe(b.uniform());
  });
});
