// An Open Inference Protocol (V2) REST client written from the protocol's own JSON schemas
// (test/fixtures/open-inference-v2/rest_predict_v2.yaml, KServe's): each request it sends validates against
// `inference_request`, and each response it reads is checked against the schema the protocol gives for it — the
// metadata objects, `inference_response`, and the error objects with their 4xx status — before it is handed back. A
// server that strays from the protocol fails here, whatever the test then looks at.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Ajv, type ValidateFunction } from "ajv";
import { parse } from "yaml";

const SPEC = parse(readFileSync(join(import.meta.dirname, "..", "fixtures", "open-inference-v2", "rest_predict_v2.yaml"), "utf8")) as {
  components: { schemas: Record<string, unknown> };
};

const ajv = new Ajv({ strict: false, allErrors: true });
// The components as one schema document, so that their `#/components/schemas/…` references resolve.
ajv.addSchema({ $id: "v2", components: SPEC.components });
const schema = (name: string): ValidateFunction => {
  const v = ajv.getSchema(`v2#/components/schemas/${name}`);
  if (v === undefined) throw new Error(`the protocol has no schema ${name}`);
  return v;
};

export type ParameterValue = string | number | boolean;
export interface Tensor {
  name: string;
  shape: number[];
  datatype: string;
  parameters?: Record<string, ParameterValue>;
  data: unknown[];
}
export interface InferenceRequest {
  id?: string;
  parameters?: Record<string, unknown>;
  inputs: Tensor[];
  outputs?: { name: string; parameters?: Record<string, ParameterValue> }[];
}
export interface InferenceResponse {
  model_name: string;
  model_version?: string;
  id?: string;
  parameters?: Record<string, ParameterValue>;
  outputs: (Tensor & { data: number[] })[];
}
export interface ModelMetadata {
  name: string;
  versions?: string[];
  platform: string;
  inputs: { name: string; datatype: string; shape: number[] }[];
  outputs: { name: string; datatype: string; shape: number[] }[];
  parameters?: Record<string, ParameterValue>;
}

/** A failed request: its status and the protocol's error message. */
export class V2Error extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
  ) {
    super(`${status}: ${error}`);
  }
}

function check(validate: ValidateFunction, body: unknown, what: string): void {
  if (!validate(body)) throw new Error(`${what} does not fit the protocol's schema: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(body).slice(0, 500)}`);
}

export class OpenInferenceClient {
  constructor(private readonly url: string) {}

  private async get(path: string, ok: ValidateFunction | null, error: ValidateFunction): Promise<unknown> {
    const r = await fetch(`${this.url}${path}`, { signal: AbortSignal.timeout(10_000) });
    return this.read(r, ok, error, `GET ${path}`);
  }

  private async read(r: Response, ok: ValidateFunction | null, error: ValidateFunction, what: string): Promise<unknown> {
    const text = await r.text();
    if (r.status === 200) {
      if (ok === null) return null;
      const body = JSON.parse(text) as unknown;
      check(ok, body, `${what}'s response`);
      return body;
    }
    if (r.status >= 500 && r.status !== 503) throw new Error(`${what}: ${r.status} ${text}`);
    const body = JSON.parse(text) as unknown;
    check(error, body, `${what}'s error (${r.status})`);
    throw new V2Error(r.status, (body as { error: string }).error);
  }

  /** A health endpoint: true for 200, false for 4xx (the protocol's boolean), with an empty body either way. */
  private async health(path: string): Promise<boolean> {
    const r = await fetch(`${this.url}${path}`, { signal: AbortSignal.timeout(10_000) });
    const text = await r.text();
    if (r.status === 200) {
      if (text !== "") throw new Error(`GET ${path}: a health response's body should be empty, got ${text}`);
      return true;
    }
    if (r.status >= 400 && r.status < 500) return false;
    throw new Error(`GET ${path}: ${r.status}, neither 200 nor 4xx`);
  }

  serverLive(): Promise<boolean> {
    return this.health("/v2/health/live");
  }

  serverReady(): Promise<boolean> {
    return this.health("/v2/health/ready");
  }

  modelReady(name: string, version?: string): Promise<boolean> {
    return this.health(`${modelPath(name, version)}/ready`);
  }

  async serverMetadata(): Promise<{ name: string; version: string; extensions: string[] }> {
    return (await this.get("/v2", schema("metadata_server_response"), schema("metadata_server_error_response"))) as {
      name: string;
      version: string;
      extensions: string[];
    };
  }

  async modelMetadata(name: string, version?: string): Promise<ModelMetadata> {
    return (await this.get(modelPath(name, version), schema("metadata_model_response"), schema("metadata_model_error_response"))) as ModelMetadata;
  }

  /** POST …/infer with a request that fits `inference_request` (checked before it is sent). */
  async infer(name: string, request: InferenceRequest, version?: string): Promise<InferenceResponse> {
    check(schema("inference_request"), request, "the request");
    return this.inferRaw(name, JSON.stringify(request), version);
  }

  /** POST …/infer with any body (to see how the server answers a malformed one). */
  async inferRaw(name: string, body: string, version?: string, contentType = "application/json"): Promise<InferenceResponse> {
    const path = `${modelPath(name, version)}/infer`;
    const r = await fetch(`${this.url}${path}`, { method: "POST", headers: { "content-type": contentType }, body, signal: AbortSignal.timeout(30_000) });
    const out = (await this.read(r, schema("inference_response"), schema("inference_error_response"), `POST ${path}`)) as InferenceResponse;
    // The protocol: "if specified this identifier must be returned in the response".
    let id: unknown;
    try {
      id = (JSON.parse(body) as { id?: unknown }).id;
    } catch {
      id = undefined;
    }
    if (id !== undefined && out.id !== id) throw new Error(`the response's id ${String(out.id)} is not the request's ${String(id)}`);
    return out;
  }
}

const modelPath = (name: string, version?: string): string =>
  `/v2/models/${encodeURIComponent(name)}${version === undefined ? "" : `/versions/${encodeURIComponent(version)}`}`;

/** An output tensor by name, its data as rows when it is [n, m]. */
export function output(r: InferenceResponse, name: string): { shape: number[]; data: number[]; rows: number[][]; parameters?: Record<string, ParameterValue> } {
  const t = r.outputs.find((o) => o.name === name);
  if (t === undefined) throw new Error(`no output ${name} in ${r.outputs.map((o) => o.name).join(", ")}`);
  if (t.datatype !== "FP64") throw new Error(`${name} is ${t.datatype}, not FP64`);
  const size = t.shape.reduce((a, b) => a * b, 1);
  if (t.data.length !== size) throw new Error(`${name}: ${t.data.length} elements for shape ${JSON.stringify(t.shape)}`);
  const width = t.shape.length === 2 ? t.shape[1] : 1;
  const rows: number[][] = [];
  for (let i = 0; i < t.shape[0]; i++) rows.push((t.data as number[]).slice(i * width, (i + 1) * width));
  return { shape: t.shape, data: t.data, rows, parameters: t.parameters };
}
