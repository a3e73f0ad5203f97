// What a model needs to predict: its feature inputs (the data its likelihood's arguments read) and its target (the
// data it observes). Derived from the model graph, so a user's own model gets its own request schema.
import { BayesServeError } from "../errors.js";
import { nodeInputs } from "../model/bind.js";
import type { ModelJSON } from "../model/graph.js";

export interface FeatureSpec {
  name: string;
  type: "float" | "integer" | "category";
  /** Categories are 0..levels-1. */
  levels?: number;
}

export interface PredictionSchema {
  observation: string;
  target: string;
  features: FeatureSpec[];
}

/** The schema for predicting the model's (single) observation. */
export function predictionSchema(model: ModelJSON): PredictionSchema {
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
  const seen = new Set<number>();
  const visit = (id: number) => {
    if (seen.has(id)) return;
    seen.add(id);
    const n = model.nodes[id];
    if (n.op === "data") used.add(n.name);
    for (const r of nodeInputs(n)) visit(r);
  };
  for (const a of obs.dist.args) visit(a);
  const features: FeatureSpec[] = [];
  for (const d of model.data) {
    if (!used.has(d.name) || d.shape === "scalar" || d.name === valueNode.name) continue;
    if (d.shape === "matrix")
      throw new BayesServeError("MODEL_DEFINITION", `feature "${d.name}" is a matrix; serving supports scalar features per instance`);
    features.push({ name: d.name, type: d.kind, ...(d.kind === "category" ? { levels: d.levels } : {}) });
  }
  return { observation: obs.name, target: valueNode.name, features };
}
