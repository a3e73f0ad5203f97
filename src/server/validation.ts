// A loaded model's request validators: the schemas of schemas.ts compiled by ajv, strictly (no type coercion,
// NaN/Infinity are not numbers, unknown fields refused), one for a single instance and one for a batch, chosen by
// the shape of `data` so that errors name the right location. Compiled when a model is loaded, beside the old one.
import { Ajv, type ValidateFunction } from "ajv";
import type { FeatureSpec } from "../predict/index.js";
import { detailFromAjv, type ValidationIssue } from "./errors.js";
import { DEFAULT_N_SAMPLES, PREDICTION_KINDS, requestSchema, type Limits, type PredictBody, type PredictionKind } from "./schemas.js";

/** null when the body is valid (it is then a PredictBody), else FastAPI-shaped issues. */
export type RequestValidator = (body: unknown) => ValidationIssue[] | null;

export function compileValidators(features: readonly FeatureSpec[], limits: Limits): Record<PredictionKind, RequestValidator> {
  const ajv = new Ajv({
    allErrors: true,
    coerceTypes: false,
    useDefaults: false,
    removeAdditional: false,
    strictNumbers: true,
    strict: false,
    // Checked by our own code; ajv's own $id bookkeeping is not needed for these anonymous schemas.
    addUsedSchema: false,
  });
  const out = {} as Record<PredictionKind, RequestValidator>;
  for (const kind of PREDICTION_KINDS) {
    const single = ajv.compile(requestSchema(kind, features, limits, "single"));
    const batch = ajv.compile(requestSchema(kind, features, limits, "batch"));
    out[kind] = makeValidator(single, batch, features, limits);
  }
  return out;
}

function makeValidator(single: ValidateFunction, batch: ValidateFunction, features: readonly FeatureSpec[], limits: Limits): RequestValidator {
  return (body) => {
    const isBatch = typeof body === "object" && body !== null && Array.isArray((body as { data?: unknown }).data);
    const validate = isBatch ? batch : single;
    if (!validate(body)) return detailFromAjv(validate.errors ?? [], body, features);
    const b = body as PredictBody;
    const instances = isBatch ? (b.data as unknown[]).length : 1;
    const n = b.algo_param?.n_samples ?? DEFAULT_N_SAMPLES;
    if (instances * n > limits.maxRequestSamples) {
      return [
        {
          loc: ["body", "algo_param", "n_samples"],
          msg: `ensure n_samples × instances (${n} × ${instances} = ${n * instances}) is at most ${limits.maxRequestSamples}`,
          type: "value_error.request_samples",
          ctx: { limit_value: limits.maxRequestSamples },
        },
      ];
    }
    return null;
  };
}
