// Special functions the log-densities and their gradients need. Plain functions over numbers, no allocation.
import erfc from "@stdlib/math-base-special-erfc";

/** 0.5·log(2π). */
export const HALF_LOG_2PI = 0.9189385332046727;
export const LOG_PI = 1.1447298858494002;
export const LOG_2 = 0.6931471805599453;

// Lanczos approximation, g = 7, n = 9 (coefficients from Numerical Recipes 3rd ed. §6.1 / Boost's lanczos13 family);
// relative error about 1e-15 for x > 0.
const LANCZOS_G = 7;
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** log Γ(x) for x > 0 (reflection for x < 0.5). */
export function lgamma(x: number): number {
  if (x < 0.5) return LOG_PI - Math.log(Math.abs(Math.sin(Math.PI * x))) - lgamma(1 - x);
  const z = x - 1;
  let a = LANCZOS[0];
  const t = z + LANCZOS_G + 0.5;
  for (let i = 1; i < 9; i++) a += LANCZOS[i] / (z + i);
  return HALF_LOG_2PI + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** ψ(x), the digamma function: recurrence up to x ≥ 6, then the asymptotic series (Abramowitz & Stegun 6.3.18). */
export function digamma(x: number): number {
  let result = 0;
  if (x <= 0 && Math.floor(x) === x) return NaN;
  if (x < 0) return digamma(1 - x) - Math.PI / Math.tan(Math.PI * x);
  while (x < 6) {
    result -= 1 / x;
    x += 1;
  }
  const f = 1 / (x * x);
  return (
    result +
    Math.log(x) -
    0.5 / x -
    f * (1 / 12 - f * (1 / 120 - f * (1 / 252 - f * (1 / 240 - f * (1 / 132 - f * (691 / 32760 - f / 12))))))
  );
}

/** log B(a, b). */
export function lbeta(a: number, b: number): number {
  return lgamma(a) + lgamma(b) - lgamma(a + b);
}

/** log(n choose k) for real n ≥ k ≥ 0. */
export function lchoose(n: number, k: number): number {
  return lgamma(n + 1) - lgamma(k + 1) - lgamma(n - k + 1);
}

/** log(1 + exp(x)) without overflow. */
export function log1pExp(x: number): number {
  return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
}

/** 1 / (1 + exp(-x)). */
export function logistic(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

/** log(exp(a) + exp(b)). */
export function logAddExp(a: number, b: number): number {
  if (a === -Infinity) return b;
  if (b === -Infinity) return a;
  return a > b ? a + Math.log1p(Math.exp(b - a)) : b + Math.log1p(Math.exp(a - b));
}

/** x·log(y), 0 where x = 0 (whatever y): a Bernoulli or Poisson term with a zero count and a zero probability or rate. */
export function xlogy(x: number, y: number): number {
  return x === 0 ? 0 : x * Math.log(y);
}

/** x·log(1 − y), 0 where x = 0. */
export function xlog1my(x: number, y: number): number {
  return x === 0 ? 0 : x * Math.log1p(-y);
}

/** 1/√2 */
const SQRT1_2 = 0.7071067811865476;

/** Φ(x), the standard normal CDF: ½·erfc(−x/√2), accurate in both tails (stdlib's erfc, FreeBSD's s_erf.c). */
export function Phi(x: number): number {
  return 0.5 * erfc(-x * SQRT1_2);
}

/**
 * log Φ(x). From erfc while it is representable (x > −37.5); below, the asymptotic series of Mills' ratio
 * (Abramowitz & Stegun 26.2.12): log Φ(x) ≈ −x²/2 − log(−x) − ½·log(2π) + log(1 − 1/x² + 3/x⁴).
 */
export function logPhi(x: number): number {
  if (x > -37.5) return Math.log(Phi(x));
  const r = 1 / (x * x);
  return -0.5 * x * x - Math.log(-x) - HALF_LOG_2PI + Math.log1p(-r + 3 * r * r);
}

/** φ(x) / Φ(x), the derivative of log Φ(x) (the inverse Mills ratio), without 0/0 in the far left tail. */
export function dlogPhi(x: number): number {
  return Math.exp(-0.5 * x * x - HALF_LOG_2PI - logPhi(x));
}

/** φ(x), the standard normal density. */
export function normalPdf(x: number): number {
  return Math.exp(-0.5 * x * x - HALF_LOG_2PI);
}

/** The functions generated code may call, passed in as one object. */
export const SPECIAL = { lgamma, digamma, lbeta, lchoose, log1pExp, logistic, logAddExp, xlogy, xlog1my, Phi, logPhi, dlogPhi, normalPdf } as const;
export type Special = typeof SPECIAL;
