// Worker-thread entry of the sampling pool: heavy prediction requests (many samples, big batches, many bins) of the
// seed API and of the Open Inference Protocol are answered here, off the event loop, so that light requests never wait
// behind them — computed, and written as JSON too (a density of 200,000 values is megabytes of text), the bytes handed
// back without a copy. Models arrive once per version, their draws in shared memory; jobs name the version they were
// validated against.
import { readlinkSync } from "node:fs";
import { setPriority } from "node:os";
import { parentPort } from "node:worker_threads";
import { answerAll, inferAll, InstanceError, Predictor, type InferParams, type PredictParams } from "../predict/index.js";
import { encodeAnswer, responseBody } from "./answer-body.js";
import { encodeInferAnswer, type InferResponseHead } from "./v2-answer-body.js";
import type { ModelTransfer } from "./model-holder.js";
import type { InstanceBody } from "./schemas.js";

export type ToWorker =
  | { type: "load"; model: ModelTransfer }
  | { type: "drop"; version: string }
  /** The seed API's answers (PredictParams), or the Open Inference Protocol's (InferParams, kind "infer", and its head). */
  | { type: "job"; id: number; version: string; instances: InstanceBody[]; batch: boolean; params: PredictParams | InferParams; head?: InferJobHead };

/** What an Open Inference Protocol body says besides the answers, as a job carries it (the worker knows the model's version and draws). */
export type InferJobHead = Pick<InferResponseHead, "modelName" | "id" | "outputs">;

export type FromWorker =
  /** The job's computation begins now (the time limit counts from here, not from a worker still starting up). */
  | { type: "started"; id: number }
  /** The 200 body, as the route's serializer writes it, in UTF-8 (its buffer transferred). */
  | { type: "done"; id: number; body: Uint8Array<ArrayBuffer> }
  | { type: "failed"; id: number; instance: InstanceErrorData | null; message: string };

/** An InstanceError as plain data, to cross the thread boundary. */
export interface InstanceErrorData {
  index: number;
  fields: readonly string[];
  problem: InstanceError["problem"];
  reason: string;
}

/**
 * The nice value of a sampling thread: the kernel then gives a core to the event loop (light requests, and the
 * answers streaming out) before it gives one to a heavy computation, on a machine whose cores are all busy.
 */
export const WORKER_NICE = 10;

/** Lowers this thread's CPU priority (Linux: a thread's nice value is its own, set through its thread id). */
function yieldCpuToEventLoop(): void {
  try {
    const tid = Number(readlinkSync("/proc/thread-self").split("/").pop());
    if (Number.isSafeInteger(tid) && tid > 0) setPriority(tid, WORKER_NICE);
  } catch {
    // Not Linux (no /proc/thread-self), or not allowed: the thread keeps the process's priority.
  }
}

const port = parentPort;
if (port) {
  yieldCpuToEventLoop();
  const predictors = new Map<string, Predictor>();
  port.on("message", (msg: ToWorker) => {
    if (msg.type === "load") {
      const m = msg.model;
      predictors.set(
        m.version,
        new Predictor(
          m.model,
          { names: m.names, chains: m.chains, draws: m.draws, values: m.values, shuffled: true },
          { fixedData: m.fixedData, target: m.target, standardization: m.standardization },
        ),
      );
      return;
    }
    if (msg.type === "drop") {
      predictors.delete(msg.version);
      return;
    }
    const predictor = predictors.get(msg.version);
    port.postMessage({ type: "started", id: msg.id } satisfies FromWorker);
    try {
      if (predictor === undefined) throw new Error(`model version ${msg.version} is not loaded in this worker`);
      const params = msg.params;
      let body: Uint8Array<ArrayBuffer>;
      if (params.kind === "infer") {
        if (msg.head === undefined) throw new Error("an infer job without its head");
        body = encodeInferAnswer({ ...msg.head, version: msg.version, drawCount: predictor.drawCount, params }, inferAll(predictor, msg.instances, params));
      } else {
        const answers = answerAll(predictor, msg.instances, params);
        body = encodeAnswer(params.kind, responseBody(answers, msg.batch, params, predictor.drawCount));
      }
      port.postMessage({ type: "done", id: msg.id, body } satisfies FromWorker, [body.buffer]);
    } catch (err) {
      const instance = err instanceof InstanceError ? { index: err.index, fields: err.fields, problem: err.problem, reason: err.reason } : null;
      port.postMessage({ type: "failed", id: msg.id, instance, message: (err as Error).message } satisfies FromWorker);
    }
  });
}
