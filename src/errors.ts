// Typed errors with stable codes. A BayesServeError is always the user's or the environment's problem, stated so that
// they can fix it (it names the field, file, line or store); anything else escaping is a bug.
export type ErrorCode =
  | "MODEL_DEFINITION"
  | "DATA_MISSING"
  | "DATA_SHAPE"
  | "DATA_VALUE"
  | "DISTRIBUTION_ARGUMENT"
  | "SAMPLER_DIVERGED"
  | "SAMPLER_INIT"
  | "SAMPLER_STEPSIZE"
  | "CSV_FORMAT"
  | "PARQUET_FORMAT"
  | "DATA_SOURCE"
  | "STORE"
  | "ARTIFACT"
  | "STAGE"
  | "QUALITY_GATE"
  | "CONFIG"
  | "DEPLOY"
  | "USAGE";

/**
 * Marks every BayesServeError, whichever copy of this module made it: the bundled entry points (the server, the chain
 * and shard workers, the report layer; scripts/bundle-server.mjs) each hold their own copy of this class, and an error
 * thrown inside the server bundle reaches the command line's copy — where a plain `instanceof` would call it a bug.
 */
const BRAND = Symbol.for("bayes-serve.BayesServeError");

export class BayesServeError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: number;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; exitCode?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "BayesServeError";
    this.code = code;
    this.exitCode = options?.exitCode ?? 1;
    Object.defineProperty(this, BRAND, { value: true });
  }

  /** `x instanceof BayesServeError` by the brand, so it holds across bundled copies; subclasses check their prototype. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (this !== BayesServeError) return Function.prototype[Symbol.hasInstance].call(this, value);
    return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }
}
