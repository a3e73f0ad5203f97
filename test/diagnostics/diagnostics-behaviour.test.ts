/**
 * Behaviour of the diagnostics beyond the reference vector: hand-computed cases, known
 * statistical properties on synthetic chains, and edge cases.
 */
import { describe, expect, it } from "vitest";
import {
  autocovariance,
  autocovariancePairInto,
  averageRanks,
  ebfmi,
  essBasic,
  essBulk,
  essMean,
  essTail,
  hdi,
  histogram,
  mcseMean,
  quantile,
  rhat,
  rhatBasic,
  splitChains,
  splitRhat,
  zScale,
} from "../../src/diagnostics/index.js";
import { ar1Chain, normalSampler } from "./rng.js";

describe("ebfmi", () => {
  it("matches a hand computation", () => {
    // Chain 1, E = [1, 3, 2, 5]: squared differences 4, 1, 9 -> mean 14/3; var(E, ddof=1) = 8.75/3;
    // E-BFMI = (14/3) / (35/12) = 1.6. Chain 2, E = [0, 1, 2, 3]: 1 / (5/3) = 0.6.
    const out = ebfmi([Float64Array.of(1, 3, 2, 5), Float64Array.of(0, 1, 2, 3)]);
    expect(out).toBeInstanceOf(Float64Array);
    expect(out[0]).toBeCloseTo(1.6, 14);
    expect(out[1]).toBeCloseTo(0.6, 14);
  });
  it("is about 2 for independent energies and small for a slowly moving one", () => {
    const z = normalSampler(7);
    const iid = Float64Array.from({ length: 4000 }, () => z());
    expect(ebfmi([iid])[0]).toBeGreaterThan(1.8);
    expect(ebfmi([iid])[0]).toBeLessThan(2.2);
    expect(ebfmi([ar1Chain(4000, 0.95, 3)])[0]).toBeLessThan(0.2);
  });
  it("gives NaN for fewer than two draws", () => {
    expect(ebfmi([Float64Array.of(1)])[0]).toBeNaN();
  });
});

describe("hdi", () => {
  it("matches hand-computed windows", () => {
    // sorted [1, 2, 3, 4, 10]; prob 0.6 -> k = 3: widths [1,4]=3, [2,10]=8 -> [1, 4]
    expect(hdi([10, 3, 1, 4, 2], 0.6)).toEqual([1, 4]);
    // prob 0.4 -> k = 2: [1,3]=2, [2,4]=2, [3,10]=7 -> first minimum [1, 3]
    expect(hdi([10, 3, 1, 4, 2], 0.4)).toEqual([1, 3]);
    // a long left tail moves the interval right
    expect(hdi([-100, 0, 1, 2, 3, 4, 5, 6, 7, 8], 0.8)).toEqual([0, 8]);
  });
  it("handles a single value, equal values and bad arguments as ArviZ", () => {
    expect(hdi([42])).toEqual([42, 42]);
    expect(hdi([3, 3, 3])).toEqual([3, 3]);
    expect(() => hdi([], 0.9)).toThrow(RangeError);
    expect(() => hdi([1, 2, 3], 1)).toThrow(RangeError);
    expect(hdi([1, Number.NaN, 2], 0.5)).toEqual([Number.NaN, Number.NaN]);
  });
});

describe("histogram edge cases", () => {
  it("rejects bad bin counts and non-finite values, as numpy", () => {
    expect(() => histogram([1, 2], 0)).toThrow(RangeError);
    expect(() => histogram([1, 2], 2.5)).toThrow(RangeError);
    expect(() => histogram([1, Number.POSITIVE_INFINITY], 3)).toThrow(RangeError);
  });
  it("integrates to one", () => {
    const z = normalSampler(11);
    const h = histogram(
      Float64Array.from({ length: 999 }, () => z()),
      23,
    );
    let integral = 0;
    for (let i = 0; i < 23; i++) integral += h.density[i] * (h.edges[i + 1] - h.edges[i]);
    expect(integral).toBeCloseTo(1, 12);
    expect(h.counts.reduce((s, c) => s + c, 0)).toBe(999);
  });
});

describe("building blocks", () => {
  it("quantile follows R's type 7", () => {
    const x = Float64Array.from({ length: 10 }, (_, i) => 10 - i); // 10..1, unsorted input
    expect(quantile(x, 0.33)).toBeCloseTo(3.97, 14); // R: quantile(1:10, 0.33) = 3.97
    expect(quantile(x, 0)).toBe(1);
    expect(quantile(x, 1)).toBe(10);
    expect(quantile(x, 0.5)).toBe(5.5);
    expect(() => quantile(x, 1.5)).toThrow(RangeError);
  });

  it("averageRanks gives ties their average rank", () => {
    expect(Array.from(averageRanks([3, 1, 3, 2, 3]))).toEqual([4, 1, 4, 2, 4]);
    expect(Array.from(averageRanks([0.5, -1, 0.5]))).toEqual([2.5, 1, 2.5]);
  });

  it("averageRanks equals the definition (count below, count equal) on random draws with and without ties", () => {
    const r = normalSampler(17);
    for (const n of [1, 2, 3, 7, 64, 1000, 4097]) {
      for (const ties of [false, true]) {
        const x = Float64Array.from({ length: n }, () => (ties ? Math.round(r() * 2) : r()));
        if (ties && n > 2) x[1] = -0; // -0 and 0 are one value, as R's rank has them
        const ranks = averageRanks(x);
        for (let i = 0; i < n; i++) {
          let below = 0;
          let equal = 0;
          for (let j = 0; j < n; j++) {
            if (x[j] < x[i]) below++;
            else if (x[j] === x[i]) equal++;
          }
          if (ranks[i] !== below + (equal + 1) / 2) expect.fail(`n=${n} ties=${ties} i=${i}: rank ${ranks[i]}, want ${below + (equal + 1) / 2}`);
        }
      }
    }
  });

  it("zScale uses Blom's offset over all chains", () => {
    const z = zScale([Float64Array.of(10, 30), Float64Array.of(20, 40)]);
    // ranks 1, 3 | 2, 4 of S = 4 -> qnorm((r - 3/8) / 4.25); values from scipy norm.ppf
    expect(z[0][0]).toBeCloseTo(-1.0491313979639707, 14);
    expect(z[1][1]).toBeCloseTo(1.0491313979639707, 14);
    expect(z[0][1]).toBeCloseTo(0.2993069104656671, 14);
    expect(z[1][0]).toBeCloseTo(-0.2993069104656671, 14);
  });

  it("splitChains returns views, dropping the middle draw of odd chains", () => {
    const x = Float64Array.of(1, 2, 3, 4, 5);
    const s = splitChains([x]);
    expect(Array.from(s[0])).toEqual([1, 2]);
    expect(Array.from(s[1])).toEqual([4, 5]);
    expect(s[0].buffer).toBe(x.buffer);
  });

  it("FFT autocovariance equals the direct sum at every lag", () => {
    for (const n of [1, 2, 3, 37, 64, 100]) {
      const x = ar1Chain(n, 0.6, n);
      let m = 0;
      for (const v of x) m += v;
      m /= n;
      const ac = autocovariance(x);
      for (let t = 0; t < n; t++) {
        let s = 0;
        for (let i = 0; i + t < n; i++) s += (x[i] - m) * (x[i + t] - m);
        expect(Math.abs(ac[t] - s / n)).toBeLessThan(1e-13 * Math.max(1, ac[0]));
      }
    }
    expect(Array.from(autocovariance(Float64Array.of(2, 2, 2)))).toEqual([0, 0, 0]);
  });

  it("two sequences through one FFT give the same autocovariances as one at a time", () => {
    for (const n of [3, 50, 129]) {
      const x = ar1Chain(n, 0.8, 1000 + n);
      const y = ar1Chain(n, -0.3, 2000 + n);
      const ax = new Float64Array(n);
      const ay = new Float64Array(n);
      autocovariancePairInto(x, y, ax, ay);
      const bx = autocovariance(x);
      const by = autocovariance(y);
      for (let t = 0; t < n; t++) {
        expect(Math.abs(ax[t] - bx[t])).toBeLessThan(1e-14 * bx[0]);
        expect(Math.abs(ay[t] - by[t])).toBeLessThan(1e-14 * by[0]);
      }
    }
    // A constant partner does not disturb the other sequence.
    const x = ar1Chain(20, 0.5, 5);
    const ax = new Float64Array(20);
    const ay = new Float64Array(20);
    autocovariancePairInto(x, new Float64Array(20).fill(7), ax, ay);
    expect(Array.from(ay)).toEqual(new Array(20).fill(0));
    expect(ax[3]).toBeCloseTo(autocovariance(x)[3], 14);
  });

  it("ESS with lags summed directly equals ESS from the FFT of every lag, however many lags Geyer's sequence needs", () => {
    // The reference: posterior's .ess with every chain's autocovariance by FFT (autocovariance()).
    const byFft = (chains: Float64Array[]): number => {
      const m = chains.length;
      const n = chains[0].length;
      const acov = new Float64Array(n);
      for (const x of chains) {
        const a = autocovariance(x);
        for (let t = 0; t < n; t++) acov[t] += a[t] / m;
      }
      const means = chains.map((x) => x.reduce((s, v) => s + v, 0) / n);
      const grand = means.reduce((s, v) => s + v, 0) / m;
      const w = (acov[0] * n) / (n - 1);
      const varPlus = (w * (n - 1)) / n + (m > 1 ? means.reduce((s, v) => s + (v - grand) ** 2, 0) / (m - 1) : 0);
      const rho = new Float64Array(n);
      let t = 0;
      let even = 1;
      let odd = 1 - (w - acov[1]) / varPlus;
      rho[0] = even;
      rho[1] = odd;
      while (t < n - 5 && even + odd > 0) {
        t += 2;
        even = 1 - (w - acov[t]) / varPlus;
        odd = 1 - (w - acov[t + 1]) / varPlus;
        if (even + odd >= 0) {
          rho[t] = even;
          rho[t + 1] = odd;
        }
      }
      const maxT = t;
      if (even > 0) rho[maxT] = even;
      for (t = 2; t <= maxT - 2; t += 2) if (rho[t] + rho[t + 1] > rho[t - 2] + rho[t - 1]) rho[t + 1] = rho[t] = (rho[t - 2] + rho[t - 1]) / 2;
      let sum = maxT === 0 ? rho[0] : 0;
      for (let k = 0; k < maxT; k++) sum += rho[k];
      return (m * n) / Math.max(-1 + 2 * sum + rho[maxT], 1 / Math.log10(m * n));
    };
    // φ from antithetic to very sticky: sequences ending at lag 2 and ones needing hundreds of lags (the FFT path).
    for (const n of [4, 9, 100, 1000, 2500]) {
      for (const phi of [-0.7, 0, 0.5, 0.7, 0.8, 0.85, 0.9, 0.93, 0.95, 0.97, 0.99, 0.999]) {
        for (const m of [1, 3, 4]) {
          const chains = Array.from({ length: m }, (_, c) => ar1Chain(n, phi, 100 * c + n));
          const got = essBasic(chains);
          const want = byFft(chains);
          expect(Math.abs(got - want), `n=${n} φ=${phi} m=${m}: ${got} vs ${want}`).toBeLessThan(1e-11 * want);
        }
      }
    }
  });

  it("ESS is the same with an odd number of chains (one chain transformed alone)", () => {
    const x = [ar1Chain(300, 0.5, 1), ar1Chain(300, 0.5, 2), ar1Chain(300, 0.5, 3)];
    // essBasic(x) uses a pair and a single transform; the split version uses three pairs.
    expect(essBasic(x)).toBeGreaterThan(200);
    expect(Math.abs(essBasic(x) / essBasic(x, true) - 1)).toBeLessThan(0.2);
  });
});

describe("ESS and R-hat on synthetic chains", () => {
  const chains = 4;
  const n = 2000;
  const S = chains * n;

  it("independent draws: ESS close to the draw count, R-hat close to 1", () => {
    const z = normalSampler(2024);
    const x = Array.from({ length: chains }, () => Float64Array.from({ length: n }, () => z()));
    for (const ess of [essBulk(x), essMean(x), essTail(x), essBasic(x)]) {
      expect(ess).toBeGreaterThan(0.85 * S);
      expect(ess).toBeLessThan(1.15 * S);
    }
    expect(Math.abs(rhat(x) - 1)).toBeLessThan(0.01);
    expect(Math.abs(splitRhat(x) - 1)).toBeLessThan(0.01);
    expect(Math.abs(rhatBasic(x) - 1)).toBeLessThan(0.01);
  });

  it("AR(1) with phi = 0.9: ESS near S (1 - phi) / (1 + phi)", () => {
    const x = Array.from({ length: chains }, (_, c) => ar1Chain(n, 0.9, 100 + c));
    const expected = (S * 0.1) / 1.9;
    expect(essMean(x)).toBeGreaterThan(0.7 * expected);
    expect(essMean(x)).toBeLessThan(1.4 * expected);
    expect(essBulk(x)).toBeGreaterThan(0.7 * expected);
    expect(essBulk(x)).toBeLessThan(1.4 * expected);
    // mcse_mean ~ sd / sqrt(ESS)
    expect(mcseMean(x)).toBeGreaterThan(0.7 / Math.sqrt(expected));
    expect(mcseMean(x)).toBeLessThan(1.4 / Math.sqrt(expected));
  });

  it("antithetic AR(1) (phi = -0.5): ESS above S but within the S log10(S) cap", () => {
    const x = Array.from({ length: chains }, (_, c) => ar1Chain(n, -0.5, 300 + c));
    const ess = essMean(x);
    expect(ess).toBeGreaterThan(1.5 * S);
    expect(ess).toBeLessThanOrEqual(S * Math.log10(S));
  });

  it("chains stuck in different places: R-hat well above 1", () => {
    const x = Array.from({ length: chains }, (_, c) => ar1Chain(n, 0.5, 500 + c, c === 0 ? 3 : 0));
    expect(rhat(x)).toBeGreaterThan(1.1);
    expect(rhatBasic(x)).toBeGreaterThan(1.1);
  });

  it("a chain whose spread differs is caught by the folded (tail) R-hat", () => {
    const z = normalSampler(77);
    const x = Array.from({ length: chains }, (_, c) => Float64Array.from({ length: n }, () => z() * (c === 0 ? 3 : 1)));
    expect(splitRhat(x)).toBeLessThan(1.01); // same means: classic R-hat misses it
    expect(rhat(x)).toBeGreaterThan(1.05);
  });
});

describe("edge cases", () => {
  it("constant draws give NaN, as posterior (should_return_NA)", () => {
    const x = [new Float64Array(100).fill(1.5), new Float64Array(100).fill(1.5)];
    expect(essBulk(x)).toBeNaN();
    expect(essTail(x)).toBeNaN();
    expect(essMean(x)).toBeNaN();
    expect(rhat(x)).toBeNaN();
    expect(mcseMean(x)).toBeNaN();
  });
  it("non-finite draws give NaN", () => {
    const x = [ar1Chain(100, 0.2, 1), ar1Chain(100, 0.2, 2)];
    x[1][5] = Number.NaN;
    expect(essBulk(x)).toBeNaN();
    expect(rhat(x)).toBeNaN();
  });
  it("one chain: ESS is defined, R-hat is not", () => {
    const x = [ar1Chain(500, 0.3, 9)];
    expect(essBulk(x)).toBeGreaterThan(100);
    expect(rhat(x)).toBeGreaterThan(0.9); // split in two halves it has two chains
    expect(rhatBasic(x)).toBeNaN();
  });
  it("too few draws give NaN ESS; unequal chains throw", () => {
    expect(essMean([Float64Array.of(1, 2, 3, 4, 5)])).toBeNaN(); // split halves of 2 draws
    expect(() => essMean([Float64Array.of(1, 2, 3), Float64Array.of(1, 2)])).toThrow(RangeError);
    expect(() => rhat([])).toThrow(RangeError);
  });
});
