// Worker-thread entry of a row-shard helper (sharded-density.ts): builds its copy of the shard functions over the
// shared data, says it is ready, then evaluates its shard each time the control block's generation moves, until told
// to stop. An exception is written to the shared message buffer for the chain's thread to raise: it never hangs it.
import { parentPort, workerData } from "node:worker_threads";
import { instantiateShardCode, type ShardFunctions } from "../model/compile.js";
import { CONTROL, MESSAGE_BYTES, type ShardJob, type ShardMessage } from "./sharded-density.js";

const port = parentPort;
if (port) {
  const job = workerData as ShardJob;
  const dim = job.code.dim;
  const ctl = new Int32Array(job.control);
  const lps = new Float64Array(job.logDensities);
  let fns: ShardFunctions | null = null;
  try {
    fns = instantiateShardCode(job.code, new Float64Array(job.params, 0, dim), new Float64Array(job.gradients, 8 * dim * job.shard, dim));
  } catch (err) {
    port.postMessage({ type: "error", message: (err as Error).message } satisfies ShardMessage);
  }
  if (fns !== null) {
    let generation = Atomics.load(ctl, CONTROL.generation);
    port.postMessage({ type: "ready" } satisfies ShardMessage);
    const helpers = job.shards - 1;
    for (;;) {
      // Checked before waiting too: a stop that came while this thread was starting moved the generation already.
      if (Atomics.load(ctl, CONTROL.stop) !== 0) break;
      Atomics.wait(ctl, CONTROL.generation, generation);
      const now = Atomics.load(ctl, CONTROL.generation);
      if (now === generation) continue;
      generation = now;
      if (Atomics.load(ctl, CONTROL.stop) !== 0) break;
      try {
        lps[job.shard] = fns.partial(job.shard, job.shards, false);
      } catch (err) {
        if (Atomics.compareExchange(ctl, CONTROL.failed, 0, 1) === 0) {
          const text = new TextEncoder().encode(`shard ${job.shard}: ${(err as Error)?.message ?? String(err)}`).subarray(0, MESSAGE_BYTES);
          new Uint8Array(job.message).set(text);
          Atomics.store(ctl, CONTROL.messageLength, text.length);
        }
      }
      if (Atomics.add(ctl, CONTROL.done, 1) + 1 === helpers) Atomics.notify(ctl, CONTROL.done);
    }
    port.close();
  }
}
