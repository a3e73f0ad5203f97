// The general path of prediction, for likelihoods whose arguments are not elementwise in the features (a sum over a
// parameter vector, a mixture): the model's graph evaluated by the general evaluator (model/evaluate.ts) for the
// instances at one posterior draw at a time, then the family's draw, mean or log-density of the arguments. Slower than
// the generated loops (generated-loops.ts), and reading the same rows with the same checks, so that an answer means
// the same on either path.
import { BayesServeError } from "../errors.js";
import { bindModel, type DataInput } from "../model/bind.js";
import { evaluateNodes, nodesFeeding } from "../model/evaluate.js";
import type { Family } from "../model/families.js";
import type { ModelJSON } from "../model/graph.js";
import { scalarLogpFunction } from "../model/scalar-logp.js";
import { SPECIAL } from "../model/special.js";
import type { Rng } from "../random/rng.js";
import type { ArgumentBlame } from "./argument-blame.js";
import type { DrawTable } from "./draw-table.js";
import type { FeatureSpec } from "./features.js";
import type { Instance } from "./instance-check.js";
import { InstanceError } from "./instance-error.js";
import type { Standardization } from "./standardization.js";

/** A node's value for row r (a scalar node has one value for every row). */
export const valueAt = (v: Float64Array, r: number): number => (v.length === 1 ? v[0] : v[r]);

export class LikelihoodInterpreter {
  private readonly total: number;
  private readonly width: number;

  constructor(
    private readonly model: ModelJSON,
    /** The posterior's draws, in the serving order. */
    private readonly table: DrawTable,
    /** The prediction schema's features (the instances' columns, in this order). */
    private readonly features: FeatureSpec[],
    private readonly fixedData: Record<string, number>,
    private readonly standardization: Standardization,
    private readonly family: Family,
    /** The likelihood's argument nodes. */
    private readonly argIds: number[],
    private readonly blame: ArgumentBlame,
  ) {
    this.total = table.chains * table.draws;
    this.width = table.names.length;
  }

  /** nSamples draws for each of the (checked) instances, into out[r], one stream across them. */
  sample(instances: Instance[], nSamples: number, rng: Rng, out: Float64Array[]): Float64Array[] {
    const rows = instances.length;
    const columns = this.features.map((f) => Float64Array.from(instances, (inst) => inst[f.name]));
    const valuesAt = this.valuesAt(columns, rows);
    const args = new Float64Array(this.argIds.length);
    // The same rows as the generated loop: consecutive from a random start, wrapping around.
    let row = rng.int(this.total);
    for (let s = 0; s < nSamples; s++, row = row + 1 === this.total ? 0 : row + 1) {
      const vals = valuesAt(row);
      for (let r = 0; r < rows; r++) {
        for (let k = 0; k < args.length; k++) args[k] = valueAt(vals[this.argIds[k]], r);
        if (this.family.argumentProblem(args) !== null) throw this.blame.error(args, r, vals, r);
        out[r][s] = this.family.draw(rng, args);
      }
    }
    return out;
  }

  /** E[y | x, θ] of one (checked) instance for every row of the table, into out. */
  means(instance: Instance, out: Float64Array): Float64Array {
    const valuesAt = this.valuesAt(this.instanceColumns(instance), 1);
    const args = new Float64Array(this.argIds.length);
    const mean = scalarMean(this.family);
    for (let row = 0; row < this.total; row++) {
      const vals = valuesAt(row);
      for (let k = 0; k < args.length; k++) args[k] = valueAt(vals[this.argIds[k]], 0);
      if (this.family.argumentProblem(args) !== null) throw this.blame.error(args, 0, vals, 0);
      out[row] = mean(args);
    }
    return out;
  }

  /** log p(y | x, θ) of one (checked) instance for the first n rows of the table, into out. */
  logLik(instance: Instance, y: number, n: number, out: Float64Array): Float64Array {
    const valuesAt = this.valuesAt(this.instanceColumns(instance), 1);
    const args = new Float64Array(this.argIds.length);
    const lp = scalarLogpFunction(this.family.name);
    for (let row = 0; row < n; row++) {
      const vals = valuesAt(row);
      for (let k = 0; k < args.length; k++) args[k] = valueAt(vals[this.argIds[k]], 0);
      if (this.family.argumentProblem(args) !== null) throw this.blame.error(args, 0, vals, 0);
      out[row] = lp(y, args);
    }
    return out;
  }

  /** Every node's value up to the likelihood's arguments, for one instance (features in schema order) at one draw. */
  nodeValuesAt(features: Float64Array, row: number): Float64Array[] {
    return this.valuesAt(
      Array.from(features, (v) => Float64Array.of(v)),
      1,
    )(row);
  }

  private instanceColumns(instance: Instance): Float64Array[] {
    return this.features.map((f) => Float64Array.of(instance[f.name]));
  }

  /** Every node's value up to the likelihood's arguments, for rows of instances at one posterior draw (general evaluator). */
  private valuesAt(columns: Float64Array[], rows: number): (row: number) => Float64Array[] {
    const data: DataInput = { ...this.fixedData };
    const features = this.features;
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
    // Only what the likelihood's arguments are computed from (priors, deterministics declared before them: skipped).
    const needed = nodesFeeding(bound, this.argIds);
    const params = new Float64Array(bound.dim);
    const names = bound.params.flatMap((p) => p.elementNames);
    const cols = names.map((n) => this.table.names.indexOf(n));
    return (row: number): Float64Array[] => {
      const off = row * this.width;
      for (let k = 0; k < cols.length; k++) params[k] = this.table.values[off + cols[k]];
      return evaluateNodes(bound, params, 0, last, needed);
    };
  }
}

/** The family's mean as a function of its arguments. */
function scalarMean(family: Family): (a: Float64Array) => number {
  const code = family.mean(family.argNames.map((_, k) => `a[${k}]`));
  return (new Function("F", `"use strict";\nreturn (a) => ${code ?? "NaN"};`) as (F: typeof SPECIAL) => (a: Float64Array) => number)(SPECIAL);
}
