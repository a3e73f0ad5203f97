// Which data row makes a model impossible to fit. When no starting point has a finite log-density, the cause is
// usually one row — a negative exposure whose log is NaN, a value outside a uniform's bounds — at which an
// observation's likelihood is undefined whatever the parameters. Found by evaluating each observation row by row at
// a few parameter points and keeping the rows that fail at every one of them.
import { describeNode, nodeInputs, type BoundModel } from "./bind.js";
import { evaluateNodes } from "./evaluate.js";
import { familyOf } from "./families.js";
import { scalarLogp } from "./scalar-logp.js";
import { DataRowError } from "./data-row-error.js";

export { DataRowError };

/** The vector data inputs a node reads. */
function dataRead(bound: BoundModel, id: number): string[] {
  const out = new Set<string>();
  const seen = new Set<number>();
  const visit = (k: number): void => {
    if (seen.has(k)) return;
    seen.add(k);
    const n = bound.json.nodes[k];
    if (n.op === "data" && bound.data.get(n.name)?.shape.length === 1) out.add(n.name);
    for (const r of nodeInputs(n)) visit(r);
  };
  visit(id);
  return [...out];
}

/**
 * The first row at which some observation's likelihood is undefined — an argument outside its family's domain, or a
 * log-density that is not finite — at every one of `points` (constrained parameter vectors), or null.
 */
export function findUndefinedRow(bound: BoundModel, points: Float64Array[]): DataRowError | null {
  if (points.length === 0) return null;
  const json = bound.json;
  let first: DataRowError | null = null;
  for (const o of json.observes) {
    if (o.dist.family === "MvNormal" || o.dist.family === "Flat") continue;
    const family = familyOf(o.dist.family);
    const ids = [o.value, ...o.dist.args];
    const upTo = Math.max(...ids);
    const rows = bound.shapes[o.value].length === 0 ? 1 : bound.shapes[o.value][0];
    /** Per row: the problem found at every point so far (null once a point is fine). */
    const failing: (string | null)[] = new Array(rows).fill("");
    const args = new Float64Array(o.dist.args.length);
    for (const point of points) {
      const vals = evaluateNodes(bound, point, 0, upTo);
      const at = (id: number, r: number): number => (vals[id].length === 1 ? vals[id][0] : vals[id][r]);
      for (let r = 0; r < rows; r++) {
        if (failing[r] === null) continue;
        for (let k = 0; k < args.length; k++) args[k] = at(o.dist.args[k], r);
        const problem = family.argumentProblem(args);
        if (problem !== null) {
          const what = describeNode(json, o.dist.args[problem.arg]);
          const v = args[problem.arg];
          // A count computed from data (n = share · 100) can miss its integer by a rounding error: say so.
          const nearInteger = Math.abs(v - Math.round(v)) <= 1e-9 * Math.max(1, Math.abs(v)) && v !== Math.round(v);
          failing[r] =
            `the likelihood of observation "${o.name}" is undefined there: its argument ${family.argNames[problem.arg]} = ${what} is ${v} whatever the parameters, but must be ${problem.requirement} for a ${family.name} distribution` +
            (nearInteger ? ` (${v} is ${Math.round(v)} plus a rounding error: give the count itself as data)` : "");
          continue;
        }
        const lp = scalarLogp(family.name, at(o.value, r), args);
        failing[r] = Number.isFinite(lp) ? null : `the log-likelihood of observation "${o.name}" is ${lp} there whatever the parameters`;
      }
    }
    const r = failing.findIndex((f) => f !== null && f !== "");
    if (r < 0) continue;
    const values: Record<string, number> = {};
    for (const id of ids) for (const name of dataRead(bound, id)) values[name] = bound.data.get(name)!.values[r];
    const err = new DataRowError(r, values, failing[r] as string);
    if (first === null || r < first.row) first = err;
  }
  return first;
}
