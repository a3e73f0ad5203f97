// A distribution's arguments outside its domain make the log-density NaN — a state the sampler rejects — in every
// family, as Stan's argument checks reject them. Where the plain formula gave a finite number instead (log Γ's
// reflection at a negative shape, a zero count's 0·log of a negative rate or of a probability above 1, log(n choose y)
// at a fractional n), the sampler accepted parameter values the model does not allow and the posterior was wrong.
import { describe, expect, it } from "vitest";
import { fit } from "../../src/inference/index.js";
import { Beta, Binomial, BinomialLogit, Bernoulli, Flat, Gamma, InverseGamma, model, Normal, Poisson } from "../../src/model/index.js";
import { scalarLogp } from "../../src/model/scalar-logp.js";
import type { FamilyName } from "../../src/model/graph.js";
import { familyOf } from "../../src/model/families.js";
import { compile, logDensity } from "./helpers.js";

// [family, arguments, y]: each argument list outside the family's domain, at a y where the plain formula was finite.
const OUTSIDE: [FamilyName, number[], number][] = [
  ["Gamma", [-0.5, 1], 1],
  ["InverseGamma", [-0.5, 1], 1],
  ["GammaMean", [-2, -0.5], 1],
  ["Poisson", [-2], 0],
  ["Poisson", [-2], 2],
  ["Bernoulli", [1.5], 1],
  ["Bernoulli", [-0.5], 0],
  ["Binomial", [3, 1.2], 3],
  ["Binomial", [3, -0.2], 0],
  ["Binomial", [2.5, 0.5], 1],
  ["BinomialLogit", [2.5, 0.1], 1],
];

describe("arguments outside a family's domain", () => {
  it.each(OUTSIDE)("%s(%s) at y = %s: the log-density is NaN", (family, args, y) => {
    expect(familyOf(family).argumentProblem(args)).not.toBeNull();
    expect(scalarLogp(family, y, Float64Array.from(args))).toBeNaN();
  });

  it("inside the domain, at its edges, the values are unchanged", () => {
    expect(scalarLogp("Poisson", 0, Float64Array.of(0))).toBeCloseTo(0, 14);
    expect(scalarLogp("Bernoulli", 1, Float64Array.of(1))).toBe(0);
    expect(scalarLogp("Bernoulli", 0, Float64Array.of(0))).toBe(0);
    expect(scalarLogp("Binomial", 3, Float64Array.of(3, 1))).toBeCloseTo(0, 14);
    expect(scalarLogp("Binomial", 0, Float64Array.of(3, 0))).toBeCloseTo(0, 14);
    expect(scalarLogp("Gamma", 1, Float64Array.of(1, 1))).toBeCloseTo(-1, 14);
  });

  it("compiled: a loop-invariant argument and a per-row one", () => {
    const zeros = [0, 0, 0, 0];
    const invariant = compile(
      model("p", (m) => m.observe("y", Poisson(m.param("rate", Flat())), m.data("counts"))),
      { counts: zeros },
    );
    expect(logDensity(invariant, [2])).toBeCloseTo(-8, 13);
    expect(logDensity(invariant, [-2])).toBeNaN();
    const perRow = compile(
      model("q", (m) => {
        const a = m.param("a", Flat());
        m.observe("y", Poisson(a.add(m.data("x"))), m.data("counts"));
      }),
      { counts: zeros, x: [0, 1, 2, 3] },
    );
    expect(logDensity(perRow, [1])).toBeCloseTo(-10, 13);
    expect(logDensity(perRow, [-0.5])).toBeNaN();
    const ones = compile(
      model("b", (m) => m.observe("y", Bernoulli(m.param("p", Flat())), m.data("z"))),
      { z: [1, 1, 1] },
    );
    expect(logDensity(ones, [0.5])).toBeCloseTo(3 * Math.log(0.5), 14);
    expect(logDensity(ones, [1.5])).toBeNaN();
    const binomial = compile(
      model("n", (m) => m.observe("y", Binomial(m.data("n"), m.param("p", Flat())), m.data("k"))),
      { n: [3, 2.5], k: [1, 1] },
    );
    expect(logDensity(binomial, [0.5])).toBeNaN();
    const logit = compile(
      model("l", (m) => m.observe("y", BinomialLogit(m.data("n"), m.param("eta", Flat())), m.data("k"))),
      { n: [3, 2.5], k: [1, 1] },
    );
    expect(logDensity(logit, [0.1])).toBeNaN();
    for (const G of [Gamma, InverseGamma]) {
      const shape = compile(
        model("g", (m) => m.observe("y", G(m.param("alpha", Flat()), 1), m.data("v"))),
        { v: [1, 2] },
      );
      expect(Number.isFinite(logDensity(shape, [0.5]))).toBe(true);
      expect(logDensity(shape, [-0.5])).toBeNaN();
    }
  });

  it("a sampler never keeps a rate below 0, though the prior allows one", async () => {
    // rate ~ Normal(0, 1) on the real line; four zero counts. The log-density at a negative rate was −rate²/2 − 4·rate:
    // growing as the rate fell, so the chain drifted below 0.
    const m = model("zero-counts", (b) => {
      const rate = b.param("rate", Normal(0, 1));
      b.observe("y", Poisson(rate), b.data("counts"));
    });
    const p = await fit(m, { counts: [0, 0, 0, 0] }, { chains: 1, tune: 300, draws: 500, seed: 3, progress: false });
    const rate = p.values.filter((_, i) => i % p.names.length === p.names.indexOf("rate"));
    expect(Math.min(...rate)).toBeGreaterThanOrEqual(0);
  });
});

describe("a trial count computed from data", () => {
  it("that misses its integer by a rounding error is refused, naming the row and saying so", async () => {
    const m = model("shares", (b) => {
      const p = b.param("p", Beta(1, 1));
      b.observe("y", Binomial(b.data("share").mul(100), p), b.data("k"));
    });
    await expect(fit(m, { share: [0.03, 0.07, 0.04], k: [1, 1, 2] }, { chains: 1, tune: 50, draws: 50, progress: false })).rejects.toThrow(
      /data row 1 \(k = 1, share = 0\.07\): .* is 7\.000000000000001 .* \(7\.000000000000001 is 7 plus a rounding error: give the count itself as data\)/,
    );
  });
});
