// The draws' columns and the model parameters they hold: `beta[0]`, `beta[1]`, `sigma`, `L[0, 1]` — ArviZ's names,
// 0-based and row-major — grouped back into parameters of known shapes.
import { BayesServeError } from "../errors.js";

export interface ParametersInfo {
  /** Column names of the draws layout, 0-based and row-major: `beta[0]`, `beta[1]`, `sigma`, `L[0, 1]`. */
  names: string[];
  /** Every model parameter's shape; `[]` for a scalar. The names above are exactly the elements of these. */
  shapes: Record<string, number[]>;
}

export interface ParameterGroup {
  /** The model parameter's name (`beta`). */
  name: string;
  /** Its shape; `[]` for a scalar. */
  shape: number[];
  /** columns[k] is the draws column holding row-major element k of the parameter. */
  columns: number[];
}

const NAME_RE = /^([^[\]]+?)(?:\[(\d+(?:\s*,\s*\d+)*)\])?$/;

/** Splits a draws column name into the parameter and its indices: `beta[2]` → beta, [2]; `sigma` → sigma, []. */
export function parseParameterName(column: string): { name: string; index: number[] } | null {
  const m = NAME_RE.exec(column);
  if (m === null) return null;
  const index = m[2] === undefined ? [] : m[2].split(",").map((s) => Number(s.trim()));
  return { name: m[1], index };
}

/** The draws column name of element `index` of parameter `name`, as ArviZ prints it: `beta[0]`, `L[0, 1]`. */
export function parameterColumnName(name: string, index: readonly number[]): string {
  return index.length === 0 ? name : `${name}[${index.join(", ")}]`;
}

/** All column names of a parameter of the given shape, row-major. */
export function parameterColumnNames(name: string, shape: readonly number[]): string[] {
  const out: string[] = [];
  const size = shape.reduce((a, b) => a * b, 1);
  for (let k = 0; k < size; k++) out.push(parameterColumnName(name, unravel(k, shape)));
  return out;
}

function unravel(flat: number, shape: readonly number[]): number[] {
  const index = new Array<number>(shape.length);
  for (let axis = shape.length - 1; axis >= 0; axis--) {
    index[axis] = flat % shape[axis];
    flat = Math.floor(flat / shape[axis]);
  }
  return index;
}

/**
 * Groups the draws columns by model parameter, in the order the parameters first appear in `names`. Throws an
 * ARTIFACT error when names and shapes disagree (a validated manifest never does).
 */
export function parameterGroups(parameters: ParametersInfo): ParameterGroup[] {
  const problems: string[] = [];
  const groups = parameterLayoutProblems(parameters, problems);
  if (problems.length > 0) {
    throw new BayesServeError("ARTIFACT", `inconsistent parameter layout: ${problems.join("; ")}`);
  }
  return groups;
}

/** The groups of a layout, pushing every inconsistency between names and shapes onto `problems`. */
export function parameterLayoutProblems(parameters: ParametersInfo, problems: string[]): ParameterGroup[] {
  const byName = new Map<string, ParameterGroup>();
  const seen = new Set<string>();
  parameters.names.forEach((column, col) => {
    if (seen.has(column)) {
      problems.push(`parameters.names has "${column}" twice`);
      return;
    }
    seen.add(column);
    const parsed = parseParameterName(column);
    if (parsed === null) {
      problems.push(`parameters.names[${col}] "${column}" is not of the form name or name[i, …]`);
      return;
    }
    if (!Object.prototype.hasOwnProperty.call(parameters.shapes, parsed.name)) {
      problems.push(`parameters.names[${col}] "${column}": "${parsed.name}" has no entry in parameters.shapes`);
      return;
    }
    const shape = parameters.shapes[parsed.name];
    if (parsed.index.length !== shape.length || parsed.index.some((i, axis) => i >= shape[axis])) {
      problems.push(`parameters.names[${col}] "${column}" does not index "${parsed.name}" of shape [${shape.join(", ")}]`);
      return;
    }
    let group = byName.get(parsed.name);
    if (group === undefined) {
      const size = shape.reduce((a, b) => a * b, 1);
      group = { name: parsed.name, shape: [...shape], columns: new Array<number>(size).fill(-1) };
      byName.set(parsed.name, group);
    }
    let flat = 0;
    for (let axis = 0; axis < shape.length; axis++) flat = flat * shape[axis] + parsed.index[axis];
    group.columns[flat] = col;
  });
  for (const [name, shape] of Object.entries(parameters.shapes)) {
    const group = byName.get(name);
    const size = shape.reduce((a, b) => a * b, 1);
    if (group === undefined) {
      if (size > 0) problems.push(`parameters.shapes has "${name}" but parameters.names has none of its elements`);
      continue;
    }
    const missing = group.columns.findIndex((c) => c < 0);
    if (missing >= 0) {
      problems.push(`parameters.names lacks "${parameterColumnName(name, unravel(missing, shape))}"`);
    }
  }
  return [...byName.values()];
}
