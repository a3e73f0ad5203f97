// The model language's public surface.
export {
  model,
  Model,
  Expr,
  Dist,
  Normal,
  HalfNormal,
  StudentT,
  Cauchy,
  HalfCauchy,
  Exponential,
  Gamma,
  InverseGamma,
  LogNormal,
  Beta,
  Uniform,
  BernoulliLogit,
  BinomialLogit,
  PoissonLog,
  NegativeBinomial,
  Weibull,
  GammaMean,
  BetaProportion,
  Bernoulli,
  BernoulliProbit,
  Binomial,
  Poisson,
  NegativeBinomialLog,
  Flat,
  MvNormal,
  logSumExp,
  covExpQuad,
  addDiag,
  type ModelBuilder,
  type ExprLike,
} from "./builder.js";
export type { ModelJSON, DataDecl, ParamDecl } from "./graph.js";
export { bindModel, type BoundModel, type DataInput, type DataValue } from "./bind.js";
export { compileModel, type CompiledModel } from "./compile.js";
export { modelFromJSON } from "./serialize.js";
export { Rng } from "../random/rng.js";
