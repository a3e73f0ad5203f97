// Request and response schemas of the prediction endpoints, generated from the loaded model's feature inputs: a
// float feature is a bounded number, an integer feature an integer, a category an integer in 0..levels-1, each within
// the bounds the model declares (or, for an index, the vector's range). The same TypeBox schemas document the API
// (OpenAPI) and, compiled by ajv, validate every request.
import { Type, type TObject, type TSchema } from "@sinclair/typebox";
import type { FeatureSpec } from "../predict/index.js";
import { MAX_ABS_FEATURE } from "../predict/index.js";

export { PREDICTION_KINDS, type PredictionKind } from "../predict/index.js";
import type { PredictionKind } from "../predict/index.js";

/** The seed's URL prefix: POST /predict/v1.0.0/point | interval | density (and mean). */
export const PREDICT_PREFIX = "/predict/v1.0.0";

/** The seed's defaults. */
export const DEFAULT_N_SAMPLES = 100;
export const DEFAULT_HDI_PROBABILITY = 0.95;
export const DEFAULT_BINS = 5;
/**
 * The default `bins` for a discrete likelihood: at most this many values are listed, so that every integer has its
 * own probability unless the predictive range is wider (a count in the hundreds), when integers are grouped.
 */
export const DEFAULT_DISCRETE_BINS = 100;

/** What the request schemas depend on besides the limits: the model's features and its likelihood's kind. */
export interface ModelSchemaSpec {
  features: readonly FeatureSpec[];
  /** A discrete likelihood (counts, 0/1): integer answers, a probability per integer. */
  discrete: boolean;
  /** Requests answer unseen levels unless they say otherwise (`serve --allow-new-levels`). */
  newLevelsByDefault: boolean;
}

/** The `bins` a density request gets when it names none. */
export const defaultBins = (discrete: boolean): number => (discrete ? DEFAULT_DISCRETE_BINS : DEFAULT_BINS);

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
  allow_new_levels?: boolean;
}

/** An example value for a feature, used in the docs and the page: inside its bounds. */
export function exampleValue(f: FeatureSpec): number {
  if (f.type === "category") return Math.min(2, (f.levels ?? 1) - 1);
  const preferred = f.type === "integer" ? 1 : 5;
  const lo = f.minimum ?? Number.NEGATIVE_INFINITY;
  const hi = f.maximum ?? Number.POSITIVE_INFINITY;
  return Math.min(Math.max(preferred, lo), hi);
}

export function exampleInstance(features: readonly FeatureSpec[]): InstanceBody {
  const out: InstanceBody = {};
  for (const f of features) out[f.name] = exampleValue(f);
  return out;
}

/** A feature's schema; with `newLevels`, a category that can draw unseen levels takes any non-negative integer. */
export function featureSchema(f: FeatureSpec, newLevels = false): TSchema {
  switch (f.type) {
    case "category": {
      const last = (f.levels ?? 1) - 1;
      if (newLevels && f.newLevels === true)
        return Type.Integer({
          minimum: 0,
          maximum: MAX_ABS_FEATURE,
          description: `category: 0..${last} are the model's levels; a larger integer, when allow_new_levels allows it, is a level not seen in training, whose effects are drawn from their priors`,
          examples: [exampleValue(f)],
        });
      return Type.Integer({
        minimum: 0,
        maximum: last,
        description: `category: an integer in 0..${last} (the model has ${f.levels} levels)`,
        examples: [exampleValue(f)],
      });
    }
    case "integer": {
      const { minimum, maximum } = featureRange(f);
      return Type.Integer({ minimum, maximum, description: `integer feature in ${minimum}..${maximum}${boundsNote(f)}`, examples: [exampleValue(f)] });
    }
    default: {
      const { minimum, maximum } = featureRange(f);
      return Type.Number({
        minimum,
        maximum,
        description: `real-valued feature, finite, in [${minimum}, ${maximum}]${boundsNote(f)}`,
        examples: [exampleValue(f)],
      });
    }
  }
}

/** A feature's allowed range: the model's bounds, within ±MAX_ABS_FEATURE. */
function featureRange(f: FeatureSpec): { minimum: number; maximum: number } {
  return { minimum: Math.max(-MAX_ABS_FEATURE, f.minimum ?? -MAX_ABS_FEATURE), maximum: Math.min(MAX_ABS_FEATURE, f.maximum ?? MAX_ABS_FEATURE) };
}

function boundsNote(f: FeatureSpec): string {
  if (f.minimum === undefined && f.maximum === undefined) return "";
  return f.type === "integer" && f.minimum === 0 && f.maximum !== undefined
    ? " (the model's bounds, or the positions of the vector it indexes)"
    : " (the model's declared bounds)";
}

/** One instance: every feature required, nothing else allowed. */
export function instanceSchema(features: readonly FeatureSpec[], newLevels = false): TObject {
  const props: Record<string, TSchema> = {};
  for (const f of features) props[f.name] = featureSchema(f, newLevels);
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

function binsSchema(limits: Limits, discrete: boolean): TSchema {
  return Type.Integer({
    exclusiveMinimum: 0,
    maximum: limits.maxBins,
    default: defaultBins(discrete),
    description: discrete
      ? `The most values listed (1..${limits.maxBins}): every integer in the samples' range has its own probability while the range holds at most this many; a wider range is grouped into this many bins of whole integers.`
      : `Number of equal-width histogram bins (1..${limits.maxBins}).`,
  });
}

export type DataShape = "single" | "batch" | "either";

/**
 * The request body of one endpoint. `shape` picks what `data` may be: an instance, a list of them, or either (docs).
 * `newLevels`: the body asks for unseen levels (allow_new_levels), so categories that can draw them are unbounded.
 */
export function requestSchema(kind: PredictionKind, spec: ModelSchemaSpec, limits: Limits, shape: DataShape, newLevels = false): TObject {
  const features = spec.features;
  const instance = instanceSchema(features, newLevels);
  const batch = Type.Array(instance, {
    minItems: 1,
    maxItems: limits.maxBatch,
    description: `A batch of 1..${limits.maxBatch} instances; every answer field is then a list in the same order.`,
  });
  const data = shape === "single" ? instance : shape === "batch" ? batch : Type.Union([instance, batch]);
  // The mean is exact over every posterior draw: no samples, so no algo_param.
  const props: Record<string, TSchema> = kind === "mean" ? { data } : { data, algo_param: Type.Optional(algoParamSchema(limits)) };
  if (kind === "interval" || kind === "mean") props.hdi_probability = Type.Optional(hdiSchema());
  if (kind === "density") props.bins = Type.Optional(binsSchema(limits, spec.discrete));
  props.allow_new_levels = Type.Optional(
    Type.Boolean({
      default: spec.newLevelsByDefault,
      description:
        "Answer for a level of a category not seen in training (a value past its last level): the effects it indexes are drawn from their priors given each posterior draw. Only for categories /model lists under new_levels.",
    }),
  );
  const example: Record<string, unknown> =
    kind === "mean" ? { data: exampleInstance(features) } : { data: exampleInstance(features), algo_param: { n_samples: DEFAULT_N_SAMPLES } };
  if (kind === "interval" || kind === "mean") example.hdi_probability = DEFAULT_HDI_PROBABILITY;
  if (kind === "density") example.bins = defaultBins(spec.discrete);
  return Type.Object(props, { additionalProperties: false, examples: [example] });
}

/**
 * The request body of one endpoint as /openapi.json documents it: `data` an instance or a batch, and exactly what the
 * server accepts about unseen levels. A category that can draw them takes a level past its last one only when
 * `allow_new_levels` (or, left out, the server's default) allows it; JSON Schema says so with `if`/`then`/`else` on
 * `allow_new_levels`, so that a client validating against the document accepts and refuses what the server does.
 */
export function documentedRequestSchema(kind: PredictionKind, spec: ModelSchemaSpec, limits: Limits): TObject {
  if (!spec.features.some((f) => f.type === "category" && f.newLevels === true)) return requestSchema(kind, spec, limits, "either");
  const open = requestSchema(kind, spec, limits, "either", true);
  const known = { properties: { data: requestSchema(kind, spec, limits, "either", false).properties.data } };
  // Known levels only: when the body says allow_new_levels: false, or (the server not allowing them by default) when
  // it does not say allow_new_levels: true.
  return spec.newLevelsByDefault
    ? { ...open, if: { properties: { allow_new_levels: { const: false } }, required: ["allow_new_levels"] }, then: known }
    : { ...open, if: { properties: { allow_new_levels: { const: true } }, required: ["allow_new_levels"] }, else: known };
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
    case "mean":
      return Type.Object(
        {
          y_mean: numberOrList(
            "Posterior mean of E[y | x, θ] over every posterior draw θ (for a logistic model P(y = 1), for a count model the expected count)",
          ),
          y_mean_lower: numberOrList("Lower end of the highest-density interval of E[y | x, θ]"),
          y_mean_upper: numberOrList("Upper end of the highest-density interval of E[y | x, θ]"),
          hdi_probability: Type.Number({ description: "The interval's probability mass." }),
          n_draws: Type.Integer({ description: "The number of posterior draws averaged over." }),
        },
        {
          description: "The posterior of the expected value (brms' posterior_epred)",
          examples: [{ y_mean: 7.5, y_mean_lower: 7.45, y_mean_upper: 7.56, hdi_probability: 0.95, n_draws: 10000 }],
        },
      );
    default:
      return Type.Object(
        {
          y_pred_bin_mids: listOrLists("Mid-points of the histogram bins (for a discrete likelihood: the integers)"),
          y_pred_density: listOrLists("Density per bin, integrating to 1 over the bins (for a discrete likelihood: the probability of each integer)"),
          algo_param: algoParamOut,
        },
        {
          description: "The predictive density as a histogram",
          examples: [{ y_pred_bin_mids: [5.9, 6.7, 7.5, 8.3, 9.1], y_pred_density: [0.11, 0.36, 0.5, 0.2, 0.06], algo_param: 100 }],
        },
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
