// The body of a 200 answer of the Open Inference Protocol's infer: each output tensor FP64, flat, in the order asked
// for. Written alike on the event loop (light requests) and on the sampling workers (heavy ones, whose bytes are
// handed back without a copy and streamed out as the seed API's are), so it depends on nothing but the answers and
// what the request asked.
import { needsSamples, type InferAnswer, type InferParams } from "../predict/index.js";
import { ownBytes } from "./answer-body.js";
import { V2_VECTOR_OUTPUTS, type V2Output } from "./v2-schemas.js";

type ParameterValue = string | number | boolean;

/** What an answer's body says besides the answers: the model, the request's id, the outputs and the parameters. */
export interface InferResponseHead {
  /** The name clients call the model by. */
  modelName: string;
  version: string;
  /** The posterior draws a mean averages over (n_draws). */
  drawCount: number;
  id: string | undefined;
  outputs: readonly V2Output[];
  params: InferParams;
}

export interface V2Tensor {
  name: string;
  datatype: "FP64";
  shape: number[];
  parameters?: Record<string, ParameterValue>;
  data: number[];
}

export interface V2Response {
  model_name: string;
  model_version: string;
  id?: string;
  parameters: Record<string, ParameterValue>;
  outputs: V2Tensor[];
}

/** One instance's value of a vector output (shape [n]). */
function vectorValue(name: V2Output, a: InferAnswer): number {
  switch (name) {
    case "y_pred":
      return a.median as number;
    case "y_pred_lower":
      return (a.interval as [number, number])[0];
    case "y_pred_upper":
      return (a.interval as [number, number])[1];
    case "y_mean":
      return (a.mean as { mean: number }).mean;
    case "y_mean_lower":
      return (a.mean as { lower: number }).lower;
    default:
      return (a.mean as { upper: number }).upper;
  }
}

/** An output tensor, FP64, its data flat. */
function tensorOf(name: V2Output, p: InferParams, answers: InferAnswer[]): V2Tensor {
  const n = answers.length;
  if (V2_VECTOR_OUTPUTS.has(name)) {
    const data = new Array<number>(n);
    for (let i = 0; i < n; i++) data[i] = vectorValue(name, answers[i]);
    return { name, datatype: "FP64", shape: [n], data };
  }
  if (name === "y_pred_quantiles") {
    const q = p.quantiles.length;
    const data: number[] = [];
    for (const a of answers) for (const v of a.quantiles as number[]) data.push(v);
    return { name, datatype: "FP64", shape: [n, q], parameters: { quantiles: p.quantiles.join(",") }, data };
  }
  if (name === "y_pred_draws") {
    const data: number[] = [];
    for (const a of answers) for (const v of a.draws as Float64Array) data.push(v);
    return { name, datatype: "FP64", shape: [n, p.nSamples], data };
  }
  // A discrete family's histogram has one bin per integer in the samples' range (up to `bins`): a batch's shorter
  // rows continue along their own grid with probability 0, so that every row has the same width.
  const width = Math.max(...answers.map((a) => (a.density as { mids: number[] }).mids.length));
  const data: number[] = [];
  for (const a of answers) {
    const h = a.density as { mids: number[]; density: number[]; width: number };
    for (let j = 0; j < width; j++) data.push(name === "y_pred_density" ? (h.density[j] ?? 0) : j < h.mids.length ? h.mids[j] : h.mids[0] + j * h.width);
  }
  return { name, datatype: "FP64", shape: [n, width], data };
}

/** What the outputs were computed with. */
function parametersOf(h: InferResponseHead): Record<string, ParameterValue> {
  const p = h.params;
  const parameters: Record<string, ParameterValue> = {};
  if (needsSamples(p)) parameters.n_samples = p.nSamples;
  if (p.seed !== undefined) parameters.seed = p.seed;
  if (p.interval || p.mean) parameters.hdi_probability = p.hdiProbability;
  if (p.mean) parameters.n_draws = h.drawCount;
  if (p.quantile) parameters.quantiles = p.quantiles.join(",");
  if (p.density) parameters.bins = p.bins;
  return parameters;
}

/** The response: each output tensor FP64, flat, in the order asked for. */
export function responseOf(h: InferResponseHead, answers: InferAnswer[]): V2Response {
  return {
    model_name: h.modelName,
    model_version: h.version,
    ...(h.id !== undefined ? { id: h.id } : {}),
    parameters: parametersOf(h),
    outputs: h.outputs.map((name) => tensorOf(name, h.params, answers)),
  };
}

/** `{"name":"y_pred","datatype":"FP64","shape":[` for each vector output. */
const VECTOR_HEADS = new Map<V2Output, string>([...V2_VECTOR_OUTPUTS].map((name) => [name, `{"name":"${name}","datatype":"FP64","shape":[`]));

/**
 * The response as JSON text, written directly: the same bytes as JSON.stringify(responseOf(…)) (the numbers by
 * JSON.stringify, so the same digits; a test compares the two), without building the vector tensors as objects.
 */
export function responseText(h: InferResponseHead, answers: InferAnswer[]): string {
  let out = responseHead(h.modelName, h.version);
  if (h.id !== undefined) out += `,"id":${JSON.stringify(h.id)}`;
  out += ',"parameters":{';
  const parameters = parametersOf(h);
  let first = true;
  for (const key in parameters) {
    const v = parameters[key];
    // Keys are ours (plain words); numbers and booleans as JSON.stringify writes them.
    out += `${first ? "" : ","}"${key}":${typeof v === "string" ? JSON.stringify(v) : String(v)}`;
    first = false;
  }
  out += '},"outputs":[';
  const n = answers.length;
  for (let i = 0; i < h.outputs.length; i++) {
    const name = h.outputs[i];
    if (i > 0) out += ",";
    const head = VECTOR_HEADS.get(name);
    if (head !== undefined) {
      out += `${head}${n}],"data":[`;
      for (let j = 0; j < n; j++) out += `${j === 0 ? "" : ","}${JSON.stringify(vectorValue(name, answers[j]))}`;
      out += "]}";
      continue;
    }
    const t = tensorOf(name, h.params, answers);
    out += `{"name":"${t.name}","datatype":"FP64","shape":[${t.shape.join(",")}]`;
    if (t.parameters !== undefined) out += `,"parameters":${JSON.stringify(t.parameters)}`;
    out += `,"data":${JSON.stringify(t.data)}}`;
  }
  return `${out}]}`;
}

/** `{"model_name":…,"model_version":…`, kept for the model and name last written (the same for every request). */
let head = { name: "", version: "", text: "" };
function responseHead(name: string, version: string): string {
  if (head.name !== name || head.version !== version)
    head = { name, version, text: `{"model_name":${JSON.stringify(name)},"model_version":${JSON.stringify(version)}` };
  return head.text;
}

/** The answer written as JSON, in UTF-8, in an ArrayBuffer of its own (a worker transfers it without a copy). */
export function encodeInferAnswer(h: InferResponseHead, answers: InferAnswer[]): Uint8Array<ArrayBuffer> {
  return ownBytes(responseText(h, answers));
}
