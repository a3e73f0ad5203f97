// Whether one value of a training column is one the model can take: an integer where the model reads integers or
// categories, a category among the model's levels, inside the column's bounds. Shared by every table reader (CSV,
// Parquet); each says where the value was.
import { boundsProblem } from "../model/value-bounds.js";
import type { ColumnSpec } from "./csv.js";

/** What is wrong with a finite value `v` of column `spec` (to follow the value in a message), or null. */
export function valueProblem(spec: ColumnSpec, v: number): string | null {
  if (spec.type !== "float" && !Number.isInteger(v)) return "is not an integer";
  if (spec.type === "category" && (v < 0 || v >= (spec.levels ?? 0))) return `is outside the model's categories 0..${(spec.levels ?? 0) - 1}`;
  if (spec.bounds !== undefined) {
    const problem = boundsProblem(spec.bounds.bounds, v);
    if (problem !== null) return `is outside what the model allows: it ${problem} (${spec.bounds.why})`;
  }
  return null;
}
