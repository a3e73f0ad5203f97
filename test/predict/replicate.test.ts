// Replicated datasets for the report's posterior predictive check: replicate k of every row comes from one posterior
// draw, so that a replicate is a dataset of the posterior predictive (its statistics vary with θ), as bayesplot's
// y_rep and ArviZ's posterior_predictive are drawn.
import { describe, expect, it } from "vitest";
import { seedRegression } from "../../src/models/seed-regression.js";
import { Predictor } from "../../src/predict/index.js";

// Draws whose betas are far apart (draw i: beta = 10·i) and sigma tiny: a value tells which draw it came from.
const names = ["beta[0]", "beta[1]", "beta[2]", "sigma"];
const chains = 2;
const draws = 100;
const values = new Float64Array(chains * draws * names.length);
for (let i = 0; i < chains * draws; i++) values.set([10 * i, 10 * i, 10 * i, 1e-6], i * 4);
const predictor = new Predictor(seedRegression.json, { names, chains, draws, values });

describe("Predictor.replicate", () => {
  it("draws replicate k of every row from the same posterior draw", () => {
    const rows = Array.from({ length: 30 }, (_, r) => ({ x: 1, category: r % 3 }));
    const reps = predictor.replicate(rows, 50, 7);
    expect(reps).toHaveLength(30);
    for (let k = 0; k < 50; k++) {
      const draw = Math.round(reps[0][k] / 10);
      for (const r of reps) expect(Math.round(r[k] / 10)).toBe(draw);
    }
    // ... and different replicates from different draws.
    expect(new Set(Array.from(reps[0], (v) => Math.round(v / 10))).size).toBe(50);
  });

  it("is reproducible for a seed", () => {
    const rows = [{ x: 2, category: 1 }];
    expect(predictor.replicate(rows, 10, 3)[0]).toEqual(predictor.replicate(rows, 10, 3)[0]);
  });
});
