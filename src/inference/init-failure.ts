// When no chain finds a starting point (SAMPLER_INIT), the clearer error is the data row that makes the model
// undefined, when one does: found by evaluating each row at a few points drawn as the chains draw their initial values.
import { BayesServeError } from "../errors.js";
import type { CompiledModel } from "../model/compile.js";
import { findUndefinedRow } from "../model/row-check.js";
import { Rng } from "../random/rng.js";
import type { SamplerSettings } from "./sampler.js";

/** The error to report for `err`: for a failed initialisation, the undefined data row when there is one; else err. */
export function explainInitFailure(err: unknown, compiled: CompiledModel, settings: SamplerSettings): unknown {
  if (err instanceof BayesServeError && err.code === "SAMPLER_INIT") return findUndefinedRow(compiled.bound, somePoints(compiled, settings)) ?? err;
  return err;
}

/** A few constrained parameter points drawn as chains draw their initial values, for findUndefinedRow. */
function somePoints(compiled: CompiledModel, settings: SamplerSettings): Float64Array[] {
  const rng = new Rng(settings.seed, 1_000_001);
  return Array.from({ length: 4 }, () => {
    const theta = Float64Array.from({ length: compiled.dim }, () => (2 * rng.uniform() - 1) * settings.initRadius);
    const out = new Float64Array(compiled.dim);
    compiled.constrain(theta, out);
    return out;
  });
}
