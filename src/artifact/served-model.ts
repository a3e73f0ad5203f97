// A published version as the service answers with it: its model rebuilt from the manifest, the draws in their serving
// order, the sizes and standardisation it was trained with, and the predictor over them. One way to do it, for the
// server (hot reload), training (comparing a new fit with the version serving) and the CLI (models compare).
import { BayesServeError } from "../errors.js";
import type { ModelJSON } from "../model/graph.js";
import { modelFromJSON } from "../model/serialize.js";
import { Predictor, shuffledDrawTable, type DrawTable, type Standardization } from "../predict/index.js";
import type { Manifest } from "./manifest.js";

export interface ServedModel {
  model: ModelJSON;
  /** The draws in the serving order (predictor.ts), on `memory` when given (the server's shared buffer). */
  table: DrawTable;
  fixedData: Record<string, number>;
  standardization: Standardization;
  predictor: Predictor;
}

/** Scalar data the model needs besides the features: sizes named in parameter shapes (`beta` of shape ["J"]). */
function fixedDataOf(model: ModelJSON, shapes: Record<string, number[]>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of model.params) {
    p.shape.forEach((extent, axis) => {
      const size = shapes[p.name]?.[axis];
      if (typeof extent === "string" && size !== undefined) out[extent] = size;
    });
  }
  return out;
}

/** The version's model and predictor; throws ARTIFACT naming the version when they cannot be rebuilt. */
export function servedModel(manifest: Manifest, draws: Float64Array, memory?: Float64Array): ServedModel {
  const version = manifest.version;
  const stored = { names: manifest.parameters.names, chains: manifest.draws.chains, draws: manifest.draws.drawsPerChain, values: draws };
  const table = shuffledDrawTable(stored, memory);
  for (let i = 0; i < table.values.length; i++)
    if (!Number.isFinite(table.values[i]))
      throw new BayesServeError("ARTIFACT", `version ${version}: its posterior draws hold ${table.values[i]}, not a finite number`);
  const standardization: Standardization = manifest.data.standardization ?? {};
  let model: ModelJSON;
  try {
    model = modelFromJSON(manifest.model).json;
  } catch (err) {
    throw new BayesServeError("ARTIFACT", `version ${version}: cannot serve its model: ${(err as Error).message}`, { cause: err });
  }
  const outside = drawOutsideSupport(model, table);
  if (outside !== null) throw new BayesServeError("ARTIFACT", `version ${version}: its posterior draws of ${outside}: the version is damaged`);
  try {
    const fixedData = { ...fixedDataOf(model, manifest.parameters.shapes), ...manifest.data.scalars };
    const predictor = new Predictor(model, table, { fixedData, target: manifest.target.name, standardization });
    return { model, table, fixedData, standardization, predictor };
  } catch (err) {
    throw new BayesServeError("ARTIFACT", `version ${version}: cannot serve its model: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * The first draw of a constrained parameter outside its support — a scale below 0, a probability above 1, an ordered
 * vector out of order — as "sigma hold -0.5, not ≥ 0", or null. The sampler cannot produce one; a version that holds
 * one was altered (and re-sealed), and answering from it would blame the client's instance for a NaN likelihood.
 */
function drawOutsideSupport(model: ModelJSON, table: DrawTable): string | null {
  const width = table.names.length;
  const rows = table.values.length / width;
  for (const p of model.params) {
    const t = p.transform;
    if (t.kind === "identity") continue;
    const columns = table.names.flatMap((n, k) => (n === p.name || n.startsWith(`${p.name}[`) ? [k] : []));
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < columns.length; j++) {
        const x = table.values[r * width + columns[j]];
        const name = table.names[columns[j]];
        if ((t.kind === "lower" || t.kind === "interval") && !(x >= t.lower)) return `${name} hold ${x}, not ≥ ${t.lower}`;
        if ((t.kind === "upper" || t.kind === "interval") && !(x <= t.upper)) return `${name} hold ${x}, not ≤ ${t.upper}`;
        if (t.kind === "ordered" && j > 0 && !(x >= table.values[r * width + columns[j - 1]]))
          return `${name} hold ${x}, below ${table.names[columns[j - 1]]} (${table.values[r * width + columns[j - 1]]}) in one draw: not ordered`;
      }
    }
  }
  return null;
}
