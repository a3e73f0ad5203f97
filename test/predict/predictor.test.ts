// The generated sampling loop: its draws follow the posterior predictive p(y | x) = mean over draws of
// Normal(beta[category]·x, sigma), whose mean and variance have closed forms for a given draw table; features are
// checked before any draw; one instance asked alone equals it asked in a batch of one; and a request's draws are
// consecutive rows of the shuffled table.
import { describe, expect, it } from "vitest";
import { seedRegression } from "../../src/models/seed-regression.js";
import { Predictor, shuffledDrawTable } from "../../src/predict/index.js";
import { Rng } from "../../src/random/rng.js";

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

  // The loop takes one starting row, then per chunk its normals (Rng.fillNormal) and the rows after the start in the
  // shuffled table: written out here with the calls, the seeded answer must be the same numbers.
  it("a seeded answer is, number for number, consecutive shuffled rows from a start picked by int(), then mu + sigma·normal()", () => {
    const n = 2500; // three chunks of the loop, wrapping around the 600 rows four times
    const got = predictor.sampleOne({ x: 1.5, category: 2 }, n, 77);
    const table = shuffledDrawTable({ names, chains, draws, values }).values;
    const total = chains * draws;
    const r = new Rng(77, 0);
    let row = r.int(total);
    const want: number[] = [];
    for (let done = 0; done < n; done += 1024) {
      const m = Math.min(1024, n - done);
      const z = Array.from({ length: m }, () => r.normal());
      for (let s = 0; s < m; s++, row = (row + 1) % total) want.push(table[row * 4 + 2] * 1.5 + table[row * 4 + 3] * z[s]);
    }
    expect(Array.from(got)).toEqual(want);
  });

  it("shuffles the draws once, the same way in every process: a permutation of the rows, fixed by its seed", () => {
    const a = shuffledDrawTable({ names, chains, draws, values });
    const b = shuffledDrawTable({ names, chains, draws, values });
    expect(a.shuffled).toBe(true);
    expect(Array.from(a.values)).toEqual(Array.from(b.values));
    const rows = (v: Float64Array): string[] => Array.from({ length: chains * draws }, (_, i) => Array.from(v.subarray(i * 4, i * 4 + 4)).join(","));
    expect(rows(a.values).sort()).toEqual(rows(values).sort());
    // Not the stored order: of 600 rows, a random permutation leaves ~1 in place.
    const stored = rows(values);
    const inPlace = rows(a.values).filter((row, i) => row === stored[i]).length;
    expect(inPlace).toBeLessThan(10);
    // A table already shuffled (the server's shared one) is served as it is: same answers as from the stored order.
    const fromShuffled = new Predictor(seedRegression.json, a);
    expect(Array.from(fromShuffled.sampleOne({ x: 3, category: 1 }, 300, 9))).toEqual(Array.from(predictor.sampleOne({ x: 3, category: 1 }, 300, 9)));
    expect(() => shuffledDrawTable({ names, chains, draws, values: values.subarray(1) })).toThrow(/chains × draws × names/);
  });

  it("uses distinct draws within a request (n ≤ draws), spread across both chains", () => {
    // σ so small that y is the row's mean exactly: the answer names the rows it used.
    const tiny = values.slice();
    for (let i = 0; i < chains * draws; i++) {
      tiny[i * 4 + 1] = i + 1; // beta[1] = row number + 1, so y = (row + 1)·x
      tiny[i * 4 + 3] = 1e-300;
    }
    const p = new Predictor(seedRegression.json, { names, chains, draws, values: tiny });
    for (let seed = 1; seed <= 20; seed++) {
      const used = Array.from(p.sampleOne({ x: 1, category: 1 }, 100, seed), (y) => y - 1);
      expect(used.every((row) => Number.isInteger(row) && row >= 0 && row < chains * draws)).toBe(true);
      expect(new Set(used).size).toBe(100);
      expect(used.some((row) => row < draws) && used.some((row) => row >= draws)).toBe(true);
    }
  });
});
