// Forward evaluation of a bound model's nodes, one parameter draw at a time, as whole arrays. Used for what does not
// need gradients: data-only sub-expressions at compile time, deterministic quantities, and simulation. The compiled
// log-density (compile.ts) is checked against the log-density computed here (scalar-logp.ts), written independently.
import { type BoundModel, nodeInputs } from "./bind.js";
import type { NodeJSON } from "./graph.js";
import { logistic, log1pExp, Phi } from "./special.js";
import { scalarLogp } from "./scalar-logp.js";

export type Value = Float64Array;

/** The nodes `roots` are computed from (themselves included): evaluateNodes' `needed` for just those. */
export function nodesFeeding(bound: BoundModel, roots: number[]): boolean[] {
  const needed = new Array<boolean>(bound.json.nodes.length).fill(false);
  const stack = [...roots];
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (needed[id]) continue;
    needed[id] = true;
    stack.push(...nodeInputs(bound.json.nodes[id]));
  }
  return needed;
}

/**
 * Evaluate nodes [0, upTo] for one draw. `params` holds constrained parameter values laid out as `bound.params`
 * (at `offset`). Returns one array per node (scalars are length-1 arrays; matrices row-major).
 */
export function evaluateNodes(bound: BoundModel, params: Float64Array | null, offset = 0, upTo = bound.json.nodes.length - 1, needed?: boolean[]): Value[] {
  const out: Value[] = new Array(upTo + 1);
  const shapes = bound.shapes;
  const size = (id: number) => shapes[id].reduce((a, b) => a * b, 1);
  const get = (id: number, i: number) => {
    const v = out[id];
    return v.length === 1 ? v[0] : v[i];
  };
  for (let id = 0; id <= upTo; id++) {
    if (needed && !needed[id]) continue;
    const n: NodeJSON = bound.json.nodes[id];
    const len = size(id);
    let v: Float64Array;
    switch (n.op) {
      case "const":
        v = Float64Array.of(n.value);
        break;
      case "param": {
        const p = bound.paramByName.get(n.name)!;
        if (!params) throw new Error(`evaluating ${n.name} needs parameter values`);
        v = params.slice(offset + p.offset, offset + p.offset + p.size);
        break;
      }
      case "data":
        v = bound.data.get(n.name)!.values;
        break;
      case "unary": {
        v = new Float64Array(len);
        const f = UNARY[n.fn];
        for (let i = 0; i < len; i++) v[i] = f(get(n.a, i));
        break;
      }
      case "binary": {
        v = new Float64Array(len);
        const f = BINARY[n.fn];
        for (let i = 0; i < len; i++) v[i] = f(get(n.a, i), get(n.b, i));
        break;
      }
      case "index": {
        v = new Float64Array(len);
        const idx = bound.data.get((bound.json.nodes[n.index] as { name: string }).name)!.ints!;
        const a = out[n.a];
        for (let i = 0; i < len; i++) v[i] = a[idx[i]];
        break;
      }
      case "element":
        v = Float64Array.of(out[n.a][n.k]);
        break;
      case "matvec": {
        const [r, c] = shapes[n.m];
        const m = out[n.m];
        const x = out[n.v];
        v = new Float64Array(r);
        for (let i = 0; i < r; i++) {
          let s = 0;
          for (let j = 0; j < c; j++) s += m[i * c + j] * x[j];
          v[i] = s;
        }
        break;
      }
      case "sum": {
        const a = out[n.a];
        let s = 0;
        for (let i = 0; i < a.length; i++) s += a[i];
        v = Float64Array.of(s);
        break;
      }
      case "logSumExp": {
        v = new Float64Array(len);
        for (let i = 0; i < len; i++) {
          let m = -Infinity;
          for (const a of n.args) m = Math.max(m, get(a, i));
          if (m === -Infinity) {
            v[i] = -Infinity;
            continue;
          }
          let s = 0;
          for (const a of n.args) s += Math.exp(get(a, i) - m);
          v[i] = m + Math.log(s);
        }
        break;
      }
      case "logp": {
        v = new Float64Array(len);
        const f = n.dist.family;
        const args = new Float64Array(n.dist.args.length);
        for (let i = 0; i < len; i++) {
          for (let k = 0; k < args.length; k++) args[k] = get(n.dist.args[k], i);
          v[i] = scalarLogp(f, get(n.value, i), args);
        }
        break;
      }
      case "covExpQuad": {
        const x = out[n.x];
        const alpha = out[n.alpha][0];
        const rho = out[n.rho][0];
        const k = x.length;
        v = new Float64Array(k * k);
        for (let i = 0; i < k; i++)
          for (let j = 0; j < k; j++) {
            const d = x[i] - x[j];
            v[i * k + j] = alpha * alpha * Math.exp((-d * d) / (2 * rho * rho));
          }
        break;
      }
      case "addDiag": {
        const k = shapes[n.m][0];
        v = out[n.m].slice();
        for (let i = 0; i < k; i++) v[i * k + i] += get(n.d, i);
        break;
      }
    }
    out[id] = v;
  }
  return out;
}

export const UNARY: Record<string, (a: number) => number> = {
  neg: (a) => -a,
  exp: Math.exp,
  log: Math.log,
  log1p: Math.log1p,
  log1m: (a) => Math.log1p(-a),
  logistic,
  softplus: log1pExp,
  sqrt: Math.sqrt,
  square: (a) => a * a,
  abs: Math.abs,
  Phi,
};

export const BINARY: Record<string, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  pow: Math.pow,
};
