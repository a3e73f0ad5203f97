// GET /metrics in Prometheus' text format (prom-client's registry): requests by method, route and status, a latency
// histogram with the same labels, the loaded model's version (a gauge with a `version` label), reloads and their
// failures, heavy requests refused by admission (load shedding) with the queue and memory admission manages, and
// Node's process metrics (memory, CPU, event-loop lag, GC).
//
// Counting a request must cost next to nothing beside a prediction that takes microseconds: prom-client's labelled
// counters and histograms rebuild a label hash and validate the labels on every call, and reading a request's route
// pattern (`request.routeOptions`) builds an object each time. So each route gets its own onResponse hook (added as the
// route is declared, the pattern known in advance), requests are tallied into plain numbers per (method, status), and
// those tallies are turned into prom-client's exposition only when /metrics is scraped.
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest, RouteOptions } from "fastify";
import { collectDefaultMetrics, Counter, Gauge, Registry, type Metric } from "prom-client";
import { SHED_REASONS, type Admission } from "./admission.js";
import type { ModelHolder } from "./model-holder.js";
import { unencapsulated } from "./plugin.js";

export const METRIC_PREFIX = "bayes_serve_";
export const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10];

/** The label for requests that matched no route (404, 405): keeps the label set bounded whatever clients send. */
export const UNMATCHED_ROUTE = "unmatched";

/**
 * The protocol a route speaks: "v2" for the Open Inference Protocol (routes under /v2), "v1" for the service's own API
 * (the seed's /predict/v1.0.0 and everything else).
 */
export const protocolOf = (route: string): "v1" | "v2" => (route === "/v2" || route.startsWith("/v2/") ? "v2" : "v1");

interface Series {
  labels: { method: string; route: string; status_code: string; protocol: string };
  count: number;
  sum: number;
  /** Non-cumulative counts per bucket; the last one is +Inf. */
  buckets: Float64Array;
}

type Recorder = (method: string, status: number, ms: number) => void;

/** The onResponse hooks this plugin adds to routes (each route's count). */
const requestCounters = new WeakSet<object>();

/** True for a route hook that only counts the request in /metrics (the fast lane counts its own requests alike). */
export const isRequestCounter = (hook: unknown): boolean => typeof hook === "function" && requestCounters.has(hook);

/** Request counts and latencies, tallied as plain numbers. */
export class RequestMetrics {
  private readonly series: Series[] = [];
  private readonly recorders = new Map<string, Recorder>();

  constructor(readonly buckets: readonly number[] = LATENCY_BUCKETS) {}

  /** The recorder for one route pattern (one per pattern, shared by its methods). */
  forRoute(route: string): Recorder {
    const existing = this.recorders.get(route);
    if (existing !== undefined) return existing;
    // Keyed by status × method: a number, so a request allocates nothing to find its series.
    const byKey = new Map<number, Series>();
    const methods: string[] = [];
    const protocol = protocolOf(route);
    const recorder: Recorder = (method, status, ms) => {
      let m = methods.indexOf(method);
      if (m < 0) m = methods.push(method) - 1;
      const key = status * 64 + m;
      let s = byKey.get(key);
      if (s === undefined) {
        s = { labels: { method, route, status_code: String(status), protocol }, count: 0, sum: 0, buckets: new Float64Array(this.buckets.length + 1) };
        byKey.set(key, s);
        this.series.push(s);
      }
      const seconds = ms / 1000;
      s.count++;
      s.sum += seconds;
      const b = this.buckets;
      let i = 0;
      while (i < b.length && seconds > b[i]) i++;
      s.buckets[i]++;
    };
    this.recorders.set(route, recorder);
    return recorder;
  }

  /** prom-client metric objects exposing the tallies (read at scrape time). */
  metrics(prefix: string): Metric[] {
    const requestsName = `${prefix}http_requests_total`;
    const latencyName = `${prefix}http_request_duration_seconds`;
    const requests = {
      name: requestsName,
      help: "HTTP requests answered, by method, route (the route's pattern; 'unmatched' for 404 and 405), status code and protocol (v1: the service's own API; v2: the Open Inference Protocol).",
      type: "counter",
      aggregator: "sum",
      get: async () => ({
        name: requestsName,
        help: requests.help,
        type: "counter",
        aggregator: "sum",
        values: this.series.map((s) => ({ labels: { ...s.labels }, value: s.count })),
      }),
      reset: () => undefined,
    };
    const latency = {
      name: latencyName,
      help: "Time from the request's arrival to its response being sent, by method, route, status code and protocol.",
      type: "histogram",
      aggregator: "sum",
      get: async () => {
        const values: { metricName: string; labels: Record<string, string | number>; value: number }[] = [];
        for (const s of this.series) {
          let cumulative = 0;
          for (let i = 0; i <= this.buckets.length; i++) {
            cumulative += s.buckets[i];
            const le = i < this.buckets.length ? this.buckets[i] : "+Inf";
            values.push({ metricName: `${latencyName}_bucket`, labels: { le, ...s.labels }, value: cumulative });
          }
          values.push({ metricName: `${latencyName}_sum`, labels: { ...s.labels }, value: s.sum });
          values.push({ metricName: `${latencyName}_count`, labels: { ...s.labels }, value: s.count });
        }
        return { name: latencyName, help: latency.help, type: "histogram", aggregator: "sum", values };
      },
      reset: () => undefined,
    };
    return [requests as unknown as Metric, latency as unknown as Metric];
  }
}

export interface MetricsPluginOptions {
  holder: ModelHolder;
  requests: RequestMetrics;
  /** Heavy requests' admission (admission.ts): requests shed, queued and running, and the bytes their answers hold. */
  admission?: Admission;
  /** Node's process metrics (CPU, memory, event-loop lag, GC); default true. */
  processMetrics?: boolean;
}

export const metricsPlugin: FastifyPluginAsync<MetricsPluginOptions> = unencapsulated(async (app: FastifyInstance, options: MetricsPluginOptions) => {
  const registry = new Registry();
  if (options.processMetrics !== false) collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });
  for (const m of options.requests.metrics(METRIC_PREFIX)) registry.registerMetric(m);
  const modelInfo = new Gauge({
    name: `${METRIC_PREFIX}model_info`,
    help: "The model version being served (value 1, version in the label).",
    labelNames: ["version", "model"] as const,
    registers: [registry],
  });
  const loadedAt = new Gauge({
    name: `${METRIC_PREFIX}model_loaded_timestamp_seconds`,
    help: "When the model being served was loaded (Unix time).",
    registers: [registry],
  });
  const reloads = new Counter({
    name: `${METRIC_PREFIX}model_reloads_total`,
    help: "Model versions swapped in (the first load included).",
    registers: [registry],
  });
  const reloadFailures = new Counter({
    name: `${METRIC_PREFIX}model_reload_failures_total`,
    help: "Model versions that could not be loaded or verified (the old one kept serving).",
    registers: [registry],
  });

  const admission = options.admission;
  if (admission !== undefined) {
    const shedName = `${METRIC_PREFIX}requests_shed_total`;
    const shedHelp =
      "Heavy prediction requests refused with 503 and Retry-After by admission (load shedding), by reason: queue_full, wait_too_long (the work ahead would take longer than the bound), waited_too_long.";
    const shed = {
      name: shedName,
      help: shedHelp,
      type: "counter",
      aggregator: "sum",
      get: async () => ({
        name: shedName,
        help: shedHelp,
        type: "counter",
        aggregator: "sum",
        values: SHED_REASONS.map((reason) => ({ labels: { reason }, value: admission.shed[reason] })),
      }),
      reset: () => undefined,
    };
    registry.registerMetric(shed as unknown as Metric);
    const gauge = (name: string, help: string, read: () => number): void => {
      new Gauge({
        name: `${METRIC_PREFIX}${name}`,
        help,
        registers: [registry],
        collect() {
          this.set(read());
        },
      });
    };
    gauge("heavy_requests_queued", "Heavy prediction requests waiting for admission.", () => admission.state.queued);
    gauge("heavy_requests_running", "Heavy prediction requests being computed.", () => admission.state.running);
    gauge(
      "heavy_answer_bytes",
      "Bytes held by the answers of heavy requests being computed or not yet taken by their clients.",
      () => admission.state.answerBytes,
    );
    const droppedName = `${METRIC_PREFIX}heavy_answers_dropped_total`;
    const droppedHelp = "Heavy answers whose clients took nothing of them for 2 s, dropped (their connection closed) to make room for waiting requests.";
    registry.registerMetric({
      name: droppedName,
      help: droppedHelp,
      type: "counter",
      aggregator: "sum",
      get: async () => ({ name: droppedName, help: droppedHelp, type: "counter", aggregator: "sum", values: [{ labels: {}, value: admission.state.evicted }] }),
      reset: () => undefined,
    } as unknown as Metric);
  }

  const setModel = (version: string, name: string, at: string): void => {
    modelInfo.reset();
    modelInfo.labels(version, name).set(1);
    loadedAt.set(Date.parse(at) / 1000);
  };
  const current = options.holder.current;
  if (current !== null) {
    setModel(current.version, current.info.model.name, current.info.loaded_at);
    reloads.inc();
  }
  options.holder.onSwap((next) => {
    setModel(next.version, next.info.model.name, next.info.loaded_at);
    reloads.inc();
  });
  options.holder.onFailure(() => reloadFailures.inc());

  // Every route declared from now on (this plugin is registered first) counts its own requests.
  app.addHook("onRoute", (route: RouteOptions) => {
    const record = options.requests.forRoute(route.url);
    const countRequest = (request: FastifyRequest, reply: FastifyReply, done: () => void): void => {
      record(request.method, reply.statusCode, reply.elapsedTime);
      done();
    };
    requestCounters.add(countRequest);
    const existing = route.onResponse;
    route.onResponse = existing === undefined ? [countRequest] : [...(Array.isArray(existing) ? existing : [existing]), countRequest];
  });

  app.get("/metrics", { schema: { hide: true } }, async (_request: FastifyRequest, reply: FastifyReply) => {
    reply.type(registry.contentType);
    return registry.metrics();
  });
});
