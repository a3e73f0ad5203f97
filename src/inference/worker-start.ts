// Starting one of this folder's worker entries (chain-worker, shard-worker) from compiled JavaScript or from the
// TypeScript sources (tests, tsx).
import { Worker } from "node:worker_threads";

/** From dist/ the worker is NAME.js; from TypeScript sources it is NAME.ts, loaded through tsx. */
export function startWorker(name: string, workerData: unknown): Worker {
  if (!import.meta.url.endsWith(".ts")) return new Worker(new URL(`./${name}.js`, import.meta.url), { workerData });
  const tsxApi = import.meta.resolve("tsx/esm/api");
  const entry = new URL(`./${name}.ts`, import.meta.url).href;
  const boot = `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(boot, { eval: true, workerData });
}
