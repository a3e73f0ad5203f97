// The report's lines for Stan's sampler checks besides divergences: E-BFMI per chain and max-tree-depth hits.
import { describe, expect, it } from "vitest";
import { samplerChecks } from "../../src/train/pipeline.js";
import type { Posterior } from "../../src/inference/index.js";

const statNames = ["lp", "accept_stat", "step_size", "tree_depth", "n_leapfrog", "diverging", "energy"];

function posterior(energy: number[][], depth: number[][], maxTreeDepth = 10): Posterior {
  const chains = energy.length;
  const draws = energy[0].length;
  const stats = new Float64Array(chains * draws * statNames.length);
  for (let c = 0; c < chains; c++)
    for (let d = 0; d < draws; d++) {
      stats[(c * draws + d) * statNames.length + 3] = depth[c][d];
      stats[(c * draws + d) * statNames.length + 6] = energy[c][d];
    }
  return { chains, draws, statNames, stats, settings: { maxTreeDepth } } as unknown as Posterior;
}

describe("samplerChecks", () => {
  it("gives each chain's E-BFMI and flags one below 0.3", () => {
    // Chain 0 alternates (E-BFMI large); chain 1 drifts slowly (E-BFMI small).
    const rough = Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? 1 : -1));
    const smooth = Array.from({ length: 100 }, (_, i) => i / 10);
    const checks = samplerChecks(posterior([rough, smooth], [Array(100).fill(3), Array(100).fill(3)]));
    // mean((ΔE)²) / var(E): 4 / (100/99) = 3.96 and 0.01 / (var of 0..9.9 = 84.17) ≈ 0.00012.
    expect(checks["E-BFMI"]).toBe("3.96, 0.00 (per chain) — 1 below 0.3: the energy is poorly explored");
    expect(checks["max tree depth hits"]).toBe("0 of 200 transitions (depth 10)");
  });

  it("counts the transitions that stopped at the maximum tree depth", () => {
    const e = Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? 1 : -1));
    const checks = samplerChecks(posterior([e, e], [[10, 10, 9, 3, 10, 1, 1, 1, 1, 1], Array(10).fill(2)], 10));
    expect(checks["max tree depth hits"]).toBe("3 of 20 transitions (15.0 %) stopped at the maximum depth 10");
  });
});
