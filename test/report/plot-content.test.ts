// What the report's figures show, checked on their data (not their pixels): the values a reader reads off them.
import { describe, expect, it } from "vitest";
import { calibrationSpec } from "../../src/report/plots/calibration.js";
import { ppcBarsSpec } from "../../src/report/plots/ppc-bars.js";
import { specToSvg } from "../../src/report/render.js";
import { dataPlotSpec } from "../../src/report/plots/data.js";
import { tracePlotSpec } from "../../src/report/plots/trace.js";
import { paretoKSpec } from "../../src/report/plots/pareto-k.js";
import { reportPlots } from "../../src/report/report.js";
import { syntheticInput } from "./fixture.js";

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

describe("the trace figure", () => {
  const parameter = (name: string) => ({
    name,
    chains: [Float64Array.from({ length: 50 }, (_, i) => Math.sin(i)), Float64Array.from({ length: 50 }, (_, i) => Math.cos(i))],
  });
  // 20 elements of a vector first, then the two parameters the gate refused (as in a model declaring z[20] before a, b).
  const parameters = [...Array.from({ length: 20 }, (_, j) => parameter(`z[${j}]`)), parameter("a"), parameter("b"), parameter("sigma")];
  const names = (spec: unknown) => [...new Set((spec as { concat: { title: { text: string } }[] }).concat.map((c) => c.title.text))];

  it("draws the parameters that failed the quality gate even past the first 16, in input order", () => {
    const input = { ...syntheticInput({ rows: 20, testRows: 5, draws: 50, replicates: 2 }), parameters };
    input.gate = { passed: false, failures: ["a: r_hat 1.0177 > 1.01", "b: ess_bulk 74.4 < 400"] };
    const trace = reportPlots(input).find((p) => p.name === "trace")!;
    const shown = names(trace.spec);
    expect(shown).toHaveLength(16);
    expect(shown).toContain("a");
    expect(shown).toContain("b");
    expect(shown.indexOf("a")).toBeGreaterThan(shown.indexOf("z[13]"));
    expect((trace.spec as { title: { subtitle: string } }).title.subtitle).toContain("the 2 failing the quality gate");
  });

  it("keeps the first 16 in input order when nothing failed", () => {
    expect(names(tracePlotSpec(parameters))).toEqual(parameters.slice(0, 16).map((p) => p.name));
  });
});

describe("the trace figure when more parameters fail than it draws", () => {
  it("draws those with the largest R-hat", () => {
    const parameter = (name: string) => ({
      name,
      chains: [Float64Array.from({ length: 50 }, (_, i) => Math.sin(i)), Float64Array.from({ length: 50 }, (_, i) => Math.cos(i))],
    });
    const names = [...Array.from({ length: 20 }, (_, j) => `z[${j}]`), "a", "b"];
    const input = { ...syntheticInput({ rows: 20, testRows: 5, draws: 50, replicates: 2 }), parameters: names.map(parameter) };
    input.summaryTable = names.map((n) => ({ parameter: n, r_hat: n === "a" || n === "b" ? 1.5 : 1.02 }));
    input.gate = { passed: false, failures: names.map((n) => `${n}: r_hat ${n === "a" || n === "b" ? 1.5 : 1.02} > 1.01`) };
    const trace = reportPlots(input).find((p) => p.name === "trace")!;
    const shown = [...new Set((trace.spec as { concat: { title: { text: string } }[] }).concat.map((c) => c.title.text))];
    expect(shown).toHaveLength(16);
    expect(shown.slice(-2)).toEqual(["a", "b"]);
  });
});

describe("the Pareto k̂ figure", () => {
  it("places each k̂ at its row of the data, and names the rows above 0.7", () => {
    // Training rows are the data's rows 1, 3, 4, 7, 9 (0-based 0, 2, 3, 6, 8); the outlier is data row 9 (0-based 8).
    const loo = { elpd: -10, se: 2, pLoo: 1.5, paretoK: Float64Array.from([0.1, 0.2, 0.6, 0.1, 1.9]), dataRows: Int32Array.from([0, 2, 3, 6, 8]) };
    const spec = paretoKSpec(loo) as unknown as { title: { subtitle: string }; layer: { data: { values: { row: number; k: number }[] } }[] };
    const points = spec.layer[1].data.values;
    expect(points.map((p) => p.row)).toEqual([1, 3, 4, 7, 9]);
    expect(points.find((p) => p.k > 0.7)!.row).toBe(9);
    expect(spec.title.subtitle).toContain("1 above 0.7 (data row 9)");
  });
});

describe("the calibration figure", () => {
  it("sizes its circles by the rows of each bin without a '0 rows' legend entry no bin can have", async () => {
    const bins = [12, 30, 45, 60, 80, 70, 55, 40, 25, 9].map((rows, i) => ({
      lower: i / 10,
      upper: (i + 1) / 10,
      rows,
      meanPredicted: i / 10 + 0.05,
      observedRate: i / 10 + 0.07,
    }));
    const svg = await specToSvg(calibrationSpec(bins, "churned"));
    const labels = [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
    const legend = labels.slice(labels.indexOf("observed frequency of churned = 1") + 1, labels.indexOf("rows"));
    expect(legend.length).toBeGreaterThan(1);
    expect(legend).not.toContain("0");
  });
});

describe("the count posterior predictive check's axis", () => {
  const visibleValueLabels = async (distinct: number): Promise<number> => {
    const observed = Float64Array.from({ length: 10 * distinct }, (_, i) => 100 + (i % distinct));
    const svg = await specToSvg(ppcBarsSpec({ observed, replicated: [observed] }, "claims"));
    const labels = [...svg.matchAll(/<text([^>]*)>([^<]*)<\/text>/g)].filter((m) => /^(≥ )?\d+$/.test(m[2]));
    return labels.filter((m) => !m[1].includes('opacity="0"')).length;
  };

  it("labels every bar when they fit, and drops every other label rather than overprint them when they do not", async () => {
    expect(await visibleValueLabels(8)).toBe(8);
    const crowded = await visibleValueLabels(60);
    expect(crowded).toBeGreaterThan(10);
    expect(crowded).toBeLessThanOrEqual(30);
  });
});
