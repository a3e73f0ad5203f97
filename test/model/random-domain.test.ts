// Every random-variate generator returns on every input: arguments outside the distribution's domain (NaN, ±Infinity,
// negative scales, fractional trial counts) throw a DistributionArgumentError naming the argument, and arguments
// inside it — however extreme (1e-300, 1e300) — give a draw in the support, quickly. A hang here once stopped the
// whole prediction service (Poisson(NaN) looped forever).
import { describe, expect, it } from "vitest";
import { DistributionArgumentError } from "../../src/model/distribution-argument.js";
import { FAMILIES } from "../../src/model/families.js";
import { betaVariate, binomialVariate, gammaVariate, poissonVariate } from "../../src/model/variates.js";
import { Rng } from "../../src/random/rng.js";

const EXTREMES = [
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  -1e308,
  -1,
  -1e-300,
  0,
  1e-300,
  1e-9,
  0.5,
  1,
  3.7,
  63,
  64,
  1e6,
  2 ** 53,
  1e300,
  Number.MAX_VALUE,
];

/** Calls f, and says whether it threw a DistributionArgumentError, returned a value, or threw something else. */
function outcome(f: () => number): { threw: DistributionArgumentError } | { value: number } {
  try {
    return { value: f() };
  } catch (err) {
    if (err instanceof DistributionArgumentError) return { threw: err };
    throw err;
  }
}

describe("the random variates on every input", () => {
  const rng = new Rng(5, 0);
  const cases: [string, number, (x: number) => number, (x: number) => boolean, (v: number) => boolean][] = [
    ["gamma", 1, (x) => gammaVariate(rng, x), (x) => x > 0 && x < Infinity, (v) => v >= 0],
    ["poisson", 1, (x) => poissonVariate(rng, x), (x) => x >= 0 && x < Infinity, (v) => v >= 0 && (Number.isInteger(v) || v > 2 ** 53)],
    ["beta (a)", 1, (x) => betaVariate(rng, x, 2), (x) => x > 0 && x < Infinity, (v) => v >= 0 && v <= 1],
    ["beta (b)", 1, (x) => betaVariate(rng, 2, x), (x) => x > 0 && x < Infinity, (v) => v >= 0 && v <= 1],
    ["binomial (n)", 1, (x) => binomialVariate(rng, x, 0.3), (x) => Number.isInteger(x) && x >= 0 && x < 2 ** 53, (v) => Number.isInteger(v) && v >= 0],
    ["binomial (p)", 1, (x) => binomialVariate(rng, 10, x), (x) => x >= 0 && x <= 1, (v) => Number.isInteger(v) && v >= 0 && v <= 10],
  ];
  it.each(cases.map(([name, , draw, valid, inSupport]) => ({ name, draw, valid, inSupport })))(
    "$name: draws or refuses, never hangs",
    ({ draw, valid, inSupport }) => {
      for (const x of EXTREMES) {
        const started = performance.now();
        for (let i = 0; i < 50; i++) {
          const o = outcome(() => draw(x));
          if ("threw" in o) {
            expect(valid(x), `refused ${x}`).toBe(false);
            expect(o.threw.message).toMatch(/must be/);
          } else {
            expect(valid(x), `drew ${o.value} from ${x}`).toBe(true);
            expect(inSupport(o.value), `${o.value} from ${x}`).toBe(true);
          }
        }
        expect(performance.now() - started, `50 draws at ${x}`).toBeLessThan(2000);
      }
    },
  );
});

describe("each family's random draw on every input", () => {
  it.each(Object.values(FAMILIES).map((f) => ({ name: f.name, f })))("$name: draws inside its domain, refuses outside it", ({ f }) => {
    const rng = new Rng(9, 1);
    const base = f.argNames.map((_, k) => (f.name === "Uniform" ? [0, 1][k] : f.name === "BinomialLogit" && k === 0 ? 10 : 1));
    for (let k = 0; k < f.argNames.length; k++) {
      for (const x of EXTREMES) {
        const args = base.slice();
        args[k] = x;
        const problem = f.argumentProblem(args);
        const started = performance.now();
        const o = outcome(() => f.random(rng, args));
        expect(performance.now() - started).toBeLessThan(1000);
        if (problem !== null) {
          expect("threw" in o, `${f.name}(${args}) should be refused`).toBe(true);
          if ("threw" in o) {
            expect(o.threw.argument).toBe(f.argNames[problem.arg]);
            expect(o.threw.distribution).toBe(f.name);
          }
        } else {
          // Inside the domain: a draw (a huge argument may give ±Infinity, which the predictor reports as not finite).
          expect("value" in o, `${f.name}(${args}): ${"threw" in o ? o.threw.message : ""}`).toBe(true);
          if ("value" in o) expect(Number.isNaN(o.value), `${f.name}(${args}) gave NaN`).toBe(false);
        }
      }
    }
  });

  it("names the argument and what it must be", () => {
    expect(() => FAMILIES.PoissonLog.random(new Rng(1), [Number.NaN])).toThrow(/PoissonLog: logRate must be a number ≤ 709.78/);
    expect(() => FAMILIES.Normal.random(new Rng(1), [0, -1])).toThrow(/Normal: sigma must be > 0 and finite \(got -1\)/);
    expect(() => FAMILIES.BinomialLogit.random(new Rng(1), [2.5, 0])).toThrow(/n must be a non-negative integer/);
  });
});
