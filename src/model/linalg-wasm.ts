// A multivariate normal's factors (Cholesky factor, the two solves, K⁻¹) for the generated log-density, computed by
// linalg.wat: bit for bit what linalg.ts's functions give, about twice as fast at a Gaussian process's sizes
// (bench/README.md, "Gaussian processes"). The arguments are the generated code's own arrays; they are copied into
// and out of the module's memory around the call (a few hundred bytes at n = 11, against O(n³) work), so the
// generated code, its shards and their per-thread buffers stay plain Float64Arrays.
import { cholesky, inverseFromCholesky, solveLower, solveUpperT } from "./linalg.js";
import { LINALG_BASE64 } from "./linalg-wasm-binary.js";
import { compiledOnce } from "./wasm-module.js";

const PAGE_BYTES = 65536;
/** The module's memory stays below this (every byte offset a positive i32); larger matrices use linalg.ts. */
const MAX_BYTES = 2 ** 30;

interface LinalgExports {
  gaussianFactors(K: number, r: number, L: number, z: number, alpha: number, inv: number, W: number, n: number, withInverse: number): number;
}

/** Views of one size's blocks in the module's memory, and their byte offsets. */
interface Blocks {
  n: number;
  K: Float64Array;
  L: Float64Array;
  inv: Float64Array;
  r: Float64Array;
  z: Float64Array;
  alpha: Float64Array;
  at: { K: number; L: number; inv: number; W: number; r: number; z: number; alpha: number };
}

let runtime: { memory: WebAssembly.Memory; run: LinalgExports } | null | undefined;
/** Each size's blocks over the memory as it is (all start at offset 0: one call runs at a time); emptied when it grows. */
const blocksBySize = new Map<number, Blocks>();

const linalgModule = compiledOnce("linalg", LINALG_BASE64);

/** The module's instance on this thread, made on first use; null where WebAssembly is unavailable. */
function linalgRuntime(): { memory: WebAssembly.Memory; run: LinalgExports } | null {
  if (runtime === undefined) {
    const module = linalgModule();
    if (module === null) runtime = null;
    else {
      const memory = new WebAssembly.Memory({ initial: 1 });
      runtime = { memory, run: new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as LinalgExports };
    }
  }
  return runtime;
}

/** The blocks for n × n matrices, the memory grown to hold them; null when they would pass MAX_BYTES. */
function blocksFor(n: number): Blocks | null {
  const made = blocksBySize.get(n);
  if (made !== undefined) return made;
  const rt = linalgRuntime();
  const matrix = 8 * n * n;
  const bytes = 4 * matrix + 3 * 8 * n;
  if (rt === null || bytes > MAX_BYTES) return null;
  const pages = Math.ceil(bytes / PAGE_BYTES);
  const have = rt.memory.buffer.byteLength / PAGE_BYTES;
  if (pages > have) {
    try {
      rt.memory.grow(pages - have);
    } catch {
      return null; // no memory for it on this thread: linalg.ts
    }
    blocksBySize.clear(); // the views of the old buffer are detached
  }
  const at = { K: 0, L: matrix, inv: 2 * matrix, W: 3 * matrix, r: 4 * matrix, z: 4 * matrix + 8 * n, alpha: 4 * matrix + 16 * n };
  const buffer = rt.memory.buffer;
  const blocks: Blocks = {
    n,
    K: new Float64Array(buffer, at.K, n * n),
    L: new Float64Array(buffer, at.L, n * n),
    inv: new Float64Array(buffer, at.inv, n * n),
    r: new Float64Array(buffer, at.r, n),
    z: new Float64Array(buffer, at.z, n),
    alpha: new Float64Array(buffer, at.alpha, n),
    at,
  };
  blocksBySize.set(n, blocks);
  return blocks;
}

/**
 * At a covariance K (n × n) and a residual r = y − μ: L with K = L Lᵀ, z = L⁻¹ r, alpha = K⁻¹ r and, when `inverse`
 * is given, K⁻¹. False, with only L written, when K is not positive definite.
 */
export type GaussianFactors = (
  K: Float64Array,
  r: Float64Array,
  n: number,
  L: Float64Array,
  z: Float64Array,
  alpha: Float64Array,
  inverse: Float64Array | null,
) => boolean;

/** GaussianFactors by linalg.wat, or by linalg.ts beyond the module's memory. */
export const gaussianFactors: GaussianFactors = (K, r, n, L, z, alpha, inverse) => {
  const b = blocksFor(n);
  if (b === null) return gaussianFactorsInJavaScript(K, r, n, L, z, alpha, inverse);
  b.K.set(K);
  b.r.set(r);
  const ok = runtime!.run.gaussianFactors(b.at.K, b.at.r, b.at.L, b.at.z, b.at.alpha, b.at.inv, b.at.W, n, inverse === null ? 0 : 1) === 1;
  L.set(b.L);
  if (!ok) return false;
  z.set(b.z);
  alpha.set(b.alpha);
  if (inverse !== null) inverse.set(b.inv);
  return true;
};

/** K⁻¹'s workspace for gaussianFactorsInJavaScript, kept for the last size. */
let inverseWork = new Float64Array(0);

/** GaussianFactors by linalg.ts's functions. */
export const gaussianFactorsInJavaScript: GaussianFactors = (K, r, n, L, z, alpha, inverse) => {
  if (!cholesky(K, L, n)) return false;
  solveLower(L, r, z, n);
  solveUpperT(L, z, alpha, n);
  if (inverse !== null) {
    if (inverseWork.length !== n * n) inverseWork = new Float64Array(n * n);
    inverseFromCholesky(L, inverse, inverseWork, n);
  }
  return true;
};

/** What the generated log-density calls as `LA`. */
export const LINALG = { gaussianFactors } as const;
