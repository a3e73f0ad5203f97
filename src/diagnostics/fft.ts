/**
 * In-place iterative radix-2 complex FFT (Cooley & Tukey 1965), used for FFT-based
 * autocovariances. Twiddle factors are computed directly with Math.cos/Math.sin (not by
 * recurrence) and cached per size, so round-off stays at a few ulps times log2(n).
 */

const twiddleCache = new Map<number, { cos: Float64Array; sin: Float64Array }>();

function twiddles(n: number): { cos: Float64Array; sin: Float64Array } {
  let t = twiddleCache.get(n);
  if (t === undefined) {
    const half = n >> 1;
    const cos = new Float64Array(half);
    const sin = new Float64Array(half);
    for (let k = 0; k < half; k++) {
      const angle = (-2 * Math.PI * k) / n;
      cos[k] = Math.cos(angle);
      sin[k] = Math.sin(angle);
    }
    t = { cos, sin };
    if (twiddleCache.size > 32) twiddleCache.clear();
    twiddleCache.set(n, t);
  }
  return t;
}

/** Smallest power of two >= n (n >= 1). */
export function nextPowerOfTwo(n: number): number {
  let m = 1;
  while (m < n) m *= 2;
  return m;
}

/**
 * Forward (e^{-2πi jk/n}) or, with `inverse`, unnormalised inverse (e^{+2πi jk/n}) DFT of
 * (re, im), in place. The length must be a power of two.
 */
export function fftInPlace(re: Float64Array, im: Float64Array, inverse = false): void {
  const n = re.length;
  if (im.length !== n) throw new RangeError("fft: re and im must have equal lengths");
  if (n <= 1) return;
  if ((n & (n - 1)) !== 0) throw new RangeError(`fft: length must be a power of two, got ${n}`);
  // Bit-reversal permutation.
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      let t = re[i];
      re[i] = re[j];
      re[j] = t;
      t = im[i];
      im[i] = im[j];
      im[j] = t;
    }
  }
  const { cos, sin } = twiddles(n);
  const sign = inverse ? -1 : 1;
  for (let size = 2; size <= n; size *= 2) {
    const halfSize = size >> 1;
    const step = n / size;
    for (let start = 0; start < n; start += size) {
      for (let k = 0, tw = 0; k < halfSize; k++, tw += step) {
        const wr = cos[tw];
        const wi = sign * sin[tw];
        const a = start + k;
        const b = a + halfSize;
        const xr = re[b] * wr - im[b] * wi;
        const xi = re[b] * wi + im[b] * wr;
        re[b] = re[a] - xr;
        im[b] = im[a] - xi;
        re[a] += xr;
        im[a] += xi;
      }
    }
  }
}
