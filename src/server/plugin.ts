// What fastify-plugin does, in one line: a plugin whose hooks and decorations apply to the whole app rather than to
// its own encapsulated context.
import type { FastifyPluginAsync, FastifyPluginOptions } from "fastify";

export function unencapsulated<T extends FastifyPluginOptions>(plugin: FastifyPluginAsync<T>): FastifyPluginAsync<T> {
  return Object.assign(plugin, { [Symbol.for("skip-override")]: true });
}
