// Running the service: open the store, listen (so liveness answers at once), load the model (then ready), poll for
// new versions, and shut down gracefully on SIGTERM (Kubernetes' rolling updates and scale-downs):
//
//   1. at once: readiness answers 503, and every response says `Connection: close`;
//   2. for the grace period (default SHUTDOWN_GRACE_SECONDS, the preStop delay `deploy render` gives the pod): the
//      listener stays open and requests are served as ever (fast lane included) — clients and proxies that have not
//      yet heard the pod is going still reach it, and keep-alive clients reconnect elsewhere after their answer;
//   3. then the listener closes, idle connections close, in-flight requests finish;
//   4. at the drain deadline, connections still open (a client stalled mid-body, say) are closed;
//   5. the process exits 0.
// SIGINT (Ctrl-C at a terminal) skips the grace period. A check of the store under way is not waited for (it may be
// stuck in a read that never ends), and the exit does not wait for ever on a file read that is stuck (exit.ts).
import type { Socket } from "node:net";
import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import { openStore, parseModelRef, DEFAULT_STORE_URI, type OpenStoreOptions } from "../artifact/store.js";
import { BayesServeError } from "../errors.js";
import { buildApp } from "./app.js";
import type { FastLane } from "./fast-lane.js";
import { exitProcess } from "./exit.js";
import { createLogger, type LogLevel } from "./logging.js";
import { ModelHolder, type LoadedModel } from "./model-holder.js";
import type { DestinationStream } from "pino";
import {
  DEFAULT_HOST,
  DEFAULT_LIMITS,
  DEFAULT_POLL_INTERVAL_SECONDS,
  DEFAULT_PORT,
  DEFAULT_BODY_TIMEOUT_SECONDS,
  DEFAULT_SHUTDOWN_TIMEOUT_SECONDS,
  SHUTDOWN_GRACE_SECONDS,
  type Limits,
} from "./constants.js";

export interface ServerOptions {
  /** `URI[@VERSION]`: a folder, file:// URL or s3://bucket/prefix, optionally pinned to a version (default ./artifacts). */
  model?: string;
  /** Default 8000. 0 picks a free port (see `RunningServer.url`). */
  port?: number;
  /** Default 0.0.0.0. */
  host?: string;
  /** Seconds between checks of the store's `latest` (default 30); 0 disables hot reload. */
  pollInterval?: number;
  /** Largest algo_param.n_samples (default 100,000). */
  maxSamples?: number;
  /** Largest number of density bins (default 10,000). */
  maxBins?: number;
  /** Largest batch (default 1,000 instances). */
  maxBatch?: number;
  /** Default "info". */
  logLevel?: LogLevel;
  /** Worker threads for heavy requests (default 1; 0 runs them on the event loop between light ones). */
  workers?: number;
  /** Largest request body in bytes (default 1 MiB). */
  bodyLimit?: number;
  /** Longest a heavy request may compute before it is stopped and answered 503 (default 30 s). */
  requestTimeoutMs?: number;
  /** Heavy requests allowed to wait for a worker; beyond, or beyond 10 s of estimated wait, 503 (default 64). */
  maxQueue?: number;
  /** Bytes the answers of heavy requests may hold, computing or not yet taken by their clients (default 64 MiB). */
  answerMemory?: number;
  /** A connection whose client takes nothing of a heavy answer for this long is closed (default 30 s). */
  sendTimeoutMs?: number;
  /** One log line per request (default true). */
  accessLog?: boolean;
  /** Light, valid predictions answered without Fastify's request lifecycle (fast-lane.ts); default true. */
  fastLane?: boolean;
  /** Requests answer unseen levels of categories that can draw them unless they say otherwise (default false). */
  allowNewLevels?: boolean;
  /** Keep running (not ready) when no model can be loaded at start, and load one when it appears; default false: fail. */
  waitForModel?: boolean;
  /** Install SIGTERM/SIGINT handlers that shut down gracefully and exit the process (default true). */
  handleSignals?: boolean;
  /**
   * After SIGTERM, how long the listener stays open (not ready, answering with `Connection: close`) before it closes
   * (default SHUTDOWN_GRACE_SECONDS: the preStop delay `deploy render` gives the scoring pods).
   */
  shutdownGraceMs?: number;
  /** Then the longest wait for in-flight requests; connections still open after it are closed (default 10 s). */
  shutdownTimeoutMs?: number;
  /** Time a client has to send a whole request, headers and body (default 30 s). */
  bodyTimeoutMs?: number;
  /** Passed to openStore (S3 settings, test faults). */
  storeOptions?: OpenStoreOptions;
  /** Where logs go (default stdout). */
  logStream?: DestinationStream;
  /** The name Open Inference Protocol clients call the model by (/v2/models/NAME); default the model's own name. */
  modelName?: string;
  /** The longest one check of the store (or the first load) may take before it is given up (default 300 s). */
  checkTimeoutMs?: number;
}

export interface RunningServer {
  /** Where it listens, e.g. http://127.0.0.1:8000. */
  url: string;
  app: FastifyInstance;
  holder: ModelHolder;
  logger: Logger;
  /** The model serving when startServer resolved (null only with waitForModel and nothing loadable yet). */
  model: LoadedModel | null;
  /** The fast lane (fast-lane.ts), unless switched off. */
  fastLane: FastLane | null;
  /**
   * Not ready, stops accepting, finishes in-flight requests (closing what is left at the drain deadline), stops polling
   * and the workers. No grace period. Does not exit the process.
   */
  close(): Promise<void>;
  /** What SIGTERM runs (without exiting): the grace period, then `close`. */
  shutdown(): Promise<ShutdownSummary>;
}

export interface ShutdownSummary {
  /** Time listening after shutdown began, and then draining (ms). */
  graceMs: number;
  drainMs: number;
  /** Connections still open at the drain deadline, closed then. */
  closedAtDeadline: number;
}

/**
 * Starts the prediction service and resolves once it is listening and a model is loaded (ready), or rejects with a
 * BayesServeError when the model cannot be loaded (unless `waitForModel`).
 */
export async function startServer(options: ServerOptions = {}): Promise<RunningServer> {
  const startedAt = performance.now();
  const logger = createLogger({ level: options.logLevel ?? "info", stream: options.logStream });
  const { storeUri, version: pinned } = parseModelRef(options.model ?? DEFAULT_STORE_URI);
  const store = openStore(storeUri, options.storeOptions);
  const limits: Limits = {
    ...DEFAULT_LIMITS,
    ...(options.maxSamples !== undefined ? { maxSamples: options.maxSamples } : {}),
    ...(options.maxBins !== undefined ? { maxBins: options.maxBins } : {}),
    ...(options.maxBatch !== undefined ? { maxBatch: options.maxBatch } : {}),
  };
  for (const [name, v] of Object.entries(limits)) {
    if (!Number.isSafeInteger(v) || v < 1) throw new BayesServeError("USAGE", `${name} must be a positive integer (got ${v})`);
  }
  const pollInterval = options.pollInterval ?? DEFAULT_POLL_INTERVAL_SECONDS;
  if (!(pollInterval >= 0 && Number.isFinite(pollInterval))) throw new BayesServeError("USAGE", `poll interval must be ≥ 0 seconds (got ${pollInterval})`);
  const holder = new ModelHolder({
    store,
    pinned,
    limits,
    log: logger,
    pollIntervalSeconds: pollInterval,
    allowNewLevels: options.allowNewLevels === true,
    checkTimeoutSeconds: options.checkTimeoutMs === undefined ? undefined : options.checkTimeoutMs / 1000,
  });
  const built = await buildApp({
    holder,
    logger,
    limits,
    workers: options.workers,
    requestTimeoutMs: options.requestTimeoutMs,
    maxQueuedHeavy: options.maxQueue,
    answerMemory: options.answerMemory,
    sendTimeoutMs: options.sendTimeoutMs,
    bodyLimit: options.bodyLimit,
    accessLog: options.accessLog,
    fastLane: options.fastLane !== false,
    bodyTimeoutMs: options.bodyTimeoutMs ?? DEFAULT_BODY_TIMEOUT_SECONDS * 1000,
    modelName: options.modelName,
  });
  const { app } = built;

  // Every open connection, so that the drain deadline can close what is left.
  const sockets = new Set<Socket>();
  app.server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  const graceMs = options.shutdownGraceMs ?? SHUTDOWN_GRACE_SECONDS * 1000;
  const timeoutMs = options.shutdownTimeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_SECONDS * 1000;

  let stopping: Promise<ShutdownSummary> | null = null;
  const stop = (grace: number): Promise<ShutdownSummary> => {
    stopping ??= (async () => {
      const began = performance.now();
      built.beginClosing();
      await holder.stop();
      if (grace > 0) await new Promise((resolve) => setTimeout(resolve, grace));
      const drainBegan = performance.now();
      let closedAtDeadline = 0;
      const deadline = setTimeout(() => {
        for (const socket of sockets) {
          if (socket.destroyed) continue;
          closedAtDeadline++;
          socket.destroy();
        }
      }, timeoutMs);
      // Stop accepting, and wait for every connection to end: the in-flight requests finish, each connection closing
      // after its answer (or at once when idle); the deadline closes the rest. Only then is Fastify closed (its onClose
      // hooks stop the sampling workers), so nothing in flight meets a closing app. A connection whose request
      // finishes later would otherwise stay open until its keep-alive timeout: close those as they go idle.
      const connectionsEnded = new Promise<void>((resolve) => app.server.close(() => resolve()));
      const sweep = setInterval(() => app.server.closeIdleConnections(), 25);
      try {
        // The fast lane takes no new request from here (requests on open connections go to Fastify).
        await built.fastLane?.close();
        await connectionsEnded;
        await app.close();
      } finally {
        clearInterval(sweep);
        clearTimeout(deadline);
      }
      const end = performance.now();
      return { graceMs: Math.round(drainBegan - began), drainMs: Math.round(end - drainBegan), closedAtDeadline };
    })();
    return stopping;
  };
  const close = async (): Promise<void> => {
    await stop(0);
  };
  const shutdown = (): Promise<ShutdownSummary> => stop(graceMs);

  const port = options.port ?? DEFAULT_PORT;
  const host = options.host ?? DEFAULT_HOST;
  let address: string;
  try {
    address = await app.listen({ port, host });
  } catch (err) {
    await app.close().catch(() => undefined);
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === "EADDRINUSE" ? "the port is in use" : code === "EACCES" ? "permission denied" : (err as Error).message;
    throw new BayesServeError("USAGE", `cannot listen on ${host}:${port}: ${why}`, { cause: err });
  }
  const url = address.replace("://0.0.0.0:", "://127.0.0.1:").replace("://[::]:", "://[::1]:");
  // Before anything is logged: whoever reads the log may signal as soon as it sees a line.
  let onSignal: ((signal: NodeJS.Signals) => void) | null = null;
  if (options.handleSignals !== false) {
    onSignal = (signal: NodeJS.Signals): void => {
      // SIGTERM is an orchestrator's; SIGINT a person's at a terminal, who need not wait for load balancers.
      const grace = signal === "SIGINT" ? 0 : graceMs;
      logger.info(
        { signal, graceMs: grace, timeoutMs },
        "shutting down: not ready; serving with Connection: close for the grace period, then finishing in-flight requests",
      );
      // A backstop only: the drain deadline closes every connection, so this fires only if something hangs elsewhere.
      const backstop = setTimeout(
        () => {
          logger.error({ graceMs: grace, timeoutMs }, "shutdown did not finish after the grace period and the drain deadline; exiting anyway");
          void exitProcess(1, logger);
        },
        grace + timeoutMs + 5_000,
      );
      backstop.unref();
      stop(grace).then(
        (summary) => {
          if (summary.closedAtDeadline > 0) logger.warn(summary, "shut down: connections still open at the drain deadline were closed");
          else logger.info(summary, "shut down cleanly");
          void exitProcess(0, logger);
        },
        (err: unknown) => {
          const e = err as Error;
          logger.error({ err: { type: e.name, message: e.message, stack: e.stack } }, "error while shutting down");
          void exitProcess(1, logger);
        },
      );
    };
    process.once("SIGTERM", onSignal);
    process.once("SIGINT", onSignal);
  }

  logger.info({ url, store: store.uri, pinned, pollInterval }, "listening; loading the model");

  let model: LoadedModel | null = null;
  try {
    model = await holder.loadInitial();
    logger.info({ version: model.version, readyMs: Math.round(performance.now() - startedAt) }, "ready");
  } catch (err) {
    if (options.waitForModel !== true) {
      if (onSignal !== null) {
        process.off("SIGTERM", onSignal);
        process.off("SIGINT", onSignal);
      }
      await close();
      throw err;
    }
    logger.warn({ err: { message: (err as Error).message }, pollInterval }, "no model yet; not ready, checking the store again every poll interval");
  }
  holder.startPolling();
  if (model === null && options.waitForModel === true && pollInterval <= 0) {
    logger.warn("hot reload is off (poll interval 0), so no model will ever be loaded");
  }

  return { url, app, holder, logger, model, fastLane: built.fastLane, close, shutdown };
}
