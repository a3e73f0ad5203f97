// Kubernetes probes. /health/live: the process answers HTTP. /health/ready: a model is loaded and the server is not
// shutting down — 503 before the first load and from the moment SIGTERM arrives, so traffic moves elsewhere first.
import { Type } from "@sinclair/typebox";
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import type { ModelHolder } from "./model-holder.js";

export interface HealthPluginOptions {
  holder: ModelHolder;
  /** True once shutdown has begun. */
  closing: () => boolean;
}

const status = Type.Object({ status: Type.String(), version: Type.Optional(Type.String()), detail: Type.Optional(Type.String()) });

export const healthPlugin: FastifyPluginAsync<HealthPluginOptions> = async (app: FastifyInstance, options: HealthPluginOptions) => {
  app.get(
    "/health/live",
    { schema: { tags: ["operations"], summary: "Liveness: the process is up", response: { 200: status } } },
    async () => ({ status: "alive" }),
  );

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
      if (model === null) {
        reply.code(503);
        const err = options.holder.status.lastError;
        return err === null ? { status: "loading" } : { status: "loading", detail: err.message };
      }
      return { status: "ready", version: model.version };
    },
  );
};
