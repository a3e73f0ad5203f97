// Fitting a model: its chains of adaptive NUTS, on worker threads or on this thread (chain-threads.ts), collected in
// one posterior (posterior.ts); or one chain of a fit run alone, and the chains of a fit run apart put together.
import { BayesServeError } from "../errors.js";
import { bindModel, type DataInput } from "../model/bind.js";
import type { Model } from "../model/builder.js";
import { compileModel } from "../model/compile.js";
import { runChainsHere, runChainsOnWorkers } from "./chain-threads.js";
import { chainCountOf, chainStartOf, checkSettings, checkWarmStart, type FitOptions, samplerSettingsOf, threadsPerChainOf } from "./fit-options.js";
import { explainInitFailure } from "./init-failure.js";
import { type Posterior, posteriorOf } from "./posterior.js";
import { createProgress } from "./progress.js";
import { type ChainResult, runChain, type SamplerSettings } from "./sampler.js";

export async function fit(model: Model, data: DataInput, options: FitOptions = {}): Promise<Posterior> {
  const settings = samplerSettingsOf(options);
  const chains = chainCountOf(options);
  checkSettings(settings, chains);
  checkWarmStart(options.warmStart);
  // Bind and compile here first: bad data fails fast, with one clear error, before any thread starts.
  // Asked for threads per chain: the sharded form now (no second compile for chains on this thread).
  const compiled = compileModel(bindModel(model.json, data), { shards: (options.threadsPerChain ?? 1) > 1 });
  const threads = options.threads !== false;
  const threadsPerChain = threadsPerChainOf(options, compiled.rowWork, threads ? chains : 1);
  const progress = options.progress === false ? null : createProgress(chains);
  const run = { model: model.json, data, compiled, settings, chains, threadsPerChain, warmStart: options.warmStart };
  let results: ChainResult[];
  try {
    results = await (threads && chains > 1 ? runChainsOnWorkers(run, progress) : runChainsHere(run, progress));
  } catch (err) {
    throw explainInitFailure(err, compiled, settings);
  }
  progress?.finish();
  return posteriorOf(compiled, settings, threadsPerChain, results);
}

/**
 * Chain `chain` of the fit `fit(model, data, options)` would run, alone, on this thread: the same settings and random
 * stream (runChain's, from the seed and the chain's index), so its draws are bit-identical to that chain's there. A
 * fit's chains run apart this way (in separate processes or pods) are put together by assemblePosterior.
 */
export function fitChain(model: Model, data: DataInput, options: FitOptions, chain: number): ChainResult {
  const settings = samplerSettingsOf(options);
  const chains = chainCountOf(options);
  checkSettings(settings, chains);
  if (!(Number.isInteger(chain) && chain >= 0 && chain < chains))
    throw new BayesServeError("USAGE", `chain index must be an integer in 0..${chains - 1} (got ${chain})`);
  if ((options.threadsPerChain ?? 1) !== 1)
    throw new BayesServeError(
      "USAGE",
      `a chain run alone evaluates its gradient on one thread (threads per chain ${options.threadsPerChain} applies to in-process fits)`,
    );
  checkWarmStart(options.warmStart);
  const compiled = compileModel(bindModel(model.json, data));
  const progress = options.progress === false ? null : createProgress(1);
  try {
    const result = runChain(compiled, settings, chain, progress ? (i, t, w) => progress.update(0, i, t, w) : undefined, chainStartOf(options.warmStart, chain));
    progress?.finish();
    return result;
  } catch (err) {
    throw explainInitFailure(err, compiled, settings);
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
  return posteriorOf(compileModel(bindModel(model.json, data)), settings, 1, results);
}
