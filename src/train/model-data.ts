// From a training table to what the model reads: its sizes (given with --data-scalar, or inferred — a category's
// number of levels from its largest value, N from the rows), its design matrices assembled from their CSV columns
// (standardised by the training rows when the model asks), and the model with those sizes filled in, as it is
// recorded in the artefact and served.
import { BayesServeError } from "../errors.js";
import { Model } from "../model/builder.js";
import type { DataInput } from "../model/bind.js";
import type { DataDecl, ModelJSON } from "../model/graph.js";
import type { Standardization } from "../predict/index.js";
import type { Table } from "./table.js";

/** The size a dimension named N takes when not given: the number of rows the model is fitted on. */
const ROWS_DIMENSION = "N";

/**
 * The value of every scalar data input: given (`--data-scalar J=12`), or the number of levels of a category that
 * names it (`levels: m.dim("J")`: one more than its largest value in the whole table), or — for N — the rows fitted.
 */
export function resolveScalars(model: Model, table: Table, fittedRows: number, given: Record<string, number> = {}): Record<string, number> {
  const json = model.json;
  const scalars = json.data.filter((d) => d.shape === "scalar");
  for (const name of Object.keys(given))
    if (!scalars.some((d) => d.name === name))
      throw new BayesServeError(
        "USAGE",
        `--data-scalar ${name}: model "${model.name}" has no scalar data input of that name${scalars.length > 0 ? ` (it has ${scalars.map((d) => d.name).join(", ")})` : ""}`,
      );
  const out: Record<string, number> = {};
  for (const d of scalars) {
    const v = given[d.name] ?? inferred(json, d, table, fittedRows);
    if (v === undefined)
      throw new BayesServeError("USAGE", `data "${d.name}" (a ${d.kind} scalar) is not in the data: give it with --data-scalar ${d.name}=VALUE`);
    if (!Number.isFinite(v) || (d.kind !== "float" && !Number.isInteger(v)))
      throw new BayesServeError("USAGE", `--data-scalar ${d.name}=${v}: ${d.kind === "float" ? "a finite number" : "an integer"} is needed`);
    out[d.name] = v;
  }
  return out;
}

function inferred(json: ModelJSON, d: DataDecl, table: Table, fittedRows: number): number | undefined {
  const category = json.data.find((c) => c.levelsDim === d.name);
  if (category !== undefined) {
    const column = table.columns[category.name];
    let max = -1;
    for (let i = 0; i < column.length; i++) if (column[i] > max) max = column[i];
    return max + 1;
  }
  return d.name === ROWS_DIMENSION ? fittedRows : undefined;
}

/** The model with every category's levels given by a size filled in from the sizes (as trained, as served). */
export function withSizes(model: Model, scalars: Record<string, number>): Model {
  if (!model.json.data.some((d) => d.levelsDim !== undefined)) return model;
  const data = model.json.data.map((d) => (d.levelsDim !== undefined && d.levels === undefined ? { ...d, levels: scalars[d.levelsDim] } : d));
  return new Model({ ...model.json, data });
}

/** Each standardised design matrix's column means and sample sds (1 when only centred) over the table's (training) rows. */
export function standardizationOf(model: Model, table: Table): Standardization {
  const out: Standardization = {};
  for (const d of model.json.data) {
    if ((d.standardize !== true && d.standardize !== "center") || d.columns === undefined) continue;
    const means: number[] = [];
    const sds: number[] = [];
    for (const c of d.columns) {
      const x = table.columns[c];
      let m = 0;
      for (let i = 0; i < x.length; i++) m += x[i];
      m /= x.length;
      let ss = 0;
      for (let i = 0; i < x.length; i++) ss += (x[i] - m) ** 2;
      const sd = d.standardize === "center" ? 1 : Math.sqrt(ss / (x.length - 1));
      if (!(sd > 0 && sd < Infinity))
        throw new BayesServeError("DATA_VALUE", `column "${c}" of "${d.name}" is constant in the training rows: it cannot be standardised`);
      means.push(m);
      sds.push(sd);
    }
    out[d.name] = { means, sds };
  }
  return out;
}

/** The data the model is fitted on: vectors as the table's columns, design matrices from theirs, and the scalars. */
export function dataInputOf(model: Model, table: Table, scalars: Record<string, number>, standardization: Standardization): DataInput {
  const data: DataInput = { ...scalars };
  for (const d of model.json.data) {
    if (d.shape === "vector") data[d.name] = table.columns[d.name];
    if (d.shape !== "matrix" || d.columns === undefined) continue;
    const k = d.columns.length;
    const values = new Float64Array(table.rows * k);
    const scale = standardization[d.name];
    d.columns.forEach((c, j) => {
      const x = table.columns[c];
      for (let r = 0; r < table.rows; r++) values[r * k + j] = scale === undefined ? x[r] : (x[r] - scale.means[j]) / scale.sds[j];
    });
    data[d.name] = { rows: table.rows, cols: k, values };
  }
  return data;
}
