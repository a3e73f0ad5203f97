// One chain's log-density and gradient evaluated over row shards on several threads, as Stan's reduce_sum splits a
// sum over data: the chain's thread evaluates shard 0 and the terms that are not per row (priors), helper threads
// (shard-worker.ts) the other shards. The data live once, in SharedArrayBuffers (model/compile.ts ShardCode); θ goes
// to the helpers through a shared array, and each gradient costs one round of Atomics.notify/wait on a shared control
// block — no message passing. Partial log-densities and gradients are summed in shard order, 0, 1, …, so a seed gives
// the same draws for a given thread count.
import type { Worker } from "node:worker_threads";
import { instantiateShardCode, type ShardCode, type ShardFunctions } from "../model/compile.js";
import type { LogDensityGradient } from "./point.js";
import { startWorker } from "./worker-start.js";

/** Slots of the control block (an Int32Array on a SharedArrayBuffer). */
export const CONTROL = {
  /** Incremented by the chain's thread for each evaluation (and to stop); helpers wait on it. */
  generation: 0,
  /** Helpers that have finished the current evaluation; the chain's thread waits on it. */
  done: 1,
  /** Set to 1 to make the helpers exit. */
  stop: 2,
  /** Set to 1 by a helper whose evaluation threw; its message is in the message buffer. */
  failed: 3,
  /** Bytes of the failure message. */
  messageLength: 4,
  length: 5,
} as const;

export const MESSAGE_BYTES = 2048;

/** What a helper thread is given (structured-cloned; the SharedArrayBuffers are shared, not copied). */
export interface ShardJob {
  code: ShardCode;
  shard: number;
  shards: number;
  /** dim float64s: θ mapped to the constrained scale, written by the chain's thread before each evaluation. */
  params: SharedArrayBuffer;
  /** shards × dim float64s: shard s's partial gradient (∂/∂P) at [s·dim, (s+1)·dim). */
  gradients: SharedArrayBuffer;
  /** shards float64s: each shard's partial log-density. */
  logDensities: SharedArrayBuffer;
  control: SharedArrayBuffer;
  message: SharedArrayBuffer;
}

export type ShardMessage = { type: "ready" } | { type: "error"; message: string };

export interface ShardedDensity {
  readonly threads: number;
  readonly logDensityGradient: LogDensityGradient;
  /** Stops the helper threads (idempotent). */
  close(): Promise<void>;
}

/** Starts threads − 1 helpers for `code` and resolves when they are ready to evaluate. */
export async function startShardedDensity(code: ShardCode, threads: number, label = "chain"): Promise<ShardedDensity> {
  if (!(Number.isInteger(threads) && threads >= 2)) throw new Error(`internal error: a sharded density needs at least 2 threads (got ${threads})`);
  const dim = code.dim;
  const params = new SharedArrayBuffer(8 * Math.max(1, dim));
  const gradients = new SharedArrayBuffer(8 * Math.max(1, dim) * threads);
  const logDensities = new SharedArrayBuffer(8 * threads);
  const control = new SharedArrayBuffer(4 * CONTROL.length);
  const message = new SharedArrayBuffer(MESSAGE_BYTES);
  const ctl = new Int32Array(control);
  const lps = new Float64Array(logDensities);
  const slots = Array.from({ length: threads }, (_, s) => new Float64Array(gradients, 8 * dim * s, dim));
  const own: ShardFunctions = instantiateShardCode(code, new Float64Array(params, 0, dim), slots[0]);

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
      Array.from({ length: threads - 1 }, (_, k) => {
        const job: ShardJob = { code, shard: k + 1, shards: threads, params, gradients, logDensities, control, message };
        const worker = startWorker("shard-worker", job);
        workers.push(worker);
        exited.push(new Promise((resolve) => worker.once("exit", () => resolve())));
        return new Promise<void>((resolve, reject) => {
          worker.once("message", (msg: ShardMessage) => (msg.type === "ready" ? resolve() : reject(new Error(`${label}: row-shard thread ${k + 1} failed to start: ${msg.message}`))));
          worker.once("error", (err) => reject(new Error(`${label}: row-shard thread ${k + 1} failed to start: ${err.message}`)));
          worker.once("exit", (exitCode) => reject(new Error(`${label}: row-shard thread ${k + 1} exited with code ${exitCode} before it was ready`)));
        });
      }),
    );
  } catch (err) {
    await close();
    throw err;
  }
  // Once ready, a helper never keeps the process alive on its own (the chain that started it closes it).
  for (const w of workers) w.unref();

  const helpers = threads - 1;
  const g0 = slots[0];
  const logDensityGradient: LogDensityGradient = (theta, grad) => {
    if (closed) throw new Error(`internal error: ${label}: the sharded log-density was used after close()`);
    const logJacobian = own.forward(theta);
    // P is written; release the helpers (the atomic write orders it before their reads).
    Atomics.store(ctl, CONTROL.done, 0);
    Atomics.add(ctl, CONTROL.generation, 1);
    Atomics.notify(ctl, CONTROL.generation);
    let lp = own.partial(0, threads, true);
    for (let d = Atomics.load(ctl, CONTROL.done); d < helpers; d = Atomics.load(ctl, CONTROL.done)) Atomics.wait(ctl, CONTROL.done, d);
    if (Atomics.load(ctl, CONTROL.failed) !== 0) {
      const bytes = new Uint8Array(message, 0, Atomics.load(ctl, CONTROL.messageLength)).slice();
      throw new Error(`${label}: a row-shard thread failed: ${new TextDecoder().decode(bytes)}`);
    }
    // Fixed order: shard 0, then 1, 2, …
    for (let s = 1; s < threads; s++) {
      lp += lps[s];
      const gs = slots[s];
      for (let k = 0; k < dim; k++) g0[k] += gs[k];
    }
    own.backward(grad);
    return logJacobian + lp;
  };
  return { threads, logDensityGradient, close };
}
