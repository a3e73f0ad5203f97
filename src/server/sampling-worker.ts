// Worker-thread entry of the sampling pool: heavy prediction requests (many samples, big batches) run here, off the
// event loop, so that light requests never wait behind them. Models arrive once per version, their draws in shared
// memory; jobs name the version they were validated against.
import { parentPort } from "node:worker_threads";
import { InstanceError, Predictor } from "../predict/index.js";
import { answerAll, type InstanceAnswer, type PredictParams } from "./compute.js";
import type { ModelTransfer } from "./model-holder.js";
import type { InstanceBody } from "./schemas.js";
import { inferAll, type InferAnswer, type InferParams } from "./v2-compute.js";

export type ToWorker =
  | { type: "load"; model: ModelTransfer }
  | { type: "drop"; version: string }
  /** The seed API's answers (PredictParams), or the Open Inference Protocol's (InferParams, kind "infer"). */
  | { type: "job"; id: number; version: string; instances: InstanceBody[]; params: PredictParams | InferParams };

export type FromWorker =
  /** The job's computation begins now (the time limit counts from here, not from a worker still starting up). */
  | { type: "started"; id: number }
  | { type: "done"; id: number; answers: InstanceAnswer[] | InferAnswer[] }
  | { type: "failed"; id: number; instance: InstanceErrorData | null; message: string };

/** An InstanceError as plain data, to cross the thread boundary. */
export interface InstanceErrorData {
  index: number;
  fields: readonly string[];
  problem: InstanceError["problem"];
  reason: string;
}

const port = parentPort;
if (port) {
  const predictors = new Map<string, Predictor>();
  port.on("message", (msg: ToWorker) => {
    if (msg.type === "load") {
      const m = msg.model;
      predictors.set(m.version, new Predictor(m.model, { names: m.names, chains: m.chains, draws: m.draws, values: m.values, shuffled: true }, { fixedData: m.fixedData, target: m.target, standardization: m.standardization }));
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
      const answers = params.kind === "infer" ? inferAll(predictor, msg.instances, params) : answerAll(predictor, msg.instances, params);
      port.postMessage({ type: "done", id: msg.id, answers } satisfies FromWorker);
    } catch (err) {
      const instance = err instanceof InstanceError ? { index: err.index, fields: err.fields, problem: err.problem, reason: err.reason } : null;
      port.postMessage({ type: "failed", id: msg.id, instance, message: (err as Error).message } satisfies FromWorker);
    }
  });
}
