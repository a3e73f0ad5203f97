// Exact gradients: every operation, distribution family (as a prior and as an observation, with scalar arguments —
// the hoisted code path — and per-row vector arguments) and constraint transform, checked against central finite
// differences of the compiled log-density at a few random unconstrained points.
import { describe, expect, it } from "vitest";
import {
  addDiag,
  Bernoulli,
  BernoulliLogit,
  BernoulliProbit,
  Beta,
  BetaProportion,
  Binomial,
  BinomialLogit,
  Cauchy,
  covExpQuad,
  Exponential,
  Flat,
  Gamma,
  GammaMean,
  HalfCauchy,
  HalfNormal,
  InverseGamma,
  LogNormal,
  logSumExp,
  model,
  MvNormal,
  NegativeBinomial,
  NegativeBinomialLog,
  Normal,
  Poisson,
  PoissonLog,
  StudentT,
  Uniform,
  Weibull,
  type Dist,
  type Expr,
  type ModelBuilder,
} from "../../src/model/index.js";
import { compile, expectGradientMatchesFiniteDifferences, logDensity, sampleData } from "./helpers.js";

const data = sampleData();

/** Parameters most cases use: a real scalar `a`, a positive scalar `s`, a real 3-vector `b` (one per category). */
function common(m: ModelBuilder) {
  const a = m.param("a", Normal(0.3, 1.5));
  const s = m.param("s", Gamma(3, 2));
  const b = m.param("b", Normal(0, 1), { shape: 3 });
  const x = m.data("x");
  const xpos = m.data("xpos");
  const category = m.data("category", { levels: 3 });
  const y = m.data("yreal");
  return { a, s, b, x, xpos, category, y };
}

/** A per-row real expression depending on the parameters. */
const rowReal = (c: ReturnType<typeof common>) => c.b.at(c.category).mul(c.x).add(c.a);
/** A per-row positive expression depending on the parameters. */
const rowPos = (c: ReturnType<typeof common>) => c.xpos.mul(c.s).add(0.3);

function opModel(name: string, build: (c: ReturnType<typeof common>) => Expr) {
  return model(name, (m) => {
    const c = common(m);
    m.observe("obs", Normal(build(c), 1.3), c.y);
  });
}

const OP_CASES: Record<string, (c: ReturnType<typeof common>) => Expr> = {
  // Unary functions, on a per-row expression and on a scalar parameter.
  "neg (vector)": (c) => rowReal(c).neg(),
  "neg (scalar)": (c) => c.a.neg(),
  "exp (vector)": (c) => rowReal(c).exp(),
  "exp (scalar)": (c) => c.a.exp(),
  "log (vector)": (c) => rowPos(c).log(),
  "log (scalar)": (c) => c.s.log(),
  "log1p (vector)": (c) => rowPos(c).log1p(),
  "log1p (scalar)": (c) => c.s.log1p(),
  "log1m (vector)": (c) => rowReal(c).logistic().log1m(),
  "log1m (scalar)": (c) => c.a.logistic().log1m(),
  "logistic (vector)": (c) => rowReal(c).logistic(),
  "logistic (scalar)": (c) => c.a.logistic(),
  "softplus (vector)": (c) => rowReal(c).softplus(),
  "softplus (scalar)": (c) => c.a.softplus(),
  "sqrt (vector)": (c) => rowPos(c).sqrt(),
  "sqrt (scalar)": (c) => c.s.sqrt(),
  "square (vector)": (c) => rowReal(c).square(),
  "square (scalar)": (c) => c.a.square(),
  "abs (vector)": (c) => rowReal(c).abs(),
  "abs (scalar)": (c) => c.a.abs(),
  "Phi (vector)": (c) => rowReal(c).Phi(),
  "Phi (scalar)": (c) => c.a.Phi(),
  // Binary functions: vector ∘ data, data ∘ vector, scalar ∘ vector, scalar ∘ scalar, with constants.
  add: (c) => rowReal(c).add(c.x).add(c.a.add(c.s)).add(2),
  sub: (c) => c.x.sub(rowReal(c)).sub(c.a.sub(c.s)).sub(0.5),
  mul: (c) => c.x.mul(rowReal(c)).mul(c.a.mul(c.s)).mul(-1.5),
  div: (c) =>
    c.x
      .div(rowPos(c))
      .add(rowReal(c).div(c.s))
      .add(c.a.div(c.s.add(1)))
      .add(c.xpos.div(2)),
  "pow (positive base, parameter exponent)": (c) =>
    rowPos(c)
      .pow(c.a)
      .add(c.s.pow(c.a.mul(c.x))),
  "pow (constant exponent)": (c) => rowPos(c).pow(2.5).add(c.s.pow(-0.7)),
  "pow (data base)": (c) => c.xpos.pow(c.a).add(c.xpos.pow(rowReal(c))),
  // Indexing.
  "index (gather with repeated categories)": (c) => c.b.at(c.category).mul(c.b.at(c.category)).add(c.b.at(c.category).exp()),
  "index of a computed vector": (c) => c.b.mul(c.a).exp().at(c.category).mul(c.x),
  element: (c) =>
    c.b
      .at(0)
      .mul(c.x)
      .add(c.b.at(2).mul(c.b.at(1)))
      .add(c.b.exp().at(1)),
  "sum of a parameter vector": (c) => c.x.mul(c.b.sum()),
  "sum of a per-row expression": (c) => c.x.mul(rowReal(c).square().sum()).mul(0.1),
  "sum of a scalar": (c) => c.x.mul(c.a.mul(c.s).sum()),
  "logSumExp (vectors)": (c) => logSumExp(rowReal(c), c.x.mul(c.s), c.a.add(c.xpos)),
  "logSumExp (scalars)": (c) => c.x.add(logSumExp(c.a, c.s.log(), c.b.at(1))),
  // A number among the arguments, as Stan's log_sum_exp(0, eta): a softmax's reference category.
  "logSumExp (a constant, vectors)": (c) => logSumExp(0, rowReal(c), c.a.mul(c.x)),
  "logSumExp (a constant, scalars)": (c) => c.x.add(logSumExp(c.a, -1.5)),
  "shared sub-expression": (c) => {
    const e = rowReal(c).logistic();
    return e.mul(e).add(e.log()).add(e.mul(c.s));
  },
};

describe("gradients of operations", () => {
  it("logSumExp takes numbers beside expressions, as constants (a model file is not type-checked: it used to fail with a TypeError)", () => {
    const withZero = compile(
      opModel("lse_zero", (c) => logSumExp(0, c.a.mul(c.x))),
      data,
    );
    const byHand = compile(
      opModel("lse_hand", (c) => c.a.mul(c.x).exp().log1p()),
      data,
    );
    for (const theta of [Float64Array.of(0.3, -0.2, 0.1, 0.5, -1, 0.2), Float64Array.of(-2, 1, 0.5, -0.5, 2, 1)]) {
      const t = theta.subarray(0, withZero.dim);
      expect(logDensity(withZero, t)).toBeCloseTo(logDensity(byHand, t), 10);
    }
    expect(() => model("numbers", (m) => m.factor("f", logSumExp(0, 1).add(m.param("a", Normal(0, 1)))))).toThrow(
      "logSumExp needs at least one expression among its arguments (all were numbers)",
    );
  });

  it.each(Object.keys(OP_CASES))("%s", (name) => {
    const c = compile(opModel(name.replace(/\W+/g, "_"), OP_CASES[name]), data);
    expectGradientMatchesFiniteDifferences(c);
  });

  it("matrix–vector product (parameter vector, data matrix)", () => {
    const m = model("matvec", (m) => {
      const X = m.data("X", { shape: "matrix" });
      const w = m.param("w", Normal(0, 1), { shape: 3 });
      const s = m.param("s", HalfNormal(1));
      m.observe("obs", Normal(X.matvec(w), s), m.data("yreal"));
      m.observe("obs2", Normal(X.matvec(w.exp()).mul(w.at(1)), 2), m.data("ypos"));
    });
    expectGradientMatchesFiniteDifferences(compile(m, data));
  });

  it("matrix–vector product with a single column (one predictor read by columns): compiles, and its value and gradient are exact", () => {
    // The written-out row summed min(4, ⌊c/2⌋) chains of columns, stepping by that count: 0 for one column, so
    // compiling such a model never returned (the generated text grew until the process ran out of memory).
    const m = model("matvec1", (m) => {
      const X = m.data("X1", { columns: ["x"] });
      const w = m.param("w", Normal(0, 1), { shape: 1 });
      const s = m.param("s", HalfNormal(1));
      m.observe("obs", Normal(X.matvec(w), s), m.data("yreal"));
    });
    const [x, y] = [data.x as number[], data.yreal as number[]];
    const c = compile(m, { ...data, X1: x.map((v) => [v]) });
    const [w, logS] = [0.7, -0.2];
    const s = Math.exp(logS);
    let lp = -0.5 * w * w - 0.5 * Math.log(2 * Math.PI) + Math.log(2) - 0.5 * s * s - 0.5 * Math.log(2 * Math.PI) + logS;
    for (let i = 0; i < x.length; i++) lp += -0.5 * ((y[i] - x[i] * w) / s) ** 2 - Math.log(s) - 0.5 * Math.log(2 * Math.PI);
    expect(logDensity(c, [w, logS])).toBeCloseTo(lp, 10);
    expectGradientMatchesFiniteDifferences(c);
  });

  it("covExpQuad + addDiag (scalar) + MvNormal (scalar mean)", () => {
    const m = model("gp", (m) => {
      const rho = m.param("rho", Gamma(4, 2));
      const alpha = m.param("alpha", HalfNormal(2));
      const sigma = m.param("sigma", HalfNormal(1));
      const mu = m.param("mu", Normal(0, 1));
      m.observe("y", MvNormal(mu, addDiag(covExpQuad(m.data("gx"), alpha, rho), sigma)), m.data("yreal"));
    });
    expectGradientMatchesFiniteDifferences(compile(m, data));
  });

  it("a covariance whose length scale underflows is no covariance: −∞, not a finite log-density with a NaN gradient", () => {
    const m = model("gp-underflow", (m) => {
      const rho = m.param("rho", Gamma(4, 2));
      const alpha = m.param("alpha", HalfNormal(2));
      const sigma = m.param("sigma", HalfNormal(1));
      m.observe("y", MvNormal(0, addDiag(covExpQuad(m.data("gx"), alpha, rho), sigma)), m.data("yreal"));
    });
    const c = compile(m, data);
    // ρ = e^−400: ρ² underflows to 0 and every entry of K, the diagonal's too, is NaN.
    expect(c.logDensityGradient(Float64Array.of(-400, 0, -1), new Float64Array(3))).toBe(-Infinity);
  });

  it("refuses covariance points computed from data that are not finite, naming them", () => {
    const m = model("gp-log-points", (m) => {
      const rho = m.param("rho", Gamma(4, 2));
      const alpha = m.param("alpha", HalfNormal(2));
      m.observe("y", MvNormal(0, addDiag(covExpQuad(m.data("gx").log(), alpha, rho), 0.5)), m.data("yreal"));
    });
    // gx[0] = −2: log gives NaN.
    expect(() => compile(m, data)).toThrow(
      expect.objectContaining({ code: "DATA_VALUE", message: expect.stringMatching(/\[0\] is NaN: the points of a covariance must be finite/) }),
    );
  });

  it("covExpQuad + addDiag (vector) + MvNormal (vector mean)", () => {
    const m = model("gp2", (m) => {
      const rho = m.param("rho", Gamma(4, 2));
      const alpha = m.param("alpha", HalfNormal(2));
      const s = m.param("s", HalfNormal(1));
      const b = m.param("b", Normal(0, 1));
      const xpos = m.data("xpos");
      const mean = m.data("x").mul(b);
      m.observe("y", MvNormal(mean, addDiag(covExpQuad(m.data("gx"), alpha, rho.add(0.5)), xpos.mul(s).add(0.01))), m.data("yreal"));
    });
    expectGradientMatchesFiniteDifferences(compile(m, data));
  });

  it("MvNormal with a data covariance and a parameter mean", () => {
    const m = model("mvfixed", (m) => {
      const b = m.param("b", Normal(0, 1), { shape: 7 });
      m.observe("y", MvNormal(b.mul(2), addDiag(covExpQuad(m.data("gx"), 1.5, 1.2), 0.3)), m.data("yreal"));
    });
    expectGradientMatchesFiniteDifferences(compile(m, data));
  });

  it("MvNormal beside an index scatter: their workspaces never share a name, whatever the node ids", () => {
    // The scatter lanes are named after the index node's id, the MvNormal workspace after a counter of generated
    // names. Four flat parameters before the indexed one made the two numbers equal (L6 for both), and one buffer
    // overwrote the other: the gradient was wrong. Each count of leading parameters shifts the ids.
    for (let lead = 0; lead < 6; lead++) {
      const m = model(`mv-scatter-${lead}`, (m) => {
        for (let k = 0; k < lead; k++) m.param(`v${k}`, Flat());
        const b = m.param("b", Flat(), { shape: 3 });
        const row = b.at(m.data("category", { levels: 3 }));
        m.param("u0", Flat());
        m.param("u1", Flat());
        const s = m.param("s", HalfNormal(1));
        m.observe("obs", Normal(row.mul(m.data("x")), s), m.data("yreal"));
        m.observe("y", MvNormal(b.at(1), addDiag(covExpQuad(m.data("gx"), 1.5, 1.2), s)), m.data("yreal"));
      });
      expectGradientMatchesFiniteDifferences(compile(m, data));
    }
  });

  it("a factor on a parameter leaf and on a logp expression", () => {
    const m = model("factors", (m) => {
      const b = m.param("b", Normal(0, 1), { shape: 3 });
      const s = m.param("s", HalfNormal(1));
      m.factor("leaf", b);
      m.factor("scalar_leaf", s);
      m.factor("lp", Normal(b.at(0), s).logp(m.data("yreal")));
    });
    expectGradientMatchesFiniteDifferences(compile(m, data));
  });
});

// ---- distribution families -------------------------------------------------------------------------------------

type ArgKind = "real" | "pos" | "unit";
interface ContinuousCase {
  make: (...args: Expr[] | number[]) => Dist;
  args: ArgKind[];
  constants: number[];
  /** Which data vector the family observes. */
  data: "yreal" | "ypos" | "yunit";
  /** Bounds of a parameter with this prior, when its support is not the default. */
  bounds?: { lower?: number; upper?: number };
}

const CONTINUOUS: Record<string, ContinuousCase> = {
  Normal: { make: Normal as never, args: ["real", "pos"], constants: [0.5, 1.7], data: "yreal" },
  HalfNormal: { make: HalfNormal as never, args: ["pos"], constants: [1.4], data: "ypos" },
  StudentT: { make: StudentT as never, args: ["pos", "real", "pos"], constants: [4.5, -0.3, 1.2], data: "yreal" },
  Cauchy: { make: Cauchy as never, args: ["real", "pos"], constants: [0.2, 0.8], data: "yreal" },
  HalfCauchy: { make: HalfCauchy as never, args: ["pos"], constants: [2.5], data: "ypos" },
  Exponential: { make: Exponential as never, args: ["pos"], constants: [1.3], data: "ypos" },
  Gamma: { make: Gamma as never, args: ["pos", "pos"], constants: [2.2, 1.5], data: "ypos" },
  InverseGamma: { make: InverseGamma as never, args: ["pos", "pos"], constants: [3.1, 2.4], data: "ypos" },
  LogNormal: { make: LogNormal as never, args: ["real", "pos"], constants: [0.1, 0.9], data: "ypos" },
  Beta: { make: Beta as never, args: ["pos", "pos"], constants: [2.5, 1.7], data: "yunit" },
  Weibull: { make: Weibull as never, args: ["pos", "pos"], constants: [1.7, 2.2], data: "ypos" },
  GammaMean: { make: GammaMean as never, args: ["pos", "pos"], constants: [1.3, 2.5], data: "ypos" },
  BetaProportion: { make: BetaProportion as never, args: ["unit", "pos"], constants: [0.3, 6], data: "yunit" },
};

/** Scalar parameter-dependent arguments (hoisted): a real `r` and positives `p`, `q` (offset away from 0). */
function scalarArgs(m: ModelBuilder, kinds: ArgKind[]): Expr[] {
  const r = m.param("r", Normal(0, 1));
  const p = m.param("p", Gamma(4, 3));
  const q = m.param("q", Gamma(5, 4));
  let pos = 0;
  return kinds.map((k) => (k === "real" ? r : k === "unit" ? r.logistic() : (pos++ === 0 ? p : q).add(0.5)));
}

/** Per-row parameter-dependent arguments (one value per data row). */
function vectorArgs(m: ModelBuilder, kinds: ArgKind[]): Expr[] {
  const r = m.param("r", Normal(0, 1));
  const p = m.param("p", Gamma(4, 3));
  const x = m.data("x");
  const xpos = m.data("xpos");
  let pos = 0;
  return kinds.map((k) => (k === "real" ? x.mul(r).add(0.2) : k === "unit" ? x.mul(r).logistic() : xpos.mul(p).add(pos++ === 0 ? 0.5 : 0.8)));
}

describe.each(Object.keys(CONTINUOUS))("gradients of %s", (family) => {
  const fc = CONTINUOUS[family];
  const opts = (extra: object = {}) => ({ ...(fc.bounds ?? {}), ...extra });

  it("as a prior with constant arguments (scalar and vector parameters)", () => {
    const m = model("prior_const", (m) => {
      m.param("v", fc.make(...fc.constants), opts());
      m.param("w", fc.make(...fc.constants), opts({ shape: 4 }));
    });
    expectGradientMatchesFiniteDifferences(compile(m, data));
  });

  it("as a prior with scalar parameter arguments (hoisted)", () => {
    const m = model("prior_scalar", (m) => {
      // The default transform follows the family's support (lower 0, or (0, 1) for Beta).
      m.param("w", fc.make(...scalarArgs(m, fc.args)), { shape: 4 });
    });
    expectGradientMatchesFiniteDifferences(compile(m, data));
  });

  it("as a prior with per-row parameter arguments", () => {
    const m = model("prior_vector", (m) => {
      m.param("w", fc.make(...vectorArgs(m, fc.args)), { shape: 7 });
    });
    expectGradientMatchesFiniteDifferences(compile(m, data));
  });

  it("as an observation with scalar parameter arguments (hoisted)", () => {
    const m = model("obs_scalar", (m) => {
      m.observe("obs", fc.make(...scalarArgs(m, fc.args)), m.data(fc.data));
    });
    expectGradientMatchesFiniteDifferences(compile(m, data));
  });

  it("as an observation with per-row parameter arguments", () => {
    const m = model("obs_vector", (m) => {
      m.observe("obs", fc.make(...vectorArgs(m, fc.args)), m.data(fc.data));
    });
    expectGradientMatchesFiniteDifferences(compile(m, data));
  });

  it("as the density of a parameter-dependent value (logp inside a factor)", () => {
    const m = model("logp_value", (m) => {
      const args = scalarArgs(m, fc.args);
      const t = m.param("t", Normal(0, 1), { shape: 7 });
      const value = fc.data === "yreal" ? t.mul(m.data("xpos")) : fc.data === "ypos" ? t.exp().mul(m.data("xpos")) : t.add(m.data("x")).logistic();
      m.factor("f", fc.make(...args).logp(value));
    });
    expectGradientMatchesFiniteDifferences(compile(m, data));
  });
});

describe("gradients of Uniform", () => {
  it("as a prior with constant bounds (interval transform by default)", () => {
    const m = model("u", (m) => {
      m.param("v", Uniform(-1, 3));
      m.param("w", Uniform(0.5, 2), { shape: 3 });
    });
    expectGradientMatchesFiniteDifferences(compile(m, data));
  });

  it("as an observation with parameter bounds (scalar and per-row)", () => {
    const ys = data.yreal as number[];
    const lo = Math.min(...ys);
    const hi = Math.max(...ys);
    const m = model("u_obs", (m) => {
      const a = m.param("a", Normal(lo - 1, 1), { upper: lo });
      const b = m.param("b", Normal(hi + 1, 1), { lower: hi });
      const y = m.data("yreal");
      m.observe("obs", Uniform(a, b), y);
      m.observe("obs2", Uniform(m.data("xpos").mul(0.01).add(a), b.add(m.data("xpos"))), y);
    });
    expectGradientMatchesFiniteDifferences(compile(m, data));
  });
});

describe("gradients of the discrete families (observations)", () => {
  const cases: Record<string, (m: ModelBuilder, scalar: boolean) => void> = {
    BernoulliLogit: (m, scalar) => {
      const a = m.param("a", Normal(0, 1));
      const b = m.param("b", Normal(0, 1));
      m.observe("obs", BernoulliLogit(scalar ? a : m.data("x").mul(b).add(a)), m.data("ybin"));
    },
    BinomialLogit: (m, scalar) => {
      const a = m.param("a", Normal(0, 1));
      const b = m.param("b", Normal(0, 1));
      m.observe("obs", BinomialLogit(m.data("trials", { kind: "integer" }), scalar ? a : m.data("x").mul(b).add(a)), m.data("ysucc", { kind: "integer" }));
    },
    PoissonLog: (m, scalar) => {
      const a = m.param("a", Normal(0, 1));
      const b = m.param("b", Normal(0, 1));
      m.observe("obs", PoissonLog(scalar ? a.add(1) : m.data("x").mul(b).add(a)), m.data("ycount", { kind: "integer" }));
    },
    Bernoulli: (m, scalar) => {
      const a = m.param("a", Normal(0, 1));
      const b = m.param("b", Normal(0, 1));
      m.observe("obs", Bernoulli((scalar ? a : m.data("x").mul(b).add(a)).logistic()), m.data("ybin"));
    },
    BernoulliProbit: (m, scalar) => {
      const a = m.param("a", Normal(0, 1));
      const b = m.param("b", Normal(0, 1));
      m.observe("obs", BernoulliProbit(scalar ? a : m.data("x").mul(b).add(a)), m.data("ybin"));
    },
    Binomial: (m, scalar) => {
      const a = m.param("a", Normal(0, 1));
      const b = m.param("b", Normal(0, 1));
      m.observe("obs", Binomial(m.data("trials", { kind: "integer" }), (scalar ? a : m.data("x").mul(b).add(a)).Phi()), m.data("ysucc", { kind: "integer" }));
    },
    Poisson: (m, scalar) => {
      const a = m.param("a", Normal(0, 1));
      const b = m.param("b", Normal(0, 1));
      m.observe("obs", Poisson((scalar ? a.add(1) : m.data("x").mul(b).add(a)).exp()), m.data("ycount", { kind: "integer" }));
    },
    NegativeBinomialLog: (m, scalar) => {
      const a = m.param("a", Normal(0, 1));
      const b = m.param("b", Normal(0, 1));
      const phi = m.param("phi", Gamma(3, 1));
      m.observe("obs", NegativeBinomialLog(scalar ? a.add(1) : m.data("x").mul(b).add(a), phi.add(0.3)), m.data("ycount", { kind: "integer" }));
    },
    NegativeBinomial: (m, scalar) => {
      const mu = m.param("mu", Gamma(3, 1));
      const phi = m.param("phi", Gamma(3, 1));
      const xpos = m.data("xpos");
      m.observe(
        "obs",
        NegativeBinomial(scalar ? mu.add(0.2) : xpos.mul(mu).add(0.1), scalar ? phi.add(0.3) : xpos.mul(phi).add(0.2)),
        m.data("ycount", { kind: "integer" }),
      );
    },
  };
  for (const [family, build] of Object.entries(cases)) {
    it(`${family} with scalar parameter arguments`, () => {
      expectGradientMatchesFiniteDifferences(
        compile(
          model(`${family}_s`, (m) => build(m, true)),
          data,
        ),
      );
    });
    it(`${family} with per-row parameter arguments`, () => {
      expectGradientMatchesFiniteDifferences(
        compile(
          model(`${family}_v`, (m) => build(m, false)),
          data,
        ),
      );
    });
  }
});

describe("gradients through the constraint transforms (Jacobians included)", () => {
  const cases: Record<string, (m: ModelBuilder) => void> = {
    lower: (m) => {
      m.param("v", Normal(3, 1), { lower: 2 });
      m.param("w", Normal(1, 2), { lower: -1, shape: 3 });
    },
    upper: (m) => {
      m.param("v", Normal(-2, 1), { upper: -1 });
      m.param("w", Normal(0, 2), { upper: 0.5, shape: 3 });
    },
    interval: (m) => {
      m.param("v", Normal(0, 1), { lower: -1, upper: 2.5 });
      m.param("w", Normal(0.5, 1), { lower: 0, upper: 1, shape: 3 });
    },
    ordered: (m) => {
      const o = m.param("o", Normal(0, 3), { shape: 4, ordered: true });
      m.observe("obs", Normal(o.at(m.data("category", { levels: 4 })), 1), m.data("yreal"));
    },
    "default transforms (positive, unit, bounded supports)": (m) => {
      m.param("g", Gamma(2, 1));
      m.param("bt", Beta(2, 3), { shape: 2 });
      m.param("u", Uniform(-2, 5));
    },
    "Flat priors with bounds": (m) => {
      const s = m.param("s", Flat(), { lower: 0 });
      const v = m.param("v", Flat(), { lower: -1, upper: 1 });
      m.observe("obs", Normal(v, s), m.data("yreal"));
    },
  };
  const cat4 = { ...data, category: [0, 1, 2, 3, 3, 2, 1] };
  it.each(Object.keys(cases))("%s", (name) => {
    const m = model(name.replace(/\W+/g, "_"), cases[name]);
    expectGradientMatchesFiniteDifferences(compile(m, cat4), { radius: 1.5 });
  });
});

describe("the finite-difference check itself", () => {
  it("detects a wrong gradient", () => {
    const c = compile(
      model("n", (m) => void m.param("v", Normal(0, 1))),
      {},
    );
    const broken = {
      ...c,
      logDensityGradient: (t: Float64Array, g: Float64Array) => {
        const lp = c.logDensityGradient(t, g);
        g[0] *= 1 + 1e-4;
        return lp;
      },
    };
    expect(() => expectGradientMatchesFiniteDifferences(broken)).toThrow(/finite differences/);
  });
});
