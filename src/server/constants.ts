// Settings shared by the server and its command line, in a module with no dependencies, so that the CLI can describe
// its flags without loading the server.

/** Caps on what one request may ask for; all configurable. */
export interface Limits {
  /** Largest algo_param.n_samples (default 100,000). */
  maxSamples: number;
  /** Largest number of density bins (default 10,000). */
  maxBins: number;
  /** Largest number of instances in one batch request (default 1,000). */
  maxBatch: number;
  /** Largest instances × n_samples of one request (default 10,000,000: about a second of one core). */
  maxRequestSamples: number;
  /** Largest instances × bins of one density request (default 200,000: a response of a few MB). */
  maxDensityValues: number;
}

export const DEFAULT_LIMITS: Limits = { maxSamples: 100_000, maxBins: 10_000, maxBatch: 1_000, maxRequestSamples: 10_000_000, maxDensityValues: 200_000 };

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const DEFAULT_PORT = 8000;
export const DEFAULT_HOST = "0.0.0.0";
export const DEFAULT_POLL_INTERVAL_SECONDS = 30;
