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

export class BayesServeError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: number;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; exitCode?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "BayesServeError";
    this.code = code;
    this.exitCode = options?.exitCode ?? 1;
  }
}
