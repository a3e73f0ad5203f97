// Constraint transforms: parameters are sampled on an unconstrained space; the log-Jacobian of the map to the
// constrained space is added to the log-density (Stan Reference Manual, "Constraint transforms").
// Each transform is written as code for the compiler: forward (u → x, log|J|) and backward (∂/∂x → ∂/∂u).
import type { TransformJSON } from "./graph.js";

export interface TransformCode {
  /** Writes P[o..o+n) from T[o..o+n), adds log|J| to `lp`. */
  forward(o: number, n: number): string;
  /** Writes G[o..o+n) from GP[o..o+n) (∂lp/∂x), adding ∂log|J|/∂u. */
  backward(o: number, n: number): string;
}

export function transformCode(t: TransformJSON): TransformCode {
  switch (t.kind) {
    case "identity":
      return {
        forward: (o, n) => `for (let k = ${o}; k < ${o + n}; k++) P[k] = T[k];`,
        backward: (o, n) => `for (let k = ${o}; k < ${o + n}; k++) G[k] = GP[k];`,
      };
    case "lower":
      // x = lower + exp(u); log|J| = u.
      return {
        forward: (o, n) => `for (let k = ${o}; k < ${o + n}; k++) { const e = F.exp(T[k]); E[k] = e; P[k] = ${t.lower} + e; lp += T[k]; }`,
        backward: (o, n) => `for (let k = ${o}; k < ${o + n}; k++) G[k] = GP[k] * E[k] + 1;`,
      };
    case "upper":
      // x = upper - exp(u); log|J| = u.
      return {
        forward: (o, n) => `for (let k = ${o}; k < ${o + n}; k++) { const e = F.exp(T[k]); E[k] = e; P[k] = ${t.upper} - e; lp += T[k]; }`,
        backward: (o, n) => `for (let k = ${o}; k < ${o + n}; k++) G[k] = -GP[k] * E[k] + 1;`,
      };
    case "interval": {
      // x = lower + (upper - lower)·logistic(u); log|J| = log(upper - lower) + log s + log(1 - s).
      const w = t.upper - t.lower;
      const logW = Math.log(w);
      return {
        forward: (o, n) =>
          `for (let k = ${o}; k < ${o + n}; k++) { const u = T[k]; const s = F.logistic(u); E[k] = s; P[k] = ${t.lower} + ${w} * s; ` +
          `lp += ${logW} - F.log1pExp(-u) - F.log1pExp(u); }`,
        backward: (o, n) => `for (let k = ${o}; k < ${o + n}; k++) { const s = E[k]; G[k] = GP[k] * ${w} * s * (1 - s) + 1 - 2 * s; }`,
      };
    }
    case "ordered":
      // x0 = u0, xk = x(k-1) + exp(uk); log|J| = Σ_{k≥1} uk.
      return {
        forward: (o, n) => `P[${o}] = T[${o}]; for (let k = ${o + 1}; k < ${o + n}; k++) { const e = F.exp(T[k]); E[k] = e; P[k] = P[k - 1] + e; lp += T[k]; }`,
        backward: (o, n) => `{ let acc = 0; for (let k = ${o + n - 1}; k > ${o}; k--) { acc += GP[k]; G[k] = acc * E[k] + 1; } G[${o}] = acc + GP[${o}]; }`,
      };
  }
}
