// Fitting a model: chains of adaptive NUTS on worker threads, their draws mapped back to the constrained space and
// the model's deterministic quantities computed, collected in one posterior.
import { availableParallelism } from "node:os";
import { setFlagsFromString } from "node:v8";
import { SAMPLER_DEFAULTS } from "../defaults.js";
import { BayesServeError, type ErrorCode } from "../errors.js";
import { bindModel, type BoundModel, type DataInput } from "../model/bind.js";
import type { Model } from "../model/builder.js";
import { compileModel, type CompiledModel } from "../model/compile.js";
import { evaluateNodes } from "../model/evaluate.js";
import { Rng } from "../random/rng.js";
import { findUndefinedRow } from "../model/row-check.js";
import type { ChainJob, ChainMessage } from "./chain-worker.js";
import { createProgress } from "./progress.js";
import { ADAPTATIONS, type ChainResult, type ChainStart, DEFAULT_SAMPLER_SETTINGS, runChain, SAMPLE_STATS, type SamplerSettings } from "./sampler.js";
import { startShardedDensity } from "./sharded-density.js";
import { startWorker } from "./worker-start.js";

export interface FitOptions extends Partial<SamplerSettings> {
  chains?: number;
  /** Run chains on worker threads (default) or one after another on this thread. */
  threads?: boolean;
  /** Show progress bars (only ever on a terminal). Default true. */
  progress?: boolean;
  /**
   * Begin chain c at warmStart[c mod length] (an earlier fit's step size, metric and final point, e.g. from
   * `warmStartOf`): warm-up then only adapts the step size, so a short `tune` suffices.
   */
  warmStart?: ChainStart[];
  /**
   * Threads evaluating each chain's log-density and gradient, over shards of the data's rows (sharded-density.ts).
   * Default: the cores left per chain (availableParallelism / chains, 1 with `threads: false`) when the model's row
   * work per gradient is at least SHARD_MIN_ROW_WORK, else 1. A seed gives the same draws for the same thread count.
   */
  threadsPerChain?: number;
}

/**
 * The row work per gradient (CompiledModel.rowWork: rows × operations per row) from which 2 threads per chain beat 1:
 * the seed model's crossover measured by bench/threads.ts on this shared 2-core machine (bench/README.md), 1 million
 * rows × its 14 operations per row. Costlier rows (calls to exp, log, lgamma…) count as one operation each, so for
 * other models this errs towards not sharding.
 */
export const SHARD_MIN_ROW_WORK = 14_000_000;

/** The default of FitOptions.threadsPerChain. */
export function defaultThreadsPerChain(rowWork: number, chainsAtOnce: number): number {
  if (rowWork < SHARD_MIN_ROW_WORK) return 1;
  return Math.max(1, Math.floor(availableParallelism() / chainsAtOnce));
}

export interface Posterior {
  modelName: string;
  /** Scalar names: parameters, then deterministic quantities, 0-based (beta[0]). */
  names: string[];
  /** Shapes of each named quantity: {beta: [3], sigma: []}. */
  shapes: Record<string, number[]>;
  chains: number;
  draws: number;
  /** Constrained values, [chain][draw][name]. */
  values: Float64Array;
  statNames: readonly string[];
  /** [chain][draw][stat]. */
  stats: Float64Array;
  stepSizes: number[];
  invMetrics: Float64Array[];
  warmupDivergences: number[];
  /** Log-density gradients evaluated per chain, warm-up included. */
  gradients: number[];
  /** Each chain's last draw on the unconstrained scale (with stepSizes and invMetrics, what a warm start needs). */
  finalPositions: Float64Array[];
  /** Per chain: whether it began at a warm start's point. */
  warmStarted: boolean[];
  settings: SamplerSettings;
  /** Threads that evaluated each chain's log-density (FitOptions.threadsPerChain). */
  threadsPerChain: number;
  /** Wall-clock seconds of the slowest chain. */
  seconds: number;
  /** Per chain: wall-clock seconds of the whole chain, and of its initialisation and warm-up. */
  chainSeconds: number[];
  warmupSeconds: number[];
}

/** A fit's sampler settings: the options given, the defaults for the rest. */
export function samplerSettingsOf(options: FitOptions): SamplerSettings {
  return {
    draws: options.draws ?? DEFAULT_SAMPLER_SETTINGS.draws,
    tune: options.tune ?? DEFAULT_SAMPLER_SETTINGS.tune,
    seed: options.seed ?? DEFAULT_SAMPLER_SETTINGS.seed,
    maxTreeDepth: options.maxTreeDepth ?? DEFAULT_SAMPLER_SETTINGS.maxTreeDepth,
    targetAccept: options.targetAccept ?? DEFAULT_SAMPLER_SETTINGS.targetAccept,
    initRadius: options.initRadius ?? DEFAULT_SAMPLER_SETTINGS.initRadius,
    adaptation: options.adaptation ?? DEFAULT_SAMPLER_SETTINGS.adaptation,
  };
}

export async function fit(model: Model, data: DataInput, options: FitOptions = {}): Promise<Posterior> {
  const settings = samplerSettingsOf(options);
  const chains = options.chains ?? SAMPLER_DEFAULTS.chains;
  checkSettings(settings, chains);
  if (options.warmStart !== undefined && options.warmStart.length === 0) throw new BayesServeError("USAGE", "warmStart must hold at least one chain's start");
  // Bind and compile here first: bad data fails fast, with one clear error, before any thread starts.
  // Asked for threads per chain: the sharded form now (no second compile for chains on this thread).
  const compiled = compileModel(bindModel(model.json, data), { shards: (options.threadsPerChain ?? 1) > 1 });
  const threads = options.threads !== false;
  const threadsPerChain = options.threadsPerChain ?? defaultThreadsPerChain(compiled.rowWork, threads ? chains : 1);
  if (!(Number.isInteger(threadsPerChain) && threadsPerChain >= 1 && threadsPerChain <= 256))
    throw new BayesServeError("USAGE", `threadsPerChain must be an integer in 1..256 (got ${threadsPerChain})`);
  const progress = options.progress === false ? null : createProgress(chains);
  let results: ChainResult[];
  try {
    results = await runChains(model, data, compiled, settings, chains, threads, threadsPerChain, progress, options.warmStart);
  } catch (err) {
    // No starting point: say which data row makes the model undefined, when one does.
    if (err instanceof BayesServeError && err.code === "SAMPLER_INIT") throw findUndefinedRow(compiled.bound, somePoints(compiled, settings)) ?? err;
    throw err;
  }
  progress?.finish();
  return assemble(compiled, settings, threadsPerChain, results);
}

/**
 * Chain `chain` of the fit `fit(model, data, options)` would run, alone, on this thread: the same settings and random
 * stream (runChain's, from the seed and the chain's index), so its draws are bit-identical to that chain's there. A
 * fit's chains run apart this way (in separate processes or pods) are put together by assemblePosterior.
 */
export function fitChain(model: Model, data: DataInput, options: FitOptions, chain: number): ChainResult {
  const settings = samplerSettingsOf(options);
  const chains = options.chains ?? SAMPLER_DEFAULTS.chains;
  checkSettings(settings, chains);
  if (!(Number.isInteger(chain) && chain >= 0 && chain < chains))
    throw new BayesServeError("USAGE", `chain index must be an integer in 0..${chains - 1} (got ${chain})`);
  if ((options.threadsPerChain ?? 1) !== 1)
    throw new BayesServeError(
      "USAGE",
      `a chain run alone evaluates its gradient on one thread (threads per chain ${options.threadsPerChain} applies to in-process fits)`,
    );
  if (options.warmStart !== undefined && options.warmStart.length === 0) throw new BayesServeError("USAGE", "warmStart must hold at least one chain's start");
  const compiled = compileModel(bindModel(model.json, data));
  const progress = options.progress === false ? null : createProgress(1);
  const start = options.warmStart ? options.warmStart[chain % options.warmStart.length] : undefined;
  try {
    const result = runChain(compiled, settings, chain, progress ? (i, t, w) => progress.update(0, i, t, w) : undefined, start);
    progress?.finish();
    return result;
  } catch (err) {
    if (err instanceof BayesServeError && err.code === "SAMPLER_INIT") throw findUndefinedRow(compiled.bound, somePoints(compiled, settings)) ?? err;
    throw err;
  }
}

/**
 * The posterior of chains run apart (fitChain), one result per chain 0..n−1 in order, exactly as fit() would have
 * assembled them.
 */
export function assemblePosterior(model: Model, data: DataInput, settings: SamplerSettings, results: ChainResult[]): Posterior {
  results.forEach((r, c) => {
    if (r.chain !== c) throw new BayesServeError("USAGE", `chain results must be chains 0..${results.length - 1} in order (found chain ${r.chain} at ${c})`);
  });
  return assemble(compileModel(bindModel(model.json, data)), settings, 1, results);
}

/** A few constrained parameter points drawn as chains draw their initial values, for findUndefinedRow. */
function somePoints(compiled: CompiledModel, settings: SamplerSettings): Float64Array[] {
  const rng = new Rng(settings.seed, 1_000_001);
  return Array.from({ length: 4 }, () => {
    const theta = Float64Array.from({ length: compiled.dim }, () => (2 * rng.uniform() - 1) * settings.initRadius);
    const out = new Float64Array(compiled.dim);
    compiled.constrain(theta, out);
    return out;
  });
}

async function runChains(
  model: Model,
  data: DataInput,
  compiled: CompiledModel,
  settings: SamplerSettings,
  chains: number,
  threads: boolean,
  threadsPerChain: number,
  progress: ReturnType<typeof createProgress> | null,
  warmStart: ChainStart[] | undefined,
): Promise<ChainResult[]> {
  let results: ChainResult[];
  const startOf = (c: number): ChainStart | undefined => (warmStart ? warmStart[c % warmStart.length] : undefined);
  if (!threads || chains === 1) {
    // Sharded: the data on SharedArrayBuffers (compiled so unless asked for), one set of helpers for the chains in turn.
    const code = threadsPerChain > 1 ? (compiled.shardCode ?? compileModel(compiled.bound, { shards: true }).shardCode!) : null;
    const sharded = code ? await startShardedDensity(code, threadsPerChain) : null;
    const target = sharded ? { dim: compiled.dim, paramNames: compiled.paramNames, logDensityGradient: sharded.logDensityGradient } : compiled;
    results = [];
    try {
      for (let c = 0; c < chains; c++) results.push(runChain(target, settings, c, progress ? (i, t, w) => progress.update(c, i, t, w) : undefined, startOf(c)));
    } finally {
      await sharded?.close();
    }
  } else {
    tuneV8ForChainsWhile(true);
    try {
      results = await Promise.all(
        Array.from({ length: chains }, (_, c) =>
          runChainInWorker({ model: model.json, data, settings, chain: c, threadsPerChain, progress: progress !== null, start: startOf(c) }, (...a) =>
            progress?.update(...a),
          ),
        ),
      );
    } finally {
      tuneV8ForChainsWhile(false);
    }
  }
  return results;
}

/**
 * Each worker starts cold and V8 optimises the sampler (buildTree, transition, runChain) and the model's gradient:
 * ~55 ms of TurboFan time per chain (measured with --trace-opt --no-concurrent-recompilation, Node 20), which on a
 * two-core machine competes with the chains themselves. Two V8 settings apply while chain workers run:
 * - a small cumulative inlining budget keeps the compiled functions small — the gradient and the tiny vector helpers
 *   are still optimised on their own. Slowest chain of the seed model 0.28 → 0.23 s (median of 8), 5 % slower warm;
 * - no concurrent recompilation: each worker compiles on its own thread, when the code is hot, instead of handing the
 *   job to a background thread that competes with both chains for the two cores while the worker goes on in slower
 *   code. Slowest chain 0.238 → 0.219 s (median of 6, interleaved runs, scratch measurements on this machine).
 * V8 flags are per process and read when an isolate starts, so they are set before the workers start and restored
 * when the last fit's chains finish. They change only when and how code is optimised, never results.
 */
const CHAIN_V8_FLAGS = ["--max-inlined-bytecode-size-cumulative=200", "--no-concurrent-recompilation"];
/** V8's defaults for the same flags (src/flags/flag-definitions.h). */
const V8_DEFAULT_FLAGS = ["--max-inlined-bytecode-size-cumulative=920", "--concurrent-recompilation"];
/** Fits whose chains are running on workers now (fits may overlap; the defaults come back after the last). */
let fitsOnWorkers = 0;
function tuneV8ForChainsWhile(starting: boolean): void {
  fitsOnWorkers += starting ? 1 : -1;
  if (starting && fitsOnWorkers === 1) for (const f of CHAIN_V8_FLAGS) setFlagsFromString(f);
  if (!starting && fitsOnWorkers === 0) for (const f of V8_DEFAULT_FLAGS) setFlagsFromString(f);
}

function checkSettings(s: SamplerSettings, chains: number): void {
  const bad = (field: string, msg: string): never => {
    throw new BayesServeError("USAGE", `${field} ${msg}`);
  };
  if (!(Number.isInteger(s.draws) && s.draws >= 1)) bad("draws", `must be a positive integer (got ${s.draws})`);
  if (!(Number.isInteger(s.tune) && s.tune >= 0)) bad("tune", `must be a non-negative integer (got ${s.tune})`);
  if (!(Number.isInteger(chains) && chains >= 1 && chains <= 64)) bad("chains", `must be an integer in 1..64 (got ${chains})`);
  if (!(Number.isInteger(s.maxTreeDepth) && s.maxTreeDepth >= 1 && s.maxTreeDepth <= 20))
    bad("maxTreeDepth", `must be an integer in 1..20 (got ${s.maxTreeDepth})`);
  if (!(s.targetAccept > 0 && s.targetAccept < 1)) bad("targetAccept", `must be in (0, 1) (got ${s.targetAccept})`);
  if (!Number.isSafeInteger(s.seed) || s.seed < 0) bad("seed", `must be a non-negative integer (got ${s.seed})`);
  if (!ADAPTATIONS.includes(s.adaptation)) bad("adaptation", `must be one of ${ADAPTATIONS.join(", ")} (got ${String(s.adaptation)})`);
}

function runChainInWorker(job: ChainJob, onProgress: (c: number, i: number, t: number, w: boolean) => void): Promise<ChainResult> {
  return new Promise((resolve, reject) => {
    const worker = startWorker("chain-worker", job);
    let settled = false;
    worker.on("message", (msg: ChainMessage) => {
      if (msg.type === "progress") onProgress(msg.chain, msg.iteration, msg.total, msg.warmup);
      else if (msg.type === "done") {
        settled = true;
        resolve(msg.result);
      } else {
        settled = true;
        reject(msg.code ? new BayesServeError(msg.code as ErrorCode, msg.message) : new Error(msg.message));
      }
    });
    worker.on("error", (err) => {
      if (!settled) reject(err);
      settled = true;
    });
    worker.on("exit", (code) => {
      if (!settled) reject(new Error(`chain ${job.chain}: worker exited with code ${code}`));
    });
  });
}

function assemble(compiled: CompiledModel, settings: SamplerSettings, threadsPerChain: number, results: ChainResult[]): Posterior {
  const bound: BoundModel = compiled.bound;
  const dim = compiled.dim;
  const json = bound.json;
  const detNames: string[] = [];
  const shapes: Record<string, number[]> = {};
  for (const p of bound.params) shapes[p.decl.name] = p.decl.shape as number[];
  for (const d of json.deterministics) {
    const s = bound.shapes[d.node];
    if (s.length > 1) throw new BayesServeError("MODEL_DEFINITION", `deterministic "${d.name}" must be a scalar or a vector`);
    shapes[d.name] = s;
    if (s.length === 0) detNames.push(d.name);
    else for (let i = 0; i < s[0]; i++) detNames.push(`${d.name}[${i}]`);
  }
  const names = [...compiled.paramNames, ...detNames];
  const width = names.length;
  const chains = results.length;
  const draws = settings.draws;
  const values = new Float64Array(chains * draws * width);
  const nStats = SAMPLE_STATS.length;
  const stats = new Float64Array(chains * draws * nStats);
  const constrained = new Float64Array(dim);
  const lastDet = json.deterministics.reduce((m, d) => Math.max(m, d.node), -1);
  for (const r of results) {
    stats.set(r.stats, r.chain * draws * nStats);
    for (let d = 0; d < draws; d++) {
      compiled.constrain(r.unconstrained.subarray(d * dim, (d + 1) * dim), constrained);
      const row = (r.chain * draws + d) * width;
      values.set(constrained, row);
      if (lastDet >= 0) {
        const vals = evaluateNodes(bound, constrained, 0, lastDet);
        let k = row + dim;
        for (const det of json.deterministics) {
          const v = vals[det.node];
          for (let i = 0; i < v.length; i++) values[k++] = v[i];
        }
      }
    }
  }
  return {
    modelName: json.name,
    names,
    shapes,
    chains,
    draws,
    values,
    statNames: SAMPLE_STATS,
    stats,
    stepSizes: results.map((r) => r.stepSize),
    invMetrics: results.map((r) => r.invMetric),
    warmupDivergences: results.map((r) => r.warmupDivergences),
    gradients: results.map((r) => r.gradients),
    finalPositions: results.map((r) => r.unconstrained.slice((draws - 1) * dim, draws * dim)),
    warmStarted: results.map((r) => r.warmStarted),
    settings,
    threadsPerChain,
    seconds: Math.max(...results.map((r) => r.seconds)),
    chainSeconds: results.map((r) => r.seconds),
    warmupSeconds: results.map((r) => r.warmupSeconds),
  };
}

/** One quantity's draws per chain (copies out of the [chain][draw][name] layout). */
export function chainsOf(posterior: Posterior, name: string): Float64Array[] {
  const k = posterior.names.indexOf(name);
  if (k < 0) throw new BayesServeError("USAGE", `no quantity named "${name}" in the posterior`);
  const w = posterior.names.length;
  return Array.from({ length: posterior.chains }, (_, c) => {
    const out = new Float64Array(posterior.draws);
    for (let d = 0; d < posterior.draws; d++) out[d] = posterior.values[(c * posterior.draws + d) * w + k];
    return out;
  });
}
