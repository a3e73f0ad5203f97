// Writes a sample report to a folder (default /tmp/report-check) and prints how long rendering took.
//   npx tsx test/report/write-sample.ts [DIR]
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { syntheticInput } from "./fixture.js";

const dir = process.argv[2] ?? "/tmp/report-check";
const t0 = performance.now();
const { renderReport } = await import("../../src/report/index.js");
const t1 = performance.now();
const edge = syntheticInput({ seed: 5, rows: 300, testRows: 30, draws: 400, chains: 4, replicates: 0 });
edge.data.category = null;
edge.data.xName = "temperature (°C)";
edge.parameters = Array.from({ length: 7 }, (_, i) => ({
  name: i < 6 ? `alpha_group_long_name[${i}]` : "sigma",
  chains: edge.parameters[i % 4].chains.map((c) => c.map((v) => v * (i + 1) * 1000)),
}));
const variants = [
  { name: "pass", input: syntheticInput() },
  { name: "fail", input: syntheticInput({ seed: 7, gatePassed: false, testRows: 0 }) },
  { name: "edge", input: edge },
];
for (const v of variants) {
  const out = join(dir, v.name);
  mkdirSync(out, { recursive: true });
  const times: number[] = [];
  for (let run = 0; run < 3; run++) {
    const s = performance.now();
    const report = await renderReport(v.input);
    times.push(performance.now() - s);
    if (run === 0) for (const [name, body] of Object.entries(report.files)) writeFileSync(join(out, name), body);
  }
  console.log(`${v.name}: renderReport ${times.map((t) => t.toFixed(0)).join(" / ")} ms (first / warm runs) → ${out}`);
}
console.log(`import of the report layer (vega, vega-lite, resvg): ${(t1 - t0).toFixed(0)} ms`);
