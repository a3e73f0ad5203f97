// The Open Inference Protocol (V2) over REST, beside the seed's API: what KServe, Seldon/MLServer and Triton clients
// speak. GET /v2 (server metadata), /v2/health/live and /ready, /v2/models/{name}[/versions/{version}] (metadata),
// …/ready, and POST …/infer. A request's inputs are one tensor per feature (shape [n]) or one [n, k] tensor of every
// feature in the model's order; its outputs are the posterior-predictive summaries of predict/infer.ts, each FP64.
//
// Nothing is computed or checked differently from the seed API: the tensors become the seed's instances, which the
// loaded model's own validators check (validation.ts), and the answers are the seed's summaries of one set of samples
// (predict/infer.ts), light ones on the event loop and heavy ones on the sampling workers. Errors are the protocol's
// `{"error": "…"}`: 400 for a request the model cannot answer (naming the tensor, element and feature), 404 for a
// model or version not served here; never a 5xx for a client's mistake.
import type { ErrorObject, ValidateFunction } from "ajv";
import { Ajv } from "ajv";
import type { FastifyError, FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import type { ServerResponse } from "node:http";
import {
  answerMeanings,
  inferAll,
  inferInstance,
  instanceWork,
  InstanceError,
  needsSamples,
  type FeatureSpec,
  type InferAnswer,
  type InferParams,
} from "../predict/index.js";
import { responseKindOf } from "../model/families.js";
import { parseDecimal } from "../schema/decimal.js";
import { formatPath, schemaProblems } from "../schema/problems.js";
import { HttpProblem, logProblem, NON_FINITE_MARKER_PREFIX, problemFromFastify, type ValidationIssue } from "./errors.js";
import type { LoadedModel, ModelHolder } from "./model-holder.js";
import type { AnswerStream, Connection } from "./backpressure.js";
import type { LaneHandler, LaneRoutes, ProblemResponse } from "./fast-lane.js";
import { answerHeavy, type HeavyAnswering } from "./predict-routes.js";
import { answerCost, isLightCost, type RequestCost } from "./admission.js";
import { encodeInferAnswer, responseText, type InferResponseHead } from "./v2-answer-body.js";
import { defaultBins, DEFAULT_HDI_PROBABILITY, DEFAULT_N_SAMPLES, type InstanceBody, type Limits } from "./schemas.js";
import {
  DEFAULT_QUANTILES,
  inferRequestSchema,
  inferResponseSchema,
  modelMetadataSchema,
  NUMERIC_DATATYPES,
  serverMetadataSchema,
  V2_MEAN_OUTPUTS,
  V2_OUTPUTS,
  V2_PARAMETERS,
  V2_PREFIX,
  V2_VECTOR_OUTPUTS,
  v2ErrorSchema,
  type V2Output,
} from "./v2-schemas.js";

export interface V2RoutesOptions {
  holder: ModelHolder;
  limits: Limits;
  /** The infer endpoint's work (shared with the fast lane). */
  endpoint: InferEndpoint;
  /** Where the infer routes are declared, so that the fast lane answers them too. */
  lane: LaneRoutes;
  /** How heavy requests are admitted, computed (on the sampling workers) and sent: as the seed API's are. */
  heavy: HeavyAnswering;
  bodyLimit: number;
  /** True once shutdown has begun: /v2/health/ready then answers false. */
  closing: () => boolean;
  /** GET /v2's version. */
  serverVersion: string;
}

type ParameterValue = string | number | boolean;

interface V2Input {
  name: string;
  shape: number[];
  datatype: string;
  parameters?: Record<string, ParameterValue>;
  data: unknown[];
}

export interface V2Request {
  id?: string;
  parameters?: {
    n_samples?: number;
    seed?: number;
    hdi_probability?: number;
    bins?: number;
    quantiles?: string | number[];
    allow_new_levels?: boolean;
    content_type?: string;
  };
  inputs: V2Input[];
  outputs?: { name: string; parameters?: Record<string, ParameterValue> }[];
}

/** An error in the protocol's words, `{"error": message}` (the seed API's 422, an empty body say, is its 400). */
export function v2ProblemResponse(problem: HttpProblem, requestId: string): ProblemResponse {
  return {
    status: problem.statusCode === 422 ? 400 : problem.statusCode,
    headers: { ...problem.headers, "x-request-id": requestId, "content-type": "application/json; charset=utf-8" },
    body: JSON.stringify({ error: problem.message }),
  };
}

/** A client's mistake, in the protocol's words: 400 with `{"error": message}`. */
const badRequest = (message: string): HttpProblem => new HttpProblem(400, message);

/** Where a value of an instance came from in the request, for error messages. */
type Locate = (row: number, feature: string) => string;

/** The request's tensors as the seed API's instances (keys in the model's feature order, so one object shape). */
interface DecodedInputs {
  instances: InstanceBody[];
  locate: Locate;
}

/** What a tensor's datatype allows of an element: an integer in min..max, or a finite number of magnitude below `below`. */
interface DatatypeRule {
  integer: boolean;
  min: number;
  max: number;
  below: number;
  /** The range, as a message says it. */
  range: string;
}

const intRule = (min: number, max: number): DatatypeRule => ({ integer: true, min, max, below: Infinity, range: `${min}..${max}` });
/** A 64-bit integer as JSON carries it exactly: a double holds every integer up to 2^53 − 1, and not all beyond. */
const int64Rule = (min: number): DatatypeRule => ({
  integer: true,
  min,
  max: Number.MAX_SAFE_INTEGER,
  below: Infinity,
  range: `${min}..${Number.MAX_SAFE_INTEGER} (2^53 − 1: beyond it a JSON number holds integers inexactly)`,
});
/** A float: a finite number below `below` in magnitude rounds to a finite value of the type (to nearest, ties to even). */
const floatRule = (below: number, largest: number): DatatypeRule => ({ integer: false, min: -Infinity, max: Infinity, below, range: `±${largest}` });

/** What each numeric datatype (NUMERIC_DATATYPES) allows. */
const DATATYPE_RULES: ReadonlyMap<string, DatatypeRule> = new Map([
  ["FP64", floatRule(Infinity, Number.MAX_VALUE)],
  // 2^128 − 2^103: half an ulp above FP32's largest, 3.4028234663852886e38 (which numpy prints as 3.4028235e38).
  ["FP32", floatRule(3.4028235677973366e38, 3.4028234663852886e38)],
  // Half an ulp above FP16's largest, 65504.
  ["FP16", floatRule(65520, 65504)],
  ["INT64", int64Rule(-Number.MAX_SAFE_INTEGER)],
  ["INT32", intRule(-2147483648, 2147483647)],
  ["INT16", intRule(-32768, 32767)],
  ["INT8", intRule(-128, 127)],
  ["UINT64", int64Rule(0)],
  ["UINT32", intRule(0, 4294967295)],
  ["UINT16", intRule(0, 65535)],
  ["UINT8", intRule(0, 255)],
]);

/** Whether `v` is an element the datatype allows (on the hot path: a type test and one or two comparisons). */
const allowed = (v: unknown, rule: DatatypeRule): v is number =>
  typeof v === "number" && (rule.integer ? Number.isInteger(v) && v >= rule.min && v <= rule.max : v > -rule.below && v < rule.below);

/** A JSON value in a message, briefly (never walking into it: it may be nested arbitrarily deep). */
function brief(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (Array.isArray(v)) return "an array";
  if (v !== null && typeof v === "object") return "an object";
  return String(v);
}

/** What is wrong with an element its datatype does not allow (`allowed` is false). */
function elementProblem(v: unknown, datatype: string, rule: DatatypeRule): string {
  if (typeof v !== "number") {
    return typeof v === "string" && v.startsWith(NON_FINITE_MARKER_PREFIX)
      ? `${v.slice(NON_FINITE_MARKER_PREFIX.length)}, not a finite number`
      : `${brief(v)}, not a number`;
  }
  // Infinity: a JSON number beyond a double's range, which JSON.parse reads so.
  if (!Number.isFinite(v)) return `${v}, not a finite number`;
  if (rule.integer && !Number.isInteger(v)) return `${v} is not an integer as ${datatype} requires`;
  return `${v} is outside ${datatype}'s range ${rule.range}`;
}

/** Element `i` (row-major) of a tensor, in a message; `features` as flatten's. */
function elementName(where: string, shape: readonly number[], features: readonly string[] | null, i: number): string {
  const k = shape.length === 2 ? shape[1] : 1;
  if (features !== null) return `${where} element [${Math.floor(i / k)}, ${i % k}] (feature "${features[i % k]}")`;
  return `${where} element ${k === 1 ? i : `[${Math.floor(i / k)}, ${i % k}]`}`;
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? "" : "s"}`;

/**
 * A tensor's elements as numbers, flat, checked against its shape and its datatype's rule (checkDatatype's). Its data
 * is flat (row-major, as many elements as the shape says) or nested exactly as its shape; anything else is a 400
 * saying where the nesting differs. The walk goes no deeper than the shape's rank (1 or 2), however deep the data.
 * `features`: for one [n, k] tensor of every feature, their names (an element is then named by row, column, feature).
 */
function flatten(input: V2Input, rule: DatatypeRule, where: string, features: readonly string[] | null = null): number[] {
  const { shape, data } = input;
  const n = shape[0];
  const k = shape.length === 2 ? shape[1] : 1;
  const expected = n * k;

  if (!(shape.length === 2 && data.length > 0 && Array.isArray(data[0]))) {
    // The usual tensor: flat, as many numbers as the shape says.
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (allowed(v, rule)) continue;
      if (Array.isArray(v)) {
        throw badRequest(
          shape.length === 1
            ? `${where} data[${i}] is an array; shape ${JSON.stringify(shape)} needs a number there (its data: ${plural(expected, "number")}, flat)`
            : `${where} data[${i}] is an array, but data[0] is a number; shape ${JSON.stringify(shape)} needs its data flat (${plural(expected, "number")}) or nested as the shape (${plural(n, "row")} of ${k}), not mixed`,
        );
      }
      if (i < expected) throw badRequest(`${elementName(where, shape, features, i)}: ${elementProblem(v, input.datatype, rule)}`);
    }
    if (data.length !== expected)
      throw badRequest(
        `${where}: holds ${plural(data.length, "element")}, but its shape ${JSON.stringify(shape)} has ${expected}${shape.length === 2 ? ` (flat, or nested as ${plural(n, "row")} of ${k})` : ""}`,
      );
    return data as number[];
  }

  // Nested as the shape [n, k]: n rows of k numbers.
  if (data.length !== n) throw badRequest(`${where} data has ${plural(data.length, "element")}; shape ${JSON.stringify(shape)} needs ${n} (rows of ${k})`);
  const out = new Array<number>(expected);
  for (let r = 0; r < n; r++) {
    const row: unknown = data[r];
    if (!Array.isArray(row)) throw badRequest(`${where} data[${r}] is ${brief(row)}, not an array; shape ${JSON.stringify(shape)} needs a row of ${k} there`);
    if (row.length !== k) throw badRequest(`${where} data[${r}] has ${plural(row.length, "element")}; shape ${JSON.stringify(shape)} needs ${k}`);
    for (let c = 0; c < k; c++) {
      const v: unknown = row[c];
      if (allowed(v, rule)) {
        out[r * k + c] = v;
        continue;
      }
      if (Array.isArray(v)) throw badRequest(`${where} data[${r}][${c}] is an array; shape ${JSON.stringify(shape)} needs a number there`);
      throw badRequest(`${elementName(where, shape, features, r * k + c)}: ${elementProblem(v, input.datatype, rule)}`);
    }
  }
  return out;
}

/** The tensor's datatype's rule, for one that can carry a feature (else a 400). */
function checkDatatype(input: V2Input, where: string): DatatypeRule {
  const rule = NUMERIC_DATATYPES.has(input.datatype) ? DATATYPE_RULES.get(input.datatype) : undefined;
  if (rule === undefined) throw badRequest(`${where}: datatype ${input.datatype} cannot carry a feature; send FP64 (or INT64 for an integer or a category)`);
  const p = input.parameters;
  if (p !== undefined && typeof p.binary_data_size === "number")
    throw badRequest(`${where}: binary tensor data (binary_data_size) is not supported; send the data as JSON`);
  return rule;
}

/** What decoding a model's tensors needs, made once per model: its feature names and an instance builder. */
interface FeaturePlan {
  names: string[];
  /** Instances from feature columns (row r of column k), every one an object literal of one shape. */
  build: (n: number, columns: number[][]) => InstanceBody[];
}

const plans = new WeakMap<readonly FeatureSpec[], FeaturePlan>();

function featurePlan(features: readonly FeatureSpec[]): FeaturePlan {
  let plan = plans.get(features);
  if (plan === undefined) {
    const names = features.map((f) => f.name);
    // An object literal with constant keys in the model's order: the shape the predictor's compiled reader expects.
    // (A key written "__proto__": would set the prototype; computed, it is an own property like any other.)
    const literal = names.map((n, k) => `${n === "__proto__" ? '["__proto__"]' : JSON.stringify(n)}: c${k}[r]`).join(", ");
    const locals = names.map((_, k) => `const c${k} = columns[${k}];`).join("\n");
    const build = new Function(
      `"use strict";\nreturn function build(n, columns) {\n${locals}\nconst out = new Array(n);\nfor (let r = 0; r < n; r++) out[r] = { ${literal} };\nreturn out;\n};`,
    )() as FeaturePlan["build"];
    plan = { names, build };
    plans.set(features, plan);
  }
  return plan;
}

function decodeInputs(inputs: V2Input[], features: readonly FeatureSpec[], maxBatch: number): DecodedInputs {
  const { names, build: buildColumns } = featurePlan(features);
  const listNames = (): string => names.map((n) => `"${n}"`).join(", ");
  const checkRows = (n: number, where: string): void => {
    if (n < 1) throw badRequest(`${where}: no instances (its first dimension is 0)`);
    if (n > maxBatch) throw badRequest(`${where}: ${n} instances, more than the ${maxBatch} a request may hold`);
  };

  // One [n, k] tensor: every feature, in the model's order.
  if (inputs.length === 1 && inputs[0].shape.length === 2 && !(names.length === 1 && inputs[0].name === names[0])) {
    const input = inputs[0];
    const where = `input "${input.name}"`;
    const rule = checkDatatype(input, where);
    const [n, k] = input.shape;
    if (k !== names.length)
      throw badRequest(`${where}: shape [${n}, ${k}], but the model has ${names.length} features: [n, ${names.length}] in the order ${listNames()}`);
    checkRows(n, where);
    const values = flatten(input, rule, where, names);
    const columns = names.map((_, j) => {
      const c = new Array<number>(n);
      for (let r = 0; r < n; r++) c[r] = values[r * k + j];
      return c;
    });
    return { instances: buildColumns(n, columns), locate: (row, feature) => `${where} element [${row}, ${names.indexOf(feature)}] (feature "${feature}")` };
  }

  // One [n] (or [n, 1]) tensor per feature, in the model's order.
  const columns = new Array<number[] | undefined>(names.length).fill(undefined);
  let rows = -1;
  let first = "";
  for (const input of inputs) {
    const where = `input "${input.name}"`;
    const k = names.indexOf(input.name);
    if (k < 0)
      throw badRequest(
        `${where}: not a feature of the model; its inputs are ${listNames()} (one [n] tensor each), or one [n, ${names.length}] tensor of them in that order`,
      );
    if (columns[k] !== undefined) throw badRequest(`${where}: given twice`);
    const rule = checkDatatype(input, where);
    if (!(input.shape.length === 1 || (input.shape.length === 2 && input.shape[1] === 1)))
      throw badRequest(`${where}: shape ${JSON.stringify(input.shape)}; a feature's tensor is [n] (one value per instance)`);
    const n = input.shape[0];
    checkRows(n, where);
    if (rows >= 0 && n !== rows) throw badRequest(`${where}: ${n} instances, but input "${first}" has ${rows}: every input holds the same instances`);
    if (rows < 0) {
      rows = n;
      first = input.name;
    }
    columns[k] = flatten(input, rule, where);
  }
  if (columns.includes(undefined)) {
    const missing = names.filter((_, k) => columns[k] === undefined);
    throw badRequest(`inputs: ${missing.map((m) => `"${m}"`).join(", ")} missing; the model reads ${listNames()}`);
  }
  return { instances: buildColumns(rows, columns as number[][]), locate: locatePerFeature };
}

/** Where a value came from when each feature has its own tensor. */
const locatePerFeature: Locate = (row, feature) => `input "${feature}" element ${row}`;

/** The seed validator's issues (FastAPI's loc), in terms of the request's tensors. */
function issueMessage(issue: ValidationIssue, locate: Locate): string {
  const loc = issue.loc.slice(1); // without "body"
  if (loc[0] === "data") {
    const row = typeof loc[1] === "number" ? loc[1] : 0;
    const field = typeof loc[1] === "number" ? loc[2] : loc[1];
    return typeof field === "string" ? `${locate(row, field)}: ${issue.msg}` : `inputs: ${issue.msg}`;
  }
  if (loc[0] === "algo_param") return `parameters.${loc.slice(1).join(".")}: ${issue.msg}`;
  return `${loc.join(".")}: ${issue.msg}`;
}

function instanceMessage(err: InstanceError, locate: Locate, batch: boolean): string {
  if (err.fields.length === 0) return `${batch ? `instance ${err.index}` : "the instance"}: ${err.reason}`;
  return `${err.fields.map((f) => locate(err.index, f)).join(", ")}: ${err.reason}`;
}

/** ajv's first error (schema/problems.ts's first problem) as a sentence naming the field. */
function structureMessage(errors: readonly ErrorObject[], body: unknown): string {
  const [p] = schemaProblems(errors, body, 1);
  if (p === undefined) return "the body does not fit the protocol's inference request";
  const path = formatPath(p.path);
  const at = path === "" ? "the body" : path;
  switch (p.keyword) {
    case "required":
      return `${path === "" ? "" : `${path}.`}${String(p.property)}: required`;
    case "additionalProperties": {
      const extra = String(p.property);
      if (path === "parameters") return `parameters.${extra}: not a parameter bayes-serve reads (it reads ${V2_PARAMETERS.join(", ")})`;
      return `${path === "" ? "" : `${path}.`}${extra}: not a field of the protocol's ${path === "" ? "inference request" : "object here"}`;
    }
    case "type":
      if (typeof p.value === "string" && p.value.startsWith(NON_FINITE_MARKER_PREFIX))
        return `${at}: ${p.value.slice(NON_FINITE_MARKER_PREFIX.length)} is not a finite number`;
      return `${at}: must be ${String(p.params.type)}`;
    default:
      return `${at}: ${p.message}`;
  }
}

/** The outputs a model can answer when a request names none: all, but the mean's for a likelihood without one. */
const defaultOutputs = (model: LoadedModel): V2Output[] => V2_OUTPUTS.filter((o) => model.predictor.hasMean || !V2_MEAN_OUTPUTS.has(o));

function parseQuantiles(given: string | number[] | undefined, most: number): readonly number[] {
  if (given === undefined) return DEFAULT_QUANTILES;
  const list = typeof given === "string" ? given.split(",").map((s) => s.trim()) : given;
  if (list.length === 0 || (typeof given === "string" && given.trim() === ""))
    throw badRequest('parameters.quantiles: no probabilities; give them as "0.05,0.5,0.95"');
  // The list form's schema holds it to `most` items; the string form is held to the same here.
  if (list.length > most) throw badRequest(`parameters.quantiles: ${list.length} probabilities, more than the ${most} allowed`);
  return list.map((q) => {
    // Decimal notation only, as the CSV reader reads numbers (Number() would also take "0x1", "0b1", "0o1").
    const p = typeof q === "string" ? parseDecimal(q) : q;
    if (typeof q === "string" && Number.isNaN(p))
      throw badRequest(`parameters.quantiles: ${JSON.stringify(q)} is not a decimal number; give probabilities as "0.05,0.5,0.95"`);
    if (!Number.isFinite(p) || p < 0 || p > 1) throw badRequest(`parameters.quantiles: ${JSON.stringify(q)} is not a probability in [0, 1]`);
    return p;
  });
}

/** What each output needs computed (InferParams' flags). */
const OUTPUT_NEEDS: Record<V2Output, "median" | "interval" | "mean" | "quantile" | "draws" | "density"> = {
  y_pred: "median",
  y_pred_lower: "interval",
  y_pred_upper: "interval",
  y_mean: "mean",
  y_mean_lower: "mean",
  y_mean_upper: "mean",
  y_pred_quantiles: "quantile",
  y_pred_draws: "draws",
  y_pred_bin_mids: "density",
  y_pred_density: "density",
};

/** A validated inference request: its instances, what to compute, what to answer. */
export interface PreparedInfer {
  instances: InstanceBody[];
  locate: Locate;
  params: InferParams;
  outputs: V2Output[];
  id: string | undefined;
}

export function prepareInfer(model: LoadedModel, body: V2Request, limits: Limits): PreparedInfer {
  const outputs: V2Output[] = [];
  if (body.outputs === undefined) outputs.push(...defaultOutputs(model));
  else {
    for (let i = 0; i < body.outputs.length; i++) {
      const o = body.outputs[i];
      const where = (): string => `outputs[${i}] "${o.name}"`;
      if (!(V2_OUTPUTS as readonly string[]).includes(o.name))
        throw badRequest(`${where()}: not an output of the model; it answers ${defaultOutputs(model).join(", ")}`);
      const name = o.name as V2Output;
      if (outputs.includes(name)) throw badRequest(`${where()}: asked for twice`);
      if (V2_MEAN_OUTPUTS.has(name) && !model.predictor.hasMean)
        throw badRequest(
          `${where()}: the model's likelihood (${model.predictor.family.name}) has no mean; ask for y_pred, y_pred_lower, y_pred_upper or y_pred_quantiles instead`,
        );
      const binary = o.parameters?.binary_data;
      if (binary !== undefined && binary !== false)
        throw badRequest(`${where()}: binary tensor data is not supported; ask for JSON (binary_data: false, or leave it out)`);
      outputs.push(name);
    }
    if (outputs.length === 0) throw badRequest("outputs: an empty list; leave it out for every output, or name the ones wanted");
  }
  const given = body.parameters ?? {};
  const spec = model.schemaSpec;
  const params: InferParams = {
    kind: "infer",
    nSamples: given.n_samples ?? DEFAULT_N_SAMPLES,
    seed: given.seed,
    hdiProbability: given.hdi_probability ?? DEFAULT_HDI_PROBABILITY,
    bins: given.bins ?? defaultBins(spec.discrete),
    quantiles: parseQuantiles(given.quantiles, limits.maxBins),
    allowNewLevels: given.allow_new_levels ?? spec.newLevelsByDefault,
    median: false,
    interval: false,
    mean: false,
    quantile: false,
    draws: false,
    density: false,
  };
  for (const o of outputs) params[OUTPUT_NEEDS[o]] = true;
  if (params.allowNewLevels && given.allow_new_levels === true && model.predictor.newLevelFeatures.length === 0)
    throw badRequest(
      "parameters.allow_new_levels: no category of this model can answer unseen levels: that needs a parameter vector indexed by it whose prior has only constants and scalar parameters as arguments",
    );

  const { instances, locate } = decodeInputs(body.inputs, spec.features, limits.maxBatch);
  const n = instances.length;
  // The seed API's validation of the instances and of n_samples × instances, as is (a single instance by the
  // validator compiled at load, a batch by the batch one).
  const seedBody: Record<string, unknown> = { data: n === 1 ? instances[0] : instances, algo_param: { n_samples: needsSamples(params) ? params.nSamples : 1 } };
  if (given.allow_new_levels !== undefined) seedBody.allow_new_levels = given.allow_new_levels;
  const issues = model.validators.point(seedBody);
  if (issues !== null)
    throw badRequest(
      issues
        .slice(0, 5)
        .map((i) => issueMessage(i, locate))
        .join("; "),
    );
  const drawCount = model.predictor.drawCount;
  if (params.mean && n * drawCount > limits.maxRequestSamples)
    throw badRequest(
      `inputs: posterior draws × instances (${drawCount} × ${n} = ${n * drawCount}) is more than ${limits.maxRequestSamples} for y_mean; send fewer instances at once`,
    );
  // Answers sized instances × something are bounded as the seed API bounds a density's (a response of a few MB).
  const tooMany = (what: string, per: number): HttpProblem =>
    badRequest(
      `parameters: ${what} = ${per * n} values, more than the ${limits.maxDensityValues} an answer may hold; ask for fewer, or name the outputs wanted in "outputs"`,
    );
  const most = limits.maxDensityValues;
  if (params.density && params.bins * n > most) throw tooMany(`bins × instances (${params.bins} × ${n})`, params.bins);
  if (params.quantile && params.quantiles.length * n > most)
    throw tooMany(`quantiles × instances (${params.quantiles.length} × ${n})`, params.quantiles.length);
  if (params.draws && params.nSamples * n > most) throw tooMany(`n_samples × instances (${params.nSamples} × ${n}) for y_pred_draws`, params.nSamples);
  return { instances, locate, params, outputs, id: body.id };
}

/** What each output tensor means for this model's kind of target (answer-meanings.ts, per tensor). */
export function outputMeanings(model: LoadedModel): Record<string, string> {
  const kind = responseKindOf(model.predictor.family);
  const m = answerMeanings(kind, model.predictor.family.name);
  const out: Record<string, string> = {
    y_pred: m.point,
    y_pred_lower: `the lower end of ${m.interval}`,
    y_pred_upper: `the upper end of ${m.interval}`,
    y_pred_quantiles:
      kind === "continuous"
        ? "quantiles of the predictive draws at parameters.quantiles (R's type 7, numpy's default), one row per instance"
        : "quantiles of the predictive draws at parameters.quantiles, each one of the draws (the inverse of their empirical CDF, R's type 1): integers",
    y_pred_draws: `the n_samples posterior-predictive draws themselves, one row per instance${kind === "continuous" ? "" : kind === "count" ? " (counts)" : " (0 or 1)"}`,
    y_pred_bin_mids: `the mid-points of the histogram's bins: ${m.density}`,
    y_pred_density: `the density in each bin: ${m.density}`,
  };
  if (model.predictor.hasMean) {
    out.y_mean = m.mean;
    out.y_mean_lower = "the lower end of y_mean's highest-density interval";
    out.y_mean_upper = "the upper end of y_mean's highest-density interval";
  }
  return out;
}

/**
 * The docs' example requests for the model serving now: one instance as one tensor per feature, and a batch of two as
 * one [n, k] tensor.
 */
export function inferExamples(model: LoadedModel, example: InstanceBody): Record<string, { summary: string; value: unknown }> {
  const features = model.features;
  const datatype = (f: FeatureSpec): string => (f.type === "float" ? "FP64" : "INT64");
  const allInteger = features.every((f) => f.type !== "float");
  return {
    single: {
      summary: "One instance, a tensor per feature, every output",
      value: { inputs: features.map((f) => ({ name: f.name, shape: [1], datatype: datatype(f), data: [example[f.name]] })) },
    },
    interval: {
      summary: "The interval only, reproducible",
      value: {
        parameters: { n_samples: 1000, seed: 1, hdi_probability: 0.9 },
        inputs: features.map((f) => ({ name: f.name, shape: [1], datatype: datatype(f), data: [example[f.name]] })),
        outputs: [{ name: "y_pred_lower" }, { name: "y_pred_upper" }],
      },
    },
    matrix: {
      summary: "A batch of two as one [n, k] tensor in feature order",
      value: {
        inputs: [
          {
            name: "features",
            shape: [2, features.length],
            datatype: allInteger ? "INT64" : "FP64",
            data: [features.map((f) => example[f.name]), features.map((f) => example[f.name])],
          },
        ],
        outputs: [{ name: "y_pred" }, { name: "y_pred_quantiles" }],
        parameters: { quantiles: "0.1,0.5,0.9" },
      },
    },
  };
}

/**
 * The infer endpoint's work, shared by its Fastify route and the fast lane (fast-lane.ts, which answers light valid
 * requests without Fastify's request lifecycle): which model a URL names, the request checked and prepared, and a
 * light answer's body.
 */
export class InferEndpoint {
  private readonly checkStructure: ValidateFunction;

  constructor(private readonly options: { limits: Limits; heavyWork: number; modelName?: string }) {
    const ajv = new Ajv({
      allErrors: false,
      coerceTypes: false,
      useDefaults: false,
      removeAdditional: false,
      strictNumbers: true,
      strict: false,
      validateSchema: false,
    });
    this.checkStructure = ajv.compile(inferRequestSchema(options.limits));
  }

  /** The name clients call the model by. */
  servedName(model: LoadedModel): string {
    return this.options.modelName ?? model.info.model.name;
  }

  /** The model serving now, if `name` (and `version`, when given) name it; else a 404 (503 before any is loaded). */
  modelNamed(model: LoadedModel | null, name: string, version: string | undefined): LoadedModel {
    if (model === null) throw new HttpProblem(503, "No model is loaded yet; see /v2/health/ready", { "retry-after": "1" });
    const served = this.servedName(model);
    if (name !== served) throw new HttpProblem(404, `model "${name}" is not served here; this server serves "${served}"`);
    if (version !== undefined && version !== model.version)
      throw new HttpProblem(404, `model "${name}" version "${version}" is not served here; the version serving is "${model.version}"`);
    return model;
  }

  /** A parsed body checked against the protocol's schema and the model (400 naming what is wrong). */
  prepare(model: LoadedModel, body: unknown): PreparedInfer {
    if (!this.checkStructure(body)) throw badRequest(structureMessage(this.checkStructure.errors ?? [], body));
    return prepareInfer(model, body as V2Request, this.options.limits);
  }

  /** What answering costs, as admission counts it: the samples and draws, the bins, the numbers written. */
  cost(model: LoadedModel, r: PreparedInfer): RequestCost {
    const p = r.params;
    const numbers =
      (p.median ? 1 : 0) +
      (p.interval ? 2 : 0) +
      (p.mean ? 3 : 0) +
      (p.quantile ? p.quantiles.length : 0) +
      (p.draws ? p.nSamples : 0) +
      (p.density ? 2 * p.bins : 0);
    return answerCost(r.instances.length, instanceWork(p, model.predictor.drawCount), numbers, p.density ? p.bins : 0);
  }

  /** Light enough to answer on the event loop: little work and a small answer (admission.ts's rule). */
  isLight(model: LoadedModel, r: PreparedInfer): boolean {
    return isLightCost(this.cost(model, r), this.options.heavyWork);
  }

  /** What the answer's body says besides the answers. */
  head(model: LoadedModel, r: PreparedInfer): InferResponseHead {
    return { modelName: this.servedName(model), version: model.version, drawCount: model.predictor.drawCount, id: r.id, outputs: r.outputs, params: r.params };
  }

  /** The 200 body of a light request (400 for an instance the model cannot answer). */
  answerLight(model: LoadedModel, r: PreparedInfer): string {
    let answers: InferAnswer[];
    try {
      answers = inferAll(model.predictor, r.instances, r.params);
    } catch (err) {
      throw this.failure(err, r);
    }
    return responseText(this.head(model, r), answers);
  }

  /** An instance the model cannot answer, as the protocol's 400 naming its tensor elements; other errors as they are. */
  private failure(err: unknown, r: PreparedInfer): unknown {
    return err instanceof InstanceError ? badRequest(instanceMessage(err, r.locate, r.instances.length > 1)) : err;
  }

  /**
   * A heavy request as the seed API's (answerHeavy): its turn on the connection, admission, its answer computed and
   * written as JSON on a sampling worker (or here between other requests without one), streamed out with the send
   * timeout.
   */
  answerHeavy(h: HeavyAnswering, model: LoadedModel, r: PreparedInfer, connection: Connection, res: ServerResponse): Promise<AnswerStream> {
    const head = this.head(model, r);
    const compute = async (): Promise<Uint8Array> =>
      h.pool === null
        ? encodeInferAnswer(head, await inferYielding(model, r.instances, r.params, h.requestTimeoutMs))
        : h.pool.runInfer(model.transfer, r.instances, r.params, { modelName: head.modelName, id: head.id, outputs: head.outputs });
    return answerHeavy(h, this.cost(model, r), connection, res, compute, (err) => this.failure(err, r));
  }

  /** An infer route as the fast lane answers it (`versioned`: the route naming the version too). */
  laneHandler(h: HeavyAnswering, versioned: boolean): LaneHandler {
    return {
      prepare: (current, [name, version], body) => {
        const model = this.modelNamed(current, decodeURIComponent(name), versioned ? decodeURIComponent(version) : undefined);
        const prepared = this.prepare(model, body);
        const cost = this.cost(model, prepared);
        if (isLightCost(cost, this.options.heavyWork)) return { light: true, bytes: cost.bytes, write: () => this.answerLight(model, prepared) };
        return { light: false, stream: (connection, res) => this.answerHeavy(h, model, prepared, connection, res) };
      },
      problem: v2ProblemResponse,
    };
  }
}

export const v2Routes: FastifyPluginAsync<V2RoutesOptions> = async (app: FastifyInstance, options: V2RoutesOptions) => {
  const { holder, endpoint, heavy } = options;
  const servedName = (model: LoadedModel): string => endpoint.servedName(model);

  // The protocol's error shape for every error of these routes (the rest of the app keeps FastAPI's).
  app.setErrorHandler((err: FastifyError | HttpProblem, request: FastifyRequest, reply: FastifyReply) => {
    let problem = err instanceof HttpProblem ? err : problemFromFastify(err, options.bodyLimit);
    if (problem === null) {
      request.log.error({ err }, "unexpected error");
      problem = new HttpProblem(500, "Internal Server Error");
    } else logProblem(request.log, problem);
    const r = v2ProblemResponse(problem, request.id);
    reply.code(r.status).headers(r.headers).send(r.body);
  });

  const noValidation = (): ((data: unknown) => boolean) => () => true;
  const requestSchema = inferRequestSchema(options.limits);
  const asJson = (): ((data: unknown) => string) => (data) => JSON.stringify(data);
  const modelNamed = (name: string, version: string | undefined): LoadedModel => endpoint.modelNamed(holder.current, name, version);

  const tags = ["v2"];
  /** A status answered with no body (the protocol's health and readiness), as OpenAPI documents it. */
  const noBody = (description: string) => ({ description, type: "null" });
  const errors = { 400: v2ErrorSchema, 404: v2ErrorSchema, 503: v2ErrorSchema };
  const bodyErrors = {
    413: { ...v2ErrorSchema, description: "The body is larger than the server's limit (1 MiB)." },
    415: { ...v2ErrorSchema, description: "The body is not sent as Content-Type: application/json." },
  };

  app.get(V2_PREFIX, { serializerCompiler: asJson, schema: { tags, summary: "Server metadata", response: { 200: serverMetadataSchema } } }, async () => ({
    name: "bayes-serve",
    version: options.serverVersion,
    extensions: [],
  }));
  app.get(`${V2_PREFIX}/health/live`, { schema: { tags, summary: "Server live: 200, no body" } }, async (_request, reply) => reply.code(200).send());
  app.get(
    `${V2_PREFIX}/health/ready`,
    {
      schema: {
        tags,
        summary: "Server ready: 200 once a model is loaded and until shutdown begins, else 400; no body",
        response: { 200: noBody("ready"), 400: noBody("no model loaded yet, or shutting down") },
      },
    },
    async (_request, reply) => reply.code(holder.current !== null && !options.closing() ? 200 : 400).send(),
  );

  for (const base of [`${V2_PREFIX}/models/:model_name`, `${V2_PREFIX}/models/:model_name/versions/:model_version`]) {
    app.get(
      base,
      {
        serializerCompiler: asJson,
        schema: { tags, summary: "Model metadata: inputs (one per feature), outputs, what they mean", response: { 200: modelMetadataSchema, ...errors } },
      },
      async (request) => {
        const { model_name, model_version } = request.params as { model_name: string; model_version?: string };
        const model = modelNamed(model_name, model_version);
        const family = model.predictor.family;
        return {
          name: servedName(model),
          versions: [model.version],
          platform: "bayes-serve",
          inputs: model.features.map((f) => ({ name: f.name, datatype: f.type === "float" ? "FP64" : "INT64", shape: [-1] })),
          outputs: defaultOutputs(model).map((o) => ({ name: o, datatype: "FP64", shape: V2_VECTOR_OUTPUTS.has(o) ? [-1] : [-1, -1] })),
          parameters: {
            family: family.name,
            kind: responseKindOf(family),
            discrete: family.discrete,
            n_draws: model.predictor.drawCount,
            ...outputMeanings(model),
          },
        };
      },
    );
    const readySchema = {
      tags,
      summary: "Model ready: 200 when this model (and version) is serving; no body",
      response: { 200: noBody("this model (and version) is serving"), 400: noBody("no model loaded yet, or shutting down"), 404: v2ErrorSchema },
    };
    app.get(`${base}/ready`, { schema: readySchema }, async (request, reply) => {
      const { model_name, model_version } = request.params as { model_name: string; model_version?: string };
      const model = holder.current;
      if (model === null || options.closing()) return reply.code(400).send();
      modelNamed(model_name, model_version);
      return reply.code(200).send();
    });
    options.lane.route(
      app,
      {
        method: "POST",
        url: `${base}/infer`,
        validatorCompiler: noValidation,
        serializerCompiler: asJson,
        schema: {
          tags,
          summary: "Inference: posterior-predictive summaries as FP64 tensors",
          description:
            "Inputs: one [n] tensor per feature (FP64, or INT64 for integers and categories), or one [n, k] tensor of every feature in the model's order. " +
            `Outputs (all by default, or those named in \`outputs\`): ${V2_OUTPUTS.join(", ")}. Parameters: n_samples, seed, hdi_probability, bins, quantiles, allow_new_levels. See docs/v2.md.`,
          body: requestSchema,
          response: { 200: inferResponseSchema, ...errors, ...bodyErrors },
        },
        handler: (request: FastifyRequest, reply: FastifyReply) => {
          const { model_name, model_version } = request.params as { model_name: string; model_version?: string };
          const model = modelNamed(model_name, model_version);
          const prepared = endpoint.prepare(model, request.body);
          reply.type("application/json; charset=utf-8");
          if (endpoint.isLight(model, prepared)) return reply.send(endpoint.answerLight(model, prepared));
          return endpoint
            .answerHeavy(heavy, model, prepared, request.raw.socket as unknown as Connection, reply.raw)
            .then((stream) => reply.header("content-length", String(stream.byteLength)).send(stream));
        },
      },
      endpoint.laneHandler(heavy, base.includes(":model_version")),
    );
  }
};

/** Heavy work without workers: one instance at a time, letting other requests in between, within the time limit. */
async function inferYielding(model: LoadedModel, instances: InstanceBody[], params: InferParams, timeoutMs: number): Promise<InferAnswer[]> {
  const out: InferAnswer[] = [];
  const deadline = performance.now() + timeoutMs;
  for (let i = 0; i < instances.length; i++) {
    await new Promise((resolve) => setImmediate(resolve));
    if (performance.now() > deadline)
      throw new HttpProblem(503, `The prediction took longer than the server's limit of ${timeoutMs / 1000} s; ask for fewer samples or instances`, {
        "retry-after": "1",
      });
    out.push(inferInstance(model.predictor, instances[i], params, i));
  }
  return out;
}
