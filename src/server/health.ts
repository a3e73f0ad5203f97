// Kubernetes probes. /health/live: the process answers HTTP. /health/ready: a model is loaded and the server is not
// shutting down — 503 before the first load and from the moment SIGTERM arrives, so traffic moves elsewhere first.
// A server whose `latest` cannot be loaded yet but that serves an older version is ready (200) with status "stale":
// it can answer, and taking every replica out of service over a bad promote would be worse. Details are for the
// log: nothing here names a path or an endpoint.
import { Type } from "@sinclair/typebox";
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import { publicReloadError, type ModelHolder } from "./model-holder.js";

export interface HealthPluginOptions {
  holder: ModelHolder;
  /** True once shutdown has begun. */
  closing: () => boolean;
}

const status = Type.Object({ status: Type.String(), version: Type.Optional(Type.String()), detail: Type.Optional(Type.String()) });

export const healthPlugin: FastifyPluginAsync<HealthPluginOptions> = async (app: FastifyInstance, options: HealthPluginOptions) => {
  app.get("/health/live", { schema: { tags: ["operations"], summary: "Liveness: the process is up", response: { 200: status } } }, async () => ({
    status: "alive",
  }));

  app.get(
    "/health/ready",
    {
      schema: {
        tags: ["operations"],
        summary: "Readiness: a model is loaded and the server accepts predictions",
        response: { 200: status, 503: status },
      },
    },
    async (_request: FastifyRequest, reply: FastifyReply) => {
      if (options.closing()) {
        reply.code(503);
        return { status: "shutting down" };
      }
      const model = options.holder.current;
      const failure = publicReloadError(options.holder.status.lastError);
      if (model === null) {
        reply.code(503);
        return failure === null ? { status: "loading" } : { status: "loading", detail: `${failure.message}; retrying` };
      }
      if (failure !== null) return { status: "stale", version: model.version, detail: `${failure.message}; serving ${model.version}, retrying` };
      return { status: "ready", version: model.version };
    },
  );
};
