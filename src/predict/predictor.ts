// Posterior-predictive sampling for new instances: for each sample, a posterior draw chosen at random across all
// chains, then the likelihood's noise. The likelihood's arguments are compiled into one small function of
// (draws, draw offset, instance columns, row), so a request costs a few tens of nanoseconds per sample.
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
}

export type Instance = Record<string, number>;

/** Largest |value| accepted for a float feature: beyond it the answer would be meaningless (or overflow). */
export const MAX_ABS_FEATURE = 1e12;

type ArgsFn = (V: Float64Array, off: number, D: Float64Array[], i: number, out: Float64Array) => void;

export class Predictor {
  readonly schema: PredictionSchema;
  private readonly family: Family;
  private readonly argsFn: ArgsFn | null;
  private readonly argBuffer: Float64Array;
  private readonly total: number;
  private readonly width: number;
  private readonly fallbackRng = new Rng(Date.now() >>> 0, 7);

  constructor(
    private readonly model: ModelJSON,
    private readonly table: DrawTable,
    /** Scalar data the model needs besides the features (sizes etc.), as at training time. */
    private readonly fixedData: Record<string, number> = {},
  ) {
    this.schema = predictionSchema(model);
    const obs = model.observes.find((o) => o.name === this.schema.observation)!;
    this.family = familyOf(obs.dist.family);
    this.total = table.chains * table.draws;
    this.width = table.names.length;
    if (this.total === 0) throw new BayesServeError("ARTIFACT", "the posterior has no draws");
    this.argBuffer = new Float64Array(obs.dist.args.length);
    this.argsFn = compileArgs(model, obs.dist.args, table.names, this.schema.features, fixedData);
  }

  get features(): FeatureSpec[] {
    return this.schema.features;
  }

  /** Checks one instance; returns [field, message] for the first problem, or null. */
  checkInstance(instance: Instance): [string, string] | null {
    for (const f of this.schema.features) {
      const v = instance[f.name];
      if (v === undefined) return [f.name, "field required"];
      if (typeof v !== "number" || !Number.isFinite(v)) return [f.name, "must be a finite number"];
      if (f.type === "float" && Math.abs(v) > MAX_ABS_FEATURE) return [f.name, `must be within ±${MAX_ABS_FEATURE}`];
      if (f.type !== "float" && !Number.isInteger(v)) return [f.name, "must be an integer"];
      if (f.type === "category" && (v < 0 || v >= (f.levels ?? 0))) return [f.name, `must be one of the categories 0..${(f.levels ?? 0) - 1}`];
    }
    return null;
  }

  /** nSamples posterior-predictive draws for each instance. A seed makes the answer reproducible. */
  sample(instances: Instance[], nSamples: number, seed?: number): Float64Array[] {
    for (const inst of instances) {
      const problem = this.checkInstance(inst);
      if (problem) throw new BayesServeError("DATA_VALUE", `${problem[0]}: ${problem[1]}`);
    }
    const rng = seed === undefined ? this.fallbackRng : new Rng(seed, 0);
    const columns = this.schema.features.map((f) => Float64Array.from(instances, (inst) => inst[f.name]));
    const out = instances.map(() => new Float64Array(nSamples));
    const V = this.table.values;
    if (this.argsFn) {
      const args = this.argBuffer;
      const fn = this.argsFn;
      const fam = this.family;
      for (let r = 0; r < instances.length; r++) {
        const o = out[r];
        for (let s = 0; s < nSamples; s++) {
          fn(V, rng.int(this.total) * this.width, columns, r, args);
          o[s] = fam.random(rng, args);
        }
      }
      return out;
    }
    return this.sampleByInterpreter(columns, instances.length, nSamples, rng, out);
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
    for (let s = 0; s < nSamples; s++) {
      const off = rng.int(this.total) * this.width;
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

/** Code for the likelihood's arguments at one row, or null when they use an operation that is not elementwise. */
function compileArgs(
  model: ModelJSON,
  argIds: number[],
  names: string[],
  features: FeatureSpec[],
  fixedData: Record<string, number>,
): ArgsFn | null {
  const col = new Map(names.map((n, k) => [n, k]));
  const featureIndex = new Map(features.map((f, k) => [f.name, k]));
  const paramNames = new Set(model.params.map((p) => p.name));
  const unsupported = Symbol("unsupported");
  const expr = (id: number): string => {
    const n: NodeJSON = model.nodes[id];
    switch (n.op) {
      case "const":
        return `(${n.value})`;
      case "data": {
        if (featureIndex.has(n.name)) return `D[${featureIndex.get(n.name)}][i]`;
        if (n.name in fixedData) return `(${fixedData[n.name]})`;
        throw unsupported;
      }
      case "param": {
        const decl = model.params.find((p) => p.name === n.name)!;
        if (decl.shape.length !== 0) throw unsupported; // a whole vector here means a non-elementwise use
        return `V[off + ${col.get(n.name)}]`;
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
        return `V[off + ${first} + D[${featureIndex.get(idx.name)}][i]]`;
      }
      case "element": {
        const a = model.nodes[n.a];
        if (a.op !== "param") throw unsupported;
        return `V[off + ${col.get(`${a.name}[${n.k}]`)}]`;
      }
      default:
        throw unsupported;
    }
  };
  try {
    const body = argIds.map((a, k) => `out[${k}] = ${expr(a)};`).join("\n");
    return new Function("F", `"use strict";\nreturn function (V, off, D, i, out) {\n${body}\n};`)(SPECIAL) as ArgsFn;
  } catch (err) {
    if (err === unsupported) return null;
    throw err;
  }
}
