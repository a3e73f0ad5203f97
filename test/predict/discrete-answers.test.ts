// The answers of a discrete likelihood: the HDI of integer draws is the most probable run of integers of ArviZ's width
// (ArviZ's first window of that width is the lowest one), and a 0/1 family's density is always P(0) and P(1).
import { describe, expect, it } from "vitest";
import { hdi, hdiDiscreteInPlace, hdiDiscreteSorted } from "../../src/diagnostics/index.js";
import { BernoulliLogit, model, Normal, PoissonLog } from "../../src/model/index.js";
import { answerAll, inferAll, type InferParams, type PredictParams, Predictor } from "../../src/predict/index.js";
import { Rng } from "../../src/random/rng.js";

/** By brute force: the fewest consecutive integers holding floor(prob·n) + 1 draws, the most draws among those, the first on ties. */
function bruteForce(values: ArrayLike<number>, prob: number): [number, number] {
  const a = Array.from(values);
  const need = Math.floor(prob * a.length) + 1;
  const min = Math.min(...a);
  const max = Math.max(...a);
  const count = (lo: number, hi: number) => a.filter((v) => v >= lo && v <= hi).length;
  for (let w = 0; w <= max - min; w++) {
    let best: [number, number] | null = null;
    let bestCount = -1;
    for (let lo = min; lo + w <= max; lo++) {
      const c = count(lo, lo + w);
      if (c >= need && c > bestCount) {
        bestCount = c;
        best = [lo, lo + w];
      }
    }
    if (best !== null) return best;
  }
  throw new Error("unreachable");
}

/** Integer draws with these counts of 0, 1, 2, … */
const drawsOf = (counts: number[]): Float64Array => Float64Array.from(counts.flatMap((c, v) => Array<number>(c).fill(v)));

describe("hdiDiscreteSorted / hdiDiscreteInPlace", () => {
  it("takes the most probable run of ArviZ's width, not the lowest", () => {
    // 100 draws peaking at 3: runs of 3 integers are the narrowest holding 51; [1, 3] holds 54, [2, 4] holds 60.
    const a = drawsOf([5, 12, 20, 22, 18, 12, 6, 3, 2]);
    expect(hdi(a, 0.5)).toEqual([1, 3]); // ArviZ's rule: the first window of the narrowest width
    expect(hdiDiscreteSorted(a, 0.5)).toEqual([2, 4]);
    expect(hdiDiscreteInPlace(a.slice().reverse(), 0.5)).toEqual([2, 4]);
  });

  it("equals the brute force on random counts, by counting and by sorting (a range too wide to count)", () => {
    const rng = new Rng(3, 0);
    for (let trial = 0; trial < 200; trial++) {
      const n = 1 + rng.int(60);
      const spread = 1 + rng.int(12);
      const a = Float64Array.from({ length: n }, () => Math.round(Math.abs(rng.normal()) * spread + rng.int(3)));
      for (const prob of [0.1, 0.5, 0.8, 0.95]) {
        const expected = bruteForce(a, prob);
        expect(hdiDiscreteInPlace(a.slice(), prob), `${Array.from(a)} ${prob}`).toEqual(expected);
        expect(hdiDiscreteSorted(a.slice().sort(), prob)).toEqual(expected);
        const far = Float64Array.of(...a, 1e6); // one draw far away: counting would need 1e6 slots, so it sorts
        expect(hdiDiscreteInPlace(far.slice(), prob)).toEqual(bruteForceFar(far, prob));
      }
    }
  });

  it("throws as ArviZ does when no interval can be formed", () => {
    expect(() => hdiDiscreteInPlace(Float64Array.of(1, 2), 1)).toThrow(/too few elements/);
  });
});

/** bruteForce for draws with an outlier, over the integers between draws only (the runs' ends hold draws). */
function bruteForceFar(values: Float64Array, prob: number): [number, number] {
  const a = Array.from(values).sort((x, y) => x - y);
  const need = Math.floor(prob * a.length) + 1;
  let best: [number, number] = [a[0], a[a.length - 1]];
  let bestWidth = Infinity;
  let bestCount = -1;
  for (let i = 0; i < a.length; i++) {
    if (i > 0 && a[i] === a[i - 1]) continue;
    for (let j = i; j < a.length; j++) {
      const c = a.filter((v) => v >= a[i] && v <= a[j]).length;
      if (c < need) continue;
      const w = a[j] - a[i];
      if (w < bestWidth || (w === bestWidth && c > bestCount)) {
        bestWidth = w;
        bestCount = c;
        best = [a[i], a[j]];
      }
      break;
    }
  }
  return best;
}

/** A predictor with the same value of each parameter in every draw. */
function predictorOf(m: ReturnType<typeof model>, values: Record<string, number>): Predictor {
  const names = Object.keys(values);
  const table = new Float64Array(2 * 100 * names.length);
  for (let i = 0; i < 200; i++) names.forEach((n, k) => (table[i * names.length + k] = values[n]));
  return new Predictor(m.json, { names, chains: 2, draws: 100, values: table });
}

const params = (kind: PredictParams["kind"], hdiProbability = 0.5): PredictParams => ({
  kind,
  nSamples: 20000,
  seed: 1,
  hdiProbability,
  bins: 100,
  allowNewLevels: false,
});
const inferParams: InferParams = {
  kind: "infer",
  nSamples: 20000,
  seed: 1,
  hdiProbability: 0.5,
  bins: 100,
  quantiles: [0.5],
  allowNewLevels: false,
  median: false,
  interval: true,
  mean: false,
  quantile: false,
  draws: true,
  density: true,
};

describe("served answers of discrete families", () => {
  const poisson = model("counts", (b) => {
    const a = b.param("a", Normal(0, 1));
    b.observe("obs", PoissonLog(a.add(b.data("x"))), b.data("y", { kind: "integer" }));
  });

  it("a count's /interval and V2 interval are the most probable run of integers of the draws", () => {
    // Poisson(14.7): 50 % of the mass is in 6 consecutive counts; [12, 17] holds the most, ArviZ's rule gave [10, 15].
    const p = predictorOf(poisson, { a: Math.log(14.7) });
    const draws = (inferAll(p, [{ x: 0 }], inferParams)[0].draws as Float64Array).slice();
    const expected = hdiDiscreteSorted(draws.slice().sort(), 0.5);
    expect(expected[1] - expected[0]).toBe(5);
    expect(expected).not.toEqual(hdi(draws, 0.5));
    expect(expected[0]).toBeGreaterThanOrEqual(11);
    expect(answerAll(p, [{ x: 0 }], params("interval"))[0]).toEqual(expected);
    expect(inferAll(p, [{ x: 0 }], inferParams)[0].interval).toEqual(expected);
  });

  it("a 0/1 family's density is the probability of 0 and of 1 even when every draw is one of them", () => {
    const logit = model("logit", (b) => {
      const a = b.param("a", Normal(0, 1));
      b.observe("obs", BernoulliLogit(a.mul(b.data("x"))), b.data("y", { kind: "integer" }));
    });
    const p = predictorOf(logit, { a: 1 });
    const [always, never, even] = answerAll(p, [{ x: 50 }, { x: -50 }, { x: 0 }], params("density")) as { mids: number[]; density: number[] }[];
    expect(always).toEqual({ mids: [0, 1], density: [0, 1] });
    expect(never).toEqual({ mids: [0, 1], density: [1, 0] });
    expect(even.mids).toEqual([0, 1]);
    const v2 = inferAll(p, [{ x: 50 }, { x: 0 }], inferParams);
    expect(v2[0].density).toEqual({ mids: [0, 1], density: [0, 1], width: 1 });
    expect(v2[1].density!.mids).toEqual([0, 1]);
  });
});

describe("a probability below one sample in n", () => {
  it("is the narrowest pair of samples, not the smallest sample (ArviZ's first window of width 0)", () => {
    const line = model("line", (b) => {
      const a = b.param("a", Normal(0, 1));
      b.observe("obs", Normal(a.mul(b.data("x")), 1), b.data("y"));
    });
    const p = predictorOf(line, { a: 1 });
    const draws = (inferAll(p, [{ x: 2 }], { ...inferParams, nSamples: 100 })[0].draws as Float64Array).slice().sort();
    const [lo, hi] = answerAll(p, [{ x: 2 }], { ...params("interval", 0.005), nSamples: 100 })[0] as [number, number];
    expect(lo).not.toBe(draws[0]);
    expect(hdi(draws, 0.005)).toEqual([draws[0], draws[0]]); // ArviZ's
    let narrowest = 0;
    for (let i = 1; i < 99; i++) if (draws[i + 1] - draws[i] < draws[narrowest + 1] - draws[narrowest]) narrowest = i;
    expect([lo, hi]).toEqual([draws[narrowest], draws[narrowest + 1]]);
  });
});
