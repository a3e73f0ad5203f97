// The model being served, and hot reload. A version is loaded completely beside the one serving — read, every
// checksum verified, the model rebuilt and compiled, validators compiled, a smoke prediction made — and only then
// swapped in by one reference assignment. A request takes the reference once and keeps it to the end, so a swap never
// fails or mixes a request. A version that cannot be loaded is logged and the old one keeps serving.
import type { FastifyBaseLogger } from "fastify";
import type { ArtifactStore } from "../artifact/store.js";
import type { Manifest, JsonValue } from "../artifact/manifest.js";
import { BayesServeError } from "../errors.js";
import type { ModelJSON } from "../model/graph.js";
import { modelFromJSON } from "../model/serialize.js";
import { responseKindOf, type ResponseKind } from "../model/families.js";
import { describeBounds } from "../model/value-bounds.js";
import { answerMeanings, Predictor, shuffledDrawTable, type FeatureSpec, type PredictionKind as AnswerKind } from "../predict/index.js";
import { exampleInstance, type Limits, type ModelSchemaSpec, type PredictionKind } from "./schemas.js";
import { compileValidators, type RequestValidator } from "./validation.js";

/** What a sampling worker needs to rebuild the predictor: plain data, the draws in shared memory (no copy). */
export interface ModelTransfer {
  version: string;
  model: ModelJSON;
  names: string[];
  chains: number;
  draws: number;
  /** On a SharedArrayBuffer, the rows shuffled (shuffledDrawTable). */
  values: Float64Array;
  fixedData: Record<string, number>;
}

/** GET /model. */
export interface ModelInfo {
  version: string;
  created_at: string;
  loaded_at: string;
  store: string;
  model: { name: string; observation: string; target: string };
  /** The likelihood the answers come from: its family, the kind of value it predicts and the values it can take. */
  family: { name: string; kind: ResponseKind; support: string; discrete: boolean; has_mean: boolean };
  /** What each endpoint's answer means for this kind of target. */
  answers: Record<AnswerKind, string>;
  features: FeatureSpec[];
  parameters: string[];
  draws: { chains: number; draws_per_chain: number };
  sampler: Manifest["sampler"];
  data: Manifest["data"];
  metrics: JsonValue;
  diagnostics: JsonValue;
  gate: Manifest["gate"];
  limits: Limits;
}

export interface LoadedModel {
  readonly version: string;
  readonly manifest: Manifest;
  readonly predictor: Predictor;
  readonly features: FeatureSpec[];
  /** What the request schemas depend on: the features and whether the likelihood is discrete. */
  readonly schemaSpec: ModelSchemaSpec;
  readonly validators: Record<PredictionKind, RequestValidator>;
  readonly transfer: ModelTransfer;
  readonly info: ModelInfo;
}

/** Scalar data the model needs besides the features: sizes named in parameter shapes (`beta` of shape ["J"]). */
function fixedDataOf(model: ModelJSON, shapes: Record<string, number[]>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of model.params) {
    p.shape.forEach((extent, axis) => {
      const size = shapes[p.name]?.[axis];
      if (typeof extent === "string" && size !== undefined) out[extent] = size;
    });
  }
  return out;
}

function sameFeatures(a: readonly FeatureSpec[], b: readonly FeatureSpec[]): boolean {
  return a.length === b.length && a.every((f, i) => f.name === b[i].name && f.type === b[i].type && (f.levels ?? null) === (b[i].levels ?? null));
}

/** Reads, verifies and prepares one version. Throws a BayesServeError saying what is wrong. */
export async function loadModel(store: ArtifactStore, version: string, limits: Limits, log?: FastifyBaseLogger): Promise<LoadedModel> {
  // "posterior": the manifest, draws and sampler stats, each verified against its sha256 (not the report files).
  const bundle = await store.readBundle(version, { files: "posterior" });
  const manifest = bundle.manifest;
  let model: ModelJSON;
  let predictor: Predictor;
  // The draws in their serving order (see predictor.ts), on memory the sampling workers share.
  const stored = { names: manifest.parameters.names, chains: manifest.draws.chains, draws: manifest.draws.drawsPerChain, values: bundle.draws };
  const table = shuffledDrawTable(stored, new Float64Array(new SharedArrayBuffer(bundle.draws.byteLength)));
  const values = table.values;
  let fixedData: Record<string, number>;
  try {
    model = modelFromJSON(manifest.model).json;
    fixedData = fixedDataOf(model, manifest.parameters.shapes);
    predictor = new Predictor(model, table, fixedData);
  } catch (err) {
    throw new BayesServeError("ARTIFACT", `version ${version}: cannot serve its model: ${(err as Error).message}`, { cause: err });
  }
  const features = predictor.features;
  if (!sameFeatures(features, manifest.features)) {
    log?.warn({ version, manifestFeatures: manifest.features, modelFeatures: features }, "the manifest's feature list differs from the model's; serving the model's");
  }
  // A smoke prediction: a model that cannot answer is refused here, not on the first request.
  const smoke = predictor.sample([exampleInstance(features)], 16, 1)[0];
  if (!smoke.every(Number.isFinite)) {
    throw new BayesServeError("ARTIFACT", `version ${version}: predictions at an example input are not finite numbers`);
  }
  const schemaSpec: ModelSchemaSpec = { features, discrete: predictor.family.discrete };
  const validators = compileValidators({ ...schemaSpec, drawCount: predictor.drawCount }, limits);
  const info: ModelInfo = {
    version,
    created_at: manifest.createdAt,
    loaded_at: new Date().toISOString(),
    store: store.uri,
    model: { name: model.name, observation: predictor.schema.observation, target: predictor.schema.target },
    family: {
      name: predictor.family.name,
      kind: responseKindOf(predictor.family),
      support: describeBounds(predictor.family.values),
      discrete: predictor.family.discrete,
      has_mean: predictor.hasMean,
    },
    answers: answerMeanings(responseKindOf(predictor.family)),
    features,
    parameters: manifest.parameters.names,
    draws: { chains: manifest.draws.chains, draws_per_chain: manifest.draws.drawsPerChain },
    sampler: manifest.sampler,
    data: manifest.data,
    metrics: manifest.metrics,
    diagnostics: manifest.diagnostics,
    gate: manifest.gate,
    limits,
  };
  const transfer: ModelTransfer = { version, model, names: table.names, chains: table.chains, draws: table.draws, values, fixedData };
  return { version, manifest, predictor, features, schemaSpec, validators, transfer, info };
}

export interface ModelHolderOptions {
  store: ArtifactStore;
  /** A pinned version (URI@VERSION): served as is, never reloaded. null follows `latest`. */
  pinned: string | null;
  limits: Limits;
  log: FastifyBaseLogger;
  /** Seconds between checks of `latest`; 0 disables polling. */
  pollIntervalSeconds: number;
}

export type SwapListener = (next: LoadedModel, previous: LoadedModel | null) => void;

export interface ReloadStatus {
  lastCheckAt: string | null;
  lastError: { version: string | null; message: string; at: string } | null;
}

export class ModelHolder {
  private model: LoadedModel | null = null;
  private timer: NodeJS.Timeout | null = null;
  private checking: Promise<"unchanged" | "swapped" | "failed"> | null = null;
  private readonly listeners: SwapListener[] = [];
  private readonly failureListeners: ((version: string | null, err: Error) => void)[] = [];
  /**
   * Versions that failed for good: a version is immutable, so a checksum mismatch or an unservable model will not
   * mend. They are not retried (nor logged again) until `latest` names another. Store errors (I/O, network) are
   * retried at every poll.
   */
  private readonly refused = new Set<string>();
  readonly status: ReloadStatus = { lastCheckAt: null, lastError: null };

  constructor(private readonly options: ModelHolderOptions) {}

  /** The model serving now, or null before the first load. */
  get current(): LoadedModel | null {
    return this.model;
  }

  get storeUri(): string {
    return this.options.store.uri;
  }

  onSwap(listener: SwapListener): void {
    this.listeners.push(listener);
  }

  onFailure(listener: (version: string | null, err: Error) => void): void {
    this.failureListeners.push(listener);
  }

  /** The version to serve: the pinned one, or what `latest` names (null when nothing was published). */
  private async target(): Promise<string | null> {
    return this.options.pinned ?? (await this.options.store.readLatest());
  }

  /** Loads the first model; throws when there is none or it cannot be loaded. */
  async loadInitial(): Promise<LoadedModel> {
    const version = await this.target();
    if (version === null) {
      throw new BayesServeError("ARTIFACT", `store ${this.options.store.uri} has no model yet (no latest version): train and publish one first`);
    }
    const next = await loadModel(this.options.store, version, this.options.limits, this.options.log);
    this.swap(next);
    return next;
  }

  /**
   * Loads and swaps in the target version if it differs from the one serving. Never throws: failures are logged,
   * counted, and leave the current model serving. Concurrent calls share one check.
   */
  check(): Promise<"unchanged" | "swapped" | "failed"> {
    this.checking ??= this.runCheck().finally(() => {
      this.checking = null;
    });
    return this.checking;
  }

  private async runCheck(): Promise<"unchanged" | "swapped" | "failed"> {
    let version: string | null = null;
    try {
      this.status.lastCheckAt = new Date().toISOString();
      version = await this.target();
      if (version === null || version === this.model?.version) return "unchanged";
      if (this.refused.has(version)) return "failed";
      this.options.log.info({ version, serving: this.model?.version ?? null }, "loading a new model version");
      const started = performance.now();
      const next = await loadModel(this.options.store, version, this.options.limits, this.options.log);
      this.swap(next);
      this.options.log.info({ version, ms: Math.round(performance.now() - started) }, "model version swapped in");
      return "swapped";
    } catch (err) {
      const e = err as Error;
      if (version !== null && err instanceof BayesServeError && (err.code === "ARTIFACT" || err.code === "MODEL_DEFINITION")) this.refused.add(version);
      this.status.lastError = { version, message: e.message, at: new Date().toISOString() };
      this.options.log.error(
        { version, serving: this.model?.version ?? null, err: { type: e.name, message: e.message } },
        this.model === null ? "cannot load a model" : "cannot load the new model version; the old one keeps serving",
      );
      for (const l of this.failureListeners) l(version, e);
      return "failed";
    }
  }

  private swap(next: LoadedModel): void {
    const previous = this.model;
    this.model = next;
    this.status.lastError = null;
    for (const l of this.listeners) l(next, previous);
  }

  /** Starts polling (no-op for a pinned version or a zero interval). */
  startPolling(): void {
    if (this.options.pinned !== null || this.options.pollIntervalSeconds <= 0 || this.timer !== null) return;
    this.timer = setInterval(() => void this.check(), this.options.pollIntervalSeconds * 1000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.checking?.catch(() => undefined);
  }
}
