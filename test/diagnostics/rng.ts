/** Small seeded generators for synthetic draws (test helper). */
import { mulberry32 } from "../support/mulberry32.js";

export { mulberry32 };

/** Standard normal draws by Box-Muller. */
export function normalSampler(seed: number): () => number {
  const u = mulberry32(seed);
  return () => {
    let u1 = u();
    while (u1 === 0) u1 = u();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u());
  };
}

/** A stationary AR(1) chain x_t = phi x_{t-1} + sqrt(1 - phi^2) e_t with unit marginal variance. */
export function ar1Chain(n: number, phi: number, seed: number, shift = 0): Float64Array {
  const z = normalSampler(seed);
  const x = new Float64Array(n);
  x[0] = z();
  const s = Math.sqrt(1 - phi * phi);
  for (let t = 1; t < n; t++) x[t] = phi * x[t - 1] + s * z();
  if (shift !== 0) for (let t = 0; t < n; t++) x[t] += shift;
  return x;
}
