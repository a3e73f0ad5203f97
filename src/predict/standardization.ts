// A standardised design matrix (`m.data(X, { columns, standardize })`) is fitted on columns centred and scaled by the
// training rows' means and sds; a request's columns are scaled the same way, so the artefact records them.
import { BayesServeError } from "../errors.js";
import type { ModelJSON } from "../model/graph.js";
import type { PredictionSchema } from "./features.js";

/** Each standardised design matrix's column means and sds over the training rows (`m.data(X, { standardize })`). */
export type Standardization = Record<string, { means: number[]; sds: number[] }>;

/** The standardisation given must cover each standardised design matrix the features read, column for column. */
export function checkStandardization(model: ModelJSON, schema: PredictionSchema, standardization: Standardization): void {
  for (const d of model.data) {
    if ((d.standardize !== true && d.standardize !== "center") || d.columns === undefined || !schema.features.some((f) => f.matrix === d.name)) continue;
    const s = standardization[d.name];
    const k = d.columns.length;
    if (s === undefined || s.means.length !== k || s.sds.length !== k || !s.means.every(Number.isFinite) || !s.sds.every((v) => v > 0 && v < Infinity))
      throw new BayesServeError("ARTIFACT", `the design matrix "${d.name}" is standardised, but its ${k} column means and sds are not all recorded`);
  }
}
