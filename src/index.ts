// bayes-serve's public API, `import { model, Normal, fit } from "bayes-serve"`: the model language for writing your
// own models, and fitting and summarising them from a script. Training, serving and deploying are the `bayes-serve`
// command's (src/cli).
export * from "./model/index.js";
export type { DataOptions, ParamOptions } from "./model/builder.js";
export { fit, chainsOf, type FitOptions, type Posterior } from "./inference/index.js";
export { summarize, formatSummaryTable, type SummaryRow } from "./diagnostics/index.js";
export { Predictor, type Instance } from "./predict/index.js";
export { BayesServeError, type ErrorCode } from "./errors.js";
