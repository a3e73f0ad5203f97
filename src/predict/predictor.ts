// Posterior-predictive sampling for new instances: for each sample, a posterior draw, then the likelihood's noise.
// The draws a request uses are n consecutive rows of the posterior's draws put in a random order once, at load
// (`shuffledDrawTable`), from a random starting row: each is a draw chosen at random across all chains, and a
// request's draws are distinct (n ≤ the number of draws), as ArviZ's `extract(num_samples=n)` picks them. Reading
// neighbouring rows rather than scattered ones is the point: on a busy server the scattered reads were cache and
// TLB misses costing more than the rest of the sampling (bench/README.md, "Measurements behind the code").
// For likelihoods whose arguments are elementwise in the features (the usual regression), the whole sampling loop is
// generated per model — features read once by name, the arguments computed from the row, checked against the
// family's domain, the family's draw inlined — so a sample costs a few nanoseconds and a request allocates only its
// output. The same arguments give the expected value E[y | x, θ] of every posterior draw (`means`): what brms calls
// posterior_epred.
// An input at which an argument leaves its family's domain (a negative scale, a NaN rate from log(−2)) is an
// InstanceError naming the features that argument reads: never a draw from an undefined distribution, never a hang.
import { BayesServeError } from "../errors.js";
import { bindModel, describeNode, nodeInputs, type DataInput } from "../model/bind.js";
import { evaluateNodes } from "../model/evaluate.js";
import { familyOf, type Family } from "../model/families.js";
import type { ModelJSON, NodeJSON } from "../model/graph.js";
import { Rng } from "../random/rng.js";
import { SPECIAL } from "../model/special.js";
import { scalarLogpFunction } from "../model/scalar-logp.js";
import { unaryCode } from "../model/ops.js";
import { boundsProblem } from "../model/value-bounds.js";
import { featureBounds, type FeatureSpec, predictionSchema, type PredictionSchema } from "./features.js";
import { InstanceError } from "./instance-error.js";

/** Posterior draws as stored in an artefact: [chain][draw][name]. */
export interface DrawTable {
  names: string[];
  chains: number;
  draws: number;
  values: Float64Array;
  /** Rows already in the serving order (made by shuffledDrawTable), so the Predictor uses them as they are. */
  shuffled?: boolean;
}

/** The stream of a mean's new-level elements: fixed, so that /mean stays deterministic. */
const NEW_LEVEL_SEED = 0x9e3779b1;

/** The seed of the serving order: fixed, so a seeded answer is the same in every process serving the same draws. */
export const DRAW_ORDER_SEED = 0x5eed0dde;

/**
 * The table's rows in a random order (Fisher–Yates, seeded by DRAW_ORDER_SEED), written into `into` when given (the
 * server's shared buffer) or a new array. The Predictor serves from such a table; it makes one itself when given
 * draws in their stored order.
 */
export function shuffledDrawTable(table: DrawTable, into?: Float64Array): DrawTable {
  const width = table.names.length;
  const total = table.chains * table.draws;
  if (table.values.length !== total * width) {
    throw new BayesServeError("ARTIFACT", `the draw table holds ${table.values.length} values, not chains × draws × names = ${total * width}`);
  }
  const values = into ?? new Float64Array(total * width);
  if (values.length !== total * width) throw new RangeError(`shuffledDrawTable: the target holds ${values.length} values, not ${total * width}`);
  const order = new Int32Array(total);
  for (let i = 0; i < total; i++) order[i] = i;
  const rng = new Rng(DRAW_ORDER_SEED, 0);
  for (let i = total - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  for (let i = 0; i < total; i++) values.set(table.values.subarray(order[i] * width, (order[i] + 1) * width), i * width);
  return { names: table.names, chains: table.chains, draws: table.draws, values, shuffled: true };
}

export type Instance = Record<string, number>;

/** Each standardised design matrix's column means and sds over the training rows (`m.data(X, { standardize })`). */
export type Standardization = Record<string, { means: number[]; sds: number[] }>;

export interface PredictorOptions {
  /** Scalar data the model needs besides the features (sizes etc.), as at training time. */
  fixedData?: Record<string, number>;
  /** The observation served, by its name or its data's (see targetObservation); default the model's only one. */
  target?: string;
  /** How each standardised design matrix was centred and scaled in training: applied to the request's columns. */
  standardization?: Standardization;
}

/** Largest |value| accepted for a float feature: beyond it the answer would be meaningless (or overflow). */
export const MAX_ABS_FEATURE = 1e12;

/**
 * The generated sampling loop for one instance: writes `n` predictive draws to out[start..start+n). X holds the
 * instance's feature values in schema order; A is scratch for the likelihood's arguments.
 */
type SampleLoop = (
  V: Float64Array,
  total: number,
  width: number,
  rng: Rng,
  X: Float64Array,
  A: Float64Array,
  n: number,
  out: Float64Array,
  start: number,
) => void;
/** The generated mean loop for one instance: E[y | x, θ] for every row of the table, into out[0..total). */
type MeanLoop = (V: Float64Array, total: number, width: number, X: Float64Array, A: Float64Array, out: Float64Array, rng: Rng) => void;
/** log p(y | x, θ) for the first n rows of the table, into out[0..n). */
type LogLikLoop = (V: Float64Array, width: number, X: Float64Array, A: Float64Array, y: number, n: number, out: Float64Array, rng: Rng) => void;
/** Copies an instance's features into F, in schema order; returns the index of the first that is not a number, or −1. */
type FeatureReader = (instance: Instance, F: Float64Array) => number;

export class Predictor {
  readonly schema: PredictionSchema;
  /** The likelihood's family: what the answers mean (discrete families give integers). */
  readonly family: Family;
  private readonly argIds: number[];
  /** Per likelihood argument: the features its value reads, in schema order. */
  private readonly argFeatures: string[][];
  private readonly loop: SampleLoop | null;
  private readonly meanLoop: MeanLoop | null;
  private readonly logLikLoop: LogLikLoop | null;
  private readonly readFeatures: FeatureReader;
  private readonly featureBuffer: Float64Array;
  private readonly argBuffer: Float64Array;
  private readonly total: number;
  private readonly width: number;
  private readonly fallbackRng = new Rng(Date.now() >>> 0, 7);
  private readonly table: DrawTable;

  private readonly fixedData: Record<string, number>;
  private readonly standardization: Standardization;

  constructor(
    private readonly model: ModelJSON,
    /** The posterior's draws; shuffled here (a copy) unless already `shuffled`. */
    table: DrawTable,
    options: PredictorOptions = {},
  ) {
    this.fixedData = options.fixedData ?? {};
    this.standardization = options.standardization ?? {};
    const fixedData = this.fixedData;
    this.table = table.shuffled === true ? table : shuffledDrawTable(table);
    this.schema = predictionSchema(model, fixedData, options.target);
    checkStandardization(model, this.schema, this.standardization);
    const obs = model.observes.find((o) => o.name === this.schema.observation)!;
    this.family = familyOf(obs.dist.family);
    this.argIds = obs.dist.args;
    this.total = this.table.chains * this.table.draws;
    this.width = this.table.names.length;
    if (this.total === 0) throw new BayesServeError("ARTIFACT", "the posterior has no draws");
    this.argBuffer = new Float64Array(obs.dist.args.length);
    this.featureBuffer = new Float64Array(this.schema.features.length);
    this.readFeatures = compileFeatureReader(this.schema.features);
    const featureNames = this.schema.features.map((f) => f.name);
    this.argFeatures = obs.dist.args.map((a) => featuresRead(model, a, featureNames));
    const argCode = compileArgumentCode(model, obs.dist.args, this.table.names, this.schema.features, fixedData, this.standardization);
    // The generated loops' way out: the instance's features are in featureBuffer, the failing draw at row off / width.
    const invalid = (A: Float64Array, off: number): never => {
      throw this.argumentError(A, 0, this.nodeValuesAt(Float64Array.from(this.featureBuffer), off / this.width), 0);
    };
    this.loop = argCode === null ? null : compileSampleLoop(argCode, this.family, invalid);
    this.meanLoop = argCode === null ? null : compileMeanLoop(argCode, this.family, invalid);
    this.logLikLoop = argCode === null ? null : compileLogLikLoop(argCode, this.family, invalid);
    // New levels are drawn by the generated loops only; the general path keeps every category to its levels.
    if (argCode === null) for (const f of this.schema.features) delete f.newLevels;
  }

  /** The categories whose unseen levels can be answered (see FeatureSpec.newLevels). */
  get newLevelFeatures(): string[] {
    return this.schema.features.filter((f) => f.newLevels === true).map((f) => f.name);
  }

  get features(): FeatureSpec[] {
    return this.schema.features;
  }

  /** True when the family has a mean (every family but the Cauchy's). */
  get hasMean(): boolean {
    return this.family.mean(this.family.argNames) !== null;
  }

  /** Posterior draws: E[y | x, θ] is computed for each of them. */
  get drawCount(): number {
    return this.total;
  }

  /**
   * Checks one instance; returns [field, message] for the first problem, or null. With `allowNewLevels`, a category
   * that can draw new levels may take any non-negative integer.
   */
  checkInstance(instance: Instance, allowNewLevels = false): [string, string] | null {
    const missing = this.readFeatures(instance, this.featureBuffer);
    if (missing >= 0) {
      const f = this.schema.features[missing];
      return [f.name, instance[f.name] === undefined ? "field required" : "must be a finite number"];
    }
    return this.checkValues(this.featureBuffer, allowNewLevels);
  }

  /** Range checks on feature values already read (in schema order). */
  private checkValues(F: Float64Array, allowNewLevels: boolean): [string, string] | null {
    const features = this.schema.features;
    for (let k = 0; k < features.length; k++) {
      const f = features[k];
      const v = F[k];
      if (!Number.isFinite(v)) return [f.name, "must be a finite number"];
      if (f.type === "float" && Math.abs(v) > MAX_ABS_FEATURE) return [f.name, `must be within ±${MAX_ABS_FEATURE}`];
      if (f.type !== "float" && !Number.isInteger(v)) return [f.name, "must be an integer"];
      const newLevel = allowNewLevels && f.newLevels === true;
      if (f.type === "category" && (v < 0 || (v >= (f.levels ?? 0) && !newLevel))) return [f.name, `must be one of the categories 0..${(f.levels ?? 0) - 1}`];
      if (f.minimum !== undefined || f.maximum !== undefined) {
        const problem = boundsProblem(featureBounds(f), v);
        if (problem !== null) return [f.name, problem];
      }
    }
    return null;
  }

  /** Throws an InstanceError for the first problem of the instance (features left in featureBuffer). */
  private assertValid(instance: Instance, index: number, allowNewLevels = false): void {
    const problem = this.checkInstance(instance, allowNewLevels);
    if (problem) throw new InstanceError(index, [problem[0]], "invalid_value", problem[1]);
  }

  /**
   * The likelihood argument A breaks its family's domain at this input: which, and the features to blame — those read
   * by the sub-expression where a NaN or infinity first appears (log(exposure) of a negative exposure), given the nodes'
   * values at the failing draw (`vals`, row `r` of the instances they were computed for); else all the argument reads.
   */
  private argumentError(A: Float64Array | number[], index: number, vals: Float64Array[], r: number): InstanceError {
    const condition = this.family.argumentProblem(A);
    if (condition === null) return new InstanceError(index, [], "likelihood_argument", "the likelihood is not defined at this input");
    const k = condition.arg;
    const origin = nonFiniteOrigin(this.model, this.argIds[k], vals, r);
    const names = this.schema.features.map((f) => f.name);
    const culprits = origin === null ? [] : featuresRead(this.model, origin, names);
    const fields = culprits.length > 0 ? culprits : this.argFeatures[k];
    const name = this.family.argNames[k];
    const what = describeNode(this.model, this.argIds[k]);
    const reason = `at this input the likelihood's argument ${name} = ${what} is ${A[k]} for a posterior draw, but must be ${condition.requirement} for a ${this.family.name} distribution`;
    return new InstanceError(index, fields, "likelihood_argument", reason);
  }

  /**
   * nSamples posterior-predictive draws for each instance, one stream across them. A seed makes the answer
   * reproducible; an Rng continues its stream (so that rows taken in chunks draw what they would in one call). With
   * `allowNewLevels`, an unseen level of a category that allows it draws its elements from their priors (independently
   * for each instance and draw).
   */
  sample(instances: Instance[], nSamples: number, seed?: number | Rng, allowNewLevels = false): Float64Array[] {
    instances.forEach((inst, i) => this.assertValid(inst, i, allowNewLevels));
    const rng = seed === undefined ? this.fallbackRng : typeof seed === "number" ? new Rng(seed, 0) : seed;
    const out = instances.map(() => new Float64Array(nSamples));
    if (this.loop === null) {
      const columns = this.schema.features.map((f) => Float64Array.from(instances, (inst) => inst[f.name]));
      return this.sampleByInterpreter(columns, instances.length, nSamples, rng, out);
    }
    for (let r = 0; r < instances.length; r++) {
      this.readFeatures(instances[r], this.featureBuffer);
      try {
        this.loop(this.table.values, this.total, this.width, rng, this.featureBuffer, this.argBuffer, nSamples, out[r], 0);
      } catch (err) {
        throw err instanceof InstanceError ? err.at(r) : err;
      }
    }
    return out;
  }

  /**
   * nSamples draws for one instance, its own stream (the same answer alone or in a batch when seeded): the serving
   * path. Equal to sample([instance], nSamples, seed)[0]. Writes into `out` when given (its length must be nSamples).
   */
  sampleOne(instance: Instance, nSamples: number, seed?: number, out?: Float64Array, allowNewLevels = false): Float64Array {
    if (this.loop === null) return this.sample([instance], nSamples, seed, allowNewLevels)[0];
    // assertValid leaves the instance's feature values in featureBuffer, which the loop reads.
    this.assertValid(instance, 0, allowNewLevels);
    const rng = seed === undefined ? this.fallbackRng : new Rng(seed, 0);
    const samples = out !== undefined && out.length === nSamples ? out : new Float64Array(nSamples);
    this.loop(this.table.values, this.total, this.width, rng, this.featureBuffer, this.argBuffer, nSamples, samples, 0);
    return samples;
  }

  /**
   * E[y | x, θ] for every posterior draw θ (in the table's order): the posterior of the expected value, with the
   * likelihood's noise averaged out exactly (Rao-Blackwellised) — for a logistic model P(y = 1), for a Poisson model the
   * expected count. Writes into `out` when given (length drawCount). Throws when the family has no mean.
   */
  means(instance: Instance, out?: Float64Array, allowNewLevels = false): Float64Array {
    if (!this.hasMean) throw new BayesServeError("MODEL_DEFINITION", `a ${this.family.name} likelihood has no mean`);
    const result = out !== undefined && out.length === this.total ? out : new Float64Array(this.total);
    if (this.meanLoop === null) return this.meansByInterpreter(instance, result);
    this.assertValid(instance, 0, allowNewLevels);
    // A new level's elements, one per posterior draw, from a fixed stream: the same answer on every call.
    this.meanLoop(this.table.values, this.total, this.width, this.featureBuffer, this.argBuffer, result, new Rng(NEW_LEVEL_SEED, 1));
    return result;
  }

  /**
   * log p(y | x, θ) of an observed value y at instance x, for the first `draws` posterior draws of the serving order (a
   * random subset of them: the order is a random permutation), into `out`: a column of the pointwise log-likelihood
   * that LOO and held-out scores are computed from.
   */
  logLik(instance: Instance, y: number, draws = this.total, out?: Float64Array): Float64Array {
    const n = Math.min(draws, this.total);
    const result = out !== undefined && out.length === n ? out : new Float64Array(n);
    if (this.logLikLoop === null) {
      this.assertValid(instance, 0);
      const valuesAt = this.interpreterFor(
        this.schema.features.map((f) => Float64Array.of(instance[f.name])),
        1,
      );
      const args = new Float64Array(this.argIds.length);
      const lp = scalarLogpFunction(this.family.name);
      for (let row = 0; row < n; row++) {
        const vals = valuesAt(row);
        for (let k = 0; k < args.length; k++) args[k] = valueAt(vals[this.argIds[k]], 0);
        if (this.family.argumentProblem(args) !== null) throw this.argumentError(args, 0, vals, 0);
        result[row] = lp(y, args);
      }
      return result;
    }
    this.assertValid(instance, 0);
    this.logLikLoop(this.table.values, this.width, this.featureBuffer, this.argBuffer, y, n, result, new Rng(NEW_LEVEL_SEED, 2));
    return result;
  }

  /** Every node's value up to the likelihood's arguments, for one instance (features in schema order) at one draw. */
  private nodeValuesAt(features: Float64Array, row: number): Float64Array[] {
    return this.interpreterFor(
      Array.from(features, (v) => Float64Array.of(v)),
      1,
    )(row);
  }

  /** Every node's value up to the likelihood's arguments, for rows of instances at one posterior draw (general evaluator). */
  private interpreterFor(columns: Float64Array[], rows: number): (row: number) => Float64Array[] {
    const data: DataInput = { ...this.fixedData };
    const features = this.schema.features;
    features.forEach((f, k) => {
      if (f.matrix === undefined) data[f.name] = columns[k];
    });
    // A design matrix from its columns (standardised as in training), row-major.
    for (const d of this.model.data) {
      if (d.columns === undefined || !features.some((f) => f.matrix === d.name)) continue;
      const scale = this.standardization[d.name];
      const values = new Float64Array(rows * d.columns.length);
      d.columns.forEach((c, j) => {
        const col = columns[features.findIndex((f) => f.name === c)];
        for (let r = 0; r < rows; r++) values[r * d.columns!.length + j] = scale === undefined ? col[r] : (col[r] - scale.means[j]) / scale.sds[j];
      });
      data[d.name] = { rows, cols: d.columns.length, values };
    }
    // The target, and any other data observed beside it: placeholders (their values mean nothing here).
    for (const d of this.model.data) if (d.shape === "vector" && !(d.name in data)) data[d.name] = new Float64Array(rows);
    let bound;
    try {
      bound = bindModel(this.model, data, { checkObserved: false });
    } catch (err) {
      // A value the schema could not foresee (an index into an expression's vector, say): the request's mistake.
      if (err instanceof BayesServeError && err.code === "DATA_VALUE") throw new InstanceError(0, [], "invalid_value", err.message);
      throw err;
    }
    const last = Math.max(...this.argIds);
    const params = new Float64Array(bound.dim);
    const names = bound.params.flatMap((p) => p.elementNames);
    const cols = names.map((n) => this.table.names.indexOf(n));
    return (row: number): Float64Array[] => {
      const off = row * this.width;
      for (let k = 0; k < cols.length; k++) params[k] = this.table.values[off + cols[k]];
      return evaluateNodes(bound, params, 0, last);
    };
  }

  /** The general path, for likelihoods whose arguments are not elementwise (sums, mixtures): whole-array evaluation. */
  private sampleByInterpreter(columns: Float64Array[], rows: number, nSamples: number, rng: Rng, out: Float64Array[]): Float64Array[] {
    const valuesAt = this.interpreterFor(columns, rows);
    const args = new Float64Array(this.argIds.length);
    // The same rows as the generated loop: consecutive from a random start, wrapping around.
    let row = rng.int(this.total);
    for (let s = 0; s < nSamples; s++, row = row + 1 === this.total ? 0 : row + 1) {
      const vals = valuesAt(row);
      for (let r = 0; r < rows; r++) {
        for (let k = 0; k < args.length; k++) args[k] = valueAt(vals[this.argIds[k]], r);
        if (this.family.argumentProblem(args) !== null) throw this.argumentError(args, r, vals, r);
        out[r][s] = this.family.draw(rng, args);
      }
    }
    return out;
  }

  private meansByInterpreter(instance: Instance, out: Float64Array): Float64Array {
    this.assertValid(instance, 0);
    const columns = this.schema.features.map((f) => Float64Array.of(instance[f.name]));
    const valuesAt = this.interpreterFor(columns, 1);
    const args = new Float64Array(this.argIds.length);
    const mean = scalarMean(this.family);
    for (let row = 0; row < this.total; row++) {
      const vals = valuesAt(row);
      for (let k = 0; k < args.length; k++) args[k] = valueAt(vals[this.argIds[k]], 0);
      if (this.family.argumentProblem(args) !== null) throw this.argumentError(args, 0, vals, 0);
      out[row] = mean(args);
    }
    return out;
  }
}

/** The standardisation given must cover each standardised design matrix the features read, column for column. */
function checkStandardization(model: ModelJSON, schema: PredictionSchema, standardization: Standardization): void {
  for (const d of model.data) {
    if ((d.standardize !== true && d.standardize !== "center") || d.columns === undefined || !schema.features.some((f) => f.matrix === d.name)) continue;
    const s = standardization[d.name];
    const k = d.columns.length;
    if (s === undefined || s.means.length !== k || s.sds.length !== k || !s.means.every(Number.isFinite) || !s.sds.every((v) => v > 0 && v < Infinity))
      throw new BayesServeError("ARTIFACT", `the design matrix "${d.name}" is standardised, but its ${k} column means and sds are not all recorded`);
  }
}

/** A node's value for row r (a scalar node has one value for every row). */
const valueAt = (v: Float64Array, r: number): number => (v.length === 1 ? v[0] : v[r]);

/**
 * Where a non-finite value first appears below node `id` (its value at row r): the node whose value is NaN or
 * infinite while every input of it is finite — log(−2), exp(1e308). Null when `id` itself is finite.
 */
function nonFiniteOrigin(model: ModelJSON, id: number, vals: Float64Array[], r: number): number | null {
  if (Number.isFinite(valueAt(vals[id], r))) return null;
  for (const input of nodeInputs(model.nodes[id])) {
    const below = nonFiniteOrigin(model, input, vals, r);
    if (below !== null) return below;
  }
  return id;
}

/** The family's mean as a function of its arguments (for the interpreter path). */
function scalarMean(family: Family): (a: Float64Array) => number {
  const code = family.mean(family.argNames.map((_, k) => `a[${k}]`));
  return (new Function("F", `"use strict";\nreturn (a) => ${code ?? "NaN"};`) as (F: typeof SPECIAL) => (a: Float64Array) => number)(SPECIAL);
}

/** The features a node's value reads, in schema order. */
function featuresRead(model: ModelJSON, id: number, featureNames: string[]): string[] {
  const names = new Set<string>();
  const seen = new Set<number>();
  const visit = (k: number): void => {
    if (seen.has(k)) return;
    seen.add(k);
    const n = model.nodes[k];
    if (n.op === "data") names.add(n.name);
    for (const r of nodeInputs(n)) visit(r);
  };
  visit(id);
  return featureNames.filter((f) => names.has(f));
}

/**
 * A reader of an instance's features by their names, in schema order: property loads with constant names, so the
 * engine's inline caches see one object shape (JSON.parse gives every request body the same) and no lookup by key.
 */
function compileFeatureReader(features: FeatureSpec[]): FeatureReader {
  const body = features.map((f, k) => `v = instance[${JSON.stringify(f.name)}];\nif (typeof v !== "number") return ${k};\nF[${k}] = v;`).join("\n");
  return new Function(`"use strict";\nreturn function readFeatures(instance, F) {\nlet v;\n${body}\nreturn -1;\n};`)() as FeatureReader;
}

/** Samples per pass of the generated loop: its scratch stays a few kilobytes whatever n_samples a request asks for. */
const SAMPLE_CHUNK = 1024;

/**
 * The likelihood's arguments as code over the current row of the draw table (`V[off + column]`) and the instance's
 * features (`f0`, `f1`, …), or null when they use an operation that is not elementwise.
 */
/** The arguments' code, and what it needs computed first for each posterior draw: the elements of new levels. */
interface ArgumentCode {
  args: string[];
  /** Statements computed once per draw before the arguments (`const nl0 = …;`). */
  prelude: string[];
  /** The draws of new elements the prelude calls, as NL[i](rng, V, off). */
  newElements: ((rng: Rng, V: Float64Array, off: number) => number)[];
}

/**
 * A draw of a new element of parameter vector `param` from its prior, given the prior's arguments (constants or
 * scalar parameters) at the draw in row `off`.
 */
function newElementDraw(model: ModelJSON, param: string, col: Map<string, number>): (rng: Rng, V: Float64Array, off: number) => number {
  const decl = model.params.find((p) => p.name === param)!;
  const family = familyOf(decl.prior.family);
  const sources = decl.prior.args.map((a) => {
    const n = model.nodes[a];
    return n.op === "const" ? { value: n.value, column: -1 } : { value: 0, column: col.get((n as { name: string }).name) ?? -1 };
  });
  const B = new Float64Array(sources.length);
  return (rng, V, off) => {
    for (let k = 0; k < sources.length; k++) B[k] = sources[k].column < 0 ? sources[k].value : V[off + sources[k].column];
    return family.random(rng, B);
  };
}

function compileArgumentCode(
  model: ModelJSON,
  argIds: number[],
  names: string[],
  features: FeatureSpec[],
  fixedData: Record<string, number>,
  standardization: Standardization,
): ArgumentCode | null {
  const col = new Map(names.map((n, k) => [n, k]));
  const prelude: string[] = [];
  const newElements: ArgumentCode["newElements"] = [];
  /** One local per (vector, category) read through new levels, so that all its uses in a draw see one element. */
  const newLevelReads = new Map<string, string>();
  const featureIndex = new Map(features.map((f, k) => [f.name, k]));
  const paramNames = new Set(model.params.map((p) => p.name));
  const unsupported = Symbol("unsupported");
  /** The value in column `column` (an offset within a row, maybe depending on a feature) of the current row. */
  const read = (column: string): string => `V[off + ${column}]`;
  const expr = (id: number): string => {
    const n: NodeJSON = model.nodes[id];
    switch (n.op) {
      case "const":
        return `(${n.value})`;
      case "data": {
        if (featureIndex.has(n.name)) return `f${featureIndex.get(n.name)}`;
        if (n.name in fixedData) return `(${fixedData[n.name]})`;
        throw unsupported;
      }
      case "param": {
        const decl = model.params.find((p) => p.name === n.name)!;
        if (decl.shape.length !== 0) throw unsupported; // a whole vector here means a non-elementwise use
        return read(`${col.get(n.name)}`);
      }
      case "unary":
        return `(${unaryCode(n.fn, expr(n.a), "NaN")[0]})`;
      case "binary": {
        const a = expr(n.a);
        const b = expr(n.b);
        const op = { add: "+", sub: "-", mul: "*", div: "/" } as const;
        return n.fn === "pow" ? `Math.pow(${a}, ${b})` : `(${a} ${op[n.fn]} ${b})`;
      }
      case "index": {
        const a = model.nodes[n.a];
        const idx = model.nodes[n.index];
        if (a.op !== "param" || idx.op !== "data" || !featureIndex.has(idx.name) || !paramNames.has(a.name)) throw unsupported;
        const first = col.get(`${a.name}[0]`);
        if (first === undefined) throw unsupported;
        // The index is checked to lie in 0..length-1 before the loop runs (the feature's range, from predictionSchema),
        // but for a category allowed new levels: a level past the last draws its element from the prior.
        const k = featureIndex.get(idx.name)!;
        const spec = features[k];
        if (spec.type !== "category" && spec.maximum === undefined) throw unsupported;
        if (spec.newLevels !== true) return read(`${first} + f${k}`);
        const key = `${a.name}|${idx.name}`;
        let local = newLevelReads.get(key);
        if (local === undefined) {
          local = `nl${newLevelReads.size}`;
          newLevelReads.set(key, local);
          prelude.push(`const ${local} = f${k} < ${spec.levels} ? ${read(`${first} + f${k}`)} : NL[${newElements.length}](rng, V, off);`);
          newElements.push(newElementDraw(model, a.name, col));
        }
        return local;
      }
      case "element": {
        const a = model.nodes[n.a];
        if (a.op !== "param") throw unsupported;
        const c = col.get(`${a.name}[${n.k}]`);
        if (c === undefined) throw unsupported;
        return read(`${c}`);
      }
      case "matvec": {
        // A design matrix (the request's columns) times a parameter vector: the dot product, written out.
        const m = model.nodes[n.m];
        const v = model.nodes[n.v];
        const decl = m.op === "data" ? model.data.find((d) => d.name === m.name) : undefined;
        if (decl?.columns === undefined || v.op !== "param") throw unsupported;
        const scale = standardization[decl.name];
        const terms = decl.columns.map((c, j) => {
          const k = featureIndex.get(c);
          const w = col.get(`${v.name}[${j}]`);
          if (k === undefined || w === undefined) throw unsupported;
          const x = scale === undefined ? `f${k}` : `((f${k} - (${scale.means[j]})) * (${1 / scale.sds[j]}))`;
          return `${x} * ${read(`${w}`)}`;
        });
        return `(${terms.join(" + ")})`;
      }
      default:
        throw unsupported;
    }
  };
  try {
    const args = argIds.map((a) => expr(a));
    return { args, prelude, newElements };
  } catch (err) {
    if (err === unsupported) return null;
    throw err;
  }
}

/**
 * The arguments of the current row as locals a0, a1, …, and the check of the family's domain: when it fails, the
 * arguments go to A and `invalid` throws (naming what failed).
 */
function argumentsAndCheck(code: ArgumentCode, family: Family): string {
  const argCode = code.args;
  const locals = [...code.prelude, ...argCode.map((c, k) => `const a${k} = ${c};`)].join("\n");
  const names = argCode.map((_, k) => `a${k}`);
  const conditions = family
    .domain(names)
    .map((c) => `(${c.code})`)
    .join(" && ");
  const toScratch = names.map((a, k) => `A[${k}] = ${a};`).join(" ");
  return `${locals}\nif (!(${conditions})) { ${toScratch} invalid(A, off); }`;
}

/**
 * The sampling loop over arguments' code. It reads the rows of a shuffled table one after another from a random
 * start (see the file's head): neighbouring rows, not scattered ones, which on a busy server were cache misses.
 */
function compileSampleLoop(code: ArgumentCode, family: Family, invalid: (A: Float64Array, off: number) => never): SampleLoop {
  const names = code.args.map((_, k) => `a${k}`);
  // A family drawn from one standard normal gets its normals in one pass (Rng.fillNormal) and the transform inline;
  // others call the family's draw with the arguments in A.
  const sample = family.fromStandardNormal
    ? `out[at + s] = ${family.fromStandardNormal(names, "Z[s]")};`
    : `${names.map((a, k) => `A[${k}] = ${a};`).join("\n")}\nout[at + s] = draw(rng, A);`;
  const source = `"use strict";
const Z = new Float64Array(${family.fromStandardNormal ? SAMPLE_CHUNK : 0});
return function sampleLoop(V, total, width, rng, X, A, n, out, start) {
${featureLocals(code)}
let row = rng.int(total);
for (let done = 0; done < n; done += ${SAMPLE_CHUNK}) {
const m = Math.min(${SAMPLE_CHUNK}, n - done);
const at = start + done;
${family.fromStandardNormal ? "rng.fillNormal(Z, m);" : ""}
let off = row * width;
for (let s = 0; s < m; s++) {
${argumentsAndCheck(code, family)}
${sample}
if (++row === total) {
row = 0;
off = 0;
} else off += width;
}
}
};`;
  return new Function("F", "draw", "invalid", "NL", source)(SPECIAL, family.draw, invalid, code.newElements) as SampleLoop;
}

/** E[y | x, θ] for every row of the table, in order (a new level's element drawn once per row, from `rng`). */
function compileMeanLoop(code: ArgumentCode, family: Family, invalid: (A: Float64Array, off: number) => never): MeanLoop {
  const mean = family.mean(code.args.map((_, k) => `a${k}`)) ?? "NaN";
  const source = `"use strict";
return function meanLoop(V, total, width, X, A, out, rng) {
${featureLocals(code)}
let off = 0;
for (let r = 0; r < total; r++, off += width) {
${argumentsAndCheck(code, family)}
out[r] = ${mean};
}
};`;
  return new Function("F", "invalid", "NL", source)(SPECIAL, invalid, code.newElements) as MeanLoop;
}

/** log p(y | args) for each of the first n rows of the table. */
function compileLogLikLoop(code: ArgumentCode, family: Family, invalid: (A: Float64Array, off: number) => never): LogLikLoop {
  const toScratch = code.args.map((_, k) => `A[${k}] = a${k};`).join(" ");
  const source = `"use strict";
return function logLikLoop(V, width, X, A, y, n, out, rng) {
${featureLocals(code)}
let off = 0;
for (let r = 0; r < n; r++, off += width) {
${argumentsAndCheck(code, family)}
${toScratch}
out[r] = LP(y, A);
}
};`;
  return new Function("F", "invalid", "NL", "LP", source)(SPECIAL, invalid, code.newElements, scalarLogpFunction(family.name)) as LogLikLoop;
}

/** `const f0 = X[0]; …` for the features the arguments' code reads (X, not F: F is the special functions). */
function featureLocals(code: ArgumentCode): string {
  const used = new Set<number>();
  for (const c of [...code.args, ...code.prelude]) for (const m of c.matchAll(/\bf(\d+)\b/g)) used.add(Number(m[1]));
  return [...used]
    .sort((a, b) => a - b)
    .map((k) => `const f${k} = X[${k}];`)
    .join("\n");
}
