import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { Ajv } from "ajv";
import type { TopLevelSpec } from "vega-lite";
import { compileSpec, dataPlotSpec, ppcPlotSpec, predictedVsActualSpec, tracePlotSpec } from "../../src/report/index.js";
import { syntheticInput } from "./fixture.js";

const require = createRequire(import.meta.url);

function specs(): [string, TopLevelSpec][] {
  const full = syntheticInput({ rows: 300, testRows: 60, draws: 1000, replicates: 10 });
  const empty = new Float64Array(0);
  return [
    ["data", dataPlotSpec(full.data)],
    ["data without category", dataPlotSpec({ ...full.data, category: null })],
    ["trace", tracePlotSpec(full.parameters)],
    ["predicted-vs-actual", predictedVsActualSpec(full.predictions, "y")],
    ["ppc", ppcPlotSpec(full.ppc, "y")],
    ["placeholder (no test set)", predictedVsActualSpec({ actual: empty, mean: empty, lower: empty, upper: empty, hdiProb: 0.9 })],
    ["placeholder (no draws)", tracePlotSpec([])],
  ];
}

describe("the Vega-Lite spec builders", () => {
  it("compile to Vega without errors or warnings", () => {
    for (const [name, spec] of specs()) {
      const { vega, warnings } = compileSpec(spec);
      expect(warnings, name).toEqual([]);
      expect(vega.marks?.length ?? 0, name).toBeGreaterThan(0);
    }
  });

  it("validate against the Vega-Lite JSON schema", () => {
    const schemaPath = require.resolve("vega-lite/vega-lite-schema.json");
    const schema = JSON.parse(readFileSync(schemaPath, "utf8")) as object;
    const ajv = new Ajv({ strict: false, allErrors: true, allowUnionTypes: true, validateFormats: false });
    const validate = ajv.compile(schema);
    for (const [name, spec] of specs()) {
      const ok = validate(spec);
      expect(validate.errors ?? [], name).toEqual([]);
      expect(ok, name).toBe(true);
    }
  });

  it("thin long traces and keep every parameter row", () => {
    const input = syntheticInput({ rows: 50, testRows: 10, draws: 5000, replicates: 2 });
    const spec = tracePlotSpec(input.parameters, { maxPoints: 500 }) as { concat: { data: { values: unknown[] } }[] };
    expect(spec.concat).toHaveLength(8); // 4 parameters × (density, trace)
    const traceCell = spec.concat[1].data.values;
    expect(traceCell.length).toBeLessThanOrEqual(2 * 500);
    expect(traceCell.length).toBeGreaterThan(2 * 400);
  });
});
