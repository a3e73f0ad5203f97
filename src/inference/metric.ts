// The diagonal Euclidean metric (Stan's diag_e_metric): kinetic energy ½ pᵀ M⁻¹ p with M⁻¹ = diag(invMetric).
import type { Rng } from "../model/random.js";

/** Draws p ~ N(0, M), M = diag(1 / invMetric). */
export function sampleMomentum(p: Float64Array, invMetric: Float64Array, rng: Rng): void {
  for (let i = 0; i < p.length; i++) p[i] = rng.normal() / Math.sqrt(invMetric[i]);
}

export function kineticEnergy(p: Float64Array, invMetric: Float64Array): number {
  let t = 0;
  for (let i = 0; i < p.length; i++) t += invMetric[i] * p[i] * p[i];
  return 0.5 * t;
}

/** dτ/dp = M⁻¹ p, the velocity ("sharp" momentum) used by the U-turn criterion. */
export function velocity(p: Float64Array, invMetric: Float64Array, out: Float64Array): void {
  for (let i = 0; i < p.length; i++) out[i] = invMetric[i] * p[i];
}
