// What a model needs to predict: its feature inputs (the data its likelihood's arguments read) and its target (the
// data it observes). Derived from the model graph, so a user's own model gets its own request schema — with the
// bounds its data declare and, for an integer that indexes a parameter vector, the vector's range, so that a request
// is checked exactly as training data were.
import { BayesServeError } from "../errors.js";
import { nodeInputs } from "../model/bind.js";
import type { ModelJSON, NodeJSON } from "../model/graph.js";
import { familyOf } from "../model/families.js";
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
  /** For a column of a design matrix (`m.data("X", { columns })`): the matrix's name. */
  matrix?: string;
  /**
   * For a category that indexes parameter vectors whose priors have only constants and scalar parameters as arguments
   * (`z ~ Normal(0, 1)`, `alpha ~ Normal(mu, tau)`): a level never seen in training can be answered, each element it
   * reads drawn from its prior given each posterior draw (brms' allow_new_levels, sample_new_levels = "gaussian").
   */
  newLevels?: boolean;
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
      return typeof extent === "number" ? extent : Object.hasOwn(sizes, extent) ? sizes[extent] : undefined;
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

/** Whether node `id`'s value differs from row to row: it reads a vector or matrix data input (a column of the rows). */
function readsRows(model: ModelJSON, id: number, memo: Map<number, boolean>): boolean {
  const known = memo.get(id);
  if (known !== undefined) return known;
  const n = model.nodes[id];
  let rows = false;
  if (n.op === "data") rows = model.data.find((d) => d.name === n.name)?.shape !== "scalar";
  else for (const r of nodeInputs(n)) if (readsRows(model, r, memo)) rows = true;
  memo.set(id, rows);
  return rows;
}

/**
 * What node `n` computes across rows — a sum over a column, one row's value, a column gathered by an index, a kernel
 * between rows — as a phrase for a message; null when it reads each row alone (elementwise, or a design matrix's row
 * times a parameter vector).
 */
function acrossRows(model: ModelJSON, n: NodeJSON, memo: Map<number, boolean>): string | null {
  switch (n.op) {
    case "sum":
      return readsRows(model, n.a, memo) ? "sum a column of the rows (sum over the data)" : null;
    case "element":
      return readsRows(model, n.a, memo) ? `read row ${n.k} of the data (element ${n.k} of a column)` : null;
    case "index":
      return readsRows(model, n.a, memo) ? "gather a column of the rows by an index (another row's value)" : null;
    case "matvec":
      return readsRows(model, n.v, memo) ? "multiply by a vector computed from the rows" : null;
    case "covExpQuad":
      return readsRows(model, n.x, memo) ? "relate the rows to one another (a kernel between rows)" : null;
    default:
      return null;
  }
}

/**
 * The observation a model serves: the one named by `target` (its name, or the name of the data it observes), or the
 * model's only one. A model may observe auxiliary data too; then the target must be named.
 */
export function targetObservation(model: ModelJSON, target?: string): ModelJSON["observes"][number] {
  const observes = model.observes.filter((o) => o.dist.family !== "MvNormal");
  const observed = (o: ModelJSON["observes"][number]): string | null => {
    const n = model.nodes[o.value];
    return n.op === "data" ? n.name : null;
  };
  const names = observes.map((o) => observed(o) ?? o.name);
  if (target !== undefined) {
    const found = observes.find((o) => o.name === target || observed(o) === target);
    if (found === undefined)
      throw new BayesServeError("USAGE", `--target ${target}: model "${model.name}" observes no such data; its observations: ${names.join(", ") || "none"}`);
    return found;
  }
  if (observes.length === 1) return observes[0];
  throw new BayesServeError(
    "MODEL_DEFINITION",
    observes.length === 0
      ? `model "${model.name}" observes no data (other than with MvNormal): there is nothing to predict`
      : `model "${model.name}" observes ${observes.length} things (${names.join(", ")}): name the one to serve with --target NAME`,
  );
}

/**
 * Whether node `id` is a parameter vector drawn from its prior alone — its prior's arguments all constants or scalar
 * parameters, and no bounds beyond the prior's own support (a truncated prior would need truncated draws) — so that a
 * new element can be drawn from the prior given a posterior draw of those arguments.
 */
export function priorOfHyperparameters(model: ModelJSON, id: number): boolean {
  const n = model.nodes[id];
  if (n.op !== "param") return false;
  const decl = model.params.find((p) => p.name === n.name);
  if (decl === undefined || decl.shape.length !== 1 || decl.prior.family === "Flat" || decl.prior.family === "MvNormal") return false;
  const support = familyOf(decl.prior.family).support;
  const t = decl.transform;
  const ownSupport =
    (support === "real" && t.kind === "identity") ||
    (support === "positive" && t.kind === "lower" && t.lower === 0) ||
    (support === "unit" && t.kind === "interval" && t.lower === 0 && t.upper === 1);
  if (!ownSupport) return false;
  return decl.prior.args.every((a) => {
    const arg = model.nodes[a];
    return arg.op === "const" || (arg.op === "param" && model.params.find((p) => p.name === arg.name)?.shape.length === 0);
  });
}

/** The data inputs the target observation's arguments read (its features, and any scalars). */
export function dataReadBy(model: ModelJSON, target?: string): Set<string> {
  const used = new Set<string>();
  const seen = new Set<number>();
  const visit = (id: number): void => {
    if (seen.has(id)) return;
    seen.add(id);
    const n = model.nodes[id];
    if (n.op === "data") used.add(n.name);
    for (const r of nodeInputs(n)) visit(r);
  };
  for (const a of targetObservation(model, target).dist.args) visit(a);
  return used;
}

/**
 * The schema for predicting the model's target observation (see targetObservation). `sizes` are the named dimensions
 * (`m.dim("J")`) as trained, so that an index into a vector of size J gets its range.
 */
export function predictionSchema(model: ModelJSON, sizes: Record<string, number> = {}, target?: string): PredictionSchema {
  const obs = targetObservation(model, target);
  const valueNode = model.nodes[obs.value];
  if (valueNode.op !== "data") throw new BayesServeError("MODEL_DEFINITION", `observation "${obs.name}" must observe a data input to serve predictions`);
  const used = new Set<string>();
  /** For each data input used as an index: the bounds every use allows. */
  const indexBounds = new Map<string, ValueBounds>();
  /** For each category used as an index: whether every vector it indexes can draw a new element from its prior. */
  const newLevels = new Map<string, boolean>();
  const seen = new Set<number>();
  const rowMemo = new Map<number, boolean>();
  const visit = (id: number) => {
    if (seen.has(id)) return;
    seen.add(id);
    const n = model.nodes[id];
    if (n.op === "data") used.add(n.name);
    if (n.op === "data" && n.name === valueNode.name)
      throw new BayesServeError(
        "MODEL_DEFINITION",
        `observation "${obs.name}"'s arguments read "${n.name}", the data it observes: a prediction has no "${n.name}" to read (did you mean another input?)`,
      );
    const across = acrossRows(model, n, rowMemo);
    if (across !== null)
      throw new BayesServeError(
        "MODEL_DEFINITION",
        `observation "${obs.name}"'s arguments ${across}: a prediction sees one instance, not the training rows, so it would be computed ` +
          "from that instance alone. Give what it computes from the training rows as a scalar data input (--data-scalar), or " +
          "standardise the columns (m.data(…, { columns, standardize }))",
      );
    if (n.op === "index") {
      const idx = model.nodes[n.index];
      const length = vectorLength(model, n.a, sizes);
      if (idx.op === "data" && typeof length === "number") {
        const allowed: ValueBounds = { lower: 0, upper: length - 1, integer: true };
        const before = indexBounds.get(idx.name);
        indexBounds.set(idx.name, before === undefined ? allowed : intersectBounds(before, allowed));
      }
      if (idx.op === "data") newLevels.set(idx.name, (newLevels.get(idx.name) ?? true) && priorOfHyperparameters(model, n.a));
    }
    for (const r of nodeInputs(n)) visit(r);
  };
  for (const a of obs.dist.args) visit(a);
  const features: FeatureSpec[] = [];
  for (const d of model.data) {
    if (!used.has(d.name) || d.shape === "scalar" || d.name === valueNode.name) continue;
    if (d.shape === "matrix") {
      if (d.columns === undefined)
        throw new BayesServeError(
          "MODEL_DEFINITION",
          `feature "${d.name}" is a matrix without named columns; declare it m.data("${d.name}", { columns: [...] }) to serve it`,
        );
      for (const column of d.columns) {
        const spec: FeatureSpec = { name: column, type: "float", matrix: d.name };
        if (d.lower !== undefined) spec.minimum = d.lower;
        if (d.upper !== undefined) spec.maximum = d.upper;
        features.push(spec);
      }
      continue;
    }
    const spec: FeatureSpec = { name: d.name, type: d.kind };
    if (d.kind === "category") {
      if (newLevels.get(d.name) === true) spec.newLevels = true;
      spec.levels = d.levels ?? (d.levelsDim !== undefined && Object.hasOwn(sizes, d.levelsDim) ? sizes[d.levelsDim] : undefined);
      if (spec.levels === undefined) throw new BayesServeError("MODEL_DEFINITION", `category "${d.name}": its number of levels (${d.levelsDim}) is not known`);
      // Training checks these against the data (bindModel); a served model is not bound, so its JSON is held to them
      // here: a level past a vector's end would read the next parameter's draws.
      if (d.levels !== undefined && d.levelsDim !== undefined && Object.hasOwn(sizes, d.levelsDim) && d.levels !== sizes[d.levelsDim])
        throw new BayesServeError("MODEL_DEFINITION", `category "${d.name}": ${d.levels} levels, but its size ${d.levelsDim} is ${sizes[d.levelsDim]}`);
      const indexed = indexBounds.get(d.name)?.upper;
      if (indexed !== undefined && spec.levels > indexed + 1)
        throw new BayesServeError("MODEL_DEFINITION", `category "${d.name}": ${spec.levels} levels, but it indexes a vector of ${indexed + 1} elements`);
    } else {
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
