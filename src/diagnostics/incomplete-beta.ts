/**
 * Regularized incomplete beta function I_x(a, b) (the Beta(a, b) CDF) and the Beta density.
 *
 * Source: the continued fraction of A&S 26.5.8 evaluated with the modified Lentz method
 * (Press et al., Numerical Recipes, 3rd ed., §6.4 `betacf`), using the symmetry
 * I_x(a, b) = 1 - I_{1-x}(b, a) so that the fraction is evaluated where it converges fast.
 */
import { lbeta as logBeta } from "../model/special.js";

/** Below this, Lentz's method replaces a zero denominator (Numerical Recipes FPMIN). */
const TINY = 1e-300;
/** Relative convergence tolerance of the continued fraction (machine epsilon). */
const EPS = 2.220446049250313e-16;
/** The fraction needs O(sqrt(max(a, b))) terms; this bound is far above any practical case. */
const MAX_ITER = 100_000;

/** Continued fraction for I_x(a, b) (Numerical Recipes `betacf`), valid for x < (a+1)/(a+b+2). */
function betaContinuedFraction(a: number, b: number, x: number): number {
  const qab = a + b;
  const qap = a + 1;
  const qam = a - 1;
  let c = 1;
  let d = 1 - (qab * x) / qap;
  if (Math.abs(d) < TINY) d = TINY;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= MAX_ITER; m++) {
    const m2 = 2 * m;
    // Even step of the fraction.
    let aa = (m * (b - m) * x) / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    h *= d * c;
    // Odd step.
    aa = (-(a + m) * (qab + m) * x) / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) <= EPS) break;
  }
  return h;
}

/**
 * I_x(a, b) for a, b > 0 and 0 <= x <= 1: the CDF of Beta(a, b) at x, or with
 * `lowerTail = false` its complement 1 - I_x(a, b) = I_{1-x}(b, a) (as R's `pbeta`). The tail
 * whose continued fraction is evaluated directly keeps full relative accuracy even when tiny.
 * `lbeta` may be passed in when the caller evaluates many x for the same (a, b).
 */
export function regularizedIncompleteBeta(x: number, a: number, b: number, lowerTail = true, lbeta = logBeta(a, b)): number {
  if (Number.isNaN(x) || !(a > 0) || !(b > 0)) return Number.NaN;
  if (x <= 0) return lowerTail ? 0 : 1;
  if (x >= 1) return lowerTail ? 1 : 0;
  // log of the prefactor x^a (1-x)^b / B(a, b) (A&S 26.5.8).
  const logFront = a * Math.log(x) + b * Math.log1p(-x) - lbeta;
  if (x < (a + 1) / (a + b + 2)) {
    const lower = (Math.exp(logFront) * betaContinuedFraction(a, b, x)) / a;
    return lowerTail ? lower : 1 - lower;
  }
  const upper = (Math.exp(logFront) * betaContinuedFraction(b, a, 1 - x)) / b;
  return lowerTail ? 1 - upper : upper;
}

/** Beta(a, b) density at x in (0, 1). */
export function betaDensity(x: number, a: number, b: number, lbeta = logBeta(a, b)): number {
  if (Number.isNaN(x) || !(a > 0) || !(b > 0)) return Number.NaN;
  if (x < 0 || x > 1) return 0;
  return Math.exp((a - 1) * Math.log(x) + (b - 1) * Math.log1p(-x) - lbeta);
}
