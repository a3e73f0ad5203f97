// `bayes-serve serve [--model URI[@VERSION]] [--port 8000] [--host 0.0.0.0] [--poll-interval 30] [--max-samples 100000]
// [--max-queue 64] [--answer-memory 64] [--send-timeout 30] [--shutdown-grace 5] [--shutdown-timeout 10]
// [--body-timeout 30] [--log-level info]`: the prediction service
// (src/server). `startServer` is exported for `bayes-serve start`.
import { type Command, InvalidArgumentError } from "commander";
import { DEFAULT_STORE_URI } from "../artifact/store.js";
import {
  DEFAULT_HOST,
  DEFAULT_LIMITS,
  DEFAULT_POLL_INTERVAL_SECONDS,
  DEFAULT_PORT,
  DEFAULT_BODY_TIMEOUT_SECONDS,
  DEFAULT_REQUEST_TIMEOUT_SECONDS,
  DEFAULT_ANSWER_MEMORY_MIB,
  DEFAULT_MAX_QUEUE_WAIT_SECONDS,
  DEFAULT_MAX_QUEUED_HEAVY,
  DEFAULT_SEND_TIMEOUT_SECONDS,
  DEFAULT_SHUTDOWN_TIMEOUT_SECONDS,
  LOG_LEVELS,
  SHUTDOWN_GRACE_SECONDS,
  type LogLevel,
} from "../server/constants.js";
import type { RunningServer, ServerOptions } from "../server/server.js";
import { parseDecimal } from "../schema/decimal.js";

export type { RunningServer, ServerOptions };

/**
 * Starts the prediction service; resolves once it listens and a model is loaded (see src/server/server.ts). The
 * server's modules (Fastify, Swagger, prom-client) load only now, so that other commands do not pay for them.
 */
export async function startServer(options: ServerOptions = {}): Promise<RunningServer> {
  const server = await import("../server/server.js");
  return server.startServer(options);
}

/** An option's integer in min..max, written in decimal digits. */
export function integer(name: string, min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\s*\d+\s*$/.test(value) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${name} must be an integer in ${min}..${max}`);
    }
    return n;
  };
}

function seconds(value: string): number {
  const n = parseDecimal(value.trim());
  if (value.trim() === "" || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError("must be a number of seconds ≥ 0 (0 disables)");
  return n;
}

function positiveSeconds(value: string): number {
  const n = parseDecimal(value.trim());
  if (value.trim() === "" || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError("must be a number of seconds > 0");
  return n;
}

function logLevel(value: string): LogLevel {
  if (!(LOG_LEVELS as readonly string[]).includes(value)) throw new InvalidArgumentError(`must be one of ${LOG_LEVELS.join(", ")}`);
  return value as LogLevel;
}

interface ServeFlags {
  model: string;
  port: number;
  host: string;
  pollInterval: number;
  maxSamples: number;
  maxBins: number;
  maxBatch: number;
  logLevel: LogLevel;
  workers: number;
  requestTimeout: number;
  maxQueue: number;
  answerMemory: number;
  sendTimeout: number;
  accessLog: boolean;
  fastLane: boolean;
  waitForModel?: boolean;
  allowNewLevels?: boolean;
  shutdownGrace: number;
  shutdownTimeout: number;
  bodyTimeout: number;
  modelName?: string;
}

export function register(program: Command): void {
  program
    .command("serve")
    .description("serve point, interval and density predictions from a published model over HTTP")
    .option("--model <uri[@version]>", "artefact store (folder, file:// or s3://bucket/prefix), optionally @VERSION to pin one", DEFAULT_STORE_URI)
    .option("--port <port>", "TCP port", integer("--port", 0, 65535), DEFAULT_PORT)
    .option("--host <host>", "interface to listen on", DEFAULT_HOST)
    .option(
      "--poll-interval <seconds>",
      "check the store's latest version every so often and hot-swap it in (0: never)",
      seconds,
      DEFAULT_POLL_INTERVAL_SECONDS,
    )
    .option("--max-samples <n>", "largest algo_param.n_samples a request may ask for", integer("--max-samples", 1, 10_000_000), DEFAULT_LIMITS.maxSamples)
    .option("--max-bins <n>", "largest number of density bins", integer("--max-bins", 1, 1_000_000), DEFAULT_LIMITS.maxBins)
    .option("--max-batch <n>", "largest number of instances in one request", integer("--max-batch", 1, 1_000_000), DEFAULT_LIMITS.maxBatch)
    .option("--workers <n>", "worker threads for heavy requests (0: on the event loop, between light ones)", integer("--workers", 0, 64), 1)
    .option(
      "--request-timeout <seconds>",
      "longest a heavy request may compute; it is then stopped and answered 503",
      integer("--request-timeout", 1, 3600),
      DEFAULT_REQUEST_TIMEOUT_SECONDS,
    )
    .option(
      "--max-queue <n>",
      `heavy requests allowed to wait for a worker; beyond it (or ${DEFAULT_MAX_QUEUE_WAIT_SECONDS} s of estimated wait) they get 503 with Retry-After`,
      integer("--max-queue", 0, 100_000),
      DEFAULT_MAX_QUEUED_HEAVY,
    )
    .option(
      "--answer-memory <MiB>",
      "memory the answers of heavy requests may hold, computing or not yet taken by their clients",
      integer("--answer-memory", 1, 65_536),
      DEFAULT_ANSWER_MEMORY_MIB,
    )
    .option(
      "--send-timeout <seconds>",
      "close a connection whose client takes nothing of a heavy answer for this long",
      positiveSeconds,
      DEFAULT_SEND_TIMEOUT_SECONDS,
    )
    .option("--no-access-log", "no log line per request (those are written at level debug; client and server errors are always logged)")
    .option("--no-fast-lane", "answer every prediction through Fastify's full request lifecycle (slower; the answers are the same)")
    .option("--wait-for-model", "start even when the store has no loadable model yet; become ready when one appears")
    .option("--allow-new-levels", "answer levels of a category not seen in training (drawn from their priors) unless a request says allow_new_levels: false")
    .option(
      "--shutdown-grace <seconds>",
      "after SIGTERM, keep accepting (not ready, closing each connection after its answer) this long before draining; match the pod's preStop delay",
      seconds,
      SHUTDOWN_GRACE_SECONDS,
    )
    .option("--shutdown-timeout <seconds>", "then wait this long for in-flight requests before closing what is left", seconds, DEFAULT_SHUTDOWN_TIMEOUT_SECONDS)
    .option("--body-timeout <seconds>", "time a client has to send a whole request, headers and body (then 408)", positiveSeconds, DEFAULT_BODY_TIMEOUT_SECONDS)
    .option(
      "--model-name <name>",
      "the name Open Inference Protocol (V2) clients call the model by, /v2/models/NAME/infer (default: the model's own name; KServe passes the InferenceService's)",
    )
    .option("--log-level <level>", `log level: ${LOG_LEVELS.join(", ")}`, logLevel, "info")
    .action(async (flags: ServeFlags) => {
      await startServer({
        model: flags.model,
        port: flags.port,
        host: flags.host,
        pollInterval: flags.pollInterval,
        maxSamples: flags.maxSamples,
        maxBins: flags.maxBins,
        maxBatch: flags.maxBatch,
        workers: flags.workers,
        requestTimeoutMs: flags.requestTimeout * 1000,
        maxQueue: flags.maxQueue,
        answerMemory: flags.answerMemory * 1024 * 1024,
        sendTimeoutMs: flags.sendTimeout * 1000,
        accessLog: flags.accessLog,
        fastLane: flags.fastLane,
        waitForModel: flags.waitForModel === true,
        allowNewLevels: flags.allowNewLevels === true,
        shutdownGraceMs: flags.shutdownGrace * 1000,
        shutdownTimeoutMs: flags.shutdownTimeout * 1000,
        bodyTimeoutMs: flags.bodyTimeout * 1000,
        logLevel: flags.logLevel,
        modelName: flags.modelName,
      });
      // The server keeps the process alive; SIGTERM/SIGINT shut it down gracefully.
    });
}
