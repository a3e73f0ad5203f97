// The HTTP app: Fastify with one plugin per concern. Nothing here listens or loads; server.ts does both, and tests
// build an app around a ModelHolder of their own and use `inject`.
import type { IncomingHttpHeaders } from "node:http";
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { docsPlugin } from "./docs.js";
import { createFastLane, LaneRoutes, type FastLane } from "./fast-lane.js";
import { installErrorHandlers } from "./errors.js";
import { healthPlugin } from "./health.js";
import { createHttpServer } from "./http-server.js";
import { installJsonParser } from "./json-body.js";
import { lazyChildLoggerFactory } from "./logging.js";
import { isRequestCounter, metricsPlugin, RequestMetrics, UNMATCHED_ROUTE } from "./metrics.js";
import type { ModelHolder } from "./model-holder.js";
import { modelRoutes } from "./model-routes.js";
import { pagePlugin } from "./page.js";
import { Admission } from "./admission.js";
import { DEFAULT_HEAVY_WORK, limitsNote, predictRoutes, type HeavyAnswering } from "./predict-routes.js";
import { DEFAULT_JOB_TIMEOUT_MS, SamplingPool } from "./sampling-pool.js";
import { DEFAULT_LIMITS, type Limits } from "./schemas.js";
import { DEFAULT_BODY_TIMEOUT_SECONDS, DEFAULT_SEND_TIMEOUT_SECONDS, PACKAGE_VERSION } from "./constants.js";
import { InferEndpoint, v2Routes } from "./v2-routes.js";

export interface AppOptions {
  holder: ModelHolder;
  logger: FastifyBaseLogger;
  limits?: Partial<Limits>;
  /** Largest request body in bytes (default 1 MiB); larger bodies get 413. */
  bodyLimit?: number;
  /** Worker threads for heavy requests (default 1); 0 runs them on the event loop, yielding between instances. */
  workers?: number;
  /** Heavy requests allowed to wait for a worker before 503 (default 64). */
  maxQueuedHeavy?: number;
  /** Longest estimated wait a heavy request is queued for before 503 (default 10 s); it is refused after twice that. */
  maxQueueWaitMs?: number;
  /** Bytes the answers of heavy requests may hold, computing or not yet sent (default DEFAULT_ANSWER_MEMORY_MIB). */
  answerMemory?: number;
  /** A connection whose client takes nothing of a heavy answer for this long is closed (default 30 s). */
  sendTimeoutMs?: number;
  /** Longest a heavy request may compute before it is stopped and answered 503 (default 30 s). */
  requestTimeoutMs?: number;
  /** Work (admission.ts's requestCost, in sample-equivalents) above which a request is heavy (default 20,000). */
  heavyWork?: number;
  /**
   * One log line per request (method, url, status, time), default true. Written at level debug, so seen with
   * --log-level debug; client errors are logged at info and server errors at error whatever this says.
   */
  accessLog?: boolean;
  /** Node's process metrics on /metrics (default true). */
  processMetrics?: boolean;
  /** The API version shown in the docs. */
  version?: string;
  /**
   * Answer light, valid prediction requests straight from Node's HTTP server (fast-lane.ts), default false. Only
   * for an app that listens: `inject` never reaches it.
   */
  fastLane?: boolean;
  /** Time a client has to send a whole request, headers and body (default 30 s); then 408 and the connection closes. */
  bodyTimeoutMs?: number;
  /** The name Open Inference Protocol clients call the model by (/v2/models/NAME); default the model's own name. */
  modelName?: string;
}

export interface BuiltApp {
  app: FastifyInstance;
  limits: Limits;
  pool: SamplingPool | null;
  admission: Admission;
  /** The fast lane, when asked for. */
  fastLane: FastLane | null;
  /**
   * Marks the app as shutting down: /health/ready answers 503 from now on, and every response closes its connection.
   * Requests are still served (the fast lane's too) until the server stops listening.
   */
  beginClosing(): void;
}

export const DEFAULT_BODY_LIMIT = 1024 * 1024;

/**
 * One access-log line per request, at debug, when it completes (none when it arrives); none when switched off. At the
 * default level (info) a successful request writes nothing: at tens of thousands of requests a second, a line each
 * would cost more than the prediction. Client errors (info) and server errors (error) are logged by the error handler.
 */
class AccessLog extends LogController {
  constructor(private readonly enabled: boolean) {
    super({ requestIdLogLabel: "reqId" });
  }

  override incomingRequest(): void {}

  override requestCompleted(_error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    // Checked first, so that a request at the default level allocates nothing for a line nobody will read.
    if (!this.enabled || !(request.log as FastifyBaseLogger & { isLevelEnabled(level: string): boolean }).isLevelEnabled("debug")) return;
    request.log.debug({ method: request.method, url: request.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime * 100) / 100 }, "request");
  }
}

const REQUEST_ID = /^[A-Za-z0-9._:/=+-]{1,128}$/;
let requestCounter = 0;
const requestIdPrefix = Math.random().toString(36).slice(2, 8);

/** The client's X-Request-Id when it is a sane token, else one of ours: it names the request's log lines. */
function requestIdOf(req: { headers: IncomingHttpHeaders }): string {
  const given = req.headers["x-request-id"];
  return typeof given === "string" && REQUEST_ID.test(given) ? given : `${requestIdPrefix}-${(++requestCounter).toString(36)}`;
}

export async function buildApp(options: AppOptions): Promise<BuiltApp> {
  const limits: Limits = { ...DEFAULT_LIMITS, ...options.limits };
  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
  // Set once the routes exist (below); the server only takes requests after that.
  let fastLane: FastLane | null = null;
  let closing = false;
  const app = Fastify({
    serverFactory: (handler, fastifyOptions) =>
      createHttpServer({
        handler,
        front: (req, res) => fastLane?.handle(req, res) === true,
        draining: () => closing,
        bodyTimeoutMs: options.bodyTimeoutMs ?? DEFAULT_BODY_TIMEOUT_SECONDS * 1000,
        fastify: fastifyOptions as Record<string, unknown>,
      }),
    loggerInstance: options.logger,
    bodyLimit,
    // The client's X-Request-Id when it is a sane token, else one of ours: it names the request's log lines.
    requestIdHeader: false,
    genReqId: requestIdOf,
    logController: new AccessLog(options.accessLog !== false),
    childLoggerFactory: lazyChildLoggerFactory,
    return503OnClosing: true,
    forceCloseConnections: "idle",
    onProtoPoisoning: "error",
    onConstructorPoisoning: "error",
  });
  const workers = options.workers ?? 1;
  const requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_JOB_TIMEOUT_MS;
  // Admission hands the pool at most one job per worker; the pool's own queue is only a backstop.
  const pool = workers > 0 ? new SamplingPool({ size: workers, maxQueue: workers, jobTimeoutMs: requestTimeoutMs, log: options.logger }) : null;
  const admission = new Admission({
    slots: Math.max(1, workers),
    maxQueued: options.maxQueuedHeavy,
    maxWaitMs: options.maxQueueWaitMs,
    answerMemory: options.answerMemory,
    log: options.logger,
  });
  app.addHook("onClose", async () => admission.close());
  if (pool !== null) {
    options.holder.onSwap((_next, previous) => {
      if (previous !== null) pool.retire(previous.version);
    });
    app.addHook("onClose", async () => pool.close());
  }
  const heavy: HeavyAnswering = { admission, pool, requestTimeoutMs, sendTimeoutMs: options.sendTimeoutMs ?? DEFAULT_SEND_TIMEOUT_SECONDS * 1000 };

  const knownPaths = new Map<string, string[]>();
  app.addHook("onRoute", (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    knownPaths.set(route.url, [...(knownPaths.get(route.url) ?? []), ...methods]);
  });
  // The routes the fast lane answers are declared through `lane` (fast-lane.ts); it sees every route from here on.
  const lane = new LaneRoutes(isRequestCounter);
  lane.watch(app);
  const requests = new RequestMetrics();
  installErrorHandlers(app, { bodyLimit, knownPaths: () => knownPaths, onUnmatched: requests.forRoute(UNMATCHED_ROUTE) });
  installJsonParser(app, bodyLimit);

  // Metrics first: it counts the requests of every route declared after it.
  await app.register(metricsPlugin, { holder: options.holder, requests, admission, processMetrics: options.processMetrics });
  const sendTimeoutMs = heavy.sendTimeoutMs;
  const limitsDescription =
    `${limitsNote(limits)} A request body is at most ${bodyLimit} bytes (413). A heavy answer is streamed at the pace its client ` +
    `reads it; a client that takes nothing of it for ${sendTimeoutMs / 1000} s has its connection closed.`;
  await app.register(docsPlugin, { holder: options.holder, limits, version: options.version ?? "1.0.0", limitsDescription });
  await app.register(healthPlugin, { holder: options.holder, closing: () => closing });
  await app.register(modelRoutes, { holder: options.holder });
  await app.register(predictRoutes, { holder: options.holder, lane, limits, heavy, heavyWork: options.heavyWork });
  await app.register(pagePlugin, { holder: options.holder });
  const infer = new InferEndpoint({ limits, heavyWork: options.heavyWork ?? DEFAULT_HEAVY_WORK, modelName: options.modelName });
  await app.register(v2Routes, {
    holder: options.holder,
    lane,
    limits,
    endpoint: infer,
    heavy,
    bodyLimit,
    closing: () => closing,
    serverVersion: PACKAGE_VERSION,
  });
  if (options.fastLane === true) {
    const accessLog = options.accessLog !== false;
    const logger = options.logger as FastifyBaseLogger & { isLevelEnabled?: (level: string) => boolean };
    const debugOn = (): boolean => (typeof logger.isLevelEnabled === "function" ? logger.isLevelEnabled("debug") : true);
    fastLane = createFastLane({
      app,
      holder: options.holder,
      routes: lane,
      bodyLimit,
      requestId: requestIdOf,
      recorderFor: (pattern) => requests.forRoute(pattern),
      // Fastify's once it closes (its 503; `listening` turns false when the listener closes, and when app.close() is
      // called directly) and while each request is to be logged (its access line). While draining, before that, the
      // lane serves as ever; the server adds `Connection: close` to its answers as to Fastify's.
      engaged: () => app.server.listening && !(accessLog && debugOn()),
    });
  }
  return {
    app,
    limits,
    pool,
    admission,
    fastLane,
    beginClosing: () => {
      closing = true;
    },
  };
}
