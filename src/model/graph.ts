// The model as data: a JSON-serialisable graph. The builder (builder.ts) writes it, the compiler (compile.ts) turns it
// into a log-density with gradient, and the simulator (simulate.ts) evaluates it forward. Nothing else defines a model.

export type UnaryFn = "neg" | "exp" | "log" | "log1p" | "log1m" | "logistic" | "softplus" | "sqrt" | "square" | "abs" | "Phi";
export type BinaryFn = "add" | "sub" | "mul" | "div" | "pow";

export type FamilyName =
  | "Normal"
  | "HalfNormal"
  | "StudentT"
  | "Cauchy"
  | "HalfCauchy"
  | "Exponential"
  | "Gamma"
  | "InverseGamma"
  | "LogNormal"
  | "Beta"
  | "Uniform"
  | "BernoulliLogit"
  | "BinomialLogit"
  | "PoissonLog"
  | "NegativeBinomial"
  | "Weibull"
  | "GammaMean"
  | "BetaProportion"
  | "Bernoulli"
  | "BernoulliProbit"
  | "Binomial"
  | "Poisson"
  | "NegativeBinomialLog";

/** A distribution: a family and its arguments (node ids). */
export interface DistJSON {
  family: FamilyName | "Flat" | "MvNormal";
  args: number[];
}

export type NodeJSON =
  | { op: "const"; value: number }
  | { op: "param"; name: string }
  | { op: "data"; name: string }
  | { op: "unary"; fn: UnaryFn; a: number }
  | { op: "binary"; fn: BinaryFn; a: number; b: number }
  /** a[index[i]]: a vector gathered by an integer data vector. */
  | { op: "index"; a: number; index: number }
  /** a[k] for a constant k. */
  | { op: "element"; a: number; k: number }
  /** Matrix (data) times vector. */
  | { op: "matvec"; m: number; v: number }
  | { op: "sum"; a: number }
  /** Elementwise log(Σ exp(args)). */
  | { op: "logSumExp"; args: number[] }
  /** Elementwise log-density of `value` under `dist`. */
  | { op: "logp"; dist: DistJSON; value: number }
  /** Squared-exponential kernel matrix of points x: alpha² exp(-(xi-xj)² / (2 rho²)). */
  | { op: "covExpQuad"; x: number; alpha: number; rho: number }
  /** A matrix plus a scalar (or vector) on its diagonal. */
  | { op: "addDiag"; m: number; d: number };

export type DataKind = "float" | "integer" | "category";
export type DataShape = "scalar" | "vector" | "matrix";

export interface DataDecl {
  name: string;
  kind: DataKind;
  shape: DataShape;
  /** For categories: values are 0..levels-1. */
  levels?: number;
  /**
   * For categories whose number of levels is a size (`m.data("g", { levels: m.dim("J") })`): the scalar data input J.
   * Training resolves it (given, or one more than the largest value seen) and sets `levels`.
   */
  levelsDim?: string;
  /** For a matrix read from named columns (a design matrix): the columns, in order. */
  columns?: string[];
  /**
   * For such a matrix: each column centred (and, with true, scaled) by the training rows' mean (and sd), when training
   * and serving.
   */
  standardize?: boolean | "center";
  /** Declared bounds, inclusive (as Stan's `real<lower=0>`): checked in training data and in every request. */
  lower?: number;
  upper?: number;
}

/**
 * The most elements a model's parameters may have together (each is a dimension of the sampler's state). Beyond it a
 * single chain's draws could not be held: 1,000 draws of 10⁶ doubles are 8 GB. A size from the model file or from the
 * data above it is refused rather than allocated.
 */
export const MAX_PARAMETER_ELEMENTS = 1_000_000;

/** Size of one axis: a number, or the name of a scalar integer data input (like Stan's `int<lower=0> J;`). */
export type Extent = number | string;

export type TransformJSON =
  | { kind: "identity" }
  | { kind: "lower"; lower: number }
  | { kind: "upper"; upper: number }
  | { kind: "interval"; lower: number; upper: number }
  | { kind: "ordered" };

export interface ParamDecl {
  name: string;
  /** [] for a scalar, [n] for a vector. */
  shape: Extent[];
  transform: TransformJSON;
  prior: DistJSON;
}

export interface ObserveDecl {
  name: string;
  dist: DistJSON;
  value: number;
}

export interface ModelJSON {
  format: "bayes-serve/model@1";
  name: string;
  nodes: NodeJSON[];
  data: DataDecl[];
  params: ParamDecl[];
  observes: ObserveDecl[];
  /** Extra log-density terms: the sum of each node is added (e.g. a mixture's log-sum-exp). */
  factors: { name: string; node: number }[];
  deterministics: { name: string; node: number }[];
}
