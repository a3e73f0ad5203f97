// The generalised no-U-turn criterion (Betancourt 2017, "A Conceptual Introduction to HMC", §A.4.2; Stan's
// base_nuts::compute_criterion): continue while both end velocities still point along the summed momentum ρ.

/** The criterion from its two dot products, p♯₋·ρ and p♯₊·ρ (velocities at the trajectory's two ends). */
export function noUTurn(sharpMinusDotRho: number, sharpPlusDotRho: number): boolean {
  return sharpPlusDotRho > 0 && sharpMinusDotRho > 0;
}

/**
 * Stan's three checks when two adjacent subtrees A and B merge, A's last state next to B's first
 * (base_nuts::build_tree: A the initial subtree, B the final one, in the direction being built; transition: A the
 * backward half, B the forward half — the checks read the same either way round): across the whole, ρ = ρ_A + ρ_B,
 * from A's first velocity to B's last; and across each seam — ρ_A + p at B's first state, from A's first velocity to
 * B's first; ρ_B + p at A's last state, from A's last velocity to B's last. All six dot products are taken in one
 * pass (dimensions are few, so separate passes cost more in loop overhead than in arithmetic). Adds ρ into `rhoOut`.
 */
export function mergedTreePersists(
  sharpABeg: Float64Array,
  sharpAEnd: Float64Array,
  pAEnd: Float64Array,
  rhoA: Float64Array,
  sharpBBeg: Float64Array,
  pBBeg: Float64Array,
  sharpBEnd: Float64Array,
  rhoB: Float64Array,
  rhoOut: Float64Array,
): boolean {
  let wholeBeg = 0;
  let wholeEnd = 0;
  let seamABeg = 0;
  let seamAEnd = 0;
  let seamBBeg = 0;
  let seamBEnd = 0;
  for (let i = 0; i < rhoOut.length; i++) {
    const ra = rhoA[i];
    const rb = rhoB[i];
    const whole = ra + rb;
    rhoOut[i] += whole;
    wholeBeg += sharpABeg[i] * whole;
    wholeEnd += sharpBEnd[i] * whole;
    const seamA = ra + pBBeg[i];
    seamABeg += sharpABeg[i] * seamA;
    seamAEnd += sharpBBeg[i] * seamA;
    const seamB = rb + pAEnd[i];
    seamBBeg += sharpAEnd[i] * seamB;
    seamBEnd += sharpBEnd[i] * seamB;
  }
  return noUTurn(wholeBeg, wholeEnd) && noUTurn(seamABeg, seamAEnd) && noUTurn(seamBBeg, seamBEnd);
}
