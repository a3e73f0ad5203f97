// POST /predict/v1.0.0/point | interval | density: the seed's endpoints, and /mean, the posterior of E[y | x, θ].
// The body is validated against the schema of the model serving now (taken once per request, so a hot swap never
// mixes two models in one answer), and its cost counted (admission.ts). Light requests are answered right here — a
// hundred samples cost microseconds; heavy ones (many samples, a big batch, many bins, the mean of many instances) are
// admitted by cost, computed and written as JSON on the sampling workers, and streamed to the client at its own pace
// (backpressure.ts), so that they never hold up light ones and never take more memory than admission allows.
import type { ServerResponse } from "node:http";
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import fastJsonStringify from "fast-json-stringify";
import { Admission, ClientGoneError, isLightCost, requestCost, type RequestCost, type Ticket } from "./admission.js";
import { encodeAnswer, PREDICTION_SERIALIZERS, responseBody, type PredictResponse } from "./answer-body.js";
import {
  answerLightInTurn,
  AnswerStream,
  connectionFree,
  onConnectionClose,
  releaseHeavy,
  SendWatch,
  waitingOn,
  whenConnectionFree,
  whenResponseOver,
  type Connection,
} from "./backpressure.js";
import { answerAll, answerInstance, InstanceError, type InstanceAnswer, type PredictParams } from "../predict/index.js";
import { HttpProblem, problemResponse, unprocessable, type ValidationIssue } from "./errors.js";
import type { LaneHandler, LaneRoutes } from "./fast-lane.js";
import type { LoadedModel, ModelHolder } from "./model-holder.js";
import type { SamplingPool } from "./sampling-pool.js";
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
  /** Where the routes are declared, so that the fast lane answers them too. */
  lane: LaneRoutes;
  limits: Limits;
  /** How heavy requests are admitted, computed and sent. */
  heavy: HeavyAnswering;
  /** Work (requestCost) up to which a request is light (default DEFAULT_HEAVY_WORK: about a millisecond). */
  heavyWork?: number;
}

/** What answering a heavy request needs. */
export interface HeavyAnswering {
  admission: Admission;
  /** Where heavy requests run; null runs them here, yielding to the event loop between instances. */
  pool: SamplingPool | null;
  /** Longest a heavy request may compute (the pool's limit; without workers, checked between instances). */
  requestTimeoutMs: number;
  /** A connection whose client takes nothing of a heavy answer for this long is closed. */
  sendTimeoutMs: number;
}

export { DEFAULT_HEAVY_WORK } from "./admission.js";
import { DEFAULT_HEAVY_WORK } from "./admission.js";

const SUMMARIES: Record<PredictionKind, [string, string]> = {
  point: [
    "Point prediction: the median of posterior-predictive samples",
    "Returns `y_pred`, the median (as np.median) of `n_samples` posterior-predictive samples: for each, a posterior draw chosen at random across all chains (distinct draws while `n_samples` ≤ the number of draws), then the likelihood's noise.",
  ],
  interval: [
    "Interval prediction: the highest-density interval of posterior-predictive samples",
    "Returns `y_pred_lower` and `y_pred_upper`, the narrowest interval holding `hdi_probability` of the samples (ArviZ's HDI rule: sort, k = floor(p·n), narrowest window [s[i], s[i+k]]).",
  ],
  density: [
    "Density prediction: a histogram of posterior-predictive samples",
    "Returns `y_pred_bin_mids` and `y_pred_density`, np.histogram(samples, bins, density=True) with bin mid-points: the densities integrate to 1 over the bins. For a discrete likelihood (counts, 0/1) the mid-points are the integers and each density the probability of that integer (unit-width bins; integers are grouped only when the samples' range holds more than `bins` of them).",
  ],
  mean: [
    "Mean prediction: the posterior of the expected value E[y | x, θ]",
    "Returns `y_mean`, the posterior mean of E[y | x, θ] computed exactly for every posterior draw θ (the likelihood's noise averaged out, as brms' posterior_epred), and `y_mean_lower`, `y_mean_upper`, its highest-density interval of probability `hdi_probability`. For a logistic model this is P(y = 1) with its credible interval; for a count model the expected count; for a normal regression the regression line and its band. No sampling: no seed or n_samples.",
  ],
};

const noValidation = (): ((data: unknown) => boolean) => () => true;

export { PREDICTION_SERIALIZERS } from "./answer-body.js";

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
  const issues: ValidationIssue[] =
    err.fields.length === 0 ? [{ loc: at, msg: err.reason, type }] : err.fields.map((f) => ({ loc: [...at, f], msg: err.reason, type }));
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
    {
      loc: ["body"],
      msg: `the model's likelihood (${model.predictor.family.name}) has no mean; ask /point or /interval instead`,
      type: "value_error.prediction.no_mean",
    },
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

/** What the request costs (admission.ts): its computation and the size of its answer. */
export const costOf = (model: LoadedModel, r: PreparedRequest): RequestCost =>
  requestCost(r.params.kind, r.instances.length, r.params.nSamples, r.params.bins, model.predictor.drawCount);

/** Light enough to answer on the event loop (little work, a small answer). */
export const isLight = (cost: RequestCost, heavyWork: number): boolean => isLightCost(cost, heavyWork);

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
async function answerYielding(model: LoadedModel, r: PreparedRequest, timeoutMs: number): Promise<Uint8Array> {
  const out: InstanceAnswer[] = [];
  const deadline = performance.now() + timeoutMs;
  for (let i = 0; i < r.instances.length; i++) {
    await new Promise((resolve) => setImmediate(resolve));
    if (performance.now() > deadline)
      throw new HttpProblem(503, `The prediction took longer than the server's limit of ${timeoutMs / 1000} s; ask for fewer samples or instances`, {
        "retry-after": "1",
      });
    out.push(answerInstance(model.predictor, r.instances[i], r.params, i));
  }
  return encodeAnswer(r.params.kind, responseBody(out, r.batch, r.params, model.predictor.drawCount));
}

/**
 * A heavy request, from its turn on the connection to its answer streaming out: waits until the connection's earlier
 * requests allow it (one heavy request per connection at a time), is admitted (or refused: a 503 HttpProblem), is
 * computed and written as JSON by `compute` (on a worker), and resolves with its answer as a stream of slices for the
 * caller to send on `res`, watched by the send timeout. Everything it holds — its place on the connection, its
 * admission ticket — is let go when the response is over or the connection gone. Rejects with an HttpProblem (503),
 * what `failure` makes of compute's error, or a ClientGoneError when the client left before its turn.
 */
export function answerHeavy(
  h: HeavyAnswering,
  cost: RequestCost,
  connection: Connection,
  res: ServerResponse,
  compute: () => Promise<Uint8Array>,
  failure: (err: unknown) => unknown,
): Promise<AnswerStream> {
  return new Promise<void>((resolve, reject) => {
    const cancel = onConnectionClose(connection, () => reject(new ClientGoneError()));
    whenConnectionFree(connection, true, () => {
      cancel();
      resolve();
    });
  }).then(async () => {
    // From here the connection is held: let go once the response is over, however it ends.
    whenResponseOver(connection, res, () => releaseHeavy(connection));
    let ticket: Ticket;
    try {
      ticket = await h.admission.admit(cost, connection);
    } catch (err) {
      // Refused while more requests are pipelined behind it: close the connection after the 503 rather than refuse
      // each of them in turn (a client pipelining into a busy server, reading or not, would otherwise cost the event
      // loop a refusal per request for as long as it sends).
      if (waitingOn(connection) > 0 && !res.headersSent) res.setHeader("connection", "close");
      throw err;
    }
    whenResponseOver(connection, res, () => ticket.sent());
    let body: Uint8Array;
    try {
      body = await compute();
    } catch (err) {
      ticket.computed(null);
      throw failure(err);
    }
    ticket.computed(body.byteLength);
    ticket.sending(new SendWatch(connection, res, h.sendTimeoutMs));
    return new AnswerStream(body, connection);
  });
}

/** A heavy request of the seed API (answerHeavy), computed on a worker, or here between other requests without one. */
export function answerSeedHeavy(
  h: HeavyAnswering,
  model: LoadedModel,
  r: PreparedRequest,
  cost: RequestCost,
  connection: Connection,
  res: ServerResponse,
): Promise<AnswerStream> {
  return answerHeavy(
    h,
    cost,
    connection,
    res,
    () => (h.pool === null ? answerYielding(model, r, h.requestTimeoutMs) : h.pool.run(model.transfer, r.instances, r.params, r.batch)),
    (err) => (err instanceof InstanceError ? instanceProblem(err, r.batch) : err),
  );
}

/** The seed API's routes as the fast lane answers them: the same steps as their handler below. */
function laneHandler(kind: PredictionKind, h: HeavyAnswering, heavyWork: number): LaneHandler {
  const serialize = PREDICTION_SERIALIZERS[kind];
  return {
    prepare(model, _params, body) {
      const prepared = prepareRequest(model, kind, body);
      const cost = costOf(model, prepared);
      if (isLight(cost, heavyWork)) return { light: true, bytes: cost.bytes, write: () => serialize(answerHere(model, prepared)) };
      return { light: false, stream: (connection, res) => answerSeedHeavy(h, model, prepared, cost, connection, res) };
    },
    problem: problemResponse,
  };
}

export const predictRoutes: FastifyPluginAsync<PredictRoutesOptions> = async (app: FastifyInstance, options: PredictRoutesOptions) => {
  const { holder, heavy } = options;
  const heavyWork = options.heavyWork ?? DEFAULT_HEAVY_WORK;
  // The docs show the schema of the model loaded at start-up; docs.ts swaps in the current model's on every request.
  const spec = holder.current?.schemaSpec ?? { features: [], discrete: false, newLevelsByDefault: false };

  for (const kind of PREDICTION_KINDS) {
    const [summary, description] = SUMMARIES[kind];
    options.lane.route(
      app,
      {
        method: "POST",
        url: `${PREDICT_PREFIX}/${kind}`,
        // Validation is the loaded model's (see validation.ts), so Fastify's own is switched off for this route.
        validatorCompiler: noValidation,
        serializerCompiler: responseSerializer(kind),
        schema: {
          tags: ["predict"],
          summary,
          description: `${description}\n\n${limitsNote(options.limits)}`,
          body: requestSchema(kind, spec, options.limits, "either"),
          response: {
            200: responseSchema(kind),
            400: { ...messageErrorSchema, description: "The body is not JSON (malformed, or a `__proto__` key)." },
            413: { ...messageErrorSchema, description: "The body is larger than the server's limit (1 MiB)." },
            415: { ...messageErrorSchema, description: "The body is not sent as Content-Type: application/json." },
            422: validationErrorSchema,
            503: {
              ...messageErrorSchema,
              description: BUSY_DESCRIPTION,
              headers: { "retry-after": { type: "integer", minimum: 1, description: "Seconds to wait before retrying." } },
            },
          },
        },
        handler: (request: FastifyRequest, reply: FastifyReply) => {
          const model = holder.current;
          if (model === null) throw new HttpProblem(503, "No model is loaded yet; see /health/ready", { "retry-after": "1" });
          const prepared = prepareRequest(model, kind, request.body);
          const cost = costOf(model, prepared);
          const connection = request.raw.socket as unknown as Connection;
          if (isLight(cost, heavyWork)) {
            if (connectionFree(connection) && reply.raw.socket !== null) return reply.send(answerHere(model, prepared));
            return new Promise<PredictResponse>((resolve, reject) => {
              answerLightInTurn(connection, reply.raw, cost.bytes, () => {
                try {
                  resolve(answerHere(model, prepared));
                } catch (err) {
                  reject(err as Error);
                }
              });
            });
          }
          return answerSeedHeavy(heavy, model, prepared, cost, connection, reply.raw).then((stream) =>
            reply.header("content-length", String(stream.byteLength)).type("application/json; charset=utf-8").send(stream),
          );
        },
      },
      laneHandler(kind, heavy, heavyWork),
    );
  }
};

/** The 503 a prediction endpoint may answer. */
const BUSY_DESCRIPTION =
  "The server is busy (load shedding: the queue of heavy requests is full, or its wait longer than the server's bound), " +
  "a heavy request took longer than the server's time limit, no model is loaded yet, or the server is shutting down. " +
  "Retry after the seconds in Retry-After.";

/** The limits a request must keep to, for the docs of every prediction endpoint. */
export function limitsNote(limits: Limits): string {
  return (
    `**Limits** (this server's): n_samples ≤ ${limits.maxSamples}; bins ≤ ${limits.maxBins}; a batch of ≤ ${limits.maxBatch} instances; ` +
    `instances × n_samples ≤ ${limits.maxRequestSamples} (for /mean, instances × posterior draws); instances × bins ≤ ${limits.maxDensityValues}. ` +
    "A request over a limit is a 422 naming the field. Within them, a heavy request (many samples, instances or bins) is computed on a " +
    "worker thread and admitted by cost: when the queue of heavy requests is full or would take too long, it is answered 503 with " +
    "Retry-After (and counted in /metrics as bayes_serve_requests_shed_total)."
  );
}
