// Dense linear algebra for small matrices (Gaussian-process covariances): row-major Float64Arrays, written into
// caller-provided buffers so the log-density allocates nothing.

/** Lower Cholesky factor L of a symmetric positive-definite K (K = L Lᵀ). Returns false when K is not positive definite. */
export function cholesky(K: Float64Array, L: Float64Array, n: number): boolean {
  L.fill(0);
  for (let j = 0; j < n; j++) {
    let s = K[j * n + j];
    for (let k = 0; k < j; k++) s -= L[j * n + k] * L[j * n + k];
    if (!(s > 0)) return false;
    const d = Math.sqrt(s);
    L[j * n + j] = d;
    for (let i = j + 1; i < n; i++) {
      let t = K[i * n + j];
      for (let k = 0; k < j; k++) t -= L[i * n + k] * L[j * n + k];
      L[i * n + j] = t / d;
    }
  }
  return true;
}

/** Solves L z = b (forward substitution). */
export function solveLower(L: Float64Array, b: Float64Array, z: Float64Array, n: number): void {
  for (let i = 0; i < n; i++) {
    let s = b[i];
    for (let k = 0; k < i; k++) s -= L[i * n + k] * z[k];
    z[i] = s / L[i * n + i];
  }
}

/** Solves Lᵀ x = z (back substitution). */
export function solveUpperT(L: Float64Array, z: Float64Array, x: Float64Array, n: number): void {
  for (let i = n - 1; i >= 0; i--) {
    let s = z[i];
    for (let k = i + 1; k < n; k++) s -= L[k * n + i] * x[k];
    x[i] = s / L[i * n + i];
  }
}

/** K⁻¹ from its Cholesky factor, using `work` (n·n) for L⁻¹. */
export function inverseFromCholesky(L: Float64Array, inv: Float64Array, work: Float64Array, n: number): void {
  // work = L⁻¹ (lower triangular).
  work.fill(0);
  for (let j = 0; j < n; j++) {
    work[j * n + j] = 1 / L[j * n + j];
    for (let i = j + 1; i < n; i++) {
      let s = 0;
      for (let k = j; k < i; k++) s -= L[i * n + k] * work[k * n + j];
      work[i * n + j] = s / L[i * n + i];
    }
  }
  // inv = (L⁻¹)ᵀ L⁻¹.
  for (let i = 0; i < n; i++)
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let k = i; k < n; k++) s += work[k * n + i] * work[k * n + j];
      inv[i * n + j] = s;
      inv[j * n + i] = s;
    }
}

export const LINALG = { cholesky, solveLower, solveUpperT, inverseFromCholesky } as const;
