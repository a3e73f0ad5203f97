// From a validated request to the seed's answer fields: posterior-predictive samples for each instance, sorted once,
// then the median (point), ArviZ's HDI (interval) or numpy's density histogram (density). Used on the event loop
// for light requests and inside the sampling workers for heavy ones, so it depends on nothing but the predictor.
import { hdiSorted, histogram, medianSorted } from "../diagnostics/index.js";
import type { Instance, Predictor } from "../predict/index.js";
import type { PredictionKind } from "./schemas.js";

export interface PredictParams {
  kind: PredictionKind;
  nSamples: number;
  /** Seeds every instance's stream alike, so an instance's answer in a batch equals its answer alone. */
  seed: number | undefined;
  hdiProbability: number;
  bins: number;
}

/** One instance's answer: the median, the HDI bounds, or the histogram's mid-points and densities. */
export type InstanceAnswer = number | [number, number] | { mids: number[]; density: number[] };

/** An answer that would contain NaN or ±Infinity (the model's samples are not finite at this input). */
export class NonFiniteAnswer extends Error {
  constructor(readonly index: number) {
    super(`the predictive samples for instance ${index} are not all finite`);
    this.name = "NonFiniteAnswer";
  }
}

export function answerInstance(predictor: Predictor, instance: Instance, params: PredictParams, index: number): InstanceAnswer {
  const samples = predictor.sample([instance], params.nSamples, params.seed)[0];
  // In place: the array is ours. NaN sorts last, so one check of the last value finds any NaN.
  samples.sort();
  if (!Number.isFinite(samples[0]) || !Number.isFinite(samples[samples.length - 1])) throw new NonFiniteAnswer(index);
  switch (params.kind) {
    case "point":
      return medianSorted(samples);
    case "interval":
      return hdiSorted(samples, params.hdiProbability);
    default: {
      const h = histogram(samples, params.bins);
      const density = Array.from(h.density);
      // Finite samples can still span a range so narrow (relative to their size) that bins have zero width.
      for (const d of density) if (!Number.isFinite(d)) throw new NonFiniteAnswer(index);
      return { mids: Array.from(h.binMids), density };
    }
  }
}

export function answerAll(predictor: Predictor, instances: readonly Instance[], params: PredictParams): InstanceAnswer[] {
  const out = new Array<InstanceAnswer>(instances.length);
  for (let i = 0; i < instances.length; i++) out[i] = answerInstance(predictor, instances[i], params, i);
  return out;
}

export interface PointResponse {
  y_pred: number | number[];
  algo_param: number;
}
export interface IntervalResponse {
  y_pred_lower: number | number[];
  y_pred_upper: number | number[];
  algo_param: number;
}
export interface DensityResponse {
  y_pred_bin_mids: number[] | number[][];
  y_pred_density: number[] | number[][];
  algo_param: number;
}
export type PredictResponse = PointResponse | IntervalResponse | DensityResponse;

/** The response body: the seed's fields, each a list (in order) when the request was a batch. */
export function responseBody(kind: PredictionKind, answers: readonly InstanceAnswer[], batch: boolean, nSamples: number): PredictResponse {
  switch (kind) {
    case "point": {
      const ys = answers as number[];
      return { y_pred: batch ? ys : ys[0], algo_param: nSamples };
    }
    case "interval": {
      const iv = answers as [number, number][];
      if (!batch) return { y_pred_lower: iv[0][0], y_pred_upper: iv[0][1], algo_param: nSamples };
      return { y_pred_lower: iv.map((a) => a[0]), y_pred_upper: iv.map((a) => a[1]), algo_param: nSamples };
    }
    default: {
      const hs = answers as { mids: number[]; density: number[] }[];
      if (!batch) return { y_pred_bin_mids: hs[0].mids, y_pred_density: hs[0].density, algo_param: nSamples };
      return { y_pred_bin_mids: hs.map((h) => h.mids), y_pred_density: hs.map((h) => h.density), algo_param: nSamples };
    }
  }
}
