// The model being served, and hot reload. A version is loaded completely beside the one serving — read, its manifest
// checked against its seal and `latest`'s digest, every checksum verified, the model rebuilt and compiled, validators
// compiled, a smoke prediction made — and only then swapped in by one reference assignment. A request takes the
// reference once and keeps it to the end, so a swap never fails or mixes a request. A version that cannot be loaded
// is logged and the old one keeps serving; it is tried again with backoff (a missing file may be restored, a store
// may come back), at once when `latest` is rewritten (promoted again), and served as soon as it loads. A check (or the
// first load) that does not finish within its deadline is given up as failed, so that a read that never ends cannot
// hold every later check; what it was doing can then no longer swap anything in.
import type { FastifyBaseLogger } from "fastify";
import type { ArtifactStore } from "../artifact/store.js";
import type { Manifest, JsonValue } from "../artifact/manifest.js";
import { BayesServeError } from "../errors.js";
import type { ModelJSON } from "../model/graph.js";
import { responseKindOf, type ResponseKind } from "../model/families.js";
import { describeBounds } from "../model/value-bounds.js";
import { servedModel } from "../artifact/served-model.js";
import { answerMeanings, InstanceError, type Predictor, type Standardization, type FeatureSpec, type PredictionKind as AnswerKind } from "../predict/index.js";
import { exampleInstance, type Limits, type ModelSchemaSpec, type PredictionKind } from "./schemas.js";
import { compileValidators, type RequestValidator } from "./validation.js";
import { DEFAULT_CHECK_TIMEOUT_SECONDS } from "./constants.js";

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
  /** The observation served (the manifest's target). */
  target: string;
  standardization: Standardization;
}

/** GET /model. */
export interface ModelInfo {
  version: string;
  created_at: string;
  loaded_at: string;
  model: { name: string; observation: string; target: string };
  /** The likelihood the answers come from: its family, the kind of value it predicts and the values it can take. */
  family: { name: string; kind: ResponseKind; support: string; discrete: boolean; has_mean: boolean };
  /** What each endpoint's answer means for this kind of target. */
  answers: Record<AnswerKind, string>;
  /** The categories whose unseen levels can be answered (allow_new_levels), and whether requests do so by default. */
  new_levels: { features: string[]; default: boolean };
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

function sameFeatures(a: readonly FeatureSpec[], b: readonly FeatureSpec[]): boolean {
  return a.length === b.length && a.every((f, i) => f.name === b[i].name && f.type === b[i].type && (f.levels ?? null) === (b[i].levels ?? null));
}

/**
 * Reads, verifies and prepares one version. Throws a BayesServeError saying what is wrong. `manifestSha256` is the
 * digest `latest` recorded for it, when it was named by `latest`.
 */
export async function loadModel(
  store: ArtifactStore,
  version: string,
  limits: Limits,
  log?: FastifyBaseLogger,
  manifestSha256?: string,
  allowNewLevels = false,
): Promise<LoadedModel> {
  // "posterior": the manifest (checked against its seal and `latest`'s digest), draws and sampler stats, each verified
  // against its sha256 (not the report files).
  const bundle = await store.readBundle(version, { files: "posterior", manifestSha256 });
  const manifest = bundle.manifest;
  // The draws in their serving order (see predictor.ts), on memory the sampling workers share.
  const { model, table, fixedData, standardization, predictor } = servedModel(
    manifest,
    bundle.draws,
    new Float64Array(new SharedArrayBuffer(bundle.draws.byteLength)),
  );
  const values = table.values;
  const features = predictor.features;
  if (!sameFeatures(features, manifest.features)) {
    log?.warn(
      { version, manifestFeatures: manifest.features, modelFeatures: features },
      "the manifest's feature list differs from the model's; serving the model's",
    );
  }
  // A smoke prediction: a model that cannot answer at all is refused here, not on the first request. The example
  // instance is ours, not the model's: one at which the model is not defined (log(5 − x) at x = 5) is only noted.
  try {
    const smoke = predictor.sample([exampleInstance(features)], 16, 1)[0];
    if (!smoke.every(Number.isFinite))
      log?.warn({ version }, "predictions at the docs' example instance are not finite numbers; the examples in /docs will answer 422");
  } catch (err) {
    if (!(err instanceof InstanceError)) throw new BayesServeError("ARTIFACT", `version ${version}: cannot predict: ${(err as Error).message}`, { cause: err });
    log?.warn({ version, reason: err.message }, "the docs' example instance is outside the model's domain; the examples in /docs will answer 422");
  }
  const schemaSpec: ModelSchemaSpec = {
    features,
    discrete: predictor.family.discrete,
    newLevelsByDefault: allowNewLevels && predictor.newLevelFeatures.length > 0,
  };
  const validators = compileValidators({ ...schemaSpec, drawCount: predictor.drawCount }, limits);
  const info: ModelInfo = {
    version,
    created_at: manifest.createdAt,
    loaded_at: new Date().toISOString(),
    model: { name: model.name, observation: predictor.schema.observation, target: predictor.schema.target },
    family: {
      name: predictor.family.name,
      kind: responseKindOf(predictor.family),
      support: describeBounds(predictor.family.values),
      discrete: predictor.family.discrete,
      has_mean: predictor.hasMean,
    },
    answers: answerMeanings(responseKindOf(predictor.family), predictor.family.name),
    new_levels: { features: predictor.newLevelFeatures, default: allowNewLevels && predictor.newLevelFeatures.length > 0 },
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
  const transfer: ModelTransfer = {
    version,
    model,
    names: table.names,
    chains: table.chains,
    draws: table.draws,
    values,
    fixedData,
    target: manifest.target.name,
    standardization,
  };
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
  /** Longest wait between retries of a version that failed to load (default 300 s). */
  maxRetrySeconds?: number;
  /** Requests answer unseen levels of categories that can draw them unless they say otherwise (default false). */
  allowNewLevels?: boolean;
  /** The longest one check (or the first load) may take before it is given up (default DEFAULT_CHECK_TIMEOUT_SECONDS). */
  checkTimeoutSeconds?: number;
}

export type SwapListener = (next: LoadedModel, previous: LoadedModel | null) => void;

/** Why a load failed, in words fit for any client: no paths, endpoints or messages (those go to the log). */
export type LoadFailureKind = "empty" | "damaged" | "store" | "internal";

export interface ReloadFailure {
  /** The version that could not be loaded (null when `latest` itself could not be read). */
  version: string | null;
  kind: LoadFailureKind;
  /** The full message, for the log and for operators; never sent to clients. */
  message: string;
  at: string;
  /** Failed attempts at this version in a row. */
  attempts: number;
  /** When it will be tried again (null: at the next check, e.g. with polling off). */
  nextRetryAt: string | null;
}

export interface ReloadStatus {
  lastCheckAt: string | null;
  /** The failure of the version to be served now (the target), or null when the target is serving. */
  lastError: ReloadFailure | null;
}

/** What to serve: a version, and what `latest` recorded for it. */
interface Target {
  version: string;
  manifestSha256?: string;
  /** The pointer's time: a new one means `latest` was rewritten (promoted again), worth an immediate retry. */
  updatedAt?: string;
}

const DEFAULT_MAX_RETRY_SECONDS = 300;

/**
 * Checks given up at their deadline whose reads are still under way, beyond which a poll starts no new one: a read
 * that cannot be cancelled (a local file on a hung file system) holds one of libuv's threads (4 by default), which the
 * server's logging and every other file operation share, so new checks stuck the same way must not take them all.
 * A poll starts checks again as soon as one of those reads ends.
 */
const MAX_STUCK_CHECKS = 2;

type CheckResult = "unchanged" | "swapped" | "failed";

/** One check of the store, or the first load. */
interface Attempt {
  /** Given up (past its deadline, or the holder stopped): it may no longer swap a model in nor record its outcome. */
  abandoned: boolean;
  /** When it was given up at its deadline (ms since the epoch), else null. */
  timedOutAt: number | null;
  /** What it is loading, once `latest` was read. */
  target: Target | null;
  /** ms since the epoch. */
  startedAt: number;
}

const PUBLIC_REASONS: Record<LoadFailureKind, string> = {
  empty: "nothing has been published to the store yet",
  damaged: "the version is damaged or cannot be served (details in the server log)",
  store: "the artefact store cannot be read (details in the server log)",
  internal: "an unexpected error (details in the server log)",
};

/** A load failure as clients may see it (GET /model, /health/ready): what and when, not where. */
export interface PublicReloadError {
  version: string | null;
  kind: LoadFailureKind;
  message: string;
  at: string;
  attempts: number;
  next_retry_at: string | null;
}

export function publicReloadError(failure: ReloadFailure | null): PublicReloadError | null {
  if (failure === null) return null;
  const { version, kind, at, attempts, nextRetryAt } = failure;
  const what = kind === "empty" ? "no model to load" : version === null ? "the latest pointer cannot be read" : `version ${version} cannot be loaded`;
  return { version, kind, message: `${what}: ${PUBLIC_REASONS[kind]}`, at, attempts, next_retry_at: nextRetryAt };
}

/** The store has no `latest` yet: nothing is wrong with it, a model has just not been published (serve --wait-for-model). */
class NoModelYetError extends BayesServeError {
  constructor(store: string) {
    super("ARTIFACT", `store ${store} has no model yet (no latest version): train and publish one first`);
  }
}

function failureKind(err: unknown): LoadFailureKind {
  if (err instanceof NoModelYetError) return "empty";
  if (err instanceof BayesServeError) return err.code === "STORE" ? "store" : "damaged";
  return "internal";
}

export class ModelHolder {
  private model: LoadedModel | null = null;
  private timer: NodeJS.Timeout | null = null;
  private checking: Promise<CheckResult> | null = null;
  /** Attempts whose work has not settled, given up or not. */
  private readonly inFlight = new Set<Attempt>();
  private stopped = false;
  private readonly listeners: SwapListener[] = [];
  private readonly failureListeners: ((version: string | null, err: Error) => void)[] = [];
  /** The target that last failed, and when it may be tried again (ms since the epoch). */
  private failing: { target: Target | null; key: string; retryAt: number } | null = null;
  /** What the last check read `latest` to be: a load given up at its deadline that finishes may serve only this. */
  private latestSeen: Target | null = null;
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

  /** Loads a version with this holder's store, limits and log (loadModel). */
  private load(target: Target): Promise<LoadedModel> {
    return loadModel(this.options.store, target.version, this.options.limits, this.options.log, target.manifestSha256, this.options.allowNewLevels);
  }

  /** The version to serve: the pinned one, or what `latest` names (null when nothing was published). */
  private async target(): Promise<Target | null> {
    if (this.options.pinned !== null) return { version: this.options.pinned };
    const pointer = await this.options.store.readLatestPointer();
    return pointer === null ? null : { version: pointer.version, manifestSha256: pointer.manifestSha256, updatedAt: pointer.updatedAt };
  }

  /** Loads the first model; throws when there is none, it cannot be loaded, or loading outlasts the check deadline. */
  async loadInitial(): Promise<LoadedModel> {
    const attempt = this.begin();
    try {
      return await this.bounded(attempt, async () => {
        attempt.target = await this.target();
        const target = attempt.target;
        if (target === null) {
          throw new NoModelYetError(this.options.store.uri);
        }
        const next = await this.load(target);
        if (!attempt.abandoned) this.swap(next);
        return next;
      });
    } catch (err) {
      if (!this.stopped) this.recordFailure(attempt.target, err as Error, false);
      throw err;
    }
  }

  private begin(): Attempt {
    return { abandoned: false, timedOutAt: null, target: null, startedAt: Date.now() };
  }

  /**
   * Runs an attempt's work within the check deadline. Past it the attempt is given up: this rejects with a STORE error
   * saying so, and the work — which cannot be cancelled — goes on unheard (`abandoned`), tracked until it settles.
   */
  private bounded<T>(attempt: Attempt, work: () => Promise<T>): Promise<T> {
    const running = work();
    this.inFlight.add(attempt);
    const settledAfterGivingUp = (outcome: string): void => {
      this.inFlight.delete(attempt);
      if (attempt.timedOutAt === null) return;
      // Worth knowing: the read that held it has ended, and checks may start again.
      this.options.log.info(
        { version: attempt.target?.version ?? null, outcome, seconds: Math.round((Date.now() - attempt.startedAt) / 1000) },
        "a check given up at its deadline has ended",
      );
    };
    running.then(
      () => settledAfterGivingUp("finished"),
      (err: unknown) => settledAfterGivingUp(`failed: ${(err as Error | null)?.message ?? String(err)}`),
    );
    const timeoutSeconds = this.options.checkTimeoutSeconds ?? DEFAULT_CHECK_TIMEOUT_SECONDS;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        attempt.abandoned = true;
        attempt.timedOutAt = Date.now();
        const what = attempt.target === null ? "reading latest" : `loading version ${attempt.target.version}`;
        reject(
          new BayesServeError(
            "STORE",
            `store ${this.options.store.uri}: ${what} did not finish within ${timeoutSeconds} s: a read of the store is stuck ` +
              `(a hung network file system, or an S3 endpoint that stalls?); given up, to be tried again at the next check`,
          ),
        );
      }, timeoutSeconds * 1000);
      // The deadline alone must not keep a process alive whose server was closed.
      timer.unref();
      running.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (err: unknown) => {
          clearTimeout(timer);
          reject(err as Error);
        },
      );
    });
  }

  /**
   * Loads and swaps in the target version if it differs from the one serving. Never throws: failures are logged,
   * counted, and leave the current model serving; the failed version is tried again after a backoff (the poll
   * interval, doubling to maxRetrySeconds), or at once when `latest` is rewritten. Concurrent calls share one check.
   */
  check(): Promise<CheckResult> {
    if (this.stopped) return Promise.resolve("unchanged");
    this.checking ??= this.boundedCheck().finally(() => {
      this.checking = null;
    });
    return this.checking;
  }

  /** A check within the check deadline; past it, a failure of the store (retried at the next poll). */
  private async boundedCheck(): Promise<CheckResult> {
    let stuck = 0;
    for (const a of this.inFlight) if (a.timedOutAt !== null) stuck++;
    // The failure recorded when they were given up stands, and says what is wrong.
    if (stuck >= MAX_STUCK_CHECKS) return "failed";
    const attempt = this.begin();
    try {
      return await this.bounded(attempt, () => this.runCheck(attempt));
    } catch (err) {
      // runCheck never throws: this is the deadline.
      if (!this.stopped) this.recordFailure(attempt.target, err as Error, true);
      return "failed";
    }
  }

  private async runCheck(attempt: Attempt): Promise<CheckResult> {
    let target: Target | null = null;
    try {
      this.status.lastCheckAt = new Date().toISOString();
      target = await this.target();
      attempt.target = target;
      if (attempt.abandoned) return "failed";
      this.latestSeen = target;
      if (target === null) return "unchanged";
      if (target.version === this.model?.version) {
        // Back to the version serving (a rollback after a failed promote): nothing is failing any more.
        this.clearFailure();
        return "unchanged";
      }
      const f = this.failing;
      if (f !== null && f.key === targetKey(target) && Date.now() < f.retryAt) return "failed";
      // A load of this version given up at its deadline is still reading (slowly, or stuck): another would only hold a
      // second copy of its draws. If it finishes, it is swapped in then (below).
      for (const a of this.inFlight) if (a !== attempt && a.timedOutAt !== null && a.target?.version === target.version) return "failed";
      const retry = f !== null && f.target?.version === target.version ? (this.status.lastError?.attempts ?? 0) : 0;
      this.options.log.info(
        { version: target.version, serving: this.model?.version ?? null, ...(retry > 0 ? { attempt: retry + 1 } : {}) },
        "loading a new model version",
      );
      const started = performance.now();
      const next = await this.load(target);
      if (attempt.abandoned) {
        // Given up at its deadline but finished after all (a large version read slowly, not a stuck read): served if it
        // is still what `latest` names and nothing else was swapped in meanwhile; a stopped server takes none.
        const still = !this.stopped && this.latestSeen?.version === target.version && this.model?.version !== target.version;
        if (still && attempt.timedOutAt !== null) {
          this.swap(next);
          this.options.log.info(
            { version: target.version, seconds: Math.round((Date.now() - attempt.startedAt) / 1000) },
            "model version swapped in by a load that outlasted its check's deadline",
          );
          return "swapped";
        }
        return "failed";
      }
      this.swap(next);
      this.options.log.info(
        { version: target.version, ms: Math.round(performance.now() - started), ...(retry > 0 ? { attempts: retry + 1 } : {}) },
        "model version swapped in",
      );
      return "swapped";
    } catch (err) {
      if (!attempt.abandoned) this.recordFailure(target, err as Error, true);
      return "failed";
    }
  }

  /** Records a failed load (or a failed read of `latest`), logs it and schedules the retry. */
  private recordFailure(target: Target | null, e: Error, notify: boolean): void {
    const key = targetKey(target);
    const previous = this.status.lastError;
    const same = this.failing !== null && this.failing.target?.version === (target?.version ?? null) && previous !== null;
    const attempts = same ? (previous?.attempts ?? 0) + 1 : 1;
    const poll = this.options.pollIntervalSeconds;
    const max = this.options.maxRetrySeconds ?? DEFAULT_MAX_RETRY_SECONDS;
    // Store errors are usually transient (a network blip, a restarted endpoint): tried at every poll. A damaged or
    // unservable version is tried at the poll interval, then twice as long each time, up to `max`.
    const kind = failureKind(e);
    const delaySeconds = poll <= 0 ? 0 : kind === "store" || kind === "empty" ? poll : Math.min(max, poll * 2 ** (attempts - 1));
    const now = Date.now();
    this.failing = { target, key, retryAt: now + delaySeconds * 1000 };
    this.status.lastError = {
      version: target?.version ?? null,
      kind,
      message: e.message,
      at: new Date(now).toISOString(),
      attempts,
      nextRetryAt: poll <= 0 || (this.options.pinned !== null && this.model !== null) ? null : new Date(now + delaySeconds * 1000).toISOString(),
    };
    const fields = {
      version: target?.version ?? null,
      serving: this.model?.version ?? null,
      attempts,
      retryInSeconds: poll <= 0 ? null : delaySeconds,
      // A bug (not a BayesServeError) needs to say where it happened.
      err: { type: e.name, message: e.message, ...(kind === "internal" ? { stack: e.stack } : {}) },
    };
    const what = this.model === null ? "cannot load a model" : "cannot load the new model version; the old one keeps serving";
    // The first failure of a version (or a new reason) at error; the same failure again, at each retry, at warn.
    if (!same || previous?.message !== e.message) this.options.log.error(fields, what);
    else this.options.log.warn(fields, `${what} (still failing)`);
    if (notify) for (const l of this.failureListeners) l(target?.version ?? null, e);
  }

  private clearFailure(): void {
    this.failing = null;
    this.status.lastError = null;
  }

  private swap(next: LoadedModel): void {
    const previous = this.model;
    this.model = next;
    this.clearFailure();
    for (const l of this.listeners) l(next, previous);
  }

  /** Starts polling (no-op for a pinned version that is loaded, or a zero interval). */
  startPolling(): void {
    if (this.stopped || this.options.pollIntervalSeconds <= 0 || this.timer !== null) return;
    if (this.options.pinned !== null && this.model !== null) return;
    this.timer = setInterval(() => {
      // A pinned version, once loaded, never changes: stop looking.
      if (this.options.pinned !== null && this.model !== null) {
        if (this.timer !== null) clearInterval(this.timer);
        this.timer = null;
        return;
      }
      void this.check();
    }, this.options.pollIntervalSeconds * 1000);
    this.timer.unref();
  }

  /**
   * Stops polling. A check under way is not waited for — it may be stuck in a read that never ends — but can no longer
   * swap a model in.
   */
  stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    for (const a of this.inFlight) a.abandoned = true;
    return Promise.resolve();
  }
}

/** A target's identity for retries: a rewritten pointer (promoted again) is a new target, tried at once. */
function targetKey(target: Target | null): string {
  return target === null ? "(latest unreadable)" : `${target.version} ${target.manifestSha256 ?? ""} ${target.updatedAt ?? ""}`;
}
