// The seeded generator every layer draws from: xoshiro128** (Blackman & Vigna 2018) seeded by splitmix32, uniform
// integers and doubles, and the standard normal. Deterministic for a given seed and stream on every platform (32-bit
// integer arithmetic only): a chain's, a request's or a split's draws depend only on (seed, stream).
// The distributions' variates built on it (gamma, beta, Poisson, binomial) are the model's: model/variates.ts.

export class Rng {
  /** xoshiro128** state, as int32 in a typed array: class fields would hold uint32 values above 2^31 as boxed doubles. */
  private readonly s = new Int32Array(4);

  /** `stream` separates independent sequences for the same seed (one per chain, one per request, ...). */
  constructor(seed: number, stream = 0) {
    let x = (Math.trunc(seed) ^ Math.imul(stream + 1, 0x9e3779b9)) >>> 0;
    const next = (): number => {
      // splitmix32
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    // Mix the high part of large seeds in as well.
    x = (x ^ Math.floor(Math.trunc(seed) / 4294967296)) >>> 0;
    const s = this.s;
    for (let i = 0; i < 4; i++) s[i] = next();
    if ((s[0] | s[1] | s[2] | s[3]) === 0) s[0] = 1;
  }

  /** Next 32 random bits. */
  nextUint32(): number {
    const s = this.s;
    const s0 = s[0];
    const s1 = s[1];
    // The rotations written out, not in a rotl() helper: a tiny function this hot gets optimised on its own before
    // its callers inline it, and each worker's compile time is part of its chain's time.
    const s5 = Math.imul(s1, 5);
    const result = Math.imul((s5 << 7) | (s5 >>> 25), 9) >>> 0;
    const s2 = s[2] ^ s0;
    const s3 = s[3] ^ s1;
    s[0] = s0 ^ s3;
    s[1] = s1 ^ s2;
    s[2] = s2 ^ (s1 << 9);
    s[3] = (s3 << 11) | (s3 >>> 21);
    return result;
  }

  /** Writes the generator's state (four int32) into `to` at `at`: a kernel that draws from the same stream elsewhere. */
  saveState(to: Int32Array, at: number): void {
    for (let i = 0; i < 4; i++) to[at + i] = this.s[i];
  }

  /** Takes the state back from `from` at `at` (what saveState wrote, advanced by the other kernel's draws). */
  restoreState(from: Int32Array, at: number): void {
    for (let i = 0; i < 4; i++) this.s[i] = from[at + i];
  }

  /** Uniform on [0, 1) with 53 random bits. */
  uniform(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform on (0, 1): never 0, so logs are finite. */
  uniformOpen(): number {
    let u = this.uniform();
    while (u === 0) u = this.uniform();
    return u;
  }

  private intN = 0;
  private intThreshold = 0;

  /**
   * Integer uniform on 0..n-1 (n ≤ 2^32), without bias. For n ≤ 2^21 Lemire's multiply-and-shift (Lemire 2019,
   * "Fast random integer generation in an interval", ACM TOMACS 29(1)): r·n is exact in a double, its high 32 bits
   * are the answer, and the rare low words below 2^32 mod n are rejected. Larger n: rejection above the largest
   * multiple of n, then the remainder.
   */
  int(n: number): number {
    if (n <= 1) return 0;
    if (n > 4294967296) return Math.floor(this.uniform() * n);
    // The threshold depends only on n: computed once for repeated calls with the same n (the common case).
    if (n !== this.intN) {
      this.intN = n;
      this.intThreshold = 4294967296 % n;
    }
    const threshold = this.intThreshold;
    if (n <= LEMIRE_MAX_N) {
      for (;;) {
        const m = this.nextUint32() * n;
        const high = Math.floor(m * 2.3283064365386963e-10); // m / 2^32, exact: a power of two
        if (m - high * 4294967296 >= threshold) return high;
      }
    }
    const limit = 4294967296 - threshold;
    let r = this.nextUint32();
    while (r >= limit) r = this.nextUint32();
    // r % n, written so that it compiles to a division rather than a call to fmod (r may exceed int32).
    return r - Math.floor(r / n) * n;
  }

  /**
   * Standard normal by the ziggurat method (Marsaglia & Tsang 2000) with 256 layers and 64 random bits a draw —
   * 8 for the layer, 1 for the sign, 52 for the value — as numpy's Generator.standard_normal does, so that the
   * layer and the value never share bits (the flaw Doornik 2005 found in the original 32-bit RNOR). 99 % of draws
   * cost two 32-bit draws, a multiply and a compare; the rest go to `normalBeyondLayer`.
   */
  normal(): number {
    const lo = this.nextUint32();
    const hi = this.nextUint32();
    const idx = lo & 0xff;
    // Bit 8 as ±1: a multiply, not a branch — the sign is a coin flip, so a branch on it mispredicts half the time.
    // x·(±1) is exactly ±x.
    const sign = 1 - ((lo >>> 7) & 2);
    const rabs = hi * 1048576 + (lo >>> 12); // 32 + 20 = 52 bits
    if (rabs < ZIG_K[idx]) return sign * (rabs * ZIG_W[idx]);
    // The unary plus tells V8 the call gives a number: where normal() is inlined (fillNormal, the NUTS momentum),
    // its two returns then merge as an unboxed double instead of boxing every draw on the heap.
    return +this.normalBeyondLayer(idx, sign, rabs);
  }

  /**
   * The ziggurat's rare cases (~1 % of draws), kept apart so that the fast path stays small enough to inline: the
   * wedge of layer idx, or the tail beyond r (Marsaglia 1964) for the base layer; a rejected point starts a new draw.
   * Public for a kernel that draws the fast path itself (inference/nuts.wat) from the same state.
   */
  normalBeyondLayer(idx: number, sign: number, rabs: number): number {
    if (idx === 0) {
      for (;;) {
        const xx = -ZIG_INV_R * Math.log1p(-this.uniform());
        const yy = -Math.log1p(-this.uniform());
        if (yy + yy > xx * xx) return sign * (ZIG_R + xx);
      }
    }
    const x = rabs * ZIG_W[idx];
    if ((ZIG_F[idx - 1] - ZIG_F[idx]) * this.uniform() + ZIG_F[idx] < Math.exp(-0.5 * x * x)) return sign * x;
    return this.normal();
  }

  /** out[0..n) = n standard normals, as n calls of normal(): a chunk's noise in one pass. */
  fillNormal(out: Float64Array, n: number): void {
    for (let i = 0; i < n; i++) out[i] = this.normal();
  }
}

/** Largest n for which r·n (r < 2^32) is exact in a double (2^53). */
const LEMIRE_MAX_N = 2097152;

// Ziggurat tables for the standard normal, 256 layers of equal area (Marsaglia & Tsang 2000, "The Ziggurat Method
// for Generating Random Variables", J. Stat. Softw. 5(8), with their zigset() recursion): r is the start of the tail,
// v the area of each layer. Values are scaled for 52-bit integers: x = rabs · W[i], accepted at once when rabs < K[i].
const ZIG_R = 3.6541528853610088;
const ZIG_INV_R = 1 / ZIG_R;
const ZIG_V = 4.92867323399e-3;
const ZIG_M = 4503599627370496; // 2^52
/** The ziggurat's acceptance bounds K and scales W by layer (nuts.wat keeps a copy for its fast path). */
export const ZIG_K = new Float64Array(256);
export const ZIG_W = new Float64Array(256);
const ZIG_F = new Float64Array(256);
{
  let dn = ZIG_R;
  let tn = dn;
  const q = ZIG_V / Math.exp(-0.5 * dn * dn);
  ZIG_K[0] = (dn / q) * ZIG_M;
  ZIG_K[1] = 0;
  ZIG_W[0] = q / ZIG_M;
  ZIG_W[255] = dn / ZIG_M;
  ZIG_F[0] = 1;
  ZIG_F[255] = Math.exp(-0.5 * dn * dn);
  for (let i = 254; i >= 1; i--) {
    dn = Math.sqrt(-2 * Math.log(ZIG_V / dn + Math.exp(-0.5 * dn * dn)));
    ZIG_K[i + 1] = (dn / tn) * ZIG_M;
    tn = dn;
    ZIG_F[i] = Math.exp(-0.5 * dn * dn);
    ZIG_W[i] = dn / ZIG_M;
  }
}
