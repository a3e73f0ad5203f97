// The generated sampling loop: its draws follow the posterior predictive p(y | x) = mean over draws of
// Normal(beta[category]·x, sigma), whose mean and variance have closed forms for a given draw table; features are
// checked before any draw; and one instance asked alone equals it asked in a batch of one.
import { describe, expect, it } from "vitest";
import { seedRegression } from "../../src/models/seed-regression.js";
import { Predictor } from "../../src/predict/index.js";
import { Rng } from "../../src/model/random.js";

// A small draw table: names as a fitted posterior gives them, values from a seeded stream.
const names = ["beta[0]", "beta[1]", "beta[2]", "sigma"];
const chains = 2;
const draws = 300;
const values = new Float64Array(chains * draws * names.length);
const rng = new Rng(3, 0);
for (let i = 0; i < chains * draws; i++) {
  values[i * 4] = 1 + 0.1 * rng.normal();
  values[i * 4 + 1] = 1.25 + 0.1 * rng.normal();
  values[i * 4 + 2] = 1.5 + 0.2 * rng.normal();
  values[i * 4 + 3] = 0.5 + 0.5 * rng.uniform();
}
const predictor = new Predictor(seedRegression.json, { names, chains, draws, values });

describe("Predictor", () => {
  it("draws from the posterior predictive: mean and variance of the mixture of normals", () => {
    const x = 4;
    const category = 2;
    // Closed forms over the (equally weighted) draws: E[y] = mean(b·x); Var[y] = mean(σ²) + var(b·x).
    let m = 0;
    let m2 = 0;
    let s2 = 0;
    const total = chains * draws;
    for (let i = 0; i < total; i++) {
      const mu = values[i * 4 + category] * x;
      m += mu / total;
      m2 += (mu * mu) / total;
      s2 += values[i * 4 + 3] ** 2 / total;
    }
    const variance = s2 + m2 - m * m;
    const n = 200_000;
    const ys = predictor.sampleOne({ x, category }, n, 11);
    let mean = 0;
    for (const y of ys) mean += y / n;
    let v = 0;
    for (const y of ys) v += (y - mean) ** 2 / (n - 1);
    expect(Math.abs(mean - m) / Math.sqrt(variance / n)).toBeLessThan(5);
    // The sample variance's standard error for a near-normal mixture: about variance·sqrt(2/n); allow 5 of them.
    expect(Math.abs(v - variance) / (variance * Math.sqrt(2 / n) * 1.5)).toBeLessThan(5);
  });

  it("alone and in a batch of one, with a seed, the draws are the same", () => {
    const a = predictor.sampleOne({ x: 2.5, category: 1 }, 64, 5);
    const b = predictor.sample([{ x: 2.5, category: 1 }], 64, 5)[0];
    expect(Array.from(a)).toEqual(Array.from(b));
  });

  it("checks features before drawing: missing, wrong type, outside the levels, not an integer, absurd", () => {
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ x: 1 }, /category: field required/],
      [{ x: "1", category: 0 }, /x: must be a finite number/],
      [{ x: 1, category: 3 }, /category: must be one of the categories 0..2/],
      [{ x: 1, category: 0.5 }, /category: must be an integer/],
      [{ x: Number.NaN, category: 0 }, /x: must be a finite number/],
      [{ x: 1e13, category: 0 }, /x: must be within/],
    ];
    for (const [instance, message] of bad) {
      expect(() => predictor.sampleOne(instance as Record<string, number>, 10, 1)).toThrow(message);
      expect(() => predictor.sample([instance as Record<string, number>], 10, 1)).toThrow(message);
    }
  });

  // The loop draws a chunk's row indices first, then its normals (Rng.fillInt, Rng.fillNormal): written out here
  // with the calls, the seeded answer must be the same numbers.
  it("a seeded answer is, number for number, a row picked by int() then mu + sigma·normal(), chunk by chunk", () => {
    const n = 2500; // three chunks of the loop
    const got = predictor.sampleOne({ x: 1.5, category: 2 }, n, 77);
    const r = new Rng(77, 0);
    const want: number[] = [];
    for (let done = 0; done < n; done += 1024) {
      const m = Math.min(1024, n - done);
      const rows = Array.from({ length: m }, () => r.int(chains * draws));
      for (const row of rows) want.push(values[row * 4 + 2] * 1.5 + values[row * 4 + 3] * r.normal());
    }
    expect(Array.from(got)).toEqual(want);
  });
});
