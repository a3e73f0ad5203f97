// An input at which a likelihood argument leaves its family's domain (a negative scale, a NaN rate from log(−2)) is an
// InstanceError naming the features to blame: those read by the sub-expression where a NaN or an infinity first
// appears, given every node's value at the failing draw; else all the features the argument reads.
import { describeNode, nodeInputs } from "../model/bind.js";
import type { Family } from "../model/families.js";
import type { ModelJSON } from "../model/graph.js";
import type { FeatureSpec } from "./features.js";
import { InstanceError } from "./instance-error.js";
import { valueAt } from "./likelihood-interpreter.js";

export class ArgumentBlame {
  private readonly featureNames: string[];
  /** Per likelihood argument: the features its value reads, in schema order. */
  private readonly argFeatures: string[][];

  constructor(
    private readonly model: ModelJSON,
    private readonly family: Family,
    /** The likelihood's argument nodes. */
    private readonly argIds: number[],
    features: FeatureSpec[],
  ) {
    this.featureNames = features.map((f) => f.name);
    this.argFeatures = argIds.map((a) => featuresRead(model, a, this.featureNames));
  }

  /**
   * The error for arguments A (of instance `index`) that break the family's domain: which argument, and the features
   * to blame, given the nodes' values at the failing draw (`vals`, row `r` of the instances they were computed for).
   */
  error(A: Float64Array | number[], index: number, vals: Float64Array[], r: number): InstanceError {
    const condition = this.family.argumentProblem(A);
    if (condition === null) return new InstanceError(index, [], "likelihood_argument", "the likelihood is not defined at this input");
    const k = condition.arg;
    const origin = nonFiniteOrigin(this.model, this.argIds[k], vals, r);
    const culprits = origin === null ? [] : featuresRead(this.model, origin, this.featureNames);
    const fields = culprits.length > 0 ? culprits : this.argFeatures[k];
    const name = this.family.argNames[k];
    const what = describeNode(this.model, this.argIds[k]);
    const reason = `at this input the likelihood's argument ${name} = ${what} is ${A[k]} for a posterior draw, but must be ${condition.requirement} for a ${this.family.name} distribution`;
    return new InstanceError(index, fields, "likelihood_argument", reason);
  }
}

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
