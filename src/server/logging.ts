// JSON logs (pino): one line per event, each request's lines carrying its id (`reqId`, from an X-Request-Id header
// or generated). Nothing secret is logged: Fastify's request serialiser logs no headers at all, and as a second line
// of defence every path where a credential could appear is redacted.
import type { FastifyBaseLogger } from "fastify";
import pino, { type Bindings, type ChildLoggerOptions, type DestinationStream, type Logger, type LoggerOptions } from "pino";

import type { LogLevel } from "./constants.js";

export { LOG_LEVELS, type LogLevel } from "./constants.js";

/** Paths censored wherever they appear in a log line's object. */
export const REDACTED_PATHS = [
  "req.headers.authorization",
  "req.headers.cookie",
  "req.headers['proxy-authorization']",
  "req.headers['x-api-key']",
  "req.headers['x-amz-security-token']",
  "headers.authorization",
  "headers.cookie",
  "headers['x-api-key']",
  "res.headers['set-cookie']",
  "*.authorization",
  "*.password",
  "*.secret",
  "*.token",
  "*.accessKeyId",
  "*.secretAccessKey",
  "*.sessionToken",
  "*.credentials",
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN",
  "*.AWS_ACCESS_KEY_ID",
  "*.AWS_SECRET_ACCESS_KEY",
  "*.AWS_SESSION_TOKEN",
];

export interface LoggerSettings {
  level?: LogLevel;
  /** Where lines go (default stdout). Tests pass a stream to read them. */
  stream?: DestinationStream;
}

export function loggerOptions(level: LogLevel = "info"): LoggerOptions {
  return {
    level,
    base: { service: "bayes-serve", pid: process.pid },
    redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    // An Error under `err` as pino serialises one; a plain object (the fields a call site chose, e.g. no stack for our
    // own errors) as it is — pino's serialiser made every one {"type":"Object","stack":""}.
    serializers: { err: (e: unknown) => (e instanceof Error ? pino.stdSerializers.err(e) : e) },
  };
}

export function createLogger(settings: LoggerSettings = {}): Logger {
  const options = loggerOptions(settings.level);
  return settings.stream === undefined ? pino(options, pino.destination({ dest: 1, sync: false, minLength: 0 })) : pino(options, settings.stream);
}

type LogMethod = (...args: unknown[]) => void;
type Level = "fatal" | "error" | "warn" | "info" | "debug" | "trace";

/**
 * A request's logger that becomes `parent.child(bindings)` only when something is logged. Fastify gives every request
 * a child logger; most requests log nothing (or one access line), and building a pino child — serialising and
 * redacting its bindings — is a measurable part of a request that takes tens of microseconds.
 */
export class LazyChildLogger {
  private real: FastifyBaseLogger | null = null;

  constructor(
    private readonly parent: FastifyBaseLogger,
    private readonly bindings: Bindings,
    private readonly options: ChildLoggerOptions,
  ) {}

  private get log(): FastifyBaseLogger {
    this.real ??= this.parent.child(this.bindings, this.options);
    return this.real;
  }

  get level(): string {
    return this.real?.level ?? this.parent.level;
  }

  set level(value: string) {
    this.log.level = value;
  }

  isLevelEnabled(level: string): boolean {
    const logger = (this.real ?? this.parent) as FastifyBaseLogger & { isLevelEnabled?: (level: string) => boolean };
    return logger.isLevelEnabled === undefined ? true : logger.isLevelEnabled(level);
  }

  private call(level: Level, args: unknown[]): void {
    if (this.real === null && !this.isLevelEnabled(level)) return;
    (this.log[level] as LogMethod)(...args);
  }

  fatal(...args: unknown[]): void {
    this.call("fatal", args);
  }
  error(...args: unknown[]): void {
    this.call("error", args);
  }
  warn(...args: unknown[]): void {
    this.call("warn", args);
  }
  info(...args: unknown[]): void {
    this.call("info", args);
  }
  debug(...args: unknown[]): void {
    this.call("debug", args);
  }
  trace(...args: unknown[]): void {
    this.call("trace", args);
  }
  silent(): void {}

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.log.child(bindings, options);
  }
}

/** Fastify's `childLoggerFactory` giving lazy request loggers. */
export function lazyChildLoggerFactory(logger: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions): FastifyBaseLogger {
  return new LazyChildLogger(logger, bindings, options) as unknown as FastifyBaseLogger;
}
