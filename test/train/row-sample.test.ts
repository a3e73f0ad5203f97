// The seeded row sample of the steps that cost rows × draws: sorted distinct indices, the same for the same seed and
// stream, every row equally likely, and the table itself at or below the cap.
import { describe, expect, it } from "vitest";
import { Rng } from "../../src/random/rng.js";
import { describeSample, sampleRowIndices, sampleTable } from "../../src/train/row-sample.js";
import type { Table } from "../../src/train/table.js";

const table = (rows: number): Table => ({ columns: { a: Float64Array.from({ length: rows }, (_, i) => i * 10) }, rows, source: "t" });

describe("row samples", () => {
  it("takes `size` distinct rows in increasing order, reproducibly", () => {
    const a = sampleRowIndices(100_000, 1000, new Rng(7, 3));
    expect(a.length).toBe(1000);
    for (let i = 1; i < a.length; i++) expect(a[i]).toBeGreaterThan(a[i - 1]);
    expect(a[0]).toBeGreaterThanOrEqual(0);
    expect(a[a.length - 1]).toBeLessThan(100_000);
    expect(sampleRowIndices(100_000, 1000, new Rng(7, 3))).toEqual(a);
    expect(sampleRowIndices(100_000, 1000, new Rng(7, 4))).not.toEqual(a);
    expect(Array.from(sampleRowIndices(5, 5, new Rng(1)))).toEqual([0, 1, 2, 3, 4]);
    expect(() => sampleRowIndices(5, 6, new Rng(1))).toThrow(RangeError);
  });

  it("gives every row the same chance: inclusion counts of 20 rows over 20,000 samples of 5", () => {
    const counts = new Float64Array(20);
    const rng = new Rng(11);
    const reps = 20_000;
    for (let r = 0; r < reps; r++) for (const i of sampleRowIndices(20, 5, rng)) counts[i]++;
    // Expected 5,000 each, binomial sd √(20000 · 0.25 · 0.75) ≈ 61: 5 sd.
    for (const c of counts) expect(Math.abs(c - 5000)).toBeLessThan(5 * 61);
  });

  it("keeps the table itself at or below the cap, and samples its rows above it", () => {
    const small = table(50);
    const kept = sampleTable(small, 50, 1, 2);
    expect(kept.table).toBe(small);
    expect(kept.record).toEqual({ rows: 50, of: 50, sampled: false, seed: 1, stream: 2 });
    expect(describeSample(kept.record, "rows")).toBe("all 50 rows");
    const s = sampleTable(table(1000), 30, 1, 2);
    expect(s.record).toEqual({ rows: 30, of: 1000, sampled: true, seed: 1, stream: 2 });
    expect(s.table.rows).toBe(30);
    expect(Array.from(s.table.columns.a)).toEqual(Array.from(sampleRowIndices(1000, 30, new Rng(1, 2)), (i) => i * 10));
    expect(describeSample(s.record, "training rows")).toBe("a random sample of 30 of 1000 training rows (seed 1)");
    expect(() => sampleTable(small, 0, 1, 2)).toThrow(/--sample-rows/);
  });
});
