// The random variates of the distributions whose draws are not a transform of one uniform or one normal: gamma,
// beta, Poisson, binomial, over the generator's uniforms and normals (random/rng.ts). The families' `draw`
// (families.ts) call them.
// Every generator returns on every input: an argument outside its domain (NaN, ±Infinity, a negative shape) throws a
// DistributionArgumentError before any rejection loop starts, and the loops that remain accept with a probability
// bounded away from zero, so each call takes a bounded expected number of steps.
import type { Rng } from "../random/rng.js";
import { DistributionArgumentError } from "./distribution-argument.js";
import { lgamma } from "./special.js";

/** The largest integer a double holds exactly (2^53 − 1): trial counts beyond it are not integers we can count. */
const MAX_EXACT_INTEGER = 9007199254740991;

/** Gamma(shape, 1) by Marsaglia & Tsang (2000); shape < 1 by the boost U^(1/shape). */
export function gammaVariate(rng: Rng, shape: number): number {
  if (!(shape > 0 && shape < Infinity)) throw new DistributionArgumentError("gamma", 0, "shape", shape, "> 0 and finite");
  // shape + 1 ≥ 1: one level of recursion at most.
  if (shape < 1) return gammaVariate(rng, shape + 1) * Math.pow(rng.uniformOpen(), 1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number, v: number;
    do {
      x = rng.normal();
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = rng.uniformOpen();
    if (u < 1 - 0.0331 * x * x * x * x) return d * v;
    if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}

/** Beta(a, b) as X / (X + Y) of two gammas. */
export function betaVariate(rng: Rng, a: number, b: number): number {
  if (!(a > 0 && a < Infinity)) throw new DistributionArgumentError("beta", 0, "a", a, "> 0 and finite");
  if (!(b > 0 && b < Infinity)) throw new DistributionArgumentError("beta", 1, "b", b, "> 0 and finite");
  const x = gammaVariate(rng, a);
  const y = gammaVariate(rng, b);
  return x / (x + y);
}

/** Poisson(lambda): multiplication method for small lambda, PTRS (Hörmann 1993) otherwise. */
export function poissonVariate(rng: Rng, lambda: number): number {
  if (!(lambda >= 0 && lambda < Infinity)) throw new DistributionArgumentError("poisson", 0, "rate", lambda, "≥ 0 and finite");
  if (lambda === 0) return 0;
  if (lambda < 10) {
    const l = Math.exp(-lambda);
    let k = 0;
    let p = rng.uniform();
    while (p > l) {
      k++;
      p *= rng.uniform();
    }
    return k;
  }
  const slam = Math.sqrt(lambda);
  const loglam = Math.log(lambda);
  const b = 0.931 + 2.53 * slam;
  const a = -0.059 + 0.02483 * b;
  const invalpha = 1.1239 + 1.1328 / (b - 3.4);
  const vr = 0.9277 - 3.6224 / (b - 2);
  for (;;) {
    const u = rng.uniform() - 0.5;
    const v = rng.uniform();
    const us = 0.5 - Math.abs(u);
    const k = Math.floor(((2 * a) / us + b) * u + lambda + 0.43);
    if (us >= 0.07 && v <= vr) return k;
    if (k < 0 || (us < 0.013 && v > us)) continue;
    if (Math.log(v) + Math.log(invalpha) - Math.log(a / (us * us) + b) <= -lambda + k * loglam - lgamma(k + 1)) return k;
  }
}

/** Binomial(n, p): inversion for small n, else Devroye's beta splitting (exact, O(log n) levels of recursion). */
export function binomialVariate(rng: Rng, n: number, p: number): number {
  if (!(n >= 0 && n <= MAX_EXACT_INTEGER && Math.floor(n) === n))
    throw new DistributionArgumentError("binomial", 0, "n", n, `an integer in 0..${MAX_EXACT_INTEGER}`);
  if (!(p >= 0 && p <= 1)) throw new DistributionArgumentError("binomial", 1, "p", p, "in [0, 1]");
  return binomialChecked(rng, n, p);
}

function binomialChecked(rng: Rng, n: number, p: number): number {
  if (p <= 0 || n <= 0) return 0;
  if (p >= 1) return n;
  if (n < 64) {
    let k = 0;
    for (let i = 0; i < n; i++) if (rng.uniform() < p) k++;
    return k;
  }
  // The k-th order statistic of n uniforms is Beta(k, n-k+1); split on it.
  const k = Math.floor((n + 1) / 2);
  const x = betaVariate(rng, k, n - k + 1);
  if (p < x) return binomialChecked(rng, k - 1, p / x);
  return k + binomialChecked(rng, n - k, (p - x) / (1 - x));
}
