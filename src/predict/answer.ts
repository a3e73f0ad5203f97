// From a validated request to its answers: posterior-predictive samples for each instance, then the median (point),
// ArviZ's HDI (interval) or numpy's density histogram (density); or E[y | x, θ] over every posterior draw, then its
// mean and HDI (mean). For a discrete likelihood the point is an integer (the median as the inverse of the empirical
// CDF at ½) and the density the probability of each integer. The summaries are the diagnostics layer's (median.ts,
// hdi.ts, histogram.ts). The server runs it on the event loop for light requests and inside its sampling workers for
// heavy ones, so it depends on nothing but the predictor.
import { hdiDiscreteInPlace, hdiInPlace, histogram, integerHistogram, lowerMedianInPlace, medianInPlace, type Histogram } from "../diagnostics/index.js";
import type { Family } from "../model/families.js";
import { InstanceError } from "./instance-error.js";
import type { PredictionKind } from "./prediction-kind.js";
import type { Instance } from "./instance-check.js";
import type { Predictor } from "./predictor.js";

export interface PredictParams {
  kind: PredictionKind;
  nSamples: number;
  /** Seeds every instance's stream alike, so an instance's answer in a batch equals its answer alone. */
  seed: number | undefined;
  hdiProbability: number;
  bins: number;
  /** Unseen levels of categories that can draw them are answered (allow_new_levels). */
  allowNewLevels: boolean;
}

/** The posterior of E[y | x, θ]: its mean and HDI. */
export interface MeanAnswer {
  mean: number;
  lower: number;
  upper: number;
}

/** One instance's answer: the median, the HDI bounds, the histogram's mid-points and densities, or the mean's posterior. */
export type InstanceAnswer = number | [number, number] | { mids: number[]; density: number[] } | MeanAnswer;

/** The predictive samples (or means) at this input are not all finite numbers: no answer can be given. */
function notFinite(index: number, what: string): InstanceError {
  return new InstanceError(index, [], "not_finite", `the model's ${what} at this input are not all finite numbers, so no answer can be given`);
}

/** True when every value is a finite number (v − v is 0 for finite v, NaN for NaN and ±Infinity). */
export function allFinite(a: Float64Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] - a[i] !== 0) return false;
  return true;
}

/**
 * The samples buffer, reused while requests ask for the same n_samples (the usual case): answers are computed
 * synchronously, one at a time per thread, and an ArrayBuffer allocated per request costs a malloc, a free and a sweep.
 */
let samplesScratch = new Float64Array(0);
/** E[y | x, θ] per posterior draw, reused likewise. */
let meansScratch = new Float64Array(0);

/**
 * The HDI of predictive samples: ArviZ's rule, and for a discrete family the most probable of the runs of integers of
 * its width (ArviZ's first run is the lowest one: hdi.ts hdiDiscreteSorted). May reorder the samples.
 */
export function predictiveHdi(family: Family, samples: Float64Array, prob: number): [number, number] {
  return family.discrete ? hdiDiscreteInPlace(samples, prob) : continuousHdi(samples, prob);
}

/**
 * ArviZ's HDI, but for a probability below one draw in n: ArviZ's windows then hold one draw each, all of width 0,
 * and the first is taken — the smallest draw, the far end of the lower tail (a 0.5 % interval of 100 samples at
 * −7.6 for a predictive median of 2.1). The narrowest pair of draws (k = 1) is taken instead: the densest place.
 * May reorder the values.
 */
export function continuousHdi(values: Float64Array, prob: number): [number, number] {
  const n = values.length;
  return Math.floor(prob * n) === 0 && n >= 2 ? hdiInPlace(values, 1.5 / n) : hdiInPlace(values, prob);
}

/** The 0/1 family's histogram always holds 0 and 1: its answer is the probability of each, whatever the draws. */
const BINARY_VALUES: readonly [number, number] = [0, 1];

/**
 * The histogram of predictive samples: numpy's for a continuous family; the probability of each integer for a
 * discrete one — for a 0/1 family always of 0 and of 1, so that the second is P(y = 1) even when every draw is 0 or 1.
 */
export function predictiveHistogram(family: Family, samples: Float64Array, bins: number): Histogram {
  if (!family.discrete) return histogram(samples, bins);
  return integerHistogram(samples, bins, family.support === "binary" ? BINARY_VALUES : undefined);
}

export function answerInstance(predictor: Predictor, instance: Instance, params: PredictParams, index: number): InstanceAnswer {
  try {
    return params.kind === "mean" ? meanAnswer(predictor, instance, params) : sampleAnswer(predictor, instance, params);
  } catch (err) {
    throw err instanceof InstanceError ? err.at(index) : (err as Error);
  }
}

function meanAnswer(predictor: Predictor, instance: Instance, params: PredictParams): MeanAnswer {
  if (meansScratch.length !== predictor.drawCount) meansScratch = new Float64Array(predictor.drawCount);
  const means = predictor.means(instance, meansScratch, params.allowNewLevels);
  if (!allFinite(means)) throw notFinite(0, "expected values");
  let sum = 0;
  for (let i = 0; i < means.length; i++) sum += means[i];
  const [lower, upper] = continuousHdi(means, params.hdiProbability);
  return { mean: sum / means.length, lower, upper };
}

function sampleAnswer(predictor: Predictor, instance: Instance, params: PredictParams): InstanceAnswer {
  // The array is ours: the summaries may reorder it; nothing below keeps a reference to it.
  if (samplesScratch.length !== params.nSamples) samplesScratch = new Float64Array(params.nSamples);
  const samples = predictor.sampleOne(instance, params.nSamples, params.seed, samplesScratch, params.allowNewLevels);
  if (!allFinite(samples)) throw notFinite(0, "predictive samples");
  const discrete = predictor.family.discrete;
  switch (params.kind) {
    case "point":
      return discrete ? lowerMedianInPlace(samples) : medianInPlace(samples);
    case "interval":
      return predictiveHdi(predictor.family, samples, params.hdiProbability);
    default: {
      const h = predictiveHistogram(predictor.family, samples, params.bins);
      const density = Array.from(h.density);
      // Finite samples can still span a range so narrow (relative to their size) that bins have zero width.
      for (const d of density) if (!Number.isFinite(d)) throw notFinite(0, "predictive samples");
      return { mids: Array.from(h.binMids), density };
    }
  }
}

export function answerAll(predictor: Predictor, instances: readonly Instance[], params: PredictParams): InstanceAnswer[] {
  const out = new Array<InstanceAnswer>(instances.length);
  for (let i = 0; i < instances.length; i++) out[i] = answerInstance(predictor, instances[i], params, i);
  return out;
}
