// A real artefact for the server tests: the seed's model fitted quickly (NUTS, few draws) on the seed's simulated
// data, published through the artifact API into a temporary folder store. Fits are cached per process and seed.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import { buildBundle, type Bundle } from "../../src/artifact/bundle.js";
import { newVersionId } from "../../src/artifact/version-id.js";
import { openStore, type ArtifactStore } from "../../src/artifact/store.js";
import { summarize } from "../../src/diagnostics/index.js";
import { fit, type Posterior } from "../../src/inference/index.js";
import { HalfNormal, model, Normal, type Model } from "../../src/model/index.js";
import type { DataOptions } from "../../src/model/builder.js";
import { seedRegression } from "../../src/models/seed-regression.js";
import { predictionSchema } from "../../src/predict/index.js";
import { summaryRecord } from "../../src/train/pipeline.js";
import { simulateSeedData } from "../../src/train/simulate.js";
import { buildApp, type AppOptions } from "../../src/server/app.js";
import { createLogger, type LogLevel } from "../../src/server/logging.js";
import { ModelHolder } from "../../src/server/model-holder.js";
import { startServer, type RunningServer, type ServerOptions } from "../../src/server/server.js";
import { DEFAULT_LIMITS, type Limits } from "../../src/server/schemas.js";

const fits = new Map<number, Promise<Posterior>>();

/** The seed model fitted on 400 simulated rows: 2 chains × 300 draws (a second or so). */
export function seedPosterior(seed = 1): Promise<Posterior> {
  let p = fits.get(seed);
  if (p === undefined) {
    const data = simulateSeedData({ rows: 400, beta: [1, 1.25, 1.5], sigma: 0.75, xMin: 0, xMax: 10, seed });
    p = fit(seedRegression, { x: data.x, category: data.category, y: data.y }, { chains: 2, draws: 300, tune: 300, seed, threads: false, progress: false });
    fits.set(seed, p);
  }
  return p;
}

let versionCounter = 0;

/** Distinct, increasing version ids even within one second. */
export function nextVersionId(): string {
  const base = newVersionId();
  const suffix = (0xb00000 + (((Date.now() % 4096) * 256 + versionCounter++) % 0x100000)).toString(16);
  return `${base.slice(0, 17)}${suffix}`;
}

export async function seedBundle(options: { seed?: number; version?: string; metrics?: Record<string, number>; model?: unknown } = {}): Promise<Bundle> {
  const post = await seedPosterior(options.seed ?? 1);
  const model = seedRegression.json;
  const rows = summarize({ names: post.names, chains: post.chains, draws: post.draws, values: post.values });
  return buildBundle({
    manifest: {
      version: options.version ?? nextVersionId(),
      model: options.model ?? model,
      features: predictionSchema(model).features,
      target: { name: "y" },
      sampler: {
        draws: post.draws,
        tune: post.settings.tune,
        chains: post.chains,
        seed: post.settings.seed,
        maxTreeDepth: post.settings.maxTreeDepth,
        targetAccept: post.settings.targetAccept,
      },
      seed: post.settings.seed,
      data: { sha256: "0".repeat(64), rows: 400, trainRows: 320, testRows: 80 },
      parameters: { names: post.names, shapes: post.shapes },
      draws: { chains: post.chains, drawsPerChain: post.draws },
      sampleStats: { names: [...post.statNames] },
      diagnostics: {
        divergences: 0,
        summary: rows.map(summaryRecord),
      },
      metrics: options.metrics ?? { mape: 0.3886, rmse: 0.76, coverage_95: 0.95 },
      gate: { passed: true, failures: [] },
    },
    draws: post.values,
    sampleStats: post.stats,
  });
}

/**
 * A bundle of any model with draws made up for a test: `columns` maps each draws column (`a`, `z[3]`) to a function of
 * the draw's index giving its value, over 2 chains × `drawsPerChain`.
 */
/**
 * Schools with varying intercepts (alpha_j = mu + tau·z_j, z_j ~ Normal(0, 1)), four seen, so that a fifth can be a
 * level not seen in training; `hours` declared with the options given.
 */
export function schoolsModel(hours: DataOptions = {}): Model {
  return model("schools", (m) => {
    const h = m.data("hours", hours);
    const school = m.data("school", { levels: 4 });
    const mu = m.param("mu", Normal(50, 20));
    const tau = m.param("tau", HalfNormal(10));
    const z = m.param("z", Normal(0, 1), { shape: 4 });
    const beta = m.param("beta", Normal(0, 5));
    const sigma = m.param("sigma", HalfNormal(10));
    m.observe("obs", Normal(mu.add(tau.mul(z.at(school))).add(beta.mul(h)), sigma), m.data("score"));
  });
}

/** schoolsModel's draws, all alike: mu = 60, tau = 6, beta = 2, sigma = 1, the seen schools at z = −1, 0, 1, 2. */
export function schoolsBundle(schools: Model, drawsPerChain: number): Bundle {
  const columns: Record<string, (i: number) => number> = { mu: () => 60, tau: () => 6, beta: () => 2, sigma: () => 1 };
  for (let k = 0; k < 4; k++) columns[`z[${k}]`] = () => k - 1;
  return madeUpBundle(schools, columns, { drawsPerChain });
}

export function madeUpBundle(model: Model, columns: Record<string, (i: number) => number>, options: { drawsPerChain?: number; version?: string } = {}): Bundle {
  const names = Object.keys(columns);
  const drawsPerChain = options.drawsPerChain ?? 100;
  const total = 2 * drawsPerChain;
  const draws = new Float64Array(total * names.length);
  for (let i = 0; i < total; i++) names.forEach((n, k) => (draws[i * names.length + k] = columns[n](i)));
  const shapes: Record<string, number[]> = {};
  for (const p of model.json.params) {
    const size = names.filter((n) => n.startsWith(`${p.name}[`)).length;
    shapes[p.name] = p.shape.length === 0 ? [] : [size];
  }
  const schema = predictionSchema(model.json);
  return buildBundle({
    manifest: {
      version: options.version ?? nextVersionId(),
      model: model.json,
      features: schema.features,
      target: { name: schema.target },
      sampler: { draws: drawsPerChain, tune: drawsPerChain, chains: 2, seed: 1, maxTreeDepth: 10, targetAccept: 0.8 },
      seed: 1,
      data: { sha256: "1".repeat(64), rows: 10, trainRows: 8, testRows: 2 },
      parameters: { names, shapes },
      draws: { chains: 2, drawsPerChain },
      diagnostics: { summary: [] },
      metrics: {},
      gate: { passed: true, failures: [] },
    },
    draws,
  });
}

export interface TempStore {
  dir: string;
  store: ArtifactStore;
  cleanup(): void;
}

export function tempStore(prefix = "bayes-serve-server-"): TempStore {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, store: openStore(dir), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A temp store with one published (and promoted) version of the seed model. */
export async function storeWithSeedModel(options: { seed?: number } = {}): Promise<TempStore & { version: string }> {
  const t = tempStore();
  const version = await t.store.publish(await seedBundle(options));
  return { ...t, version };
}

// ---------------------------------------------------------------------------------------------------------------
// Apps around a store, for inject-based tests.

/** Log lines captured in memory, parsed. */
export class LogCapture {
  readonly lines: Record<string, unknown>[] = [];
  readonly raw: string[] = [];
  readonly stream = new Writable({
    write: (chunk: Buffer, _enc, cb) => {
      for (const line of chunk.toString("utf8").split("\n")) {
        if (line.trim() === "") continue;
        this.raw.push(line);
        this.lines.push(JSON.parse(line) as Record<string, unknown>);
      }
      cb();
    },
  });
}

export interface TestApp {
  app: FastifyInstance;
  holder: ModelHolder;
  logs: LogCapture;
  logger: Logger;
  close(): Promise<void>;
}

export async function testApp(
  store: ArtifactStore,
  options: Partial<Omit<AppOptions, "holder" | "logger">> & {
    load?: boolean;
    level?: LogLevel;
    pinned?: string | null;
    limits?: Partial<Limits>;
    /** As `serve --allow-new-levels`. */
    allowNewLevels?: boolean;
  } = {},
): Promise<TestApp> {
  const logs = new LogCapture();
  const logger = createLogger({ level: options.level ?? "info", stream: logs.stream });
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const holder = new ModelHolder({
    store,
    pinned: options.pinned ?? null,
    limits,
    log: logger,
    pollIntervalSeconds: 0,
    allowNewLevels: options.allowNewLevels,
  });
  if (options.load !== false) await holder.loadInitial();
  const { app } = await buildApp({ processMetrics: false, workers: 0, ...options, limits, holder, logger });
  await app.ready();
  return { app, holder, logs, logger, close: () => app.close() };
}

export const SEED_BODY = { data: { x: 5, category: 2 } };

export async function post(app: FastifyInstance, kind: string, body: unknown, headers: Record<string, string> = {}) {
  const payload = typeof body === "string" ? body : JSON.stringify(body);
  const res = await app.inject({ method: "POST", url: `/predict/v1.0.0/${kind}`, payload, headers: { "content-type": "application/json", ...headers } });
  let json: unknown = null;
  try {
    json = res.json();
  } catch {
    json = null;
  }
  return { status: res.statusCode, json: json as Record<string, unknown>, headers: res.headers, body: res.body };
}

/**
 * startServer as the server tests run it: an ephemeral port on the loopback interface, no store polling, no signal
 * handlers, logs captured out of sight; `options` adds to or overrides these.
 */
export function startTestServer(model: string, options: ServerOptions = {}): Promise<RunningServer> {
  return startServer({ model, port: 0, host: "127.0.0.1", pollInterval: 0, handleSignals: false, logStream: new LogCapture().stream, ...options });
}
