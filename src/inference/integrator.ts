// The leapfrog (Störmer–Verlet) integrator: half step in momentum, full step in position, half step in momentum.
import type { LogDensityGradient, PhasePoint } from "./point.js";

export function leapfrog(z: PhasePoint, epsilon: number, invMetric: Float64Array, logDensity: LogDensityGradient): void {
  const { q, p, grad } = z;
  const n = q.length;
  const half = 0.5 * epsilon;
  for (let i = 0; i < n; i++) {
    p[i] += half * grad[i];
    q[i] += epsilon * invMetric[i] * p[i];
  }
  z.logp = logDensity(q, grad);
  for (let i = 0; i < n; i++) p[i] += half * grad[i];
}
