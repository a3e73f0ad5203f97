// Posterior-predictive sampling for new instances: for each sample, a posterior draw, then the likelihood's noise.
// The draws a request uses are n consecutive rows of the posterior's draws put in a random order once, at load
// (`shuffledDrawTable`), from a random starting row: each is a draw chosen at random across all chains, and a
// request's draws are distinct (n ≤ the number of draws), as ArviZ's `extract(num_samples=n)` picks them. Reading
// neighbouring rows rather than scattered ones is the point: on a busy server the scattered reads were cache and
// TLB misses costing more than the rest of the sampling (measured below).
// For likelihoods whose arguments are elementwise in the features (the usual regression), the whole sampling loop is
// generated per model — features read once by name, the arguments computed from the row, the family's draw
// inlined — so a sample costs a few nanoseconds and a request allocates only its output.
import { BayesServeError } from "../errors.js";
import { bindModel, type DataInput } from "../model/bind.js";
import { evaluateNodes } from "../model/evaluate.js";
import { familyOf, type Family } from "../model/families.js";
import type { ModelJSON, NodeJSON } from "../model/graph.js";
import { Rng } from "../model/random.js";
import { SPECIAL } from "../model/special.js";
import { unaryCode } from "../model/ops.js";
import { type FeatureSpec, predictionSchema, type PredictionSchema } from "./features.js";

/** Posterior draws as stored in an artefact: [chain][draw][name]. */
export interface DrawTable {
  names: string[];
  chains: number;
  draws: number;
  values: Float64Array;
  /** Rows already in the serving order (made by shuffledDrawTable), so the Predictor uses them as they are. */
  shuffled?: boolean;
}

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

/** Largest |value| accepted for a float feature: beyond it the answer would be meaningless (or overflow). */
export const MAX_ABS_FEATURE = 1e12;

/**
 * The generated sampling loop for one instance: writes `n` predictive draws to out[start..start+n). X holds the
 * instance's feature values in schema order; A is scratch for the likelihood's arguments.
 */
type SampleLoop = (V: Float64Array, total: number, width: number, rng: Rng, X: Float64Array, A: Float64Array, n: number, out: Float64Array, start: number) => void;
/** Copies an instance's features into F, in schema order; returns the index of the first that is not a number, or −1. */
type FeatureReader = (instance: Instance, F: Float64Array) => number;

export class Predictor {
  readonly schema: PredictionSchema;
  private readonly family: Family;
  private readonly loop: SampleLoop | null;
  private readonly readFeatures: FeatureReader;
  private readonly featureBuffer: Float64Array;
  private readonly argBuffer: Float64Array;
  private readonly total: number;
  private readonly width: number;
  private readonly fallbackRng = new Rng(Date.now() >>> 0, 7);
  private readonly table: DrawTable;

  constructor(
    private readonly model: ModelJSON,
    /** The posterior's draws; shuffled here (a copy) unless already `shuffled`. */
    table: DrawTable,
    /** Scalar data the model needs besides the features (sizes etc.), as at training time. */
    private readonly fixedData: Record<string, number> = {},
  ) {
    this.table = table.shuffled === true ? table : shuffledDrawTable(table);
    this.schema = predictionSchema(model);
    const obs = model.observes.find((o) => o.name === this.schema.observation)!;
    this.family = familyOf(obs.dist.family);
    this.total = this.table.chains * this.table.draws;
    this.width = this.table.names.length;
    if (this.total === 0) throw new BayesServeError("ARTIFACT", "the posterior has no draws");
    this.argBuffer = new Float64Array(obs.dist.args.length);
    this.featureBuffer = new Float64Array(this.schema.features.length);
    this.readFeatures = compileFeatureReader(this.schema.features);
    this.loop = compileSampleLoop(model, obs.dist.args, this.table.names, this.schema.features, fixedData, this.family);
  }

  get features(): FeatureSpec[] {
    return this.schema.features;
  }

  /** Checks one instance; returns [field, message] for the first problem, or null. */
  checkInstance(instance: Instance): [string, string] | null {
    const missing = this.readFeatures(instance, this.featureBuffer);
    if (missing >= 0) {
      const f = this.schema.features[missing];
      return [f.name, instance[f.name] === undefined ? "field required" : "must be a finite number"];
    }
    return this.checkValues(this.featureBuffer);
  }

  /** Range checks on feature values already read (in schema order). */
  private checkValues(F: Float64Array): [string, string] | null {
    const features = this.schema.features;
    for (let k = 0; k < features.length; k++) {
      const f = features[k];
      const v = F[k];
      if (!Number.isFinite(v)) return [f.name, "must be a finite number"];
      if (f.type === "float") {
        if (Math.abs(v) > MAX_ABS_FEATURE) return [f.name, `must be within ±${MAX_ABS_FEATURE}`];
        continue;
      }
      if (!Number.isInteger(v)) return [f.name, "must be an integer"];
      if (f.type === "category" && (v < 0 || v >= (f.levels ?? 0))) return [f.name, `must be one of the categories 0..${(f.levels ?? 0) - 1}`];
    }
    return null;
  }

  /** nSamples posterior-predictive draws for each instance, one stream across them. A seed makes the answer reproducible. */
  sample(instances: Instance[], nSamples: number, seed?: number): Float64Array[] {
    for (const inst of instances) {
      const problem = this.checkInstance(inst);
      if (problem) throw new BayesServeError("DATA_VALUE", `${problem[0]}: ${problem[1]}`);
    }
    const rng = seed === undefined ? this.fallbackRng : new Rng(seed, 0);
    const out = instances.map(() => new Float64Array(nSamples));
    if (this.loop === null) {
      const columns = this.schema.features.map((f) => Float64Array.from(instances, (inst) => inst[f.name]));
      return this.sampleByInterpreter(columns, instances.length, nSamples, rng, out);
    }
    for (let r = 0; r < instances.length; r++) {
      this.readFeatures(instances[r], this.featureBuffer);
      this.loop(this.table.values, this.total, this.width, rng, this.featureBuffer, this.argBuffer, nSamples, out[r], 0);
    }
    return out;
  }

  /**
   * nSamples draws for one instance, its own stream (the same answer alone or in a batch when seeded): the serving
   * path. Equal to sample([instance], nSamples, seed)[0]. Writes into `out` when given (its length must be nSamples).
   */
  sampleOne(instance: Instance, nSamples: number, seed?: number, out?: Float64Array): Float64Array {
    if (this.loop === null) return this.sample([instance], nSamples, seed)[0];
    // checkInstance leaves the instance's feature values in featureBuffer, which the loop reads.
    const problem = this.checkInstance(instance);
    if (problem) throw new BayesServeError("DATA_VALUE", `${problem[0]}: ${problem[1]}`);
    const rng = seed === undefined ? this.fallbackRng : new Rng(seed, 0);
    const samples = out !== undefined && out.length === nSamples ? out : new Float64Array(nSamples);
    this.loop(this.table.values, this.total, this.width, rng, this.featureBuffer, this.argBuffer, nSamples, samples, 0);
    return samples;
  }

  /** The general path, for likelihoods whose arguments are not elementwise (sums, mixtures): whole-array evaluation. */
  private sampleByInterpreter(columns: Float64Array[], rows: number, nSamples: number, rng: Rng, out: Float64Array[]): Float64Array[] {
    const data: DataInput = { ...this.fixedData };
    this.schema.features.forEach((f, k) => (data[f.name] = columns[k]));
    data[this.schema.target] = new Float64Array(rows);
    const bound = bindModel(this.model, data);
    const obs = this.model.observes.find((o) => o.name === this.schema.observation)!;
    const last = Math.max(...obs.dist.args);
    const params = new Float64Array(bound.dim);
    const args = new Float64Array(obs.dist.args.length);
    const names = bound.params.flatMap((p) => p.elementNames);
    const cols = names.map((n) => this.table.names.indexOf(n));
    // The same rows as the generated loop: consecutive from a random start, wrapping around.
    let row = rng.int(this.total);
    for (let s = 0; s < nSamples; s++, row = row + 1 === this.total ? 0 : row + 1) {
      const off = row * this.width;
      for (let k = 0; k < cols.length; k++) params[k] = this.table.values[off + cols[k]];
      const vals = evaluateNodes(bound, params, 0, last);
      for (let r = 0; r < rows; r++) {
        obs.dist.args.forEach((a, k) => (args[k] = vals[a].length === 1 ? vals[a][0] : vals[a][r]));
        out[r][s] = this.family.random(rng, args);
      }
    }
    return out;
  }
}

/**
 * A reader of an instance's features by their names, in schema order: property loads with constant names, so the
 * engine's inline caches see one object shape (JSON.parse gives every request body the same) and no lookup by key.
 */
function compileFeatureReader(features: FeatureSpec[]): FeatureReader {
  const body = features
    .map((f, k) => `v = instance[${JSON.stringify(f.name)}];\nif (typeof v !== "number") return ${k};\nF[${k}] = v;`)
    .join("\n");
  return new Function(`"use strict";\nreturn function readFeatures(instance, F) {\nlet v;\n${body}\nreturn -1;\n};`)() as FeatureReader;
}

/** Samples per pass of the generated loop: its scratch stays a few kilobytes whatever n_samples a request asks for. */
const SAMPLE_CHUNK = 1024;

/**
 * The sampling loop for the likelihood's arguments, or null when they use an operation that is not elementwise.
 *
 * It reads the rows of a shuffled table one after another from a random start (see the file's head). Picking each
 * row at random instead cost, on the seed model's 320 KB table under load, ~2.3 µs of a ~45 µs /interval request
 * (measured by serving from 128 rows only: 5 % less CPU a request, A/B of two servers sharing one vCPU); in a
 * microbenchmark, with the table in cache, the picks cost nothing like it (100 samples: 1.6 µs in all).
 */
function compileSampleLoop(
  model: ModelJSON,
  argIds: number[],
  names: string[],
  features: FeatureSpec[],
  fixedData: Record<string, number>,
  family: Family,
): SampleLoop | null {
  const col = new Map(names.map((n, k) => [n, k]));
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
        // The category is checked to be an integer in 0..levels-1 before the loop runs.
        return read(`${first} + f${featureIndex.get(idx.name)}`);
      }
      case "element": {
        const a = model.nodes[n.a];
        if (a.op !== "param") throw unsupported;
        const c = col.get(`${a.name}[${n.k}]`);
        if (c === undefined) throw unsupported;
        return read(`${c}`);
      }
      default:
        throw unsupported;
    }
  };
  let argCode: string[];
  try {
    argCode = argIds.map((a) => expr(a));
  } catch (err) {
    if (err === unsupported) return null;
    throw err;
  }
  // X, not F: F is the special functions the unary operations call.
  const reads = features.map((_, k) => `const f${k} = X[${k}];`).join("\n");
  // A family drawn from one standard normal gets its normals in one pass (Rng.fillNormal) and the transform inline;
  // others call the family's draw with the arguments in A.
  const sample = family.fromStandardNormal ? `out[at + s] = ${family.fromStandardNormal(argCode, "Z[s]")};` : `${argCode.map((c, k) => `A[${k}] = ${c};`).join("\n")}\nout[at + s] = random(rng, A);`;
  const source = `"use strict";
const Z = new Float64Array(${family.fromStandardNormal ? SAMPLE_CHUNK : 0});
return function sampleLoop(V, total, width, rng, X, A, n, out, start) {
${reads}
let row = rng.int(total);
for (let done = 0; done < n; done += ${SAMPLE_CHUNK}) {
const m = Math.min(${SAMPLE_CHUNK}, n - done);
const at = start + done;
${family.fromStandardNormal ? "rng.fillNormal(Z, m);" : ""}
let off = row * width;
for (let s = 0; s < m; s++) {
${sample}
if (++row === total) {
row = 0;
off = 0;
} else off += width;
}
}
};`;
  return new Function("F", "random", source)(SPECIAL, family.random) as SampleLoop;
}
