// One chain's log-density and gradient evaluated over row shards on several threads, as Stan's reduce_sum splits a
// sum over data. The rows are cut into CHUNKS_PER_THREAD × threads chunks (model/compile.ts ShardCode: chunk k of C);
// the chain's thread evaluates chunk 0, which also holds the terms that are not per row (priors), and then it and the
// helper threads (shard-worker.ts) take the other chunks in turn from a shared counter. The data live once, in
// SharedArrayBuffers; θ goes to the helpers through a shared array, and each gradient costs one Atomics.notify (and a
// wait for chunks still being computed) on a shared control block — no message passing. Each chunk's partial
// log-density and gradient goes to its own slot and the slots are summed in chunk order, 0, 1, …, so a seed gives
// the same draws for a given thread count whichever thread computed which chunk. A helper that is not scheduled
// (a loaded machine) costs at most the chunk it took: the chain's thread takes the rest.
import type { Worker } from "node:worker_threads";
import { instantiateShardCode, type ShardCode, type ShardFunctions } from "../model/compile.js";
import type { LogDensityGradient } from "./point.js";
import { startWorker } from "./worker-start.js";

/** Chunks per thread: enough that a helper descheduled mid-gradient holds up little (one chunk), few enough that the
 * per-chunk work (materialised nodes, the slot's sum) stays small beside the rows'. */
export const CHUNKS_PER_THREAD = 4;

/** Slots of the control block (an Int32Array on a SharedArrayBuffer). */
export const CONTROL = {
  /** Incremented by the chain's thread for each evaluation (and to stop); helpers wait on it. */
  generation: 0,
  /** Chunks finished in the current evaluation; the chain's thread waits on it. */
  done: 1,
  /** Set to 1 to make the helpers exit. */
  stop: 2,
  /** Set to 1 by a thread whose chunk threw; its message is in the message buffer. */
  failed: 3,
  /** Bytes of the failure message. */
  messageLength: 4,
  /** The next chunk to take (Atomics.add); chunk 0 is always the chain's thread's. */
  next: 5,
  length: 6,
} as const;

export const MESSAGE_BYTES = 2048;

/** What a helper thread is given (structured-cloned; the SharedArrayBuffers are shared, not copied). */
export interface ShardJob {
  code: ShardCode;
  /** Which helper (1-based), for messages. */
  helper: number;
  chunks: number;
  /** dim float64s: θ mapped to the constrained scale, written by the chain's thread before each evaluation. */
  params: SharedArrayBuffer;
  /** chunks × dim float64s: chunk k's partial gradient (∂/∂P) at [k·dim, (k+1)·dim). */
  gradients: SharedArrayBuffer;
  /** chunks float64s: each chunk's partial log-density. */
  logDensities: SharedArrayBuffer;
  control: SharedArrayBuffer;
  message: SharedArrayBuffer;
}

export type ShardMessage = { type: "ready" } | { type: "error"; message: string };

export interface ShardedDensity {
  readonly threads: number;
  readonly chunks: number;
  readonly logDensityGradient: LogDensityGradient;
  /** Stops the helper threads (idempotent). */
  close(): Promise<void>;
}

/** A thread's views of the shared buffers. */
export interface ChunkViews {
  chunks: number;
  control: Int32Array;
  logDensities: Float64Array;
  /** Chunk k's gradient slot. */
  slots: Float64Array[];
  message: SharedArrayBuffer;
}

export function chunkViews(job: Pick<ShardJob, "chunks" | "gradients" | "logDensities" | "control" | "message">, dim: number): ChunkViews {
  return {
    chunks: job.chunks,
    control: new Int32Array(job.control),
    logDensities: new Float64Array(job.logDensities),
    slots: Array.from({ length: job.chunks }, (_, k) => new Float64Array(job.gradients, 8 * dim * k, dim)),
    message: job.message,
  };
}

/** Evaluates chunks taken from the control block's counter until none is left: the loop every thread runs. */
export function takeChunks(fns: ShardFunctions, ownGradient: Float64Array, v: ChunkViews, who: string): void {
  const ctl = v.control;
  for (let k = Atomics.add(ctl, CONTROL.next, 1); k < v.chunks; k = Atomics.add(ctl, CONTROL.next, 1)) {
    evaluateChunk(fns, ownGradient, k, v, who);
    if (Atomics.add(ctl, CONTROL.done, 1) + 1 === v.chunks) Atomics.notify(ctl, CONTROL.done);
  }
}

function evaluateChunk(fns: ShardFunctions, ownGradient: Float64Array, k: number, v: ChunkViews, who: string): void {
  try {
    v.logDensities[k] = fns.partial(k, v.chunks, k === 0);
    v.slots[k].set(ownGradient);
  } catch (err) {
    if (Atomics.compareExchange(v.control, CONTROL.failed, 0, 1) === 0) {
      const text = new TextEncoder().encode(`${who}: ${(err as Error)?.message ?? String(err)}`).subarray(0, MESSAGE_BYTES);
      new Uint8Array(v.message).set(text);
      Atomics.store(v.control, CONTROL.messageLength, text.length);
    }
  }
}

/** Starts threads − 1 helpers for `code` and resolves when they are ready to evaluate. */
export async function startShardedDensity(code: ShardCode, threads: number, label = "chain"): Promise<ShardedDensity> {
  if (!(Number.isInteger(threads) && threads >= 2)) throw new Error(`internal error: a sharded density needs at least 2 threads (got ${threads})`);
  const dim = code.dim;
  const chunks = CHUNKS_PER_THREAD * threads;
  const buffers = {
    chunks,
    params: new SharedArrayBuffer(8 * Math.max(1, dim)),
    gradients: new SharedArrayBuffer(8 * Math.max(1, dim) * chunks),
    logDensities: new SharedArrayBuffer(8 * chunks),
    control: new SharedArrayBuffer(4 * CONTROL.length),
    message: new SharedArrayBuffer(MESSAGE_BYTES),
  };
  const views = chunkViews(buffers, dim);
  const { control: ctl, logDensities: lps, slots } = views;
  const ownGradient = new Float64Array(dim);
  const own: ShardFunctions = instantiateShardCode(code, new Float64Array(buffers.params, 0, dim), ownGradient);

  const workers: Worker[] = [];
  const exited: Promise<void>[] = [];
  let closed = false;
  const close = async (): Promise<void> => {
    if (!closed) {
      closed = true;
      // Waiting for the helpers to exit must keep the process alive.
      for (const w of workers) w.ref();
      Atomics.store(ctl, CONTROL.stop, 1);
      Atomics.add(ctl, CONTROL.generation, 1);
      Atomics.notify(ctl, CONTROL.generation);
    }
    await Promise.all(exited);
  };
  try {
    await Promise.all(
      Array.from({ length: threads - 1 }, (_, h) => {
        const job: ShardJob = { code, helper: h + 1, ...buffers };
        const worker = startWorker(import.meta.url, "shard-worker", { workerData: job });
        workers.push(worker);
        exited.push(new Promise((resolve) => worker.once("exit", () => resolve())));
        const what = `${label}: row-shard thread ${h + 1}`;
        return new Promise<void>((resolve, reject) => {
          worker.once("message", (msg: ShardMessage) => (msg.type === "ready" ? resolve() : reject(new Error(`${what} failed to start: ${msg.message}`))));
          worker.once("error", (err) => reject(new Error(`${what} failed to start: ${err.message}`)));
          worker.once("exit", (exitCode) => reject(new Error(`${what} exited with code ${exitCode} before it was ready`)));
        });
      }),
    );
  } catch (err) {
    await close();
    throw err;
  }
  // Once ready, a helper never keeps the process alive on its own (the chain that started it closes it).
  for (const w of workers) w.unref();

  const gp = ownGradient;
  const logDensityGradient: LogDensityGradient = (theta, grad) => {
    if (closed) throw new Error(`internal error: ${label}: the sharded log-density was used after close()`);
    const logJacobian = own.forward(theta);
    // P is written; release the helpers (the atomic writes order it before their reads). Chunk 0 is this thread's.
    Atomics.store(ctl, CONTROL.done, 0);
    Atomics.store(ctl, CONTROL.next, 1);
    Atomics.add(ctl, CONTROL.generation, 1);
    Atomics.notify(ctl, CONTROL.generation);
    evaluateChunk(own, gp, 0, views, "the chain's thread");
    Atomics.add(ctl, CONTROL.done, 1);
    takeChunks(own, gp, views, "the chain's thread");
    for (let d = Atomics.load(ctl, CONTROL.done); d < chunks; d = Atomics.load(ctl, CONTROL.done)) Atomics.wait(ctl, CONTROL.done, d);
    if (Atomics.load(ctl, CONTROL.failed) !== 0) {
      const bytes = new Uint8Array(buffers.message, 0, Atomics.load(ctl, CONTROL.messageLength)).slice();
      throw new Error(`${label}: a row-shard thread failed: ${new TextDecoder().decode(bytes)}`);
    }
    // Fixed order: chunk 0, then 1, 2, …
    let lp = lps[0];
    gp.set(slots[0]);
    for (let k = 1; k < chunks; k++) {
      lp += lps[k];
      const gs = slots[k];
      for (let i = 0; i < dim; i++) gp[i] += gs[i];
    }
    own.backward(grad);
    return logJacobian + lp;
  };
  return { threads, chunks, logDensityGradient, close };
}
