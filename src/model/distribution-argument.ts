// A distribution asked for with an argument outside its parameter space: a negative scale, a NaN rate, a fractional
// trial count. Random-variate generators throw this instead of drawing — some rejection samplers would otherwise loop
// forever on NaN — and the predictor turns it into a client error naming the inputs the argument depends on.
import { BayesServeError } from "../errors.js";

export class DistributionArgumentError extends BayesServeError {
  constructor(
    /** The family or generator: "PoissonLog", "gamma". */
    readonly distribution: string,
    /** The argument's position among the distribution's arguments. */
    readonly argIndex: number,
    /** Its name: "logRate", "shape". */
    readonly argument: string,
    readonly value: number,
    /** What it must be, in words: "> 0 and finite". */
    readonly requirement: string,
  ) {
    super("DISTRIBUTION_ARGUMENT", `${distribution}: ${argument} must be ${requirement} (got ${value})`);
    this.name = "DistributionArgumentError";
  }
}
