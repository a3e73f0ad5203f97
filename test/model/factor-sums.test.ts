// Loop-invariant factors taken out of row sums (src/model/factor-sums.ts): the rewrite on hand-written loop bodies —
// what it may follow and what it must leave alone — and, on compiled models of every family with scalar arguments,
// the same log-density and gradient as without it, to rounding.
import { describe, expect, it } from "vitest";
import { bindModel } from "../../src/model/bind.js";
import { compileModel } from "../../src/model/compile.js";
import { factorSums } from "../../src/model/factor-sums.js";
import {
  BernoulliLogit,
  Flat,
  Beta,
  Cauchy,
  Gamma,
  GammaMean,
  HalfNormal,
  LogNormal,
  model,
  NegativeBinomial,
  Normal,
  PoissonLog,
  StudentT,
  Weibull,
  type Dist,
  type Expr,
  type ModelBuilder,
} from "../../src/model/index.js";
import { Rng } from "../../src/random/rng.js";
import { expectGradientMatchesFiniteDifferences, sampleData } from "./helpers.js";

const ctx = () => {
  let n = 0;
  return { loopVar: "i", rowCount: "N", fresh: (p: string) => `${p}${n++}` };
};

/** Runs pre; for i < n: body; after — over the named arrays and invariants — and returns the named results. */
function run(code: { pre: string[]; body: string[]; after: string[] }, n: number, inputs: Record<string, unknown>, results: string[]): number[] {
  const names = Object.keys(inputs);
  const src = `let ${results.map((r) => `${r} = 0`).join(", ")};\n${code.pre.join("\n")}\nfor (let i = 0; i < ${n}; i++) {\n${code.body.join("\n")}\n}\nconst N = ${n};\n${code.after.join("\n")}\nreturn [${results.join(", ")}];`;
  return new Function(...names, src)(...names.map((k) => inputs[k])) as number[];
}

/** The factored loop's results equal the plain loop's, to rounding. */
function expectSameResults(
  body: string[],
  factored: { pre: string[]; body: string[]; after: string[] },
  n: number,
  inputs: Record<string, unknown>,
  results: string[],
): void {
  const plain = run({ pre: [], body, after: [] }, n, inputs, results);
  run(factored, n, inputs, results).forEach((v, k) => expect(v, results[k]).toBeCloseTo(plain[k], 12));
}

describe("factorSums on a loop body", () => {
  const x = Float64Array.from([0.5, -1.25, 2, 0.75, -0.3]);
  const y = Float64Array.from([1, 2, -1, 0.5, 3]);

  it("sums each shared row value once and applies the invariant factors after the loop", () => {
    const body = [
      "const t = ((y[i] - (h1 * x[i])) * h2);",
      "const c = F.log1p((t * t));",
      "lp += (h3 * c);",
      "let a = 0;",
      "a += (t * h2);",
      "g0 += ((h4 - (0.5 * c)) + (a * 2));",
      "g1 += (a * x[i]);",
      "g2 += (((t * t) - 1) * h2);",
      "g3 += (a * 1);",
    ];
    const f = factorSums([], body, ctx())!;
    expect(f).not.toBeNull();
    // Five accumulations from four sums: c (lp, g0; a sum of logs, taken as a running product), t (g0, g3), t·x (g1),
    // t² (g2).
    expect(f.body.filter((l) => /^R\d+ \+=/.test(l))).toHaveLength(3);
    expect(f.body.filter((l) => /^\{ const R\d+u = \(t \* t\); if \(R\d+u > -0\.5 && R\d+u < 1\)/.test(l))).toHaveLength(1);
    expect(f.body.join("\n")).not.toMatch(/\b(lp|g0|g1|g2|g3) \+=/);
    const inputs = { x, y, F: { log: Math.log, log1p: Math.log1p }, h1: 0.7, h2: 1.3, h3: -2.5, h4: 0.125 };
    expectSameResults(body, f, x.length, inputs, ["lp", "g0", "g1", "g2", "g3"]);
  });

  it("leaves alone an accumulator the row reads, and one set other than by +=", () => {
    const body = ["const t = (x[i] * h1);", "lp += (h2 * t);", "const u = (lp * t);", "g += (h2 * t);", "k += (h2 * t);", "k = (k * 0.5);"];
    const f = factorSums([], body, ctx());
    // lp is read, k is also set with =: only g is factored, and one sum for one accumulation does not pay.
    expect(f).toBeNull();
  });

  it("follows a row's let to its value where it is read, and gives up on one an opaque statement sets", () => {
    const body = [
      "let a = 0;",
      "a += (x[i] * h1);",
      "const early = (a * h2);",
      "a += (y[i] * h1);",
      "g0 += early;",
      "g1 += (a * h2);",
      "g2 += (h3 * x[i]);",
      "let b = 0;",
      "for (let j = 0; j < 2; j++) b += y[i];",
      "g3 += (b * h2);",
    ];
    const f = factorSums([], body, ctx())!;
    expect(f).not.toBeNull();
    // g3 reads b, which the loop statement sets: it stays in the row as it was.
    expect(f.body).toContain("g3 += (b * h2);");
    const inputs = { x, y, h1: 0.7, h2: 1.3, h3: -0.4 };
    expectSameResults(body, f, x.length, inputs, ["g0", "g1", "g2", "g3"]);
  });

  it("sums logs as the log of a running product, with the plain loop's value for every kind of factor", () => {
    const body = ["const c = F.log(x[i]);", "lp += (h1 * c);", "g += c;", "const d = F.log1p(y[i]);", "lp += d;", "g += (h2 * d);"];
    const f = factorSums([], body, ctx())!;
    const text = f.body.join("\n");
    expect(text).toMatch(/R\d+p \*= R\d+u;/);
    // One log a row only where a factor is out of range; the products' logs after the loop (log1p's product kept minus 1
    // near 1).
    expect(f.after.filter((l) => /^R\d+ \+= F\.log\(R\d+p\);$/.test(l))).toHaveLength(1);
    expect(f.after.filter((l) => /^R(\d+) \+= F\.log\(R\1p\) \+ F\.log1p\(R\1q\);$/.test(l))).toHaveLength(1);
    const near1 = Array.from({ length: 5000 }, (_, k) => 1 + 1e-3 * Math.sin(k));
    const cases: Record<string, [number[], number[]]> = {
      "products that would overflow and underflow": [
        [1e200, 1e200, 1e200, 1e-250, 1e-250, 1e-250, 3, 0.5, 1e140, 1e140, 1e140, 1e140],
        [1e200, 1e200, 1e200, 1e-20, 5, 0.5, -0.5, 1e-300, 1e140, 1e140, 1e140, 1e140],
      ],
      "factors beyond the range (huge, subnormal, near -1 for log1p)": [
        [1e300, 1e-320, 2, 1e-160, 7],
        [1e300, -0.9999999999, 1e-320, 2, -1 + 1e-160],
      ],
      "5,000 factors near 1": [near1, near1.map((v) => v - 1)],
      "a zero": [
        [2, 0, 3],
        [1, 1, 1],
      ],
      "a negative": [
        [2, -1, 3],
        [1, 1, 1],
      ],
      "a NaN": [
        [2, 3, 4],
        [1, NaN, 1],
      ],
      "an infinity": [
        [2, Infinity, 4],
        [1, 1, 1],
      ],
      "log1p of -1": [
        [2, 3, 4],
        [1, -1, 1],
      ],
    };
    for (const [what, [xs, ys]] of Object.entries(cases)) {
      const inputs = { x: Float64Array.from(xs), y: Float64Array.from(ys), F: { log: Math.log, log1p: Math.log1p }, h1: 0.7, h2: -1.3 };
      const plain = run({ pre: [], body, after: [] }, xs.length, inputs, ["lp", "g"]);
      const factored = run(f, xs.length, inputs, ["lp", "g"]);
      plain.forEach((v, k) => {
        if (Number.isFinite(v)) expect(Math.abs(factored[k] - v), what).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(v)));
        else expect(factored[k], what).toBe(v);
      });
    }
  });

  it("counts an invariant term once per row, with the row count it is given", () => {
    const body = ["lp += ((h1 * x[i]) + h2);", "g += ((h3 * x[i]) - h2);"];
    const f = factorSums([], body, ctx())!;
    expect(f.after.join("\n")).toContain("N * ");
    const inputs = { x, h1: 0.7, h2: 1.3, h3: -0.4 };
    expectSameResults(body, f, x.length, inputs, ["lp", "g"]);
  });
});

/** Observations with scalar (loop-invariant) parameters, where a term's gradients are sums over its rows. */
function scalarFamilies(b: ModelBuilder): Record<string, () => void> {
  const x = b.data("x");
  const xpos = b.data("xpos");
  const a = b.param("a", Normal(0.3, 1.5));
  const c = b.param("c", Normal(0, 1));
  const s = b.param("s", Gamma(3, 2));
  const nu = b.param("nu", Gamma(4, 1));
  const row: Expr = c.mul(x).add(a);
  const obs = (name: string, d: Dist, y: string, kind?: "integer") => () => b.observe(name, d, b.data(y, kind ? { kind } : {}));
  return {
    Normal: obs("normal", Normal(row, s), "yreal"),
    StudentT: obs("studentt", StudentT(nu, row, s), "yreal"),
    Cauchy: obs("cauchy", Cauchy(row, s), "yreal"),
    HalfNormal: obs("halfnormal", HalfNormal(s), "ypos"),
    Gamma: obs("gamma", Gamma(s, nu), "ypos"),
    GammaMean: obs("gammamean", GammaMean(xpos.mul(s), nu), "ypos"),
    LogNormal: obs("lognormal", LogNormal(row, s), "ypos"),
    Weibull: obs("weibull", Weibull(nu, s), "ypos"),
    Beta: obs("beta", Beta(s, nu), "yunit"),
    BernoulliLogit: obs("bernoulli", BernoulliLogit(row), "ybin", "integer"),
    PoissonLog: obs("poisson", PoissonLog(xpos.log().add(row)), "ycount", "integer"),
    NegativeBinomial: obs("negbin", NegativeBinomial(xpos.mul(s), nu), "ycount", "integer"),
  };
}

describe("compiled models: the same log-density and gradient with and without factoring, to rounding", () => {
  const data = sampleData();
  let names: string[] = [];
  model("probe", (b) => void (names = Object.keys(scalarFamilies(b))));
  it.each(names)("%s", (family) => {
    const m = model(`factor-${family}`, (b) => scalarFamilies(b)[family]());
    const bound = bindModel(m.json, data);
    const factored = compileModel(bound);
    const plain = compileModel(bound, { factorSums: false });
    const rng = new Rng(11, 0);
    for (let k = 0; k < 5; k++) {
      const theta = Float64Array.from({ length: factored.dim }, () => 2 * rng.uniform() - 1);
      const g1 = new Float64Array(factored.dim);
      const g2 = new Float64Array(factored.dim);
      const lp1 = factored.logDensityGradient(theta, g1);
      const lp2 = plain.logDensityGradient(theta, g2);
      expect(Math.abs(lp1 - lp2)).toBeLessThanOrEqual(1e-12 * (1 + Math.abs(lp2)));
      for (let j = 0; j < factored.dim; j++) expect(Math.abs(g1[j] - g2[j])).toBeLessThanOrEqual(1e-12 * (1 + Math.abs(g2[j])));
    }
    expectGradientMatchesFiniteDifferences(factored);
  });

  it("the Student-t regression's row sums its log1p once for lp and ν's gradient", () => {
    const m = model("robust", (b) => scalarFamilies(b).StudentT());
    const source = compileModel(bindModel(m.json, data)).source;
    const loop = source.slice(source.indexOf("for (let i"), source.indexOf("\n}\n", source.indexOf("for (let i")));
    // log1p(t²/ν) as a running product of 1 + t²/ν, with log1p itself only for a factor out of the product's range.
    expect(loop.match(/F\.log1p/g)).toHaveLength(1);
    expect(loop).toMatch(/const R(\d+)u = \(t\d+ \* h\d+\);.*R\1q = R\1q \+ R\1u \+ R\1q \* R\1u;/);
    expect(loop).not.toMatch(/\b(lp|gp\d+) \+=/);
  });
});

describe("a sum of log1p of small arguments keeps log1p's precision", () => {
  it("on a loop body: 5,000 arguments near 1e-9 sum as the plain loop's, relative to the sum", () => {
    const body = ["const d = F.log1p(y[i]);", "lp += (h1 * d);", "g += (h2 * d);"];
    const f = factorSums([], body, ctx())!;
    const y = Float64Array.from({ length: 5000 }, (_, k) => 1e-9 * (1.5 + Math.sin(k)));
    const inputs = { y, F: { log: Math.log, log1p: Math.log1p }, h1: -0.5, h2: 2 };
    const plain = run({ pre: [], body, after: [] }, y.length, inputs, ["lp", "g"]);
    // Multiplied in as 1 + y, each term kept only the bits of y above 2⁻⁵³: 5,000 × 1.1e-16 off a sum of 7.5e-6.
    run(f, y.length, inputs, ["lp", "g"]).forEach((v, k) => expect(Math.abs(v - plain[k])).toBeLessThanOrEqual(1e-13 * Math.abs(plain[k])));
  });

  // ν, μ and σ parameters (so that the row's sums are factored), flat priors: lp and ∂/∂ν are the likelihood's own.
  // −(ν + 1)/2 · Σ log1p(t²/ν) scales the sum's error by ν; ∂/∂ν is a difference of sums of order n/ν that cancel to
  // order n/ν². Before, at ν = 10⁸ and 1,000 rows, lp was off by 4e-8 and ∂/∂ν by 2 %; at ν = 10¹² lp by 2e-3.
  it.each([1e6, 1e8, 1e12])("the Student-t at ν = %s: lp and ∂/∂ν as without factored sums", (nu) => {
    const m = model("t-large-nu", (b) => {
      const n = b.param("nu", Flat());
      const mu = b.param("mu", Flat());
      const s = b.param("s", Flat());
      b.observe("obs", StudentT(n, mu, s), b.data("y"));
    });
    const rng = new Rng(3, 1);
    const bound = bindModel(m.json, { y: Array.from({ length: 1000 }, () => rng.normal()) });
    const at = (c: ReturnType<typeof compileModel>) => {
      const grad = new Float64Array(3);
      return { lp: c.logDensityGradient(Float64Array.of(nu, 0.1, 1.1), grad), grad };
    };
    const factored = at(compileModel(bound));
    const plain = at(compileModel(bound, { factorSums: false }));
    expect(Math.abs(factored.lp - plain.lp)).toBeLessThanOrEqual(1e-13 * Math.abs(plain.lp));
    // The factored ∂/∂ν still adds its sums in another order than the plain loop: 2.5e-4 apart at ν = 10¹², where it is 4e-23.
    expect(Math.abs(factored.grad[0] - plain.grad[0])).toBeLessThanOrEqual((nu < 1e10 ? 1e-6 : 1e-3) * Math.abs(plain.grad[0]));
    for (const k of [1, 2]) expect(Math.abs(factored.grad[k] - plain.grad[k])).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(plain.grad[k])));
  });
});

describe("accumulations whose every term is zero", () => {
  it("a likelihood tempered by a data weight of 0 (a prior-only run) compiles, with the plain loop's values", () => {
    const tempered = model("tempered", (b) => {
      const a = b.param("a", Normal(0, 1));
      const s = b.param("s", Gamma(2, 2));
      b.factor(
        "lik",
        Normal(b.data("x").mul(a), s)
          .logp(b.data("y"))
          .mul(b.data("w", { shape: "scalar" })),
      );
    });
    const bound = bindModel(tempered.json, { x: [1, 2, 3], y: [0.5, -1, 2], w: 0 });
    const plain = compileModel(bound, { factorSums: false });
    const factored = compileModel(bound);
    const theta = Float64Array.from([0.3, 0.1]);
    const g1 = new Float64Array(2);
    const g2 = new Float64Array(2);
    expect(factored.logDensityGradient(theta, g1)).toBeCloseTo(plain.logDensityGradient(theta, g2), 12);
    expect(Array.from(g1)).toEqual(Array.from(g2));
  });
});

describe("zeros and dead row variables", () => {
  it("a data weight of 0 on a term that overflows still gives NaN, as the plain loop does (0 · ∞), not a finite value", () => {
    const m = model("zero-times-overflow", (b) => {
      const a = b.param("a", Normal(0, 1));
      const c = b.param("c", Normal(0, 1));
      const x = b.data("x");
      b.factor(
        "f",
        x
          .mul(a)
          .exp()
          .mul(b.data("w", { shape: "scalar" }))
          .add(x.mul(c)),
      );
    });
    const bound = bindModel(m.json, { x: [1, 2, 3], w: 0 });
    const theta = Float64Array.from([400, 0.2]);
    const plain = compileModel(bound, { factorSums: false }).logDensityGradient(theta, new Float64Array(2));
    const g = new Float64Array(2);
    const factored = compileModel(bound).logDensityGradient(theta, g);
    expect(plain).toBeNaN();
    expect(factored).toBeNaN();
    expect(g[0]).toBeNaN();
  });

  it("removes a row variable nothing reads together with every assignment to it", () => {
    const x = Float64Array.from([0.5, -1.25, 2]);
    const body = ["let a = 0;", "a = (x[i] * h1);", "g0 += (a * h2);", "g1 += (a * h3);", "g2 += (x[i] * h2);"];
    const f = factorSums([], body, ctx())!;
    expect(f.body.join("\n")).not.toMatch(/\ba =/);
    expectSameResults(body, f, x.length, { x, h1: 0.7, h2: 1.3, h3: -0.4 }, ["g0", "g1", "g2"]);
  });
});
