// POST /predict/v1.0.0/point | interval | density: the seed's endpoints, and /mean, the posterior of E[y | x, θ].
// The body is validated against the schema of the model serving now (taken once per request, so a hot swap never
// mixes two models in one answer). Light requests are answered right here — a hundred samples cost microseconds;
// heavy ones (many samples, a big batch, the mean of many instances) go to the sampling workers so that they never
// hold up light ones.
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import fastJsonStringify from "fast-json-stringify";
import { InstanceError } from "../predict/index.js";
import { answerAll, answerInstance, responseBody, type InstanceAnswer, type PredictParams, type PredictResponse } from "./compute.js";
import { HttpProblem, unprocessable, type ValidationIssue } from "./errors.js";
import type { LoadedModel, ModelHolder } from "./model-holder.js";
import type { SamplingPool } from "./sampling-pool.js";
import { compileNumericSerializer, type Serializer } from "./serialize.js";
import {
  defaultBins,
  DEFAULT_HDI_PROBABILITY,
  DEFAULT_N_SAMPLES,
  messageErrorSchema,
  PREDICT_PREFIX,
  PREDICTION_KINDS,
  requestSchema,
  responseSchema,
  validationErrorSchema,
  type InstanceBody,
  type Limits,
  type ModelSchemaSpec,
  type PredictBody,
  type PredictionKind,
} from "./schemas.js";

export interface PredictRoutesOptions {
  holder: ModelHolder;
  limits: Limits;
  /** Where heavy requests run; null runs them here, yielding to the event loop between instances. */
  pool: SamplingPool | null;
  /** instances × n_samples above which a request is heavy (default 20,000: about a millisecond of work). */
  heavyWork?: number;
  /** Longest a heavy request may compute (the pool's limit; without workers, checked between instances). */
  requestTimeoutMs: number;
}

export const DEFAULT_HEAVY_WORK = 20_000;

const SUMMARIES: Record<PredictionKind, [string, string]> = {
  point: ["Point prediction: the median of posterior-predictive samples", "Returns `y_pred`, the median (as np.median) of `n_samples` posterior-predictive samples: for each, a posterior draw chosen at random across all chains (distinct draws while `n_samples` ≤ the number of draws), then the likelihood's noise."],
  interval: ["Interval prediction: the highest-density interval of posterior-predictive samples", "Returns `y_pred_lower` and `y_pred_upper`, the narrowest interval holding `hdi_probability` of the samples (ArviZ's HDI rule: sort, k = floor(p·n), narrowest window [s[i], s[i+k]])."],
  density: ["Density prediction: a histogram of posterior-predictive samples", "Returns `y_pred_bin_mids` and `y_pred_density`, np.histogram(samples, bins, density=True) with bin mid-points: the densities integrate to 1 over the bins. For a discrete likelihood (counts, 0/1) the mid-points are the integers and each density the probability of that integer (unit-width bins; integers are grouped only when the samples' range holds more than `bins` of them)."],
  mean: ["Mean prediction: the posterior of the expected value E[y | x, θ]", "Returns `y_mean`, the posterior mean of E[y | x, θ] computed exactly for every posterior draw θ (the likelihood's noise averaged out, as brms' posterior_epred), and `y_mean_lower`, `y_mean_upper`, its highest-density interval of probability `hdi_probability`. For a logistic model this is P(y = 1) with its credible interval; for a count model the expected count; for a normal regression the regression line and its band. No sampling: no seed or n_samples."],
};

const noValidation = (): ((data: unknown) => boolean) => () => true;

/**
 * Each endpoint's 200 body writer, compiled once from its response schema (serialize.ts): the route and the fast lane
 * (fast-lane.ts) both write with these, so their bytes are the same.
 */
export const PREDICTION_SERIALIZERS = Object.fromEntries(
  PREDICTION_KINDS.map((kind) => {
    const serialize = compileNumericSerializer(responseSchema(kind));
    if (serialize === null) throw new Error(`no compiled serializer for the ${kind} response schema`);
    return [kind, serialize];
  }),
) as Record<PredictionKind, Serializer>;

/** The 200 body by PREDICTION_SERIALIZERS, the error bodies by fast-json-stringify, as elsewhere. */
// (Fastify calls it once per response status, with that status's schema, though its types say the route's schema.)
const responseSerializer =
  (kind: PredictionKind) =>
  ({ schema, httpStatus }: { schema: unknown; httpStatus?: string }): ((data: unknown) => string) =>
    httpStatus === "200" ? PREDICTION_SERIALIZERS[kind] : fastJsonStringify(schema as Parameters<typeof fastJsonStringify>[0]);

function paramsOf(kind: PredictionKind, body: PredictBody, spec: ModelSchemaSpec): PredictParams {
  return {
    kind,
    nSamples: body.algo_param?.n_samples ?? DEFAULT_N_SAMPLES,
    seed: body.algo_param?.seed,
    hdiProbability: body.hdi_probability ?? DEFAULT_HDI_PROBABILITY,
    bins: body.bins ?? defaultBins(spec.discrete),
    allowNewLevels: body.allow_new_levels ?? spec.newLevelsByDefault,
  };
}

const PROBLEM_TYPES: Record<InstanceError["problem"], string> = {
  invalid_value: "value_error.feature",
  likelihood_argument: "value_error.prediction.likelihood_argument",
  not_finite: "value_error.prediction.not_finite",
};

/** An instance the model cannot answer for, as a 422 naming its fields (or the instance, when no field is to blame). */
export function instanceProblem(err: InstanceError, batch: boolean): HttpProblem {
  const at = batch ? ["body", "data", err.index] : ["body", "data"];
  const type = PROBLEM_TYPES[err.problem];
  const issues: ValidationIssue[] = err.fields.length === 0 ? [{ loc: at, msg: err.reason, type }] : err.fields.map((f) => ({ loc: [...at, f], msg: err.reason, type }));
  return unprocessable(issues);
}

/** allow_new_levels asked of a model none of whose categories can draw new levels. */
function noNewLevels(): HttpProblem {
  return unprocessable([
    {
      loc: ["body", "allow_new_levels"],
      msg: "no category of this model can answer unseen levels: that needs a parameter vector indexed by it whose prior has only constants and scalar parameters as arguments",
      type: "value_error.new_levels",
    },
  ]);
}

/** A model whose likelihood has no mean (the Cauchy) cannot answer /mean: a 422 saying so. */
function noMean(model: LoadedModel): HttpProblem {
  return unprocessable([
    { loc: ["body"], msg: `the model's likelihood (${model.predictor.family.name}) has no mean; ask /point or /interval instead`, type: "value_error.prediction.no_mean" },
  ]);
}

/** A validated prediction request: its instances (a list even for one), whether it was a batch, and its parameters. */
export interface PreparedRequest {
  instances: InstanceBody[];
  batch: boolean;
  params: PredictParams;
}

/** Validates a parsed body against the model's schema (422 naming the field otherwise). */
export function prepareRequest(model: LoadedModel, kind: PredictionKind, parsed: unknown): PreparedRequest {
  const issues = model.validators[kind](parsed);
  if (issues !== null) throw unprocessable(issues);
  if (kind === "mean" && !model.predictor.hasMean) throw noMean(model);
  const body = parsed as PredictBody;
  if (body.allow_new_levels === true && model.predictor.newLevelFeatures.length === 0) throw noNewLevels();
  const batch = Array.isArray(body.data);
  const params = paramsOf(kind, body, model.schemaSpec);
  return { instances: batch ? (body.data as InstanceBody[]) : [body.data as InstanceBody], batch, params };
}

/**
 * The work of a request, in values computed: instances × n_samples, or instances × posterior draws for a mean. Up to
 * heavyWork it is light enough to answer on the event loop.
 */
export const isLight = (model: LoadedModel, r: PreparedRequest, heavyWork: number): boolean =>
  r.instances.length * (r.params.kind === "mean" ? model.predictor.drawCount : r.params.nSamples) <= heavyWork;

/** The response body of a light request, computed here (422 when an instance cannot be answered). */
export function answerHere(model: LoadedModel, r: PreparedRequest): PredictResponse {
  let answers: InstanceAnswer[];
  try {
    answers = answerAll(model.predictor, r.instances, r.params);
  } catch (err) {
    throw err instanceof InstanceError ? instanceProblem(err, r.batch) : err;
  }
  return responseBody(answers, r.batch, r.params, model.predictor.drawCount);
}

/** Heavy work without workers: one instance at a time, letting other requests in between, within the time limit. */
async function answerYielding(model: LoadedModel, instances: InstanceBody[], params: PredictParams, timeoutMs: number): Promise<InstanceAnswer[]> {
  const out: InstanceAnswer[] = [];
  const deadline = performance.now() + timeoutMs;
  for (let i = 0; i < instances.length; i++) {
    await new Promise((resolve) => setImmediate(resolve));
    if (performance.now() > deadline)
      throw new HttpProblem(503, `The prediction took longer than the server's limit of ${timeoutMs / 1000} s; ask for fewer samples or instances`, { "retry-after": "1" });
    out.push(answerInstance(model.predictor, instances[i], params, i));
  }
  return out;
}

export const predictRoutes: FastifyPluginAsync<PredictRoutesOptions> = async (app: FastifyInstance, options: PredictRoutesOptions) => {
  const { holder, pool } = options;
  const heavyWork = options.heavyWork ?? DEFAULT_HEAVY_WORK;
  // The docs show the schema of the model loaded at start-up; docs.ts swaps in the current model's on every request.
  const spec = holder.current?.schemaSpec ?? { features: [], discrete: false, newLevelsByDefault: false };

  for (const kind of PREDICTION_KINDS) {
    const [summary, description] = SUMMARIES[kind];
    app.post(
      `${PREDICT_PREFIX}/${kind}`,
      {
        // Validation is the loaded model's (see validation.ts), so Fastify's own is switched off for this route.
        validatorCompiler: noValidation,
        serializerCompiler: responseSerializer(kind),
        schema: {
          tags: ["predict"],
          summary,
          description,
          body: requestSchema(kind, spec, options.limits, "either"),
          response: { 200: responseSchema(kind), 422: validationErrorSchema, 503: messageErrorSchema },
        },
      },
      (request: FastifyRequest, reply: FastifyReply) => {
        const model = holder.current;
        if (model === null) throw new HttpProblem(503, "No model is loaded yet; see /health/ready", { "retry-after": "1" });
        const prepared = prepareRequest(model, kind, request.body);
        if (isLight(model, prepared, heavyWork)) return reply.send(answerHere(model, prepared));
        const { instances, batch, params } = prepared;
        const work = pool === null ? answerYielding(model, instances, params, options.requestTimeoutMs) : pool.run(model.transfer, instances, params);
        return work.then(
          (answers) => responseBody(answers, batch, params, model.predictor.drawCount),
          (err: unknown) => {
            throw err instanceof InstanceError ? instanceProblem(err, batch) : err;
          },
        );
      },
    );
  }
};
