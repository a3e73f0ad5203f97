// Special functions the log-densities and their gradients need. Plain functions over numbers, no allocation.
import erfc from "@stdlib/math-base-special-erfc";
import { exp, log, log1p } from "./elementary.js";

/** 0.5·log(2π). */
export const HALF_LOG_2PI = 0.9189385332046727;
export const LOG_PI = 1.1447298858494002;
export const LOG_2 = 0.6931471805599453;

/**
 * Remainder of Stirling's approximation, lgamma(x) − [(x − ½) log x − x + log √(2π)], for x ≥ 10 (Abramowitz &
 * Stegun 6.1.40, the series R's nmath `lgammacor` sums): coefficients B₂ₖ / (2k (2k − 1)) for k = 1..8. At x = 10 the
 * first omitted term is below 2e-18.
 */
export function lgammaCorrection(x: number): number {
  const z = 1 / (x * x);
  return (1 / 12 + z * (-1 / 360 + z * (1 / 1260 + z * (-1 / 1680 + z * (1 / 1188 + z * (-691 / 360360 + z * (1 / 156 + z * (-3617 / 122400)))))))) / x;
}

/** Stirling's series applies from here on (see lgammaCorrection). */
const STIRLING_FROM = 10;

/**
 * log Γ(x), to ~1e-15 relative (against scipy's gammaln): Stirling's series with its remainder for x ≥ 10; below, the
 * recurrence Γ(x) = Γ(x + k) / (x (x+1) … (x+k−1)) shifts x up first. Negative x by reflection; +Infinity at 0 and the
 * negative integers.
 */
export function lgamma(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x <= 0) return Math.floor(x) === x ? Infinity : LOG_PI - Math.log(Math.abs(Math.sin(Math.PI * x))) - lgamma(1 - x);
  if (x === Infinity) return Infinity;
  if (x >= STIRLING_FROM) return (x - 0.5) * Math.log(x) - x + HALF_LOG_2PI + lgammaCorrection(x);
  let prod = 1;
  let y = x;
  while (y < STIRLING_FROM) {
    prod *= y;
    y += 1;
  }
  return (y - 0.5) * Math.log(y) - y + HALF_LOG_2PI + lgammaCorrection(y) - Math.log(prod);
}

/**
 * From here on ψ is its asymptotic series (Abramowitz & Stegun 6.3.18); below, the recurrence shifts x up first. The
 * first term left out, B₁₆/(16 x¹⁶), is 1.6e-13 at x = 6 and 4e-17 at x = 10.
 */
const DIGAMMA_ASYMPTOTIC_FROM = 10;

/** log x − ψ(x) − 1/(2x), the tail of ψ's asymptotic series: Σₖ B₂ₖ / (2k x²ᵏ) for k = 1..7. */
function digammaSeries(x: number): number {
  const f = 1 / (x * x);
  return f * (1 / 12 - f * (1 / 120 - f * (1 / 252 - f * (1 / 240 - f * (1 / 132 - f * (691 / 32760 - f / 12))))));
}

/** ψ(x), the digamma function: recurrence up to x ≥ 10, then the asymptotic series (Abramowitz & Stegun 6.3.18). */
export function digamma(x: number): number {
  let result = 0;
  if (x <= 0 && Math.floor(x) === x) return NaN;
  if (x < 0) return digamma(1 - x) - Math.PI / Math.tan(Math.PI * x);
  while (x < DIGAMMA_ASYMPTOTIC_FROM) {
    result -= 1 / x;
    x += 1;
  }
  return result + Math.log(x) - 0.5 / x - digammaSeries(x);
}

/**
 * log Γ(x + a) − log Γ(x) for a ≥ 0: the Student-t's normalising constant at x = ν/2, a = ½, and the negative
 * binomial's count term at x = φ, a = y. For large x the two log Γ are large (~x log x) beside their difference
 * (~a log x): subtracting them keeps only ~16 − log₁₀(x log x) digits (a millionth absolute at ν = 10⁷). From
 * Stirling's range on it is written out from the series, (x − ½)·log1p(a/x) + a·log(x + a) − a + corr(x + a) − corr(x), so only terms of the size of the result are
 * added. Below, the plain difference.
 */
export function lgammaStep(x: number, a: number): number {
  if (!(x >= STIRLING_FROM) || !(a >= 0)) return lgamma(x + a) - lgamma(x);
  if (a === 0) return 0;
  if (x === Infinity) return a === Infinity ? NaN : Infinity;
  if (a === Infinity) return Infinity;
  return (x - 0.5) * Math.log1p(a / x) + a * Math.log(x + a) - a + (lgammaCorrection(x + a) - lgammaCorrection(x));
}

/**
 * ψ(x + a) − ψ(x) for a ≥ 0: the Student-t's gradient in ν at x = ν/2, a = ½, and the negative binomial's in φ at
 * x = φ, a = y. In the asymptotic range the log x of each (large beside their difference, ~a/x) cancels analytically: log1p(a/x) + a/(2x(x + a)) minus the difference of the series' tails.
 */
export function digammaStep(x: number, a: number): number {
  if (!(x >= DIGAMMA_ASYMPTOTIC_FROM) || !(a >= 0)) return digamma(x + a) - digamma(x);
  if (a === 0) return 0;
  if (x === Infinity) return a === Infinity ? NaN : 0;
  if (a === Infinity) return Infinity;
  const b = x + a;
  return Math.log1p(a / x) + (0.5 * a) / (x * b) - (digammaSeries(b) - digammaSeries(x));
}

/** log(1 + a/b) for a ≥ 0, b > 0: log1p(a/b), or log a − log b where a/b overflows (log1p(b/a) is then below 1e-300). */
export function log1pRatio(a: number, b: number): number {
  const r = a / b;
  return r < Infinity ? log1p(r) : Math.log(a) - Math.log(b);
}

/**
 * The negative binomial's terms in φ, log Γ(y + φ) − log Γ(φ) + φ log φ − (y + φ) log(μ + φ) (logMuPhi = log(μ + φ)),
 * for large φ: with log Γ's difference as lgammaStep and φ (log φ − log(μ + φ)) as −φ log1p(μ/φ), what is left to
 * cancel is y log(φ + y) against y log(μ + φ), a few ulps of y log φ (against ~2e-16·φ log φ in the plain form).
 */
export function negBinomialPhiTerms(y: number, mu: number, phi: number, logMuPhi: number): number {
  return lgammaStep(phi, y) - phi * log1pRatio(mu, phi) - y * logMuPhi;
}

/** ∂/∂φ of negBinomialPhiTerms: ψ(y + φ) − ψ(φ) − log1p(μ/φ) + (μ − y)/(μ + φ), each a term of order 1/φ. */
export function negBinomialPhiGradient(y: number, mu: number, phi: number): number {
  return digammaStep(phi, y) - log1pRatio(mu, phi) + (mu - y) / (mu + phi);
}

/**
 * log B(a, b) = log Γ(a) + log Γ(b) − log Γ(a + b), split as R's nmath/lbeta.c does: when one or both arguments are
 * large, the huge log Γ values cancel analytically instead of numerically.
 */
export function lbeta(a: number, b: number): number {
  if (Number.isNaN(a) || Number.isNaN(b)) return NaN;
  const p = Math.min(a, b);
  const q = Math.max(a, b);
  if (p < 0) return NaN;
  if (p === 0) return Infinity;
  if (q === Infinity) return -Infinity;
  if (p >= STIRLING_FROM) {
    const corr = lgammaCorrection(p) + lgammaCorrection(q) - lgammaCorrection(p + q);
    return Math.log(q) * -0.5 + HALF_LOG_2PI + corr + (p - 0.5) * Math.log(p / (p + q)) + q * Math.log1p(-p / (p + q));
  }
  if (q >= STIRLING_FROM) {
    const corr = lgammaCorrection(q) - lgammaCorrection(p + q);
    return lgamma(p) + corr + p - p * Math.log(p + q) + (q - 0.5) * Math.log1p(-p / (p + q));
  }
  return lgamma(p) + (lgamma(q) - lgamma(p + q));
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

/**
 * x·log(y), 0 where x = 0 and y ≥ 0: a Bernoulli or Poisson term with a zero count and a zero probability or rate.
 * NaN for y < 0 even where x = 0, so that a probability or rate outside its domain makes the log-density NaN (a
 * rejected state), as it does at every other count.
 */
export function xlogy(x: number, y: number): number {
  return x === 0 ? (y >= 0 ? 0 : Number.NaN) : x * Math.log(y);
}

/** x·log(1 − y), 0 where x = 0 and y ≤ 1; NaN for y > 1 (xlogy's reason). */
export function xlog1my(x: number, y: number): number {
  return x === 0 ? (y <= 1 ? 0 : Number.NaN) : x * Math.log1p(-y);
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
export const SPECIAL = {
  exp,
  log,
  log1p,
  lgamma,
  digamma,
  lgammaStep,
  digammaStep,
  negBinomialPhiTerms,
  negBinomialPhiGradient,
  lbeta,
  lchoose,
  log1pExp,
  logistic,
  logAddExp,
  xlogy,
  xlog1my,
  Phi,
  logPhi,
  dlogPhi,
  normalPdf,
} as const;
export type Special = typeof SPECIAL;
