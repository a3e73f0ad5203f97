// digamma, and the Student-t's normalising constant and its gradient in ν for large ν, where log Γ((ν+1)/2) − log Γ(ν/2) and
// ψ((ν+1)/2) − ψ(ν/2) are small differences of large numbers (special.ts lgammaStep, digammaStep). Reference
// values from mpmath 1.3.0 at 50 significant digits (300 for x = 1e100): loggamma(x + 1/2) − loggamma(x),
// digamma(x + 1/2) − digamma(x), digamma(x), and the Student-t log-density and mpmath.diff of it in ν.
import { describe, expect, it } from "vitest";
import { digamma, digammaStep, lgamma, lgammaStep } from "../../src/model/special.js";
import { scalarLogp } from "../../src/model/scalar-logp.js";
import { Flat, model, StudentT } from "../../src/model/index.js";
import { compile, gradient } from "./helpers.js";

const rel = (got: number, want: number) => Math.abs(got - want) / Math.abs(want);

// [x, log Γ(x + ½) − log Γ(x), ψ(x + ½) − ψ(x)]
const HALF_STEPS: [number, number, number][] = [
  [0.25, -1.0847415732667820859, 3.1415926535897932385],
  [0.5, -0.57236494292470008707, 1.3862943611198906188],
  [1, -0.12078223763524522235, 0.61370563888010938117],
  [2.5, 0.40846431008702614978, 0.21962769445322395217],
  [5.75, 0.85288795036794297068, 0.090723155815799448864],
  [6, 0.87507031707509553427, 0.086793661968132469189],
  [9.75, 1.1258187314252837363, 0.052595255642147957323],
  [10, 1.138797739322294022, 0.051248445230965267625],
  [10.5, 1.1637873536717516621, 0.048751554769034732375],
  [50, 1.953511544375741213, 0.010049997500499787655],
  [1000, 3.4537526394962768578, 0.00050012499998437500781],
  [100000, 5.7564614824851142153, 5.0000124999999998437e-6],
  [5000000, 7.7124742101991872394, 1.00000005e-7],
  [1e9, 10.361632918348205578, 5.00000000125e-10],
  [3.5e10, 12.139306949214340989, 1.4285714285816326531e-11],
  [1e15, 17.269388197455342505, 5.00000000000000125e-16],
  [1e100, 115.1292546497022842, 5.0e-101],
];

describe("lgammaStep and digammaStep with a = ½", () => {
  it.each(HALF_STEPS)("at x = %s: log Γ(x + ½) − log Γ(x) = %s, ψ(x + ½) − ψ(x) = %s", (x, lg, dg) => {
    // Absolute below 1: the plain difference's log Γ values are accurate to ~1e-15 absolute, not relative to it.
    expect(Math.abs(lgammaStep(x, 0.5) - lg)).toBeLessThan(6e-15 * Math.max(1, Math.abs(lg)));
    expect(rel(digammaStep(x, 0.5), dg)).toBeLessThan(4e-14);
  });

  it("are needed: the plain differences lose all but a few digits for large x", () => {
    // The test above would fail for the subtraction it replaces.
    expect(rel(lgamma(3.5e10 + 0.5) - lgamma(3.5e10), 12.139306949214340989)).toBeGreaterThan(1e-6);
    expect(rel(digamma(1e9 + 0.5) - digamma(1e9), 5.00000000125e-10)).toBeGreaterThan(1e-8);
  });

  it("are the plain differences below the asymptotic ranges, and handle the ends", () => {
    for (const x of [0.1, 1, 5.5, 9.9]) expect(lgammaStep(x, 0.5)).toBe(lgamma(x + 0.5) - lgamma(x));
    for (const x of [0.1, 1, 5.9]) expect(digammaStep(x, 0.5)).toBe(digamma(x + 0.5) - digamma(x));
    expect(lgammaStep(Infinity, 0.5)).toBe(Infinity);
    expect(digammaStep(Infinity, 0.5)).toBe(0);
    expect(lgammaStep(NaN, 0.5)).toBeNaN();
    expect(digammaStep(NaN, 0.5)).toBeNaN();
  });
});

// [y, μ, σ, ν, log p(y | ν, μ, σ), ∂/∂ν log p]
const STUDENT_T: [number, number, number, number, number, number][] = [
  [1.3, 0.2, 0.7, 3, -1.8453226931490180853, 0.027198341902840344849],
  [1.3, 0.2, 0.7, 30, -1.7966507841976889464, 0.000021394623515353920171],
  [-2.5, 0.2, 1.5, 1e4, -2.9443282317477314027, -7.5379138354971302751e-9],
  [1.3, 0.2, 0.7, 1e8, -1.7969574664192099324, -3.9775074006933706274e-18],
  [1.3, 0.2, 0.7, 1e12, -1.7969574668169209959, -3.9775093708983367191e-26],
  [4, 0, 1, 1e15, -8.9189385332046169918, -5.5749999999998762667e-29],
];

describe("digamma", () => {
  // [x, ψ(x)] from mpmath; the asymptotic series starts at x = 10 (at 6 its first omitted term was 1.6e-13).
  const cases: [number, number][] = [
    [0.3, -3.502524222200132989],
    [1, -0.57721566490153286061],
    [5.75, 1.6597303710679365795],
    [6, 1.7061176684318004727],
    [6.25, 1.7504535268837360284],
    [7.5, 1.9467574842460867881],
    [9.5, 2.1977378764029495332],
    [10, 2.2517525890667211076],
    [-2.5, 1.1031566406452431872],
    [123.456, 4.8118293238289853873],
  ];
  it.each(cases)("ψ(%s) = %s", (x, want) => {
    expect(Math.abs(digamma(x) - want)).toBeLessThan(2e-15 * Math.max(1, Math.abs(want)));
  });
});

describe("the Student-t at large ν", () => {
  it.each(STUDENT_T)("log p(%s | ν, μ = %s, σ = %s) at ν = %s", (y, mu, s, nu, lp) => {
    expect(Math.abs(scalarLogp("StudentT", y, Float64Array.of(nu, mu, s)) - lp)).toBeLessThan(1e-14);
  });

  // ν unconstrained with a flat prior, so that the gradient is ∂/∂ν log p itself. For large ν it is a sum of terms of
  // order 1/ν that cancel to order 1/ν²: its absolute error is a few ulps of 1/ν.
  const m = model("t", (b) => {
    const nu = b.param("nu", Flat());
    b.observe("obs", StudentT(nu, b.data("mu", { shape: "scalar" }), b.data("s", { shape: "scalar" })), b.data("y", { shape: "scalar" }));
  });
  it.each(STUDENT_T)("∂/∂ν log p(%s | ν, μ = %s, σ = %s) at ν = %s", (y, mu, s, nu, lp, dnu) => {
    const c = compile(m, { y, mu, s });
    const g = gradient(c, [nu]);
    expect(Math.abs(g.lp - lp)).toBeLessThan(1e-14);
    expect(Math.abs(g.grad[0] - dnu)).toBeLessThan(1e-15 / nu + 1e-13 * Math.abs(dnu));
  });
});
