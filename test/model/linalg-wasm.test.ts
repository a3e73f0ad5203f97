// linalg.wat against linalg.ts: its bytes are the assembled source; gaussianFactors gives, bit for bit, what the
// JavaScript functions give (L, L⁻¹r, K⁻¹r, K⁻¹) on every size tried, refuses the same matrices, and both agree with
// matrices whose factors and inverses are known in closed form (Pascal, Hilbert).
import { Buffer } from "node:buffer";
import { describe, expect, it } from "vitest";
import { assembleWat } from "../../scripts/assemble-wat.js";
import { gaussianFactors, gaussianFactorsInJavaScript } from "../../src/model/linalg-wasm.js";
import { LINALG_BASE64 } from "../../src/model/linalg-wasm-binary.js";
import { Rng } from "../../src/random/rng.js";

interface Factors {
  ok: boolean;
  L: Float64Array;
  z: Float64Array;
  alpha: Float64Array;
  inverse: Float64Array | null;
}

function factorsBy(run: typeof gaussianFactors, K: Float64Array, r: Float64Array, n: number, withInverse: boolean): Factors {
  const out = { L: new Float64Array(n * n), z: new Float64Array(n), alpha: new Float64Array(n), inverse: withInverse ? new Float64Array(n * n) : null };
  const ok = run(K, r, n, out.L, out.z, out.alpha, out.inverse);
  return { ok, ...out };
}

/** A A ᵀ + n I for A with standard normal entries: symmetric positive definite, condition number ~10. */
function randomCovariance(rng: Rng, n: number): Float64Array {
  const A = Float64Array.from({ length: n * n }, () => rng.normal());
  const K = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let s = i === j ? n : 0;
      for (let k = 0; k < n; k++) s += A[i * n + k] * A[j * n + k];
      K[i * n + j] = s;
    }
  return K;
}

function binomial(n: number, k: number): number {
  let c = 1;
  for (let i = 1; i <= k; i++) c = (c * (n - k + i)) / i;
  return c;
}

describe("the WebAssembly Gaussian factors (linalg.wat)", () => {
  it("linalg-wasm-binary.ts holds the bytes the .wat source assembles to", async () => {
    const assembled = await assembleWat("src/model/linalg.wat");
    expect(Buffer.from(LINALG_BASE64, "base64").equals(assembled)).toBe(true);
  });

  it("gives linalg.ts's results bit for bit, from 1 to 100 points, with and without the inverse", () => {
    const rng = new Rng(7);
    // 100 points need 320 kB: the module's memory grows past its first page, and smaller sizes after it still work.
    for (const n of [1, 2, 3, 11, 40, 100, 11, 5]) {
      const K = randomCovariance(rng, n);
      const r = Float64Array.from({ length: n }, () => rng.normal());
      for (const withInverse of [true, false]) {
        const wasm = factorsBy(gaussianFactors, K, r, n, withInverse);
        const js = factorsBy(gaussianFactorsInJavaScript, K, r, n, withInverse);
        expect(wasm.ok).toBe(true);
        expect(js.ok).toBe(true);
        expect(wasm.L).toEqual(js.L);
        expect(wasm.z).toEqual(js.z);
        expect(wasm.alpha).toEqual(js.alpha);
        expect(wasm.inverse).toEqual(js.inverse);
      }
      // And they are right: K α = r, K K⁻¹ = I.
      const f = factorsBy(gaussianFactors, K, r, n, true);
      for (let i = 0; i < n; i++) {
        let Ka = 0;
        for (let k = 0; k < n; k++) Ka += K[i * n + k] * f.alpha[k];
        expect(Ka).toBeCloseTo(r[i], 10);
        for (let j = 0; j < n; j++) {
          let KKi = 0;
          for (let k = 0; k < n; k++) KKi += K[i * n + k] * f.inverse![k * n + j];
          expect(KKi).toBeCloseTo(i === j ? 1 : 0, 10);
        }
      }
    }
  });

  it("factors the symmetric Pascal matrix into the lower Pascal matrix, exactly", () => {
    // S[i, j] = C(i + j, i) = Σₖ C(i, k) C(j, k): its Cholesky factor is L[i, k] = C(i, k) (Edelman & Strang 2004), and
    // every operation on these integers is exact in doubles.
    const n = 9;
    const S = Float64Array.from({ length: n * n }, (_, q) => binomial(Math.floor(q / n) + (q % n), q % n));
    const f = factorsBy(gaussianFactors, S, new Float64Array(n).fill(1), n, true);
    expect(f.ok).toBe(true);
    expect(Array.from(f.L)).toEqual(Array.from({ length: n * n }, (_, q) => (q % n <= Math.floor(q / n) ? binomial(Math.floor(q / n), q % n) : 0)));
  });

  it("inverts the 5 × 5 Hilbert matrix to its published integer inverse", () => {
    // H[i, j] = 1/(i + j + 1); H⁻¹ has integer entries (Choi 1983, "Tricks or treats with the Hilbert matrix"), the
    // largest 179,200. cond(H) ≈ 4.8·10⁵, so about 10 digits survive.
    const n = 5;
    const H = Float64Array.from({ length: n * n }, (_, q) => 1 / (Math.floor(q / n) + (q % n) + 1));
    const published = [
      [25, -300, 1050, -1400, 630],
      [-300, 4800, -18900, 26880, -12600],
      [1050, -18900, 79380, -117600, 56700],
      [-1400, 26880, -117600, 179200, -88200],
      [630, -12600, 56700, -88200, 44100],
    ].flat();
    const f = factorsBy(gaussianFactors, H, new Float64Array(n), n, true);
    f.inverse!.forEach((v, q) => expect(Math.abs(v - published[q]) / Math.abs(published[q])).toBeLessThan(1e-9));
  });

  it("falls back to linalg.ts where the module's memory cannot grow", () => {
    const n = 150; // 4 n² + 3 n doubles: more than the sizes above made the memory hold
    const rng = new Rng(5);
    const K = randomCovariance(rng, n);
    const r = Float64Array.from({ length: n }, () => rng.normal());
    const grow = WebAssembly.Memory.prototype.grow;
    WebAssembly.Memory.prototype.grow = () => {
      throw new RangeError("WebAssembly.Memory.grow(): Maximum memory size exceeded");
    };
    try {
      const wasm = factorsBy(gaussianFactors, K, r, n, true);
      const js = factorsBy(gaussianFactorsInJavaScript, K, r, n, true);
      expect(wasm).toEqual(js);
    } finally {
      WebAssembly.Memory.prototype.grow = grow;
    }
  });

  it("refuses a matrix that is not positive definite as linalg.ts does, with the same partial factor", () => {
    const n = 6;
    const rng = new Rng(3);
    const indefinite = randomCovariance(rng, n);
    indefinite[4 * n + 4] = -1; // a negative pivot at column 4
    const withNaN = randomCovariance(rng, n);
    withNaN[2 * n + 2] = NaN;
    const singular = new Float64Array(n * n).fill(1); // rank one: the second pivot is 0
    for (const K of [indefinite, withNaN, singular]) {
      const wasm = factorsBy(gaussianFactors, K, new Float64Array(n), n, true);
      const js = factorsBy(gaussianFactorsInJavaScript, K, new Float64Array(n), n, true);
      expect(wasm.ok).toBe(false);
      expect(js.ok).toBe(false);
      expect(wasm.L).toEqual(js.L);
    }
  });
});
