// Admission of heavy requests (src/server/admission.ts): what a request costs, and the bounds it is admitted within —
// a slot per worker, the memory answers hold until sent, a queue bounded in length and in wait — with 503 and
// Retry-After (counted) beyond them.
import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { Admission, ClientGoneError, DEFAULT_HEAVY_WORK, isLightCost, LIGHT_ANSWER_BYTES, requestCost, type Ticket } from "../../src/server/admission.js";
import { HttpProblem } from "../../src/server/errors.js";
import { createLogger } from "../../src/server/logging.js";
import { LogCapture } from "./fixtures.js";

const log = createLogger({ level: "warn", stream: new LogCapture().stream });
const settled = <T>(p: Promise<T>): Promise<{ ok: T } | { err: unknown }> =>
  p.then(
    (ok) => ({ ok }),
    (err: unknown) => ({ err }),
  );
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe("requestCost", () => {
  it("counts samples, a density's bins, a mean's posterior draws and the numbers written; the answer's size at most", () => {
    const seed = requestCost("interval", 1, 100, 5, 10_000);
    expect(isLightCost(seed, DEFAULT_HEAVY_WORK)).toBe(true);
    // The request: 20 instances × 10,000 bins × 100,000 samples. Its answer is ~6.4 MB; the bound is above it.
    const density = requestCost("density", 20, 100_000, 10_000, 10_000);
    expect(density.bytes).toBeGreaterThan(6_400_000);
    expect(density.work).toBeGreaterThan(20 * 100_000);
    // Bins alone make a request heavy, and a big answer does whatever the work.
    expect(isLightCost(requestCost("density", 1, 100, 10_000, 10_000), DEFAULT_HEAVY_WORK)).toBe(false);
    expect(requestCost("density", 1, 100, 3000, 10_000).bytes).toBeGreaterThan(LIGHT_ANSWER_BYTES);
    // A mean costs its posterior draws, whatever n_samples says.
    expect(requestCost("mean", 3, 1, 5, 10_000).work).toBeGreaterThan(30_000);
    expect(isLightCost(requestCost("mean", 1, 1, 5, 10_000), DEFAULT_HEAVY_WORK)).toBe(true);
    expect(isLightCost(requestCost("mean", 3, 1, 5, 10_000), DEFAULT_HEAVY_WORK)).toBe(false);
  });
});

describe("Admission", () => {
  const cost = (work: number, bytes = 100) => ({ work, bytes });

  it("computes one request per slot; the rest wait in order, up to the queue's length, then 503 with Retry-After, counted", async () => {
    const a = new Admission({ slots: 1, maxQueued: 2, log });
    const first = await a.admit(cost(1000));
    const second = a.admit(cost(1000));
    const third = a.admit(cost(1000));
    const fourth = await settled(a.admit(cost(1000)));
    expect("err" in fourth && fourth.err).toBeInstanceOf(HttpProblem);
    const refusal = (fourth as { err: HttpProblem }).err;
    expect(refusal.statusCode).toBe(503);
    expect(Number(refusal.headers["retry-after"])).toBeGreaterThanOrEqual(1);
    expect(refusal.quiet).toBe(true);
    expect(a.shed.queue_full).toBe(1);
    expect(a.state).toMatchObject({ queued: 2, running: 1 });
    let secondStarted = false;
    void second.then(() => (secondStarted = true));
    await tick();
    expect(secondStarted).toBe(false);
    first.computed(10);
    first.sent();
    const t2 = await second;
    expect(a.state).toMatchObject({ queued: 1, running: 1 });
    t2.computed(null);
    t2.sent();
    (await third).computed(null);
    expect(a.state).toMatchObject({ queued: 0, running: 0 });
  });

  it("holds an answer's bytes until it is both computed and sent; a request whose answer does not fit waits", async () => {
    const a = new Admission({ slots: 2, answerMemory: 1000, log });
    const first = await a.admit(cost(10, 600));
    const second = a.admit(cost(10, 600));
    first.computed(700); // its real size
    await tick();
    expect(a.state).toMatchObject({ queued: 1, running: 0, answerBytes: 700 });
    first.sent();
    const t2 = await second;
    expect(a.state).toMatchObject({ running: 1, answerBytes: 600 });
    // Gone mid-computation: the slot and bytes stay held until the computation ends.
    t2.sent();
    expect(a.state).toMatchObject({ running: 1, answerBytes: 600 });
    t2.computed(600);
    expect(a.state).toMatchObject({ running: 0, answerBytes: 0 });
    // One answer larger than the bound still runs, alone.
    const big = await a.admit(cost(10, 5000));
    big.computed(5000);
    big.sent();
  });

  it("refuses a request whose wait would be too long, and one that has waited twice that", async () => {
    const a = new Admission({ slots: 1, maxWaitMs: 50, log });
    // At the rate assumed before any job is timed (10 million sample-equivalents a second): half of the running job's
    // 600,000 is 30 ms ahead of the first (admitted to the queue), 130 ms ahead of the second (refused).
    const running = await a.admit(cost(600_000));
    const waiting = settled(a.admit(cost(1_000_000)));
    const refused = await settled(a.admit(cost(1)));
    expect((refused as { err: HttpProblem }).err.statusCode).toBe(503);
    expect(a.shed.wait_too_long).toBe(1);
    const waited = await waiting;
    expect((waited as { err: HttpProblem }).err.statusCode).toBe(503);
    expect(a.shed.waited_too_long).toBe(1);
    running.computed(null);
    running.sent();
  });

  it("drops a waiting request whose client has gone, and refuses everything once closed", async () => {
    const a = new Admission({ slots: 1, log });
    const running = await a.admit(cost(10));
    const connection = new EventEmitter();
    const gone = settled(a.admit(cost(10), connection));
    const queued = settled(a.admit(cost(10)));
    connection.emit("close");
    expect(((await gone) as { err: unknown }).err).toBeInstanceOf(ClientGoneError);
    expect(a.state.queued).toBe(1);
    a.close();
    expect(((await queued) as { err: HttpProblem }).err.message).toMatch(/shutting down/);
    expect(((await settled(a.admit(cost(1)))) as { err: HttpProblem }).err.statusCode).toBe(503);
    running.computed(null);
    running.sent();
  });

  it("makes room by dropping answers whose clients have taken nothing of them for 2 s, not those being read", async () => {
    const a = new Admission({ slots: 2, answerMemory: 1000, log });
    const stalled: Ticket = await a.admit(cost(10, 500));
    const reading: Ticket = await a.admit(cost(10, 500));
    stalled.computed(500);
    reading.computed(500);
    let stalledClosed = false;
    let readingClosed = false;
    stalled.sending({ idleMs: () => 5000, close: () => ((stalledClosed = true), stalled.sent()) });
    reading.sending({ idleMs: () => 10, close: () => (readingClosed = true) });
    const next = await a.admit(cost(10, 400)).then((t) => t);
    expect(stalledClosed).toBe(true);
    expect(readingClosed).toBe(false);
    expect(a.state.evicted).toBe(1);
    next.computed(null);
    next.sent();
    reading.sent();
  });
});
