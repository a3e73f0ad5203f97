// A small pool of worker threads for heavy prediction requests. Each worker runs one job at a time, and answers it
// with the response body written as JSON (the seed API's and the Open Inference Protocol's alike); jobs wait in a bounded queue (a full queue answers 503), though admission
// (admission.ts) hands the pool no more jobs than it has workers. A worker
// receives a model version the first time a job needs it and drops it once that version is retired and no queued job
// needs it. A job has a time limit: a worker still busy with it then is stopped (the request gets a 503) and replaced,
// so no request can hold a core for longer. A worker that dies fails its job (503) and is replaced. Workers start
// with the first heavy request and stop after a while without one: a thread costs about 10 MB, which a service that
// never sees a heavy request should not pay.
import type { Worker } from "node:worker_threads";
import { startWorker } from "../inference/worker-start.js";
import type { FastifyBaseLogger } from "fastify";
import { InstanceError, type InferParams, type PredictParams } from "../predict/index.js";
import { DEFAULT_REQUEST_TIMEOUT_SECONDS } from "./constants.js";
import { HttpProblem } from "./errors.js";
import type { ModelTransfer } from "./model-holder.js";
import type { FromWorker, InferJobHead, ToWorker } from "./sampling-worker.js";
import type { InstanceBody } from "./schemas.js";

interface Job {
  id: number;
  model: ModelTransfer;
  instances: InstanceBody[];
  batch: boolean;
  /** The seed API's answers or the Open Inference Protocol's (kind "infer", with what its body says besides them). */
  params: PredictParams | InferParams;
  head?: InferJobHead;
  resolve: (result: Uint8Array) => void;
  reject: (err: Error) => void;
}

interface Slot {
  worker: Worker;
  versions: Set<string>;
  job: Job | null;
  /** Stops the worker when its job runs past the time limit. */
  deadline: NodeJS.Timeout | null;
  /** Its job ran past the time limit and the worker is being stopped. */
  timedOut: boolean;
  /** Stopped on purpose (idle): its exit is not a failure. */
  retiring: boolean;
}

export interface SamplingPoolOptions {
  /** Worker threads (≥ 1). */
  size: number;
  /** Jobs allowed to wait for a worker; beyond it a heavy request is refused with 503. */
  maxQueue: number;
  /** Workers stop after this long without a job (default 60 s). */
  idleMs?: number;
  /** A job still running after this long is stopped with its worker, and its request answered 503 (default 30 s). */
  jobTimeoutMs?: number;
  log: FastifyBaseLogger;
}

/**
 * A worker's heap: a small young generation (its garbage is short-lived sample arrays, and a small nursery returns
 * their memory quickly) and a bounded old one, so that a worker can never take the machine's memory.
 */
const WORKER_LIMITS = { maxYoungGenerationSizeMb: 8, maxOldGenerationSizeMb: 256 };

export const DEFAULT_JOB_TIMEOUT_MS = DEFAULT_REQUEST_TIMEOUT_SECONDS * 1000;

export class SamplingPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private readonly retired = new Set<string>();
  private nextId = 1;
  private closed = false;
  private idleTimer: NodeJS.Timeout | null = null;

  constructor(private readonly options: SamplingPoolOptions) {}

  /** Starts the workers (idempotent); the first heavy request does it. */
  warm(): void {
    if (this.closed) return;
    while (this.slots.length < Math.max(1, this.options.size)) this.slots.push(this.spawn());
  }

  /** Workers running now (0 while idle). */
  get size(): number {
    return this.slots.length;
  }

  private armIdleTimer(): void {
    if (this.idleTimer !== null) clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      if (this.pending > 0) return;
      for (const slot of this.slots.splice(0)) {
        slot.retiring = true;
        void slot.worker.terminate();
      }
    }, this.options.idleMs ?? 60_000);
    this.idleTimer.unref();
  }

  /** Jobs running or waiting. */
  get pending(): number {
    return this.queue.length + this.slots.filter((s) => s.job !== null).length;
  }

  private spawn(): Slot {
    const slot: Slot = {
      worker: startWorker(import.meta.url, "sampling-worker", { resourceLimits: WORKER_LIMITS }),
      versions: new Set(),
      job: null,
      deadline: null,
      timedOut: false,
      retiring: false,
    };
    slot.worker.unref();
    slot.worker.on("message", (msg: FromWorker) => this.onMessage(slot, msg));
    slot.worker.on("error", (err) => this.options.log.error({ err: { message: err.message } }, "sampling worker failed"));
    slot.worker.on("exit", (code) => {
      if (this.closed || slot.retiring) return;
      const job = slot.job;
      this.clearDeadline(slot);
      if (slot.timedOut) this.options.log.warn({ limitMs: this.jobTimeout }, "a heavy request ran past the time limit; its worker was stopped and is replaced");
      else this.options.log.error({ code }, "sampling worker exited; starting a new one");
      const i = this.slots.indexOf(slot);
      if (i >= 0) this.slots[i] = this.spawn();
      job?.reject(
        slot.timedOut
          ? new HttpProblem(503, `The prediction took longer than the server's limit of ${this.jobTimeout / 1000} s; ask for fewer samples or instances`, {
              "retry-after": "1",
            })
          : new HttpProblem(503, "The prediction worker stopped while answering; please retry", { "retry-after": "1" }),
      );
      this.pump();
    });
    return slot;
  }

  /**
   * The 200 body for these instances (a batch or one), computed and written as JSON on a worker. Rejects with an
   * InstanceError (an instance that cannot be answered), or a 503 HttpProblem when the queue is full or the job fails.
   */
  run(model: ModelTransfer, instances: InstanceBody[], params: PredictParams, batch: boolean): Promise<Uint8Array> {
    return this.enqueue(model, instances, params, batch) as Promise<Uint8Array>;
  }

  /** The Open Inference Protocol's 200 body for every instance (predict/infer.ts), computed and written on a worker. */
  runInfer(model: ModelTransfer, instances: InstanceBody[], params: InferParams, head: InferJobHead): Promise<Uint8Array> {
    return this.enqueue(model, instances, params, true, head);
  }

  private enqueue(
    model: ModelTransfer,
    instances: InstanceBody[],
    params: PredictParams | InferParams,
    batch: boolean,
    head?: InferJobHead,
  ): Promise<Uint8Array> {
    if (this.closed) return Promise.reject(new HttpProblem(503, "The server is shutting down", { "retry-after": "1" }));
    if (this.queue.length >= this.options.maxQueue) {
      return Promise.reject(
        new HttpProblem(503, "Too many heavy prediction requests in progress; retry shortly or ask for fewer samples", { "retry-after": "1" }),
      );
    }
    if (this.idleTimer !== null) {
      clearTimeout(this.idleTimer);
      this.idleTimer = null;
    }
    this.warm();
    return new Promise<Uint8Array>((resolve, reject) => {
      this.queue.push({ id: this.nextId++, model, instances, batch, params, head, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    for (const slot of this.slots) {
      if (slot.job !== null) continue;
      const job = this.queue.shift();
      if (job === undefined) return;
      slot.job = job;
      const v = job.model.version;
      if (!slot.versions.has(v)) {
        slot.worker.postMessage({ type: "load", model: job.model } satisfies ToWorker);
        slot.versions.add(v);
      }
      slot.worker.postMessage({
        type: "job",
        id: job.id,
        version: v,
        instances: job.instances,
        batch: job.batch,
        params: job.params,
        head: job.head,
      } satisfies ToWorker);
    }
  }

  /** The job's computation has begun: from now it has the time limit. */
  private started(slot: Slot): void {
    slot.deadline = setTimeout(() => {
      slot.timedOut = true;
      void slot.worker.terminate();
    }, this.jobTimeout);
    slot.deadline.unref();
  }

  private get jobTimeout(): number {
    return this.options.jobTimeoutMs ?? DEFAULT_JOB_TIMEOUT_MS;
  }

  private clearDeadline(slot: Slot): void {
    if (slot.deadline !== null) clearTimeout(slot.deadline);
    slot.deadline = null;
  }

  private onMessage(slot: Slot, msg: FromWorker): void {
    if (slot.timedOut) return; // being stopped: its exit answers the job
    if (msg.type === "started") {
      if (slot.job?.id === msg.id) this.started(slot);
      return;
    }
    const job = slot.job;
    slot.job = null;
    this.clearDeadline(slot);
    if (job !== null && job.id === msg.id) {
      if (msg.type === "done") job.resolve(msg.body);
      else if (msg.instance !== null) job.reject(new InstanceError(msg.instance.index, msg.instance.fields, msg.instance.problem, msg.instance.reason));
      else job.reject(new Error(`sampling worker: ${msg.message}`));
    }
    this.dropRetired();
    this.pump();
    if (this.pending === 0) this.armIdleTimer();
  }

  /** The version is no longer served: workers forget it once no job needs it. */
  retire(version: string): void {
    this.retired.add(version);
    this.dropRetired();
  }

  private dropRetired(): void {
    for (const version of this.retired) {
      const needed = this.queue.some((j) => j.model.version === version) || this.slots.some((s) => s.job?.model.version === version);
      if (needed) continue;
      for (const slot of this.slots) {
        if (slot.versions.delete(version)) slot.worker.postMessage({ type: "drop", version } satisfies ToWorker);
      }
      this.retired.delete(version);
    }
  }

  /** Lets running jobs finish, refuses queued ones, and stops the workers. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.idleTimer !== null) clearTimeout(this.idleTimer);
    for (const slot of this.slots) this.clearDeadline(slot);
    for (const job of this.queue.splice(0)) job.reject(new HttpProblem(503, "The server is shutting down", { "retry-after": "1" }));
    const deadline = Date.now() + 10_000;
    while (this.slots.some((s) => s.job !== null) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}
