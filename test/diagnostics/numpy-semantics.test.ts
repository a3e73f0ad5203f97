/**
 * test/fixtures/numpy-semantics: np.median, ArviZ's HDI rule and
 * np.histogram(density=True) as numpy 1.24 computes them, reproduced exactly (bit for bit).
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { hdi, histogram, median } from "../../src/diagnostics/index.js";
import { testdataPath } from "./testdata.js";

interface HistogramCase {
  counts: number[];
  density: number[];
  edges: number[];
  mids: number[];
}
interface Case {
  name: string;
  samples: number[];
  median: number;
  hdi: Record<string, [number, number]>;
  histogram: Record<string, HistogramCase>;
}

const data = JSON.parse(readFileSync(testdataPath("numpy-semantics", "median_hdi_histogram.json"), "utf8")) as {
  cases: Case[];
};

describe("numpy semantics test vector", () => {
  it("has cases", () => {
    expect(data.cases.length).toBeGreaterThanOrEqual(8);
  });

  for (const c of data.cases) {
    describe(c.name, () => {
      const samples = Float64Array.from(c.samples);

      it("median equals np.median exactly", () => {
        expect(median(samples)).toBe(c.median);
        // Plain arrays work too, and the input is left unsorted.
        expect(median(c.samples)).toBe(c.median);
        expect(Array.from(samples)).toEqual(c.samples);
      });

      for (const [p, want] of Object.entries(c.hdi)) {
        it(`hdi(prob=${p}) equals ArviZ's rule exactly`, () => {
          expect(hdi(samples, Number(p))).toEqual(want);
        });
      }

      for (const [bins, want] of Object.entries(c.histogram)) {
        it(`histogram(bins=${bins}) equals np.histogram(density=True) exactly`, () => {
          const h = histogram(samples, Number(bins));
          expect(Array.from(h.counts)).toEqual(want.counts);
          expect(Array.from(h.edges)).toEqual(want.edges);
          expect(Array.from(h.density)).toEqual(want.density);
          expect(Array.from(h.binMids)).toEqual(want.mids);
          for (const v of h.density) expect(Number.isFinite(v)).toBe(true);
        });
      }
    });
  }
});
