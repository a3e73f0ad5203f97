// The train pipeline, one step after another: data in → split → fit → diagnose → evaluate → gate → report →
// publish. Each step is a function of the previous one's output; this file only sequences them.
import { createHash } from "node:crypto";
import { DIVERGENCE_RETRY_TARGETS, TRAIN_DEFAULTS } from "../defaults.js";
import { BayesServeError } from "../errors.js";
import { buildBundle } from "../artifact/bundle.js";
import type { GateVerdict, RowSamplesInfo } from "../artifact/manifest.js";
import { type ArtifactStore, openStore } from "../artifact/store.js";
import { newVersionId } from "../artifact/version-id.js";
import { ebfmi, summarize, type SummaryRow } from "../diagnostics/index.js";
import { type Adaptation, chainsOf, DEFAULT_SAMPLER_SETTINGS, fit, type FitOptions, type Posterior } from "../inference/index.js";
import type { Model } from "../model/builder.js";
import { bindModel, type DataInput, declaredBounds } from "../model/bind.js";
import type { ModelJSON } from "../model/graph.js";
import { familyOf, responseKindOf } from "../model/families.js";
import { DataRowError } from "../model/row-check.js";
import { intersectBounds, type ValueBounds } from "../model/value-bounds.js";
import { dataReadBy, predictionSchema, Predictor, targetObservation } from "../predict/index.js";
import { dataInputOf, resolveScalars, standardizationOf, withSizes } from "./model-data.js";
import { compareWithLatest, describeComparison } from "./promotion.js";
import { predictiveScores, SCORE_METRICS } from "./scores.js";
import type { ColumnSpec } from "./csv.js";
import { readSourceTable, type DataObject } from "./data-source.js";
import { evaluatePredictions, METRICS_BY_KIND, PLOT_HDI_PROBABILITY } from "./evaluate.js";
import { checkMetricRules, DEFAULT_GATE, type GateResult, type GateThresholds, qualityGate } from "./gate.js";
import { SEED_SIMULATION, simulateSeedData, type SimulationSettings } from "./simulate.js";
import { stratifiedSplit } from "./split.js";
import { selectRows, tableRows, type Table } from "./table.js";
import { describeSample, type RowSampleRecord, sampleTable, TEST_SAMPLE_STREAM, TRAIN_SAMPLE_STREAM } from "./row-sample.js";
import { adaptationRecord, resolveWarmStart, WARM_START_TUNE, type ResolvedWarmStart } from "./warm-start.js";
import { checkFeatureRows } from "./value-check.js";

export interface TrainOptions {
  model: Model;
  /** A data URI (path, file://, s3://bucket/key, s3://bucket/prefix/ — the newest object, or all of them with `all` —
   *  or http(s)://; CSV, gzip'd CSV or Parquet), or simulated data with these settings. */
  source: { data: string; all?: boolean } | { simulate: SimulationSettings };
  store: string;
  seed: number;
  draws: number;
  /** Warm-up iterations; default 1000, or WARM_START_TUNE when the fit starts warm. */
  tune?: number;
  chains: number;
  /** Threads per chain evaluating the gradient over row shards (FitOptions.threadsPerChain; default automatic). */
  threadsPerChain?: number;
  testFraction: number;
  /** The step size's target acceptance; default TRAIN_DEFAULTS.targetAccept, or a warm start's published fit's. */
  targetAccept?: number;
  maxTreeDepth?: number;
  /** How the metric adapts in a cold start (default TRAIN_DEFAULTS.adaptation). */
  adaptation?: Adaptation;
  /**
   * "latest" or a version id: start from that published fit of the same model (its step sizes, metrics and final
   * points) with a short warm-up. "latest" starts cold, saying why, when there is nothing usable to start from.
   */
  warmStart?: string;
  /** The observed data the service predicts, when the model observes more than one (default: its only one). */
  target?: string;
  /** Scalar data (sizes) given by the user (`--data-scalar J=12`); others are inferred where they can be. */
  scalars?: Record<string, number>;
  /** Compare with the version serving and refuse one that predicts the held-out rows worse (default true). */
  compare?: boolean;
  /** How many SEs worse than latest a new fit may be and still be promoted (default 2). */
  maxElpdDrop?: number;
  gate?: GateThresholds;
  /**
   * Fit again at a higher target acceptance (the next of DIVERGENCE_RETRY_TARGETS) while the fit has more divergent
   * transitions than the gate allows, up to this many times (default TRAIN_DEFAULTS.divergenceRetries; 0: never).
   */
  divergenceRetries?: number;
  /** Progress bars (only shown on a terminal). */
  progress?: boolean;
  /** Skip the report (faster; for tests). */
  report?: boolean;
  /**
   * Above this many rows, a seeded random sample of this many is used, and recorded: of the training rows for the
   * report's figures and PSIS-LOO, of the held-out rows for the metrics made from predictive samples (default
   * TRAIN_DEFAULTS.sampleRows). elpd_holdout and the comparison with latest use every held-out row.
   */
  sampleRows?: number;
  log?: (line: string) => void;
}

export interface TrainResult {
  version: string | null;
  store: string;
  /** Stored as a version (every fit that completes is). */
  published: boolean;
  /** Made `latest`: the gate passed. */
  promoted: boolean;
  summary: SummaryRow[];
  metrics: Record<string, number>;
  gate: GateResult;
  divergences: number;
  /** Fits set aside for their divergent transitions before this one (`divergenceRetries`); empty when none was. */
  divergentFits: DivergentFit[];
  seconds: number;
  posterior: Posterior;
  timings: Record<string, number>;
}

/**
 * The model's columns, for CSV and for the data table: every vector data input (features and target), with the
 * values each may take — its declared bounds, and for an observed column its likelihood's support (0/1, counts,
 * positive values).
 */
export function columnSpecs(model: Model): ColumnSpec[] {
  const json = model.json;
  // A design matrix is read from its named columns, each a float column with the matrix's bounds.
  const matrixColumns: ColumnSpec[] = json.data.flatMap((d) => {
    if (d.shape !== "matrix" || d.columns === undefined) return [];
    const bounds = declaredBounds(d);
    return d.columns.map((c) => ({
      name: c,
      type: "float" as const,
      ...(bounds !== null ? { bounds: { bounds, why: `the bounds the model declares for "${d.name}"` } } : {}),
    }));
  });
  const vectors = json.data
    .filter((d) => d.shape === "vector")
    .map((d) => {
      // A category sized by a dimension is read as a non-negative integer; the size follows from it (model-data.ts).
      const sizedLater = d.kind === "category" && d.levels === undefined;
      const spec: ColumnSpec = sizedLater
        ? { name: d.name, type: "integer", bounds: { bounds: { lower: 0, integer: true }, why: `category "${d.name}" takes 0, 1, 2, …` } }
        : { name: d.name, type: d.kind, ...(d.kind === "category" ? { levels: d.levels } : {}) };
      if (sizedLater) return spec;
      let bounds: ValueBounds | null = declaredBounds(d);
      const why: string[] = bounds === null ? [] : ["the bounds the model declares"];
      for (const o of json.observes) {
        const v = json.nodes[o.value];
        if (v.op !== "data" || v.name !== d.name || o.dist.family === "MvNormal" || o.dist.family === "Flat") continue;
        const family = familyOf(o.dist.family);
        if (Object.keys(family.values).length === 0) continue;
        bounds = bounds === null ? family.values : intersectBounds(bounds, family.values);
        why.push(`observation "${o.name}" has a ${family.name} likelihood`);
      }
      if (bounds !== null) spec.bounds = { bounds, why: why.join("; ") };
      return spec;
    });
  const all = [...vectors, ...matrixColumns];
  const twice = all.find((s, i) => all.findIndex((t) => t.name === s.name) !== i);
  if (twice !== undefined)
    throw new BayesServeError("MODEL_DEFINITION", `column "${twice.name}" is read twice (a data input and a matrix column, or two matrices)`);
  return all;
}

function tableHash(table: Table, order: string[]): string {
  const h = createHash("sha256");
  for (const c of order) h.update(new Uint8Array(table.columns[c].buffer, table.columns[c].byteOffset, table.columns[c].byteLength));
  return h.digest("hex");
}

/** The training table, its hash, where each row came from, the columns it ignored and the objects read. */
export interface LoadedTable {
  table: Table;
  sha256: string;
  /** Where a row is, for messages: "data.csv, line 12" (absent for simulated data). */
  where?: (row: number) => string;
  ignored: string[];
  /** The data URI and what was read from it (absent for simulated data). */
  provenance?: { source: string; objects: DataObject[] };
}

export async function loadTable(model: Model, source: TrainOptions["source"]): Promise<LoadedTable> {
  const spec = columnSpecs(model);
  const names = spec.map((s) => s.name);
  if ("data" in source) {
    const read = await readSourceTable(source.data, spec, { all: source.all });
    return {
      table: read.table,
      sha256: tableHash(read.table, names),
      where: read.where,
      ignored: read.ignored,
      provenance: { source: source.data, objects: read.objects },
    };
  }
  const wanted = ["x", "category", "y"];
  if (names.length !== 3 || !wanted.every((w) => names.includes(w)))
    throw new BayesServeError(
      "USAGE",
      `--simulate generates the seed's columns x, category, y; model "${model.name}" needs ${names.join(", ")}: use --data FILE.csv`,
    );
  const { sigma, rows } = source.simulate;
  if (!(sigma > 0 && Number.isFinite(sigma))) throw new BayesServeError("USAGE", `--sigma is the simulated noise's sd: it must be > 0 (got ${sigma})`);
  if (!(Number.isInteger(rows) && rows >= 2)) throw new BayesServeError("USAGE", `--rows must be an integer ≥ 2 (got ${rows})`);
  const levels = spec.find((s) => s.name === "category")?.levels;
  if (levels !== source.simulate.beta.length)
    throw new BayesServeError("USAGE", `--simulate: ${source.simulate.beta.length} betas but the model's category has ${levels} levels`);
  const d = simulateSeedData(source.simulate);
  const table: Table = { columns: { x: d.x, category: Float64Array.from(d.category), y: d.y }, rows: d.x.length, source: "simulated" };
  return { table, sha256: tableHash(table, names), ignored: [] };
}

/**
 * Trains, stores and gates a model (the steps below). An error that is not ours (a bug: a RangeError, a TypeError)
 * comes out naming the model, the data and the step it failed in, with the original as its cause (printed with its
 * stack by the CLI): "Maximum call stack size exceeded" alone says nothing of where.
 */
/** Most ignored columns a log line names: a wide export's 100,000 would make one line of a megabyte. */
const IGNORED_COLUMNS_NAMED = 20;

/** The log line for the data's columns the model does not read. */
export function ignoredColumnsNote(ignored: readonly string[], source: string): string {
  const named = ignored.slice(0, IGNORED_COLUMNS_NAMED).map((c) => `"${c}"`);
  const more = ignored.length > named.length ? ` and ${ignored.length - named.length} more` : "";
  return `data: ignoring column(s) ${named.join(", ")}${more} of ${source}: the model does not read them`;
}

export async function train(options: TrainOptions): Promise<TrainResult> {
  return runTrainSteps(options, (at) => trainSteps(options, at));
}

/** The step train is at, for the message of an unexpected error. */
export interface TrainStep {
  step: string;
}

async function trainSteps(options: TrainOptions, at: TrainStep): Promise<TrainResult> {
  const prepared = await prepareTraining(options, at);
  const fitted = await fitWithRetries(prepared, at);
  return finishTraining(prepared, fitted, at);
}

/**
 * Runs train's steps (or a part of them: a staged chain, a merge) so that an error that is not ours comes out naming
 * the model, the data and the step it failed in.
 */
export async function runTrainSteps<T>(options: TrainOptions, steps: (at: TrainStep) => Promise<T>): Promise<T> {
  const at: TrainStep = { step: "checking the options" };
  try {
    return await steps(at);
  } catch (err) {
    if (err instanceof BayesServeError) throw err;
    const data = "data" in options.source ? options.source.data : "simulated data";
    throw new Error(`training model "${options.model.name}" on ${data}: ${at.step} failed`, { cause: err });
  }
}

/** Everything the steps before the fit make, which the fit and the steps after it read. */
export interface PreparedTraining {
  options: TrainOptions;
  started: number;
  timings: Record<string, number>;
  log: (line: string) => void;
  gateThresholds: GateThresholds;
  store: ArtifactStore;
  reportLayer: Promise<typeof import("../report/index.js")> | null;
  /** The data's row count and where they came from (their columns are the training and held-out tables'). */
  table: Pick<Table, "rows" | "source">;
  sha256: string;
  where?: (row: number) => string;
  provenance?: LoadedTable["provenance"];
  /** The category the split was stratified by, if any. */
  strata: ModelJSON["data"][number] | undefined;
  split: ReturnType<typeof stratifiedSplit>;
  trainTable: Table;
  testTable: Table;
  scalars: Record<string, number>;
  /** The model with its sizes filled in, as recorded and served. */
  model: Model;
  schema: ReturnType<typeof predictionSchema>;
  standardization: ReturnType<typeof standardizationOf>;
  /** The training rows as the model's data input. */
  data: DataInput;
}

/** A fit's outcome: the posterior, the warm start it began from (if one was asked for) and its warm-up length. */
export interface FittedPosterior {
  posterior: Posterior;
  warm: ResolvedWarmStart | null;
  tune: number;
  /** The fits made before this one and set aside for their divergent transitions (fitWithRetries). */
  divergentFits?: DivergentFit[];
  /** A refit that failed (fitWithRetries), this fit being kept instead: its target acceptance and our error's message. */
  failedRefit?: { targetAccept: number; error: string };
}

/** A fit set aside for its divergent transitions, as the manifest records it (`sampler.divergentFits`). */
export type DivergentFit = {
  targetAccept: number;
  divergences: number;
  samplingSeconds: number;
};

/** The steps before the fit: check the options, open the store, read the data, split it, prepare the training rows. */
export async function prepareTraining(options: TrainOptions, at: TrainStep): Promise<PreparedTraining> {
  const started = performance.now();
  const timings: Record<string, number> = {};
  const lap = (name: string, t0: number) => (timings[name] = (performance.now() - t0) / 1000);
  const log = options.log ?? (() => {});
  const observation = targetObservation(options.model.json, options.target);
  const kind = responseKindOf(familyOf(observation.dist.family));
  const gateThresholds = options.gate ?? DEFAULT_GATE;
  checkMetricRules(gateThresholds.metrics ?? [], [...METRICS_BY_KIND[kind], ...SCORE_METRICS], kind);
  if (!(options.testFraction >= 0 && options.testFraction < 1))
    throw new BayesServeError("USAGE", `--test-fraction must be in [0, 1) (got ${options.testFraction})`);
  const retries = options.divergenceRetries;
  if (retries !== undefined && !(Number.isInteger(retries) && retries >= 0 && retries <= DIVERGENCE_RETRY_TARGETS.length))
    throw new BayesServeError("USAGE", `--divergence-retries must be an integer in 0..${DIVERGENCE_RETRY_TARGETS.length} (got ${retries})`);
  // Open the store first: an unreachable store or bad credentials fail before minutes of sampling.
  at.step = `opening the store ${options.store}`;
  const store = await openStore(options.store);
  await store.list();

  // Start loading the report layer now (Vega and resvg take ~0.3 s to import); it is ready by the time sampling ends.
  const reportLayer = options.report !== false ? import("../report/index.js") : null;
  reportLayer?.catch(() => {}); // awaited (and its failure reported) below
  const t0 = performance.now();
  at.step = "reading the data";
  const { table, sha256, where, ignored, provenance } = await loadTable(options.model, options.source);
  if (ignored.length > 0) log(ignoredColumnsNote(ignored, table.source));
  // Stratified by the first category the prediction reads, as the seed's split was by its category.
  const read = dataReadBy(options.model.json, options.target);
  const strata = options.model.json.data.find((d) => d.kind === "category" && d.shape === "vector" && read.has(d.name));
  at.step = `splitting ${table.rows} rows into training and test rows`;
  const split = stratifiedSplit(table.rows, options.testFraction, options.seed, strata ? table.columns[strata.name] : null);
  if (split.train.length < 2) throw new BayesServeError("USAGE", `only ${split.train.length} training row(s) after the split`);
  at.step = "preparing the training data";
  // Large training tables on shared memory: each chain's worker thread then reads them rather than a copy of its own.
  const trainTable = selectRows(table, split.train, { shared: split.train.length >= SHARED_TRAINING_ROWS });
  const testTable = selectRows(table, split.test);
  // Sizes given or inferred, the model with them filled in (as recorded and served), design matrices standardised by
  // the training rows.
  const scalars = resolveScalars(options.model, table, trainTable.rows, options.scalars);
  const model = withSizes(options.model, scalars);
  const schema = predictionSchema(model.json, scalars, options.target);
  checkFeatureRows(table, schema.features, where ?? ((row) => `${table.source}, row ${row + 1}`));
  const standardization = standardizationOf(model, trainTable);
  lap("data", t0);
  log(`data: ${table.rows} rows from ${table.source} (${trainTable.rows} train, ${testTable.rows} test)`);
  const data = dataInputOf(model, trainTable, scalars, standardization);
  return {
    options,
    started,
    timings,
    log,
    gateThresholds,
    store,
    reportLayer,
    // Not the table itself: its columns, copied into the training and held-out tables, are let go here.
    table: { rows: table.rows, source: table.source },
    sha256,
    where,
    provenance,
    strata,
    split,
    trainTable,
    testTable,
    scalars,
    model,
    schema,
    standardization,
    data,
  };
}

/**
 * From this many training rows their columns are put on SharedArrayBuffers (selectRows): every chain's worker would
 * otherwise receive a copy — 192 MB each at 8 million rows of the seed's three columns — while a gradient over shared
 * memory was measured up to ~1.2× slower on this VM (bench/README.md, train-memory), which small data need not pay.
 */
export const SHARED_TRAINING_ROWS = 1_000_000;

/** The warm start asked for (resolved against the store) and the warm-up length that goes with it. */
export async function resolveFitStart(prepared: PreparedTraining): Promise<{ warm: ResolvedWarmStart | null; tune: number }> {
  const { options, store, model, data, log } = prepared;
  let warm: ResolvedWarmStart | null = null;
  if (options.warmStart !== undefined) {
    warm = await resolveWarmStart(store, options.warmStart, model, bindModel(model.json, data));
    if (warm.starts === null) log(`warm start: none, a cold start (${warm.record.reason})`);
    else if (options.targetAccept === undefined && warm.targetAccept !== null)
      log(`warm start: from ${warm.record.version}, at its target acceptance ${warm.targetAccept} (--target-accept to change it)`);
    else log(`warm start: from ${warm.record.version}`);
  }
  return { warm, tune: options.tune ?? (warm?.starts ? WARM_START_TUNE : DEFAULT_TUNE) };
}

/** The sampler's options for a fit of the prepared data (every chain of it, or one chain of it run alone). */
export function fitOptionsOf(prepared: PreparedTraining, start: { warm: ResolvedWarmStart | null; tune: number }): FitOptions {
  const { options } = prepared;
  return {
    draws: options.draws,
    tune: start.tune,
    chains: options.chains,
    threadsPerChain: options.threadsPerChain,
    seed: options.seed,
    targetAccept: options.targetAccept ?? start.warm?.targetAccept ?? TRAIN_DEFAULTS.targetAccept,
    maxTreeDepth: options.maxTreeDepth,
    adaptation: options.adaptation ?? TRAIN_DEFAULTS.adaptation,
    warmStart: start.warm?.starts ?? undefined,
    progress: options.progress ?? true,
  };
}

/** Runs a sampling step, naming a data row the model cannot fit where the user can find it: the file's line. */
export async function namingDataRows<T>(prepared: PreparedTraining, sampling: () => Promise<T>): Promise<T> {
  try {
    return await sampling();
  } catch (err) {
    // The fit saw the training rows: its row number is one of them.
    if (err instanceof DataRowError) {
      const row = prepared.split.train[err.row];
      throw err.describedAt(prepared.where !== undefined ? prepared.where(row) : `${prepared.table.source}, row ${row + 1}`);
    }
    throw err;
  }
}

/** The fit, in this process: every chain on a worker thread; `targetAccept` overrides the options'. */
async function fitInProcess(
  prepared: PreparedTraining,
  at: TrainStep,
  start: { warm: ResolvedWarmStart | null; tune: number },
  targetAccept?: number,
): Promise<FittedPosterior> {
  const { options, trainTable, timings } = prepared;
  const t0 = performance.now();
  at.step = `sampling (${options.chains} chains of ${start.tune} + ${options.draws} iterations on ${trainTable.rows} rows)`;
  const fitted = await namingDataRows(prepared, async () => {
    const fitOptions = fitOptionsOf(prepared, start);
    if (targetAccept !== undefined) fitOptions.targetAccept = targetAccept;
    return { posterior: await fit(prepared.model, prepared.data, fitOptions), ...start };
  });
  timings.sampling = (performance.now() - t0) / 1000;
  return fitted;
}

/** The next target acceptance to fit again at, or null: none is left above `current`. */
export function nextRetryTarget(current: number): number | null {
  return DIVERGENCE_RETRY_TARGETS.find((t) => t > current) ?? null;
}

/**
 * The fit, made again at a higher target acceptance while it has more divergent transitions than the gate allows (a
 * smaller step size follows the curvature the larger one could not), up to `divergenceRetries` times; the fits set
 * aside are recorded. Every fit starts where the first did (one warm start, resolved once). A refit that fails with
 * one of our errors leaves the fit before it to be gated and stored, the failure recorded. Staged fits
 * (chain-stage.ts) are not retried: their chains ran apart.
 */
async function fitWithRetries(prepared: PreparedTraining, at: TrainStep): Promise<FittedPosterior> {
  const { options, gateThresholds, log, timings } = prepared;
  const retries = options.divergenceRetries ?? TRAIN_DEFAULTS.divergenceRetries;
  at.step = "resolving where the chains start";
  const start = await namingDataRows(prepared, () => resolveFitStart(prepared));
  let fitted = await fitInProcess(prepared, at, start);
  const divergentFits: DivergentFit[] = [];
  for (let retry = 0; retry < retries; retry++) {
    const divergences = divergencesOf(fitted.posterior);
    if (divergences <= gateThresholds.maxDivergences) break;
    const current = fitted.posterior.settings.targetAccept;
    const next = nextRetryTarget(current);
    if (next === null) {
      log(`${divergences} divergent transition(s) at target acceptance ${current}: no higher target (${DIVERGENCE_RETRY_TARGETS.join(", ")}) to fit again at`);
      break;
    }
    log(`${divergences} divergent transition(s) at target acceptance ${current}: fitting again at ${next} (--divergence-retries ${retries})`);
    const setAside: DivergentFit = { targetAccept: current, divergences, samplingSeconds: timings.sampling };
    try {
      fitted = await fitInProcess(prepared, at, start, next);
    } catch (err) {
      if (!(err instanceof BayesServeError)) throw err;
      timings.sampling = setAside.samplingSeconds;
      log(`the fit at target acceptance ${next} failed, so the fit at ${current} is kept: ${err.message}`);
      return { ...fitted, ...(divergentFits.length > 0 ? { divergentFits } : {}), failedRefit: { targetAccept: next, error: err.message } };
    }
    divergentFits.push(setAside);
    timings.samplingSetAside = (timings.samplingSetAside ?? 0) + setAside.samplingSeconds;
  }
  return divergentFits.length > 0 ? { ...fitted, divergentFits } : fitted;
}

/** How the fit's metric was adapted, as the manifest and the report name it. */
function adaptationOf(posterior: Posterior, warm: ResolvedWarmStart | null): string {
  return warm?.starts ? "warm start (step size only)" : posterior.settings.adaptation;
}

/** The divergent transitions of every chain's sampling phase. */
export function divergencesOf(posterior: Posterior): number {
  const divCol = posterior.statNames.indexOf("diverging");
  let divergences = 0;
  for (let i = divCol; i < posterior.stats.length; i += posterior.statNames.length) divergences += posterior.stats[i];
  return divergences;
}

/**
 * Stan's two sampler checks besides divergences (its `diagnose`), as the report's lines: E-BFMI per chain (below 0.3
 * the sampler explores the energy distribution poorly: heavy tails, a funnel) and the transitions that stopped at the
 * maximum tree depth (the trajectory was cut short: an efficiency warning, often of a badly scaled or identified
 * posterior).
 */
export function samplerChecks(posterior: Posterior): { "E-BFMI": string; "max tree depth hits": string } {
  const width = posterior.statNames.length;
  const energyCol = posterior.statNames.indexOf("energy");
  const depthCol = posterior.statNames.indexOf("tree_depth");
  const energies = Array.from({ length: posterior.chains }, (_, c) =>
    Float64Array.from({ length: posterior.draws }, (_, d) => posterior.stats[(c * posterior.draws + d) * width + energyCol]),
  );
  const bfmi = Array.from(ebfmi(energies));
  const low = bfmi.filter((b) => b < 0.3).length;
  const maxDepth = posterior.settings.maxTreeDepth;
  let hits = 0;
  for (let i = depthCol; i < posterior.stats.length; i += width) if (posterior.stats[i] >= maxDepth) hits++;
  const transitions = posterior.chains * posterior.draws;
  return {
    "E-BFMI": `${bfmi.map((b) => b.toFixed(2)).join(", ")} (per chain)${low > 0 ? ` — ${low} below 0.3: the energy is poorly explored` : ""}`,
    "max tree depth hits":
      hits === 0
        ? `0 of ${transitions} transitions (depth ${maxDepth})`
        : `${hits} of ${transitions} transitions (${((100 * hits) / transitions).toFixed(1)} %) stopped at the maximum depth ${maxDepth}`,
  };
}

/**
 * The steps after the fit, the same whoever fitted (this process, or chains run apart and merged): diagnose, evaluate,
 * gate, compare with latest, report, publish.
 */
export async function finishTraining(prepared: PreparedTraining, fitted: FittedPosterior, at: TrainStep): Promise<TrainResult> {
  const diagnosed = diagnose(prepared, fitted, at);
  const evaluated = evaluateFit(prepared, fitted, at);
  const gate = await gateAndCompare(prepared, diagnosed, evaluated, at);
  const version = newVersionId();
  if (!gate.passed) prepared.log(`quality gate failed; storing it as ${version}, not promoted:\n  ${gate.failures.join("\n  ")}`);
  const reportFiles = await renderTrainingReport(prepared, fitted, diagnosed, evaluated, gate, version, at);
  return publishVersion(prepared, fitted, diagnosed, evaluated, gate, version, reportFiles, at);
}

/** The posterior's summary (R-hat, ESS, …), its divergences, and the rows the gate checks (the model's parameters). */
interface Diagnosed {
  summary: ReturnType<typeof summarize>;
  divergences: number;
  gateRows: ReturnType<typeof summarize>;
}

function diagnose(prepared: PreparedTraining, { posterior }: FittedPosterior, at: TrainStep): Diagnosed {
  const t0 = performance.now();
  at.step = "computing the diagnostics";
  const summary = summarize({ names: posterior.names, chains: posterior.chains, draws: posterior.draws, values: posterior.values });
  const divergences = divergencesOf(posterior);
  const paramNames = new Set(prepared.model.json.params.map((p) => p.name));
  const gateRows = summary.filter((r) => paramNames.has(r.name.replace(/\[.*$/, "")));
  prepared.timings.diagnostics = (performance.now() - t0) / 1000;
  return { summary, divergences, gateRows };
}

/** The fit's predictions scored: held-out metrics, held-out elpd and PSIS-LOO, on the rows or on samples of them. */
interface Evaluated {
  predictor: Predictor;
  featureNames: string[];
  trainSample: ReturnType<typeof sampleTable>;
  testSample: ReturnType<typeof sampleTable>;
  evaluation: ReturnType<typeof evaluatePredictions>;
  scores: ReturnType<typeof predictiveScores>;
  samples: RowSamplesInfo | undefined;
}

function evaluateFit(prepared: PreparedTraining, { posterior }: FittedPosterior, at: TrainStep): Evaluated {
  const { options, log, trainTable, testTable, scalars, model, schema, standardization } = prepared;
  const t0 = performance.now();
  at.step = `evaluating the fit on ${testTable.rows} test rows`;
  const predictor = new Predictor(model.json, posterior, { target: schema.target, fixedData: scalars, standardization });
  const featureNames = schema.features.map((f) => f.name);
  // What costs predictive samples or a log-likelihood column per row runs on a seeded sample of the rows when there
  // are more than the cap (row-sample.ts): the held-out metrics, PSIS-LOO and the report's figures.
  const cap = options.sampleRows ?? TRAIN_DEFAULTS.sampleRows;
  const trainSample = sampleTable(trainTable, cap, options.seed, TRAIN_SAMPLE_STREAM);
  const testSample = sampleTable(testTable, cap, options.seed, TEST_SAMPLE_STREAM);
  if (testSample.record.sampled) log(`evaluation: held-out metrics on ${describeSample(testSample.record, "held-out rows")}; elpd_holdout on all`);
  if (trainSample.record.sampled) log(`evaluation: PSIS-LOO and the report's figures on ${describeSample(trainSample.record, "training rows")}`);
  // The rows as instances, made one at a time as they are scored: a million rows held as objects would take GBs.
  const testInstances = tableRows(testTable, featureNames);
  const evaluation = evaluatePredictions(predictor, tableRows(testSample.table, featureNames), testSample.table.columns[schema.target], options.seed);
  if (testSample.record.sampled) {
    evaluation.metrics.test_rows = testTable.rows;
    evaluation.metrics.evaluation_sample_rows = testSample.record.rows;
  }

  // Predictive scores from the pointwise log-likelihood: every held-out row, and PSIS-LOO of the training rows (or of
  // the sample of them, scaled to all).
  at.step = "computing the predictive scores (held-out elpd, PSIS-LOO)";
  const scores = predictiveScores(
    predictor,
    testInstances,
    testTable.columns[schema.target],
    tableRows(trainSample.table, featureNames),
    trainSample.table.columns[schema.target],
    trainTable.rows,
    trainSample.indices === null
      ? undefined
      : {
          all: tableRows(trainTable, featureNames),
          allY: trainTable.columns[schema.target],
          indices: trainSample.indices,
          point: new Predictor(model.json, posteriorMean(posterior), { target: schema.target, fixedData: scalars, standardization }),
        },
  );
  Object.assign(evaluation.metrics, scores.metrics);
  prepared.timings.evaluation = (performance.now() - t0) / 1000;
  const samples = samplesRecord(trainSample.record, testSample.record, scores.loo?.subsample !== undefined);
  return { predictor, featureNames, trainSample, testSample, evaluation, scores, samples };
}

/** The quality gate, and against the version serving now, on the same held-out rows: a worse fit is stored but not promoted. */
async function gateAndCompare(prepared: PreparedTraining, diagnosed: Diagnosed, evaluated: Evaluated, at: TrainStep): Promise<GateVerdict> {
  const { options, log, gateThresholds, store, testTable, schema } = prepared;
  const gate = qualityGate(diagnosed.gateRows, diagnosed.divergences, gateThresholds, evaluated.evaluation.metrics);
  if (options.compare === false) return gate;
  const t0 = performance.now();
  at.step = "comparing with the version serving";
  // Every column of the rows, not only this model's features: latest may read others the data hold.
  const rows = tableRows(testTable, Object.keys(testTable.columns));
  const comparison = await compareWithLatest(store, evaluated.predictor, rows, testTable.columns[schema.target], options.maxElpdDrop);
  if (comparison !== null) {
    gate.comparison = comparison;
    log(`comparison: ${describeComparison(comparison)}`);
    if (comparison.refused) {
      gate.failures.push(describeComparison(comparison));
      gate.passed = false;
    }
  }
  prepared.timings.comparison = (performance.now() - t0) / 1000;
  return gate;
}

/** The training report's files (report/…), or none without the report layer. */
async function renderTrainingReport(
  prepared: PreparedTraining,
  { posterior, warm, tune, divergentFits, failedRefit }: FittedPosterior,
  { summary, gateRows, divergences }: Diagnosed,
  { predictor, featureNames, trainSample, testSample, evaluation, scores, samples }: Evaluated,
  gate: GateVerdict,
  version: string,
  at: TrainStep,
): Promise<Record<string, Uint8Array | string>> {
  const { options, timings, reportLayer, table, sha256, strata, trainTable, testTable, model, schema } = prepared;
  if (!reportLayer) return {};
  const t0 = performance.now();
  at.step = "rendering the report";
  // The training rows the figures are drawn from: all of them, or the sample (PSIS-LOO's too).
  const shown = trainSample.table;
  const trainRows = tableRows(shown, featureNames);
  const trainInstances = Array.from({ length: shown.rows }, (_, r) => trainRows.at(r)!);
  // Each replicate one dataset drawn from one posterior draw, as the posterior predictive check compares them.
  const reps = predictor.replicate(trainInstances, 50, options.seed + 2);
  const replicated = Array.from({ length: 50 }, (_, k) => Float64Array.from(reps, (r) => r[k]));
  const xName = schema.features.find((f) => f.type === "float")?.name ?? featureNames[0];
  const { renderReport } = await reportLayer;
  const reportSample = (r: RowSampleRecord) => (r.sampled ? { rows: r.rows, of: r.of, seed: r.seed } : undefined);
  const rendered = await renderReport({
    title: `${model.name} ${version}`,
    ...(samples !== undefined ? { samples: { train: reportSample(trainSample.record), test: reportSample(testSample.record) } } : {}),
    data: {
      x: shown.columns[xName] ?? new Float64Array(shown.rows),
      category: strata ? Int32Array.from(shown.columns[strata.name]) : null,
      y: shown.columns[schema.target],
      xName,
      yName: schema.target,
      ...(strata ? { categoryName: strata.name } : {}),
    },
    parameters: gateRows.map((r) => ({ name: r.name, chains: chainsOf(posterior, r.name) })),
    kind: evaluation.kind,
    predictions: {
      actual: testSample.table.columns[schema.target],
      mean: evaluation.mean,
      lower: evaluation.lower,
      upper: evaluation.upper,
      hdiProb: PLOT_HDI_PROBABILITY,
    },
    calibration: evaluation.calibration,
    ppc: { observed: shown.columns[schema.target], replicated },
    ...(scores.loo !== null
      ? {
          loo: {
            ...scores.loo,
            // Each k̂'s row of the data: the training rows are the split's, the LOO rows those or a sample of them.
            dataRows: Int32Array.from(scores.loo.paretoK, (_, i) => prepared.split.train[trainSample.indices === null ? i : trainSample.indices[i]]),
          },
        }
      : {}),
    summaryTable: summary.map(summaryRecord),
    gate,
    metrics: evaluation.metrics,
    meta: {
      version,
      model: model.name,
      created: new Date().toISOString(),
      data: table.source,
      "data sha256": sha256.slice(0, 16),
      rows: table.rows,
      "train rows": trainTable.rows,
      "test rows": testTable.rows,
      ...(trainSample.record.sampled ? { "training rows shown": describeSample(trainSample.record, "training rows") } : {}),
      ...(testSample.record.sampled ? { "held-out rows scored": describeSample(testSample.record, "held-out rows") } : {}),
      chains: options.chains,
      draws: options.draws,
      tune,
      seed: options.seed,
      adaptation: adaptationOf(posterior, warm),
      "target acceptance": posterior.settings.targetAccept,
      "divergent transitions": divergences,
      ...samplerChecks(posterior),
      ...(divergentFits !== undefined
        ? {
            "fits set aside": divergentFits
              .map((f) => `at ${f.targetAccept}: ${f.divergences} divergent transition(s), ${f.samplingSeconds.toFixed(2)} s`)
              .join("; "),
          }
        : {}),
      ...(failedRefit !== undefined ? { "refit that failed": `at ${failedRefit.targetAccept}: ${failedRefit.error}` } : {}),
      "sampling seconds": Number(timings.sampling.toFixed(2)),
    },
  });
  timings.report = (performance.now() - t0) / 1000;
  return Object.fromEntries(Object.entries(rendered.files).map(([k, v]) => [`report/${k}`, v]));
}

/** The version stored with its manifest, draws, statistics and report; `latest` only when the gate passed. */
async function publishVersion(
  prepared: PreparedTraining,
  { posterior, warm, tune, divergentFits, failedRefit }: FittedPosterior,
  { summary, divergences }: Diagnosed,
  { evaluation, samples }: Evaluated,
  gate: GateVerdict,
  version: string,
  reportFiles: Record<string, Uint8Array | string>,
  at: TrainStep,
): Promise<TrainResult> {
  const { options, started, timings, store, table, sha256, provenance, trainTable, testTable, scalars, model, schema, standardization } = prepared;
  const t0 = performance.now();
  at.step = `publishing the version to ${options.store}`;
  const bundle = buildBundle({
    manifest: {
      version,
      model: model.json,
      features: schema.features,
      target: { name: schema.target },
      sampler: {
        draws: options.draws,
        tune,
        chains: options.chains,
        threadsPerChain: posterior.threadsPerChain,
        seed: options.seed,
        maxTreeDepth: posterior.settings.maxTreeDepth,
        targetAccept: posterior.settings.targetAccept,
        stepSizes: posterior.stepSizes,
        algorithm: "NUTS (multinomial, generalised U-turn, diagonal metric)",
        adaptation: adaptationOf(posterior, warm),
        warmStart: warm?.record ?? null,
        ...(divergentFits !== undefined ? { divergentFits } : {}),
        ...(failedRefit !== undefined ? { failedRefit } : {}),
        ...adaptationRecord(posterior),
      },
      seed: options.seed,
      data: {
        sha256,
        ...(provenance !== undefined ? provenance : {}),
        rows: table.rows,
        trainRows: trainTable.rows,
        testRows: testTable.rows,
        ...(Object.keys(scalars).length > 0 ? { scalars } : {}),
        ...(Object.keys(standardization).length > 0 ? { standardization } : {}),
        ...(samples !== undefined ? { samples } : {}),
      },
      parameters: { names: posterior.names, shapes: posterior.shapes },
      draws: { chains: posterior.chains, drawsPerChain: posterior.draws },
      sampleStats: { names: [...posterior.statNames] },
      diagnostics: { summary: summary.map(summaryRecord), divergences, samplingSeconds: timings.sampling },
      metrics: evaluation.metrics,
      gate,
    },
    draws: posterior.values,
    sampleStats: posterior.stats,
    extraFiles: reportFiles,
  });
  // Always stored, so that it can be inspected, compared or promoted by hand; `latest` only when the gate passed.
  const published = await store.publish(bundle, { promote: gate.passed });
  timings.publish = (performance.now() - t0) / 1000;
  return {
    version: published,
    store: store.uri,
    published: true,
    promoted: gate.passed,
    summary,
    metrics: evaluation.metrics,
    gate,
    divergences,
    divergentFits: divergentFits ?? [],
    seconds: (performance.now() - started) / 1000,
    posterior,
    timings,
  };
}

/** The posterior collapsed to one draw, its mean: the point of subsampled LOO's approximation. */
function posteriorMean(posterior: Posterior): { names: string[]; chains: number; draws: number; values: Float64Array; shuffled: true } {
  const width = posterior.names.length;
  const n = posterior.values.length / width;
  const values = new Float64Array(width);
  for (let d = 0; d < n; d++) for (let k = 0; k < width; k++) values[k] += posterior.values[d * width + k];
  for (let k = 0; k < width; k++) values[k] /= n;
  return { names: posterior.names, chains: 1, draws: 1, values, shuffled: true };
}

/**
 * The manifest's record of the steps run on a sample of the rows (data.samples), or undefined when every step saw
 * every row (then the manifest is as it was before sampling existed).
 */
function samplesRecord(train: RowSampleRecord, test: RowSampleRecord, looSubsampled: boolean): RowSamplesInfo | undefined {
  if (!train.sampled && !test.sampled) return undefined;
  const entry = (r: RowSampleRecord, used: string[]) => ({ rows: r.rows, of: r.of, seed: r.seed, stream: r.stream, used });
  return {
    method: "simple random sample without replacement (Knuth's Algorithm S), seeded",
    ...(train.sampled
      ? {
          train: entry(train, [
            "report: data, posterior predictive check" + (looSubsampled ? " and Pareto k figures" : " figures"),
            ...(looSubsampled
              ? [
                  "elpd_loo: PSIS-LOO on the sample, scaled to all training rows by Magnusson et al. (2019)'s difference estimator with log p(y_i | posterior mean) of every row as the approximation; p_loo by the simple random sampling estimator",
                ]
              : []),
          ]),
        }
      : {}),
    ...(test.sampled
      ? {
          test: entry(test, [
            "held-out metrics from predictive samples (all but elpd_holdout, which is over every held-out row)",
            "report: predicted-vs-actual figure",
          ]),
        }
      : {}),
  };
}

export function summaryRecord(r: SummaryRow): Record<string, string | number | null> {
  // A diagnostic posterior cannot compute (R posterior's NA: constant draws, too few of them) is null, as JSON holds it.
  const value = (x: number): number | null => (Number.isFinite(x) ? x : null);
  return {
    parameter: r.name,
    mean: value(r.mean),
    sd: value(r.sd),
    "hdi_3%": value(r.hdiLow),
    "hdi_97%": value(r.hdiHigh),
    mcse_mean: value(r.mcseMean),
    mcse_sd: value(r.mcseSd),
    ess_bulk: value(r.essBulk),
    ess_tail: value(r.essTail),
    r_hat: value(r.rHat),
  };
}

/** Warm-up iterations of a cold start unless --tune says otherwise (Stan's default). */
export const DEFAULT_TUNE = DEFAULT_SAMPLER_SETTINGS.tune;

export { SEED_SIMULATION };
