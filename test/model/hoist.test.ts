// Loop-invariant hoisting (src/model/hoist.ts): what moves out of the row loop (data-only calls into arrays computed
// when the data are bound, parameter-only calls before the loop), and that the compiled log-density and gradient are
// the same to the bit with and without it, for every family as an observation with per-row and scalar arguments.
import { describe, expect, it } from "vitest";
import { bindModel } from "../../src/model/bind.js";
import { compileModel } from "../../src/model/compile.js";
import { optimiseLoop, parseStatement, type LoopContext } from "../../src/model/hoist.js";
import {
  BernoulliLogit,
  Beta,
  BinomialLogit,
  Cauchy,
  Exponential,
  Gamma,
  HalfCauchy,
  HalfNormal,
  InverseGamma,
  LogNormal,
  logSumExp,
  model,
  NegativeBinomial,
  Normal,
  PoissonLog,
  StudentT,
  type Dist,
  type Expr,
  type ModelBuilder,
} from "../../src/model/index.js";
import { Rng } from "../../src/random/rng.js";
import { sampleData } from "./helpers.js";

const data = sampleData();

/** The row loop of the generated source: the text between `for (let i` and the matching close. */
function rowLoops(source: string): string {
  return source
    .split("for (let i = 0;")
    .slice(1)
    .map((part) => part.slice(0, part.indexOf("\n}\n")))
    .join("\n");
}

describe("what moves out of the row loop", () => {
  it("Poisson: lgamma(y + 1), a function of the data alone, is computed once when the data are bound", () => {
    const m = model("pois", (b) => {
      const x = b.data("x");
      const a = b.param("a", Normal(0, 1));
      b.observe("y", PoissonLog(a.mul(x)), b.data("ycount", { kind: "integer" }));
    });
    const bound = bindModel(m.json, { x: data.x, ycount: data.ycount });
    expect(rowLoops(compileModel(bound, { hoist: false }).source)).toContain("F.lgamma");
    expect(compileModel(bound).source).not.toContain("F.lgamma");
  });

  it("Student-t with unknown ν: ψ((ν + 1)/2) − ψ(ν/2) (digammaStep) is computed once per evaluation, log1p once per row", () => {
    const m = model("robust", (b) => {
      const x = b.data("x");
      const nu = b.param("nu", Gamma(2, 0.1));
      const a = b.param("a", Normal(0, 1));
      const s = b.param("s", HalfNormal(1));
      b.observe("y", StudentT(nu, a.mul(x), s), b.data("yreal"));
    });
    const bound = bindModel(m.json, { x: data.x, yreal: data.yreal });
    const c = compileModel(bound);
    const loop = rowLoops(c.source);
    expect(rowLoops(compileModel(bound, { hoist: false }).source)).toContain("F.digammaStep");
    expect(c.source).toContain("F.digammaStep");
    expect(loop).not.toContain("F.digamma");
    expect(loop).not.toContain("F.lgamma");
    expect(loop.match(/F\.log1p/g)).toHaveLength(1);
  });
});

/** Per-row arguments (depending on parameters and data) and scalar ones, for every family observed. */
function families(b: ModelBuilder): Record<string, () => void> {
  const x = b.data("x");
  const xpos = b.data("xpos");
  const category = b.data("category", { levels: 3 });
  const a = b.param("a", Normal(0.3, 1.5));
  const s = b.param("s", Gamma(3, 2));
  const v = b.param("v", Normal(0, 1), { shape: 3 });
  const row: Expr = v.at(category).mul(x).add(a);
  const rowPos: Expr = xpos.mul(s).add(0.3);
  const obs = (name: string, d: Dist, y: string, kind?: "integer") => () => b.observe(name, d, b.data(y, kind ? { kind } : {}));
  return {
    Normal: obs("normal", Normal(row, s), "yreal"),
    NormalData: obs("normalData", Normal(x.log1p().add(a), xpos.sqrt()), "yreal"),
    HalfNormal: obs("halfnormal", HalfNormal(rowPos), "ypos"),
    StudentT: obs("studentt", StudentT(s.add(1), row, rowPos), "yreal"),
    Cauchy: obs("cauchy", Cauchy(row, s), "yreal"),
    HalfCauchy: obs("halfcauchy", HalfCauchy(rowPos), "ypos"),
    Exponential: obs("exponential", Exponential(rowPos), "ypos"),
    Gamma: obs("gamma", Gamma(s, rowPos), "ypos"),
    InverseGamma: obs("invgamma", InverseGamma(rowPos, s), "ypos"),
    LogNormal: obs("lognormal", LogNormal(row, s), "ypos"),
    Beta: obs("beta", Beta(rowPos, s), "yunit"),
    BernoulliLogit: obs("bernoulli", BernoulliLogit(row), "ybin", "integer"),
    BinomialLogit: obs("binomial", BinomialLogit(b.data("trials", { kind: "integer" }), row), "ysucc", "integer"),
    PoissonLog: obs("poisson", PoissonLog(xpos.log().add(row)), "ycount", "integer"),
    NegativeBinomial: obs("negbin", NegativeBinomial(rowPos, s), "ycount", "integer"),
    Mixture: () => b.factor("mix", logSumExp(Normal(a, s).logp(b.data("yreal")), Normal(row, 2).logp(b.data("yreal")))),
  };
}

describe("the same results to the bit with and without hoisting", () => {
  let names: string[] = [];
  model("probe", (b) => void (names = Object.keys(families(b))));
  it.each(names)("%s", (family) => {
    const m = model(`hoist-${family}`, (b) => families(b)[family]());
    const bound = bindModel(m.json, data);
    // Factoring sums (factor-sums.ts) reorders additions; test/model/factor-sums.test.ts checks it to rounding.
    const hoisted = compileModel(bound, { factorSums: false });
    const plain = compileModel(bound, { hoist: false });
    expect(hoisted.source).not.toEqual(plain.source);
    const rng = new Rng(7, 0);
    for (let k = 0; k < 5; k++) {
      const theta = Float64Array.from({ length: hoisted.dim }, () => 2 * rng.uniform() - 1);
      const g1 = new Float64Array(hoisted.dim);
      const g2 = new Float64Array(hoisted.dim);
      const lp1 = hoisted.logDensityGradient(theta, g1);
      const lp2 = plain.logDensityGradient(theta, g2);
      expect(Object.is(lp1, lp2), `lp ${lp1} vs ${lp2}`).toBe(true);
      expect(Array.from(g1)).toEqual(Array.from(g2));
    }
  });
});

it("folds a straight-line term's constants with the functions the unfolded code calls (Math's, compile.ts callsOnce)", () => {
  // log(0.09) differs in the last bit between model/elementary.ts's log and Math.log: folded with one and computed
  // with the other, the prior's normalising constant — and so lp — differed with and without hoisting.
  for (const sd of [0.09, 0.12, 0.13]) {
    const m = model("scale", (b) => {
      const a = b.param("a", Normal(0, sd));
      b.observe("obs", Normal(a, 1), b.data("y", { shape: "scalar" }));
    });
    const bound = bindModel(m.json, { y: 0.3 });
    const theta = Float64Array.of(0.2);
    const lp1 = compileModel(bound).logDensityGradient(theta, new Float64Array(1));
    const lp2 = compileModel(bound, { hoist: false }).logDensityGradient(theta, new Float64Array(1));
    expect(Object.is(lp1, lp2), `sd ${sd}: lp ${lp1} vs ${lp2}`).toBe(true);
  }
});

describe("optimiseLoop", () => {
  const ctx = (statics: string[] = []): LoopContext & { precomputed: string[] } => {
    let n = 0;
    const precomputed: string[] = [];
    return {
      loopVar: "i",
      staticArrays: new Set(statics),
      evaluate: (code) => new Function("F", `return (${code});`)({}) as number,
      precompute: (code) => (precomputed.push(code), `D${precomputed.length - 1}`),
      fresh: (p) => `${p}${n++}`,
      precomputed,
    };
  };

  it("parses by JavaScript's precedence and prints every operation parenthesised", () => {
    const s = parseStatement("const v = -0.5 * t * t + a / b - c ? d === e || f : g;");
    expect(s.k).toBe("decl");
    const printed = optimiseLoop([], ["const v = -0.5 * t * t + a / b - c ? d === e || f : g;"], { ...ctx(), loopVar: null }).body[0];
    expect(printed).toBe("const v = ((((((-0.5) * t) * t) + (a / b)) - c) ? ((d === e) || f) : g);");
  });

  it("leaves statements it does not parse, and counts what they assign (an array index holding brackets) as changing", () => {
    const body = ["L5[I_c[i] * 4 + (i & 3)] += a5;", "const t = Math.log(L5[0]) + Math.log(P[2]);"];
    const out = optimiseLoop([], body, ctx(["I_c"]));
    expect(out.body[0]).toBe(body[0]);
    expect(out.body[1]).toContain("Math.log(L5[0])");
    expect(out.pre).toEqual(["const h0 = Math.log(P[2]);"]);
  });

  it("precomputes costly data-only subexpressions, inlining the row's constants they read", () => {
    const c = ctx(["S1", "I_k"]);
    const out = optimiseLoop([], ["const k = I_k[i];", "lp += P[k] * S1[i] - Math.log(S1[k] + 1);"], c);
    expect(c.precomputed).toEqual(["Math.log((S1[I_k[i]] + 1))"]);
    expect(out.body[1]).toBe("lp += ((P[k] * S1[i]) - D0[i]);");
  });

  it("shares a repeated call, but not one over a value that changes between the statements", () => {
    const out = optimiseLoop([], ["const t = S1[i] * P[0];", "a += Math.exp(t);", "b += Math.exp(t) * Math.exp(a);", "a += Math.exp(a);"], ctx(["S1"]));
    expect(out.body.filter((l) => l.includes("= Math.exp(t)"))).toHaveLength(1);
    expect(out.body.join("\n").match(/Math\.exp\(a\)/g)).toHaveLength(2);
  });
});

describe("matrix-vector products, written out (≤ 64 columns) or looped", () => {
  it.each([5, 70])("%i columns: the log-density and gradient of a normal linear model match a direct computation", (k) => {
    const rng = new Rng(11, k);
    const n = 40;
    const X = Array.from({ length: n }, () => Array.from({ length: k }, () => rng.normal()));
    const y = Array.from({ length: n }, () => rng.normal());
    const m = model(`lm${k}`, (b) => {
      const w = b.param("w", Normal(0, 1), { shape: k });
      const s = b.param("s", HalfNormal(1));
      b.observe("obs", Normal(b.data("X", { shape: "matrix" }).matvec(w), s), b.data("y"));
    });
    const c = compileModel(bindModel(m.json, { X, y }));
    expect(c.source.includes("for (let j = 0;")).toBe(k > 64);
    const theta = Float64Array.from({ length: k + 1 }, () => 0.3 * rng.normal());
    const grad = new Float64Array(k + 1);
    const lp = c.logDensityGradient(theta, grad);
    const s = Math.exp(theta[k]);
    let expected = 0;
    const g = new Float64Array(k + 1);
    for (let j = 0; j < k; j++) {
      expected += -0.5 * theta[j] ** 2 - 0.9189385332046727;
      g[j] = -theta[j];
    }
    expected += -0.5 * s * s - 0.22579135264472744 + theta[k];
    g[k] = -s * s + 1;
    for (let i = 0; i < n; i++) {
      let eta = 0;
      for (let j = 0; j < k; j++) eta += X[i][j] * theta[j];
      const z = (y[i] - eta) / s;
      expected += -0.5 * z * z - Math.log(s) - 0.9189385332046727;
      for (let j = 0; j < k; j++) g[j] += (z / s) * X[i][j];
      g[k] += z * z - 1;
    }
    expect(lp).toBeCloseTo(expected, 9);
    for (let j = 0; j <= k; j++) expect(grad[j]).toBeCloseTo(g[j], 9);
  });
});
