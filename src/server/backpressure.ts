// Backpressure on each connection, so that a client that sends requests without reading the answers (HTTP pipelining
// into a socket it never reads) costs a bounded amount of memory however long it goes on.
//
// Node's HTTP server parses pipelined requests as they arrive and queues their responses in order; it stops reading a
// connection only once answers are waiting to be written, and by then a read buffer's worth of requests has been
// parsed. So the answering is gated here, per connection, in arrival order:
// - one heavy request at a time: a connection's next request waits until its heavy answer has been handed to the
//   kernel (or the connection is gone); a client that does not read therefore holds at most one heavy answer;
// - answers queued behind an unsent one count against CONNECTION_BACKLOG_BYTES; past it, the connection's next
//   requests wait (their answers are not computed) until the client reads.
// A connection without anything waiting carries no state here at all (the everyday request pays one property read).
//
// A heavy answer is written in slices, each when the socket has taken the one before (AnswerStream), and a connection
// whose client takes nothing of its heavy answer for the send timeout is closed: that is what frees the memory held
// for a client that never reads.
import type { ServerResponse } from "node:http";
import { Readable } from "node:stream";

/** Bytes of light answers a connection may have queued behind an unsent answer before its next requests wait. */
export const CONNECTION_BACKLOG_BYTES = 1024 * 1024;
/** Requests a connection may have waiting before it is no longer read (until they are down to half). */
export const CONNECTION_MAX_WAITING = 16;
/** Requests waiting on one connection beyond which it is closed (reading stopped, yet they still came). */
export const CONNECTION_MAX_WAITING_HARD = 4096;
/** The slices a heavy answer is written in. */
export const ANSWER_SLICE_BYTES = 64 * 1024;

/** The connection as seen here: a net.Socket, or the stand-in of Fastify's `inject` (no reads, writes or destroy). */
export interface Connection {
  once(event: "close", listener: () => void): unknown;
  off(event: "close", listener: () => void): unknown;
  pause?: () => unknown;
  resume?: () => unknown;
  destroy?: () => void;
  destroyed?: boolean;
  writableLength?: number;
}

interface ConnectionState {
  /** A heavy request of this connection is admitted: computing, or its answer not yet sent. */
  heavy: boolean;
  /** Bytes of answers written behind an unsent one and not yet sent themselves. */
  queuedBytes: number;
  /** Requests waiting for their turn, in arrival order; `pipelined` ones go one per turn of the event loop. */
  waiting: { heavy: boolean; pipelined: boolean; go: () => void }[];
  /** A turn of the event loop is booked for the next pipelined request. */
  scheduled: boolean;
  /** Reading the connection was paused here (too many requests waiting). */
  paused: boolean;
  /** Slices of heavy answers taken by the socket: progress the send timeout looks for. */
  progress: number;
  /** Called once when the connection closes. */
  onClose: Set<() => void>;
  closed: boolean;
}

const STATE = Symbol("bayes-serve.connection");
type WithState = Connection & { [STATE]?: ConnectionState; _paused?: boolean; parser?: { pause(): void; resume(): void } | null };

/**
 * Stops reading a connection the way Node's HTTP server does for its own backpressure (lib/_http_server.js,
 * parserOnIncoming): its `_paused` flag (without it, the next request's body stream resumes the socket), then the
 * socket; Node pauses the parser after the chunk it is executing.
 */
function pauseReading(connection: Connection): void {
  const c = connection as WithState;
  if (c._paused === true || typeof c.pause !== "function") return;
  c._paused = true;
  c.pause();
}

/** Reads the connection again, as Node's socketOnDrain does (should Node still want it paused, it pauses it again). */
function resumeReading(connection: Connection): void {
  const c = connection as WithState;
  if (c._paused !== true || typeof c.resume !== "function") return;
  c._paused = false;
  c.parser?.resume();
  c.resume();
}

function stateOf(connection: Connection): ConnectionState {
  const c = connection as WithState;
  let state = c[STATE];
  if (state === undefined) {
    const created: ConnectionState = {
      heavy: false,
      queuedBytes: 0,
      waiting: [],
      scheduled: false,
      paused: false,
      progress: 0,
      onClose: new Set(),
      closed: false,
    };
    // One listener for everything this module waits on (many would trip Node's leak warning for a pipelining client).
    connection.once("close", () => {
      created.closed = true;
      created.waiting = [];
      for (const f of created.onClose) f();
      created.onClose.clear();
    });
    c[STATE] = created;
    state = created;
  }
  return state;
}

/** Calls `f` once when the connection closes (at once if it has); returns a function that cancels it. */
export function onConnectionClose(connection: Connection, f: () => void): () => void {
  const state = stateOf(connection);
  if (state.closed) {
    f();
    return () => undefined;
  }
  state.onClose.add(f);
  return () => state.onClose.delete(f);
}

const free = (s: ConnectionState): boolean => !s.heavy && s.queuedBytes < CONNECTION_BACKLOG_BYTES;

/** Requests of this connection waiting for their turn (pipelined behind the one being answered). */
export function waitingOn(connection: Connection): number {
  return (connection as WithState)[STATE]?.waiting.length ?? 0;
}

/** True when a request on this connection may be answered now, with nothing waiting before it. */
export function connectionFree(connection: Connection): boolean {
  const state = (connection as WithState)[STATE];
  return state === undefined || (state.waiting.length === 0 && free(state));
}

/**
 * Lets waiting requests go while the connection is free. A pipelined one goes only at a turn of the event loop booked
 * for it (`inTurn`), one a turn: a client that pipelines hundreds of requests (Node parses a read buffer's worth at
 * once) is answered between everyone else's requests, not in one block that holds up the event loop.
 */
function pump(connection: Connection, state: ConnectionState, inTurn = false): void {
  let turnLeft = inTurn;
  while (state.waiting.length > 0 && free(state)) {
    const next = state.waiting[0];
    if (next.pipelined) {
      if (!turnLeft) {
        bookTurn(connection, state);
        break;
      }
      turnLeft = false;
    }
    state.waiting.shift();
    if (next.heavy) state.heavy = true;
    next.go();
  }
  // Read again once the backlog is down to half.
  if (state.paused && state.waiting.length <= CONNECTION_MAX_WAITING / 2) {
    state.paused = false;
    resumeReading(connection);
  }
}

function bookTurn(connection: Connection, state: ConnectionState): void {
  if (state.scheduled) return;
  state.scheduled = true;
  setImmediate(() => {
    state.scheduled = false;
    if (!state.closed) pump(connection, state, true);
  });
}

/**
 * Calls `go` when the request may be answered: at once when the connection is free (and the request not `pipelined`),
 * else after the requests before it — a pipelined one at a turn of the event loop of its own. A heavy request then
 * holds the connection until `releaseHeavy`. Nothing is called if the connection closes first.
 */
export function whenConnectionFree(connection: Connection, heavy: boolean, go: () => void, pipelined = false): void {
  const state = stateOf(connection);
  if (state.closed) return;
  if (!pipelined && state.waiting.length === 0 && free(state)) {
    if (heavy) state.heavy = true;
    go();
    return;
  }
  state.waiting.push({ heavy, pipelined, go });
  if (pipelined && state.waiting.length === 1 && free(state)) bookTurn(connection, state);
  // Node parses pipelined requests for as long as it reads; stop reading a connection whose requests pile up (again,
  // should Node have resumed it for its own reasons). The most a chunk already read can add is a few hundred; past
  // CONNECTION_MAX_WAITING_HARD something is wrong, and the connection is closed rather than let grow.
  if (state.waiting.length >= CONNECTION_MAX_WAITING) {
    state.paused = true;
    pauseReading(connection);
  }
  if (state.waiting.length > CONNECTION_MAX_WAITING_HARD) connection.destroy?.();
}

/** The connection's heavy request is over (answer sent, or failed): its next requests may go. */
export function releaseHeavy(connection: Connection): void {
  const state = (connection as WithState)[STATE];
  if (state === undefined || !state.heavy) return;
  state.heavy = false;
  pump(connection, state);
}

/**
 * Counts `bytes` of an answer written while the response could not go out yet (`res.socket` null: an earlier answer
 * on the connection is unsent) until it has gone, or the connection has closed.
 */
export function countQueuedAnswer(connection: Connection, res: ServerResponse, bytes: number): void {
  const state = stateOf(connection);
  state.queuedBytes += bytes;
  whenResponseOver(connection, res, () => {
    state.queuedBytes -= bytes;
    pump(connection, state);
  });
}

/** Calls `done` once, when the response is over: sent, closed, or its connection gone. */
export function whenResponseOver(connection: Connection, res: ServerResponse, done: () => void): void {
  let called = false;
  const once = (): void => {
    if (called) return;
    called = true;
    res.off("finish", once);
    res.off("close", once);
    cancel();
    done();
  };
  const cancel = onConnectionClose(connection, once);
  res.once("finish", once);
  res.once("close", once);
}

/**
 * A heavy answer's bytes as a stream of slices, each pushed when the one before has been taken (so a slow client is
 * sent its answer at its own pace, and the send timeout can see it progress).
 */
export class AnswerStream extends Readable {
  private offset = 0;

  constructor(
    private readonly body: Uint8Array,
    private readonly connection: Connection,
  ) {
    super({ highWaterMark: ANSWER_SLICE_BYTES });
  }

  get byteLength(): number {
    return this.body.byteLength;
  }

  override _read(): void {
    if (this.offset >= this.body.byteLength) {
      this.push(null);
      return;
    }
    const end = Math.min(this.body.byteLength, this.offset + ANSWER_SLICE_BYTES);
    const slice = this.body.subarray(this.offset, end);
    this.offset = end;
    const state = (this.connection as WithState)[STATE];
    if (state !== undefined) state.progress++;
    this.push(slice);
  }
}

/**
 * Watches a response go out: its idle time is how long the client has taken nothing of it — no slice of a heavy answer
 * taken, no change in the bytes waiting in the socket (an answer before this one going out). Idle for `timeoutMs`,
 * the connection is closed: that is what frees the memory held for a client that never reads.
 */
export class SendWatch {
  private last: string;
  private since = performance.now();
  private over = false;

  constructor(
    private readonly connection: Connection,
    res: ServerResponse,
    timeoutMs: number,
  ) {
    this.last = this.signature();
    if (typeof connection.destroy === "function" && timeoutMs > 0) {
      const timer = setInterval(
        () => {
          if (this.idleMs() >= timeoutMs) this.close();
        },
        Math.max(10, timeoutMs / 4),
      );
      timer.unref();
      whenResponseOver(connection, res, () => {
        this.over = true;
        clearInterval(timer);
      });
    } else {
      whenResponseOver(connection, res, () => (this.over = true));
    }
  }

  private signature(): string {
    return `${(this.connection as WithState)[STATE]?.progress ?? 0}:${this.connection.writableLength ?? 0}`;
  }

  /** How long the client has taken nothing (0 once the response is over). */
  idleMs(): number {
    if (this.over) return 0;
    const now = this.signature();
    if (now !== this.last) {
      this.last = now;
      this.since = performance.now();
    }
    return performance.now() - this.since;
  }

  /** Closes the connection (the response is then over). */
  close(): void {
    if (!this.over) this.connection.destroy?.();
  }
}

/**
 * Runs `answer` when the connection allows a light request — at once, unless earlier answers on it are unsent past
 * the backlog, a heavy request of it is in progress, or it is pipelined (one a turn of the event loop) — and counts
 * its answer's `bytes` while they wait behind an unsent one.
 */
export function answerLightInTurn(connection: Connection, res: ServerResponse, bytes: number, answer: () => void): void {
  // Its response queued behind an unsent one: the client is pipelining.
  const pipelined = res.socket === null;
  const go = (): void => {
    if (res.socket === null) countQueuedAnswer(connection, res, bytes);
    answer();
  };
  if (!pipelined && connectionFree(connection)) go();
  else whenConnectionFree(connection, false, go, pipelined);
}
