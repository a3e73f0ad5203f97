// Dense linear algebra for small matrices (Gaussian-process covariances, the sampler's low-rank metric): row-major
// Float64Arrays, written into caller-provided buffers so the log-density allocates nothing. The generated log-density
// runs the first four as WebAssembly (linalg.wat, the same operations in the same order; linalg-wasm.ts).

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

/**
 * Eigenvalues and eigenvectors of a symmetric matrix by cyclic Jacobi rotations (Golub & Van Loan, Matrix
 * Computations §8.5; accurate to a few ulps of the largest eigenvalue). `a` (n·n) is overwritten; `vectors` receives
 * the eigenvectors as rows (vectors[k·n + i] is component i of the k-th), `values` the eigenvalues, unordered.
 */
export function symmetricEigen(a: Float64Array, n: number, values: Float64Array, vectors: Float64Array): void {
  vectors.fill(0);
  for (let i = 0; i < n; i++) vectors[i * n + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    let scale = 0;
    for (let p = 0; p < n; p++) {
      scale += a[p * n + p] * a[p * n + p];
      for (let q = p + 1; q < n; q++) off += a[p * n + q] * a[p * n + q];
    }
    if (off <= 1e-30 * scale || off === 0) break;
    for (let p = 0; p < n - 1; p++)
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (apq === 0) continue;
        const theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
        const t = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        // A ← Jᵀ A J on rows and columns p, q.
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p];
          const akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k];
          const aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vpk = vectors[p * n + k];
          const vqk = vectors[q * n + k];
          vectors[p * n + k] = c * vpk - s * vqk;
          vectors[q * n + k] = s * vpk + c * vqk;
        }
      }
  }
  for (let i = 0; i < n; i++) values[i] = a[i * n + i];
}
