// `npm run validate`: every translated posteriordb reference posterior (src/models/posteriordb) against its
// reference draws, with the reference settings (4 chains × (1000 warm-up + 1000 draws) on worker threads;
// adapt_delta and max_treedepth from reference_info.json).
//
// Rule (test/posteriordb/reference.ts), for every reference quantity (Stan's beta[1] is our beta[0]):
//   |mean − ref_mean| < 4·sqrt(mcse² + mcse_ref²), mcse = our mcseMean, mcse_ref = ref_sd / sqrt(essBulk(reference draws));
//   |sd / ref_sd − 1| < max(5 %, 4·δ), δ = sqrt((mcse_sd/sd)² + (mcse_sd_ref/ref_sd)²) from mcseSd — 5 % wherever the
//   ESS is a few thousand, the mean's 4σ where an sd rests on ~1,000 effective draws;
//   R-hat < 1.01; no divergent transitions (no reference run had any).
// Each posterior passes when two of up to three seeded fits pass (reference.ts says why).
// Not translated: garch-garch11 (a recursion over time, and a bound that depends on another parameter, neither of
// which the model language expresses). diamonds-diamonds (5,000 rows × 24 columns, correlations near 1: its reference
// needed adapt_delta 0.99 and max_treedepth 20) runs with the low-rank metric, which takes it from ~2,700 leapfrog
// steps per draw to ~70.
// Beside posteriordb's, the suite's own references (test/fixtures/stan-suite, long runs of Stan): a robust Student-t
// regression with unknown ν and a Poisson regression with an exposure offset.
import { afterAll, describe, expect, it } from "vitest";
import type { Adaptation } from "../../src/inference/sampler.js";
import { SUITE_POSTERIORS } from "../../bench/suite.js";
import { validateTwoOfThree, type ValidationResult } from "../posteriordb/reference.js";

const ALL = [...SUITE_POSTERIORS, "robust-student_t", "poisson-exposure"];

/** Posteriors that need another metric adaptation than the sampler's default. */
const ADAPTATION: Record<string, Adaptation> = { "diamonds-diamonds": "low-rank" };

/**
 * Posteriors that need more draws than the reference's 1,000 a chain for R-hat < 1.01 to be a test of the sampler
 * rather than of the seed. diamonds with 1,000: min bulk ESS ~500, and a single fit passed at 4 and at 6 of seeds 1–8
 * (two builds whose arithmetic differs in the last bits), failing only on R-hat (1.010–1.017), so two of three failed
 * a quarter of the time or more. With 2,000: 8 of 8, R-hat ≤ 1.0067, ESS ≥ 1,000, and tighter sd limits (8–9 %).
 */
const DRAWS: Record<string, number> = { "diamonds-diamonds": 2000 };

const results: ValidationResult[] = [];

describe("posteriordb reference posteriors (full set)", () => {
  it.each(ALL)("%s matches the reference draws (two fits of three)", async (name) => {
    const { fits, failures } = await validateTwoOfThree(name, { threads: true, adaptation: ADAPTATION[name], ...(DRAWS[name] ? { draws: DRAWS[name] } : {}) });
    results.push(...fits);
    expect(failures).toEqual([]);
  });

  afterAll(() => {
    console.log(
      [
        "posterior | result | max |z| | max sd ratio error | sd limit | max R-hat | min ESS bulk | divergences | seconds",
        ...results.map(
          (r) =>
            `${r.posterior} | ${r.failures.length ? "FAIL" : "pass"} | ${r.maxAbsZ.toFixed(2)} | ${(r.maxSdRatioError * 100).toFixed(2)} % | ` +
            `${(r.maxSdLimit * 100).toFixed(1)} % | ${r.maxRhat.toFixed(4)} | ${r.minEssBulk.toFixed(0)} | ${r.divergences} | ${r.seconds.toFixed(1)}`,
        ),
      ].join("\n"),
    );
  });
});
