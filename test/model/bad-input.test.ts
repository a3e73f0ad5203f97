// Bad input is a BayesServeError that names the variable and the problem: missing data, mismatched lengths,
// non-finite values, categories outside their levels or not integers, ragged matrices, wrong shapes; both from
// bindModel directly and through fit() (which checks before any worker thread starts).
import { describe, expect, it } from "vitest";
import { BayesServeError, type ErrorCode } from "../../src/errors.js";
import { fit } from "../../src/inference/fit.js";
import { bindModel, type DataInput } from "../../src/model/bind.js";
import { addDiag, covExpQuad, HalfNormal, model, modelFromJSON, Normal, PoissonLog, Uniform, Weibull, type Model } from "../../src/model/index.js";
import { seedRegression } from "../../src/models/seed-regression.js";

const good = { x: [1, 2, 3, 4], category: [0, 1, 2, 1], y: [1.1, 2.4, 4.4, 5.1] };

function failure(f: () => unknown): BayesServeError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(BayesServeError);
    return e as BayesServeError;
  }
  throw new Error("expected a BayesServeError, nothing was thrown");
}

const matrixModel = model("matrix", (m) => {
  const X = m.data("X", { shape: "matrix" });
  const w = m.param("w", Normal(0, 1), { shape: 2 });
  m.observe("obs", Normal(X.matvec(w), 1), m.data("y"));
});
const scalarModel = model("scalar", (m) => {
  const mu = m.param("mu", Normal(m.data("prior_mean", { shape: "scalar" }), 1));
  m.observe("obs", Normal(mu, 1), m.data("y"));
});

const indexModel = model("indexed", (m) => {
  const a = m.param("a", Normal(0, 1), { shape: 3 });
  m.observe("obs", Normal(a.at(m.data("k", { kind: "integer" })), 1), m.data("y"));
});
const sizedModel = model("sized", (m) => {
  const a = m.param("a", Normal(0, 1), { shape: m.dim("J") });
  m.observe("obs", Normal(a.at(m.data("k", { kind: "integer" })), 1), m.data("y"));
});
const twoSizedModel = model("two-sized", (m) => {
  const J = m.dim("J");
  const a = m.param("a", Normal(0, 1), { shape: J });
  const b = m.param("b", Normal(0, 1), { shape: J });
  const k = m.data("k", { kind: "integer" });
  m.observe("obs", Normal(a.at(k).add(b.at(k)), 1), m.data("y"));
});
const countModel = model("counts", (m) => {
  const rate = m.param("log_rate", Normal(0, 1));
  m.observe("obs", PoissonLog(rate), m.data("n", { kind: "integer" }));
});

const CASES: { what: string; model: Model; data: DataInput; code: ErrorCode; message: RegExp }[] = [
  { what: "a missing data input", model: seedRegression, data: { x: good.x, y: good.y }, code: "DATA_MISSING", message: /data "category" is missing/ },
  {
    what: "vectors of different lengths",
    model: seedRegression,
    data: { ...good, y: [1, 2, 3] },
    code: "DATA_SHAPE",
    message: /shapes do not match in y: y has shape \[3\] but \(beta\[category\] \* x\) has shape \[4\]/,
  },
  {
    what: "a predictor shorter than the categories",
    model: seedRegression,
    data: { ...good, x: [1, 2, 3] },
    code: "DATA_SHAPE",
    message: /shapes do not match.*x.*\[3\]/,
  },
  {
    what: "NaN in the data",
    model: seedRegression,
    data: { ...good, x: [1, NaN, 3, 4] },
    code: "DATA_VALUE",
    message: /data "x"\[1\] is NaN: every value must be finite/,
  },
  { what: "Infinity in the data", model: seedRegression, data: { ...good, y: [1, 2, Infinity, 4] }, code: "DATA_VALUE", message: /data "y"\[2\] is Infinity/ },
  {
    what: "-Infinity in the data",
    model: seedRegression,
    data: { ...good, y: [-Infinity, 2, 3, 4] },
    code: "DATA_VALUE",
    message: /data "y"\[0\] is -Infinity/,
  },
  {
    what: "a category above its levels",
    model: seedRegression,
    data: { ...good, category: [0, 3, 2, 1] },
    code: "DATA_VALUE",
    message: /data "category"\[1\] is 3: categories must be 0\.\.2/,
  },
  {
    what: "a negative category",
    model: seedRegression,
    data: { ...good, category: [0, 1, -1, 1] },
    code: "DATA_VALUE",
    message: /data "category"\[2\] is -1: categories must be 0\.\.2/,
  },
  {
    what: "a Weibull target at 0 (its density there is infinite or 0 but for shape 1)",
    model: model("weibull", (m) => m.observe("y", Weibull(m.param("k", HalfNormal(2)), m.param("s", HalfNormal(2))), m.data("t"))),
    data: { t: [1.5, 0, 2] },
    code: "DATA_VALUE",
    message: /data "t"\[1\] is 0: it must be a number > 0 \(observation "y" has a Weibull likelihood\)/,
  },
  {
    what: "a non-integer category",
    model: seedRegression,
    data: { ...good, category: [0, 1.5, 2, 1] },
    code: "DATA_VALUE",
    message: /data "category"\[1\] is 1\.5: it must be an integer/,
  },
  {
    what: "a text value in a vector",
    model: seedRegression,
    data: { ...good, x: [1, "2", 3, 4] as unknown as number[] },
    code: "DATA_SHAPE",
    message: /data "x"\[1\] must be a number, got string/,
  },
  {
    what: "a number where a vector is needed",
    model: seedRegression,
    data: { ...good, x: 3 },
    code: "DATA_SHAPE",
    message: /data "x" must be a vector, got a single number/,
  },
  {
    what: "a matrix with ragged rows",
    model: matrixModel,
    data: {
      X: [
        [1, 2],
        [3, 4, 5],
        [6, 7],
      ],
      y: [1, 2, 3],
    },
    code: "DATA_SHAPE",
    message: /data "X" row 1 has 3 columns, row 0 has 2/,
  },
  {
    what: "a matrix given as a flat vector",
    model: matrixModel,
    data: { X: [1, 2, 3], y: [1, 2, 3] },
    code: "DATA_SHAPE",
    message: /data "X" must be a matrix/,
  },
  {
    what: "a matrix with the wrong number of columns",
    model: matrixModel,
    data: {
      X: [
        [1, 2, 3],
        [4, 5, 6],
      ],
      y: [1, 2],
    },
    code: "DATA_SHAPE",
    message: /a \[2,3\] matrix cannot multiply a \[2\] vector/,
  },
  {
    what: "a matrix row count that does not match y",
    model: matrixModel,
    data: {
      X: [
        [1, 2],
        [3, 4],
      ],
      y: [1, 2, 3],
    },
    code: "DATA_SHAPE",
    message: /shapes do not match/,
  },
  {
    what: "NaN inside a matrix",
    model: matrixModel,
    data: {
      X: [
        [1, 2],
        [3, NaN],
      ],
      y: [1, 2],
    },
    code: "DATA_VALUE",
    message: /data "X"\[3\] is NaN/,
  },
  {
    what: "an index past 32 bits",
    model: indexModel,
    data: { k: [0, 2 ** 32 + 1, 2], y: [1, 2, 3] },
    code: "DATA_VALUE",
    message: /data "k"\[1\] is 4294967297: it indexes a vector of length 3/,
  },
  {
    what: "a size from the data too large to allocate",
    model: sizedModel,
    data: { J: 1e9, k: [0, 1], y: [1, 2] },
    code: "DATA_VALUE",
    message: /data "J" is 1000000000: as a size it must be at most 1000000/,
  },
  {
    what: "sizes from the data whose parameters together are too many",
    model: twoSizedModel,
    data: { J: 600_000, k: [0, 1], y: [1, 2] },
    code: "DATA_VALUE",
    message: /parameter "b": the parameters would have 1200000 elements together, more than 1000000/,
  },
  {
    what: "an array where a scalar is needed",
    model: scalarModel,
    data: { prior_mean: [1, 2], y: [1] },
    code: "DATA_SHAPE",
    message: /data "prior_mean" must be a single number/,
  },
];

describe("bad input names the variable and the problem", () => {
  it.each(CASES)("$what", ({ model: m, data, code, message }) => {
    const err = failure(() => bindModel(m.json, data));
    expect(err.code).toBe(code);
    expect(err.message).toMatch(message);
  });

  it("integer data past 32 bits is fine where it is a value, not an index (a count)", () => {
    const bound = bindModel(countModel.json, { n: [1, 2 ** 31, 3] });
    expect(Array.from(bound.data.get("n")!.values)).toEqual([1, 2 ** 31, 3]);
  });

  it("fit() rejects bad data before starting any chain (threads or not)", async () => {
    for (const threads of [true, false]) {
      const err = await fit(seedRegression, { ...good, category: [0, 7, 2, 1] }, { draws: 10, tune: 10, chains: 2, threads, progress: false }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(BayesServeError);
      expect((err as BayesServeError).code).toBe("DATA_VALUE");
      expect((err as Error).message).toMatch(/data "category"\[1\] is 7/);
    }
  });

  it("fit() rejects bad settings, naming the setting", async () => {
    const bad: [object, RegExp][] = [
      [{ draws: 0 }, /draws must be a positive integer/],
      [{ tune: -1 }, /tune must be a non-negative integer/],
      [{ chains: 0 }, /chains must be an integer/],
      [{ targetAccept: 1 }, /targetAccept must be in \(0, 1\)/],
      [{ maxTreeDepth: 0 }, /maxTreeDepth must be an integer/],
      [{ seed: -3 }, /seed must be a non-negative integer/],
    ];
    for (const [opts, msg] of bad) {
      const err = await fit(seedRegression, good, { progress: false, threads: false, ...opts }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(BayesServeError);
      expect((err as BayesServeError).code).toBe("USAGE");
      expect((err as Error).message).toMatch(msg);
    }
  });

  it("model definitions that cannot work are rejected when written", () => {
    expect(() => model("empty", () => {})).toThrow(/has no parameters/);
    expect(() =>
      model("dup", (m) => {
        m.param("a", Normal(0, 1));
        m.param("a", Normal(0, 1));
      }),
    ).toThrow(/"a" is used twice/);
    // PyMC's habit, observed=df["y"] under the name "y": the message says the names share one namespace, and what to do.
    expect(() =>
      model("pymc-habit", (m) => {
        const x = m.data("x");
        m.observe("y", Normal(m.param("b", Normal(0, 1)).mul(x), 1), m.data("y"));
      }),
    ).toThrow(
      'the name "y" is used twice: parameters, data, dimensions, observations and deterministics share one namespace (an observation of data "y" needs a name of its own: m.observe("y_obs", …, m.data("y")))',
    );
    // From JavaScript, where no type checker stops it: a string where an expression belongs.
    expect(() => model("js", (m) => void m.param("a", Normal((m.data("x") as unknown as { mul: (v: unknown) => never }).mul("two"), 1)))).toThrow(
      'an expression or a number was expected, got the string "two"',
    );
    // A size's name where its value was meant: the message says how to have its value.
    expect(() => model("dim", (m) => void m.param("a", Normal((m.data("x") as unknown as { div: (v: unknown) => never }).div(m.dim("N")), 1)))).toThrow(
      'got the string "N" — the name m.dim("N") returns, a size for shapes; for its value in an expression declare it as data instead',
    );
    expect(() => model("bad", (m) => void m.param("a b", Normal(0, 1)))).toThrow(/must be an identifier/);
    expect(() => model("args", (m) => void m.param("a", (Normal as (...a: number[]) => never)(0)))).toThrow(/Normal takes 2 argument/);
    expect(() => model("nan", (m) => void m.param("a", Normal(NaN, 1)))).toThrow(/constant NaN is not finite/);
    expect(() => model("levels", (m) => void m.param("a", Normal(m.data("c", { levels: 0 }), 1)))).toThrow(/levels must be a positive integer/);
    expect(() => model("bounds", (m) => void m.param("a", Normal(0, 1), { lower: 2, upper: 1 }))).toThrow(/upper must exceed lower/);
    expect(() => model("nan bound", (m) => void m.param("a", Normal(0, 1), { lower: NaN }))).toThrow(/lower must be a finite number, not NaN/);
    expect(() => model("wrong-side infinity", (m) => void m.param("a", Normal(0, 1), { upper: -Infinity }))).toThrow(/upper must be a finite number/);
    expect(() => model("wide", (m) => void m.param("a", Normal(0, 1), { lower: -1e308, upper: 1e308 }))).toThrow(/upper − lower must be finite/);
    expect(() => model("wide uniform", (m) => void m.param("a", Uniform(-1e308, 1e308)))).toThrow(/upper − lower must be finite/);
  });

  it("an option the language does not know is refused, not ignored (model files are not type-checked)", () => {
    // A misspelt bound left sigma unconstrained and a misspelt `levels` left a category a float, and both still fitted.
    const loose = (o: object) => o as never;
    expect(() => model("typo", (m) => void m.param("sigma", Normal(0, 1), loose({ lowr: 0 })))).toThrow(
      'parameter "sigma": unknown option "lowr" (the options are shape, lower, upper, ordered)',
    );
    // Stan's simplex is not in the language: said so, rather than an unconstrained vector.
    expect(() => model("simplex", (m) => void m.param("w", Normal(0, 1), loose({ shape: 3, simplex: true })))).toThrow(
      /parameter "w": unknown option "simplex"/,
    );
    expect(() => model("level", (m) => void m.param("a", Normal(m.data("g", loose({ level: 3 })), 1)))).toThrow(
      'data "g": unknown option "level" (the options are levels, columns, standardize, kind, shape, lower, upper)',
    );
    expect(() => model("not an object", (m) => void m.param("a", Normal(0, 1), loose([1])))).toThrow(/parameter "a": options must be an object/);
    // Every option the language has is still taken.
    const ok = model("ok", (m) => {
      const J = m.dim("J");
      m.data("X", { columns: ["a", "b"], standardize: true });
      m.data("g", { levels: J });
      m.data("n", { kind: "integer", shape: "vector", lower: 0, upper: 10 });
      m.param("c", Normal(0, 1), { shape: 3, ordered: true });
      m.param("s", Normal(0, 1), { shape: J, lower: 0, upper: 5 });
    });
    expect(ok.json.params.map((p) => p.transform.kind)).toEqual(["ordered", "interval"]);
  });

  it("a number where an expression of the model must be is refused by name, not a TypeError from inside the builder", () => {
    const loose = (v: unknown) => v as never;
    expect(() => model("logp", (m) => m.factor("f", Normal(0, 1).logp(loose(2))))).toThrow(
      "Normal(…).logp must be an expression of the model (data or a parameter), got 2",
    );
    expect(() => model("cov", (m) => void m.param("a", Normal(covExpQuad(loose(1), 1, 1).sum(), 1)))).toThrow(
      "covExpQuad's points must be an expression of the model (data or a parameter), got 1",
    );
    expect(() => model("diag", (m) => void m.param("a", Normal(addDiag(loose("K"), 1).sum(), 1)))).toThrow(
      'addDiag\'s matrix must be an expression of the model (data or a parameter), got the string "K"',
    );
  });

  it("an infinite bound on its own side means none, and the model survives its JSON round trip", () => {
    const m = model("half-open", (m) => {
      m.param("a", Normal(0, 1), { lower: 0, upper: Infinity });
      m.param("b", Normal(0, 1), { lower: -Infinity });
    });
    expect(m.json.params.map((p) => p.transform)).toEqual([{ kind: "lower", lower: 0 }, { kind: "identity" }]);
    expect(modelFromJSON(JSON.parse(JSON.stringify(m.json))).json.params.map((p) => p.transform)).toEqual(m.json.params.map((p) => p.transform));
  });

  it("a category data input with more levels than the vector it indexes is rejected", () => {
    const m = model("levels", (m) => {
      const b = m.param("b", Normal(0, 1), { shape: 2 });
      m.observe("obs", Normal(b.at(m.data("c", { levels: 3 })), 1), m.data("y"));
    });
    const err = failure(() => bindModel(m.json, { c: [0, 1], y: [1, 2] }));
    expect(err.code).toBe("DATA_SHAPE");
    expect(err.message).toMatch(/"c" has 3 levels but the vector has 2 elements/);
  });
});
