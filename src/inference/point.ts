// A point in phase space: position q, momentum p, and the log-density with its gradient at q.
export interface PhasePoint {
  q: Float64Array;
  p: Float64Array;
  /** ∂ log p(q) / ∂q. */
  grad: Float64Array;
  /** log p(q); the potential energy is −logp. */
  logp: number;
}

export function createPoint(dim: number): PhasePoint {
  return { q: new Float64Array(dim), p: new Float64Array(dim), grad: new Float64Array(dim), logp: 0 };
}

/** Copies a point (a plain loop: for the few dimensions typical here it beats TypedArray#set's call overhead). */
export function copyPoint(from: PhasePoint, to: PhasePoint): void {
  const n = from.q.length;
  const fq = from.q,
    fp = from.p,
    fg = from.grad,
    tq = to.q,
    tp = to.p,
    tg = to.grad;
  for (let i = 0; i < n; i++) {
    tq[i] = fq[i];
    tp[i] = fp[i];
    tg[i] = fg[i];
  }
  to.logp = from.logp;
}

/** The log-density and gradient the sampler needs: returns log p(q) and writes its gradient. */
export type LogDensityGradient = (q: Float64Array, grad: Float64Array) => number;
