// Held-out metrics of each kind of target, against published numbers (scikit-learn's documented examples) where
// there are some, and the metric set per kind: no MAPE where an actual value is 0, no coverage for 0/1 targets.
import { describe, expect, it } from "vitest";
import { integerHistogram, lowerMedianInPlace } from "../../src/diagnostics/index.js";
import { BernoulliLogit, model, Normal, PoissonLog } from "../../src/model/index.js";
import { Predictor } from "../../src/predict/index.js";
import { calibrationBins, crpsFromSamples, evaluatePredictions, METRICS_BY_KIND, rocAuc } from "../../src/train/evaluate.js";

describe("binary metrics", () => {
  it("ROC AUC as sklearn.metrics.roc_auc_score's example (0.75), ties counted half, NaN with one class", () => {
    expect(rocAuc(Float64Array.of(0.1, 0.4, 0.35, 0.8), Float64Array.of(0, 0, 1, 1))).toBe(0.75);
    expect(rocAuc(Float64Array.of(0.5, 0.5), Float64Array.of(0, 1))).toBe(0.5);
    expect(rocAuc(Float64Array.of(0.2, 0.9), Float64Array.of(1, 1))).toBeNaN();
  });

  it("calibration bins: rows, mean prediction and observed rate per tenth", () => {
    const bins = calibrationBins(Float64Array.of(0.05, 0.08, 0.5, 0.55, 0.99, 1), Float64Array.of(0, 1, 1, 0, 1, 1));
    expect(bins.map((b) => [b.lower, b.rows, b.observedRate])).toEqual([
      [0, 2, 0.5],
      [0.5, 2, 0.5],
      [0.9, 2, 1],
    ]);
    expect(bins[0].meanPredicted).toBeCloseTo(0.065, 12);
  });
});

describe("counts", () => {
  it("the ranked probability score of integer samples is their CRPS: Σ_k (F(k) − 1{y ≤ k})²", () => {
    const s = Float64Array.of(0, 1, 1, 2, 4);
    const y = 2;
    let rps = 0;
    for (let k = -1; k <= 5; k++) {
      const F = Array.from(s).filter((v) => v <= k).length / s.length;
      rps += (F - (y <= k ? 1 : 0)) ** 2;
    }
    expect(crpsFromSamples(s, y)).toBeCloseTo(rps, 12);
  });

  it("integer histograms: a probability per integer, or whole integers grouped past maxBins", () => {
    const h = integerHistogram(Float64Array.of(0, 0, 1, 3, 3, 3), 100);
    expect(Array.from(h.binMids)).toEqual([0, 1, 2, 3]);
    expect(Array.from(h.density)).toEqual([2 / 6, 1 / 6, 0, 3 / 6]);
    const g = integerHistogram(
      Float64Array.from({ length: 10 }, (_, i) => i),
      3,
    );
    expect(Array.from(g.binMids)).toEqual([1.5, 5.5, 8.5]); // bins of 4 integers: 0–3, 4–7, 8–9
    expect(Array.from(g.density)).toEqual([0.1, 0.1, 0.1]); // mass per integer
    expect(Array.from(g.edges)).toEqual([-0.5, 3.5, 7.5, 9.5]);
    expect(() => integerHistogram(Float64Array.of(0.5), 10)).toThrow(/not an integer/);
  });

  it("a discrete point prediction is the smallest value with half the samples at or below it: an integer", () => {
    expect(lowerMedianInPlace(Float64Array.of(3, 1, 2, 4))).toBe(2);
    expect(lowerMedianInPlace(Float64Array.of(0, 1))).toBe(0);
    expect(lowerMedianInPlace(Float64Array.of(5))).toBe(5);
  });
});

/** A predictor with made-up draws: one column per parameter name, values by draw index. */
function predictorOf(m: ReturnType<typeof model>, columns: Record<string, (i: number) => number>): Predictor {
  const names = Object.keys(columns);
  const values = new Float64Array(2 * 200 * names.length);
  for (let i = 0; i < 400; i++) names.forEach((n, k) => (values[i * names.length + k] = columns[n](i)));
  return new Predictor(m.json, { names, chains: 2, draws: 200, values });
}

describe("evaluatePredictions per kind of target", () => {
  it("0/1: log loss, Brier, accuracy, ROC AUC, calibration error, from P(y = 1) exact over the draws", () => {
    const m = model("logit", (b) => {
      const x = b.data("x");
      const a = b.param("a", Normal(0, 1));
      b.observe("obs", BernoulliLogit(a.mul(x)), b.data("y", { kind: "integer" }));
    });
    const p = predictorOf(m, { a: () => 1 });
    const xs = [-2, -1, 1, 2];
    const e = evaluatePredictions(
      p,
      xs.map((x) => ({ x })),
      Float64Array.of(0, 1, 1, 1),
      1,
    );
    expect(Object.keys(e.metrics).sort()).toEqual([...METRICS_BY_KIND.binary, "test_rows"].sort());
    const probs = xs.map((x) => 1 / (1 + Math.exp(-x)));
    probs.forEach((q, i) => expect(e.mean[i]).toBeCloseTo(q, 12));
    const ys = [0, 1, 1, 1];
    expect(e.metrics.brier).toBeCloseTo(probs.reduce((s, q, i) => s + (q - ys[i]) ** 2, 0) / 4, 12);
    expect(e.metrics.log_loss).toBeCloseTo(-probs.reduce((s, q, i) => s + (ys[i] === 1 ? Math.log(q) : Math.log(1 - q)), 0) / 4, 12);
    expect(e.metrics.accuracy).toBe(0.75);
    expect(e.metrics.roc_auc).toBe(1);
    expect(e.calibration.length).toBeGreaterThan(0);
  });

  it("counts: MAE and RMSE of the expected count, RPS, coverage; continuous: no MAPE where an actual is 0", () => {
    const counts = model("counts", (b) => {
      const x = b.data("x");
      const a = b.param("a", Normal(0, 1));
      b.observe("obs", PoissonLog(a.add(x)), b.data("y", { kind: "integer" }));
    });
    const e = evaluatePredictions(predictorOf(counts, { a: () => 0 }), [{ x: 0 }, { x: Math.log(4) }], Float64Array.of(1, 6), 1);
    expect(Object.keys(e.metrics).sort()).toEqual([...METRICS_BY_KIND.count, "test_rows"].sort());
    expect(e.metrics.mae).toBeCloseTo((0 + 2) / 2, 12);
    expect(e.metrics.rmse).toBeCloseTo(Math.sqrt((0 + 4) / 2), 12);
    const line = model("line", (b) => {
      const x = b.data("x");
      const a = b.param("a", Normal(0, 1));
      b.observe("obs", Normal(a.mul(x), 1), b.data("y"));
    });
    const withZero = evaluatePredictions(predictorOf(line, { a: () => 1 }), [{ x: 0 }, { x: 1 }], Float64Array.of(0, 1), 1);
    expect(withZero.metrics.mape).toBeUndefined();
    expect(withZero.metrics.rmse).toBeGreaterThan(0);
    const noZero = evaluatePredictions(predictorOf(line, { a: () => 1 }), [{ x: 2 }, { x: 1 }], Float64Array.of(2.5, 1), 1);
    expect(noZero.metrics.mape).toBeGreaterThan(0);
  });
});
