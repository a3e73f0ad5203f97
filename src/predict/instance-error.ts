// An instance the model cannot answer for — a feature outside its range, an input at which the likelihood is not
// defined, samples that are not finite numbers — reported against the request's fields, so that the service answers
// a 422 naming them (FastAPI's shape) rather than a 500 or a wrong number.
import { BayesServeError } from "../errors.js";

export type InstanceProblem =
  /** A feature value outside what the model accepts (its type, levels, declared bounds, an index's range). */
  | "invalid_value"
  /** At this input a likelihood argument leaves its domain: a negative scale, a NaN rate. */
  | "likelihood_argument"
  /** The predictive samples (or means) are not all finite numbers. */
  | "not_finite";

export class InstanceError extends BayesServeError {
  constructor(
    /** The instance's position in the request (0 for a single instance). */
    readonly index: number,
    /** The features to blame, in schema order; empty when no feature is to blame. */
    readonly fields: readonly string[],
    readonly problem: InstanceProblem,
    /** What is wrong, in a sentence, without the instance's position. */
    readonly reason: string,
  ) {
    super("DATA_VALUE", fields.length > 0 ? `${fields.join(", ")}: ${reason}` : reason);
    this.name = "InstanceError";
  }

  /** The same problem, at position `index` of a batch. */
  at(index: number): InstanceError {
    return index === this.index ? this : new InstanceError(index, this.fields, this.problem, this.reason);
  }
}
