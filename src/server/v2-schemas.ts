// The Open Inference Protocol (V2, KServe's "Predict Protocol - Version 2", REST) as TypeBox schemas: the shapes of
// its requests and responses from the protocol's own JSON schemas (kserve/kserve docs/predict-api/v2/
// rest_predict_v2.yaml), narrowed to what bayes-serve accepts, and the names of the tensors it answers with. Compiled
// by ajv they check a request's structure; they document the routes in /openapi.json. What the tensors mean is in
// docs/v2.md.
import { Type, type TObject, type TSchema } from "@sinclair/typebox";
import { DEFAULT_HDI_PROBABILITY, DEFAULT_N_SAMPLES, MAX_SEED, type Limits } from "./schemas.js";

export const V2_PREFIX = "/v2";

/** The output tensors, in the order they are answered when a request names none (all the model can give). */
export const V2_OUTPUTS = [
  "y_pred",
  "y_pred_lower",
  "y_pred_upper",
  "y_mean",
  "y_mean_lower",
  "y_mean_upper",
  "y_pred_quantiles",
  "y_pred_draws",
  "y_pred_bin_mids",
  "y_pred_density",
] as const;
export type V2Output = (typeof V2_OUTPUTS)[number];

/** Outputs of one value per instance (shape [n]); the others are [n, m]. */
export const V2_VECTOR_OUTPUTS: ReadonlySet<V2Output> = new Set(["y_pred", "y_pred_lower", "y_pred_upper", "y_mean", "y_mean_lower", "y_mean_upper"]);

/** Outputs that need E[y | x, θ], which a likelihood without a mean (the Cauchy) cannot give. */
export const V2_MEAN_OUTPUTS: ReadonlySet<V2Output> = new Set(["y_mean", "y_mean_lower", "y_mean_upper"]);

/** y_pred_quantiles' probabilities when a request names none: the median and the quartiles inside a 95 % band. */
export const DEFAULT_QUANTILES: readonly number[] = [0.025, 0.25, 0.5, 0.75, 0.975];

/** Tensor datatypes whose elements are numbers: any of them may carry a feature (its values are checked). */
export const NUMERIC_DATATYPES: ReadonlySet<string> = new Set([
  "FP64",
  "FP32",
  "FP16",
  "INT64",
  "INT32",
  "INT16",
  "INT8",
  "UINT64",
  "UINT32",
  "UINT16",
  "UINT8",
]);

/** The request parameters bayes-serve reads (the protocol leaves parameters to each server). */
export const V2_PARAMETERS = ["n_samples", "seed", "hdi_probability", "bins", "quantiles", "allow_new_levels", "content_type"] as const;

const parameterValue = Type.Union([Type.String(), Type.Number(), Type.Boolean()]);

/** Tensor data: numbers (or, to be refused with a clear message, strings and booleans), flat or nested. */
const tensorData = Type.Array(Type.Unknown(), { description: "The tensor's elements in row-major order, flat or nested to its shape." });

export function inferRequestSchema(limits: Limits): TObject {
  const input = Type.Object(
    {
      name: Type.String({
        description: "A feature's name (one tensor per feature), or any name for a single [n, k] tensor of every feature in the model's order.",
      }),
      shape: Type.Array(Type.Integer({ minimum: 0 }), { minItems: 1, maxItems: 2, description: "[n] for one feature's values, or [n, k] for all k features." }),
      datatype: Type.String({
        description: "FP64 or INT64 as /v2/models/{name} lists it (any numeric type is read; the values are checked against the feature).",
      }),
      parameters: Type.Optional(Type.Record(Type.String(), parameterValue)),
      data: tensorData,
    },
    { additionalProperties: false },
  );
  const output = Type.Object(
    {
      name: Type.String({ description: `One of ${V2_OUTPUTS.join(", ")}.` }),
      parameters: Type.Optional(
        Type.Record(Type.String(), parameterValue, { description: "binary_data: false is accepted; binary tensor data is not supported." }),
      ),
    },
    { additionalProperties: false },
  );
  const parameters = Type.Object(
    {
      n_samples: Type.Optional(
        Type.Integer({
          minimum: 1,
          maximum: limits.maxSamples,
          default: DEFAULT_N_SAMPLES,
          description: "Posterior-predictive samples per instance (as the seed API's algo_param.n_samples).",
        }),
      ),
      seed: Type.Optional(
        Type.Integer({
          minimum: 0,
          maximum: MAX_SEED,
          description: "Makes the answer reproducible: the same seed and inputs give the same samples, in a batch or alone, here and on the seed API.",
        }),
      ),
      hdi_probability: Type.Optional(
        Type.Number({
          exclusiveMinimum: 0,
          exclusiveMaximum: 1,
          default: DEFAULT_HDI_PROBABILITY,
          description: "Probability mass of the highest-density intervals (y_pred_lower/upper, y_mean_lower/upper).",
        }),
      ),
      bins: Type.Optional(
        Type.Integer({
          minimum: 1,
          maximum: limits.maxBins,
          description: "Histogram bins of y_pred_density (as the seed API's bins; default 5, or up to 100 integers for a discrete family).",
        }),
      ),
      quantiles: Type.Optional(
        Type.Union([Type.String(), Type.Array(Type.Number({ minimum: 0, maximum: 1 }), { minItems: 1, maxItems: limits.maxBins })], {
          description: `Probabilities of y_pred_quantiles: a comma-separated string ("0.05,0.5,0.95", as the protocol's scalar parameters allow) or a list; default ${DEFAULT_QUANTILES.join(",")}.`,
        }),
      ),
      allow_new_levels: Type.Optional(
        Type.Boolean({ description: "Answer for levels of a category not seen in training (as the seed API's allow_new_levels)." }),
      ),
      content_type: Type.Optional(Type.String({ description: "Ignored (MLServer's clients send it)." })),
    },
    { additionalProperties: false },
  );
  return Type.Object(
    {
      id: Type.Optional(Type.String({ description: "Returned in the response." })),
      parameters: Type.Optional(parameters),
      inputs: Type.Array(input, { minItems: 1 }),
      outputs: Type.Optional(Type.Array(output, { description: "The outputs wanted, in the order to answer them; all the model can give when left out." })),
    },
    { additionalProperties: false, description: "An inference request ($inference_request)." },
  );
}

const tensorOut = Type.Object({
  name: Type.String(),
  shape: Type.Array(Type.Integer()),
  datatype: Type.String(),
  parameters: Type.Optional(Type.Record(Type.String(), parameterValue)),
  data: Type.Array(Type.Number()),
});

export const inferResponseSchema: TSchema = Type.Object(
  {
    model_name: Type.String(),
    model_version: Type.String(),
    id: Type.Optional(Type.String()),
    parameters: Type.Record(Type.String(), parameterValue, {
      description: "n_samples, hdi_probability, n_draws, seed (when given), quantiles, bins: what the outputs were computed with.",
    }),
    outputs: Type.Array(tensorOut, { description: "Every output FP64, its data flat in row-major order." }),
  },
  { description: "An inference response ($inference_response)." },
);

/** The protocol's error object: `{"error": "…"}`. */
export const v2ErrorSchema: TSchema = Type.Object({ error: Type.String() }, { description: "What went wrong, in a sentence ($inference_error_response)." });

export const serverMetadataSchema: TSchema = Type.Object({ name: Type.String(), version: Type.String(), extensions: Type.Array(Type.String()) });

const metadataTensor = Type.Object({ name: Type.String(), datatype: Type.String(), shape: Type.Array(Type.Integer({ description: "-1: any size" })) });

export const modelMetadataSchema: TSchema = Type.Object({
  name: Type.String(),
  versions: Type.Array(Type.String()),
  platform: Type.String(),
  inputs: Type.Array(metadataTensor),
  outputs: Type.Array(metadataTensor),
  parameters: Type.Record(Type.String(), parameterValue, { description: "The likelihood's family, the kind of target, and what each output means for it." }),
});
