// The likelihood's arguments as JavaScript expressions, for the generated prediction loops (generated-loops.ts): for
// likelihoods whose arguments are elementwise in the features (the usual regression), each argument written out over
// the current row of the draw table (`V[off + column]`) and the instance's features (`f0`, `f1`, …) — features read
// once by name, parameters by their column, a design matrix's dot product unrolled. An operation that is not
// elementwise (a sum over a vector, a mixture) gives null: those models take the general path
// (likelihood-interpreter.ts).
import { BayesServeError } from "../errors.js";
import { familyOf } from "../model/families.js";
import type { ModelJSON, NodeJSON } from "../model/graph.js";
import { unaryCode } from "../model/ops.js";
import type { Rng } from "../random/rng.js";
import type { FeatureSpec } from "./features.js";
import type { Standardization } from "./standardization.js";

/** A number written into the generated source; anything else is refused, so that no text from an input reaches it. */
function numberLiteral(value: unknown, what: string): string {
  if (typeof value !== "number" || Number.isNaN(value)) throw new BayesServeError("MODEL_DEFINITION", `${what}: ${JSON.stringify(value)} is not a number`);
  return String(value);
}

/** The arguments' code, and what it needs computed first for each posterior draw: the elements of new levels. */
export interface ArgumentCode {
  args: string[];
  /** Statements computed once per draw before the arguments (`const nl0 = …;`). */
  prelude: string[];
  /** The draws of new elements the prelude calls, as NL[i](rng, V, off). */
  newElements: ((rng: Rng, V: Float64Array, off: number) => number)[];
}

/**
 * A draw of a new element of parameter vector `param` from its prior, given the prior's arguments (constants or
 * scalar parameters) at the draw in row `off`.
 */
function newElementDraw(model: ModelJSON, param: string, col: Map<string, number>): (rng: Rng, V: Float64Array, off: number) => number {
  const decl = model.params.find((p) => p.name === param)!;
  const family = familyOf(decl.prior.family);
  const sources = decl.prior.args.map((a) => {
    const n = model.nodes[a];
    return n.op === "const" ? { value: n.value, column: -1 } : { value: 0, column: col.get((n as { name: string }).name) ?? -1 };
  });
  const B = new Float64Array(sources.length);
  return (rng, V, off) => {
    for (let k = 0; k < sources.length; k++) B[k] = sources[k].column < 0 ? sources[k].value : V[off + sources[k].column];
    return family.random(rng, B);
  };
}

/**
 * The code of the likelihood arguments `argIds` over the columns `names` of the draw table and the schema's `features`,
 * or null when they use an operation that is not elementwise.
 */
export function compileArgumentCode(
  model: ModelJSON,
  argIds: number[],
  names: string[],
  features: FeatureSpec[],
  fixedData: Record<string, number>,
  standardization: Standardization,
): ArgumentCode | null {
  const col = new Map(names.map((n, k) => [n, k]));
  const prelude: string[] = [];
  const newElements: ArgumentCode["newElements"] = [];
  /** One local per (vector, category) read through new levels, so that all its uses in a draw see one element. */
  const newLevelReads = new Map<string, string>();
  const featureIndex = new Map(features.map((f, k) => [f.name, k]));
  const paramNames = new Set(model.params.map((p) => p.name));
  const unsupported = Symbol("unsupported");
  /** The value in column `column` (an offset within a row, maybe depending on a feature) of the current row. */
  const read = (column: string): string => `V[off + ${column}]`;
  const expr = (id: number): string => {
    const n: NodeJSON = model.nodes[id];
    switch (n.op) {
      case "const":
        return `(${n.value})`;
      case "data": {
        if (featureIndex.has(n.name)) return `f${featureIndex.get(n.name)}`;
        if (Object.hasOwn(fixedData, n.name)) return `(${numberLiteral(fixedData[n.name], `data "${n.name}"`)})`;
        throw unsupported;
      }
      case "param": {
        const decl = model.params.find((p) => p.name === n.name)!;
        if (decl.shape.length !== 0) throw unsupported; // a whole vector here means a non-elementwise use
        return read(`${col.get(n.name)}`);
      }
      case "unary":
        return `(${unaryCode(n.fn, expr(n.a), "NaN")[0]})`;
      case "binary": {
        const a = expr(n.a);
        const b = expr(n.b);
        const op = { add: "+", sub: "-", mul: "*", div: "/" } as const;
        return n.fn === "pow" ? `Math.pow(${a}, ${b})` : `(${a} ${op[n.fn]} ${b})`;
      }
      case "index": {
        const a = model.nodes[n.a];
        const idx = model.nodes[n.index];
        if (a.op !== "param" || idx.op !== "data" || !featureIndex.has(idx.name) || !paramNames.has(a.name)) throw unsupported;
        const first = col.get(`${a.name}[0]`);
        if (first === undefined) throw unsupported;
        // The index is checked to lie in 0..length-1 before the loop runs (the feature's range, from predictionSchema),
        // but for a category allowed new levels: a level past the last draws its element from the prior.
        const k = featureIndex.get(idx.name)!;
        const spec = features[k];
        if (spec.type !== "category" && spec.maximum === undefined) throw unsupported;
        if (spec.newLevels !== true) return read(`${first} + f${k}`);
        const key = `${a.name}|${idx.name}`;
        let local = newLevelReads.get(key);
        if (local === undefined) {
          local = `nl${newLevelReads.size}`;
          newLevelReads.set(key, local);
          prelude.push(
            `const ${local} = f${k} < ${numberLiteral(spec.levels, `category "${spec.name}"'s levels`)} ? ${read(`${first} + f${k}`)} : NL[${newElements.length}](rng, V, off);`,
          );
          newElements.push(newElementDraw(model, a.name, col));
        }
        return local;
      }
      case "element": {
        const a = model.nodes[n.a];
        if (a.op !== "param") throw unsupported;
        const c = col.get(`${a.name}[${n.k}]`);
        if (c === undefined) throw unsupported;
        return read(`${c}`);
      }
      case "matvec": {
        // A design matrix (the request's columns) times a parameter vector: the dot product, written out.
        const m = model.nodes[n.m];
        const v = model.nodes[n.v];
        const decl = m.op === "data" ? model.data.find((d) => d.name === m.name) : undefined;
        if (decl?.columns === undefined || v.op !== "param") throw unsupported;
        const scale = standardization[decl.name];
        const terms = decl.columns.map((c, j) => {
          const k = featureIndex.get(c);
          const w = col.get(`${v.name}[${j}]`);
          if (k === undefined || w === undefined) throw unsupported;
          const x = scale === undefined ? `f${k}` : `((f${k} - (${scale.means[j]})) * (${1 / scale.sds[j]}))`;
          return `${x} * ${read(`${w}`)}`;
        });
        return `(${terms.join(" + ")})`;
      }
      default:
        throw unsupported;
    }
  };
  try {
    const args = argIds.map((a) => expr(a));
    return { args, prelude, newElements };
  } catch (err) {
    if (err === unsupported) return null;
    throw err;
  }
}
