// The Open Inference Protocol's answers for one instance: every requested summary from ONE set of posterior-predictive
// samples (so y_pred, its interval, its quantiles, its draws and its histogram agree with each other), and the
// posterior of E[y | x, θ] over every draw. The summaries are the seed API's own (answer.ts; the diagnostics layer's
// median, HDI, quantiles and histograms), so that with the same seed the V2 answer equals the seed API's, number for
// number. The server runs it on the event loop for light requests and in its sampling workers for heavy ones.
import { lowerMedianInPlace, lowerQuantileSorted, medianInPlace, quantileSorted } from "../diagnostics/index.js";
import { allFinite, answerInstance, type MeanAnswer, predictiveHdi, predictiveHistogram } from "./answer.js";
import { InstanceError } from "./instance-error.js";
import type { Instance } from "./instance-check.js";
import type { Predictor } from "./predictor.js";

/** What to compute for every instance of a request (plain data: it crosses to the sampling workers). */
export interface InferParams {
  /** Told apart from the seed API's PredictParams by the sampling workers. */
  kind: "infer";
  nSamples: number;
  seed: number | undefined;
  hdiProbability: number;
  bins: number;
  quantiles: readonly number[];
  allowNewLevels: boolean;
  median: boolean;
  interval: boolean;
  mean: boolean;
  /** Quantiles at `quantiles`. */
  quantile: boolean;
  draws: boolean;
  density: boolean;
}

/** One instance's answers, those asked for. */
export interface InferAnswer {
  median?: number;
  interval?: [number, number];
  mean?: MeanAnswer;
  quantiles?: number[];
  draws?: Float64Array;
  /**
   * The histogram: its bin mid-points, densities and the spacing of its mid-points (a discrete family's rows have as
   * many bins as their range holds integers, up to `bins`; a batch's shorter rows are padded along that grid).
   */
  density?: { mids: number[]; density: number[]; width: number };
}

/** Whether a request needs predictive samples (every output but the mean's). */
export const needsSamples = (p: InferParams): boolean => p.median || p.interval || p.quantile || p.draws || p.density;

/** The work of one instance in values computed (as the server's admission counts it): samples, and draws for a mean. */
export const instanceWork = (p: InferParams, drawCount: number): number => (needsSamples(p) ? p.nSamples : 0) + (p.mean ? drawCount : 0);

/** The samples buffer, reused while requests ask for the same n_samples (answers are computed one at a time). */
let scratch = new Float64Array(0);

export function inferInstance(predictor: Predictor, instance: Instance, p: InferParams, index: number): InferAnswer {
  const out: InferAnswer = {};
  if (needsSamples(p)) {
    if (scratch.length !== p.nSamples) scratch = new Float64Array(p.nSamples);
    let samples: Float64Array;
    try {
      samples = predictor.sampleOne(instance, p.nSamples, p.seed, scratch, p.allowNewLevels);
    } catch (err) {
      throw err instanceof InstanceError ? err.at(index) : err;
    }
    if (!allFinite(samples))
      throw new InstanceError(index, [], "not_finite", "the model's predictive samples at this input are not all finite numbers, so no answer can be given");
    const discrete = predictor.family.discrete;
    // In the order the samples were drawn, before anything below reorders them.
    if (p.draws) out.draws = samples.slice();
    if (p.density) {
      const h = predictiveHistogram(predictor.family, samples, p.bins);
      const density = Array.from(h.density);
      // Finite samples can still span a range so narrow (relative to their size) that bins have zero width.
      if (!density.every(Number.isFinite))
        throw new InstanceError(index, [], "not_finite", "the model's predictive samples at this input are not all finite numbers, so no answer can be given");
      const mids = Array.from(h.binMids);
      out.density = { mids, density, width: mids.length > 1 ? mids[1] - mids[0] : 1 };
    }
    if (p.quantile) {
      samples.sort();
      const q = discrete ? lowerQuantileSorted : quantileSorted;
      out.quantiles = p.quantiles.map((prob) => q(samples, prob));
    }
    // The in-place median and HDI reorder the samples; their answers do not depend on the order they find them in.
    if (p.median) out.median = discrete ? lowerMedianInPlace(samples) : medianInPlace(samples);
    if (p.interval) out.interval = predictiveHdi(predictor.family, samples, p.hdiProbability);
  }
  if (p.mean) {
    // The seed API's /mean, as is: exact over every posterior draw, no sampling.
    out.mean = answerInstance(
      predictor,
      instance,
      { kind: "mean", nSamples: 0, seed: undefined, hdiProbability: p.hdiProbability, bins: 1, allowNewLevels: p.allowNewLevels },
      index,
    ) as MeanAnswer;
  }
  return out;
}

export function inferAll(predictor: Predictor, instances: readonly Instance[], p: InferParams): InferAnswer[] {
  const out = new Array<InferAnswer>(instances.length);
  for (let i = 0; i < instances.length; i++) out[i] = inferInstance(predictor, instances[i], p, i);
  return out;
}
