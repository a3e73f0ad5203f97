// Worker-thread entry: compiles the model from its JSON form and runs one chain. The chain's random stream depends
// only on (seed, chain), so results are bit-identical however the threads are scheduled.
import { parentPort, workerData } from "node:worker_threads";
import { BayesServeError } from "../errors.js";
import { bindModel, type DataInput } from "../model/bind.js";
import { compileModel } from "../model/compile.js";
import type { ModelJSON } from "../model/graph.js";
import { adoptCompiled } from "../model/wasm-module.js";
import { type ChainStart, runChain, type SamplerSettings } from "./sampler.js";
import { startShardedDensity } from "./sharded-density.js";

export interface ChainJob {
  model: ModelJSON;
  data: DataInput;
  settings: SamplerSettings;
  chain: number;
  /** Threads evaluating this chain's log-density over row shards (1: this thread alone). */
  threadsPerChain: number;
  /** Post progress messages (only when a progress bar is shown). */
  progress: boolean;
  /** A warm start for this chain. */
  start?: ChainStart;
  /** The WebAssembly modules, compiled by the starting thread (model/wasm-module.ts). */
  wasm: Record<string, WebAssembly.Module>;
}

export type ChainMessage =
  | { type: "progress"; chain: number; iteration: number; total: number; warmup: boolean }
  | { type: "done"; result: ReturnType<typeof runChain> }
  | { type: "error"; code: string | null; message: string };

const port = parentPort;
if (port) {
  const job = workerData as ChainJob;
  const sharded = job.threadsPerChain > 1;
  let close = async (): Promise<void> => {};
  try {
    adoptCompiled(job.wasm);
    const compiled = compileModel(bindModel(job.model, job.data), { shards: sharded });
    const density = sharded ? await startShardedDensity(compiled.shardCode!, job.threadsPerChain, `chain ${job.chain}`) : null;
    if (density) close = density.close;
    const target = density ? { dim: compiled.dim, paramNames: compiled.paramNames, logDensityGradient: density.logDensityGradient } : compiled;
    const report = (iteration: number, total: number, warmup: boolean) =>
      port.postMessage({ type: "progress", chain: job.chain, iteration, total, warmup } satisfies ChainMessage);
    const result = runChain(target, job.settings, job.chain, job.progress ? report : undefined, job.start);
    await close();
    port.postMessage({ type: "done", result } satisfies ChainMessage, [result.unconstrained.buffer as ArrayBuffer, result.stats.buffer as ArrayBuffer]);
  } catch (err) {
    await close();
    const e = err as Error;
    port.postMessage({ type: "error", code: err instanceof BayesServeError ? err.code : null, message: e.message } satisfies ChainMessage);
  }
}
