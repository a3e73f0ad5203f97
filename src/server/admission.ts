// What a prediction request costs, and the admission of heavy ones, so that the server's memory and CPU are bounded by
// construction rather than by how many clients come at once.
//
// A request's cost is counted before any work is done, from its validated body: the computation (posterior-predictive
// samples, a density's bins, a mean's posterior draws, the numbers written) in sample-equivalents, and the size of its
// answer in bytes, at most. A light request (little work, a small answer) is answered on the event loop at once. A
// heavy one is admitted here:
//
// - at most `slots` are computed at once (the sampling workers);
// - the answers of admitted requests — computing, or computed and not yet taken by their client — hold at most
//   `answerMemory` bytes: a request whose answer would not fit waits, so a client that does not read its answers holds
//   memory up to that bound and no further;
// - the others wait in a queue bounded in length (`maxQueued`) and in time: a request whose estimated wait (the work
//   ahead of it at the rate the workers have been computing) is longer than `maxWaitMs` is refused at once, and one
//   still waiting after twice that is refused then;
// - a refused request gets 503 with Retry-After (the estimated wait, in seconds), and is counted (load shedding).
import type { FastifyBaseLogger } from "fastify";
import { DEFAULT_ANSWER_MEMORY_MIB, DEFAULT_MAX_QUEUE_WAIT_SECONDS, DEFAULT_MAX_QUEUED_HEAVY } from "./constants.js";
import { HttpProblem } from "./errors.js";
import type { PredictionKind } from "./schemas.js";

export interface RequestCost {
  /** The computation, in sample-equivalents (one posterior-predictive draw, ~0.1 µs here). */
  work: number;
  /** The answer's size in bytes, at most (every number written at its longest). */
  bytes: number;
}

/**
 * Sample-equivalents of one density bin (counting, its density, two numbers written) and of one number written:
 * scratch measurements of the seed's model on the development machine (a bin ~1 µs, a sample ~0.08 µs).
 */
const BIN_WORK = 12;
const NUMBER_WORK = 3;
/** The longest number JSON.stringify writes ("-2.2250738585072014e-308") and its separator. */
const NUMBER_BYTES = 25;
/** Field names, brackets and the scalar fields of an answer. */
const ANSWER_OVERHEAD_BYTES = 160;

/** The work up to which a request is light (answered on the event loop): about a millisecond. */
export const DEFAULT_HEAVY_WORK = 20_000;
/** The largest answer a light request may have: larger ones are written as JSON on a worker. */
export const LIGHT_ANSWER_BYTES = 64 * 1024;

/** The cost of a validated request: `instances` instances, `nSamples` samples each (`drawCount` draws for a mean). */
export function requestCost(kind: PredictionKind, instances: number, nSamples: number, bins: number, drawCount: number): RequestCost {
  switch (kind) {
    case "mean":
      return answerCost(instances, drawCount, 3);
    case "density":
      // A discrete family lists one value per integer, at most `bins` of them: the same bound.
      return answerCost(instances, nSamples, 2 * bins, bins);
    case "interval":
      return answerCost(instances, nSamples, 2);
    default:
      return answerCost(instances, nSamples, 1);
  }
}

/**
 * The cost of answering `instances` instances, each taking `perInstance` sample-equivalents to compute (samples drawn,
 * or draws for a mean), counting `bins` density bins and writing `numbers` numbers.
 */
export function answerCost(instances: number, perInstance: number, numbers: number, bins = 0): RequestCost {
  return { work: instances * (perInstance + bins * BIN_WORK + numbers * NUMBER_WORK), bytes: instances * numbers * NUMBER_BYTES + ANSWER_OVERHEAD_BYTES };
}

/** Light enough to answer on the event loop: little work and a small answer. */
export const isLightCost = (cost: RequestCost, heavyWork: number): boolean => cost.work <= heavyWork && cost.bytes <= LIGHT_ANSWER_BYTES;

/** Why a heavy request was refused. */
export type ShedReason = "queue_full" | "wait_too_long" | "waited_too_long";
export const SHED_REASONS: readonly ShedReason[] = ["queue_full", "wait_too_long", "waited_too_long"];

export interface AdmissionOptions {
  /** Heavy requests computed at once (the sampling workers; 1 without). */
  slots: number;
  /** Heavy requests allowed to wait (default DEFAULT_MAX_QUEUED_HEAVY). */
  maxQueued?: number;
  /** Longest estimated wait a heavy request is queued for (default DEFAULT_MAX_QUEUE_WAIT_SECONDS). */
  maxWaitMs?: number;
  /** Bytes of heavy answers being computed or not yet sent (default DEFAULT_ANSWER_MEMORY_MIB). */
  answerMemory?: number;
  log: FastifyBaseLogger;
}

const DEFAULT_MAX_WAIT_MS = DEFAULT_MAX_QUEUE_WAIT_SECONDS * 1000;
const DEFAULT_ANSWER_MEMORY = DEFAULT_ANSWER_MEMORY_MIB * 1024 * 1024;
/** The rate assumed until heavy requests have been timed (sample-equivalents a second per slot). */
const INITIAL_RATE = 10_000_000;
/** Weight of the newest job in the rate's moving average. */
const RATE_SMOOTHING = 0.2;
/**
 * When answers held for clients that are not reading keep a waiting request out, those whose client has taken nothing
 * for this long are dropped (their connection closed) to make room; a client that reads, however slowly, is not.
 */
const EVICT_IDLE_MS = 2_000;
/** Load shedding is logged once per this interval (a line per refused request would flood the log under overload). */
const SHED_LOG_INTERVAL_MS = 10_000;

/**
 * An admitted heavy request: it holds a slot while computing, and its answer's bytes until both the computation and the
 * response are over (a client gone mid-computation frees nothing the worker still uses).
 */
export interface Ticket {
  /** The computation ended, with an answer of `bytes` bytes (null: it failed): the slot is free. */
  computed(bytes: number | null): void;
  /** The answer is being sent: how long its client has taken nothing of it, and how to drop it (close the connection). */
  sending(answer: { idleMs(): number; close(): void }): void;
  /** The response is over: the answer taken by the client, the connection gone, or an error sent instead. */
  sent(): void;
}

/** An answer being sent, as eviction sees it. */
interface Sending {
  bytes: number;
  idleMs(): number;
  close(): void;
}

interface Waiter {
  cost: RequestCost;
  since: number;
  resolve: (ticket: Ticket) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/** A waiting request whose client has gone: dropped (its 503 goes nowhere, and is not logged). */
export class ClientGoneError extends HttpProblem {
  constructor() {
    super(503, "The client closed the connection while its request waited", {}, { quiet: true });
    this.name = "ClientGoneError";
  }
}

export class Admission {
  private readonly maxQueued: number;
  private readonly maxWaitMs: number;
  private readonly answerMemory: number;
  private readonly queue: Waiter[] = [];
  private queuedWork = 0;
  private running = 0;
  private runningWork = 0;
  private heldBytes = 0;
  private rate = INITIAL_RATE;
  private closed = false;
  private readonly shedCounts: Record<ShedReason, number> = { queue_full: 0, wait_too_long: 0, waited_too_long: 0 };
  private shedSinceLog = 0;
  private shedLogTimer: NodeJS.Timeout | null = null;
  /** Answers being sent, for eviction. */
  private readonly sendingAnswers = new Set<Sending>();
  private evictTimer: NodeJS.Timeout | null = null;
  private evicted = 0;

  constructor(private readonly options: AdmissionOptions) {
    this.maxQueued = options.maxQueued ?? DEFAULT_MAX_QUEUED_HEAVY;
    this.maxWaitMs = options.maxWaitMs ?? DEFAULT_MAX_WAIT_MS;
    this.answerMemory = options.answerMemory ?? DEFAULT_ANSWER_MEMORY;
  }

  /** Requests refused so far, by reason. */
  get shed(): Readonly<Record<ShedReason, number>> {
    return this.shedCounts;
  }

  /** Heavy requests waiting, computing, the bytes their answers hold, and answers dropped for clients not reading. */
  get state(): { queued: number; running: number; answerBytes: number; evicted: number } {
    return { queued: this.queue.length, running: this.running, answerBytes: this.heldBytes, evicted: this.evicted };
  }

  /** The estimated wait, in ms, of a request joining the queue now: the work ahead of it at the measured rate. */
  private estimatedWaitMs(): number {
    const slots = Math.max(1, this.options.slots);
    return ((this.queuedWork + this.runningWork / 2) / (this.rate * slots)) * 1000;
  }

  private retryAfter(): Record<string, string> {
    return { "retry-after": String(Math.min(60, Math.max(1, Math.ceil(this.estimatedWaitMs() / 1000)))) };
  }

  private refuse(reason: ShedReason): HttpProblem {
    this.shedCounts[reason]++;
    this.shedSinceLog++;
    if (this.shedLogTimer === null) {
      this.shedLogTimer = setTimeout(() => {
        this.shedLogTimer = null;
        this.options.log.warn(
          { refused: this.shedSinceLog, total: { ...this.shedCounts }, ...this.state },
          "shedding load: heavy prediction requests refused with 503",
        );
        this.shedSinceLog = 0;
      }, SHED_LOG_INTERVAL_MS);
      this.shedLogTimer.unref();
    }
    const why =
      reason === "queue_full"
        ? `the queue of heavy prediction requests is full (${this.maxQueued} waiting)`
        : reason === "wait_too_long"
          ? `the heavy prediction requests ahead would take longer than ${this.maxWaitMs / 1000} s`
          : `the request waited ${(2 * this.maxWaitMs) / 1000} s for its turn`;
    return new HttpProblem(
      503,
      `The server is busy: ${why}. Retry after the time in Retry-After, or ask for fewer samples, bins or instances`,
      this.retryAfter(),
      {
        quiet: true,
      },
    );
  }

  /**
   * Resolves with a ticket once the request may be computed, or rejects with a 503 HttpProblem when it is refused.
   * `connection` (the request's socket) ends the wait when the client goes away.
   */
  admit(
    cost: RequestCost,
    connection?: { once(event: "close", listener: () => void): unknown; off(event: "close", listener: () => void): unknown },
  ): Promise<Ticket> {
    if (this.closed) return Promise.reject(new HttpProblem(503, "The server is shutting down", { "retry-after": "1" }));
    if (this.queue.length === 0 && this.fits(cost)) return Promise.resolve(this.start(cost));
    if (this.queue.length >= this.maxQueued) return Promise.reject(this.refuse("queue_full"));
    if (this.estimatedWaitMs() > this.maxWaitMs) return Promise.reject(this.refuse("wait_too_long"));
    return new Promise<Ticket>((resolve, reject) => {
      const onGone = (): void => {
        if (this.remove(waiter)) reject(new ClientGoneError());
      };
      const waiter: Waiter = {
        cost,
        since: performance.now(),
        resolve: (ticket) => {
          connection?.off("close", onGone);
          resolve(ticket);
        },
        reject: (err) => {
          connection?.off("close", onGone);
          reject(err);
        },
        timer: setTimeout(() => {
          if (this.remove(waiter)) waiter.reject(this.refuse("waited_too_long"));
        }, 2 * this.maxWaitMs),
      };
      waiter.timer.unref();
      connection?.once("close", onGone);
      this.queue.push(waiter);
      this.queuedWork += cost.work;
      // Held back by memory alone, it may start at once when room can be made.
      this.pump();
    });
  }

  /** A free slot, and room for the answer (or nothing else held: one answer larger than the bound still runs alone). */
  private fits(cost: RequestCost): boolean {
    return this.running < Math.max(1, this.options.slots) && (this.heldBytes === 0 || this.heldBytes + cost.bytes <= this.answerMemory);
  }

  private remove(waiter: Waiter): boolean {
    const i = this.queue.indexOf(waiter);
    if (i < 0) return false;
    this.queue.splice(i, 1);
    this.queuedWork -= waiter.cost.work;
    clearTimeout(waiter.timer);
    return true;
  }

  private start(cost: RequestCost): Ticket {
    this.running++;
    this.runningWork += cost.work;
    this.heldBytes += cost.bytes;
    const began = performance.now();
    let computing = true;
    let sending = true;
    let held = cost.bytes;
    let answer: Sending | null = null;
    const settle = (): void => {
      if (!computing && !sending) {
        this.heldBytes -= held;
        held = 0;
      }
      this.pump();
    };
    return {
      computed: (bytes) => {
        if (!computing) return;
        computing = false;
        this.running--;
        this.runningWork -= cost.work;
        const seconds = (performance.now() - began) / 1000;
        if (bytes !== null) {
          // Jobs shorter than a few ms say more about timers than about the rate.
          if (seconds > 0.005) this.rate += RATE_SMOOTHING * (cost.work / seconds - this.rate);
          // The answer's real size replaces the estimate.
          this.heldBytes += bytes - held;
          held = bytes;
        }
        settle();
      },
      sending: (a) => {
        if (!sending) return;
        answer = { bytes: held, idleMs: () => a.idleMs(), close: () => a.close() };
        this.sendingAnswers.add(answer);
      },
      sent: () => {
        if (!sending) return;
        sending = false;
        if (answer !== null) this.sendingAnswers.delete(answer);
        settle();
      },
    };
  }

  private pump(): void {
    while (this.queue.length > 0 && this.fits(this.queue[0].cost)) {
      const waiter = this.queue.shift() as Waiter;
      this.queuedWork -= waiter.cost.work;
      clearTimeout(waiter.timer);
      waiter.resolve(this.start(waiter.cost));
    }
    if (this.queue.length > 0 && this.running < Math.max(1, this.options.slots)) this.makeRoom(this.queue[0].cost.bytes);
  }

  /**
   * A slot is free but the next answer does not fit in memory: drop answers whose clients have taken nothing for
   * EVICT_IDLE_MS, the longest idle first, until it would (the bytes come back as their connections close); look again
   * shortly while something is still in the way.
   */
  private makeRoom(bytes: number): void {
    const idle = [...this.sendingAnswers].map((a) => ({ a, idle: a.idleMs() })).filter((x) => x.idle >= EVICT_IDLE_MS);
    idle.sort((x, y) => y.idle - x.idle);
    let freeing = 0;
    let dropped = 0;
    for (const { a } of idle) {
      if (this.heldBytes - freeing + bytes <= this.answerMemory) break;
      this.sendingAnswers.delete(a);
      freeing += a.bytes;
      dropped++;
      a.close();
    }
    if (dropped > 0) {
      this.evicted += dropped;
      this.options.log.warn(
        { dropped, bytes: freeing },
        "closed connections whose clients took nothing of their heavy answers, to make room for waiting requests",
      );
    }
    if (this.evictTimer === null && this.queue.length > 0) {
      this.evictTimer = setTimeout(() => {
        this.evictTimer = null;
        this.pump();
      }, EVICT_IDLE_MS / 4);
      this.evictTimer.unref();
    }
  }

  /** Refuses every waiting request and any new one (shutdown); admitted ones finish. */
  close(): void {
    this.closed = true;
    if (this.shedLogTimer !== null) clearTimeout(this.shedLogTimer);
    if (this.evictTimer !== null) clearTimeout(this.evictTimer);
    for (const waiter of this.queue.splice(0)) {
      clearTimeout(waiter.timer);
      waiter.reject(new HttpProblem(503, "The server is shutting down", { "retry-after": "1" }));
    }
    this.queuedWork = 0;
  }
}
