/**
 * Special functions behind the diagnostics: normal quantile (rank normalisation), log-gamma (model/special.ts, shared
 * with the log-densities),
 * the regularized incomplete beta function and its inverse (mcse_quantile). Reference values
 * from scipy 1.17.1 (`special.ndtri`, `gammaln`, `betainc`, `betaincc`, `betaincinv`, which
 * wrap Boost.Math / Cephes) and closed forms.
 */
import { describe, expect, it } from "vitest";
import { betaQuantile, normalQuantile, regularizedIncompleteBeta } from "../../src/diagnostics/index.js";
import { lbeta as logBeta, lgamma as logGamma } from "../../src/model/special.js";

const rel = (got: number, want: number) => (want === 0 ? Math.abs(got) : Math.abs(got - want) / Math.abs(want));

describe("normalQuantile (AS 241)", () => {
  // [p, scipy.special.ndtri(p)]
  const cases: [number, number][] = [
    [1e-300, -37.0470962993612],
    [1e-20, -9.262340089798409],
    [1e-12, -7.034483825301131],
    [1e-6, -4.753424308822899],
    [0.001, -3.090232306167813],
    [0.02425, -1.972961051311885],
    [0.075, -1.4395314709384563],
    [0.1586553, -0.9999998096111062],
    [0.3, -0.5244005127080409],
    [0.5, 0.0],
    [0.7, 0.5244005127080407],
    [0.925, 1.4395314709384563],
    [0.975, 1.959963984540054],
    [0.999999, 4.753424308817087],
    [0.999999999999, 7.0344869100478356],
  ];
  it.each(cases)("qnorm(%s) = %s to 1e-15", (p, want) => {
    expect(rel(normalQuantile(p), want)).toBeLessThanOrEqual(1e-15);
  });
  it("is antisymmetric and handles the ends", () => {
    // Dyadic p, so that 1 - p is exact.
    for (const p of [2 ** -30, 2 ** -7, 0.25, 0.375]) expect(normalQuantile(1 - p)).toBe(-normalQuantile(p));
    expect(normalQuantile(0)).toBe(Number.NEGATIVE_INFINITY);
    expect(normalQuantile(1)).toBe(Number.POSITIVE_INFINITY);
    expect(normalQuantile(-0.1)).toBeNaN();
    expect(normalQuantile(Number.NaN)).toBeNaN();
  });
});

describe("logGamma / logBeta", () => {
  // [x, scipy.special.gammaln(x)]
  const cases: [number, number][] = [
    [1e-8, 18.42068073818021],
    [0.5, 0.5723649429247],
    [1, 0.0],
    [1.5, -0.12078223763524526],
    [2, 0.0],
    [3.7, 1.428072326665388],
    [9.99, 12.779315214350195],
    [10, 12.801827480081469],
    [12.5, 18.73434751193645],
    [100, 359.1342053695754],
    [1234.5, 7550.550901077894],
    [1e6, 12815504.569147611],
  ];
  it.each(cases)("lgamma(%s) = %s", (x, want) => {
    expect(Math.abs(logGamma(x) - want)).toBeLessThanOrEqual(4e-15 * Math.max(1, Math.abs(want)));
  });
  it("lbeta matches the closed forms B(a,1) = 1/a and B(1/2,1/2) = pi", () => {
    for (const a of [0.3, 2, 15, 1e4]) expect(logBeta(a, 1)).toBeCloseTo(-Math.log(a), 13);
    expect(logBeta(0.5, 0.5)).toBeCloseTo(Math.log(Math.PI), 14);
    // B(m, n) = (m-1)!(n-1)!/(m+n-1)! for integers, in every branch of the R lbeta split.
    const lfact = (k: number) => {
      let s = 0;
      for (let i = 2; i <= k; i++) s += Math.log(i);
      return s;
    };
    for (const [m, n] of [
      [3, 4],
      [3, 40],
      [30, 45],
      [12, 500],
    ]) {
      expect(rel(logBeta(m, n), lfact(m - 1) + lfact(n - 1) - lfact(m + n - 1))).toBeLessThan(1e-13);
    }
  });
});

describe("regularizedIncompleteBeta", () => {
  // [x, a, b, scipy betainc(a, b, x), scipy betaincc(a, b, x)]
  const cases: [number, number, number, number, number][] = [
    [0.3, 2, 3, 0.34829999999999994, 0.6517000000000001],
    [0.5, 10, 10, 0.5, 0.5],
    [0.01, 11, 991, 0.41821659881016415, 0.5817834011898361],
    [0.999, 4996, 6, 0.6157851143035995, 0.3842148856963999],
    [0.2, 0.5, 0.5, 0.2951672353008665, 0.7048327646991335],
    [0.9, 1.5, 9.5, 0.9999999989103585, 1.0896415076729036e-9],
    [0.4, 500, 700, 0.1205162890894316, 0.8794837109105679],
  ];
  it.each(cases)("I_%s(%s, %s) and its complement", (x, a, b, lower, upper) => {
    expect(rel(regularizedIncompleteBeta(x, a, b), lower)).toBeLessThan(1e-13);
    expect(rel(regularizedIncompleteBeta(x, a, b, false), upper)).toBeLessThan(1e-13);
  });
  it("matches closed forms", () => {
    // Beta(2, 3): I_x = 6x^2 - 8x^3 + 3x^4 ; Beta(1/2, 1/2): (2/pi) asin(sqrt x)
    for (const x of [0.05, 0.3, 0.77]) {
      expect(rel(regularizedIncompleteBeta(x, 2, 3), 6 * x ** 2 - 8 * x ** 3 + 3 * x ** 4)).toBeLessThan(1e-14);
      expect(rel(regularizedIncompleteBeta(x, 0.5, 0.5), (2 / Math.PI) * Math.asin(Math.sqrt(x)))).toBeLessThan(1e-14);
    }
    expect(regularizedIncompleteBeta(0, 2, 3)).toBe(0);
    expect(regularizedIncompleteBeta(1, 2, 3)).toBe(1);
  });
});

describe("betaQuantile (qbeta)", () => {
  // [p, a, b, scipy.special.betaincinv(a, b, p)]; the first eight are of the kind mcse_quantile needs.
  const cases: [number, number, number, number][] = [
    [0.1586553, 11.0, 991.0, 0.007735473431984736],
    [0.8413447, 11.0, 991.0, 0.01422229787345674],
    [0.1586553, 151.3, 353.9, 0.27911270179304837],
    [0.8413447, 151.3, 353.9, 0.31985865014025694],
    [0.1586553, 1001.5, 1001.5, 0.4888280384204336],
    [0.8413447, 1001.5, 1001.5, 0.5111719615795665],
    [0.8413447, 4996, 6, 0.9992760310680626],
    [0.1586553, 6, 4996, 0.0007239689319374021],
    [0.01, 2, 3, 0.04199863562170072],
    [0.99, 2, 3, 0.859132457305454],
    [1e-10, 5, 0.1, 0.020936695377969793],
    [0.5, 0.5, 0.5, 0.5],
    [0.3, 1.5, 9.5, 0.07045421308521055],
    [0.999, 30, 30, 0.6925220324170722],
    [0.05, 60000.5, 20000.5, 0.7474751880105666],
    [0.95, 2, 100000, 4.743728280991235e-5],
  ];
  it.each(cases)("qbeta(%s, %s, %s) = %s to 1e-12", (p, a, b, want) => {
    expect(rel(betaQuantile(p, a, b), want)).toBeLessThanOrEqual(1e-12);
  });

  it("inverts closed-form CDFs", () => {
    for (const p of [1e-12, 0.001, 0.1586553, 0.5, 0.8413447, 0.999]) {
      // Beta(a, 1): F(x) = x^a ; Beta(1, b): F(x) = 1 - (1-x)^b ; Beta(1/2, 1/2): F(x) = (2/pi) asin(sqrt x)
      for (const a of [0.5, 3, 250]) expect(rel(betaQuantile(p, a, 1), Math.pow(p, 1 / a))).toBeLessThan(1e-12);
      for (const b of [0.5, 3, 250]) expect(rel(betaQuantile(p, 1, b), -Math.expm1(Math.log1p(-p) / b))).toBeLessThan(1e-12);
      expect(rel(betaQuantile(p, 0.5, 0.5), Math.sin((Math.PI * p) / 2) ** 2)).toBeLessThan(1e-12);
    }
  });

  it("round-trips through the CDF over the range mcse_quantile uses", () => {
    for (const ess of [3.7, 47.3, 480.2, 2345.6, 12000.5]) {
      for (const prob of [0.001, 0.05, 0.3, 0.5, 0.9, 0.999]) {
        const a = ess * prob + 1;
        const b = ess * (1 - prob) + 1;
        for (const p of [0.1586553, 0.8413447]) {
          const x = betaQuantile(p, a, b);
          expect(x).toBeGreaterThan(0);
          expect(x).toBeLessThan(1);
          // For a, b in the thousands I_x itself carries ~1e-13 round-off (from the prefactor
          // x^a (1-x)^b / B(a, b)), and one ulp of x moves I_x by about that much.
          expect(Math.abs(regularizedIncompleteBeta(x, a, b) - p)).toBeLessThan(1e-12);
        }
      }
    }
  });

  it("handles the ends and invalid arguments", () => {
    expect(betaQuantile(0, 2, 3)).toBe(0);
    expect(betaQuantile(1, 2, 3)).toBe(1);
    expect(betaQuantile(0.5, 1, 1)).toBeCloseTo(0.5, 15);
    expect(betaQuantile(-0.1, 2, 3)).toBeNaN();
    expect(betaQuantile(0.5, 0, 3)).toBeNaN();
    expect(betaQuantile(0.5, 2, Number.NaN)).toBeNaN();
  });
});
