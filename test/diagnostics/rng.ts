/** Small seeded generators for synthetic draws (test helper). */

/** mulberry32: a 32-bit seeded PRNG, uniform on [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

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
