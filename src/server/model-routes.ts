// GET /model: the version being served, its training metrics, diagnostics summary and feature schema, the limits
// requests must keep to, and the state of hot reload.
import { Type } from "@sinclair/typebox";
import type { FastifyInstance, FastifyPluginAsync } from "fastify";
import { HttpProblem } from "./errors.js";
import { publicReloadError, type ModelHolder } from "./model-holder.js";
import { messageErrorSchema } from "./schemas.js";

export interface ModelRoutesOptions {
  holder: ModelHolder;
}

const feature = Type.Object({
  name: Type.String(),
  type: Type.Union([Type.Literal("float"), Type.Literal("integer"), Type.Literal("category")]),
  levels: Type.Optional(Type.Integer()),
  minimum: Type.Optional(Type.Number({ description: "Smallest value allowed (a declared bound, or 0 for an index)." })),
  maximum: Type.Optional(Type.Number({ description: "Largest value allowed (a declared bound, or the last position of the vector indexed)." })),
});

const family = Type.Object(
  {
    name: Type.String({ description: "The likelihood's family, e.g. Normal, PoissonLog, BernoulliLogit." }),
    kind: Type.Union([Type.Literal("continuous"), Type.Literal("count"), Type.Literal("binary")]),
    support: Type.String({ description: "The values the target can take, in words." }),
    discrete: Type.Boolean(),
    has_mean: Type.Boolean({ description: "Whether /mean can answer (every family but the Cauchy's)." }),
  },
  { description: "The likelihood the answers come from." },
);

const answers = Type.Object(
  { point: Type.String(), interval: Type.String(), density: Type.String(), mean: Type.String() },
  { description: "What each endpoint's answer means for this model's kind of target." },
);

const modelInfoSchema = Type.Object(
  {
    version: Type.String(),
    created_at: Type.String(),
    loaded_at: Type.String(),
    model: Type.Object({ name: Type.String(), observation: Type.String(), target: Type.String() }),
    family,
    answers,
    new_levels: Type.Object(
      { features: Type.Array(Type.String()), default: Type.Boolean() },
      { description: "Categories whose levels not seen in training can be answered (allow_new_levels), and whether requests do so unless they say." },
    ),
    features: Type.Array(feature),
    parameters: Type.Array(Type.String()),
    draws: Type.Object({ chains: Type.Integer(), draws_per_chain: Type.Integer() }),
    sampler: Type.Record(Type.String(), Type.Unknown()),
    data: Type.Record(Type.String(), Type.Unknown()),
    metrics: Type.Unknown({ description: "Training metrics on held-out data, as the train pipeline recorded them." }),
    diagnostics: Type.Unknown({ description: "Convergence diagnostics (R-hat, ESS, divergences) as recorded at training." }),
    gate: Type.Object({ passed: Type.Boolean(), failures: Type.Array(Type.String()) }),
    limits: Type.Object({
      maxSamples: Type.Integer(),
      maxBins: Type.Integer(),
      maxBatch: Type.Integer(),
      maxRequestSamples: Type.Integer(),
      maxDensityValues: Type.Integer(),
    }),
    reload: Type.Object({
      last_check_at: Type.Union([Type.String(), Type.Null()]),
      last_error: Type.Union([
        Type.Object(
          {
            version: Type.Union([Type.String(), Type.Null()]),
            kind: Type.Union([Type.Literal("empty"), Type.Literal("damaged"), Type.Literal("store"), Type.Literal("internal")]),
            message: Type.String(),
            at: Type.String(),
            attempts: Type.Integer(),
            next_retry_at: Type.Union([Type.String(), Type.Null()]),
          },
          { description: "Why the version `latest` names is not serving, and when it is tried again. The full error is in the server log." },
        ),
        Type.Null(),
      ]),
    }),
  },
  { description: "The model being served." },
);

export const modelRoutes: FastifyPluginAsync<ModelRoutesOptions> = async (app: FastifyInstance, options: ModelRoutesOptions) => {
  app.get(
    "/model",
    {
      schema: {
        tags: ["model"],
        summary: "The model being served: version, metrics, diagnostics, feature schema",
        response: { 200: modelInfoSchema, 503: messageErrorSchema },
      },
    },
    async () => {
      const m = options.holder.current;
      if (m === null) throw new HttpProblem(503, "No model is loaded yet", { "retry-after": "1" });
      const s = options.holder.status;
      return { ...m.info, reload: { last_check_at: s.lastCheckAt, last_error: publicReloadError(s.lastError) } };
    },
  );
};
