// Request and response schemas of the prediction endpoints, generated from the loaded model's feature inputs: a
// float feature is a bounded number, an integer feature an integer, a category an integer in 0..levels-1. The same
// TypeBox schemas document the API (OpenAPI) and, compiled by ajv, validate every request.
import { Type, type TObject, type TSchema } from "@sinclair/typebox";
import type { FeatureSpec } from "../predict/index.js";
import { MAX_ABS_FEATURE } from "../predict/index.js";

export type PredictionKind = "point" | "interval" | "density";
export const PREDICTION_KINDS: readonly PredictionKind[] = ["point", "interval", "density"];

/** The seed's URL prefix: POST /predict/v1.0.0/point | interval | density. */
export const PREDICT_PREFIX = "/predict/v1.0.0";

/** The seed's defaults. */
export const DEFAULT_N_SAMPLES = 100;
export const DEFAULT_HDI_PROBABILITY = 0.95;
export const DEFAULT_BINS = 5;

export { DEFAULT_LIMITS, type Limits } from "./constants.js";
import type { Limits } from "./constants.js";

/** Largest seed: the largest integer JSON carries exactly. */
export const MAX_SEED = Number.MAX_SAFE_INTEGER;

/** One instance's feature values, as the validated request carries them. */
export type InstanceBody = Record<string, number>;

/** A validated prediction request (defaults not yet applied). */
export interface PredictBody {
  data: InstanceBody | InstanceBody[];
  algo_param?: { n_samples?: number; seed?: number };
  hdi_probability?: number;
  bins?: number;
}

/** An example value for a feature, used in the docs and the page. */
export function exampleValue(f: FeatureSpec): number {
  if (f.type === "category") return Math.min(2, (f.levels ?? 1) - 1);
  if (f.type === "integer") return 1;
  return 5;
}

export function exampleInstance(features: readonly FeatureSpec[]): InstanceBody {
  const out: InstanceBody = {};
  for (const f of features) out[f.name] = exampleValue(f);
  return out;
}

export function featureSchema(f: FeatureSpec): TSchema {
  switch (f.type) {
    case "category": {
      const last = (f.levels ?? 1) - 1;
      return Type.Integer({
        minimum: 0,
        maximum: last,
        description: `category: an integer in 0..${last} (the model has ${f.levels} levels)`,
        examples: [exampleValue(f)],
      });
    }
    case "integer":
      return Type.Integer({
        minimum: -MAX_ABS_FEATURE,
        maximum: MAX_ABS_FEATURE,
        description: `integer feature, |value| ≤ ${MAX_ABS_FEATURE}`,
        examples: [exampleValue(f)],
      });
    default:
      return Type.Number({
        minimum: -MAX_ABS_FEATURE,
        maximum: MAX_ABS_FEATURE,
        description: `real-valued feature, finite and |value| ≤ ${MAX_ABS_FEATURE}`,
        examples: [exampleValue(f)],
      });
  }
}

/** One instance: every feature required, nothing else allowed. */
export function instanceSchema(features: readonly FeatureSpec[]): TObject {
  const props: Record<string, TSchema> = {};
  for (const f of features) props[f.name] = featureSchema(f);
  return Type.Object(props, {
    additionalProperties: false,
    description: "One instance: a value for every feature the model reads.",
    examples: [exampleInstance(features)],
  });
}

function algoParamSchema(limits: Limits): TObject {
  return Type.Object(
    {
      n_samples: Type.Optional(
        Type.Integer({
          exclusiveMinimum: 0,
          maximum: limits.maxSamples,
          default: DEFAULT_N_SAMPLES,
          description: `Posterior-predictive samples per instance (1..${limits.maxSamples}).`,
        }),
      ),
      seed: Type.Optional(
        Type.Integer({
          minimum: 0,
          maximum: MAX_SEED,
          description: "Makes the answer reproducible: the same seed and inputs give the same answer, in a batch or alone.",
        }),
      ),
    },
    { additionalProperties: false, default: { n_samples: DEFAULT_N_SAMPLES } },
  );
}

function hdiSchema(): TSchema {
  return Type.Number({
    exclusiveMinimum: 0,
    exclusiveMaximum: 1,
    default: DEFAULT_HDI_PROBABILITY,
    description: "Probability mass of the highest-density interval, 0 < p < 1.",
  });
}

function binsSchema(limits: Limits): TSchema {
  return Type.Integer({
    exclusiveMinimum: 0,
    maximum: limits.maxBins,
    default: DEFAULT_BINS,
    description: `Number of equal-width histogram bins (1..${limits.maxBins}).`,
  });
}

export type DataShape = "single" | "batch" | "either";

/** The request body of one endpoint. `shape` picks what `data` may be: an instance, a list of them, or either (docs). */
export function requestSchema(kind: PredictionKind, features: readonly FeatureSpec[], limits: Limits, shape: DataShape): TObject {
  const instance = instanceSchema(features);
  const batch = Type.Array(instance, {
    minItems: 1,
    maxItems: limits.maxBatch,
    description: `A batch of 1..${limits.maxBatch} instances; every answer field is then a list in the same order.`,
  });
  const data = shape === "single" ? instance : shape === "batch" ? batch : Type.Union([instance, batch]);
  const props: Record<string, TSchema> = { data, algo_param: Type.Optional(algoParamSchema(limits)) };
  if (kind === "interval") props.hdi_probability = Type.Optional(hdiSchema());
  if (kind === "density") props.bins = Type.Optional(binsSchema(limits));
  const example: Record<string, unknown> = { data: exampleInstance(features), algo_param: { n_samples: DEFAULT_N_SAMPLES } };
  if (kind === "interval") example.hdi_probability = DEFAULT_HDI_PROBABILITY;
  if (kind === "density") example.bins = DEFAULT_BINS;
  return Type.Object(props, { additionalProperties: false, examples: [example] });
}

const numberOrList = (description: string): TSchema =>
  Type.Union([Type.Number(), Type.Array(Type.Number())], { description: `${description} (a list, in order, for a batch)` });
const listOrLists = (description: string): TSchema =>
  Type.Union([Type.Array(Type.Number()), Type.Array(Type.Array(Type.Number()))], { description: `${description} (a list of lists for a batch)` });
const algoParamOut = Type.Integer({ description: "The number of samples each answer was computed from (n_samples)." });

/** The 200 response of one endpoint: exactly the seed's fields. */
export function responseSchema(kind: PredictionKind): TObject {
  switch (kind) {
    case "point":
      return Type.Object(
        { y_pred: numberOrList("Median of the predictive samples"), algo_param: algoParamOut },
        { description: "The point prediction", examples: [{ y_pred: 7.52, algo_param: 100 }] },
      );
    case "interval":
      return Type.Object(
        {
          y_pred_lower: numberOrList("Lower end of the highest-density interval"),
          y_pred_upper: numberOrList("Upper end of the highest-density interval"),
          algo_param: algoParamOut,
        },
        { description: "The highest-density interval", examples: [{ y_pred_lower: 5.99, y_pred_upper: 8.67, algo_param: 100 }] },
      );
    default:
      return Type.Object(
        {
          y_pred_bin_mids: listOrLists("Mid-points of the histogram bins"),
          y_pred_density: listOrLists("Density per bin (integrates to 1 over the bins)"),
          algo_param: algoParamOut,
        },
        { description: "The predictive density as a histogram", examples: [{ y_pred_bin_mids: [5.9, 6.7, 7.5, 8.3, 9.1], y_pred_density: [0.11, 0.36, 0.5, 0.2, 0.06], algo_param: 100 }] },
      );
  }
}

/** FastAPI's validation error shape. */
export const validationErrorSchema = Type.Object(
  {
    detail: Type.Array(
      Type.Object({
        loc: Type.Array(Type.Union([Type.String(), Type.Integer()])),
        msg: Type.String(),
        type: Type.String(),
        ctx: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
      }),
    ),
  },
  {
    description: "The request does not fit the schema (FastAPI's shape).",
    examples: [{ detail: [{ loc: ["body", "data", "category"], msg: "category 7 is not one of the model's categories 0..2", type: "value_error.category" }] }],
  },
);

/** Any other error: a sentence. */
export const messageErrorSchema = Type.Object({ detail: Type.String() }, { description: "What went wrong, in a sentence." });
