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

export function copyPoint(from: PhasePoint, to: PhasePoint): void {
  to.q.set(from.q);
  to.p.set(from.p);
  to.grad.set(from.grad);
  to.logp = from.logp;
}

/** The log-density and gradient the sampler needs: returns log p(q) and writes its gradient. */
export type LogDensityGradient = (q: Float64Array, grad: Float64Array) => number;
