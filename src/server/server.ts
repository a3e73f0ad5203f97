// Running the service: open the store, listen (so liveness answers at once), load the model (then ready), poll for
// new versions, and shut down gracefully on SIGTERM/SIGINT: readiness goes 503, the listener stops accepting, idle
// keep-alive connections close, in-flight requests finish, then the process exits.
import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import { openStore, parseModelRef, DEFAULT_STORE_URI, type OpenStoreOptions } from "../artifact/store.js";
import { BayesServeError } from "../errors.js";
import { buildApp } from "./app.js";
import type { FastLane } from "./fast-lane.js";
import { createLogger, type LogLevel } from "./logging.js";
import { ModelHolder, type LoadedModel } from "./model-holder.js";
import type { DestinationStream } from "pino";
import { DEFAULT_HOST, DEFAULT_LIMITS, DEFAULT_POLL_INTERVAL_SECONDS, DEFAULT_PORT, type Limits } from "./constants.js";

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
  /** One log line per request (default true). */
  accessLog?: boolean;
  /** Light, valid predictions answered without Fastify's request lifecycle (fast-lane.ts); default true. */
  fastLane?: boolean;
  /** Keep running (not ready) when no model can be loaded at start, and load one when it appears; default false: fail. */
  waitForModel?: boolean;
  /** Install SIGTERM/SIGINT handlers that shut down gracefully and exit the process (default true). */
  handleSignals?: boolean;
  /** Longest wait for in-flight requests at shutdown before exiting anyway (default 10 s). */
  shutdownTimeoutMs?: number;
  /** Passed to openStore (S3 settings, test faults). */
  storeOptions?: OpenStoreOptions;
  /** Where logs go (default stdout). */
  logStream?: DestinationStream;
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
  /** Stops accepting, finishes in-flight requests, stops polling and the workers. Does not exit the process. */
  close(): Promise<void>;
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
  const holder = new ModelHolder({ store, pinned, limits, log: logger, pollIntervalSeconds: pollInterval });
  const built = await buildApp({
    holder,
    logger,
    limits,
    workers: options.workers,
    requestTimeoutMs: options.requestTimeoutMs,
    bodyLimit: options.bodyLimit,
    accessLog: options.accessLog,
    fastLane: options.fastLane !== false,
  });
  const { app } = built;

  let closed: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closed ??= (async () => {
      built.beginClosing();
      await holder.stop();
      // The fast lane takes no new request from here; those whose body is still arriving may need Fastify yet.
      await built.fastLane?.drained();
      // app.close() stops accepting and closes the keep-alive connections idle at that moment; a connection whose
      // request finishes later would otherwise stay open until its keep-alive timeout. Close those as they go idle.
      const sweep = setInterval(() => app.server.closeIdleConnections(), 25);
      try {
        await app.close();
      } finally {
        clearInterval(sweep);
      }
    })();
    return closed;
  };

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
  logger.info({ url, store: store.uri, pinned, pollInterval }, "listening; loading the model");

  let model: LoadedModel | null = null;
  try {
    model = await holder.loadInitial();
    logger.info({ version: model.version, readyMs: Math.round(performance.now() - startedAt) }, "ready");
  } catch (err) {
    if (options.waitForModel !== true) {
      await close();
      throw err;
    }
    logger.warn({ err: { message: (err as Error).message }, pollInterval }, "no model yet; not ready, checking the store again every poll interval");
  }
  holder.startPolling();
  if (model === null && options.waitForModel === true && pollInterval <= 0) {
    logger.warn("hot reload is off (poll interval 0), so no model will ever be loaded");
  }

  if (options.handleSignals !== false) {
    const timeout = options.shutdownTimeoutMs ?? 10_000;
    const onSignal = (signal: NodeJS.Signals): void => {
      logger.info({ signal }, "shutting down: finishing in-flight requests");
      const force = setTimeout(() => {
        logger.error({ timeoutMs: timeout }, "in-flight requests did not finish in time; exiting anyway");
        logger.flush();
        process.exit(1);
      }, timeout);
      force.unref();
      close().then(
        () => {
          logger.info("shut down cleanly");
          logger.flush();
          process.exit(0);
        },
        (err: unknown) => {
          logger.error({ err: { message: (err as Error).message } }, "error while shutting down");
          logger.flush();
          process.exit(1);
        },
      );
    };
    process.once("SIGTERM", onSignal);
    process.once("SIGINT", onSignal);
  }

  return { url, app, holder, logger, model, fastLane: built.fastLane, close };
}
