/**
 * Shared helpers for draws given as one Float64Array per chain (all of equal length),
 * the input convention of every diagnostic in this folder.
 */

/** A parameter's draws: one array per chain, all of the same length. */
export type Chains = readonly Float64Array[];

/** Machine epsilon, R's `.Machine$double.eps` (tolerance of posterior's `is_constant`). */
export const DOUBLE_EPS = 2.220446049250313e-16;

/** Checks the chains are non-empty and of equal length; returns the draws per chain. */
export function drawsPerChain(chains: Chains): number {
  if (chains.length === 0) throw new RangeError("diagnostics: at least one chain is required");
  const n = chains[0].length;
  for (let c = 1; c < chains.length; c++) {
    if (chains[c].length !== n) {
      throw new RangeError(`diagnostics: chains must have equal lengths (chain 0 has ${n}, chain ${c} has ${chains[c].length})`);
    }
  }
  return n;
}

/** Total number of draws over all chains. */
export function totalDraws(chains: Chains): number {
  return chains.length * drawsPerChain(chains);
}

/**
 * Split every chain into its first and second half, as posterior's `.split_chains`:
 * `x[1:floor(n/2)]` and `x[ceiling(n/2 + 1):n]` (for odd n the middle draw is dropped; a
 * chain of one draw is left whole). Returns views; nothing is copied.
 */
export function splitChains(chains: Chains): Float64Array[] {
  const n = drawsPerChain(chains);
  if (n === 1) return chains.slice();
  const half = Math.floor(n / 2);
  const out: Float64Array[] = new Array(2 * chains.length);
  for (let c = 0; c < chains.length; c++) {
    out[c] = chains[c].subarray(0, half);
    out[chains.length + c] = chains[c].subarray(n - half);
  }
  return out;
}

/** All draws of all chains in one new array, chain after chain (R's `as.vector` of the matrix). */
export function poolDraws(chains: Chains): Float64Array {
  const n = drawsPerChain(chains);
  const out = new Float64Array(chains.length * n);
  for (let c = 0; c < chains.length; c++) out.set(chains[c], c * n);
  return out;
}

/** Applies `f` to every draw, keeping the chain structure (one new buffer, chains are views). */
export function mapChains(chains: Chains, f: (v: number) => number): Float64Array[] {
  const n = drawsPerChain(chains);
  const buf = new Float64Array(chains.length * n);
  const out: Float64Array[] = new Array(chains.length);
  for (let c = 0; c < chains.length; c++) {
    const src = chains[c];
    const dst = buf.subarray(c * n, (c + 1) * n);
    for (let i = 0; i < n; i++) dst[i] = f(src[i]);
    out[c] = dst;
  }
  return out;
}

/** True if any draw is NaN or ±Infinity (posterior's `should_return_NA`, first part). */
export function anyNonFinite(chains: Chains): boolean {
  for (const x of chains) {
    for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i])) return true;
  }
  return false;
}

/** posterior's `is_constant(x, tol)`: `abs(max(x) - min(x)) < tol` over all draws. */
export function isConstant(chains: Chains, tol = DOUBLE_EPS): boolean {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const x of chains) {
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  return Math.abs(hi - lo) < tol;
}

/** posterior's `should_return_NA`: non-finite draws, or all draws (nearly) equal. */
export function shouldReturnNaN(chains: Chains): boolean {
  return anyNonFinite(chains) || isConstant(chains);
}

/**
 * Arithmetic mean with R's refinement step (R summary.c `rsum`/mean: sum, divide, then add
 * the mean of the residuals), which makes the result accurate to about one ulp.
 */
export function mean(x: ArrayLike<number>): number {
  const n = x.length;
  if (n === 0) return Number.NaN;
  let s = 0;
  for (let i = 0; i < n; i++) s += x[i];
  s /= n;
  if (Number.isFinite(s)) {
    let t = 0;
    for (let i = 0; i < n; i++) t += x[i] - s;
    s += t / n;
  }
  return s;
}

/** Mean over all draws of all chains (as R's `mean` of the draws matrix). */
export function meanOfChains(chains: Chains): number {
  let n = 0;
  let s = 0;
  for (const x of chains) {
    for (let i = 0; i < x.length; i++) s += x[i];
    n += x.length;
  }
  if (n === 0) return Number.NaN;
  s /= n;
  if (Number.isFinite(s)) {
    let t = 0;
    for (const x of chains) for (let i = 0; i < x.length; i++) t += x[i] - s;
    s += t / n;
  }
  return s;
}

/** Sample variance with denominator n - 1 (R's `var`, numpy `var(ddof=1)`), two-pass. */
export function sampleVariance(x: ArrayLike<number>, m = mean(x)): number {
  const n = x.length;
  if (n < 2) return Number.NaN;
  let ss = 0;
  for (let i = 0; i < n; i++) {
    const d = x[i] - m;
    ss += d * d;
  }
  return ss / (n - 1);
}

/** Sample standard deviation (denominator n - 1) over all draws of all chains, R's `sd(x)`. */
export function sdOfChains(chains: Chains): number {
  const m = meanOfChains(chains);
  let n = 0;
  let ss = 0;
  for (const x of chains) {
    for (let i = 0; i < x.length; i++) {
      const d = x[i] - m;
      ss += d * d;
    }
    n += x.length;
  }
  return n < 2 ? Number.NaN : Math.sqrt(ss / (n - 1));
}

/** All draws, pooled and sorted ascending (NaN last). */
export function sortedDraws(chains: Chains): Float64Array {
  return poolDraws(chains).sort();
}
