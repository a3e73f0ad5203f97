import { describe, expect, it } from "vitest";
import { crpsFromSamples } from "../../src/train/evaluate.js";
import { qualityGate } from "../../src/train/gate.js";
import { stratifiedSplit } from "../../src/train/split.js";
import { simulateSeedData, SEED_SIMULATION } from "../../src/train/simulate.js";
import type { SummaryRow } from "../../src/diagnostics/index.js";

describe("split", () => {
  it("holds out ceil(fraction·n) rows, in proportion to each category, as scikit-learn does", () => {
    const d = simulateSeedData(SEED_SIMULATION);
    const strata = Float64Array.from(d.category);
    const { train, test } = stratifiedSplit(2000, 0.2, 1, strata);
    expect(test.length).toBe(400);
    expect(train.length).toBe(1600);
    for (const c of [0, 1, 2]) {
      const all = d.category.filter((v) => v === c).length;
      const held = Array.from(test).filter((r) => d.category[r] === c).length;
      expect(Math.abs(held - all * 0.2)).toBeLessThanOrEqual(1);
    }
    expect(new Set([...train, ...test]).size).toBe(2000);
  });

  it("splits 2 million rows (issue 13, failure 3: beyond ~450,000 rows it overflowed the stack)", () => {
    const rows = 2_000_000;
    const strata = Float64Array.from({ length: rows }, (_, i) => (i * 7) % 3);
    const { train, test } = stratifiedSplit(rows, 0.2, 1, strata);
    expect(test.length).toBe(400_000);
    expect(train.length).toBe(1_600_000);
    const seen = new Uint8Array(rows);
    for (const r of test) seen[r]++;
    for (const r of train) seen[r]++;
    expect(seen.every((v) => v === 1)).toBe(true);
    expect(test.every((r, i) => i === 0 || r > test[i - 1])).toBe(true);
    let held = 0;
    for (const r of test) if (strata[r] === 2) held++;
    expect(Math.abs(held - rows / 3 / 5)).toBeLessThanOrEqual(1);
  });

  it("is seeded, and fraction 0 keeps every row", () => {
    const a = stratifiedSplit(100, 0.3, 7, null);
    const b = stratifiedSplit(100, 0.3, 7, null);
    expect(Array.from(a.test)).toEqual(Array.from(b.test));
    expect(stratifiedSplit(100, 0, 7, null).test.length).toBe(0);
  });
});

describe("simulation", () => {
  it("reproduces the seed's generator: 2,000 rows, three equally likely categories, y ≈ beta·x", () => {
    const d = simulateSeedData(SEED_SIMULATION);
    expect(d.x.length).toBe(2000);
    for (const c of [0, 1, 2]) expect(d.category.filter((v) => v === c).length).toBeGreaterThan(600);
    let r = 0;
    for (let i = 0; i < 2000; i++) r += (d.y[i] - SEED_SIMULATION.beta[d.category[i]] * d.x[i]) ** 2;
    expect(Math.sqrt(r / 2000)).toBeCloseTo(0.75, 1);
    expect(Array.from(simulateSeedData(SEED_SIMULATION).y)).toEqual(Array.from(d.y));
  });
});

describe("CRPS", () => {
  it("equals E|X − y| − ½E|X − X'| computed pairwise", () => {
    const s = Float64Array.of(0.3, -1.2, 2.5, 0.9, 0.1);
    let a = 0;
    let b = 0;
    for (const u of s) {
      a += Math.abs(u - 0.4);
      for (const v of s) b += Math.abs(u - v);
    }
    expect(crpsFromSamples(s, 0.4)).toBeCloseTo(a / 5 - b / 50, 12);
  });

  it("of a standard normal ensemble at its mean is 2φ(0) − 1/√π ≈ 0.2337 (Gneiting & Raftery 2007, closed form)", () => {
    // CRPS(N(0,1), 0) = 2φ(0) − 1/√π = 0.23369497...
    const n = 20001;
    const s = new Float64Array(n);
    // A deterministic ensemble: the normal quantiles at (i + ½)/n.
    for (let i = 0; i < n; i++) s[i] = Math.SQRT2 * inverseErf((2 * (i + 0.5)) / n - 1);
    expect(crpsFromSamples(s, 0)).toBeCloseTo(2 / Math.sqrt(2 * Math.PI) - 1 / Math.sqrt(Math.PI), 3);
  });
});

describe("quality gate", () => {
  const row = (name: string, rHat: number, essBulk: number, essTail: number): SummaryRow =>
    ({ name, mean: 0, sd: 1, hdiLow: -1, hdiHigh: 1, mcseMean: 0, mcseSd: 0, essBulk, essTail, rHat }) as SummaryRow;
  it("passes a converged fit and names each parameter and check that fails", () => {
    expect(qualityGate([row("beta[0]", 1.001, 5000, 4000)], 0).passed).toBe(true);
    const g = qualityGate([row("beta[0]", 1.05, 5000, 4000), row("sigma", 1.0, 120, 90)], 3);
    expect(g.passed).toBe(false);
    expect(g.failures.slice(0, 3)).toEqual(["beta[0]: r_hat 1.0500 > 1.01", "sigma: ess_bulk 120 < 400", "sigma: ess_tail 90.0000 < 400"]);
    expect(g.failures[3]).toMatch(/^3 divergent transition\(s\) > 0: .*--target-accept.*--max-divergences/);
    expect(g.failures).toHaveLength(4);
    expect(qualityGate([row("x", NaN, 5000, 5000)], 0).failures[0]).toMatch(/x: r_hat NaN/);
  });
});

/** Inverse error function: Giles (2010)'s approximation refined by two Newton steps. */
function inverseErf(x: number): number {
  let w = -Math.log((1 - x) * (1 + x));
  let p: number;
  if (w < 5) {
    w -= 2.5;
    p = 2.81022636e-8;
    for (const c of [3.43273939e-7, -3.5233877e-6, -4.39150654e-6, 0.00021858087, -0.00125372503, -0.00417768164, 0.246640727, 1.50140941]) p = c + p * w;
  } else {
    w = Math.sqrt(w) - 3;
    p = -0.000200214257;
    for (const c of [0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613, 0.00943887047, 1.00167406, 2.83297682]) p = c + p * w;
  }
  let y = p * x;
  for (let k = 0; k < 2; k++) y -= (erf(y) - x) / ((2 / Math.sqrt(Math.PI)) * Math.exp(-y * y));
  return y;
}

function erf(x: number): number {
  // Numerical Recipes' erfc Chebyshev fit (|error| < 1.2e-7), enough for three decimals of CRPS.
  const t = 1 / (1 + 0.5 * Math.abs(x));
  const tau =
    t *
    Math.exp(
      -x * x -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? 1 - tau : tau - 1;
}
