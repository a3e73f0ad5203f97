// The model language. A model is written as a function of a builder `m`, as briefly as PyMC:
//
//   const seedRegression = model("seed-regression", (m) => {
//     const x = m.data("x");
//     const category = m.data("category", { levels: 3 });
//     const beta = m.param("beta", Normal(0, 2), { shape: 3 });
//     const sigma = m.param("sigma", HalfNormal(2));
//     m.observe("obs", Normal(beta.at(category).mul(x), sigma), m.data("y"));
//   });
//
// Building only records a graph (graph.ts); nothing is evaluated here.
import { BayesServeError } from "../errors.js";
import type { BinaryFn, DataDecl, DataKind, DataShape, DistJSON, Extent, FamilyName, ModelJSON, NodeJSON, ParamDecl, TransformJSON, UnaryFn } from "./graph.js";
import { familyOf } from "./families.js";

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Whether `name` may name a data input, parameter, observation, factor or deterministic: an identifier (the compiler
 * writes these names into the code it generates), and not a property every object inherits (`constructor`,
 * `__proto__`, …: data and sizes are looked up by name in plain objects). A model read from JSON is held to it too.
 */
export function isModelName(name: unknown): name is string {
  return typeof name === "string" && IDENTIFIER.test(name) && !(name in Object.prototype);
}

/** What a design matrix's column may be called: a CSV header such as `carat.log` is one. */
export const COLUMN_NAME = /^[A-Za-z_][A-Za-z0-9_.]*$/;

export type ExprLike = Expr | number;

/** A node of a model graph, with the operations users compose. */
export class Expr {
  constructor(
    readonly graph: GraphBuilder,
    readonly id: number,
  ) {}
  add(b: ExprLike): Expr {
    return this.graph.binary("add", this, b);
  }
  sub(b: ExprLike): Expr {
    return this.graph.binary("sub", this, b);
  }
  mul(b: ExprLike): Expr {
    return this.graph.binary("mul", this, b);
  }
  div(b: ExprLike): Expr {
    return this.graph.binary("div", this, b);
  }
  pow(b: ExprLike): Expr {
    return this.graph.binary("pow", this, b);
  }
  neg(): Expr {
    return this.graph.unary("neg", this);
  }
  exp(): Expr {
    return this.graph.unary("exp", this);
  }
  log(): Expr {
    return this.graph.unary("log", this);
  }
  log1p(): Expr {
    return this.graph.unary("log1p", this);
  }
  /** log(1 - x). */
  log1m(): Expr {
    return this.graph.unary("log1m", this);
  }
  logistic(): Expr {
    return this.graph.unary("logistic", this);
  }
  softplus(): Expr {
    return this.graph.unary("softplus", this);
  }
  sqrt(): Expr {
    return this.graph.unary("sqrt", this);
  }
  square(): Expr {
    return this.graph.unary("square", this);
  }
  abs(): Expr {
    return this.graph.unary("abs", this);
  }
  /** Φ(x), the standard normal CDF: the inverse of the probit link (`Bernoulli(eta.Phi())`). */
  Phi(): Expr {
    return this.graph.unary("Phi", this);
  }
  /** Index this vector: by an integer data vector (one element per row) or by a constant 0-based position. */
  at(index: Expr | number): Expr {
    if (typeof index === "number") return this.graph.add({ op: "element", a: this.id, k: index });
    this.graph.own(index);
    return this.graph.add({ op: "index", a: this.id, index: index.id });
  }
  /** Matrix–vector product, this matrix times v. */
  matvec(v: Expr): Expr {
    this.graph.own(v);
    return this.graph.add({ op: "matvec", m: this.id, v: v.id });
  }
  sum(): Expr {
    return this.graph.add({ op: "sum", a: this.id });
  }
}

/**
 * An argument that must be an expression of the model (data or a parameter, not a number): model files are transpiled
 * untyped, so a number here would otherwise fail inside the builder with a TypeError.
 */
function expression(what: string, value: unknown): Expr {
  if (value instanceof Expr) return value;
  const got = typeof value === "string" ? `the string ${JSON.stringify(value)}` : typeof value === "object" && value !== null ? "an object" : String(value);
  throw new BayesServeError("MODEL_DEFINITION", `${what} must be an expression of the model (data or a parameter), got ${got}`);
}

/** A distribution with its arguments, not yet attached to a graph. */
export class Dist {
  constructor(
    readonly family: DistJSON["family"],
    readonly args: ExprLike[],
  ) {}
  /** The elementwise log-density of `value` under this distribution, as an expression. */
  logp(value: Expr): Expr {
    const g = expression(`${this.family}(…).logp`, value).graph;
    return g.add({ op: "logp", dist: g.dist(this), value: value.id });
  }
}

const dist =
  (family: FamilyName) =>
  (...args: ExprLike[]): Dist => {
    const f = familyOf(family);
    if (args.length !== f.argNames.length)
      throw new BayesServeError("MODEL_DEFINITION", `${family} takes ${f.argNames.length} argument(s) (${f.argNames.join(", ")}), got ${args.length}`);
    return new Dist(family, args);
  };

export const Normal = dist("Normal") as (mu: ExprLike, sigma: ExprLike) => Dist;
export const HalfNormal = dist("HalfNormal") as (sigma: ExprLike) => Dist;
export const StudentT = dist("StudentT") as (nu: ExprLike, mu: ExprLike, sigma: ExprLike) => Dist;
export const Cauchy = dist("Cauchy") as (mu: ExprLike, sigma: ExprLike) => Dist;
export const HalfCauchy = dist("HalfCauchy") as (sigma: ExprLike) => Dist;
export const Exponential = dist("Exponential") as (rate: ExprLike) => Dist;
/** Gamma with shape alpha and rate beta. */
export const Gamma = dist("Gamma") as (alpha: ExprLike, beta: ExprLike) => Dist;
export const InverseGamma = dist("InverseGamma") as (alpha: ExprLike, beta: ExprLike) => Dist;
export const LogNormal = dist("LogNormal") as (mu: ExprLike, sigma: ExprLike) => Dist;
export const Beta = dist("Beta") as (alpha: ExprLike, beta: ExprLike) => Dist;
export const Uniform = dist("Uniform") as (lower: ExprLike, upper: ExprLike) => Dist;
export const BernoulliLogit = dist("BernoulliLogit") as (logit: ExprLike) => Dist;
export const BinomialLogit = dist("BinomialLogit") as (n: ExprLike, logit: ExprLike) => Dist;
export const PoissonLog = dist("PoissonLog") as (logRate: ExprLike) => Dist;
/** Mean mu, overdispersion phi (variance mu + mu²/phi), as Stan's neg_binomial_2. */
export const NegativeBinomial = dist("NegativeBinomial") as (mu: ExprLike, phi: ExprLike) => Dist;
/** Weibull with shape alpha and scale sigma, as Stan's weibull. */
export const Weibull = dist("Weibull") as (alpha: ExprLike, sigma: ExprLike) => Dist;
/** Gamma by its mean mu and shape alpha (rate alpha / mu), as brms' Gamma family. */
export const GammaMean = dist("GammaMean") as (mu: ExprLike, alpha: ExprLike) => Dist;
/** Beta by its mean mu in (0, 1) and precision kappa, as Stan's beta_proportion. */
export const BetaProportion = dist("BetaProportion") as (mu: ExprLike, kappa: ExprLike) => Dist;
/** 0/1 with probability p (a logit or probit model: `Bernoulli(eta.logistic())`, `Bernoulli(eta.Phi())`). */
export const Bernoulli = dist("Bernoulli") as (p: ExprLike) => Dist;
/** 0/1 with probability Φ(eta): the probit link, stable in both tails. */
export const BernoulliProbit = dist("BernoulliProbit") as (eta: ExprLike) => Dist;
/** Successes in n trials of probability p. */
export const Binomial = dist("Binomial") as (n: ExprLike, p: ExprLike) => Dist;
/** Counts with a rate (see PoissonLog for the log link). */
export const Poisson = dist("Poisson") as (rate: ExprLike) => Dist;
/** The negative binomial with a log link: mean exp(eta), overdispersion phi (Stan's neg_binomial_2_log). */
export const NegativeBinomialLog = dist("NegativeBinomialLog") as (eta: ExprLike, phi: ExprLike) => Dist;
/** An improper flat prior (no density term), as Stan's unassigned parameters. */
export const Flat = (): Dist => new Dist("Flat", []);
/** Multivariate normal with mean vector and covariance matrix (factorised by Cholesky inside). */
export const MvNormal = (mean: ExprLike, cov: Expr): Dist => new Dist("MvNormal", [mean, cov]);

/**
 * log(Σ exp(args)), elementwise: mixtures, and a softmax's normaliser with a reference category's 0
 * (`logSumExp(0, eta1, eta2)`, as Stan's `log_sum_exp`). Numbers are constants; at least one argument is an expression.
 */
export function logSumExp(...args: ExprLike[]): Expr {
  if (args.length === 0) throw new BayesServeError("MODEL_DEFINITION", "logSumExp needs at least one argument");
  const first = args.find((a): a is Expr => a instanceof Expr);
  if (first === undefined) {
    const numbers = args.every((a) => typeof a === "number");
    throw new BayesServeError(
      "MODEL_DEFINITION",
      numbers ? "logSumExp needs at least one expression among its arguments (all were numbers)" : "logSumExp's arguments must be expressions or numbers",
    );
  }
  const g = first.graph;
  return g.add({ op: "logSumExp", args: args.map((a) => g.node(a)) });
}

/** Squared-exponential kernel matrix over points x: alpha² exp(-(xi - xj)² / (2 rho²)). */
export function covExpQuad(x: Expr, alpha: ExprLike, rho: ExprLike): Expr {
  const g = expression("covExpQuad's points", x).graph;
  return g.add({ op: "covExpQuad", x: x.id, alpha: g.node(alpha), rho: g.node(rho) });
}

/** A square matrix plus d on its diagonal (a scalar or a vector). */
export function addDiag(m: Expr, d: ExprLike): Expr {
  expression("addDiag's matrix", m);
  return m.graph.add({ op: "addDiag", m: m.id, d: m.graph.node(d) });
}

export interface DataOptions {
  /**
   * Integer categories 0..levels-1 (implies kind "category"); a number, or a size declared by `m.dim("J")`, which
   * training takes from `--data-scalar J=…` or, failing that, as one more than the largest value in the data.
   */
  levels?: number | string;
  /**
   * A design matrix read from these columns of the data (implies shape "matrix", kind "float"): one row per data row,
   * one column per name; a prediction request gives each column by name.
   */
  columns?: string[];
  /**
   * With `columns`: centre and scale each column by the training rows' mean and sd — or, with "center", only centre it
   * (as brms does, so that the intercept is the mean response) — recorded, and applied when serving.
   */
  standardize?: boolean | "center";
  kind?: DataKind;
  shape?: DataShape;
  /**
   * Inclusive bounds on every value, as Stan's `real<lower=0>`: declared once, they are checked in training data
   * (naming the row) and in every prediction request (the HTTP schema's minimum/maximum), and shown in the docs.
   */
  lower?: number;
  upper?: number;
}

export interface ParamOptions {
  shape?: Extent | Extent[];
  lower?: number;
  upper?: number;
  /** An increasing vector (Stan's ordered[K]). */
  ordered?: boolean;
}

/** Records the graph. One per model. */
export class GraphBuilder {
  readonly nodes: NodeJSON[] = [];
  readonly data: DataDecl[] = [];
  readonly params: ParamDecl[] = [];
  readonly observes: ModelJSON["observes"] = [];
  readonly factors: ModelJSON["factors"] = [];
  readonly deterministics: ModelJSON["deterministics"] = [];
  private readonly names = new Set<string>();

  add(node: NodeJSON): Expr {
    this.nodes.push(node);
    return new Expr(this, this.nodes.length - 1);
  }
  own(e: Expr): void {
    if (!(e instanceof Expr)) {
      const value = e as unknown;
      const got = typeof value === "string" ? `the string ${JSON.stringify(value)}` : typeof value === "object" && value !== null ? "an object" : String(value);
      const size =
        typeof value === "string" && this.data.some((d) => d.name === value && d.shape === "scalar")
          ? ` — the name m.dim(${JSON.stringify(value)}) returns, a size for shapes; for its value in an expression declare it as data instead, ` +
            `const ${/^[A-Za-z_]\w*$/.test(value) ? value : "n"} = m.data(${JSON.stringify(value)}, { kind: "integer", shape: "scalar" }), and give shapes as ${JSON.stringify(value)}`
          : "";
      throw new BayesServeError("MODEL_DEFINITION", `an expression or a number was expected, got ${got}${size}`);
    }
    if (e.graph !== this) throw new BayesServeError("MODEL_DEFINITION", "an expression from another model was used here");
  }
  node(x: ExprLike): number {
    if (typeof x === "number") {
      if (!Number.isFinite(x)) throw new BayesServeError("MODEL_DEFINITION", `constant ${x} is not finite`);
      return this.add({ op: "const", value: x }).id;
    }
    this.own(x);
    return x.id;
  }
  dist(d: Dist): DistJSON {
    return { family: d.family, args: d.args.map((a) => this.node(a)) };
  }
  unary(fn: UnaryFn, a: Expr): Expr {
    return this.add({ op: "unary", fn, a: a.id });
  }
  binary(fn: BinaryFn, a: Expr, b: ExprLike): Expr {
    return this.add({ op: "binary", fn, a: a.id, b: this.node(b) });
  }
  claim(name: string, what: string): void {
    if (!isModelName(name))
      throw new BayesServeError("MODEL_DEFINITION", `${what} name "${name}" must be an identifier (letters, digits, _) and not a built-in property of objects`);
    if (this.names.has(name))
      throw new BayesServeError(
        "MODEL_DEFINITION",
        `the name "${name}" is used twice: parameters, data, dimensions, observations and deterministics share one namespace` +
          (what === "observation" ? ` (an observation of data "${name}" needs a name of its own: m.observe("${name}_obs", …, m.data("${name}")))` : ""),
      );
    this.names.add(name);
  }
}

/** What the model function receives. */
export interface ModelBuilder {
  /** A named data input, replaceable after fitting (like pm.Data). Default: a float vector. */
  data(name: string, options?: DataOptions): Expr;
  /** The size of an axis given by a scalar integer data input, for `shape`. */
  dim(name: string): string;
  param(name: string, prior: Dist, options?: ParamOptions): Expr;
  observe(name: string, dist: Dist, value: Expr): void;
  /** Adds sum(expr) to the log-density. */
  factor(name: string, expr: Expr): void;
  /** A named derived quantity, reported with the draws. */
  deterministic(name: string, expr: Expr): Expr;
}

export class Model {
  readonly name: string;
  readonly json: ModelJSON;
  constructor(json: ModelJSON) {
    this.json = json;
    this.name = json.name;
  }
  toJSON(): ModelJSON {
    return this.json;
  }
}

/**
 * What is wrong with an interval transform's bounds, or null: the lower must be below the upper, and the width finite
 * (the transform scales by it). A model read from JSON is held to the same (serialize.ts).
 */
export function intervalProblem(lower: number, upper: number): string | null {
  if (!(upper > lower)) return "upper must exceed lower";
  if (!Number.isFinite(upper - lower)) return `upper − lower must be finite (${lower} to ${upper})`;
  return null;
}

function interval(name: string, lower: number, upper: number): TransformJSON {
  const problem = intervalProblem(lower, upper);
  if (problem !== null) throw new BayesServeError("MODEL_DEFINITION", `parameter "${name}": ${problem}`);
  return { kind: "interval", lower, upper };
}

/** A bound given as an option: ±Infinity on its own side means none; anything else must be finite. */
function bound(name: string, side: "lower" | "upper", value: number | undefined): number | undefined {
  if (value === undefined || value === (side === "lower" ? -Infinity : Infinity)) return undefined;
  if (!Number.isFinite(value)) throw new BayesServeError("MODEL_DEFINITION", `parameter "${name}": ${side} must be a finite number, not ${value}`);
  return value;
}

function defaultTransform(prior: Dist, options: ParamOptions, name: string): TransformJSON {
  const { ordered } = options;
  const lower = bound(name, "lower", options.lower);
  const upper = bound(name, "upper", options.upper);
  if (ordered) {
    if (lower !== undefined || upper !== undefined)
      throw new BayesServeError("MODEL_DEFINITION", `parameter "${name}": ordered cannot be combined with bounds`);
    return { kind: "ordered" };
  }
  if (lower !== undefined && upper !== undefined) return interval(name, lower, upper);
  if (lower !== undefined) return { kind: "lower", lower };
  if (upper !== undefined) return { kind: "upper", upper };
  if (prior.family === "Flat" || prior.family === "MvNormal") return { kind: "identity" };
  const support = familyOf(prior.family).support;
  if (support === "positive") return { kind: "lower", lower: 0 };
  if (support === "unit") return { kind: "interval", lower: 0, upper: 1 };
  if (support === "bounded") {
    const [lo, hi] = prior.args;
    if (typeof lo !== "number" || typeof hi !== "number")
      throw new BayesServeError("MODEL_DEFINITION", `parameter "${name}": a Uniform prior with non-constant bounds needs explicit lower/upper options`);
    return interval(name, lo, hi);
  }
  if (support === "count" || support === "binary")
    throw new BayesServeError("MODEL_DEFINITION", `parameter "${name}": discrete priors (${prior.family}) cannot be sampled by NUTS`);
  return { kind: "identity" };
}

/** A design matrix's columns, checked: identifiers, distinct, of a float matrix. */
function designColumns(name: string, kind: DataKind, options: DataOptions): { columns?: string[]; standardize?: boolean | "center" } {
  if (options.columns === undefined) {
    if (options.standardize !== undefined) throw new BayesServeError("MODEL_DEFINITION", `data "${name}": standardize applies to a matrix of named columns`);
    return {};
  }
  const columns = options.columns;
  if (!Array.isArray(columns) || columns.length === 0)
    throw new BayesServeError("MODEL_DEFINITION", `data "${name}": columns must list at least one column name`);
  if (kind !== "float")
    throw new BayesServeError("MODEL_DEFINITION", `data "${name}": a matrix of columns holds floats (declare categories as their own data)`);
  if (options.shape !== undefined && options.shape !== "matrix")
    throw new BayesServeError("MODEL_DEFINITION", `data "${name}": columns make a matrix, not a ${options.shape}`);
  for (const c of columns)
    if (typeof c !== "string" || !COLUMN_NAME.test(c))
      throw new BayesServeError("MODEL_DEFINITION", `data "${name}": column ${JSON.stringify(c)} must be a name (letters, digits, _ and .)`);
  const twice = columns.find((c, i) => columns.indexOf(c) !== i);
  if (twice !== undefined) throw new BayesServeError("MODEL_DEFINITION", `data "${name}": column "${twice}" is listed twice`);
  const s = options.standardize;
  if (s !== undefined && s !== true && s !== false && s !== "center")
    throw new BayesServeError("MODEL_DEFINITION", `data "${name}": standardize must be true, false or "center"`);
  return { columns: [...columns], ...(s === true || s === "center" ? { standardize: s } : {}) };
}

/** The declared bounds of a data input, checked: finite numbers, lower < upper, none on categories. */
function dataBounds(name: string, kind: DataKind, options: DataOptions): { lower?: number; upper?: number } {
  const out: { lower?: number; upper?: number } = {};
  for (const side of ["lower", "upper"] as const) {
    const v = options[side];
    if (v === undefined) continue;
    if (typeof v !== "number" || !Number.isFinite(v))
      throw new BayesServeError("MODEL_DEFINITION", `data "${name}": ${side} must be a finite number (got ${String(v)})`);
    if (kind === "category") throw new BayesServeError("MODEL_DEFINITION", `data "${name}": a category's values are 0..levels-1; it takes no ${side} bound`);
    out[side] = v;
  }
  if (out.lower !== undefined && out.upper !== undefined && !(out.lower < out.upper))
    throw new BayesServeError("MODEL_DEFINITION", `data "${name}": lower (${out.lower}) must be below upper (${out.upper})`);
  return out;
}

// Keys of DataOptions and ParamOptions (the compiler refuses one that is not).
const DATA_OPTIONS = ["levels", "columns", "standardize", "kind", "shape", "lower", "upper"] as const satisfies readonly (keyof DataOptions)[];
const PARAM_OPTIONS = ["shape", "lower", "upper", "ordered"] as const satisfies readonly (keyof ParamOptions)[];

/**
 * Options the language does not know are refused, not ignored: a model file is transpiled without type-checking, so a
 * misspelt bound (`{ lowr: 0 }`) or an option of another language (Stan's `simplex`) would otherwise leave the parameter
 * silently unconstrained, or a category a float — a different model that still fits.
 */
function checkOptionNames(what: string, options: object, known: readonly string[]): void {
  if (typeof options !== "object" || options === null || Array.isArray(options))
    throw new BayesServeError("MODEL_DEFINITION", `${what}: options must be an object ({ ${known.join(", ")} })`);
  for (const key of Object.keys(options))
    if (!known.includes(key)) throw new BayesServeError("MODEL_DEFINITION", `${what}: unknown option "${key}" (the options are ${known.join(", ")})`);
}

/** Define a model. */
export function model(name: string, define: (m: ModelBuilder) => void): Model {
  const g = new GraphBuilder();
  const dataNodes = new Map<string, { id: number; decl: DataDecl }>();
  const m: ModelBuilder = {
    data(dataName, options = {}) {
      checkOptionNames(`data "${dataName}"`, options, DATA_OPTIONS);
      const kind: DataKind = options.levels !== undefined ? "category" : (options.kind ?? "float");
      const shape: DataShape = options.columns !== undefined ? "matrix" : (options.shape ?? "vector");
      const existing = dataNodes.get(dataName);
      if (existing) {
        const d = existing.decl;
        const same =
          (options.kind === undefined || options.kind === d.kind) &&
          (options.levels === undefined || options.levels === d.levels) &&
          (options.shape === undefined || options.shape === d.shape) &&
          (options.lower === undefined || options.lower === d.lower) &&
          (options.upper === undefined || options.upper === d.upper) &&
          (options.columns === undefined || JSON.stringify(options.columns) === JSON.stringify(d.columns)) &&
          (options.standardize === undefined || options.standardize === d.standardize);
        if (!same) throw new BayesServeError("MODEL_DEFINITION", `data "${dataName}" is declared twice with different options`);
        return new Expr(g, existing.id);
      }
      g.claim(dataName, "data");
      const levels = options.levels;
      if (kind === "category" && typeof levels === "string") {
        const dim = g.data.find((d) => d.name === levels);
        if (dim === undefined || dim.shape !== "scalar" || dim.kind !== "integer")
          throw new BayesServeError("MODEL_DEFINITION", `data "${dataName}": levels "${levels}" must name a size declared before it with m.dim("${levels}")`);
      } else if (kind === "category" && !(Number.isInteger(levels) && (levels as number) >= 1))
        throw new BayesServeError("MODEL_DEFINITION", `data "${dataName}": levels must be a positive integer or a size declared by m.dim`);
      const bounds = dataBounds(dataName, kind, options);
      const decl: DataDecl = {
        name: dataName,
        kind,
        shape,
        ...(kind === "category" ? (typeof levels === "string" ? { levelsDim: levels } : { levels: levels as number }) : {}),
        ...bounds,
        ...designColumns(dataName, kind, options),
      };
      g.data.push(decl);
      const id = g.add({ op: "data", name: dataName }).id;
      dataNodes.set(dataName, { id, decl });
      return new Expr(g, id);
    },
    dim(dataName) {
      m.data(dataName, { kind: "integer", shape: "scalar" });
      return dataName;
    },
    param(paramName, prior, options = {}) {
      g.claim(paramName, "parameter");
      checkOptionNames(`parameter "${paramName}"`, options, PARAM_OPTIONS);
      if (prior.family === "MvNormal")
        throw new BayesServeError("MODEL_DEFINITION", `parameter "${paramName}": MvNormal priors are not supported; use it to observe data`);
      const shape = options.shape === undefined ? [] : Array.isArray(options.shape) ? options.shape : [options.shape];
      if (shape.length > 1) throw new BayesServeError("MODEL_DEFINITION", `parameter "${paramName}": only scalars and vectors are supported`);
      for (const e of shape)
        if (typeof e === "number" && !(Number.isInteger(e) && e >= 1))
          throw new BayesServeError("MODEL_DEFINITION", `parameter "${paramName}": shape must hold positive integers`);
      const transform = defaultTransform(prior, options, paramName);
      const priorJSON = g.dist(prior);
      g.params.push({ name: paramName, shape, transform, prior: priorJSON });
      return g.add({ op: "param", name: paramName });
    },
    observe(obsName, d, value) {
      g.claim(obsName, "observation");
      g.own(value);
      g.observes.push({ name: obsName, dist: g.dist(d), value: value.id });
    },
    factor(factorName, expr) {
      g.claim(factorName, "factor");
      g.own(expr);
      g.factors.push({ name: factorName, node: expr.id });
    },
    deterministic(detName, expr) {
      g.claim(detName, "deterministic");
      g.own(expr);
      g.deterministics.push({ name: detName, node: expr.id });
      return expr;
    },
  };
  define(m);
  if (g.params.length === 0) throw new BayesServeError("MODEL_DEFINITION", `model "${name}" has no parameters`);
  return new Model({
    format: "bayes-serve/model@1",
    name,
    nodes: g.nodes,
    data: g.data,
    params: g.params,
    observes: g.observes,
    factors: g.factors,
    deterministics: g.deterministics,
  });
}
