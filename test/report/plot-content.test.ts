// What the report's figures show, checked on their data (not their pixels): the values a reader reads off them.
import { describe, expect, it } from "vitest";
import { ppcBarsSpec } from "../../src/report/plots/ppc-bars.js";
import { dataPlotSpec } from "../../src/report/plots/data.js";

type Row = { value: string; observed: number; median: number };

describe("the count posterior predictive check (bars)", () => {
  it("draws a bar for a count the replicates have and the data never show (zeros predicted, none observed)", () => {
    // Observed counts are 1..3 only; the replicates put half their mass on 0.
    const observed = Float64Array.from({ length: 100 }, (_, i) => 1 + (i % 3));
    const replicated = Array.from({ length: 20 }, () => Float64Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? 0 : 1 + (i % 3))));
    const spec = ppcBarsSpec({ observed, replicated }, "claims") as unknown as { data: { values: Row[] } };
    const rows = spec.data.values;
    const zero = rows.find((r) => r.value === "0");
    expect(zero).toBeDefined();
    expect(zero!.observed).toBe(0);
    expect(zero!.median).toBeCloseTo(0.5, 6);
    // Every replicate's frequencies add up to 1: nothing of it fell off the axis.
    expect(rows.reduce((s, r) => s + r.median, 0)).toBeCloseTo(1, 6);
  });
});

describe("the training data figure", () => {
  const data = (levels: number) => {
    const n = levels * 10;
    return {
      x: Float64Array.from({ length: n }, (_, i) => i),
      y: Float64Array.from({ length: n }, (_, i) => i % 7),
      category: Int32Array.from({ length: n }, (_, i) => i % levels),
      xName: "x",
      yName: "y",
      categoryName: "school",
    };
  };
  type Colour = { scale?: { domain: string[]; range?: string[] }; value?: string };

  it("gives each of 12 groups its own colour (tab10 alone would draw group 10 as group 0)", () => {
    const spec = dataPlotSpec(data(12)) as unknown as { encoding: { color: Colour } };
    const { domain, range } = spec.encoding.color.scale!;
    expect(domain).toHaveLength(12);
    expect(range).toBeDefined();
    expect(new Set(range!.slice(0, 12)).size).toBe(12);
  });

  it("does not colour 25 groups with repeating colours, and says so", () => {
    const spec = dataPlotSpec(data(25)) as unknown as { encoding: { color: Colour }; title: { subtitle: string } };
    expect(spec.encoding.color.scale).toBeUndefined();
    expect(spec.title.subtitle).toContain("25 levels of school");
  });
});
