// What each endpoint's answer means for the kind of target a model predicts, in words: shown by GET /model and in
// the docs, so that a client of a count or a 0/1 model knows what it is being told.
import type { ResponseKind } from "../model/families.js";
import type { PredictionKind } from "./prediction-kind.js";

const MEANINGS: Record<ResponseKind, Record<PredictionKind, string>> = {
  continuous: {
    point: "the median of n_samples posterior-predictive draws (np.median)",
    interval: "the highest-density interval of those draws (ArviZ's rule)",
    density: "a histogram of those draws, density per unit of y (np.histogram(density=True))",
    mean: "E[y | x, θ] for every posterior draw θ, averaged, with its HDI: the regression function and its credible band",
  },
  count: {
    point: "an integer: the median of the predictive draws (the smallest count with at least half of them at or below it)",
    interval:
      "integers: the highest-density interval of the predictive draws (the fewest consecutive counts holding hdi_probability of them; " +
      "of several such runs, the one holding the most)",
    density:
      "the probability of each count, in bins of width 1 centred on the integers; when the draws span more than `bins` integers, " +
      "each bin holds several whole integers (edges at half-integers, the last may hold fewer) and its density is their mean probability: " +
      "density × width is the bin's probability",
    mean: "the expected count E[y | x, θ] for every posterior draw, averaged, with its HDI",
  },
  binary: {
    point: "0 or 1: the more frequent outcome among the predictive draws",
    interval: "the highest-density interval of the 0/1 draws: [0, 0], [1, 1] or [0, 1]",
    density: "the probability of 0 and of 1, as estimated from the predictive draws",
    mean: "P(y = 1 | x): the probability, exact for every posterior draw and averaged, with its credible interval",
  },
};

/**
 * What a family's /mean answers where that differs from E[y | x, θ]: a Student-t's mean is its location only for
 * ν > 1 (for ν ≤ 1 y has no mean), and /mean averages the location over every draw, whatever its ν.
 */
const MEAN_NOTES: Partial<Record<string, string>> = {
  StudentT: "; for this Student-t likelihood, the location μ of every draw: its mean only where ν > 1 (where ν ≤ 1, y has no mean)",
};

/** What each answer means for this kind of target, and for the family when it says more (MEAN_NOTES). */
export function answerMeanings(kind: ResponseKind, family?: string): Record<PredictionKind, string> {
  const note = family === undefined ? undefined : MEAN_NOTES[family];
  return note === undefined ? MEANINGS[kind] : { ...MEANINGS[kind], mean: MEANINGS[kind].mean + note };
}
