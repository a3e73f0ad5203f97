// Starting a worker entry from compiled JavaScript or from the TypeScript sources (tests, tsx): the chain and shard
// workers here, the server's sampling workers.
import { Worker, type WorkerOptions } from "node:worker_threads";

/**
 * Starts the worker entry `name` beside the calling module (`from`: the caller's import.meta.url): NAME.js when the
 * caller runs as compiled JavaScript (dist/, a bundle), NAME.ts loaded through tsx when it runs from the sources.
 */
export function startWorker(from: string, name: string, options: WorkerOptions = {}): Worker {
  if (!from.endsWith(".ts")) return new Worker(new URL(`./${name}.js`, from), options);
  const tsxApi = import.meta.resolve("tsx/esm/api");
  const entry = new URL(`./${name}.ts`, from).href;
  const boot = `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(boot, { ...options, eval: true });
}
