// The diagonal Euclidean metric (Stan's diag_e_metric): kinetic energy ½ pᵀ M⁻¹ p with M⁻¹ = diag(invMetric).
import type { Rng } from "../random/rng.js";
import type { PhasePoint } from "./point.js";

/** Draws p ~ N(0, M), M = diag(1 / invMetric). */
export function sampleMomentum(p: Float64Array, invMetric: Float64Array, rng: Rng): void {
  for (let i = 0; i < p.length; i++) p[i] = rng.normal() / Math.sqrt(invMetric[i]);
}

/** H(q, p) = −log p(q) + ½ pᵀ M⁻¹ p: potential plus kinetic energy. */
export function hamiltonian(z: PhasePoint, invMetric: Float64Array): number {
  const p = z.p;
  let t = 0;
  for (let i = 0; i < p.length; i++) t += invMetric[i] * p[i] * p[i];
  return -z.logp + 0.5 * t;
}
