// Log-densities against independent values from @stdlib/stats-base-dists: each family's scalar log-density
// (scalarLogp, built from the same templates the compiler inlines), and the compiled model's log-density (a sum of
// stdlib values plus the log-Jacobian of each constraint transform, computed here by hand).
import dists from "@stdlib/stats-base-dists";
import { describe, expect, it } from "vitest";
import {
  Bernoulli,
  BernoulliLogit,
  BernoulliProbit,
  Beta,
  BetaProportion,
  Binomial,
  BinomialLogit,
  Cauchy,
  Exponential,
  Flat,
  Gamma,
  GammaMean,
  HalfCauchy,
  HalfNormal,
  InverseGamma,
  LogNormal,
  model,
  NegativeBinomial,
  NegativeBinomialLog,
  Normal,
  Poisson,
  PoissonLog,
  StudentT,
  Uniform,
  Weibull,
  type Dist,
} from "../../src/model/index.js";
import { Rng } from "../../src/random/rng.js";
import { scalarLogp } from "../../src/model/scalar-logp.js";
import { familyOf } from "../../src/model/families.js";
import { compile, logDensity } from "./helpers.js";

const LOG2 = Math.log(2);
const logistic = (x: number) => 1 / (1 + Math.exp(-x));

/** stdlib's value for each family in this project's parameterisation. */
const REFERENCE: Record<string, (y: number, a: number[]) => number> = {
  Normal: (y, [mu, s]) => dists.normal.logpdf(y, mu, s),
  HalfNormal: (y, [s]) => LOG2 + dists.normal.logpdf(y, 0, s),
  // Location-scale Student t: stdlib's standard t at (y − μ)/σ, minus log σ.
  StudentT: (y, [nu, mu, s]) => dists.t.logpdf((y - mu) / s, nu) - Math.log(s),
  Cauchy: (y, [mu, s]) => dists.cauchy.logpdf(y, mu, s),
  HalfCauchy: (y, [s]) => LOG2 + dists.cauchy.logpdf(y, 0, s),
  Exponential: (y, [rate]) => dists.exponential.logpdf(y, rate),
  Gamma: (y, [a, b]) => dists.gamma.logpdf(y, a, b),
  InverseGamma: (y, [a, b]) => dists.invgamma.logpdf(y, a, b),
  LogNormal: (y, [mu, s]) => dists.lognormal.logpdf(y, mu, s),
  Beta: (y, [a, b]) => dists.beta.logpdf(y, a, b),
  Uniform: (y, [lo, hi]) => dists.uniform.logpdf(y, lo, hi),
  // The logit / log-rate families: stdlib takes the probability / the rate.
  BernoulliLogit: (y, [eta]) => Math.log(dists.bernoulli.pmf(y, logistic(eta))),
  BinomialLogit: (y, [n, eta]) => dists.binomial.logpmf(y, n, logistic(eta)),
  PoissonLog: (y, [eta]) => dists.poisson.logpmf(y, Math.exp(eta)),
  // NB2 (mean μ, overdispersion φ) is stdlib's negative binomial with r = φ and p = φ / (μ + φ).
  NegativeBinomial: (y, [mu, phi]) => dists.negativeBinomial.logpmf(y, phi, phi / (mu + phi)),
  Weibull: (y, [k, s]) => dists.weibull.logpdf(y, k, s),
  // Gamma by mean μ and shape α: rate α/μ.
  GammaMean: (y, [mu, a]) => dists.gamma.logpdf(y, a, a / mu),
  BetaProportion: (y, [mu, k]) => dists.beta.logpdf(y, mu * k, (1 - mu) * k),
  Bernoulli: (y, [p]) => Math.log(dists.bernoulli.pmf(y, p)),
  // P(y = 0) = Φ(−eta): 1 − Φ(eta) would lose the digits of a small probability.
  BernoulliProbit: (y, [eta]) => Math.log(dists.normal.cdf(y === 1 ? eta : -eta, 0, 1)),
  Binomial: (y, [n, p]) => dists.binomial.logpmf(y, n, p),
  Poisson: (y, [rate]) => dists.poisson.logpmf(y, rate),
  NegativeBinomialLog: (y, [eta, phi]) => dists.negativeBinomial.logpmf(y, phi, phi / (Math.exp(eta) + phi)),
};

/** Points (y, args) for each family, chosen to cover the body and the tails of each density. */
const POINTS: Record<string, [number, number[]][]> = {
  Normal: [
    [0.3, [0, 1]],
    [-4.2, [1.5, 0.7]],
    [12, [-3, 25]],
    [1e-3, [1e-3, 1e-4]],
  ],
  HalfNormal: [
    [0.3, [1]],
    [4.2, [0.7]],
    [0.01, [25]],
    [30, [3]],
  ],
  StudentT: [
    [0.3, [3, 0, 1]],
    [-4.2, [1, 1.5, 0.7]],
    [12, [30, -3, 2.5]],
    [2, [0.5, 0, 1]],
    [1e3, [4, 0, 1]],
  ],
  Cauchy: [
    [0.3, [0, 1]],
    [-40, [1.5, 0.7]],
    [12, [-3, 25]],
  ],
  HalfCauchy: [
    [0.3, [1]],
    [40, [0.7]],
    [12, [25]],
  ],
  Exponential: [
    [0.3, [1]],
    [4.2, [0.1]],
    [0.01, [25]],
  ],
  Gamma: [
    [0.3, [2, 1]],
    [4.2, [0.5, 3]],
    [120, [100, 0.9]],
    [1e-4, [0.2, 1.5]],
    [7, [25, 4]],
  ],
  InverseGamma: [
    [0.3, [2, 1]],
    [4.2, [0.5, 3]],
    [0.02, [10, 0.9]],
    [50, [3, 2]],
  ],
  LogNormal: [
    [0.3, [0, 1]],
    [4.2, [1.5, 0.7]],
    [1e-3, [-3, 2.5]],
  ],
  Beta: [
    [0.3, [2, 1]],
    [0.9, [0.5, 3]],
    [0.01, [5, 5]],
    [0.5, [0.3, 0.7]],
    [0.999, [200, 1.5]],
  ],
  Uniform: [
    [0.3, [0, 1]],
    [-1.9, [-2, 5]],
    [100, [99, 101.5]],
  ],
  BernoulliLogit: [
    [1, [0.3]],
    [0, [0.3]],
    [1, [-12]],
    [0, [8]],
    [1, [25]],
  ],
  BinomialLogit: [
    [3, [10, 0.3]],
    [0, [5, -2]],
    [10, [10, 1.5]],
    [57, [120, 0.1]],
    [0, [0, 0.4]],
  ],
  PoissonLog: [
    [0, [0.3]],
    [7, [1.5]],
    [120, [4.7]],
    [2, [-5]],
  ],
  NegativeBinomial: [
    [0, [3, 2]],
    [7, [2.5, 0.4]],
    [120, [100, 30]],
    [3, [0.5, 1e3]],
    [15, [4, 0.1]],
  ],
  Weibull: [
    [0.3, [2, 1]],
    [4.2, [0.5, 3]],
    [1e-3, [1.5, 0.2]],
    [12, [7, 10]],
  ],
  GammaMean: [
    [0.3, [2, 1]],
    [4.2, [0.5, 3]],
    [120, [110, 100]],
    [1e-4, [0.1, 0.2]],
  ],
  BetaProportion: [
    [0.3, [0.5, 2]],
    [0.9, [0.2, 10]],
    [0.01, [0.05, 100]],
    [0.999, [0.99, 3]],
  ],
  Bernoulli: [
    [1, [0.3]],
    [0, [0.3]],
    [1, [1e-9]],
    [0, [0.999]],
    [1, [1]],
    [0, [0]],
  ],
  BernoulliProbit: [
    [1, [0.3]],
    [0, [0.3]],
    [1, [-5]],
    [0, [6]],
    [1, [-30]],
    [0, [3]],
  ],
  Binomial: [
    [3, [10, 0.3]],
    [0, [5, 0.01]],
    [10, [10, 0.9]],
    [57, [120, 0.5]],
    [0, [0, 0.4]],
    [4, [4, 1]],
  ],
  Poisson: [
    [0, [0.3]],
    [7, [1.5]],
    [120, [110]],
    [0, [0]],
    [2, [1e-5]],
  ],
  NegativeBinomialLog: [
    [0, [1, 2]],
    [7, [0.9, 0.4]],
    [120, [4.6, 30]],
    [3, [-0.7, 1e3]],
    [15, [1.4, 0.1]],
  ],
};

/** |ours − ref| ≤ 1e-10·max(1, |ref|): a few ulps of the terms, nothing more. */
function expectClose(ours: number, ref: number, what: string) {
  expect(Number.isFinite(ref), `${what}: reference is ${ref}`).toBe(true);
  expect(Math.abs(ours - ref), `${what}: ours ${ours}, stdlib ${ref}`).toBeLessThanOrEqual(1e-10 * Math.max(1, Math.abs(ref)));
}

describe("scalarLogp agrees with @stdlib", () => {
  for (const [family, points] of Object.entries(POINTS)) {
    it(family, () => {
      for (const [y, args] of points) {
        expectClose(scalarLogp(family, y, Float64Array.from(args)), REFERENCE[family](y, args), `${family}(${args}) at ${y}`);
      }
    });
  }

  it("outside the support the log-density is −∞", () => {
    expect(scalarLogp("HalfNormal", -0.1, Float64Array.of(1))).toBe(-Infinity);
    expect(scalarLogp("HalfCauchy", -0.1, Float64Array.of(1))).toBe(-Infinity);
    expect(scalarLogp("Exponential", -0.1, Float64Array.of(1))).toBe(-Infinity);
    expect(scalarLogp("Gamma", -0.1, Float64Array.of(2, 1))).toBe(-Infinity);
    expect(scalarLogp("InverseGamma", -0.1, Float64Array.of(2, 1))).toBe(-Infinity);
    expect(scalarLogp("LogNormal", 0, Float64Array.of(0, 1))).toBe(-Infinity);
    expect(scalarLogp("Beta", 1.2, Float64Array.of(2, 2))).toBe(-Infinity);
    expect(scalarLogp("Uniform", 5.1, Float64Array.of(0, 5))).toBe(-Infinity);
    expect(scalarLogp("Flat", 123, new Float64Array(0))).toBe(0);
  });
});

// ---- through the compiled model ----------------------------------------------------------------------------------

const CONSTRUCTORS: Record<string, (...a: number[]) => Dist> = {
  Normal: Normal as never,
  HalfNormal: HalfNormal as never,
  StudentT: StudentT as never,
  Cauchy: Cauchy as never,
  HalfCauchy: HalfCauchy as never,
  Exponential: Exponential as never,
  Gamma: Gamma as never,
  InverseGamma: InverseGamma as never,
  LogNormal: LogNormal as never,
  Beta: Beta as never,
  Uniform: Uniform as never,
  Weibull: Weibull as never,
  GammaMean: GammaMean as never,
  BetaProportion: BetaProportion as never,
};

/** For a prior: its arguments, and the constrained value and log-Jacobian at unconstrained u. */
const PRIOR_CASES: Record<string, { args: number[]; constrain: (u: number) => [number, number] }> = {
  Normal: { args: [0.5, 1.7], constrain: (u) => [u, 0] },
  StudentT: { args: [4.5, -0.3, 1.2], constrain: (u) => [u, 0] },
  Cauchy: { args: [0.2, 0.8], constrain: (u) => [u, 0] },
  // Positive support: x = exp(u), log|J| = u.
  HalfNormal: { args: [1.4], constrain: (u) => [Math.exp(u), u] },
  HalfCauchy: { args: [2.5], constrain: (u) => [Math.exp(u), u] },
  Exponential: { args: [1.3], constrain: (u) => [Math.exp(u), u] },
  Gamma: { args: [2.2, 1.5], constrain: (u) => [Math.exp(u), u] },
  InverseGamma: { args: [3.1, 2.4], constrain: (u) => [Math.exp(u), u] },
  LogNormal: { args: [0.1, 0.9], constrain: (u) => [Math.exp(u), u] },
  // Unit support: x = logistic(u), log|J| = log x + log(1 − x).
  Beta: { args: [2.5, 1.7], constrain: (u) => [logistic(u), Math.log(logistic(u)) + Math.log(1 - logistic(u))] },
  Weibull: { args: [1.7, 2.2], constrain: (u) => [Math.exp(u), u] },
  GammaMean: { args: [1.3, 2.5], constrain: (u) => [Math.exp(u), u] },
  BetaProportion: { args: [0.3, 6], constrain: (u) => [logistic(u), Math.log(logistic(u)) + Math.log(1 - logistic(u))] },
  // Bounded support (−1, 3): x = −1 + 4·logistic(u), log|J| = log 4 + log s + log(1 − s).
  Uniform: { args: [-1, 3], constrain: (u) => [-1 + 4 * logistic(u), Math.log(4) + Math.log(logistic(u)) + Math.log(1 - logistic(u))] },
};

describe("the compiled log-density equals stdlib values plus the log-Jacobian", () => {
  const rng = new Rng(11, 3);
  for (const [family, pc] of Object.entries(PRIOR_CASES)) {
    it(`${family} as a prior (scalar and vector parameter)`, () => {
      const m = model("prior", (m) => {
        m.param("v", CONSTRUCTORS[family](...pc.args));
        m.param("w", CONSTRUCTORS[family](...pc.args), { shape: 3 });
      });
      const c = compile(m);
      for (let rep = 0; rep < 5; rep++) {
        const theta = Array.from({ length: 4 }, () => 3 * rng.uniform() - 1.5);
        let expected = 0;
        for (const u of theta) {
          const [x, logJ] = pc.constrain(u);
          expected += REFERENCE[family](x, pc.args) + logJ;
        }
        expectClose(logDensity(c, theta), expected, `${family} prior at [${theta}]`);
      }
    });
  }

  for (const [family, points] of Object.entries(POINTS)) {
    it(`${family} as an observation (arguments as data, and as flat parameters)`, () => {
      const nArgs = points[0][1].length;
      const ys = points.map((p) => p[0]);
      // Each argument a data vector, one value per row.
      const argNames = Array.from({ length: nArgs }, (_, k) => `arg${k}`);
      const discrete = familyOf(family).discrete;
      const trials = familyOf(family).argNames[0] === "n";
      const m = model("obs_data", (m) => {
        m.param("unused", Normal(0, 1));
        const args = argNames.map((n, k) => m.data(n, trials && k === 0 ? { kind: "integer" } : {}));
        m.observe("obs", (CONSTRUCTORS[family] ?? DISCRETE[family])(...(args as never[])), m.data("y", discrete ? { kind: "integer" } : {}));
      });
      const input: Record<string, number[]> = { y: ys };
      argNames.forEach((n, k) => (input[n] = points.map((p) => p[1][k])));
      const c = compile(m, input);
      const expected = points.reduce((s, [y, a]) => s + REFERENCE[family](y, a), 0) + dists.normal.logpdf(0.25, 0, 1);
      expectClose(logDensity(c, [0.25]), expected, `${family} observation (data arguments)`);

      // Scalar arguments as parameters with flat priors (identity transform: no Jacobian), at the first point's values.
      const [, a0] = points[0];
      const m2 = model("obs_param", (m) => {
        const args = a0.map((_, k) => (trials && k === 0 ? m.data("n", { kind: "integer", shape: "scalar" }) : m.param(`p${k}`, Flat())));
        m.observe("obs", (CONSTRUCTORS[family] ?? DISCRETE[family])(...(args as never[])), m.data("y", discrete ? { kind: "integer" } : {}));
      });
      const c2 = compile(m2, { y: [points[0][0]], n: a0[0] });
      const theta = trials ? [a0[1]] : a0;
      expectClose(logDensity(c2, theta), REFERENCE[family](points[0][0], a0), `${family} observation (parameter arguments)`);
    });
  }

  it("lower, upper, interval and ordered transforms add the right log-Jacobian", () => {
    const m = model("transforms", (m) => {
      m.param("lo", Normal(3, 1), { lower: 2 });
      m.param("up", Normal(-2, 1), { upper: -1 });
      m.param("iv", Normal(0, 1), { lower: -1, upper: 2.5 });
      m.param("or", Normal(0, 3), { shape: 3, ordered: true });
    });
    const c = compile(m);
    const t = [0.4, -0.7, 1.1, -0.5, 0.3, -1.2];
    const lo = 2 + Math.exp(t[0]);
    const up = -1 - Math.exp(t[1]);
    const s = logistic(t[2]);
    const iv = -1 + 3.5 * s;
    const o0 = t[3];
    const o1 = o0 + Math.exp(t[4]);
    const o2 = o1 + Math.exp(t[5]);
    const expected =
      dists.normal.logpdf(lo, 3, 1) +
      t[0] +
      dists.normal.logpdf(up, -2, 1) +
      t[1] +
      dists.normal.logpdf(iv, 0, 1) +
      Math.log(3.5 * s * (1 - s)) +
      dists.normal.logpdf(o0, 0, 3) +
      dists.normal.logpdf(o1, 0, 3) +
      dists.normal.logpdf(o2, 0, 3) +
      t[4] +
      t[5];
    expectClose(logDensity(c, t), expected, "transforms");
    const out = new Float64Array(6);
    c.constrain(Float64Array.from(t), out);
    [lo, up, iv, o0, o1, o2].forEach((v, i) => expect(out[i]).toBeCloseTo(v, 14));
  });

  it("a seed-style regression (50 rows): the sum matches stdlib", () => {
    const rng2 = new Rng(5, 1);
    const n = 50;
    const x = Array.from({ length: n }, () => 10 * rng2.uniform());
    const category = Array.from({ length: n }, () => rng2.int(3));
    const y = x.map((v, i) => [1, 1.25, 1.5][category[i]] * v + 0.75 * rng2.normal());
    const m = model("seed", (m) => {
      const xd = m.data("x");
      const cat = m.data("category", { levels: 3 });
      const beta = m.param("beta", Normal(0, 2), { shape: 3 });
      const sigma = m.param("sigma", HalfNormal(2));
      m.observe("obs", Normal(beta.at(cat).mul(xd), sigma), m.data("y"));
    });
    const c = compile(m, { x, category, y });
    const theta = [0.9, 1.3, 1.6, Math.log(0.8)];
    const beta = theta.slice(0, 3);
    const sigma = Math.exp(theta[3]);
    let expected = beta.reduce((s, b) => s + dists.normal.logpdf(b, 0, 2), 0) + LOG2 + dists.normal.logpdf(sigma, 0, 2) + theta[3];
    for (let i = 0; i < n; i++) expected += dists.normal.logpdf(y[i], beta[category[i]] * x[i], sigma);
    expectClose(logDensity(c, theta), expected, "seed regression");
  });
});

const DISCRETE: Record<string, (...a: never[]) => Dist> = {
  BernoulliLogit: BernoulliLogit as never,
  BinomialLogit: BinomialLogit as never,
  PoissonLog: PoissonLog as never,
  NegativeBinomial: NegativeBinomial as never,
  Bernoulli: Bernoulli as never,
  BernoulliProbit: BernoulliProbit as never,
  Binomial: Binomial as never,
  Poisson: Poisson as never,
  NegativeBinomialLog: NegativeBinomialLog as never,
};
