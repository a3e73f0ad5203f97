// The in-place summaries the server's answers use skip the full sort (quickselect for the median, only the ends for
// the HDI); they must give exactly np.median, R's type-1 median and ArviZ's HDI: checked against the sorted versions
// on random samples with ties, and against the numbers numpy and ArviZ produced (test/fixtures/numpy-semantics).
import { mulberry32 } from "../support/mulberry32.js";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { hdi, hdiInPlace, lowerMedianInPlace, lowerQuantileSorted, median, medianInPlace } from "../../src/diagnostics/index.js";

const rng = mulberry32;

describe("medianInPlace, lowerMedianInPlace and hdiInPlace equal np.median, R's type-1 median and ArviZ's HDI", () => {
  it("on random samples of every size, with and without ties", () => {
    const r = rng(7);
    for (let trial = 0; trial < 3000; trial++) {
      const n = 1 + Math.floor(r() * (trial % 10 === 0 ? 2000 : 120));
      const ties = trial % 3 === 0;
      const a = Float64Array.from({ length: n }, () => (ties ? Math.floor(r() * 6) : (r() - 0.5) * 10 ** Math.floor(r() * 6)));
      expect(medianInPlace(a.slice())).toBe(median(a));
      expect(lowerMedianInPlace(a.slice())).toBe(lowerQuantileSorted(a.slice().sort(), 0.5));
      for (const p of [0.01, 0.3, 0.5, 0.89, 0.9, 0.94, 0.95, 0.99, 0.999, r()]) {
        if (!(p > 0 && p < 1)) continue;
        expect(hdiInPlace(a.slice(), p), `n=${n} p=${p}`).toEqual(hdi(a, p));
      }
    }
  });

  it("on the numpy / ArviZ reference cases", () => {
    const file = join(import.meta.dirname, "..", "fixtures", "numpy-semantics", "median_hdi_histogram.json");
    const data = JSON.parse(readFileSync(file, "utf8")) as {
      cases: { name: string; samples: number[]; median: number; hdi: Record<string, [number, number]> }[];
    };
    for (const c of data.cases) {
      expect(medianInPlace(Float64Array.from(c.samples)), c.name).toBe(c.median);
      for (const [p, bounds] of Object.entries(c.hdi)) expect(hdiInPlace(Float64Array.from(c.samples), Number(p)), `${c.name} ${p}`).toEqual(bounds);
    }
  });
});
