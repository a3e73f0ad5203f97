// How long one network transfer (an S3 request, an HTTP download) may take: a fixed allowance plus its bytes at the
// slowest rate accepted. An idle timeout alone never ends an endpoint or proxy that sends its headers and then a byte
// every few seconds, and whatever waits on it (a hot reload, a scheduled train, a publish) would wait forever; a fixed
// deadline alone would refuse a large object on a sound but modest link.

/**
 * The allowance besides the transfer itself: a dead endpoint fails by itself within about 25 s (a 2.5 s connection
 * timeout and a 10 s idle timeout, for each of 2 attempts); 30 s lets that and a sound endpoint's slowest answers
 * through.
 */
export const TRANSFER_DEADLINE_MS = 30_000;
/**
 * The slowest transfer accepted, 1 MiB/s: the deadline grows by the transfer's size at this rate, so a large draws or
 * data file has the time a slow link needs (100 MiB: 100 s more) while a small pointer gets no more.
 */
export const MIN_BYTES_PER_SECOND = 1024 * 1024;

/** The longest delay setTimeout keeps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface TransferLimits {
  /** The allowance besides the transfer (default TRANSFER_DEADLINE_MS). */
  deadlineMs?: number;
  /** The slowest transfer accepted (default MIN_BYTES_PER_SECOND). */
  minBytesPerSecond?: number;
}

/**
 * One transfer's deadline, running from construction. `allow(bytes)` adds the time those bytes take at the slowest
 * rate (a size known up front, or bytes as they arrive when it is not); when the deadline passes, `signal` aborts and
 * every `onExpire` callback runs (to destroy a response body the request's abort no longer reaches). Between `pause()`
 * and `resume()` the clock stands still: the reader holds the transfer back (its buffers are full while it parses or
 * gunzips), so that time is the reader's, not the endpoint's.
 */
export class TransferDeadline {
  private readonly controller = new AbortController();
  private readonly started = performance.now();
  private readonly minBytesPerSecond: number;
  private readonly expireCallbacks: (() => void)[] = [];
  private allowedMs: number;
  /** Time spent paused, not counted against the deadline. */
  private pausedMs = 0;
  private pausedAt: number | undefined;
  private cleared = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(limits: TransferLimits = {}) {
    this.allowedMs = limits.deadlineMs ?? TRANSFER_DEADLINE_MS;
    this.minBytesPerSecond = limits.minBytesPerSecond ?? MIN_BYTES_PER_SECOND;
    this.arm();
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get expired(): boolean {
    return this.controller.signal.aborted;
  }

  /** The time allowed so far, for messages: "0.5 s", "130 s". */
  get allowed(): string {
    return `${(this.allowedMs / 1000).toFixed(this.allowedMs < 10_000 ? 1 : 0)} s`;
  }

  allow(bytes: number): void {
    if (!(bytes > 0) || this.expired) return;
    this.allowedMs += (bytes / this.minBytesPerSecond) * 1000;
    this.arm();
  }

  /** The reader holds the transfer back: the clock stops until `resume()`. */
  pause(): void {
    if (this.pausedAt !== undefined || this.expired || this.cleared) return;
    this.pausedAt = performance.now();
    clearTimeout(this.timer);
  }

  /** The reader takes bytes again: the clock runs on from where it stopped. */
  resume(): void {
    if (this.pausedAt === undefined) return;
    this.pausedMs += performance.now() - this.pausedAt;
    this.pausedAt = undefined;
    this.arm();
  }

  onExpire(callback: () => void): void {
    if (this.expired) callback();
    else this.expireCallbacks.push(callback);
  }

  /** The transfer is over: the deadline no longer applies. */
  clear(): void {
    this.cleared = true;
    clearTimeout(this.timer);
    this.expireCallbacks.length = 0;
  }

  private arm(): void {
    clearTimeout(this.timer);
    if (this.cleared || this.expired || this.pausedAt !== undefined) return;
    const left = this.started + this.pausedMs + this.allowedMs - performance.now();
    // setTimeout takes at most 2³¹ − 1 ms (24.8 days: a size of 2.1 TiB at 1 MiB/s) and fires at once beyond it.
    this.timer = setTimeout(() => (left > MAX_TIMER_MS ? this.arm() : this.expire()), Math.min(MAX_TIMER_MS, Math.max(0, left)));
  }

  private expire(): void {
    this.controller.abort();
    for (const callback of this.expireCallbacks.splice(0)) callback();
  }
}

/**
 * Runs one transfer under a new deadline (`bytes` to send allowed up front). A failure after the deadline passed is
 * reported as `expired(allowed, cause)` says: the abort's own error names neither the object nor the time allowed.
 */
export async function withinDeadline<T>(
  limits: TransferLimits,
  bytes: number,
  run: (deadline: TransferDeadline) => Promise<T>,
  expired: (allowed: string, cause: unknown) => Error,
): Promise<T> {
  const deadline = new TransferDeadline(limits);
  deadline.allow(bytes);
  try {
    return await run(deadline);
  } catch (err) {
    throw deadline.expired ? expired(deadline.allowed, err) : err;
  } finally {
    deadline.clear();
  }
}
