// GET /metrics in Prometheus' text format: requests by route, method and status, a latency histogram, the loaded
// model's version (a gauge with a `version` label), reloads and their failures, and Node's process metrics. Each app
// has its own registry. Label children are cached per (method, route, status), so counting a request is two
// additions, no label hashing.
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { ModelHolder } from "./model-holder.js";
import { unencapsulated } from "./plugin.js";

export interface MetricsPluginOptions {
  holder: ModelHolder;
  /** Node's process metrics (CPU, memory, event-loop lag, GC); default true. */
  processMetrics?: boolean;
}

export const METRIC_PREFIX = "bayes_serve_";

interface Children {
  count: { inc(value?: number): void };
  latency: { observe(value: number): void };
}

export const metricsPlugin: FastifyPluginAsync<MetricsPluginOptions> = unencapsulated(async (app: FastifyInstance, options: MetricsPluginOptions) => {
  const registry = new Registry();
  if (options.processMetrics !== false) collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });
  const requests = new Counter({
    name: `${METRIC_PREFIX}http_requests_total`,
    help: "HTTP requests answered, by method, route (the route's pattern; 'unmatched' for 404s) and status code.",
    labelNames: ["method", "route", "status_code"] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: `${METRIC_PREFIX}http_request_duration_seconds`,
    help: "Time from the request's arrival to the last byte of the response, by method, route and status code.",
    labelNames: ["method", "route", "status_code"] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [registry],
  });
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

  const setModel = (version: string, name: string, at: string): void => {
    modelInfo.reset();
    modelInfo.labels(version, name).set(1);
    loadedAt.set(Date.parse(at) / 1000);
  };
  const current = options.holder.current;
  if (current !== null) setModel(current.version, current.info.model.name, current.info.loaded_at);
  options.holder.onSwap((next) => {
    setModel(next.version, next.info.model.name, next.info.loaded_at);
    reloads.inc();
  });
  options.holder.onFailure(() => reloadFailures.inc());

  const children = new Map<string, Children>();
  app.addHook("onResponse", (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
    const route = request.routeOptions.url ?? "unmatched";
    const status = reply.statusCode;
    const key = `${request.method} ${status} ${route}`;
    let c = children.get(key);
    if (c === undefined) {
      const labels = [request.method, route, String(status)] as const;
      c = { count: requests.labels(...labels), latency: latency.labels(...labels) };
      children.set(key, c);
    }
    c.count.inc();
    c.latency.observe(reply.elapsedTime / 1000);
    done();
  });

  app.get(
    "/metrics",
    { schema: { hide: true } },
    async (_request: FastifyRequest, reply: FastifyReply) => {
      reply.type(registry.contentType);
      return registry.metrics();
    },
  );
});
