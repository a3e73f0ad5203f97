// The body of a 200 prediction answer: each endpoint's writer, compiled once from its response schema (serialize.ts),
// used alike by the Fastify route, the fast lane and the sampling workers, so that their bytes are the same; and for
// heavy answers the body as bytes in a buffer of its own, which a worker hands to the event loop without a copy.
import type { InstanceAnswer, MeanAnswer, PredictParams } from "../predict/index.js";
import { compileNumericSerializer, type Serializer } from "./serialize.js";
import { PREDICTION_KINDS, responseSchema, type PredictionKind } from "./schemas.js";

export const PREDICTION_SERIALIZERS = Object.fromEntries(
  PREDICTION_KINDS.map((kind) => {
    const serialize = compileNumericSerializer(responseSchema(kind));
    if (serialize === null) throw new Error(`no compiled serializer for the ${kind} response schema`);
    return [kind, serialize];
  }),
) as Record<PredictionKind, Serializer>;

/** Text in UTF-8, in an ArrayBuffer of its own (never a slice of Node's shared pool), which a worker can transfer. */
export function ownBytes(text: string): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(Buffer.byteLength(text, "utf8"));
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).write(text, "utf8");
  return bytes;
}

/** The answer written as JSON, in UTF-8, in an ArrayBuffer of its own. */
export function encodeAnswer(kind: PredictionKind, response: unknown): Uint8Array<ArrayBuffer> {
  return ownBytes(PREDICTION_SERIALIZERS[kind](response));
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
export interface MeanResponse {
  y_mean: number | number[];
  y_mean_lower: number | number[];
  y_mean_upper: number | number[];
  hdi_probability: number;
  n_draws: number;
}
export type PredictResponse = PointResponse | IntervalResponse | DensityResponse | MeanResponse;

/**
 * The response body: the seed's fields (or the mean's), each a list (in order) when the request was a batch.
 * `drawCount` is the number of posterior draws a mean averages over.
 */
export function responseBody(answers: readonly InstanceAnswer[], batch: boolean, params: PredictParams, drawCount: number): PredictResponse {
  const nSamples = params.nSamples;
  switch (params.kind) {
    case "point": {
      const ys = answers as number[];
      return { y_pred: batch ? ys : ys[0], algo_param: nSamples };
    }
    case "interval": {
      const iv = answers as [number, number][];
      if (!batch) return { y_pred_lower: iv[0][0], y_pred_upper: iv[0][1], algo_param: nSamples };
      return { y_pred_lower: iv.map((a) => a[0]), y_pred_upper: iv.map((a) => a[1]), algo_param: nSamples };
    }
    case "mean": {
      const ms = answers as MeanAnswer[];
      const p = params.hdiProbability;
      if (!batch) return { y_mean: ms[0].mean, y_mean_lower: ms[0].lower, y_mean_upper: ms[0].upper, hdi_probability: p, n_draws: drawCount };
      return {
        y_mean: ms.map((m) => m.mean),
        y_mean_lower: ms.map((m) => m.lower),
        y_mean_upper: ms.map((m) => m.upper),
        hdi_probability: p,
        n_draws: drawCount,
      };
    }
    default: {
      const hs = answers as { mids: number[]; density: number[] }[];
      if (!batch) return { y_pred_bin_mids: hs[0].mids, y_pred_density: hs[0].density, algo_param: nSamples };
      return { y_pred_bin_mids: hs.map((h) => h.mids), y_pred_density: hs.map((h) => h.density), algo_param: nSamples };
    }
  }
}
