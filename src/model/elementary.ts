// exp, log and log1p written in JavaScript so that the optimising compiler can inline them into a generated row loop.
// V8's Math.exp/log/log1p are calls into C++ (fdlibm ports) that a loop cannot inline; per row of a logistic or
// Poisson likelihood they cost more than the rest of the row together. Table-driven as in Tang, "Table-driven
// implementation of the exponential function in IEEE floating-point arithmetic" (ACM TOMS 15(2), 1989) and "… of the
// logarithm function" (ACM TOMS 16(4), 1990): reduce the argument with a 128-entry table, then a short polynomial.
// Arguments outside the fast path's range (huge, tiny, subnormal, negative, non-finite) go to Math.*. Accuracy against
// mpmath is tested in test/model/elementary.test.ts.

import { EXP2_FRACTIONS } from "./exp-table.js";

/** Table size for both functions (Tang uses 32; glibc and ARM's optimized-routines use 128). */
const N = 128;

// ln 2 split as fdlibm's e_exp.c does (ln2_hi has 32 significant bits, so k·ln2_hi is exact for |k| < 2^21).
const LN2_HI = 6.9314718036912381649e-1;
const LN2_LO = 1.90821492927058770002e-10;

// ---- exp ----------------------------------------------------------------------------------------------------------

const INV_LN2_N = N / Math.LN2;
const LN2_HI_N = LN2_HI / N;
const LN2_LO_N = LN2_LO / N;
/** Adding and subtracting 1.5·2^52 rounds a double of magnitude < 2^51 to the nearest integer (ties to even). */
const ROUND_SHIFT = 6755399441055744;
/** Beyond these exp over- or underflows to a subnormal: Math.exp handles them. */
const EXP_FAST_MIN = -708;
const EXP_FAST_MAX = 709;

/** 2^e for e = −1024..1023 at index e + 1024: exp scales by 2^e (e ≥ −1022), log by 2^−e (e ≤ 1024; 2^−1024 is subnormal but exact). */
const POW2 = new Float64Array(2048);
const POW2_OFFSET = 1024;
for (let e = -1024; e <= 1023; e++) POW2[e + POW2_OFFSET] = 2 ** e;

/** e^x. */
export function exp(x: number): number {
  if (!(x > EXP_FAST_MIN && x < EXP_FAST_MAX)) return Math.exp(x);
  const kd = x * INV_LN2_N + ROUND_SHIFT - ROUND_SHIFT;
  const r = x - kd * LN2_HI_N - kd * LN2_LO_N;
  const k = kd | 0;
  const s = POW2[(k >> 7) + POW2_OFFSET] * EXP2_FRACTIONS[k & (N - 1)];
  // e^r − 1 for |r| ≤ ln 2 / 256: Taylor to r^5; the next term is below 2^-60 relative.
  const p = r + r * r * (0.5 + r * (1 / 6 + r * (1 / 24 + r * (1 / 120))));
  return s + s * p;
}

// ---- log ----------------------------------------------------------------------------------------------------------

const BITS = new Float64Array(1);
const BITS_WORDS = new Int32Array(BITS.buffer);
/**
 * Arguments are reduced to m = x / 2^e in [0.70703125, 1.4140625), about [1/√2, √2): with f the top 7 bits of x's
 * mantissa, mantissas from 1 + 53/128 = 1.4140625 up are halved, so that log x = e·ln 2 + log m never cancels.
 * (f + HALVE_BIAS) >> 7 is 1 exactly for f ≥ 53: the halving without a branch (f is effectively random per row).
 */
const HALVE_BIAS = N - 53;
/** Per mantissa index f: the reduction point c_f, 1/c_f and log c_f (see log). */
const LOG_C = new Float64Array(N);
const LOG_INV_C = new Float64Array(N);
const LOG_LOG_C = new Float64Array(N);
for (let f = 0; f < N; f++) {
  // Unhalved, [1 + f/128, 1 + (f+1)/128) is reduced by its left end; halved, by its right end — so that arguments next
  // to 1 on either side reduce by c = 1 exactly and lose nothing to cancellation.
  const c = (f + HALVE_BIAS) >> 7 === 0 ? 1 + f / N : (1 + (f + 1) / N) / 2;
  LOG_C[f] = c;
  LOG_INV_C[f] = 1 / c;
  LOG_LOG_C[f] = Math.log(c);
}

/** log x. */
export function log(x: number): number {
  return logPlus(x, 0);
}

/** log(1 + x), accurate for small x. */
export function log1p(x: number): number {
  if (!(x > -1 && x < Infinity)) return Math.log1p(x);
  const u = 1 + x;
  if (u === 1) return x; // |x| < 2^-53 (and ±0, whose sign this keeps)
  // u is 1 + x rounded; the rounding error, x − (u − 1), is exact (Goldberg 1991, §4.1) and goes in as a correction.
  return logPlus(u, x - (u - 1));
}

/** log(x + d) for |d| ≤ ulp(x): log x + d/x, with 1/x ≈ 2^−e/c_f from the reduction (its relative error, ~r, is harmless on d). */
function logPlus(x: number, d: number): number {
  BITS[0] = x;
  const hi = BITS_WORDS[1];
  // Negative (hi < 0 as a signed word), zero, subnormal, Inf and NaN arguments: Math.log.
  if (!(hi >= 0x00100000 && hi < 0x7ff00000)) return Math.log(x + d);
  const f = (hi >>> 13) & (N - 1);
  const e = (hi >>> 20) - 1023 + ((f + HALVE_BIAS) >> 7);
  const scale = POW2[POW2_OFFSET - e];
  const invC = LOG_INV_C[f];
  const r = (x * scale - LOG_C[f]) * invC;
  // log1p(r) − r for |r| < 2^-7: Taylor to r^8; the next term is below 2^-59 relative.
  const r2 = r * r;
  const p = r2 * (-0.5 + r * (1 / 3 + r * (-0.25 + r * (0.2 + r * (-1 / 6 + r * (1 / 7 + r * -0.125))))));
  return e * LN2_HI + LOG_LOG_C[f] + (r + (p + (e * LN2_LO + d * scale * invC)));
}
