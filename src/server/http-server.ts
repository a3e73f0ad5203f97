// The Node HTTP/1 server under Fastify (its serverFactory), with what Fastify leaves to the server:
//
// - a time limit on receiving a request, headers and body (Fastify sets none: a client that stalls mid-body kept its
//   connection, and every shutdown waiting for it, forever);
// - 431 for more headers than MAX_HEADERS (Node otherwise drops those past 2,000 without a word, so that a request
//   could lose its Content-Type and end in a misleading 4xx);
// - `Connection: close` on every response while draining (shutdown has begun), so keep-alive clients move to other
//   replicas after their request instead of finding their connection closed under the next one;
// - a bounded lingering read before closing a connection whose request body is still arriving: a client that sends
//   the whole body before reading (Python's urllib, curl without `Expect: 100-continue`) otherwise gets a reset
//   instead of the 413 (or 431) it was sent — closing a socket with unread data makes the kernel send RST, which can
//   discard the response before the client reads it (RFC 9112 §9.6; Apache's "lingering close" does the same);
// - the fast lane (fast-lane.ts) in front of Fastify's handler.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";

/** Most header fields a request may carry; more get 431. Apache httpd's default (LimitRequestFields); browsers and
 *  proxies send a few dozen. */
export const MAX_HEADERS = 100;
/** How long, and how many more bytes, a connection is read (and discarded) after its response before it is closed. */
export const LINGER_MS = 5_000;
export const LINGER_BYTES = 16 * 1024 * 1024;

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export interface HttpServerOptions {
  /** Fastify's request handler. */
  handler: Handler;
  /** Takes a request and returns true (the fast lane), or false to leave it to Fastify. */
  front?: (req: IncomingMessage, res: ServerResponse) => boolean;
  /** True once shutdown has begun: responses then close their connection. */
  draining: () => boolean;
  /** Time a client has to send a whole request, headers and body (ms). */
  bodyTimeoutMs: number;
  /** Fastify's settings for the server (keepAliveTimeout, connectionTimeout, maxRequestsPerSocket, http). */
  fastify: Record<string, unknown>;
}

const TOO_MANY_HEADERS = JSON.stringify({ detail: `Request Header Fields Too Large: at most ${MAX_HEADERS} header fields` });

/** The request a connection is on (its last) and when it began, to tell at close whether its body is still arriving. */
const currentRequest = new WeakMap<Socket, { req: IncomingMessage; at: number }>();

/**
 * Closes the connection once its request's body has been received (and discarded) — or after LINGER_MS, or
 * LINGER_BYTES more — instead of at once. Node closes a connection after a `Connection: close` response through the
 * socket's destroySoon, so that is where the wait goes in. (Not by ending our side first, as Apache does: a Node
 * client stops sending when it sees the server's FIN.) The wait also ends before the request's own time limit, so
 * that Node's 408 for it never follows the answer already sent.
 */
function lingerBeforeClosing(socket: Socket, bodyTimeoutMs: number): void {
  const target = socket as Socket & { destroySoon?: () => void };
  const destroySoon = target.destroySoon;
  if (typeof destroySoon !== "function") return;
  target.destroySoon = function lingeringDestroySoon(this: Socket) {
    const current = currentRequest.get(this);
    const req = current?.req;
    const wait = current === undefined ? 0 : Math.min(LINGER_MS, current.at + bodyTimeoutMs - 100 - performance.now());
    if (req === undefined || req.complete || req.destroyed || this.destroyed || wait <= 0) {
      destroySoon.call(this);
      return;
    }
    let received = 0;
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.off("data", onData);
      destroySoon.call(this);
    };
    const onData = (chunk: Buffer): void => {
      received += chunk.length;
      if (received > LINGER_BYTES) finish();
    };
    const timer = setTimeout(finish, wait);
    timer.unref();
    req.on("data", onData);
    req.once("end", finish);
    req.once("close", finish);
    req.resume();
  };
}

export function createHttpServer(options: HttpServerOptions): Server {
  const f = options.fastify;
  const receiveTimeout = options.bodyTimeoutMs;
  const server = createServer(
    {
      ...((f.http ?? {}) as object),
      requestTimeout: receiveTimeout,
      headersTimeout: Math.min(receiveTimeout, 10_000),
      // How often Node looks for requests past their time (default 30 s: a 1-s limit could take 31 s).
      connectionsCheckingInterval: Math.max(100, Math.min(1_000, Math.floor(receiveTimeout / 2))),
    },
    (req, res) => {
      currentRequest.set(req.socket, { req, at: performance.now() });
      if (options.draining()) res.setHeader("connection", "close");
      if (req.rawHeaders.length > 2 * MAX_HEADERS) {
        res.writeHead(431, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(TOO_MANY_HEADERS), connection: "close" });
        res.end(TOO_MANY_HEADERS);
        return;
      }
      if (options.front?.(req, res) !== true) options.handler(req, res);
    },
  );
  // One more than allowed, so that a request with too many is seen (and refused) rather than cut short.
  server.maxHeadersCount = MAX_HEADERS + 1;
  server.on("connection", (socket: Socket) => lingerBeforeClosing(socket, receiveTimeout));
  server.keepAliveTimeout = f.keepAliveTimeout as number;
  server.setTimeout(f.connectionTimeout as number);
  if ((f.maxRequestsPerSocket as number) > 0) server.maxRequestsPerSocket = f.maxRequestsPerSocket as number;
  return server;
}
