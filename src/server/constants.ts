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

/** bayes-serve's version (package.json's), as the CLI and the Open Inference Protocol's server metadata give it. */
export const PACKAGE_VERSION = "0.1.0";

export const DEFAULT_PORT = 8000;
export const DEFAULT_HOST = "0.0.0.0";
export const DEFAULT_POLL_INTERVAL_SECONDS = 30;
/**
 * The longest one check of the store may take — reading `latest`, then reading, verifying and preparing a new version —
 * before it is given up as failed: the version serving stays, and the next poll starts a new check. Far beyond a sound
 * load (S3 reads have deadlines of their own, 30 s plus a second per MiB; verifying and compiling take seconds), it
 * ends only what would never end by itself — a read on a hung network file system, say — which would otherwise hold
 * every later check (they share the one in flight) and so keep the server on its old version for good.
 */
export const DEFAULT_CHECK_TIMEOUT_SECONDS = 300;
/** The longest a heavy request may compute (one within the default limits takes about a second). */
export const DEFAULT_REQUEST_TIMEOUT_SECONDS = 30;

/**
 * After SIGTERM, how long the server keeps its listener open (not ready, every answer closing its connection), and the
 * preStop delay `deploy render` gives the scoring pods: Kubernetes removes a terminating pod from its Service's
 * endpoints at the same time as it starts stopping it, and kube-proxies, ingress controllers and clients learn of it
 * over the next seconds, so a pod that stopped accepting at once would refuse requests still being sent to it.
 */
export const SHUTDOWN_GRACE_SECONDS = 5;
/** Then the longest wait for in-flight requests; what is still open after it is closed. */
export const DEFAULT_SHUTDOWN_TIMEOUT_SECONDS = 10;
/** Time a client has to send a whole request, headers and body (a 1 MiB body at 35 KB/s); then 408. */
export const DEFAULT_BODY_TIMEOUT_SECONDS = 30;
/**
 * Time a client may take nothing of a heavy answer (a slice of 64 KiB) before its connection is closed: what frees
 * the memory held for a client that never reads (nginx's send_timeout is the same idea).
 */
export const DEFAULT_SEND_TIMEOUT_SECONDS = 30;
/** Heavy requests allowed to wait for a worker (beyond, 503 with Retry-After: load shedding). */
export const DEFAULT_MAX_QUEUED_HEAVY = 64;
/** Longest estimated wait a heavy request is queued for (beyond, 503 at once); one still waiting after twice it gets 503. */
export const DEFAULT_MAX_QUEUE_WAIT_SECONDS = 10;
/**
 * Memory the answers of heavy requests may hold, computing or not yet taken by their clients (MiB): a dozen of the
 * largest answers (~6 MB: 20 instances × 10,000 bins), well inside the pod's memory with the rest of the server.
 */
export const DEFAULT_ANSWER_MEMORY_MIB = 64;

/**
 * V8 settings for a serving process, passed wherever the project launches one (the lean dist/server/main.js's
 * shebang, `npm start`, the Kubernetes scoring service's NODE_OPTIONS, bench/service.ts). A 4 MB young generation
 * (V8 grows it to 16 MB per semi-space under load) and a 256 MB old generation: the server's live heap is small, and
 * with V8's defaults the old generation fills with promoted request garbage long before its first full collection,
 * so resident memory climbs under load (figures in bench/README.md, "Behind the request path's code"). Training keeps
 * V8's defaults: its reports can need more heap.
 */
export const SERVING_NODE_OPTIONS = "--max-semi-space-size=4 --max-old-space-size=256";
