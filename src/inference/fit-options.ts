// What a fit may be asked: the sampler's settings (defaults for those not given), the number of chains, where they run
// and how many threads evaluate each chain's gradient, warm starts — and the checks that refuse a bad value by name
// before any work starts.
import { availableParallelism } from "node:os";
import { SAMPLER_DEFAULTS } from "../defaults.js";
import { BayesServeError } from "../errors.js";
import { ADAPTATIONS, type ChainStart, DEFAULT_SAMPLER_SETTINGS, type SamplerSettings } from "./sampler.js";

export interface FitOptions extends Partial<SamplerSettings> {
  chains?: number;
  /** Run chains on worker threads (default) or one after another on this thread. */
  threads?: boolean;
  /** Show progress bars (only ever on a terminal). Default true. */
  progress?: boolean;
  /**
   * Begin chain c at warmStart[c mod length] (an earlier fit's step size, metric and final point, e.g. from
   * `startsFromManifest` in train/warm-start.ts): warm-up then only adapts the step size, so a short `tune` suffices.
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

/** The number of chains asked for, or the default. */
export function chainCountOf(options: FitOptions): number {
  return options.chains ?? SAMPLER_DEFAULTS.chains;
}

export function checkSettings(s: SamplerSettings, chains: number): void {
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

export function checkWarmStart(warmStart: ChainStart[] | undefined): void {
  if (warmStart !== undefined && warmStart.length === 0) throw new BayesServeError("USAGE", "warmStart must hold at least one chain's start");
}

/** FitOptions.threadsPerChain, or its default for a model of this row work with this many chains running at once. */
export function threadsPerChainOf(options: FitOptions, rowWork: number, chainsAtOnce: number): number {
  const threadsPerChain = options.threadsPerChain ?? defaultThreadsPerChain(rowWork, chainsAtOnce);
  if (!(Number.isInteger(threadsPerChain) && threadsPerChain >= 1 && threadsPerChain <= 256))
    throw new BayesServeError("USAGE", `threadsPerChain must be an integer in 1..256 (got ${threadsPerChain})`);
  return threadsPerChain;
}

/** The warm start of chain c: warmStart[c mod length]. */
export function chainStartOf(warmStart: ChainStart[] | undefined, chain: number): ChainStart | undefined {
  return warmStart ? warmStart[chain % warmStart.length] : undefined;
}
