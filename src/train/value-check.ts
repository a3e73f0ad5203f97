// Whether one value of a training column is one the model can take: an integer where the model reads integers or
// categories, a category among the model's levels, inside the column's bounds. Shared by every table reader (CSV,
// Parquet); each says where the value was.
import { BayesServeError } from "../errors.js";
import { boundsProblem } from "../model/value-bounds.js";
import type { FeatureSpec } from "../predict/features.js";
import { featureValueProblem } from "../predict/instance-check.js";
import type { ColumnSpec } from "./csv.js";
import type { Table } from "./table.js";

/** What is wrong with a finite value `v` of column `spec` (to follow the value in a message), or null. */
export function valueProblem(spec: ColumnSpec, v: number): string | null {
  if (spec.type !== "float" && !Number.isInteger(v)) return "is not an integer";
  if (spec.type === "category" && (v < 0 || v >= (spec.levels ?? 0))) return `is outside the model's categories 0..${(spec.levels ?? 0) - 1}`;
  // Past 2^53 a double does not hold every integer: "9007199254740993" (or a DECIMAL(38, 0) value) would be read as
  // ...992, a count other than the file's.
  if ((spec.type !== "float" || spec.bounds?.bounds.integer === true) && Number.isInteger(v) && !Number.isSafeInteger(v))
    return "is too large to be read exactly (beyond 2^53 a double does not hold every integer)";
  if (spec.bounds !== undefined) {
    const problem = boundsProblem(spec.bounds.bounds, v);
    if (problem !== null) return `is outside what the model allows: it ${problem} (${spec.bounds.why})`;
  }
  return null;
}

/**
 * Every row's integer and category features against the model with its sizes filled in — categories sized by
 * `m.dim`, integers indexing a vector the data size — which the table's reader could not know: the first value outside
 * them, named at its file's line and column, before any row is fitted or scored (held-out rows included; a bad one
 * there was reported by the evaluation as a bare "group: must be …").
 */
export function checkFeatureRows(table: Table, features: readonly FeatureSpec[], where: (row: number) => string): void {
  const one = new Float64Array(1);
  for (const f of features) {
    const column = table.columns[f.name];
    if (f.type === "float" || column === undefined) continue;
    const spec = [f];
    for (let r = 0; r < table.rows; r++) {
      one[0] = column[r];
      const problem = featureValueProblem(spec, one, false);
      if (problem !== null) throw new BayesServeError("DATA_VALUE", `${where(r)}, column "${f.name}": ${column[r]} ${problem[1]}`);
    }
  }
}
