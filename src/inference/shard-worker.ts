// Worker-thread entry of a row-shard helper (sharded-density.ts): builds its copy of the shard functions over the
// shared data, says it is ready, then, each time the control block's generation moves, takes chunks until none is
// left, until told to stop. An exception is written to the shared message buffer for the chain's thread to raise:
// it never hangs it.
import { parentPort, workerData } from "node:worker_threads";
import { instantiateShardCode, type ShardFunctions } from "../model/compile.js";
import { chunkViews, CONTROL, type ShardJob, type ShardMessage, takeChunks } from "./sharded-density.js";

const port = parentPort;
if (port) {
  const job = workerData as ShardJob;
  const dim = job.code.dim;
  const views = chunkViews(job, dim);
  const ctl = views.control;
  const ownGradient = new Float64Array(dim);
  let fns: ShardFunctions | null = null;
  try {
    fns = instantiateShardCode(job.code, new Float64Array(job.params, 0, dim), ownGradient);
  } catch (err) {
    port.postMessage({ type: "error", message: (err as Error).message } satisfies ShardMessage);
  }
  if (fns !== null) {
    let generation = Atomics.load(ctl, CONTROL.generation);
    port.postMessage({ type: "ready" } satisfies ShardMessage);
    for (;;) {
      // Checked before waiting too: a stop that came while this thread was starting moved the generation already.
      if (Atomics.load(ctl, CONTROL.stop) !== 0) break;
      Atomics.wait(ctl, CONTROL.generation, generation);
      const now = Atomics.load(ctl, CONTROL.generation);
      if (now === generation) continue;
      generation = now;
      if (Atomics.load(ctl, CONTROL.stop) !== 0) break;
      takeChunks(fns, ownGradient, views, `row-shard thread ${job.helper}`);
    }
    port.close();
  }
}
