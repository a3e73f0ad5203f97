// A small seeded random-number generator for the examples' data simulators, so that each one writes the same CSV on
// every machine. Not the model's sampler: just enough to simulate data.

/** mulberry32 (Tommy Ettinger's 32-bit generator): uniform numbers in [0, 1). */
export function uniformStream(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Draws from the distributions the simulators use, over one uniform stream. */
export function randomDraws(seed: number) {
  const u = uniformStream(seed);
  const normal = (): number => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u()); // Box–Muller
  /** Poisson by inversion (rates here are small). */
  const poisson = (rate: number): number => {
    let k = 0;
    let p = Math.exp(-rate);
    let cdf = p;
    const v = u();
    while (v > cdf && k < 10_000) {
      k++;
      p *= rate / k;
      cdf += p;
    }
    return k;
  };
  /** Student-t with nu degrees of freedom, as a normal over the root of a scaled chi-square (integer nu). */
  const studentT = (nu: number): number => {
    let chi2 = 0;
    for (let i = 0; i < nu; i++) chi2 += normal() ** 2;
    return normal() / Math.sqrt(chi2 / nu);
  };
  return { uniform: u, normal, poisson, studentT, bernoulli: (p: number): number => (u() < p ? 1 : 0) };
}

/** Writes rows as CSV to standard output, numbers rounded to 4 decimals. */
export function printCsv(header: string[], rows: number[][]): void {
  const lines = [header.join(","), ...rows.map((r) => r.map((v) => (Number.isInteger(v) ? String(v) : v.toFixed(4))).join(","))];
  process.stdout.write(`${lines.join("\n")}\n`);
}
