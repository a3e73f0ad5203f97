// The negative binomial near its Poisson limit (large φ), where log Γ(y + φ) − log Γ(φ) + φ log φ − (y + φ) log(μ + φ)
// and its derivative in φ are small differences of large numbers (special.ts lgammaStep, digammaStep, log1pRatio).
// Reference values from mpmath 1.3.0 at 80 significant digits (500 for x = 1e200): loggamma(x + a) − loggamma(x),
// digamma(x + a) − digamma(x), and Stan's neg_binomial_2 log-mass and mpmath.diff of it in φ.
import { describe, expect, it } from "vitest";
import { digamma, digammaStep, lgamma, lgammaStep, log1pRatio, negBinomialPhiGradient, negBinomialPhiTerms } from "../../src/model/special.js";
import { scalarLogp } from "../../src/model/scalar-logp.js";
import { Flat, model, NegativeBinomial, NegativeBinomialLog } from "../../src/model/index.js";
import { NB_LARGE_PHI } from "../../src/model/families.js";
import { compile, gradient } from "./helpers.js";

// [x, a, log Γ(x + a) − log Γ(x), ψ(x + a) − ψ(x)]
const STEPS: [number, number, number, number][] = [
  [0.3, 2, -0.94160853985844494059, 4.1025641025641025641],
  [4, 0.5, 0.66197710161438721969, 0.13275325792772842878],
  [9.5, 3, 7.0450140911391772191, 0.28745777487196251498],
  [10, 1, 2.302585092994045684, 0.1],
  [25, 7, 23.307494155202991441, 0.25128701768301323363],
  [1000, 250, 1755.7566704459740417, 0.22324358131420483577],
  [1e6, 3, 41.446534673890322315, 2.999997000004999991e-6],
  [1e9, 40, 828.93063425785643598, 3.999999922000002054e-8],
  [1e15, 5, 172.6938819745534363, 4.99999999999999e-15],
  [12, 1e6, 12815652.853032461104, 11.37286037792237926],
  [1e200, 1e3, 460517.0185988091368, 1.0e-197],
];

describe("lgammaStep and digammaStep", () => {
  it.each(STEPS)("at x = %s, a = %s: log Γ(x + a) − log Γ(x) = %s, ψ(x + a) − ψ(x) = %s", (x, a, lg, dg) => {
    expect(Math.abs(lgammaStep(x, a) - lg)).toBeLessThan(6e-15 * Math.max(1, Math.abs(lg)));
    expect(Math.abs(digammaStep(x, a) - dg)).toBeLessThan(4e-14 * Math.abs(dg) + 1e-16);
  });

  it("are needed: the plain differences lose all but a few digits for large x", () => {
    expect(Math.abs(lgamma(1e9 + 40) - lgamma(1e9) - 828.93063425785643598)).toBeGreaterThan(1e-8);
    expect(Math.abs(digamma(1e9 + 40) - digamma(1e9) - 3.999999922000002054e-8) / 3.999999922000002054e-8).toBeGreaterThan(1e-9);
  });

  it("are exactly 0 for a = 0 and handle the ends", () => {
    for (const x of [0.5, 10, 1e6, 1e300]) {
      expect(lgammaStep(x, 0)).toBe(0);
      expect(digammaStep(x, 0)).toBe(0);
    }
    expect(lgammaStep(1e6, Infinity)).toBe(Infinity);
    expect(lgammaStep(Infinity, 3)).toBe(Infinity);
    expect(digammaStep(Infinity, 3)).toBe(0);
    expect(lgammaStep(NaN, 3)).toBeNaN();
    expect(digammaStep(20, NaN)).toBeNaN();
  });

  it("log1pRatio is log1p(a/b), and log a − log b where a/b overflows", () => {
    expect(log1pRatio(2.5, 1e12)).toBe(Math.log1p(2.5e-12));
    expect(log1pRatio(1e10, 1e-300)).toBeCloseTo(Math.log(1e10) + 300 * Math.LN10, 12);
    expect(log1pRatio(1e300, 1e-300)).toBeCloseTo(600 * Math.LN10, 12);
  });
});

/** The plain form of the terms in φ and of their gradient, as families.ts writes them below NB_LARGE_PHI. */
const plainPhiTerms = (y: number, mu: number, phi: number) => lgamma(y + phi) - lgamma(phi) + phi * Math.log(phi) - (y + phi) * Math.log(mu + phi);
const plainPhiGradient = (y: number, mu: number, phi: number) =>
  digamma(y + phi) - digamma(phi) + Math.log(phi) + 1 - Math.log(mu + phi) - (y + phi) / (mu + phi);

describe("negBinomialPhiTerms and negBinomialPhiGradient", () => {
  it("agree with the plain form where it is accurate, across the switch and down to small φ", () => {
    for (const phi of [0.5, 3, 10, 50, 999.5, 1000, 1000.5])
      for (const [y, mu] of [
        [0, 2.5],
        [3, 2.5],
        [40, 37],
      ]) {
        const t = negBinomialPhiTerms(y, mu, phi, Math.log(mu + phi));
        expect(Math.abs(t - plainPhiTerms(y, mu, phi))).toBeLessThan(1e-11 * Math.max(1, Math.abs(t)));
        const g = negBinomialPhiGradient(y, mu, phi);
        expect(Math.abs(g - plainPhiGradient(y, mu, phi))).toBeLessThan(1e-11 * Math.max(1e-3, Math.abs(g)));
      }
  });
});

// [y, μ, φ, log p(y | μ, φ), ∂/∂φ log p]
const NEG_BINOMIAL: [number, number, number, number, number][] = [
  [0, 2.5, 0.5, -0.89587973461402750041, -0.95842613589472166748],
  [3, 2.5, 5, -1.7678143450557373044, 0.037392034748978475165],
  [40, 37, 50, -3.1274176129594736212, 0.0038862815608520703286],
  [3, 2.5, 1e4, -1.5430247569417819621, 1.374666752425859817e-8],
  [40, 37, 1e8, -2.8839233639883950877, 1.5499995486667876591e-15],
  [3, 2.5, 1e12, -1.5428872736069648053, 1.3749999999966666667e-24],
  [0, 37, 1e8, -36.999993155001688433, -6.8449966231347389535e-14],
  [7, 1e-3, 2, -51.131374550489600033, -1.7803938566222893002],
  // Either side of families.ts NB_LARGE_PHI, where the plain form gives way to the cancelled one.
  [12, 9.5, 999.5, -2.4745865817284297862, 2.8722797888524197274e-6],
  [12, 9.5, 1000, -2.4745851463058849343, 2.869411107170822439e-6],
];

/**
 * From NB_LARGE_PHI on, what is left of the cancellation: log Γ(y + φ) − log Γ(φ) (~y log φ) and y·log(μ + φ) are
 * still subtracted, a few ulps of y·log(μ + φ) (1e-13 at y = 40, φ = 1e8, against 2e-7 when log Γ(φ) itself was
 * subtracted). Below it, the plain form: a few ulps of log Γ(φ) ≈ φ log φ (1e-12 at φ = 999.5).
 */
const lpTolerance = (y: number, mu: number, phi: number, lp: number) =>
  4e-15 * Math.max(1, Math.abs(lp)) + 8e-16 * y * Math.log(mu + phi) + (phi < NB_LARGE_PHI ? 8e-16 * phi * Math.log1p(phi) : 0);

describe("the negative binomial near its Poisson limit", () => {
  it.each(NEG_BINOMIAL)("log p(%s | μ = %s, φ = %s), identity and log link", (y, mu, phi, lp) => {
    const tol = lpTolerance(y, mu, phi, lp);
    expect(Math.abs(scalarLogp("NegativeBinomial", y, Float64Array.of(mu, phi)) - lp)).toBeLessThan(tol);
    expect(Math.abs(scalarLogp("NegativeBinomialLog", y, Float64Array.of(Math.log(mu), phi)) - lp)).toBeLessThan(tol);
  });

  // φ unconstrained with a flat prior, so that the gradient is ∂/∂φ log p itself: a sum of terms of order (y + μ)/φ
  // that cancel to order 1/φ², whose absolute error is a few ulps of (1 + y + μ)/φ from NB_LARGE_PHI on; below it, of
  // the plain form's ψ(φ) and log φ.
  const observe = (link: "identity" | "log") =>
    model("nb", (b) => {
      const phi = b.param("phi", Flat());
      const mean = b.data("mean", { shape: "scalar" });
      const dist = link === "identity" ? NegativeBinomial(mean, phi) : NegativeBinomialLog(mean, phi);
      b.observe("obs", dist, b.data("y", { shape: "scalar", kind: "integer" }));
    });
  const identity = observe("identity");
  const logLink = observe("log");
  it.each(NEG_BINOMIAL)("∂/∂φ log p(%s | μ = %s, φ = %s), identity and log link", (y, mu, phi, lp, dphi) => {
    for (const [m, mean] of [
      [identity, mu],
      [logLink, Math.log(mu)],
    ] as const) {
      const g = gradient(compile(m, { y, mean }), [phi]);
      expect(Math.abs(g.lp - lp)).toBeLessThan(lpTolerance(y, mu, phi, lp));
      const plain = phi < NB_LARGE_PHI ? 8e-16 * Math.log1p(phi) : 0;
      expect(Math.abs(g.grad[0] - dphi)).toBeLessThan((2e-15 * (1 + y + mu)) / phi + 1e-13 * Math.abs(dphi) + plain);
    }
  });

  // [y, μ, φ, ∂/∂μ log p, ∂/∂η log p with η = log μ] from mpmath 1.3.0 (50 digits): φ(y − μ)/(μ(μ + φ)) and
  // φ(y − μ)/(μ + φ), checked against mpmath.diff of log p (the last two rows at μ too large for mpmath.diff's
  // defaults: by the formula alone). At large μ, y/μ and (y + φ)/(μ + φ) agree to many digits and
  // their plain difference kept only the last few (1.6e-4 relative error at μ = 1e12).
  const MEAN_GRADIENT: [number, number, number, number, number][] = [
    [3, 2.5, 4, 0.12307692307692307692, 0.30769230769230769231],
    [32622777, 1e6, 0.001, 3.162277696837722369e-8, 0.03162277696837722369],
    [2414213562373, 1e12, 0.5, 7.0710678118614644661e-13, 0.70710678118614644661],
    [1000000, 1e6, 0.5, 0, 0],
    [0, 1e-3, 2, -0.99950024987506246876, -0.00099950024987506248956],
    // μ(μ + φ) and φ·μ beyond the largest double, the result not (μ = e^355, e^700 as doubles).
    [0, 1.4946554004725342e154, 2, -1.3381010762532296967e-154, -2],
    [0, 1.0142320547350045e304, 1e5, -9.8596765437597710187e-300, -100000],
  ];
  it.each(MEAN_GRADIENT)("∂/∂μ and ∂/∂η log p(%s | μ = %s, φ = %s)", (y, mu, phi, dmu, deta) => {
    const meanParam = (link: "identity" | "log") =>
      model("nb-mean", (b) => {
        const mean = b.param("mean", Flat());
        const p = b.data("phi", { shape: "scalar" });
        b.observe("obs", link === "identity" ? NegativeBinomial(mean, p) : NegativeBinomialLog(mean, p), b.data("y", { shape: "scalar", kind: "integer" }));
      });
    const gMu = gradient(compile(meanParam("identity"), { y, phi }), [mu]).grad[0];
    const gEta = gradient(compile(meanParam("log"), { y, phi }), [Math.log(mu)]).grad[0];
    expect(Math.abs(gMu - dmu)).toBeLessThanOrEqual(4e-16 * Math.abs(dmu));
    // η = log μ is rounded: μ = e^η differs from the μ above by up to |η|·2⁻⁵³ relative, and ∂/∂η moves with it.
    expect(Math.abs(gEta - deta)).toBeLessThanOrEqual(4e-16 * Math.abs(deta) + (2e-16 * Math.abs(Math.log(mu)) * mu * phi) / (mu + phi) + 1e-300);
  });
});
