// What the report's figures show, checked on their data (not their pixels): the values a reader reads off them.
import { describe, expect, it } from "vitest";
import { ppcBarsSpec } from "../../src/report/plots/ppc-bars.js";

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
