// Where a fit's chains run: each on a worker thread of its own (chain-worker.ts, started by worker-start.ts, with the
// chains' V8 settings), or one after another on this thread. Either way with the same random stream per chain (from
// the seed and the chain's index), so the draws are the same; each chain's gradient on row shards over helper threads
// when asked (sharded-density.ts).
import { BayesServeError, type ErrorCode } from "../errors.js";
import type { DataInput } from "../model/bind.js";
import { compileModel, type CompiledModel } from "../model/compile.js";
import type { ModelJSON } from "../model/graph.js";
import { compiledModules } from "../model/wasm-module.js";
import type { ChainJob, ChainMessage } from "./chain-worker.js";
import { withChainV8Flags } from "./chain-v8-flags.js";
import { chainStartOf } from "./fit-options.js";
import type { ChainProgress } from "./progress.js";
import { type ChainResult, type ChainStart, runChain, type SamplerSettings } from "./sampler.js";
import { startShardedDensity } from "./sharded-density.js";
import { startWorker } from "./worker-start.js";

/** The chains of one fit: the model (as JSON for the workers, compiled for this thread) and how to run them. */
export interface ChainsToRun {
  model: ModelJSON;
  data: DataInput;
  compiled: CompiledModel;
  settings: SamplerSettings;
  chains: number;
  threadsPerChain: number;
  warmStart: ChainStart[] | undefined;
}

/** The chains one after another on this thread; sharded, one set of helper threads for all of them in turn. */
export async function runChainsHere(run: ChainsToRun, progress: ChainProgress | null): Promise<ChainResult[]> {
  const { compiled, settings, threadsPerChain } = run;
  // Sharded: the data on SharedArrayBuffers (compiled so unless asked for).
  const code = threadsPerChain > 1 ? (compiled.shardCode ?? compileModel(compiled.bound, { shards: true }).shardCode!) : null;
  const sharded = code ? await startShardedDensity(code, threadsPerChain) : null;
  const target = sharded ? { dim: compiled.dim, paramNames: compiled.paramNames, logDensityGradient: sharded.logDensityGradient } : compiled;
  const results: ChainResult[] = [];
  try {
    for (let c = 0; c < run.chains; c++)
      results.push(runChain(target, settings, c, progress ? (i, t, w) => progress.update(c, i, t, w) : undefined, chainStartOf(run.warmStart, c)));
  } finally {
    await sharded?.close();
  }
  return results;
}

/** Each chain on a worker thread of its own, all at once. */
export function runChainsOnWorkers(run: ChainsToRun, progress: ChainProgress | null): Promise<ChainResult[]> {
  // Compiled here once a process, not by each chain on its own clock (model/wasm-module.ts).
  const wasm = compiledModules();
  return withChainV8Flags(() =>
    Promise.all(
      Array.from({ length: run.chains }, (_, c) =>
        runChainInWorker(
          {
            model: run.model,
            data: run.data,
            settings: run.settings,
            chain: c,
            threadsPerChain: run.threadsPerChain,
            progress: progress !== null,
            start: chainStartOf(run.warmStart, c),
            wasm,
          },
          (...a) => progress?.update(...a),
        ),
      ),
    ),
  );
}

function runChainInWorker(job: ChainJob, onProgress: (c: number, i: number, t: number, w: boolean) => void): Promise<ChainResult> {
  return new Promise((resolve, reject) => {
    const worker = startWorker(import.meta.url, "chain-worker", { workerData: job });
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
