// The fast subset of the posteriordb reference posteriors, in `npm test`. The full set is `npm run validate`
// (test/validate/posteriordb.test.ts). Sequential chains here (worker start-up would dominate these small fits).
//
// Rule (reference.ts): for every reference quantity (Stan's beta[1] is our beta[0]),
//   |mean − ref_mean| < 4·sqrt(mcse² + mcse_ref²), mcse = our mcseMean, mcse_ref = ref_sd / sqrt(essBulk(reference draws));
//   |sd / ref_sd − 1| < max(5 %, 4·δ), δ = the two sds' relative Monte Carlo errors (mcseSd) combined — 5 % wherever
//   the ESS is a few thousand;
//   R-hat < 1.01; no divergent transitions (no reference run had any); two of up to three seeded fits must pass.
// Sampler settings: 4 chains × (1000 warm-up + 1000 draws), adapt_delta and max_treedepth from reference_info.json.
import { describe, expect, it } from "vitest";
import { validateTwoOfThree } from "./reference.js";

const FAST = [
  "eight_schools-eight_schools_noncentered",
  "kidiq-kidscore_momiq",
  "mesquite-logmesquite",
  "gp_pois_regr-gp_regr",
  "low_dim_gauss_mix-low_dim_gauss_mix",
];

describe("posteriordb reference posteriors (fast subset)", () => {
  it.each(FAST)("%s matches the reference draws (two fits of three)", async (name) => {
    const { fits, failures } = await validateTwoOfThree(name, { threads: false });
    expect(failures).toEqual([]);
    expect(fits[0].params.length).toBeGreaterThan(0);
  });
});
