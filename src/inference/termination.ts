// The generalised no-U-turn criterion (Betancourt 2017, "A Conceptual Introduction to HMC", §A.4.2; Stan's
// base_nuts::compute_criterion): continue while both end velocities still point along the summed momentum ρ.
export function noUTurn(pSharpMinus: Float64Array, pSharpPlus: Float64Array, rho: Float64Array): boolean {
  let plus = 0;
  let minus = 0;
  for (let i = 0; i < rho.length; i++) {
    plus += pSharpPlus[i] * rho[i];
    minus += pSharpMinus[i] * rho[i];
  }
  return plus > 0 && minus > 0;
}
