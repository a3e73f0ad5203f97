// What a model needs to predict: its feature inputs (the data its likelihood's arguments read) and its target (the
// data it observes). Derived from the model graph, so a user's own model gets its own request schema — with the
// bounds its data declare and, for an integer that indexes a parameter vector, the vector's range, so that a request
// is checked exactly as training data were.
import { BayesServeError } from "../errors.js";
import { nodeInputs } from "../model/bind.js";
import type { ModelJSON } from "../model/graph.js";
import { intersectBounds, type ValueBounds } from "../model/value-bounds.js";

export interface FeatureSpec {
  name: string;
  type: "float" | "integer" | "category";
  /** Categories are 0..levels-1. */
  levels?: number;
  /** Smallest value allowed (inclusive): a declared lower bound, or 0 for an index. */
  minimum?: number;
  /** Largest value allowed (inclusive): a declared upper bound, or the last position of the vector it indexes. */
  maximum?: number;
}

export interface PredictionSchema {
  observation: string;
  target: string;
  features: FeatureSpec[];
}

/** The feature's range as ValueBounds (integers for integer and category features). */
export function featureBounds(f: FeatureSpec): ValueBounds {
  const b: ValueBounds = {};
  if (f.type !== "float") b.integer = true;
  if (f.type === "category") {
    b.lower = 0;
    b.upper = (f.levels ?? 1) - 1;
    return b;
  }
  if (f.minimum !== undefined) b.lower = f.minimum;
  if (f.maximum !== undefined) b.upper = f.maximum;
  return b;
}

/**
 * The length of the vector a node evaluates to for one instance (a parameter vector, or an expression of one), null
 * for a per-instance scalar, undefined when it cannot be told without binding data.
 */
function vectorLength(model: ModelJSON, id: number, sizes: Record<string, number>): number | null | undefined {
  const n = model.nodes[id];
  switch (n.op) {
    case "const":
    case "data":
    case "index":
    case "element":
    case "sum":
      return null;
    case "param": {
      const extent = model.params.find((p) => p.name === n.name)?.shape[0];
      if (extent === undefined) return null;
      return typeof extent === "number" ? extent : sizes[extent];
    }
    case "unary":
      return vectorLength(model, n.a, sizes);
    case "binary": {
      const a = vectorLength(model, n.a, sizes);
      return a !== null ? a : vectorLength(model, n.b, sizes);
    }
    default:
      return undefined;
  }
}

/**
 * The schema for predicting the model's (single) observation. `sizes` are the named dimensions (`m.dim("J")`) as
 * trained, so that an index into a vector of size J gets its range.
 */
export function predictionSchema(model: ModelJSON, sizes: Record<string, number> = {}): PredictionSchema {
  const observes = model.observes.filter((o) => o.dist.family !== "MvNormal");
  if (observes.length !== 1)
    throw new BayesServeError(
      "MODEL_DEFINITION",
      `model "${model.name}" must have exactly one (non-MvNormal) observation to serve predictions; it has ${observes.length}`,
    );
  const obs = observes[0];
  const valueNode = model.nodes[obs.value];
  if (valueNode.op !== "data")
    throw new BayesServeError("MODEL_DEFINITION", `observation "${obs.name}" must observe a data input to serve predictions`);
  const used = new Set<string>();
  /** For each data input used as an index: the bounds every use allows. */
  const indexBounds = new Map<string, ValueBounds>();
  const seen = new Set<number>();
  const visit = (id: number) => {
    if (seen.has(id)) return;
    seen.add(id);
    const n = model.nodes[id];
    if (n.op === "data") used.add(n.name);
    if (n.op === "index") {
      const idx = model.nodes[n.index];
      const length = vectorLength(model, n.a, sizes);
      if (idx.op === "data" && typeof length === "number") {
        const allowed: ValueBounds = { lower: 0, upper: length - 1, integer: true };
        const before = indexBounds.get(idx.name);
        indexBounds.set(idx.name, before === undefined ? allowed : intersectBounds(before, allowed));
      }
    }
    for (const r of nodeInputs(n)) visit(r);
  };
  for (const a of obs.dist.args) visit(a);
  const features: FeatureSpec[] = [];
  for (const d of model.data) {
    if (!used.has(d.name) || d.shape === "scalar" || d.name === valueNode.name) continue;
    if (d.shape === "matrix")
      throw new BayesServeError("MODEL_DEFINITION", `feature "${d.name}" is a matrix; serving supports scalar features per instance`);
    const spec: FeatureSpec = { name: d.name, type: d.kind };
    if (d.kind === "category") spec.levels = d.levels;
    else {
      const declared: ValueBounds = { lower: d.lower, upper: d.upper };
      const index = indexBounds.get(d.name);
      const b = index === undefined ? declared : intersectBounds(declared, index);
      if (b.lower !== undefined) spec.minimum = b.lower;
      if (b.upper !== undefined) spec.maximum = b.upper;
    }
    features.push(spec);
  }
  return { observation: obs.name, target: valueNode.name, features };
}
